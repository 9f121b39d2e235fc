// RunWriter: the files of one run (a sink per core) and its manifest BASE.json.
//
// Every format records through the binary writer: the vCPU threads only ever
// append to lent buffers, so the guest runs at the same speed whatever the
// output format (a text consumer on the vCPU thread slowed it 50-100x and
// filled the trace with timer code). A simulator format is recorded to
// BASE_<k>.qtr and converted, one thread per core, when the run finishes;
// the recording is removed once its conversion succeeded. Until then the
// manifest lists the recordings, so an interrupted run stays convertible.
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
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
// Writes `text` to `path` through `path.tmp` and a rename.
bool replace_file(const std::string& path, const std::string& text, std::string* err) {
  std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what, int e) {
    if (err) *err = "cannot write " + path + ": " + what + std::strerror(e ? e : EIO);
    return false;
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(tmp + ": ", errno);
  const char* p = text.data();
  size_t n = text.size();
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = w < 0 ? errno : ENOSPC;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail("", e);
    }
    p += w;
    n -= size_t(w);
  }
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail("", e);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail("", e);
  }
  return true;
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

  mutable std::mutex mu;  // cores, events, error, the manifest writer's state
  std::vector<std::unique_ptr<TraceSink>> cores;
  // Events added since the manifest writer last took them. add_event runs on
  // vCPU threads, so under mu they are only appended and handed over whole:
  // a swap with taken_events, which the writer renders outside mu and
  // empties, so that both keep their capacity (no regrowth per rewrite).
  std::vector<ManifestEvent> new_events;
  std::vector<ManifestEvent> taken_events;  // owned like rendered_events
  std::string error;
  bool finished = false;
  uint64_t start_ns = monotonic_ns();

  // The manifest is rewritten by its own thread, never by the thread that
  // adds an event (a vCPU thread): add_event only appends and wakes it.
  // Each rewrite is O(events), so rewrites are spaced out (kManifestPeriod,
  // and at least kManifestDuty times the last rewrite's cost), which bounds
  // the thread's share of a core whatever the number of events.
  static constexpr auto kManifestPeriod = std::chrono::milliseconds(50);
  static constexpr int kManifestDuty = 8;
  std::thread manifest_thread;
  std::condition_variable manifest_cv;
  bool manifest_dirty = false;
  bool manifest_stop = false;
  std::string manifest_error;  // the first failed rewrite; finish() reports it
  // Owned by whichever thread writes the manifest (the writer thread, or
  // finish() after joining it): the events already rendered, as the text
  // j.dump(2) writes between the brackets of "events", so that a rewrite
  // copies them instead of serialising every event again.
  std::string rendered_events;
  size_t rendered_count = 0;

  std::string manifest_path() const { return base + ".json"; }
  // Stands for the events while the rest of the manifest is rendered.
  static constexpr const char* kEventsPlaceholder = "\x01events\x01";

  struct Snapshot {
    bool converted = false;
    std::vector<CoreTotals> totals;  // empty entries: no such core
    std::vector<bool> present;
  };
  // Called with mu held, O(cores): what the manifest needs; the events added
  // since the last snapshot go to taken_events.
  Snapshot snapshot_locked() {
    Snapshot s;
    s.converted = converted;
    s.totals.resize(cores.size());
    s.present.resize(cores.size());
    for (size_t k = 0; k < cores.size(); k++)
      if (cores[k]) {
        s.present[k] = true;
        s.totals[k] = cores[k]->totals();
      }
    taken_events.swap(new_events);  // taken_events was emptied by render_events
    return s;
  }

  // Called without mu by the one thread that owns rendered_events.
  void render_events() {
    for (const ManifestEvent& e : taken_events) {
      nlohmann::json x{{"time_ns", e.time_ns - std::min(e.time_ns, start_ns)}, {"event", e.event}};
      if (!e.source.empty()) x["source"] = e.source;
      if (e.id >= 0) x["id"] = e.id;
      if (e.core >= 0) x["core"] = e.core;
      if (!e.detail.empty()) x["detail"] = e.detail;
      // An element of an array at depth 1: each line four spaces in. Dumped
      // first: a throw (invalid UTF-8) leaves the rendered text as it was.
      const std::string text = x.dump(2);
      rendered_events += rendered_count++ ? ",\n    " : "    ";
      for (char c : text) {
        rendered_events += c;
        if (c == '\n') rendered_events += "    ";
      }
    }
    taken_events.clear();
  }

  // Writes the manifest atomically (temp file + rename): a kill at any point
  // leaves the previous complete manifest or the new one. Called without mu
  // by the one thread that owns rendered_events.
  bool write_manifest(const Snapshot& s, bool complete, std::string* err) {
    render_events();
    nlohmann::json j;
    j["qemutrace_manifest"] = 1;
    j["complete"] = complete;
    j["command_line"] = info.command_line;
    j["qemu_version"] = info.qemu_version;
    j["isa"] = std::string(isa_name(opts.isa));
    j["format"] = std::string(output_format_name(opts.format));
    // Until the conversion at the end, `files` are binary recordings:
    // `qemutrace convert --to FORMAT BASE.json -o BASE` finishes the job.
    if (recorded() && !s.converted) j["files_format"] = "binary";
    j["cores"] = info.cores;
    j["clock"] = guest_clock(info.command_line);
    nlohmann::json o = nlohmann::json::object();
    for (auto& [k, v] : info.options) o[k] = v;
    j["options"] = o;
    nlohmann::json files = nlohmann::json::array();
    // The level counts only in runs that record levels (feature::kLevel).
    const bool levels = opts.features & feature::kLevel;
    uint64_t tot_i = 0, tot_k = 0, tot_h = 0, tot_n = 0, tot_b = 0;
    for (size_t k = 0; k < s.totals.size(); k++) {
      if (!s.present[k]) continue;
      const CoreTotals& t = s.totals[k];
      std::string path = s.converted || !recorded() ? core_file_path(base, unsigned(k), opts.format)
                                                    : live_path(unsigned(k));
      struct stat st{};
      uint64_t bytes = ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : t.bytes;
      nlohmann::json f{{"core", k}, {"path", base_name(path)}, {"instructions", t.instructions},
                       {"kernel_instructions", t.kernel_instructions}, {"loads", t.loads}, {"stores", t.stores}, {"bytes", bytes}};
      if (levels) {
        f["hypervisor_instructions"] = t.hypervisor_instructions;
        f["nested_instructions"] = t.nested_instructions;
      }
      files.push_back(std::move(f));
      tot_i += t.instructions;
      tot_k += t.kernel_instructions;
      tot_h += t.hypervisor_instructions;
      tot_n += t.nested_instructions;
      tot_b += bytes;
    }
    j["files"] = files;
    j["events"] = kEventsPlaceholder;
    j["totals"] = {{"instructions", tot_i}, {"kernel_instructions", tot_k}, {"bytes", tot_b}};
    if (levels) {
      j["totals"]["hypervisor_instructions"] = tot_h;
      j["totals"]["nested_instructions"] = tot_n;
    }
    std::string text = j.dump(2);
    // The key sits at depth 1, where only this one can be.
    const std::string key = "\n  \"events\": ";
    const std::string slot = key + nlohmann::json(kEventsPlaceholder).dump();
    size_t at = text.find(slot);
    if (at == std::string::npos) {
      if (err) *err = "cannot write " + manifest_path() + ": events missing from the rendered manifest";
      return false;
    }
    std::string events = rendered_count ? "[\n" + rendered_events + "\n  ]" : "[]";
    text.replace(at + key.size(), slot.size() - key.size(), events);
    text += "\n";
    return replace_file(manifest_path(), text, err);
  }

  // The manifest thread: rewrites the manifest after events, spaced out.
  void manifest_loop() {
    std::unique_lock<std::mutex> lk(mu);
    for (;;) {
      manifest_cv.wait(lk, [&] { return manifest_dirty || manifest_stop; });
      if (manifest_stop) return;
      manifest_dirty = false;
      Snapshot s = snapshot_locked();
      lk.unlock();
      auto t0 = std::chrono::steady_clock::now();
      std::string err;
      bool ok = write_manifest(s, false, &err);
      auto cost = std::chrono::steady_clock::now() - t0;
      lk.lock();
      if (!ok && manifest_error.empty()) manifest_error = err;
      auto pause = std::max<std::chrono::steady_clock::duration>(kManifestPeriod, cost * kManifestDuty);
      manifest_cv.wait_for(lk, pause, [&] { return manifest_stop; });
    }
  }

  void stop_manifest_thread() {
    {
      std::lock_guard<std::mutex> lk(mu);
      manifest_stop = true;
    }
    manifest_cv.notify_all();
    if (manifest_thread.joinable()) manifest_thread.join();
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
  Impl::Snapshot s;
  {
    std::lock_guard<std::mutex> lk(m.mu);
    s = m.snapshot_locked();
  }
  if (!m.write_manifest(s, false, error)) return nullptr;
  m.manifest_thread = std::thread([&m] {
    pthread_setname_np(pthread_self(), "qt-manifest");
    m.manifest_loop();
  });
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
    co.bbv_interval = m.opts.bbv_interval;
    // The cores are converted at once at the end: they share the CPUs.
    co.threads = compression_threads_per_core(m.info.cores);
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
  ManifestEvent copy = ev;  // its strings are copied outside the lock
  if (copy.time_ns == 0) copy.time_ns = monotonic_ns();
  std::lock_guard<std::mutex> lk(m.mu);
  m.new_events.push_back(std::move(copy));
  if (m.finished) return;  // finish() writes the final manifest
  if (!m.manifest_dirty) {
    m.manifest_dirty = true;
    m.manifest_cv.notify_one();
  }
}

bool RunWriter::finish() {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lk(m.mu);
  if (m.finished) return m.error.empty();
  m.finished = true;
  // From here on only this thread writes the manifest.
  lk.unlock();
  m.stop_manifest_thread();
  lk.lock();
  bool ok = m.error.empty();  // a core whose file could not be created is not a complete run
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
  Impl::Snapshot s = m.snapshot_locked();
  lk.unlock();
  std::string err;
  bool written = m.write_manifest(s, ok, &err);
  lk.lock();
  // A rewrite that failed during the run left an older manifest on disk
  // for that time: reported even when the final one succeeded.
  if (!written || !m.manifest_error.empty()) {
    ok = false;
    if (m.error.empty()) m.error = written ? m.manifest_error : err;
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
  if (!impl_->manifest_error.empty()) return impl_->manifest_error;
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
