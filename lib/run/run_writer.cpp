// RunWriter: the files of one run (a sink per core) and its manifest BASE.json.
//
// Every format records through the binary writer: the vCPU threads only ever
// append to lent buffers, so the guest runs at the same speed whatever the
// output format (a text consumer on the vCPU thread slowed it 50-100x and
// filled the trace with timer code). A simulator format is recorded to
// BASE_<k>.qtr and converted, one thread per core, when the run finishes;
// the recording is removed once its conversion succeeded. Until then the
// manifest lists the recordings, so an interrupted run stays convertible.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "qemutrace/convert.h"
#include "qemutrace/reader.h"
#include "qemutrace/run.h"
#include "qemutrace/writer.h"

namespace qemutrace {

namespace {

std::string base_name(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

struct BlockKey {
  uint64_t vaddr, paddr;
  std::string code;  // lengths then bytes
  bool operator==(const BlockKey& o) const {
    return vaddr == o.vaddr && paddr == o.paddr && code == o.code;
  }
};
struct BlockKeyHash {
  size_t operator()(const BlockKey& k) const {
    return std::hash<std::string>()(k.code) ^ (k.vaddr * 0x9E3779B97F4A7C15ull) ^ (k.paddr << 1);
  }
};
// The guest's clock, from QEMU's command line: "host" (QEMU's default), or
// "virtual" with the -icount value when guest time follows instructions.
nlohmann::json guest_clock(const std::vector<std::string>& command_line) {
  for (size_t i = 0; i < command_line.size(); i++) {
    const std::string& a = command_line[i];
    if (a == "-icount" || a == "--icount")
      return {{"kind", "virtual"}, {"icount", i + 1 < command_line.size() ? command_line[i + 1] : ""}};
  }
  return {{"kind", "host"}};
}
}  // namespace

std::string recording_file_path(const std::string& base, unsigned core) {
  return core_file_path(base, core, OutputFormat::Binary) + ".qtr";
}

struct RunWriter::Impl {
  std::string base;
  RunOptions opts;  // opts.format: what the run delivers
  RunInfo info;
  std::unique_ptr<CompressionPool> pool;
  // Simulator formats: the consumer per core, opened with its core so that a
  // file that cannot be created is reported at once, fed when the run ends.
  std::vector<std::unique_ptr<InstructionConsumer>> outputs;
  bool converted = false;  // outputs hold the run; recordings are gone

  bool recorded() const { return opts.format != OutputFormat::Binary; }
  // The file core k is being written to while the guest runs.
  std::string live_path(unsigned k) const {
    return recorded() ? recording_file_path(base, k) : core_file_path(base, k, opts.format);
  }

  std::mutex block_mu;
  std::unordered_map<BlockKey, StaticBlock*, BlockKeyHash> blocks;
  std::deque<StaticBlock> block_store;

  mutable std::mutex mu;  // cores, events, manifest, error
  std::vector<std::unique_ptr<TraceSink>> cores;
  std::vector<ManifestEvent> events;
  std::string error;
  bool finished = false;
  uint64_t start_ns = monotonic_ns();

  std::string manifest_path() const { return base + ".json"; }

  // Writes the manifest atomically (temp file + rename). Called with mu held.
  bool write_manifest(bool complete, std::string* err) {
    nlohmann::json j;
    j["qemutrace_manifest"] = 1;
    j["complete"] = complete;
    j["command_line"] = info.command_line;
    j["qemu_version"] = info.qemu_version;
    j["isa"] = std::string(isa_name(opts.isa));
    j["format"] = std::string(output_format_name(opts.format));
    // Until the conversion at the end, `files` are binary recordings:
    // `qemutrace convert --to FORMAT BASE.json -o BASE` finishes the job.
    if (recorded() && !converted) j["files_format"] = "binary";
    j["cores"] = info.cores;
    j["clock"] = guest_clock(info.command_line);
    nlohmann::json o = nlohmann::json::object();
    for (auto& [k, v] : info.options) o[k] = v;
    j["options"] = o;
    nlohmann::json files = nlohmann::json::array();
    uint64_t tot_i = 0, tot_k = 0, tot_b = 0;
    for (size_t k = 0; k < cores.size(); k++) {
      if (!cores[k]) continue;
      CoreTotals t = cores[k]->totals();
      std::string path = converted || !recorded() ? core_file_path(base, unsigned(k), opts.format)
                                                  : live_path(unsigned(k));
      struct stat st{};
      uint64_t bytes = ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : t.bytes;
      files.push_back({{"core", k}, {"path", base_name(path)}, {"instructions", t.instructions},
                       {"kernel_instructions", t.kernel_instructions}, {"loads", t.loads}, {"stores", t.stores}, {"bytes", bytes}});
      tot_i += t.instructions;
      tot_k += t.kernel_instructions;
      tot_b += bytes;
    }
    j["files"] = files;
    nlohmann::json ev = nlohmann::json::array();
    for (const auto& e : events) {
      nlohmann::json x{{"time_ns", e.time_ns - std::min(e.time_ns, start_ns)}, {"event", e.event}};
      if (!e.source.empty()) x["source"] = e.source;
      if (e.id >= 0) x["id"] = e.id;
      if (e.core >= 0) x["core"] = e.core;
      if (!e.detail.empty()) x["detail"] = e.detail;
      ev.push_back(x);
    }
    j["events"] = ev;
    j["totals"] = {{"instructions", tot_i}, {"kernel_instructions", tot_k}, {"bytes", tot_b}};
    std::string tmp = manifest_path() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << j.dump(2) << "\n";
      out.flush();
      if (!out) {
        int e = errno;
        ::unlink(tmp.c_str());
        if (err) *err = "cannot write " + manifest_path() + ": " + std::strerror(e ? e : EIO);
        return false;
      }
    }
    if (::rename(tmp.c_str(), manifest_path().c_str()) != 0) {
      if (err) *err = "cannot write " + manifest_path() + ": " + std::strerror(errno);
      ::unlink(tmp.c_str());
      return false;
    }
    return true;
  }
};

RunWriter::RunWriter() : impl_(std::make_unique<Impl>()) {}
RunWriter::~RunWriter() { finish(); }

std::unique_ptr<RunWriter> RunWriter::create(const std::string& base, const RunOptions& opts,
                                             const RunInfo& info, std::string* error) {
  if (base.empty()) {
    if (error) *error = "empty trace base path";
    return nullptr;
  }
  std::unique_ptr<RunWriter> w(new RunWriter());
  Impl& m = *w->impl_;
  m.base = base;
  m.opts = opts;
  m.info = info;
  m.pool = std::make_unique<CompressionPool>(opts.compress_threads);
  std::lock_guard<std::mutex> lk(m.mu);
  if (!m.write_manifest(false, error)) return nullptr;
  return w;
}

const StaticBlock* RunWriter::intern_block(uint64_t vaddr, uint64_t paddr, const uint8_t* bytes,
                                           const uint8_t* lengths, uint32_t insn_count) {
  Impl& m = *impl_;
  size_t total = 0;
  for (uint32_t i = 0; i < insn_count; i++) total += lengths[i];
  BlockKey key{vaddr, paddr, std::string(reinterpret_cast<const char*>(lengths), insn_count)};
  key.code.append(reinterpret_cast<const char*>(bytes), total);
  std::lock_guard<std::mutex> lk(m.block_mu);
  auto it = m.blocks.find(key);
  if (it != m.blocks.end()) return it->second;
  StaticBlock& b = m.block_store.emplace_back();
  b.vaddr = vaddr;
  b.paddr = paddr;
  b.id = uint32_t(m.block_store.size() - 1);
  b.insn_count = insn_count;
  b.lengths.assign(lengths, lengths + insn_count);
  b.bytes.assign(bytes, bytes + total);
  m.blocks.emplace(std::move(key), &b);
  return &b;
}

TraceSink* RunWriter::core(unsigned k) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  if (m.finished) return nullptr;
  if (k >= m.cores.size()) m.cores.resize(k + 1);
  if (m.cores[k]) return m.cores[k].get();
  if (m.recorded()) {
    if (k >= m.outputs.size()) m.outputs.resize(k + 1);
    ConsumerOptions co;
    co.isa = m.opts.isa;
    co.features = m.opts.features;
    co.core = uint16_t(k);
    std::string err;
    m.outputs[k] = open_consumer(m.opts.format, core_file_path(m.base, k, m.opts.format), co, &err);
    if (!m.outputs[k]) {
      m.error = err.empty() ? "cannot create " + core_file_path(m.base, k, m.opts.format) : err;
      return nullptr;
    }
  }
  std::string path = m.live_path(k);
  int err = 0;
  auto sink = open_file_sink(path, &err);
  if (!sink) {
    m.error = "cannot create " + path + ": " + std::strerror(err);
    return nullptr;
  }
  const WriterOptions& record = m.opts;  // every core records in binary
  m.cores[k] = std::make_unique<BinaryCoreWriter>(std::move(sink), record, uint16_t(k), m.pool.get());
  return m.cores[k].get();
}

void RunWriter::add_event(const ManifestEvent& ev) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  m.events.push_back(ev);
  if (m.events.back().time_ns == 0) m.events.back().time_ns = monotonic_ns();
  if (!m.finished) m.write_manifest(false, nullptr);
}

bool RunWriter::finish() {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lk(m.mu);
  if (m.finished) return m.error.empty();
  m.finished = true;
  bool ok = true;
  for (auto& c : m.cores) {
    if (!c) continue;
    if (!c->finish()) {
      ok = false;
      if (m.error.empty()) m.error = c->error();
    }
  }
  if (m.recorded()) {
    // Not under mu: status queries (totals) keep answering while converting.
    // cores and outputs no longer change once finished is set.
    lk.unlock();
    std::string err;
    bool converted = ok && convert_recordings(&err);
    lk.lock();
    if (!converted) {
      ok = false;
      if (m.error.empty()) m.error = err;
    }
    m.converted = converted;
  }
  std::string err;
  if (!m.write_manifest(ok, &err)) {
    ok = false;
    if (m.error.empty()) m.error = err;
  }
  return ok;
}

// Converts each core's recording into its output, cores in parallel. A
// recording is removed only when every conversion succeeded, so a failure
// leaves the whole run convertible by hand.
bool RunWriter::convert_recordings(std::string* error) {
  Impl& m = *impl_;
  size_t n = m.cores.size();
  std::vector<std::string> errors(n);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k; (k = next.fetch_add(1)) < n;) {
      if (!m.cores[k] || k >= m.outputs.size() || !m.outputs[k]) continue;
      InstructionConsumer& out = *m.outputs[k];
      std::string rec = m.live_path(unsigned(k));
      try {
        std::unique_ptr<CoreReader> r = CoreReader::open(rec);
        if (!r->state().damage.empty()) throw TraceError(rec + ": " + r->state().damage);
        feed_reader(*r, out);
      } catch (const std::exception& e) {
        errors[k] = std::string("cannot convert ") + rec + ": " + e.what();
      }
      if (!out.finish() && errors[k].empty()) errors[k] = out.error();
    }
  };
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min<size_t>(n, hw); t++) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  for (const std::string& e : errors)
    if (!e.empty()) {
      if (error) *error = e + " (the recordings " + m.base + "_<k>.qtr are kept)";
      return false;
    }
  for (size_t k = 0; k < n; k++)
    if (m.cores[k]) ::unlink(m.live_path(unsigned(k)).c_str());
  return true;
}

std::string RunWriter::base() const { return impl_->base; }

std::string RunWriter::error() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  if (!impl_->error.empty()) return impl_->error;
  for (auto& c : impl_->cores)
    if (c && c->failed()) return c->error();
  return "";
}

bool RunWriter::failed() const { return !error().empty(); }

std::vector<CoreTotals> RunWriter::totals() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  std::vector<CoreTotals> out(impl_->cores.size());
  for (size_t k = 0; k < impl_->cores.size(); k++)
    if (impl_->cores[k]) {
      out[k] = impl_->cores[k]->totals();
      if (impl_->converted) out[k].bytes = impl_->outputs[k]->bytes_written();
    }
  return out;
}

}  // namespace qemutrace
