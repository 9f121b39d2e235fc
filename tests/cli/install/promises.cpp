// Calls what every installed header declares, so that a declaration the
// installed library does not define fails to link here (tests/cli/
// install_package.sh). Writes a two-core run with the writer, reads it back
// with the reader and prints what it read.
//
//   promises DIR   writes DIR/p_0 and DIR/p_1, prints "<insns> <loads> <stores>"
#include <qemutrace/format.h>
#include <qemutrace/io.h>
#include <qemutrace/reader.h>
#include <qemutrace/types.h>
#include <qemutrace/writer.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace qemutrace;

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  Isa isa;
  if (!parse_isa("x86_64", &isa) || isa_name(isa) != "x86_64") return 3;
  if (marker_kind_name(MarkerKind::RoiEnd) != "roi_end" || marker_source_name(MarkerSource::Console) != "console")
    return 3;
  if (monotonic_ns() == 0) return 3;

  CompressionPool pool(1);
  if (pool.threads() != 1) return 3;
  WriterOptions o;
  o.chunk_insns = 8;
  StaticBlock b{0x401000, 0, 0, 2, {1, 3}, {0x90, 0x8b, 0x07, 0x00}};
  for (uint16_t core = 0; core < 2; core++) {
    int err = 0;
    auto file = open_file_sink(dir + "/p_" + std::to_string(core), &err);
    if (!file) return 4;
    BinaryCoreWriter w(std::move(file), o, core, &pool);
    TraceSink& s = w;
    s.marker(Marker{MarkerKind::RoiBegin, MarkerSource::Console, 1, 0});
    s.set_context(3, 0x1000);
    for (int i = 0; i < 10; i++) {
      s.begin_block(&b);
      s.access(1, 0x600000 + 8 * i, 0x7600000 + 8 * i, 3, i % 2);
      if (!s.in_block()) return 5;
      if (i < 9) s.end_block(2);
      else s.next_block(2, &b);
    }
    s.end_block(1);
    s.marker(Marker{MarkerKind::RoiEnd, MarkerSource::Console, 1, 0});
    s.flush();
    if (!s.finish() || s.failed() || !s.error().empty() || s.totals().instructions != 21) return 6;
  }
  std::vector<uint8_t> mem;
  {
    BinaryCoreWriter w(std::make_unique<MemorySink>(&mem, "mem"), o, 0, nullptr);
    w.set_context(0, 0);
    w.begin_block(&b);
    w.end_block(2);
    w.finish();
  }
  CoreReader m(memory_source(mem, "mem"));
  if (m.total_instructions() != 2 || m.name() != "mem") return 7;
  m.seek(1);
  const Instruction* in = m.next();
  if (!in || in->pc != 0x401001 || in->is_kernel() != true) return 7;
  for (size_t i = 0; i < m.chunks().size(); i++) m.check_chunk(i);

  std::vector<std::unique_ptr<CoreReader>> cores;
  for (int core = 0; core < 2; core++) {
    auto src = open_file_source(dir + "/p_" + std::to_string(core));
    cores.push_back(std::make_unique<CoreReader>(std::move(src)));
  }
  RunReader run(std::move(cores));
  uint64_t n = 0, loads = 0, stores = 0;
  while (const Instruction* i = run.next()) {
    n++;
    for (uint32_t a = 0; a < i->access_count; a++) (i->accesses[a].is_store ? stores : loads)++;
  }
  std::printf("%llu %llu %llu\n", static_cast<unsigned long long>(n), static_cast<unsigned long long>(loads),
              static_cast<unsigned long long>(stores));
  return 0;
}
