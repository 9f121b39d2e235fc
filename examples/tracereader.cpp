// A minimal trace consumer built only on the installed qemutrace package
// (find_package(qemutrace) or pkg-config qemutrace): the pattern a simulator
// front end follows to replay a run.
//
//   tracereader [--print N] BASE_0 [BASE_1 ...]
//
// Opens one file per core, merges them in time order with RunReader and
// prints each core's totals (and the first N instructions with their
// accesses). Damage is reported as one line and exit status 1.
#include <qemutrace/reader.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

struct CoreCounts {
  uint64_t instructions = 0, kernel = 0, loads = 0, stores = 0, markers = 0, taken = 0;
};

void print_instruction(const qemutrace::Instruction& in) {
  std::printf("%" PRIu64 " core %u %#" PRIx64 " len %u %s", in.index, in.core, in.pc, in.length,
              in.is_kernel() ? "K" : "U");
  for (uint32_t m = 0; m < in.marker_count; m++)
    std::printf(" [%s]", std::string(qemutrace::marker_kind_name(in.markers[m].kind)).c_str());
  for (uint32_t a = 0; a < in.access_count; a++) {
    const qemutrace::MemAccess& x = in.accesses[a];
    std::printf(" %c%u@%#" PRIx64, x.is_store ? 'W' : 'R', x.size, x.vaddr);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t print = 0;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--print") && i + 1 < argc) print = std::strtoull(argv[++i], nullptr, 10);
    else paths.emplace_back(argv[i]);
  }
  if (paths.empty()) {
    std::fprintf(stderr, "usage: tracereader [--print N] BASE_0 [BASE_1 ...]\n");
    return 2;
  }
  try {
    std::vector<std::unique_ptr<qemutrace::CoreReader>> cores;
    for (const auto& p : paths) cores.push_back(qemutrace::CoreReader::open(p));
    for (const auto& c : cores)
      if (!c->state().damage.empty()) std::fprintf(stderr, "tracereader: %s: %s\n", c->name().c_str(), c->state().damage.c_str());
    std::vector<CoreCounts> counts(cores.size());
    std::map<uint16_t, size_t> position;  // Instruction::core -> file
    for (size_t k = 0; k < cores.size(); k++) position[cores[k]->header().core] = k;
    qemutrace::RunReader run(std::move(cores));
    uint64_t seen = 0;
    while (const qemutrace::Instruction* in = run.next()) {
      CoreCounts& c = counts[position[in->core]];
      c.instructions++;
      c.kernel += in->is_kernel();
      c.markers += in->marker_count;
      c.taken += in->transfers();
      for (uint32_t a = 0; a < in->access_count; a++) (in->accesses[a].is_store ? c.stores : c.loads)++;
      if (seen++ < print) print_instruction(*in);
    }
    for (size_t k = 0; k < counts.size(); k++) {
      const qemutrace::FileHeaderInfo& h = run.core(k).header();
      const CoreCounts& c = counts[k];
      std::printf("%s: isa %s, %" PRIu64 " instructions (%" PRIu64 " kernel), %" PRIu64 " loads, %" PRIu64
                  " stores, %" PRIu64 " transfers, %" PRIu64 " markers\n",
                  run.core(k).name().c_str(), std::string(qemutrace::isa_name(h.isa)).c_str(), c.instructions,
                  c.kernel, c.loads, c.stores, c.taken, c.markers + run.core(k).tail_markers().size());
    }
  } catch (const qemutrace::TraceError& e) {
    std::fprintf(stderr, "tracereader: %s\n", e.what());
    return 1;
  }
  return 0;
}
