// Simulator-format traces (docs/simulator-formats.md) read back: which format
// a file is in, and its instructions and accesses, for the tools that are
// handed one instead of a binary trace (legacy mode=file runs write Tejas).
#include "convert/foreign_trace.h"

#include "qemutrace/convert.h"

#include <lzma.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <regex>
#include <vector>

namespace qemutrace {
namespace {

constexpr unsigned char kGzipMagic[2] = {0x1f, 0x8b};
constexpr unsigned char kXzMagic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
constexpr size_t kChampSimRecord = 64;  // ChampSim input_instr

std::string what_of(OutputFormat f) {
  switch (f) {
    case OutputFormat::Tejas: return "a Tejas text trace (--format tejas, legacy mode=file)";
    case OutputFormat::TejasGz: return "a gzip'd Tejas text trace (--format tejas-gz, legacy mode=file-gz)";
    case OutputFormat::ChampSim: return "a ChampSim trace (--format champsim)";
    case OutputFormat::ChampSimGz: return "a gzip'd ChampSim trace (--format champsim-gz)";
    case OutputFormat::Din: return "a Dinero IV din trace (--format din)";
    case OutputFormat::Text: return "a readable text trace (--format text, as qemutrace dump prints)";
    case OutputFormat::Bbv: return "SimPoint basic-block vectors (--format bbv)";
    case OutputFormat::Binary: break;
  }
  return "a binary trace";
}

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using Gz = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// The first bytes of the file, through gzip when it is gzip'd.
std::string head_of(const std::string& path, size_t n) {
  Gz f(gzopen(path.c_str(), "rb"));
  if (!f) return "";
  std::string s(n, '\0');
  int got = gzread(f.get(), s.data(), unsigned(n));
  s.resize(got > 0 ? size_t(got) : 0);
  return s;
}

bool looks_like_text(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return false;
  return true;
}

// ChampSim records: is_branch and branch_taken are 0 or 1, and only a
// branch is taken. (A gzip'd file of anything else is not one of ours.)
bool looks_like_champsim(const std::string& s) {
  if (s.size() < kChampSimRecord) return false;
  for (size_t off = 0; off + kChampSimRecord <= s.size(); off += kChampSimRecord) {
    const unsigned char is_branch = static_cast<unsigned char>(s[off + 8]);
    const unsigned char taken = static_cast<unsigned char>(s[off + 9]);
    if (is_branch > 1 || taken > is_branch) return false;
  }
  return true;
}

// Which text format the first lines are in (Binary: none of ours).
OutputFormat classify_text(const std::string& head) {
  static const std::regex tejas("-?[0-9]+ -?[0-9]+ .+");
  static const std::regex din("[0-4] [0-9a-f]+");
  static const std::regex text_insn("[0-9]+ [0-9]+ 0x[0-9a-f]+ [KU] [0-9a-f]+ .*");
  size_t pos = 0;
  while (pos < head.size()) {
    size_t nl = head.find('\n', pos);
    if (nl == std::string::npos) nl = head.size();  // a short file's only line
    std::string line = head.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line.compare(0, 2, "M ") == 0) continue;  // readable text: markers before an instruction
    if (std::regex_match(line, text_insn)) return OutputFormat::Text;
    if (std::regex_match(line, din)) return OutputFormat::Din;
    if (std::regex_match(line, tejas)) return OutputFormat::Tejas;
    return OutputFormat::Binary;
  }
  return OutputFormat::Binary;
}

// After gzread returned 0: whether the stream ended cleanly. zlib reports a
// gzip stream cut short (a killed run's missing trailer) only through
// gzerror, as Z_BUF_ERROR.
bool gz_ended_cleanly(gzFile f) {
  int code = Z_OK;
  gzerror(f, &code);
  return code == Z_OK;
}

// Calls on_line for every line ('\n' removed). Returns false if the last
// line has no newline or the gzip stream is cut short.
template <typename F>
bool for_each_line(gzFile f, F&& on_line, std::string* error) {
  std::vector<char> buf(1 << 20);
  std::string carry;
  while (true) {
    int n = gzread(f, buf.data(), unsigned(buf.size()));
    if (n < 0) {
      int code = 0;
      *error = gzerror(f, &code);
      return false;
    }
    if (n == 0) {
      if (gz_ended_cleanly(f)) break;
      *error = "the gzip stream is cut short: the trace was not finished";
      return false;
    }
    const char* p = buf.data();
    const char* end = p + n;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
      if (!nl) {
        carry.append(p, end);
        break;
      }
      if (!carry.empty()) {
        carry.append(p, nl);
        on_line(std::string_view(carry));
        carry.clear();
      } else {
        on_line(std::string_view(p, size_t(nl - p)));
      }
      p = nl + 1;
    }
  }
  if (!carry.empty()) {
    *error = "the last line is cut short (no newline)";
    return false;
  }
  return true;
}

// strtoll/strtoull on a token of a string_view (not NUL-terminated).
bool number(std::string_view tok, int base, uint64_t* out, bool is_signed) {
  if (tok.empty() || tok.size() > 40) return false;
  char tmp[48];
  std::memcpy(tmp, tok.data(), tok.size());
  tmp[tok.size()] = '\0';
  char* end = nullptr;
  errno = 0;
  *out = is_signed ? uint64_t(std::strtoll(tmp, &end, base)) : std::strtoull(tmp, &end, base);
  return errno == 0 && end == tmp + tok.size();
}

std::string_view token(std::string_view& s) {
  size_t b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) {
    s = {};
    return {};
  }
  s.remove_prefix(b);
  size_t e = s.find(' ');
  std::string_view t = s.substr(0, e);
  s.remove_prefix(e == std::string_view::npos ? s.size() : e);
  return t;
}

std::string scan_text(const std::string& path, OutputFormat f, const ForeignTraceVisitor& v) {
  Gz gz(gzopen(path.c_str(), "rb"));
  if (!gz) return "cannot open: " + std::string(std::strerror(errno));
  gzbuffer(gz.get(), 1 << 20);
  uint64_t insns = 0, line_no = 0, end_count = 0;
  bool ended = false;
  std::string bad;
  auto on_line = [&](std::string_view line) {
    line_no++;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || !bad.empty()) return;
    std::string_view rest = line;
    uint64_t a = 0, b = 0;
    if (f == OutputFormat::Tejas || f == OutputFormat::TejasGz) {
      // ip type value; type 27 (assembly) or 1 opens an instruction, as in Tejas' reader.
      std::string_view ip = token(rest), type = token(rest);
      if (!number(ip, 10, &a, true) || !number(type, 10, &b, true)) {
        bad = "line " + std::to_string(line_no) + " is not 'ip type value'";
        return;
      }
      if (ended) {
        bad = "lines after the end-of-stream line";
        return;
      }
      int64_t t = int64_t(b);
      if (t == 27 || t == 1) {
        insns++;
        if (v.instruction) v.instruction(a, -1);
      } else if ((t == 2 || t == 3) && number(token(rest), 10, &b, true)) {
        if (v.access) v.access(b, 0, t == 3);
      } else if (t == -1) {
        ended = true;
        end_count = number(token(rest), 10, &b, true) ? b : a;
      }
    } else if (f == OutputFormat::Din) {
      std::string_view label = token(rest), addr = token(rest);
      if (label.size() != 1 || !number(addr, 16, &a, false)) {
        bad = "line " + std::to_string(line_no) + " is not 'label address'";
        return;
      }
      if (label[0] == '2') {
        insns++;
        if (v.instruction) v.instruction(a, -1);
      } else if ((label[0] == '0' || label[0] == '1') && v.access) {
        v.access(a, 0, label[0] == '1');
      }
    } else {  // readable text
      if (line.compare(0, 2, "M ") == 0) {
        token(rest);
        if (v.marker) v.marker(token(rest));
      } else if (line.compare(0, 4, "  R ") == 0 || line.compare(0, 4, "  W ") == 0) {
        bool store = line[2] == 'W';
        token(rest);
        std::string_view addr = token(rest), size = token(rest);
        addr = addr.substr(0, addr.find('/'));
        if (addr.substr(0, 2) != "0x" || !number(addr.substr(2), 16, &a, false) || !number(size, 10, &b, false)) {
          bad = "line " + std::to_string(line_no) + " is not an access '  R|W 0xADDR SIZE'";
          return;
        }
        if (v.access) v.access(a, unsigned(b), store);
      } else {
        token(rest), token(rest);
        std::string_view pc = token(rest), priv = token(rest);
        int lv = parse_text_level(priv);
        if (pc.substr(0, 2) != "0x" || !number(pc.substr(2), 16, &a, false) || lv < 0) {
          bad = "line " + std::to_string(line_no) + " is not an instruction 'core index 0xPC K|U|H[2] ...'";
          return;
        }
        insns++;
        if (v.instruction) v.instruction(a, lv);
      }
    }
  };
  std::string error;
  bool whole = for_each_line(gz.get(), on_line, &error);
  if (!bad.empty()) return bad;
  if (!whole) return error;
  if (f == OutputFormat::Tejas || f == OutputFormat::TejasGz) {
    if (!ended) return "no end-of-stream line ('N -1 N'): the trace was not finished";
    if (end_count != insns)
      return "the end-of-stream line says " + std::to_string(end_count) + " instructions, the file holds " +
             std::to_string(insns);
  }
  return "";
}

uint64_t le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool is_champsim(OutputFormat f) { return f == OutputFormat::ChampSim || f == OutputFormat::ChampSimGz; }

// Visits the whole records in [data, data + n); returns the bytes of a
// record cut short at the end.
size_t visit_champsim_records(const unsigned char* data, size_t n, const ForeignTraceVisitor& v) {
  const size_t whole = n / kChampSimRecord * kChampSimRecord;
  for (size_t off = 0; off < whole; off += kChampSimRecord) {
    const unsigned char* rec = data + off;
    if (v.instruction) v.instruction(le64(rec), -1);
    if (!v.access) continue;
    for (int i = 0; i < 4; ++i)
      if (uint64_t a = le64(rec + 32 + 8 * i)) v.access(a, 0, false);
    for (int i = 0; i < 2; ++i)
      if (uint64_t a = le64(rec + 16 + 8 * i)) v.access(a, 0, true);
  }
  return n - whole;
}

std::string scan_champsim_gz(const std::string& path, const ForeignTraceVisitor& v) {
  Gz gz(gzopen(path.c_str(), "rb"));
  if (!gz) return "cannot open: " + std::string(std::strerror(errno));
  gzbuffer(gz.get(), 1 << 20);
  std::vector<unsigned char> buf(kChampSimRecord * 16384);
  size_t have = 0;  // bytes of a record carried over
  while (true) {
    int n = gzread(gz.get(), buf.data() + have, unsigned(buf.size() - have));
    if (n < 0) {
      int code = 0;
      return "the gzip stream is damaged or cut short: " + std::string(gzerror(gz.get(), &code));
    }
    if (n == 0) {
      if (!gz_ended_cleanly(gz.get())) return "the gzip stream is cut short: the trace was not finished";
      return have ? "the last record is cut short" : "";
    }
    const size_t total = have + size_t(n);
    have = visit_champsim_records(buf.data(), total, v);
    std::memmove(buf.data(), buf.data() + total - have, have);
  }
}

std::string scan_champsim(const std::string& path, const ForeignTraceVisitor& v) {
  std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!in) return "cannot open: " + std::string(std::strerror(errno));
  lzma_stream strm = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&strm, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) return "cannot start the xz decoder";
  std::unique_ptr<lzma_stream, void (*)(lzma_stream*)> guard(&strm, lzma_end);
  std::vector<unsigned char> ibuf(1 << 16), obuf(kChampSimRecord * 4096);
  size_t have = 0;  // bytes of a record carried over in obuf
  lzma_action action = LZMA_RUN;
  while (true) {
    if (strm.avail_in == 0 && action == LZMA_RUN) {
      strm.next_in = ibuf.data();
      strm.avail_in = std::fread(ibuf.data(), 1, ibuf.size(), in.get());
      if (std::ferror(in.get())) return "read error";
      if (std::feof(in.get())) action = LZMA_FINISH;
    }
    strm.next_out = obuf.data() + have;
    strm.avail_out = obuf.size() - have;
    lzma_ret r = lzma_code(&strm, action);
    size_t total = obuf.size() - strm.avail_out;
    have = visit_champsim_records(obuf.data(), total, v);
    std::memmove(obuf.data(), obuf.data() + total - have, have);
    if (r == LZMA_STREAM_END) return have ? "the last record is cut short" : "";
    if (r == LZMA_BUF_ERROR && action == LZMA_FINISH) return "the xz stream is cut short: the trace was not finished";
    if (r != LZMA_OK) return "the xz stream is damaged (liblzma error " + std::to_string(int(r)) + ")";
  }
}

}  // namespace

std::optional<ForeignTrace> recognise_foreign_trace(const std::string& path) {
  unsigned char magic[8] = {};
  {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f || std::fread(magic, 1, sizeof magic, f.get()) < 2) return std::nullopt;
  }
  OutputFormat f = OutputFormat::Binary;
  const bool gzipped = std::memcmp(magic, kGzipMagic, sizeof kGzipMagic) == 0;
  if (std::memcmp(magic, kXzMagic, sizeof kXzMagic) == 0) {
    f = OutputFormat::ChampSim;  // the one xz format qemutrace writes
  } else {
    std::string head = head_of(path, 4096);
    if (gzipped && !looks_like_text(head)) {
      if (!looks_like_champsim(head)) return std::nullopt;
      f = OutputFormat::ChampSimGz;  // the one binary format qemutrace gzips
    } else {
      if (!looks_like_text(head)) return std::nullopt;
      f = classify_text(head);
      if (gzipped) f = f == OutputFormat::Tejas ? OutputFormat::TejasGz : OutputFormat::Binary;  // the one gzip'd text
    }
  }
  if (f == OutputFormat::Binary) return std::nullopt;
  return ForeignTrace{f, what_of(f)};
}

std::string foreign_trace_advice(const std::string& path, const ForeignTrace& t, std::string_view tool) {
  std::string s = path + " is " + t.what + ", not a binary qemutrace trace: ";
  if (tool == "dump") {
    s += is_champsim(t.format) ? "dump reads binary traces"
                               : "it is text already (read it with less" +
                                     std::string(t.format == OutputFormat::TejasGz ? " or zcat" : "") +
                                     "); dump reads binary traces";
  } else {
    s += std::string(tool) + " checks binary traces only";
  }
  s += " (record with --format binary, the default, and convert afterwards); `qemutrace stats` counts this file";
  return s;
}

std::string scan_foreign_trace(const std::string& path, const ForeignTrace& t, const ForeignTraceVisitor& v) {
  if (t.format == OutputFormat::ChampSim) return scan_champsim(path, v);
  if (t.format == OutputFormat::ChampSimGz) return scan_champsim_gz(path, v);
  return scan_text(path, t.format, v);
}

}  // namespace qemutrace
