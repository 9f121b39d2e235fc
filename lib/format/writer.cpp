// BinaryCoreWriter and the compression pool (docs/trace-format.md, File layout).
#include <pthread.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>

#include "bytes.h"
#include "chunk_codec.h"
#include "crc32.h"
#include "qemutrace/reader.h"
#include "qemutrace/writer.h"

namespace qemutrace {

using detail::put_u16;
using detail::put_u32;
using detail::put_u64;

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

namespace {
uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
}  // namespace

// What a vCPU thread records for one chunk: cheap appends only. Encoding into
// records (prediction, varints) and compression run later on a pool thread.
// One RawExec per executed block: 16 bytes, since these are written and read
// back at tens of millions per second. block == nullptr: the rare other
// events, `others[n]`.
using RawEvent = RawExec;
static_assert(sizeof(RawEvent) == 16);

// A growable array of trivially copyable T whose free tail the writer lends
// to the tracer's fast path (lent_window.h): the lent part is taken back with
// set_end().
template <class T>
class PodBuffer {
 public:
  PodBuffer() = default;
  PodBuffer(PodBuffer&& o) noexcept { swap(o); }
  PodBuffer& operator=(PodBuffer&& o) noexcept {
    PodBuffer tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  ~PodBuffer() { std::free(p_); }
  void swap(PodBuffer& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(cap_, o.cap_);
  }
  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }
  size_t capacity() const { return cap_; }
  T* begin() { return p_; }
  T* end() { return p_ + n_; }
  const T* begin() const { return p_; }
  const T* end() const { return p_ + n_; }
  void clear() { n_ = 0; }
  void reserve(size_t n) {
    if (n <= cap_) return;
    T* q = static_cast<T*>(std::realloc(p_, n * sizeof(T)));
    if (!q) throw std::bad_alloc();
    p_ = q;
    cap_ = n;
  }
  void push_back(const T& v) {
    if (n_ == cap_) reserve(std::max<size_t>(64, cap_ * 2));
    p_[n_++] = v;
  }
  void append(const T* b, const T* e) {
    reserve(n_ + size_t(e - b));
    if (e != b) std::memcpy(p_ + n_, b, size_t(e - b) * sizeof(T));
    n_ += size_t(e - b);
  }
  void shrink_to(size_t n) { n_ = std::min(n, n_); }
  void set_end(T* e) { n_ = size_t(e - p_); }

 private:
  static_assert(std::is_trivially_copyable_v<T>);
  T* p_ = nullptr;
  size_t n_ = 0, cap_ = 0;
};

struct RawOther {
  enum Kind : uint8_t { Context, MarkerEv, Time, Successor };
  Kind kind;
  uint8_t cpl_or_kind = 0;
  uint8_t source = 0;  // marker source, or the context's level
  uint16_t id = 0;
  uint64_t value = 0;  // asid, marker value, time or successor pc
};

struct RawChunk {
  PodBuffer<RawEvent> events;
  std::vector<RawOther> others;
  PodBuffer<RawAccess> accesses;
  std::vector<detail::RawValue> values;  // one per access, with feature::kValues only
  std::vector<uint8_t> out;  // only in `spare`: a written chunk's output buffer
  uint64_t first_insn = 0, insn_count = 0, first_time_ns = 0;
  bool open = false;
  size_t bytes() const {
    return events.size() * sizeof(RawEvent) + others.size() * sizeof(RawOther) +
           accesses.size() * sizeof(detail::RawAccess) + values.size() * sizeof(detail::RawValue);
  }
};

bool accesses_in_order(const RawAccess* a, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (a[i].insn() < a[i - 1].insn()) return false;
  return true;
}

// Program order is the format's contract: a stable sort by instruction
// repairs accesses reported out of order (values move with them).
void sort_accesses(RawAccess* a, detail::RawValue* values, size_t n) {
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; i++) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [a](uint32_t x, uint32_t y) { return a[x].insn() < a[y].insn(); });
  auto permute = [&](auto* v) {
    std::vector<std::remove_pointer_t<decltype(v)>> tmp(n);
    for (size_t i = 0; i < n; i++) tmp[i] = v[order[i]];
    std::copy(tmp.begin(), tmp.end(), v);
  };
  permute(a);
  if (values) permute(values);
}

struct CompressionPool::Job {
  BinaryCoreWriter::Impl* owner = nullptr;
  uint64_t seq = 0;
  int level = 1;
  uint64_t features = 0;
  RawChunk raw;
  std::vector<uint8_t> out;  // ChunkHeader + zstd frame
  ChunkInfo info;
  uint32_t records = 0;
  uint64_t loads = 0, stores = 0;  // counted here, off the vCPU thread
  std::string error;
};

struct BinaryCoreWriter::Impl {
  std::unique_ptr<ByteSink> sink;
  WriterOptions opts;
  uint16_t core;
  CompressionPool* pool;
  RawChunk raw;
  bool ctx_in_chunk = false;
  uint8_t ctx_cpl = 0, ctx_level = 0;  // context last recorded in this chunk
  uint64_t ctx_asid = 0;
  detail::ChunkEncoder enc;   // only without a pool
  ZSTD_CCtx* cctx = nullptr;  // only without a pool

  // vCPU-thread state.
  LentWindow win;  // what this writer lends to the fast path (lent_window())
  bool lent = false;
  uint64_t lent_insns = 0;  // win.insns_left when lent
  const StaticBlock* cur = nullptr;
  // The open block's accesses go straight into raw.accesses from here on:
  // no second copy per block.
  size_t acc_begin = 0;
  std::vector<RawAccess> carry;  // moves them across a chunk close
  std::vector<detail::RawValue> carry_values;
  bool with_values = false;
  std::vector<Marker> held;  // markers waiting for the chunk after a pending close
  bool close_pending = false;
  uint8_t cpl = 0, lv = 0;
  uint64_t asid = 0;
  uint64_t insns = 0, kernel_insns = 0, hypervisor_insns = 0, nested_insns = 0;
  uint64_t insns_at_last_ts = 0;
  bool finished = false;

  // Shared with compression threads.
  mutable std::mutex mu;
  std::condition_variable cv;
  uint64_t next_seq = 0, next_write_seq = 0;
  unsigned in_flight = 0;
  std::map<uint64_t, CompressionPool::Job*> ready;
  std::vector<RawChunk> spare;  // emptied buffers of written chunks
  std::vector<ChunkInfo> index;
  uint64_t offset = 0;
  uint64_t loads_written = 0, stores_written = 0;
  std::string err;
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> a_insns{0}, a_kernel{0}, a_hypervisor{0}, a_nested{0}, a_loads{0}, a_stores{0},
      a_chunks{0}, a_bytes{0};

  Impl(std::unique_ptr<ByteSink> s, const WriterOptions& o, uint16_t c,
       CompressionPool* p)
      : sink(std::move(s)), opts(o), core(c), pool(p), enc(o.features),
      with_values(o.features & feature::kValues) {}
  ~Impl() {
    if (cctx) ZSTD_freeCCtx(cctx);
  }

  void set_error(const std::string& what, int e) {
    if (failed.exchange(true)) return;
    err = sink->name() + ": " + what + (e ? std::string(": ") + std::strerror(e) : "");
  }

  // Called with mu held.
  bool write_locked(const uint8_t* p, size_t n) {
    if (failed) return false;
    int e = 0;
    if (!sink->write(p, n, &e)) {
      set_error("write failed", e);
      return false;
    }
    offset += n;
    a_bytes.store(offset, std::memory_order_relaxed);
    return true;
  }

  void write_header() {
    // A bit the encoder does not implement would promise what the file lacks.
    if (uint64_t unknown = opts.features & ~feature::kKnownMask) {
      char hex[24];
      std::snprintf(hex, sizeof hex, "%#llx", static_cast<unsigned long long>(unknown));
      set_error(std::string("feature bits ") + hex + " are not defined by format version " +
                    std::to_string(kFormatVersion),
                0);
      return;
    }
    uint8_t h[kFileHeaderSize] = {};
    std::memcpy(h, kFileMagic, 8);
    put_u16(h + 8, kFormatVersion);
    put_u16(h + 10, kMinReaderVersion);
    put_u32(h + 12, kFileHeaderSize);
    put_u64(h + 16, opts.features);
    h[24] = uint8_t(opts.isa);
    h[25] = kPageShift;
    put_u16(h + 26, core);
    put_u32(h + 28, opts.chunk_insns);
    put_u64(h + 32, opts.clock_ns ? opts.clock_ns() : realtime_ns());
    put_u32(h + 60, detail::crc32(h, kFileHeaderSize - 4));
    std::lock_guard<std::mutex> lk(mu);
    write_locked(h, sizeof h);
  }

  uint64_t now() const { return opts.clock_ns ? opts.clock_ns() : monotonic_ns(); }
  // Buffer room that chunks start with, so that the lent windows are long.
  static constexpr size_t kEventsReserved = size_t(1) << 16, kAccessesReserved = size_t(1) << 17;

  // Lends the free tails of the event and access buffers to the fast path
  // while the next whole execution needs nothing but an append: a block is
  // open, the chunk has its context, no timestamp, chunk end or held marker
  // is due. The windows end before the chunk's byte limit.
  void lend() {
    if (!cur || finished || failed || with_values || !raw.open || close_pending || !held.empty()) return;
    if (!context_recorded()) return;
    uint64_t since_ts = insns - insns_at_last_ts;
    if (since_ts >= kTimestampEvery || raw.insn_count >= opts.chunk_insns) return;
    size_t used = raw.bytes();
    if (used >= opts.chunk_raw_bytes) return;
    // Both windows full stay below the limit: end_block closes the chunk at
    // the first block that reaches it, which only the slow path sees.
    size_t budget = (opts.chunk_raw_bytes - used - 1) / 2;
    size_t ev_room = std::min(raw.events.capacity() - raw.events.size(), budget / sizeof(RawEvent));
    size_t acc_room = std::min(raw.accesses.capacity() - raw.accesses.size(), budget / sizeof(RawAccess));
    if (ev_room == 0) return;
    auto& w = win;
    w.exec = raw.events.end();
    w.exec_end = w.exec + ev_room;
    w.acc = raw.accesses.end();
    w.acc_end = w.acc + acc_room;
    w.acc_open = raw.accesses.data() + acc_begin;
    w.open = cur;
    w.insns_left = std::min<uint64_t>(kTimestampEvery - since_ts, opts.chunk_insns - raw.insn_count);
    w.insns_done = &a_insns;
    lent_insns = w.insns_left;
    lent = true;
  }
  // Takes back what the fast path appended; every virtual entry starts here.
  void absorb() {
    if (!lent) return;
    auto& w = win;
    raw.events.set_end(w.exec);
    raw.accesses.set_end(w.acc);
    acc_begin = size_t(w.acc_open - raw.accesses.data());
    cur = w.open;
    uint64_t added = lent_insns - w.insns_left;
    raw.insn_count += added;
    insns += added;  // a_insns already counts them (chain_block)
    count_levels(added);
    w = LentWindow{};
    lent = false;
  }

  bool context_recorded() const { return ctx_in_chunk && cpl == ctx_cpl && asid == ctx_asid && lv == ctx_level; }
  // The per-level totals of `n` instructions retired in the current context.
  void count_levels(uint64_t n) {
    switch (level::privilege(lv)) {
      case level::kKernel:
        kernel_insns += n;
        a_kernel.store(kernel_insns, std::memory_order_relaxed);
        break;
      case level::kHypervisor:
        hypervisor_insns += n;
        a_hypervisor.store(hypervisor_insns, std::memory_order_relaxed);
        break;
    }
    if (lv & level::kNested) {
      nested_insns += n;
      a_nested.store(nested_insns, std::memory_order_relaxed);
    }
  }

  void start_chunk() {
    raw.events.reserve(kEventsReserved);
    raw.accesses.reserve(kAccessesReserved);
    raw.open = true;
    raw.first_insn = insns;
    raw.insn_count = 0;
    raw.first_time_ns = now();
    ctx_in_chunk = false;
    insns_at_last_ts = insns;
  }
  void end_block(uint32_t retired);
  void drop_open_accesses() {
    raw.accesses.shrink_to(acc_begin);
    if (with_values) raw.values.resize(acc_begin);
  }
  // Stable sort of the open block's accesses (and values) by instruction.
  void sort_open_accesses() {
    sort_accesses(raw.accesses.data() + acc_begin, with_values ? raw.values.data() + acc_begin : nullptr,
                  raw.accesses.size() - acc_begin);
  }
  void push(const RawOther& o) {
    raw.events.push_back(RawEvent{nullptr, 0, uint32_t(raw.others.size())});
    raw.others.push_back(o);
  }
  void push_marker(const Marker& m) {
    RawOther e{RawOther::MarkerEv};
    e.cpl_or_kind = uint8_t(m.kind);
    e.source = uint8_t(m.source);
    e.id = m.id;
    e.value = m.value;
    push(e);
  }

  void close_chunk() {
    if (!raw.open) return;
    // Accesses of a block not yet written as a record belong to the next chunk.
    carry.assign(raw.accesses.begin() + acc_begin, raw.accesses.end());
    raw.accesses.shrink_to(acc_begin);
    if (with_values) {
      carry_values.assign(raw.values.begin() + long(acc_begin), raw.values.end());
      raw.values.resize(acc_begin);
    }
    auto* job = new CompressionPool::Job;
    job->owner = this;
    job->level = opts.zstd_level;
    job->features = opts.features;
    job->info.first_insn = raw.first_insn;
    job->info.insn_count = raw.insn_count;
    job->info.first_time_ns = raw.first_time_ns;
    job->raw = std::move(raw);
    raw = RawChunk{};
    {
      std::unique_lock<std::mutex> lk(mu);
      // Back-pressure: block rather than drop.
      cv.wait(lk, [&] { return in_flight < std::max(1u, opts.buffers_per_core); });
      in_flight++;
      job->seq = next_seq++;
      // Reuse a finished chunk's buffers: fresh multi-MiB vectors would be
      // page-faulted in (and zeroed by the host kernel) for every chunk.
      if (!spare.empty()) {
        raw.events.swap(spare.back().events);
        raw.accesses.swap(spare.back().accesses);
        raw.others.swap(spare.back().others);
        raw.values.swap(spare.back().values);
        job->out.swap(spare.back().out);
        spare.pop_back();
      }
    }
    raw.accesses.append(carry.data(), carry.data() + carry.size());
    if (with_values) raw.values.insert(raw.values.end(), carry_values.begin(), carry_values.end());
    acc_begin = 0;
    a_chunks.fetch_add(1, std::memory_order_relaxed);
    if (pool) {
      pool->submit(job);
    } else {
      if (!cctx) cctx = ZSTD_createCCtx();
      compress(job, cctx, enc);
      deliver(job);
    }
  }

  // Turns the recorded events into the chunk's records (docs/trace-format.md).
  // The payload stays in the encoder (enc.payload_data()), whose buffer is reused.
  static void encode(CompressionPool::Job* job, detail::ChunkEncoder& enc) {
    enc.configure(job->features);
    enc.start(job->raw.first_insn, job->raw.first_time_ns);
    RawAccess* acc = job->raw.accesses.data();
    detail::RawValue* val = job->raw.values.empty() ? nullptr : job->raw.values.data();
    for (const RawEvent& ev : job->raw.events) {
      if (ev.block) {
        // The fast path (TraceSink::chain_block) looks neither at the order
        // nor at which instructions retired.
        if (ev.n > 1 && !accesses_in_order(acc, ev.n)) sort_accesses(acc, val, ev.n);
        // Sorted: those of instructions that did not retire (or of no
        // instruction of the block) are last.
        size_t n = ev.n;
        while (n > 0 && acc[n - 1].insn() >= ev.retired) n--;
        enc.exec(*ev.block, ev.retired, acc, n, val);
        acc += ev.n;
        if (val) val += ev.n;
        continue;
      }
      const RawOther& e = job->raw.others[ev.n];
      switch (e.kind) {
        case RawOther::Context: enc.set_context(e.cpl_or_kind, e.value, e.source); break;
        case RawOther::MarkerEv:
          enc.marker(Marker{MarkerKind(e.cpl_or_kind), MarkerSource(e.source), e.id, e.value});
          break;
        case RawOther::Time: enc.timestamp(e.value); break;
        case RawOther::Successor: enc.successor(e.value); break;
      }
    }
    job->records = enc.record_count();
    job->loads = enc.loads();
    job->stores = enc.stores();
    job->raw.events.clear();  // capacity goes back to the core (deliver)
    job->raw.others.clear();
    job->raw.accesses.clear();
    job->raw.values.clear();
  }

  static void compress(CompressionPool::Job* job, ZSTD_CCtx* cctx, detail::ChunkEncoder& enc) {
    encode(job, enc);  // also empties job->raw, whose buffers are reused
    if (!cctx) {
      job->error = "zstd: cannot allocate a compression context";
      return;
    }
    const uint8_t* payload = enc.payload_data();
    const size_t payload_size = enc.payload_size();
    if (payload_size > kMaxRawChunk) {
      job->error = "chunk payload of " + std::to_string(payload_size) + " bytes exceeds the format's limit";
      return;
    }
    size_t bound = ZSTD_compressBound(payload_size);
    job->out.resize(kChunkHeaderSize + bound);
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, job->level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    size_t n = ZSTD_compress2(cctx, job->out.data() + kChunkHeaderSize, bound, payload,
                              payload_size);
    if (ZSTD_isError(n)) {
      job->error = std::string("zstd: ") + ZSTD_getErrorName(n);
      job->out.clear();
      return;
    }
    job->out.resize(kChunkHeaderSize + n);
    job->info.compressed_size = uint32_t(n);
    job->info.raw_size = uint32_t(payload_size);
    uint8_t* h = job->out.data();
    put_u32(h, kChunkMagic);
    put_u64(h + 8, job->info.first_insn);
    put_u64(h + 16, job->info.insn_count);
    put_u64(h + 24, job->info.first_time_ns);
    put_u32(h + 32, job->info.compressed_size);
    put_u32(h + 36, job->info.raw_size);
    put_u32(h + 40, detail::crc32(h + kChunkHeaderSize, n));
    put_u32(h + 44, job->records);
    put_u32(h + 4, detail::crc32(h + 8, kChunkHeaderSize - 8));
  }

  // Writes finished chunks in order.
  void deliver(CompressionPool::Job* job) {
    std::lock_guard<std::mutex> lk(mu);
    ready[job->seq] = job;
    for (auto it = ready.find(next_write_seq); it != ready.end(); it = ready.find(next_write_seq)) {
      CompressionPool::Job* j = it->second;
      ready.erase(it);
      next_write_seq++;
      if (!j->error.empty()) {
        set_error(j->error, 0);
      } else {
        uint64_t at = offset;
        if (write_locked(j->out.data(), j->out.size())) {
          j->info.offset = at;
          index.push_back(j->info);
          loads_written += j->loads;
          stores_written += j->stores;
          a_loads.store(loads_written, std::memory_order_relaxed);
          a_stores.store(stores_written, std::memory_order_relaxed);
        }
      }
      if (spare.size() < opts.buffers_per_core) {
        spare.push_back(std::move(j->raw));
        spare.back().out.swap(j->out);
      }
      delete j;
      in_flight--;
    }
    cv.notify_all();
  }

  void wait_idle() {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return in_flight == 0; });
  }

  // Closes the current chunk, keeping held markers as its tail.
  void flush() {
    if (close_pending) {
      for (const Marker& m : held) push_marker(m);
      held.clear();
      close_pending = false;
    }
    close_chunk();
  }

  bool finish() {
    if (finished) return !failed;
    finished = true;
    cur = nullptr;
    flush();
    wait_idle();
    std::lock_guard<std::mutex> lk(mu);
    if (failed) return false;
    std::vector<uint8_t> ix(kIndexHeaderSize + index.size() * kIndexEntrySize);
    put_u32(ix.data(), kIndexMagic);
    put_u32(ix.data() + 4, uint32_t(index.size()));
    for (size_t i = 0; i < index.size(); i++) {
      uint8_t* e = ix.data() + kIndexHeaderSize + i * kIndexEntrySize;
      put_u64(e, index[i].offset);
      put_u64(e + 8, index[i].first_insn);
      put_u64(e + 16, index[i].insn_count);
      put_u64(e + 24, index[i].first_time_ns);
      put_u32(e + 32, index[i].compressed_size);
      put_u32(e + 36, index[i].raw_size);
    }
    uint8_t f[kFooterSize] = {};
    put_u64(f, offset);
    put_u64(f + 8, insns);
    put_u32(f + 16, uint32_t(index.size()));
    put_u32(f + 20, detail::crc32(ix.data(), ix.size()));
    put_u32(f + 24, detail::crc32(f, 24));
    put_u32(f + 28, kFooterMagic);
    write_locked(ix.data(), ix.size());
    write_locked(f, sizeof f);
    sink.reset();  // close the file
    return !failed;
  }
};

BinaryCoreWriter::BinaryCoreWriter(std::unique_ptr<ByteSink> sink, const WriterOptions& opts,
                                   uint16_t core, CompressionPool* pool)
    : impl_(std::make_unique<Impl>(std::move(sink), opts, core, pool)) {
  impl_->write_header();
}

BinaryCoreWriter::~BinaryCoreWriter() {
  impl_->absorb();
  impl_->finish();
}

// Every entry takes back the lent windows first (absorb) and lends them
// again when it leaves a block open (lend).
void BinaryCoreWriter::set_context(uint8_t cpl, uint64_t asid, uint8_t lv) {
  Impl& m = *impl_;
  m.absorb();
  m.cpl = cpl;
  m.asid = asid;
  // A file without levels records what the cpl implies (and counts it so).
  m.lv = (m.opts.features & feature::kLevel) ? lv : level::of_cpl(cpl);
  m.lend();
}

void BinaryCoreWriter::begin_block(const StaticBlock* block) {
  Impl& m = *impl_;
  m.absorb();
  if (m.raw.accesses.size() != m.acc_begin) m.drop_open_accesses();  // left open without end_block
  m.cur = block;
  m.lend();
}

void BinaryCoreWriter::access(uint32_t insn, uint64_t vaddr, uint64_t paddr, unsigned size_log2,
                              bool store, uint64_t value_lo, uint64_t value_hi) {
  Impl& m = *impl_;
  m.absorb();
  if (!m.cur) return;
  m.raw.accesses.push_back(RawAccess{vaddr, paddr, insn, uint8_t(size_log2 > 4 ? 4 : size_log2), store});
  if (m.with_values) m.raw.values.push_back(detail::RawValue{value_lo, value_hi});
  m.lend();
}

bool BinaryCoreWriter::in_block() const { return impl_->lent ? impl_->win.open != nullptr : impl_->cur != nullptr; }

LentWindow* BinaryCoreWriter::lent_window() { return &impl_->win; }

void BinaryCoreWriter::end_block(uint32_t retired) {
  impl_->absorb();
  impl_->end_block(retired);
}

void BinaryCoreWriter::next_block(uint32_t retired, const StaticBlock* next) {
  Impl& m = *impl_;
  m.absorb();
  m.end_block(retired);
  m.cur = next;
  m.lend();
}

void BinaryCoreWriter::Impl::end_block(uint32_t retired) {
  const StaticBlock* b = cur;
  cur = nullptr;
  auto& all = raw.accesses;
  if (!b || retired == 0 || finished || failed) {
    drop_open_accesses();
    return;
  }
  retired = std::min(retired, b->insn_count);
  size_t n = all.size() - acc_begin;
  size_t dropped = 0;
  // Order repair and the accesses of instructions that did not retire are
  // left to the encoder (as for the fast path), except beyond the format's
  // per-execution limit.
  if (n > kMaxAccessesPerExec) {
    RawAccess* first = all.data() + acc_begin;
    if (!accesses_in_order(first, n)) sort_open_accesses();
    while (n > 0 && first[n - 1].insn() >= retired) n--;
    if (n > kMaxAccessesPerExec) {
      dropped = n - kMaxAccessesPerExec;
      n = kMaxAccessesPerExec;
    }
    all.shrink_to(acc_begin + n);
    if (with_values) raw.values.resize(acc_begin + n);
  }
  if (close_pending) {
    RawOther e{RawOther::Successor};
    e.value = b->vaddr;
    push(e);
    close_pending = false;
    close_chunk();
  }
  if (!raw.open) start_chunk();
  if (!held.empty()) {
    for (const Marker& mk : held) push_marker(mk);
    held.clear();
  }
  if (dropped) push_marker(Marker{MarkerKind::TraceError, MarkerSource::None, 0, dropped});
  if (!context_recorded()) {
    RawOther e{RawOther::Context};
    e.cpl_or_kind = cpl;
    e.source = lv;
    e.value = asid;
    push(e);
    ctx_in_chunk = true;
    ctx_cpl = cpl;
    ctx_level = lv;
    ctx_asid = asid;
  }
  if (insns - insns_at_last_ts >= kTimestampEvery) {
    RawOther e{RawOther::Time};
    e.value = now();
    push(e);
    insns_at_last_ts = insns;
  }
  raw.events.push_back(RawEvent{b, retired, uint32_t(n)});
  raw.insn_count += retired;
  insns += retired;
  a_insns.store(insns, std::memory_order_relaxed);
  count_levels(retired);
  if (n) {
    acc_begin = all.size();
  }
  if (raw.insn_count >= opts.chunk_insns || raw.bytes() >= opts.chunk_raw_bytes)
    close_pending = true;
}

void BinaryCoreWriter::marker(const Marker& mk) {
  Impl& m = *impl_;
  m.absorb();
  if (m.finished) return;
  if (m.close_pending) {
    m.held.push_back(mk);
    return;
  }
  if (!m.raw.open) m.start_chunk();
  m.push_marker(mk);
  m.lend();
}

void BinaryCoreWriter::flush() {
  impl_->absorb();
  impl_->flush();
}
bool BinaryCoreWriter::finish() {
  impl_->absorb();
  return impl_->finish();
}
bool BinaryCoreWriter::failed() const { return impl_->failed.load(); }
std::string BinaryCoreWriter::error() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->err;
}
CoreTotals BinaryCoreWriter::totals() const {
  CoreTotals t;
  t.instructions = impl_->a_insns.load(std::memory_order_relaxed);
  t.kernel_instructions = impl_->a_kernel.load(std::memory_order_relaxed);
  t.hypervisor_instructions = impl_->a_hypervisor.load(std::memory_order_relaxed);
  t.nested_instructions = impl_->a_nested.load(std::memory_order_relaxed);
  t.loads = impl_->a_loads.load(std::memory_order_relaxed);
  t.stores = impl_->a_stores.load(std::memory_order_relaxed);
  t.chunks = impl_->a_chunks.load(std::memory_order_relaxed);
  t.bytes = impl_->a_bytes.load(std::memory_order_relaxed);
  return t;
}

// ---------------------------------------------------------------------------

struct CompressionPool::Impl {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job*> queue;
  bool stop = false;
  std::vector<std::thread> threads;

  void run() {
    // Named so that top -H and perf tell compression from the vCPUs.
    pthread_setname_np(pthread_self(), "qt-compress");
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    detail::ChunkEncoder enc(0);
    for (;;) {
      Job* job;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return stop || !queue.empty(); });
        if (queue.empty()) break;
        job = queue.front();
        queue.pop_front();
      }
      BinaryCoreWriter::Impl::compress(job, cctx, enc);
      job->owner->deliver(job);
    }
    ZSTD_freeCCtx(cctx);
  }
};

CompressionPool::CompressionPool(unsigned threads) : impl_(std::make_unique<Impl>()) {
  for (unsigned i = 0; i < std::max(1u, threads); i++)
    impl_->threads.emplace_back([this] { impl_->run(); });
}

CompressionPool::~CompressionPool() {
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->threads) t.join();
}

void CompressionPool::submit(Job* job) {
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->queue.push_back(job);
  }
  impl_->cv.notify_one();
}

unsigned CompressionPool::threads() const { return unsigned(impl_->threads.size()); }

}  // namespace qemutrace
