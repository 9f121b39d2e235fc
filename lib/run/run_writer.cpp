// RunWriter: the files of one run (a sink per core) and its manifest BASE.json.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "qemutrace/writer.h"

namespace qemutrace {

// Implemented with the converters (lib/convert): a sink writing a simulator format.
std::unique_ptr<TraceSink> make_format_sink(OutputFormat f, const std::string& path,
                                            const WriterOptions& opts, uint16_t core,
                                            std::string* error);

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
}  // namespace

struct RunWriter::Impl {
  std::string base;
  WriterOptions opts;
  RunInfo info;
  std::unique_ptr<CompressionPool> pool;

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
    j["cores"] = info.cores;
    nlohmann::json o = nlohmann::json::object();
    for (auto& [k, v] : info.options) o[k] = v;
    j["options"] = o;
    nlohmann::json files = nlohmann::json::array();
    uint64_t tot_i = 0, tot_k = 0, tot_b = 0;
    for (size_t k = 0; k < cores.size(); k++) {
      if (!cores[k]) continue;
      CoreTotals t = cores[k]->totals();
      std::string path = core_file_path(base, unsigned(k), opts.format);
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

std::unique_ptr<RunWriter> RunWriter::create(const std::string& base, const WriterOptions& opts,
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
  if (opts.format == OutputFormat::Binary) m.pool = std::make_unique<CompressionPool>(opts.compress_threads);
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
  std::string path = core_file_path(m.base, k, m.opts.format);
  if (m.opts.format == OutputFormat::Binary) {
    int err = 0;
    auto sink = open_file_sink(path, &err);
    if (!sink) {
      m.error = "cannot create " + path + ": " + std::strerror(err);
      return nullptr;
    }
    m.cores[k] = std::make_unique<BinaryCoreWriter>(std::move(sink), m.opts, uint16_t(k), m.pool.get());
  } else {
    std::string err;
    m.cores[k] = make_format_sink(m.opts.format, path, m.opts, uint16_t(k), &err);
    if (!m.cores[k]) {
      m.error = err.empty() ? "cannot create " + path : err;
      return nullptr;
    }
  }
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
  std::lock_guard<std::mutex> lk(m.mu);
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
  std::string err;
  if (!m.write_manifest(ok, &err)) {
    ok = false;
    if (m.error.empty()) m.error = err;
  }
  return ok;
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
    if (impl_->cores[k]) out[k] = impl_->cores[k]->totals();
  return out;
}

}  // namespace qemutrace
