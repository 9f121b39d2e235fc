// The per-core consumers: Tejas text, ChampSim (xz), Dinero din, readable text.
// docs/simulator-formats.md is the specification of every byte written here.
#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "qemutrace/convert.h"
#include "qemutrace/disasm.h"
#include "qemutrace/reader.h"

namespace qemutrace {

namespace {

constexpr size_t kFlushBytes = 1u << 20;

// Appends to a string without iostreams or locale, one append per number.
inline void put_hex(std::string* s, uint64_t v) {
  char buf[16];
  int n = 16;
  do {
    buf[--n] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  s->append(buf + n, size_t(16 - n));
}
inline void put_hex_fixed(std::string* s, uint64_t v, int digits) {
  char buf[32];
  for (int i = 0; i < digits; ++i) buf[i] = "0123456789abcdef"[(v >> (4 * (digits - 1 - i))) & 15];
  s->append(buf, size_t(digits));
}
// Decimal straight into a buffer with room for 20 characters: the digit
// count first, then two digits per division.
constexpr char kDigitPairs[] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849"
    "5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
constexpr uint64_t kPow10[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
    1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
    1000000000000000000ull, 10000000000000000000ull};
inline int decimal_digits(uint64_t v) {
  v |= 1;  // the same number of digits, and 0 has one
  const int t = ((64 - __builtin_clzll(v)) * 1233) >> 12;  // log10 of the top bit's power of two
  return t + 1 - (v < kPow10[t] ? 1 : 0);
}
inline char* write_udec(char* p, uint64_t v) {
  char* const end = p + decimal_digits(v);
  char* q = end;
  while (v >= 100) {
    const uint64_t r = v % 100;
    v /= 100;
    q -= 2;
    std::memcpy(q, kDigitPairs + 2 * r, 2);
  }
  if (v >= 10)
    std::memcpy(q - 2, kDigitPairs + 2 * v, 2);
  else
    q[-1] = static_cast<char>('0' + v);
  return end;
}
// Two's-complement signed decimal: what Java's Long.parseLong gives back
// as the same 64 bits (Tejas parses ip and value with it).
inline char* write_sdec(char* p, uint64_t v) {
  if (static_cast<int64_t>(v) < 0) {
    *p++ = '-';
    v = ~v + 1;
  }
  return write_udec(p, v);
}
inline void put_udec(std::string* s, uint64_t v) {
  char buf[20];
  s->append(buf, size_t(write_udec(buf, v) - buf));
}

std::string errno_text(int err) { return std::strerror(err ? err : EIO); }

// Base for consumers: a buffered byte sink with sticky errors.
class BufferedConsumer : public InstructionConsumer {
 public:
  BufferedConsumer(std::unique_ptr<ByteSink> out, const ConsumerOptions& o)
      : out_(std::move(out)), opts_(o) {}
  ~BufferedConsumer() override {
    if (zinit_) deflateEnd(&zs_);
  }

  void flush() override { drain(); }
  bool finish() override {
    if (!finished_) {
      finished_ = true;
      finish_stream();
      drain();
      if (zinit_ && !failed_) deflate_out(nullptr, 0, Z_FINISH);
      out_.reset();  // closes the file
    }
    return !failed_;
  }
  bool failed() const override { return failed_; }
  std::string error() const override { return error_; }
  uint64_t instructions() const override { return count_; }
  uint64_t bytes_written() const override { return written_; }

 protected:
  // Hook: end of the stream (last lines, xz trailer), before the gzip trailer.
  virtual void finish_stream() {}
  // Hook: transform buffered bytes before they hit the sink (xz).
  virtual bool emit(const char* data, size_t n) {
    return zinit_ ? deflate_out(data, n, Z_NO_FLUSH) : write_raw(data, n);
  }
  // Everything emitted from now on goes through gzip at `level`.
  void use_gzip(int level) {
    // windowBits 15 + 16: a gzip stream (header with mtime 0, so the
    // bytes depend on the input only).
    if (deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      fail("cannot initialize the gzip encoder");
      return;
    }
    zinit_ = true;
    zbuf_.resize(1u << 16);
  }

  bool write_raw(const void* data, size_t n) {
    if (failed_ || !out_) return false;
    int err = 0;
    if (!out_->write(data, n, &err)) {
      fail("cannot write " + out_->name() + ": " + errno_text(err));
      return false;
    }
    written_ += n;
    return true;
  }
  void fail(const std::string& msg) {
    if (!failed_) {
      failed_ = true;
      error_ = msg;
    }
  }
  void maybe_drain() {
    if (buf_.size() >= kFlushBytes) drain();
  }
  void drain() {
    if (!buf_.empty() && !failed_) emit(buf_.data(), buf_.size());
    buf_.clear();
  }
  bool deflate_out(const char* data, size_t n, int flush) {
    if (failed_ || !zinit_) return false;
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    zs_.avail_in = static_cast<uInt>(n);
    for (;;) {
      zs_.next_out = zbuf_.data();
      zs_.avail_out = static_cast<uInt>(zbuf_.size());
      int r = deflate(&zs_, flush);
      size_t produced = zbuf_.size() - zs_.avail_out;
      if (produced && !write_raw(zbuf_.data(), produced)) return false;
      if (r == Z_STREAM_END) return true;
      if (r != Z_OK && r != Z_BUF_ERROR) {
        fail("gzip compression failed (zlib error " + std::to_string(r) + ")");
        return false;
      }
      if (flush == Z_NO_FLUSH && zs_.avail_in == 0) return true;
    }
  }

  std::unique_ptr<ByteSink> out_;
  ConsumerOptions opts_;
  std::string buf_;
  uint64_t count_ = 0;
  uint64_t written_ = 0;
  bool failed_ = false;
  bool finished_ = false;
  std::string error_;
  z_stream zs_{};
  bool zinit_ = false;
  std::vector<uint8_t> zbuf_;
};

// What a consumer's output owes to an instruction's PC and bytes alone,
// computed once per static instruction: a cache keyed by PC, length and
// bytes, four ways per set, the oldest entry of a set replaced first.
template <typename T>
class PerInsnCache {
 public:
  // The value for insn; make(insn, &value) fills it when it is not cached.
  template <typename Make>
  const T& get(const Instruction& insn, Make&& make) {
    const size_t n = std::min<size_t>(insn.length, sizeof(Slot::bytes));
    const size_t set = (insn.pc ^ (insn.pc >> 15)) & (kSets - 1);
    // The four PCs of a set are adjacent (32 bytes); a slot is read only
    // when its PC matches.
    const uint64_t* tags = &tags_[set * kWays];
    Slot* slots = &slots_[set * kWays];
    for (size_t w = 0; w < kWays; ++w) {
      const Slot& s = slots[w];
      if (tags[w] == insn.pc && s.valid && s.length == insn.length &&
          (n == 0 || std::memcmp(s.bytes, insn.bytes, n) == 0))
        return s.value;
    }
    const size_t w = next_[set];
    next_[set] = uint8_t((w + 1) % kWays);
    Slot& s = slots[w];
    tags_[set * kWays + w] = insn.pc;
    s.valid = true;
    s.length = insn.length;
    std::memset(s.bytes, 0, sizeof s.bytes);
    if (n) std::memcpy(s.bytes, insn.bytes, n);
    make(insn, &s.value);
    return s.value;
  }

 private:
  // A kernel-heavy trace runs tens of thousands of distinct instructions.
  // Direct-mapped, 32768 slots missed on 19% of a fileops trace's
  // instructions (32,150 distinct PCs); four ways of the same slots miss on
  // 7% (a miss costs a disassembler lookup and formatting).
  static constexpr size_t kWays = 4, kSets = 8192;
  struct Slot {
    uint8_t length = 0;
    uint8_t bytes[15] = {};  // the first min(length, 15), zero-padded
    bool valid = false;
    T value{};
  };
  std::vector<uint64_t> tags_ = std::vector<uint64_t>(kSets * kWays);  // PCs
  std::vector<Slot> slots_ = std::vector<Slot>(kSets * kWays);
  std::vector<uint8_t> next_ = std::vector<uint8_t>(kSets);  // the way to replace next
};

// ---------------------------------------------------------------- text

void text_code(const Instruction& insn, Disassembler& dis, std::string* out);
void format_text_with_code(const Instruction& insn, std::string_view code, uint64_t features,
                           std::string* out);

class TextConsumer final : public BufferedConsumer {
 public:
  TextConsumer(std::unique_ptr<ByteSink> out, const ConsumerOptions& o)
      : BufferedConsumer(std::move(out), o), dis_(o.isa) {}
  void consume(const Instruction& insn) override {
    if (failed_ || finished_) return;
    const std::string& code = codes_.get(insn, [this](const Instruction& in, std::string* text) {
      text->clear();
      text_code(in, dis_, text);
    });
    format_text_with_code(insn, code, opts_.features, &buf_);
    ++count_;
    maybe_drain();
  }
  void tail_marker(const Marker& m) override {
    if (failed_ || finished_) return;
    format_text_marker(m, &buf_);
  }

 private:
  Disassembler dis_;
  PerInsnCache<std::string> codes_;  // text_code()
};

// ---------------------------------------------------------------- din

class DinConsumer final : public BufferedConsumer {
 public:
  using BufferedConsumer::BufferedConsumer;
  void consume(const Instruction& insn) override {
    if (failed_ || finished_) return;
    buf_ += "2 ";
    put_hex(&buf_, insn.pc);
    buf_.push_back('\n');
    for (uint32_t i = 0; i < insn.access_count; ++i) {
      const MemAccess& a = insn.accesses[i];
      buf_ += a.is_store ? "1 " : "0 ";
      put_hex(&buf_, a.vaddr);
      buf_.push_back('\n');
    }
    ++count_;
    maybe_drain();
  }
  void tail_marker(const Marker&) override {}
};

// ---------------------------------------------------------------- successors

// A marker before an instruction means it does not continue its
// predecessor: a DISCONTINUITY (interrupt or exception), or tracing stopped
// and started again (ROI_END/ROI_BEGIN, LIMIT_REACHED, SKIP_DONE,
// TRACE_ERROR). The predecessor's next_pc is then not its successor.
bool continues_predecessor(const Instruction& next) { return next.marker_count == 0; }

// A branch whose outcome is decided when its successor arrives: the
// consumers hold back what depends on it by one instruction.
struct PendingBranch {
  bool active = false;
  uint64_t pc = 0;
  uint8_t length = 0;
  BranchKind kind = BranchKind::None;
  bool has_target = false;
  uint64_t target = 0;   // decoded (direct branches)
  uint64_t next_pc = 0;  // what executed next, 0 if unknown
};

struct BranchOutcome {
  bool taken;
  uint64_t target;  // 0: unknown
};

// The outcome of `b` given whether its successor is known. Unknown (last
// instruction, or the next one follows an interrupt, an exception or a gap
// in tracing): conditional and other branches are written not taken, and a
// target that depends on execution is 0; direct jumps and calls are always
// taken to their decoded target.
BranchOutcome branch_outcome(const PendingBranch& b, bool successor_known) {
  const uint64_t next = successor_known ? b.next_pc : 0;
  const bool transfers = next != 0 && next != b.pc + b.length;
  switch (b.kind) {
    case BranchKind::Conditional:
      return {transfers, transfers ? next : b.target};
    case BranchKind::DirectJump:
    case BranchKind::DirectCall:
      return {true, b.has_target ? b.target : next};
    case BranchKind::Other:
      return {transfers, next};
    default:  // indirect jump or call, return: taken, to where execution went
      return {true, next};
  }
}

// ---------------------------------------------------------------- tejas

constexpr size_t kTejasAsmMax = 63;  // Tejas keeps 64 bytes, NUL-terminated
constexpr int kTejasGzipLevel = 6;   // as Tejas' own tracer (gzdopen "w6")

// Tejas' translator splits an optional prefix (rep, lock, ...) from the
// operation at the next space: a prefixed mnemonic without operands (`repz
// ret`) makes it read past the text and kills its reader thread. Such a
// prefix changes nothing Tejas models, so it is left out.
std::string_view tejas_text(std::string_view text) {
  for (std::string_view p : {"rep ", "repz ", "repnz ", "repe ", "repne ", "lock "}) {
    if (text.substr(0, p.size()) == p && text.find(' ', p.size()) == std::string_view::npos)
      return text.substr(p.size());
  }
  return text.size() > kTejasAsmMax ? text.substr(0, kTejasAsmMax) : text;
}

// Tejas lines are written straight into a byte buffer: each instruction
// first makes room for its worst case (kTejasLineRoom per line), then copies
// what its static instruction owes to PC and bytes (formatted once, see
// Line) and formats only the access addresses and branch targets.
class TejasConsumer final : public BufferedConsumer {
 public:
  TejasConsumer(std::unique_ptr<ByteSink> out, const ConsumerOptions& o, bool gzip)
      : BufferedConsumer(std::move(out), o), dis_(o.isa) {
    std::string why = output_format_isa_problem(gzip ? OutputFormat::TejasGz : OutputFormat::Tejas, o.isa);
    if (!why.empty()) {
      fail(why);
      return;
    }
    if (gzip) use_gzip(kTejasGzipLevel);
  }
  void consume(const Instruction& insn) override {
    if (failed_ || finished_) return;
    // The held branch's line, the assembly line, one line per access.
    char* p = room(kTejasLineRoom * (2 + size_t(insn.access_count)));
    if (pending_) p = write_branch(p, continues_predecessor(insn));
    const Line& l = lines_.get(insn, [this](const Instruction& in, Line* out) { make_line(in, out); });
    // 27: the assembly packet opens the instruction's packet group.
    std::memcpy(p, l.head, sizeof l.head);  // whole array: the room covers it
    p += l.head_len;
    for (uint32_t i = 0; i < insn.access_count; ++i) {
      const MemAccess& a = insn.accesses[i];
      std::memcpy(p, l.lead, sizeof l.lead);
      p[l.pc_len + 1] = a.is_store ? '3' : '2';
      p = write_sdec(p + l.pc_len + 3, a.vaddr);
      *p++ = '\n';
    }
    used_ = size_t(p - text_.data());
    // The branch line closes the group; it waits for the successor.
    if (l.branch != BranchKind::None) {
      pending_ = &l;
      pending_next_pc_ = insn.next_pc;
    }
    ++count_;
    if (used_ >= kFlushBytes) drain_text();
  }
  void tail_marker(const Marker&) override {}
  void flush() override { drain_text(); }

 protected:
  void finish_stream() override {
    char* p = room(2 * kTejasLineRoom);
    if (pending_) p = write_branch(p, false);
    // End of stream: THREADCOMPLETE (-1), which ends this application
    // thread in Tejas' reader (RunnableThread) once all before it is read.
    // Tejas' shared-memory tracer sends it with the instruction count as
    // ip; its file tracer puts counts in the third field: both carry it.
    p = write_sdec(p, count_);
    std::memcpy(p, " -1 ", 4);
    p = write_sdec(p + 4, count_);
    *p++ = '\n';
    used_ = size_t(p - text_.data());
    drain_text();
  }

 private:
  // What an instruction's lines owe to its PC and bytes alone, formatted
  // once per static instruction. Fixed arrays, copied whole: a copy of a
  // constant size costs a few vector moves, no loop and no call.
  struct Line {
    uint64_t pc = 0;
    uint64_t target = 0;  // decoded (direct branches)
    uint8_t length = 0;
    BranchKind branch = BranchKind::None;
    bool has_target = false;
    uint8_t pc_len = 0;      // digits (and sign) of the PC in decimal
    uint8_t head_len = 0;
    uint8_t target_len = 0;
    char target_text[24] = {};  // the target in decimal
    char lead[32] = {};         // "<pc> 2 ": how access and branch lines start
    char head[96] = {};         // "<pc> 27 <asm>\n"
  };
  // Bytes any one line may write from where it starts (fixed-size copies
  // included): head is the longest.
  static constexpr size_t kTejasLineRoom = sizeof(Line::head);
  static_assert(20 + 4 + kTejasAsmMax + 1 <= sizeof(Line::head), "head holds PC, type, text");
  static_assert(sizeof(Line::lead) + sizeof(Line::target_text) + 1 <= kTejasLineRoom,
                "an access or branch line: lead, a number (or target_text), newline");

  void make_line(const Instruction& insn, Line* out) {
    Line& l = *out;
    const DecodedInsn& d = dis_.decode(insn.pc, insn.bytes, insn.length);
    l.pc = insn.pc;
    l.length = insn.length;
    char* p = write_sdec(l.head, insn.pc);
    l.pc_len = static_cast<uint8_t>(p - l.head);
    std::memcpy(l.lead, l.head, l.pc_len);
    std::memcpy(l.lead + l.pc_len, " 2 ", 3);
    std::memcpy(p, " 27 ", 4);
    p += 4;
    std::string_view text = tejas_text(d.text);
    std::memcpy(p, text.data(), text.size());
    p += text.size();
    *p++ = '\n';
    l.head_len = static_cast<uint8_t>(p - l.head);
    l.branch = d.branch;
    l.has_target = d.has_target;
    l.target = d.target;
    l.target_len = static_cast<uint8_t>(write_sdec(l.target_text, d.target) - l.target_text);
  }

  // The held branch's line "<pc> 4|5 <target>\n". pending_ still points at
  // its Line: no lines_.get() comes between holding and writing it.
  char* write_branch(char* p, bool successor_known) {
    const Line& b = *pending_;
    pending_ = nullptr;
    const PendingBranch held{true, b.pc, b.length, b.branch, b.has_target, b.target, pending_next_pc_};
    const BranchOutcome o = branch_outcome(held, successor_known);
    std::memcpy(p, b.lead, sizeof b.lead);
    p[b.pc_len + 1] = o.taken ? '4' : '5';
    p += b.pc_len + 3;
    if (b.has_target && o.target == b.target) {
      std::memcpy(p, b.target_text, sizeof b.target_text);
      p += b.target_len;
    } else {
      p = write_sdec(p, o.target);
    }
    *p++ = '\n';
    return p;
  }

  // A pointer to `need` writable bytes at the end of the text.
  char* room(size_t need) {
    if (used_ + need > text_.size()) {
      drain_text();
      if (need > text_.size()) text_.resize(need);
    }
    return text_.data() + used_;
  }
  void drain_text() {
    if (used_ && !failed_) emit(text_.data(), used_);
    used_ = 0;
  }

  Disassembler dis_;
  PerInsnCache<Line> lines_;
  // The text not yet emitted: [0, used_), drained past kFlushBytes; room()
  // grows it for an instruction with more accesses than the slack holds.
  std::vector<char> text_ = std::vector<char>(kFlushBytes + (64u << 10));
  size_t used_ = 0;
  const Line* pending_ = nullptr;  // a branch waiting for its successor
  uint64_t pending_next_pc_ = 0;
};

// ---------------------------------------------------------------- champsim

// xz preset 3: on ChampSim records it compresses as well as the default 6
// (bytes/instruction within 0.5%) at about 20x its speed (fast mode, hc4
// match finder).
constexpr uint32_t kXzPreset = 3;
// liblzma's multi-threaded encoder compresses independent blocks of this
// size on several threads. Its output depends on the preset, the check and
// the block size, never on the number of threads, so every path and every
// machine writes the same bytes (docs/simulator-formats.md).
constexpr uint64_t kXzBlockBytes = uint64_t(32) << 20;

// The settings of every ChampSim xz stream, with `threads` threads.
lzma_mt xz_settings(uint32_t threads) {
  lzma_mt mt{};
  mt.threads = threads;
  mt.block_size = kXzBlockBytes;
  mt.preset = kXzPreset;
  mt.check = LZMA_CHECK_CRC64;
  return mt;
}

}  // namespace

unsigned compression_threads_per_core(unsigned cores) {
  return compression_threads_per_core(cores, std::thread::hardware_concurrency(), lzma_physmem());
}

unsigned compression_threads_per_core(unsigned cores, unsigned cpus, uint64_t memory) {
  cores = std::max(1u, cores);
  unsigned hw = std::max(1u, cpus);
  unsigned n = std::max(1u, std::min(hw, 2 * hw / cores));
  // Each xz thread holds a block in, a block out and its encoder (127 MiB
  // with these settings): all the cores' threads together stay within a
  // quarter of the memory (a run converts inside the emulator's process).
  lzma_mt one = xz_settings(1);
  uint64_t per_thread = lzma_stream_encoder_mt_memusage(&one);
  if (per_thread != UINT64_MAX && per_thread != 0 && memory != 0)
    n = unsigned(std::max<uint64_t>(1, std::min<uint64_t>(n, memory / 4 / (uint64_t(cores) * per_thread))));
  return n;
}

namespace {

// Unasked: as many as one file converted alone may use.
unsigned xz_threads(unsigned asked) { return asked ? asked : compression_threads_per_core(1); }

ChampSimRecord champsim_static_record(const DecodedInsn& d);
void champsim_fill_dynamic(const Instruction& insn, bool taken_varies, ChampSimRecord* rec);
// Conditional and other branches are taken or not as execution went; the
// rest always transfer.
bool champsim_taken_varies(BranchKind k) { return k == BranchKind::Conditional || k == BranchKind::Other; }

// gzip level of champsim-gz, the fast alternative to xz: level 1 compresses
// ChampSim records about 3 times as fast as xz preset 3, to 9 times the
// bytes (docs/simulator-formats.md).
constexpr int kChampSimGzipLevel = 1;

class ChampSimConsumer final : public BufferedConsumer {
 public:
  ChampSimConsumer(std::unique_ptr<ByteSink> out, const ConsumerOptions& o, bool gzip)
      : BufferedConsumer(std::move(out), o), dis_(o.isa), xz_(!gzip) {
    if (gzip) {
      use_gzip(kChampSimGzipLevel);
      return;
    }
    lzma_mt mt = xz_settings(xz_threads(o.threads));
    lzma_ret r = lzma_stream_encoder_mt(&strm_, &mt);
    if (r != LZMA_OK) fail("cannot initialize the xz encoder (liblzma error " +
                           std::to_string(static_cast<int>(r)) + ")");
    else init_ = true;
    outbuf_.resize(1u << 16);
  }
  ~ChampSimConsumer() override {
    if (init_) lzma_end(&strm_);
  }
  void consume(const Instruction& insn) override {
    if (failed_ || finished_) return;
    release_held(continues_predecessor(insn));
    const Static& st = statics_.get(insn, [this](const Instruction& in, Static* out) {
      const DecodedInsn& d = dis_.decode(in.pc, in.bytes, in.length);
      out->record = champsim_static_record(d);
      out->taken_varies = champsim_taken_varies(d.branch);
    });
    held_ = st.record;
    champsim_fill_dynamic(insn, st.taken_varies, &held_);
    held_may_fall_through_ = st.taken_varies;
    have_held_ = true;
    ++count_;
    maybe_drain();
  }
  void tail_marker(const Marker&) override {}

 protected:
  bool emit(const char* data, size_t n) override {
    return xz_ ? code(data, n, LZMA_RUN) : BufferedConsumer::emit(data, n);
  }
  void finish_stream() override {
    release_held(false);
    drain();
    if (xz_ && !failed_ && init_) code(nullptr, 0, LZMA_FINISH);
  }

 private:
  bool code(const char* data, size_t n, lzma_action action) {
    if (failed_ || !init_) return false;
    strm_.next_in = reinterpret_cast<const uint8_t*>(data);
    strm_.avail_in = n;
    for (;;) {
      strm_.next_out = outbuf_.data();
      strm_.avail_out = outbuf_.size();
      lzma_ret r = lzma_code(&strm_, action);
      size_t produced = outbuf_.size() - strm_.avail_out;
      if (produced && !write_raw(outbuf_.data(), produced)) return false;
      if (r == LZMA_STREAM_END) return true;
      if (r != LZMA_OK) {
        fail("xz compression failed (liblzma error " + std::to_string(static_cast<int>(r)) +
             ")");
        return false;
      }
      if (action == LZMA_RUN && strm_.avail_in == 0) return true;
    }
  }

  // The record waits for its successor: ChampSim takes a taken branch's
  // target from the next record, so a conditional (or other) branch whose
  // successor is not its own (interrupt, exception, gap) is written not
  // taken rather than "taken to the handler".
  void release_held(bool successor_known) {
    if (!have_held_) return;
    have_held_ = false;
    if (!successor_known && held_.is_branch && held_.branch_taken && held_may_fall_through_)
      held_.branch_taken = 0;
    uint8_t rec[64];
    encode_champsim_record(held_, rec);
    buf_.append(reinterpret_cast<const char*>(rec), 64);
  }

  // make_champsim_record() in two parts, the static one once per static instruction.
  struct Static {
    ChampSimRecord record;
    bool taken_varies = false;
  };
  Disassembler dis_;
  PerInsnCache<Static> statics_;
  bool xz_;  // else gzip
  ChampSimRecord held_;
  bool have_held_ = false;
  bool held_may_fall_through_ = false;
  lzma_stream strm_ = LZMA_STREAM_INIT;
  bool init_ = false;
  std::vector<uint8_t> outbuf_;
};

}  // namespace

// ---------------------------------------------------------------- shared pieces

void format_text_marker(const Marker& m, std::string* out) {
  *out += "M ";
  *out += marker_kind_name(m.kind);
  out->push_back(' ');
  *out += marker_source_name(m.source);
  *out += " id=";
  put_udec(out, m.id);
  *out += " value=0x";
  put_hex(out, m.value);
  out->push_back('\n');
}

namespace {
constexpr std::string_view kTextLevels[2][3] = {{"K", "U", "H"}, {"K2", "U2", "H2"}};
}  // namespace

std::string_view text_level(uint8_t lv) {
  uint8_t p = level::privilege(lv);
  return p > level::kHypervisor ? std::string_view("?") : kTextLevels[(lv & level::kNested) ? 1 : 0][p];
}

int parse_text_level(std::string_view token) {
  for (int nested = 0; nested < 2; nested++)
    for (int p = 0; p < 3; p++)
      if (token == kTextLevels[nested][p]) return p | (nested ? level::kNested : 0);
  return -1;
}

namespace {
// The part of an instruction's text line that depends on its PC and bytes
// only: "<bytes in hex> <asm>".
void text_code(const Instruction& insn, Disassembler& dis, std::string* out) {
  for (uint8_t i = 0; i < insn.length; ++i) put_hex_fixed(out, insn.bytes[i], 2);
  out->push_back(' ');
  *out += dis.decode(insn.pc, insn.bytes, insn.length).text;
}

void format_text_with_code(const Instruction& insn, std::string_view code, uint64_t features,
                           std::string* out) {
  for (uint32_t i = 0; i < insn.marker_count; ++i) format_text_marker(insn.markers[i], out);
  put_udec(out, insn.core);
  out->push_back(' ');
  put_udec(out, insn.index);
  *out += " 0x";
  put_hex(out, insn.pc);
  out->push_back(' ');
  *out += text_level(insn.level);
  out->push_back(' ');
  out->append(code.data(), code.size());
  out->push_back('\n');
  for (uint32_t i = 0; i < insn.access_count; ++i) {
    const MemAccess& a = insn.accesses[i];
    *out += a.is_store ? "  W 0x" : "  R 0x";
    put_hex(out, a.vaddr);
    if (features & feature::kPhysAddr) {
      *out += "/0x";
      put_hex(out, a.paddr);
    }
    out->push_back(' ');
    put_udec(out, a.size);
    if (features & feature::kValues) {
      *out += " =0x";
      if (a.size >= 16) {
        put_hex_fixed(out, a.value_hi, 16);
        put_hex_fixed(out, a.value_lo, 16);
      } else {
        uint64_t v = a.value_lo;
        if (a.size < 8) v &= (uint64_t{1} << (8 * a.size)) - 1;
        put_hex_fixed(out, v, 2 * (a.size ? a.size : 1));
      }
    }
    out->push_back('\n');
  }
}
}  // namespace

void format_text_instruction(const Instruction& insn, Disassembler& dis, uint64_t features,
                             std::string* out) {
  thread_local std::string code;
  code.clear();
  text_code(insn, dis, &code);
  format_text_with_code(insn, code, features, out);
}

namespace {
void push_unique(uint8_t* list, size_t cap, size_t* n, uint8_t id) {
  if (id == 0 || *n >= cap) return;
  for (size_t i = 0; i < *n; ++i)
    if (list[i] == id) return;
  list[(*n)++] = id;
}
bool is_special(uint8_t id) { return id == reg::kRsp || id == reg::kFlags || id == reg::kIp; }
}  // namespace

namespace {
// The part of a ChampSim record that depends on the static instruction only:
// registers, is_branch, and branch_taken 1 for the branches that always
// transfer (champsim_taken_varies() says which do not).
ChampSimRecord champsim_static_record(const DecodedInsn& d) {
  ChampSimRecord r;
  size_t ns = 0, nd = 0;
  uint8_t* src = r.source_registers;
  uint8_t* dst = r.destination_registers;
  auto others_read = [&](size_t cap) {
    for (uint8_t i = 0; i < d.read_count; ++i)
      if (!is_special(d.reads[i])) push_unique(src, cap, &ns, d.reads[i]);
  };
  auto others_written = [&](size_t cap) {
    for (uint8_t i = 0; i < d.write_count; ++i)
      if (!is_special(d.writes[i])) push_unique(dst, cap, &nd, d.writes[i]);
  };
  // Each branch kind gets exactly the special registers that ChampSim's
  // classifier (ChampSim inc/instruction.h, ooo_model_instr) maps to it.
  switch (d.branch) {
    case BranchKind::None:
      for (uint8_t i = 0; i < d.read_count; ++i)
        if (d.reads[i] != reg::kIp) push_unique(src, 4, &ns, d.reads[i]);
      for (uint8_t i = 0; i < d.write_count; ++i)
        if (d.writes[i] != reg::kIp) push_unique(dst, 2, &nd, d.writes[i]);
      break;
    case BranchKind::DirectJump:  // reads ip; writes ip
      push_unique(src, 4, &ns, reg::kIp);
      push_unique(dst, 2, &nd, reg::kIp);
      break;
    case BranchKind::IndirectJump:  // reads other (not sp/flags/ip); writes ip
      others_read(4);
      if (ns == 0) push_unique(src, 4, &ns, reg::kIndirectTarget);
      push_unique(dst, 2, &nd, reg::kIp);
      break;
    case BranchKind::Conditional:  // reads ip + flags and/or other; writes ip (not sp)
      push_unique(src, 4, &ns, reg::kIp);
      if (d.reads_flags) push_unique(src, 4, &ns, reg::kFlags);
      others_read(4);
      if (ns == 1) push_unique(src, 4, &ns, reg::kFlags);
      push_unique(dst, 2, &nd, reg::kIp);
      others_written(2);  // loop: rcx
      break;
    case BranchKind::DirectCall:  // reads sp + ip; writes sp + ip
      push_unique(src, 4, &ns, reg::kRsp);
      push_unique(src, 4, &ns, reg::kIp);
      push_unique(dst, 2, &nd, reg::kRsp);
      push_unique(dst, 2, &nd, reg::kIp);
      break;
    case BranchKind::IndirectCall:  // reads sp + ip + other; writes sp + ip
      push_unique(src, 4, &ns, reg::kRsp);
      push_unique(src, 4, &ns, reg::kIp);
      others_read(4);
      if (ns == 2) push_unique(src, 4, &ns, reg::kIndirectTarget);
      push_unique(dst, 2, &nd, reg::kRsp);
      push_unique(dst, 2, &nd, reg::kIp);
      break;
    case BranchKind::Return:  // reads sp (not ip); writes sp + ip
      push_unique(src, 4, &ns, reg::kRsp);
      push_unique(dst, 2, &nd, reg::kRsp);
      push_unique(dst, 2, &nd, reg::kIp);
      break;
    case BranchKind::Other:  // reads sp + flags, writes ip but not sp
      push_unique(src, 4, &ns, reg::kRsp);
      push_unique(src, 4, &ns, reg::kFlags);
      others_read(4);
      push_unique(dst, 2, &nd, reg::kIp);
      others_written(2);
      break;
  }
  if (d.branch != BranchKind::None) {
    r.is_branch = 1;
    r.branch_taken = champsim_taken_varies(d.branch) ? 0 : 1;
  }
  return r;
}

// The part that depends on the execution: ip, whether a conditional or
// other branch was taken, and the memory addresses.
void champsim_fill_dynamic(const Instruction& insn, bool taken_varies, ChampSimRecord* rec) {
  ChampSimRecord& r = *rec;
  r.ip = insn.pc;
  if (taken_varies) r.branch_taken = insn.transfers() ? 1 : 0;
  size_t nl = 0, nst = 0;
  for (uint32_t i = 0; i < insn.access_count; ++i) {
    const MemAccess& a = insn.accesses[i];
    if (a.vaddr == 0) continue;  // zero means "empty" in input_instr
    uint64_t* list = a.is_store ? r.destination_memory : r.source_memory;
    size_t cap = a.is_store ? 2 : 4;
    size_t* n = a.is_store ? &nst : &nl;
    bool dup = false;
    for (size_t k = 0; k < *n; ++k)
      if (list[k] == a.vaddr) dup = true;
    if (!dup && *n < cap) list[(*n)++] = a.vaddr;
  }
}
}  // namespace

ChampSimRecord make_champsim_record(const Instruction& insn, Disassembler& dis) {
  const DecodedInsn& d = dis.decode(insn.pc, insn.bytes, insn.length);
  ChampSimRecord r = champsim_static_record(d);
  champsim_fill_dynamic(insn, champsim_taken_varies(d.branch), &r);
  return r;
}

void encode_champsim_record(const ChampSimRecord& r, uint8_t out[64]) {
  auto put64 = [&](size_t off, uint64_t v) {
    for (int i = 0; i < 8; ++i) out[off + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put64(0, r.ip);
  out[8] = r.is_branch;
  out[9] = r.branch_taken;
  out[10] = r.destination_registers[0];
  out[11] = r.destination_registers[1];
  for (int i = 0; i < 4; ++i) out[12 + i] = r.source_registers[i];
  for (int i = 0; i < 2; ++i) put64(16 + 8 * i, r.destination_memory[i]);
  for (int i = 0; i < 4; ++i) put64(32 + 8 * i, r.source_memory[i]);
}

std::unique_ptr<InstructionConsumer> make_consumer(OutputFormat f, std::unique_ptr<ByteSink> out,
                                                   const ConsumerOptions& opts) {
  switch (f) {
    case OutputFormat::Tejas: return std::make_unique<TejasConsumer>(std::move(out), opts, false);
    case OutputFormat::TejasGz: return std::make_unique<TejasConsumer>(std::move(out), opts, true);
    case OutputFormat::ChampSim: return std::make_unique<ChampSimConsumer>(std::move(out), opts, false);
    case OutputFormat::ChampSimGz: return std::make_unique<ChampSimConsumer>(std::move(out), opts, true);
    case OutputFormat::Din: return std::make_unique<DinConsumer>(std::move(out), opts);
    case OutputFormat::Text: return std::make_unique<TextConsumer>(std::move(out), opts);
    case OutputFormat::Bbv: return make_bbv_consumer(std::move(out), opts);
    case OutputFormat::Binary: break;
  }
  return nullptr;
}

std::unique_ptr<InstructionConsumer> open_consumer(OutputFormat f, const std::string& path,
                                                   const ConsumerOptions& opts,
                                                   std::string* error) {
  if (f == OutputFormat::Binary) {
    if (error) *error = "the binary format has no converter";
    return nullptr;
  }
  if (std::string why = output_format_isa_problem(f, opts.isa); !why.empty()) {
    if (error) *error = why;  // before the file exists: nothing to clean up
    return nullptr;
  }
  int err = 0;
  std::unique_ptr<ByteSink> sink = open_file_sink(path, &err);
  if (!sink) {
    if (error) *error = "cannot create " + path + ": " + errno_text(err);
    return nullptr;
  }
  auto c = make_consumer(f, std::move(sink), opts);
  if (c && c->failed()) {
    if (error) *error = c->error();
    return nullptr;
  }
  return c;
}

uint64_t feed_reader(CoreReader& reader, InstructionConsumer& c, uint64_t limit) {
  uint64_t n = 0;
  while (n < limit) {
    const Instruction* insn = reader.next();
    if (!insn) {
      for (const Marker& m : reader.tail_markers()) c.tail_marker(m);
      break;
    }
    c.consume(*insn);
    ++n;
    if (c.failed()) break;
  }
  return n;
}

}  // namespace qemutrace
