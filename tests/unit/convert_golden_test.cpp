// Golden tests of every output format on a hand-built instruction stream of
// real x86-64 bytes. Every expected byte is computed here from the input
// (PCs, bytes, accesses, successor PCs), never taken from the converter.
#include <gtest/gtest.h>
#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "qemutrace/convert.h"
#include "qemutrace/disasm.h"

namespace qemutrace {
namespace {

// ChampSim's branch types (ChampSim inc/instruction.h, enum branch_type).
enum CsBranch {
  CS_DIRECT_JUMP = 0,
  CS_INDIRECT,
  CS_CONDITIONAL,
  CS_DIRECT_CALL,
  CS_INDIRECT_CALL,
  CS_RETURN,
  CS_OTHER,
  CS_NOT_BRANCH
};

// ChampSim's classification, re-implemented from ooo_model_instr's
// constructor: zeros are removed, then reads/writes of 6 (stack pointer),
// 25 (flags) and 26 (instruction pointer) decide.
CsBranch champsim_classify(const uint8_t dst[2], const uint8_t src[4]) {
  auto in = [](const uint8_t* a, int n, uint8_t id) {
    return std::count(a, a + n, id) > 0;
  };
  bool writes_sp = in(dst, 2, 6), writes_ip = in(dst, 2, 26);
  bool reads_sp = in(src, 4, 6), reads_flags = in(src, 4, 25), reads_ip = in(src, 4, 26);
  bool reads_other = false;
  for (int i = 0; i < 4; ++i)
    if (src[i] != 0 && src[i] != 6 && src[i] != 25 && src[i] != 26) reads_other = true;
  if (!reads_sp && !reads_flags && writes_ip && !reads_other) return CS_DIRECT_JUMP;
  if (!reads_sp && !reads_ip && !reads_flags && writes_ip && reads_other) return CS_INDIRECT;
  if (!reads_sp && reads_ip && !writes_sp && writes_ip && (reads_flags || reads_other))
    return CS_CONDITIONAL;
  if (reads_sp && reads_ip && writes_sp && writes_ip && !reads_flags && !reads_other)
    return CS_DIRECT_CALL;
  if (reads_sp && reads_ip && writes_sp && writes_ip && !reads_flags && reads_other)
    return CS_INDIRECT_CALL;
  if (reads_sp && !reads_ip && writes_sp && writes_ip) return CS_RETURN;
  if (writes_ip) return CS_OTHER;
  return CS_NOT_BRANCH;
}

struct Acc {
  uint64_t vaddr;
  uint8_t size;
  bool store;
};

struct Spec {
  uint64_t pc;
  std::vector<uint8_t> bytes;
  uint8_t cpl;
  std::vector<Acc> acc;
  std::vector<Marker> markers;
  // Hand-derived from the bytes:
  std::string text;
  CsBranch kind;
  uint64_t direct_target;       // for direct branches (rel computed by hand)
  std::set<uint8_t> cs_src;     // expected ChampSim source registers
  std::set<uint8_t> cs_dst;     // expected ChampSim destination registers
};

constexpr uint8_t SP = 6, FL = 25, IP = 26, RAX = 10, RBX = 7, RCX = 9, RSI = 4, RDI = 3;

std::vector<Spec> stream() {
  Marker roi;
  roi.kind = MarkerKind::RoiBegin;
  roi.source = MarkerSource::MagicNop;
  roi.id = 7;
  roi.value = 0;
  return {
      {0x401000, {0x48, 0x89, 0xc3}, 3, {}, {roi}, "mov rbx, rax", CS_NOT_BRANCH, 0, {RAX}, {RBX}},
      {0x401003, {0x48, 0x8b, 0x44, 0x24, 0x08}, 3, {{0x7ffd0008, 8, false}}, {},
       "mov rax, QWORD PTR [rsp+0x8]", CS_NOT_BRANCH, 0, {SP}, {RAX}},
      // call rel32 0xf3: 0x401008 + 5 + 0xf3 = 0x401100; pushes the return address.
      {0x401008, {0xe8, 0xf3, 0x00, 0x00, 0x00}, 3, {{0x7ffcfff8, 8, true}}, {},
       "call 0x401100", CS_DIRECT_CALL, 0x401100, {SP, IP}, {SP, IP}},
      {0x401100, {0xff, 0xd0}, 3, {{0x7ffcfff0, 8, true}}, {}, "call rax", CS_INDIRECT_CALL, 0,
       {SP, IP, RAX}, {SP, IP}},
      {0x402000, {0xc3}, 3, {{0x7ffcfff0, 8, false}}, {}, "ret", CS_RETURN, 0, {SP}, {SP, IP}},
      // jnz +5 at 0x401102: target 0x401109; falls through to 0x401104 (not taken).
      {0x401102, {0x75, 0x05}, 3, {}, {}, "jne 0x401109", CS_CONDITIONAL, 0x401109, {IP, FL},
       {IP}},
      // jnz +2 at 0x401104: target 0x401108; taken.
      {0x401104, {0x75, 0x02}, 3, {}, {}, "jne 0x401108", CS_CONDITIONAL, 0x401108, {IP, FL},
       {IP}},
      // jmp +2 at 0x401108: target 0x40110c.
      {0x401108, {0xeb, 0x02}, 3, {}, {}, "jmp 0x40110c", CS_DIRECT_JUMP, 0x40110c, {IP}, {IP}},
      {0x40110c, {0xff, 0xe0}, 3, {}, {}, "jmp rax", CS_INDIRECT, 0, {RAX}, {IP}},
      // jmp [rip+0]: loads the target from 0x403006; no register but rip -> pseudo id 27.
      {0x403000, {0xff, 0x25, 0x00, 0x00, 0x00, 0x00}, 3, {{0x403006, 8, false}}, {},
       "jmp QWORD PTR [rip]", CS_INDIRECT, 0, {27}, {IP}},
      // rep movsb, one iteration's worth of accesses repeated: 6 loads (one
      // duplicate) and 3 stores -> 4 distinct loads and 2 stores kept.
      {0x404000, {0xf3, 0xa4}, 3,
       {{0x5000, 1, false}, {0x6000, 1, true}, {0x5001, 1, false}, {0x6001, 1, true},
        {0x5001, 1, false}, {0x5002, 1, false}, {0x5003, 1, false}, {0x5004, 1, false},
        {0x6002, 1, true}},
       {}, "rep movs BYTE PTR es:[rdi], BYTE PTR ds:[rsi]", CS_NOT_BRANCH, 0, {RDI, RSI, RCX, FL},
       {RCX, RDI}},
      // Kernel store to a high-half address (negative as a Java long).
      {0xffffffff81000000ull, {0x48, 0x89, 0x18}, 0, {{0xffff888000001000ull, 8, true}}, {},
       "mov QWORD PTR [rax], rbx", CS_NOT_BRANCH, 0, {RAX, RBX}, {}},
      // Last instruction: next PC unknown.
      {0xffffffff81000003ull, {0x75, 0xfe}, 0, {}, {}, "jne 0xffffffff81000003", CS_CONDITIONAL,
       0xffffffff81000003ull, {IP, FL}, {IP}},
  };
}

// Successor PCs: the next spec's PC, the last one 0 (unknown). The spec
// above is laid out so that index 5 falls through, 6 is taken, etc.
uint64_t next_pc_of(const std::vector<Spec>& s, size_t i) {
  return i + 1 < s.size() ? s[i + 1].pc : 0;
}

struct Built {
  std::vector<Instruction> insns;
  std::vector<std::vector<MemAccess>> acc;
};

Built build(const std::vector<Spec>& s, uint16_t core) {
  Built b;
  b.acc.resize(s.size());
  for (size_t i = 0; i < s.size(); ++i)
    for (const Acc& a : s[i].acc) {
      MemAccess m;
      m.vaddr = a.vaddr;
      m.size = a.size;
      m.is_store = a.store;
      b.acc[i].push_back(m);
    }
  for (size_t i = 0; i < s.size(); ++i) {
    Instruction in;
    in.index = i;
    in.core = core;
    in.pc = s[i].pc;
    in.next_pc = next_pc_of(s, i);
    in.bytes = s[i].bytes.data();
    in.length = static_cast<uint8_t>(s[i].bytes.size());
    in.cpl = s[i].cpl;
    in.level = level::of_cpl(in.cpl);
    in.accesses = b.acc[i].empty() ? nullptr : b.acc[i].data();
    in.access_count = static_cast<uint32_t>(b.acc[i].size());
    in.markers = s[i].markers.empty() ? nullptr : s[i].markers.data();
    in.marker_count = static_cast<uint32_t>(s[i].markers.size());
    b.insns.push_back(in);
  }
  return b;
}

std::vector<uint8_t> run(OutputFormat f, const std::vector<Spec>& s, uint16_t core,
                         const std::vector<Marker>& tail = {}) {
  std::vector<uint8_t> out;
  ConsumerOptions o;
  o.isa = Isa::x86_64;
  o.features = 0;
  o.core = core;
  auto c = make_consumer(f, std::make_unique<MemorySink>(&out), o);
  Built b = build(s, core);
  for (const Instruction& in : b.insns) c->consume(in);
  for (const Marker& m : tail) c->tail_marker(m);
  EXPECT_TRUE(c->finish()) << c->error();
  EXPECT_EQ(c->instructions(), s.size());
  EXPECT_EQ(c->bytes_written(), out.size());
  return out;
}

std::string as_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
  return b;
}
std::string jlong(uint64_t v) { return std::to_string(static_cast<int64_t>(v)); }

TEST(ConvertGolden, Din) {
  auto s = stream();
  std::string expect;
  for (const Spec& sp : s) {
    expect += "2 " + hex(sp.pc) + "\n";
    for (const Acc& a : sp.acc) expect += std::string(a.store ? "1 " : "0 ") + hex(a.vaddr) + "\n";
  }
  EXPECT_EQ(as_string(run(OutputFormat::Din, s, 0)), expect);
  // Spot checks written out literally.
  std::string got = as_string(run(OutputFormat::Din, s, 0));
  EXPECT_EQ(got.substr(0, 16), "2 401000\n2 40100");
  EXPECT_NE(got.find("1 ffff888000001000\n"), std::string::npos);
}

// Tejas' lines for a stream, by the rules of docs/simulator-formats.md.
std::string tejas_expected(const std::vector<Spec>& s) {
  std::string expect;
  for (size_t i = 0; i < s.size(); ++i) {
    const Spec& sp = s[i];
    uint64_t next = next_pc_of(s, i);
    uint64_t fall = sp.pc + sp.bytes.size();
    expect += jlong(sp.pc) + " 27 " + sp.text + "\n";
    for (const Acc& a : sp.acc)
      expect += jlong(sp.pc) + (a.store ? " 3 " : " 2 ") + jlong(a.vaddr) + "\n";
    switch (sp.kind) {
      case CS_NOT_BRANCH: break;
      case CS_CONDITIONAL: {
        bool taken = next != 0 && next != fall;
        expect += jlong(sp.pc) + (taken ? " 4 " + jlong(next) : " 5 " + jlong(sp.direct_target)) +
                  "\n";
        break;
      }
      case CS_DIRECT_JUMP:
      case CS_DIRECT_CALL: expect += jlong(sp.pc) + " 4 " + jlong(sp.direct_target) + "\n"; break;
      default: expect += jlong(sp.pc) + " 4 " + jlong(next) + "\n"; break;
    }
  }
  // End of stream: THREADCOMPLETE with the instruction count.
  expect += std::to_string(s.size()) + " -1 " + std::to_string(s.size()) + "\n";
  return expect;
}

TEST(ConvertGolden, Tejas) {
  auto s = stream();
  const std::string expect = tejas_expected(s);
  std::string got = as_string(run(OutputFormat::Tejas, s, 0));
  EXPECT_EQ(got, expect);
  // Literal spot checks of the number formats.
  EXPECT_EQ(got.substr(0, got.find('\n')), "4198400 27 mov rbx, rax");
  EXPECT_NE(got.find("-2130706432 3 -131391639515136\n"), std::string::npos);
  EXPECT_NE(got.find("4198658 5 4198665\n"), std::string::npos);  // jne not taken
  EXPECT_NE(got.find("4198660 4 4198664\n"), std::string::npos);  // jne taken
  // Every line is "ip type value" with decimal numbers, or "ip 27 text".
  size_t pos = 0;
  while (pos < got.size()) {
    size_t nl = got.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    std::string line = got.substr(pos, nl - pos);
    pos = nl + 1;
    size_t a = line.find(' '), b = line.find(' ', a + 1);
    ASSERT_NE(b, std::string::npos) << line;
    std::string type = line.substr(a + 1, b - a - 1);
    EXPECT_TRUE(type == "27" || type == "2" || type == "3" || type == "4" || type == "5" ||
                (type == "-1" && pos == got.size()))
        << line;
    if (type == "27") {
      EXPECT_LE(line.size() - b - 1, 63u) << line;
    }
  }
}

TEST(ConvertGolden, TejasLongTextTruncated) {
  // vpternlogd zmm0{k1}{z}, zmm1, zmmword ptr [rax+rbx*8+0x12345678]{1to16}, 0x12 is
  // longer than Tejas's 64-byte buffer allows.
  std::vector<Spec> s = {{0x1000,
                          {0x62, 0xf3, 0x75, 0xd9, 0x25, 0x84, 0xd8, 0x78, 0x56, 0x34, 0x12, 0x12},
                          3, {}, {}, "", CS_NOT_BRANCH, 0, {}, {}}};
  std::string got = as_string(run(OutputFormat::Tejas, s, 0));
  ASSERT_EQ(got.substr(0, 8), "4096 27 ");
  EXPECT_EQ(got.size(), 8u + 63u + 1u + std::string("1 -1 1\n").size()) << got;
}

TEST(ConvertGolden, Text) {
  auto s = stream();
  Marker tail;
  tail.kind = MarkerKind::RoiEnd;
  tail.source = MarkerSource::Console;
  tail.id = 7;
  tail.value = 0x2a;
  std::string expect;
  for (size_t i = 0; i < s.size(); ++i) {
    const Spec& sp = s[i];
    for (const Marker& m : sp.markers) {
      (void)m;
      expect += "M roi_begin magic_nop id=7 value=0x0\n";
    }
    std::string bytes;
    for (uint8_t b : sp.bytes) {
      char h[3];
      std::snprintf(h, sizeof h, "%02x", b);
      bytes += h;
    }
    expect += "3 " + std::to_string(i) + " 0x" + hex(sp.pc) + (sp.cpl == 0 ? " K " : " U ") +
              bytes + " " + sp.text + "\n";
    for (const Acc& a : sp.acc)
      expect += std::string(a.store ? "  W 0x" : "  R 0x") + hex(a.vaddr) + " " +
                std::to_string(a.size) + "\n";
  }
  expect += "M roi_end console id=7 value=0x2a\n";
  EXPECT_EQ(as_string(run(OutputFormat::Text, s, 3, {tail})), expect);
}

TEST(ConvertGolden, TextWithPhysAndValues) {
  std::vector<uint8_t> bytes = {0x48, 0x8b, 0x44, 0x24, 0x08};
  MemAccess acc[2];
  acc[0].vaddr = 0x7ffd0008;
  acc[0].paddr = 0x123008;
  acc[0].size = 4;
  acc[0].value_lo = 0xffffffff0000beefull;  // bits above the size are not shown
  acc[1].vaddr = 0x7ffd0010;
  acc[1].paddr = 0x123010;
  acc[1].size = 16;
  acc[1].is_store = true;
  acc[1].value_lo = 0x1122334455667788ull;
  acc[1].value_hi = 0x99aabbccddeeff00ull;
  Instruction in;
  in.pc = 0x401003;
  in.bytes = bytes.data();
  in.length = 5;
  in.cpl = 3;
  in.level = level::of_cpl(3);
  in.accesses = acc;
  in.access_count = 2;
  std::string out;
  Disassembler dis(Isa::x86_64);
  format_text_instruction(in, dis, feature::kPhysAddr | feature::kValues, &out);
  EXPECT_EQ(out,
            "0 0 0x401003 U 488b442408 mov rax, QWORD PTR [rsp+0x8]\n"
            "  R 0x7ffd0008/0x123008 4 =0x0000beef\n"
            "  W 0x7ffd0010/0x123010 16 =0x99aabbccddeeff001122334455667788\n");
}

std::vector<uint8_t> unxz(const std::vector<uint8_t>& in) {
  lzma_stream strm = LZMA_STREAM_INIT;
  EXPECT_EQ(lzma_stream_decoder(&strm, UINT64_MAX, 0), LZMA_OK);
  std::vector<uint8_t> out(1 << 20);
  strm.next_in = in.data();
  strm.avail_in = in.size();
  strm.next_out = out.data();
  strm.avail_out = out.size();
  lzma_ret r = lzma_code(&strm, LZMA_FINISH);
  EXPECT_EQ(r, LZMA_STREAM_END);
  out.resize(out.size() - strm.avail_out);
  lzma_end(&strm);
  return out;
}

uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

TEST(ConvertGolden, ChampSim) {
  auto s = stream();
  std::vector<uint8_t> xz = run(OutputFormat::ChampSim, s, 0);
  // xz container magic FD 37 7A 58 5A 00.
  ASSERT_GE(xz.size(), 6u);
  EXPECT_EQ(std::memcmp(xz.data(), "\xFD" "7zXZ\0", 6), 0);
  std::vector<uint8_t> raw = unxz(xz);
  ASSERT_EQ(raw.size(), 64 * s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const Spec& sp = s[i];
    SCOPED_TRACE(sp.text);
    const uint8_t* r = raw.data() + 64 * i;
    uint64_t next = next_pc_of(s, i);
    EXPECT_EQ(le64(r), sp.pc);
    bool branch = sp.kind != CS_NOT_BRANCH;
    EXPECT_EQ(r[8], branch ? 1 : 0);
    bool taken = sp.kind == CS_CONDITIONAL ? (next != 0 && next != sp.pc + sp.bytes.size())
                                           : branch;
    EXPECT_EQ(r[9], taken ? 1 : 0);
    std::set<uint8_t> dst, src;
    for (int k = 0; k < 2; ++k)
      if (r[10 + k]) {
        EXPECT_TRUE(dst.insert(r[10 + k]).second) << "duplicate dst";
      }
    for (int k = 0; k < 4; ++k)
      if (r[12 + k]) {
        EXPECT_TRUE(src.insert(r[12 + k]).second) << "duplicate src";
      }
    EXPECT_EQ(dst, sp.cs_dst);
    EXPECT_EQ(src, sp.cs_src);
    EXPECT_EQ(champsim_classify(r + 10, r + 12), sp.kind);
    // Memory: distinct addresses in program order, at most 2 stores, 4 loads.
    std::vector<uint64_t> want_st, want_ld;
    for (const Acc& a : sp.acc) {
      auto& w = a.store ? want_st : want_ld;
      size_t cap = a.store ? 2 : 4;
      if (std::find(w.begin(), w.end(), a.vaddr) == w.end() && w.size() < cap)
        w.push_back(a.vaddr);
    }
    want_st.resize(2, 0);
    want_ld.resize(4, 0);
    for (int k = 0; k < 2; ++k) EXPECT_EQ(le64(r + 16 + 8 * k), want_st[k]);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(le64(r + 32 + 8 * k), want_ld[k]);
  }
}

TEST(ConvertGolden, ChampSimEveryBranchKindAndOther) {
  // One of each kind from real bytes, checked through ChampSim's rules.
  struct K {
    std::vector<uint8_t> bytes;
    CsBranch kind;
  } ks[] = {
      {{0xeb, 0x00}, CS_DIRECT_JUMP},
      {{0xe9, 0x00, 0x01, 0x00, 0x00}, CS_DIRECT_JUMP},
      {{0xff, 0xe0}, CS_INDIRECT},
      {{0x41, 0xff, 0xe3}, CS_INDIRECT},                          // jmp r11
      {{0xff, 0x24, 0xc5, 0x00, 0x10, 0x00, 0x00}, CS_INDIRECT},  // jmp [rax*8+0x1000]
      {{0x74, 0x00}, CS_CONDITIONAL},
      {{0x0f, 0x8f, 0x00, 0x01, 0x00, 0x00}, CS_CONDITIONAL},  // jg rel32
      {{0xe3, 0x00}, CS_CONDITIONAL},                          // jrcxz
      {{0xe2, 0x00}, CS_CONDITIONAL},                          // loop
      {{0xe8, 0x00, 0x00, 0x00, 0x00}, CS_DIRECT_CALL},
      {{0xff, 0xd0}, CS_INDIRECT_CALL},
      {{0xff, 0x15, 0x00, 0x00, 0x00, 0x00}, CS_INDIRECT_CALL},  // call [rip+0]
      {{0xff, 0x50, 0x08}, CS_INDIRECT_CALL},                    // call [rax+8]
      {{0xc3}, CS_RETURN},
      {{0xc2, 0x10, 0x00}, CS_RETURN},
      {{0x0f, 0x05}, CS_OTHER},  // syscall
      {{0xcd, 0x80}, CS_OTHER},  // int 0x80
      {{0x48, 0xcf}, CS_OTHER},  // iretq
      {{0x50}, CS_NOT_BRANCH},   // push rax writes rsp but not rip
      {{0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00}, CS_NOT_BRANCH},  // lea rax, [rip]
  };
  Disassembler dis(Isa::x86_64);
  for (const K& k : ks) {
    Instruction in;
    in.pc = 0x400000;
    in.bytes = k.bytes.data();
    in.length = static_cast<uint8_t>(k.bytes.size());
    in.next_pc = 0x500000;
    ChampSimRecord r = make_champsim_record(in, dis);
    SCOPED_TRACE(dis.decode(in.pc, in.bytes, in.length).text);
    EXPECT_EQ(champsim_classify(r.destination_registers, r.source_registers), k.kind);
    EXPECT_EQ(r.is_branch, k.kind != CS_NOT_BRANCH ? 1 : 0);
    EXPECT_EQ(r.ip, 0x400000u);
    uint8_t enc[64];
    encode_champsim_record(r, enc);
    EXPECT_EQ(le64(enc), 0x400000u);
    EXPECT_EQ(enc[10], r.destination_registers[0]);
    EXPECT_EQ(enc[15], r.source_registers[3]);
  }
}

TEST(ConvertGolden, ChampSimI386UsesSameIds) {
  Disassembler dis(Isa::i386);
  std::vector<uint8_t> call = {0xe8, 0x00, 0x00, 0x00, 0x00};
  std::vector<uint8_t> ret = {0xc3};
  Instruction in;
  in.pc = 0x8048000;
  in.bytes = call.data();
  in.length = 5;
  in.next_pc = 0x8048005;  // call $+5: next PC is the fall-through, still a taken call
  ChampSimRecord r = make_champsim_record(in, dis);
  EXPECT_EQ(champsim_classify(r.destination_registers, r.source_registers), CS_DIRECT_CALL);
  EXPECT_EQ(r.branch_taken, 1);
  in.bytes = ret.data();
  in.length = 1;
  r = make_champsim_record(in, dis);
  EXPECT_EQ(champsim_classify(r.destination_registers, r.source_registers), CS_RETURN);
}

// aarch64 branches carry the registers ChampSim's classifier expects: BL
// and BLR read and write SP like x86's call, RET reads SP like x86's ret
// (docs/simulator-formats.md). Words assembled by GNU as.
TEST(ConvertGolden, ChampSimAarch64BranchKinds) {
  struct K {
    uint32_t word;
    const char* text;
    CsBranch kind;
  } ks[] = {
      {0x14000002, "b .+8", CS_DIRECT_JUMP},
      {0x97FFFFFF, "bl .-4", CS_DIRECT_CALL},
      {0x54000081, "b.ne .+0x10", CS_CONDITIONAL},
      {0xB4000040, "cbz x0, .+8", CS_CONDITIONAL},
      {0xB6F80062, "tbz x2, #63, .+12", CS_CONDITIONAL},
      {0xD61F0200, "br x16", CS_INDIRECT},
      {0xD71F0822, "braa x1, x2", CS_INDIRECT},
      {0xD63F0100, "blr x8", CS_INDIRECT_CALL},
      {0xD63F087F, "blraaz x3", CS_INDIRECT_CALL},
      {0xD65F03C0, "ret", CS_RETURN},
      {0xD65F0BFF, "retaa", CS_RETURN},
      {0xD4000001, "svc #0", CS_OTHER},
      {0xD69F03E0, "eret", CS_OTHER},
      {0x8B020020, "add x0, x1, x2", CS_NOT_BRANCH},
      {0xA8C17BFD, "ldp x29, x30, [sp], #16: writes sp, not the pc", CS_NOT_BRANCH},
      {0x54000000 | (2u << 5) | 0xE, "b.al .+8", CS_CONDITIONAL},
  };
  Disassembler dis(Isa::aarch64);
  for (const K& k : ks) {
    uint8_t b[4] = {uint8_t(k.word), uint8_t(k.word >> 8), uint8_t(k.word >> 16), uint8_t(k.word >> 24)};
    Instruction in;
    in.pc = 0x400000;
    in.bytes = b;
    in.length = 4;
    in.next_pc = 0x500000;
    ChampSimRecord r = make_champsim_record(in, dis);
    SCOPED_TRACE(k.text);
    EXPECT_EQ(champsim_classify(r.destination_registers, r.source_registers), k.kind);
    EXPECT_EQ(r.is_branch, k.kind != CS_NOT_BRANCH ? 1 : 0);
  }
}

TEST(ConvertGolden, ChampSimAarch64Registers) {
  Disassembler dis(Isa::aarch64);
  auto record = [&](uint32_t w) {
    static uint8_t b[4];
    for (int i = 0; i < 4; ++i) b[i] = uint8_t(w >> (8 * i));
    Instruction in;
    in.pc = 0x400000;
    in.bytes = b;
    in.length = 4;
    in.next_pc = 0x400004;
    return make_champsim_record(in, dis);
  };
  // ldr x0, [x1, #8]!: reads x1, writes x0 and x1 (x_n is reg::kA64X0 + n).
  ChampSimRecord r = record(0xF8408C20);
  std::set<uint8_t> src(r.source_registers, r.source_registers + 4), dst(r.destination_registers,
                                                                          r.destination_registers + 2);
  EXPECT_EQ(src, (std::set<uint8_t>{0, reg::kA64X0 + 1}));
  EXPECT_EQ(dst, (std::set<uint8_t>{reg::kA64X0 + 0, reg::kA64X0 + 1}));
  // add sp, sp, #16 (0x910043FF): the stack pointer is ChampSim's 6 both ways.
  r = record(0x910043FF);
  EXPECT_EQ(r.source_registers[0], reg::kRsp);
  EXPECT_EQ(r.destination_registers[0], reg::kRsp);
  // subs w0, w1, w2 (0x6B020020) writes the flags; csel reads them.
  r = record(0x6B020020);
  EXPECT_TRUE(std::count(r.destination_registers, r.destination_registers + 2, reg::kFlags));
  r = record(0x9A82B020);
  EXPECT_TRUE(std::count(r.source_registers, r.source_registers + 4, reg::kFlags));
}

TEST(ConvertGolden, TejasRefusesAarch64WithOneLineAndNoFile) {
  ConsumerOptions o;
  o.isa = Isa::aarch64;
  const std::string path = ::testing::TempDir() + "/a64.tejas";
  std::remove(path.c_str());
  for (OutputFormat f : {OutputFormat::Tejas, OutputFormat::TejasGz}) {
    std::string err;
    EXPECT_EQ(open_consumer(f, path, o, &err), nullptr);
    EXPECT_NE(err.find("x86-only"), std::string::npos) << err;
    EXPECT_NE(err.find("aarch64"), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    EXPECT_NE(::access(path.c_str(), F_OK), 0) << "no file left behind";
    std::vector<uint8_t> out;
    auto c = make_consumer(f, std::make_unique<MemorySink>(&out, "m"), o);
    EXPECT_TRUE(c->failed());
    EXPECT_FALSE(c->finish());
    EXPECT_TRUE(out.empty());
  }
  for (Isa isa : {Isa::x86_64, Isa::i386})
    EXPECT_EQ(output_format_isa_problem(OutputFormat::Tejas, isa), "");
  for (OutputFormat f : {OutputFormat::Binary, OutputFormat::ChampSim, OutputFormat::Din, OutputFormat::Text})
    EXPECT_EQ(output_format_isa_problem(f, Isa::aarch64), "");
}

TEST(ConvertGolden, TextAarch64) {
  const uint8_t add[4] = {0x20, 0x00, 0x02, 0x8B};  // add x0, x1, x2
  const uint8_t ldr[4] = {0x20, 0x00, 0x40, 0xF9};  // ldr x0, [x1]
  MemAccess acc;
  acc.vaddr = 0x7ffd0008;
  acc.size = 8;
  Instruction a;
  a.pc = 0xffff800010001000;
  a.bytes = add;
  a.length = 4;
  a.cpl = 0;
  a.level = level::of_cpl(0);
  a.core = 3;
  Instruction l;
  l.pc = 0x400000;
  l.bytes = ldr;
  l.length = 4;
  l.cpl = 3;
  l.level = level::of_cpl(3);
  l.core = 3;
  l.index = 1;
  l.accesses = &acc;
  l.access_count = 1;
  Disassembler dis(Isa::aarch64);
  std::string out;
  format_text_instruction(a, dis, 0, &out);
  format_text_instruction(l, dis, 0, &out);
  EXPECT_EQ(out,
            "3 0 0xffff800010001000 K 2000028b add x0, x1, x2\n"
            "3 1 0x400000 U 200040f9 ldr x0, [x1]\n"
            "  R 0x7ffd0008 8\n");
}

TEST(ConvertGolden, OutputFormatNamesAndPaths) {
  OutputFormat f;
  ASSERT_TRUE(parse_output_format("file", &f));
  EXPECT_EQ(f, OutputFormat::Tejas);
  for (auto [name, fmt] : {std::pair{"binary", OutputFormat::Binary},
                           {"tejas", OutputFormat::Tejas},
                           {"champsim", OutputFormat::ChampSim},
                           {"champsim-gz", OutputFormat::ChampSimGz},
                           {"din", OutputFormat::Din},
                           {"text", OutputFormat::Text}}) {
    ASSERT_TRUE(parse_output_format(name, &f)) << name;
    EXPECT_EQ(f, fmt);
    EXPECT_EQ(output_format_name(fmt), name);
  }
  EXPECT_FALSE(parse_output_format("pin", &f));
  EXPECT_FALSE(parse_output_format("", &f));
  EXPECT_EQ(core_file_path("/t/run", 0, OutputFormat::Binary), "/t/run_0");
  EXPECT_EQ(core_file_path("/t/run", 3, OutputFormat::Tejas), "/t/run_3");
  EXPECT_EQ(core_file_path("/t/run", 1, OutputFormat::ChampSim), "/t/run_1.champsimtrace.xz");
  EXPECT_EQ(core_file_path("/t/run", 1, OutputFormat::ChampSimGz), "/t/run_1.champsimtrace.gz");
  EXPECT_EQ(core_file_path("/t/run", 2, OutputFormat::Din), "/t/run_2.din");
  EXPECT_EQ(core_file_path("/t/run", 12, OutputFormat::Text), "/t/run_12.txt");
}

TEST(ConvertGolden, WriteErrorsAreReported) {
  for (OutputFormat f :
       {OutputFormat::Tejas, OutputFormat::ChampSim, OutputFormat::Din, OutputFormat::Text}) {
    std::vector<uint8_t> out;
    auto sink = std::make_unique<MemorySink>(&out, "full.out");
    sink->set_capacity(10);
    ConsumerOptions o;
    auto c = make_consumer(f, std::move(sink), o);
    auto s = stream();
    Built b = build(s, 0);
    for (const Instruction& in : b.insns) c->consume(in);
    EXPECT_FALSE(c->finish());
    EXPECT_TRUE(c->failed());
    EXPECT_NE(c->error().find("full.out"), std::string::npos) << c->error();
    EXPECT_EQ(c->error().find('\n'), std::string::npos);
  }
  std::string err;
  EXPECT_EQ(open_consumer(OutputFormat::Din, "/nonexistent-dir/x.din", ConsumerOptions{}, &err),
            nullptr);
  EXPECT_NE(err.find("/nonexistent-dir/x.din"), std::string::npos) << err;
}

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, size_t capacity = 1u << 20) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::vector<uint8_t> out(capacity);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

// A conditional branch followed by an interrupt: its next_pc is the
// handler, neither fall-through nor target. The DISCONTINUITY marker on the
// handler's first instruction says so, and the branch is written not taken
// (Tejas: 5 with the decoded target; ChampSim: branch_taken 0, so ChampSim
// does not take the handler as the target). The same branch followed by
// its target without a marker is taken.
TEST(ConvertGolden, BranchBeforeDiscontinuityIsNotTaken) {
  Marker disc;
  disc.kind = MarkerKind::Discontinuity;
  disc.source = MarkerSource::Interrupt;
  disc.value = 0x401000;
  const uint64_t handler = 0xffffffff81a00000ull;
  for (bool interrupted : {true, false}) {
    SCOPED_TRACE(interrupted ? "interrupted" : "taken");
    std::vector<Spec> s = {
        // jne +0x10 at 0x401000: target 0x401012
        {0x401000, {0x75, 0x10}, 3, {}, {}, "jne 0x401012", CS_CONDITIONAL, 0x401012, {IP, FL}, {IP}},
        {interrupted ? handler : 0x401012, {0x90}, interrupted ? uint8_t(0) : uint8_t(3), {}, {},
         "nop", CS_NOT_BRANCH, 0, {}, {}},
    };
    if (interrupted) s[1].markers = {disc};
    std::string tejas = as_string(run(OutputFormat::Tejas, s, 0));
    const std::string line = interrupted ? "4198400 5 4198418\n" : "4198400 4 4198418\n";
    EXPECT_NE(tejas.find(line), std::string::npos) << tejas;
    std::vector<uint8_t> xz = run(OutputFormat::ChampSim, s, 0);
    std::vector<uint8_t> raw = unxz(xz);
    ASSERT_EQ(raw.size(), 128u);
    EXPECT_EQ(raw[8], 1) << "is_branch";
    EXPECT_EQ(raw[9], interrupted ? 0 : 1) << "branch_taken";
  }
}

TEST(ConvertGolden, TejasPrefixWithoutOperandsDropped) {
  // f3 c3: repz ret. "repz ret" would make Tejas' tokenizer throw.
  std::vector<Spec> s = {{0x1000, {0xf3, 0xc3}, 3, {}, {}, "", CS_RETURN, 0, {}, {}}};
  std::string got = as_string(run(OutputFormat::Tejas, s, 0));
  EXPECT_EQ(got.substr(0, got.find('\n')), "4096 27 ret");
}

TEST(ConvertGolden, TejasGzIsTejasGzipped) {
  auto s = stream();
  std::string plain = as_string(run(OutputFormat::Tejas, s, 0));
  std::vector<uint8_t> gz = run(OutputFormat::TejasGz, s, 0);
  ASSERT_GE(gz.size(), 18u);
  EXPECT_EQ(gz[0], 0x1f);
  EXPECT_EQ(gz[1], 0x8b);
  EXPECT_EQ(as_string(gunzip(gz)), plain);
}

// Several MiB of Tejas text (many buffer drains) from instructions that
// defeat any per-PC cache: thousands of PCs, a PC whose bytes change, an
// instruction with 12,000 accesses, every decimal length and sign for PCs,
// addresses and branch targets. Expected bytes from std::to_string.
std::vector<Spec> tejas_stress_stream() {
  const std::vector<uint8_t> kStore = {0x48, 0x89, 0x18};  // mov QWORD PTR [rax], rbx
  const std::vector<uint8_t> kMove = {0x48, 0x89, 0xc3};   // mov rbx, rax
  std::vector<uint64_t> numbers = {0, 1, 0x7fffffffffffffffull, 0x8000000000000000ull,
                                   0x8000000000000001ull, ~0ull, 0xffffffff81000000ull};
  for (uint64_t p = 1; p <= 1000000000000000000ull; p *= 10)
    for (uint64_t d : {uint64_t(0), uint64_t(1), uint64_t(9)})
      for (uint64_t v : {p - 1, p, p + 1, p * 9 + d}) numbers.push_back(v);
  for (uint64_t p = 1; p <= 1000000000000000000ull; p *= 10) numbers.push_back(0 - p);  // negative
  std::vector<Spec> s;
  auto add = [&](uint64_t pc, const std::vector<uint8_t>& bytes, std::string text, CsBranch kind,
                 uint64_t target, std::vector<Acc> acc) {
    s.push_back({pc, bytes, 3, std::move(acc), {}, std::move(text), kind, target, {}, {}});
  };
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  auto next_random = [&] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  for (int i = 0; i < 60000; ++i) {
    const uint64_t pc = 0x400000 + uint64_t(i % 20000) * 5;
    std::vector<Acc> acc;
    for (int k = 0; k < i % 3; ++k) acc.push_back({numbers[next_random() % numbers.size()], 8, k == 1});
    switch (i % 7) {
      case 3: {
        // jne +2: target pc + 4; what follows decides taken or not.
        add(pc, {0x75, 0x02}, "jne 0x" + hex(pc + 4), CS_CONDITIONAL, pc + 4, {});
        break;
      }
      case 5: add(pc, {0xc3}, "ret", CS_RETURN, 0, {{numbers[i % numbers.size()], 8, false}}); break;
      case 6: add(pc, kMove, "mov rbx, rax", CS_NOT_BRANCH, 0, acc); break;  // same PC as a store
      default: add(pc, kStore, "mov QWORD PTR [rax], rbx", CS_NOT_BRANCH, 0, acc); break;
    }
  }
  // PCs of every length and sign, each followed by a random successor.
  for (uint64_t pc : numbers) add(pc, kStore, "mov QWORD PTR [rax], rbx", CS_NOT_BRANCH, 0, {{pc, 8, true}});
  // jne +2 at PCs of every length, taken to its target, then not taken.
  for (uint64_t pc : numbers) {
    if (pc < 2 || pc > 0x7fffffffffff0000ull) continue;
    add(pc, {0x75, 0x02}, "jne 0x" + hex(pc + 4), CS_CONDITIONAL, pc + 4, {});
    add(pc + 4, kMove, "mov rbx, rax", CS_NOT_BRANCH, 0, {});
    add(pc, {0x75, 0x02}, "jne 0x" + hex(pc + 4), CS_CONDITIONAL, pc + 4, {});
    add(pc + 2, kMove, "mov rbx, rax", CS_NOT_BRANCH, 0, {});
  }
  // More accesses than the converter's buffer holds lines for.
  std::vector<Acc> many;
  for (int k = 0; k < 12000; ++k) many.push_back({numbers[k % numbers.size()], 8, k % 3 == 0});
  add(0xffffffff81001000ull, kStore, "mov QWORD PTR [rax], rbx", CS_NOT_BRANCH, 0, many);
  add(0x401000, {0xc3}, "ret", CS_RETURN, 0, {});
  return s;
}

TEST(ConvertGolden, TejasStressMatchesIndependentFormatting) {
  const std::vector<Spec> s = tejas_stress_stream();
  const std::string expect = tejas_expected(s);
  ASSERT_GT(expect.size(), 3u << 20);  // several drains of 1 MiB
  const std::string got = as_string(run(OutputFormat::Tejas, s, 0));
  ASSERT_EQ(got.size(), expect.size());
  EXPECT_TRUE(got == expect) << "first difference at byte "
                             << std::mismatch(got.begin(), got.end(), expect.begin()).first - got.begin();
  EXPECT_NE(got.find(" 3 -9223372036854775808\n"), std::string::npos);
  EXPECT_NE(got.find(" 2 9223372036854775807\n"), std::string::npos);
  EXPECT_NE(got.find(" 2 -1\n"), std::string::npos);
  EXPECT_NE(got.find(" 3 0\n"), std::string::npos);
  std::vector<uint8_t> gz = run(OutputFormat::TejasGz, s, 0);
  EXPECT_TRUE(as_string(gunzip(gz, expect.size() + 1)) == expect);
}

// champsim-gz holds exactly the records of champsim (whose bytes the
// ChampSim tests above check field by field), gzip'd: the stress stream's
// thousands of records, through two independent decoders.
TEST(ConvertGolden, ChampSimGzIsChampSimRecordsGzipped) {
  const std::vector<Spec> s = tejas_stress_stream();
  std::vector<uint8_t> gz = run(OutputFormat::ChampSimGz, s, 0);
  ASSERT_GE(gz.size(), 18u);
  EXPECT_EQ(gz[0], 0x1f);
  EXPECT_EQ(gz[1], 0x8b);
  const size_t records = 64 * s.size();
  std::vector<uint8_t> plain = gunzip(gz, records + 1);
  ASSERT_EQ(plain.size(), records);
  std::vector<uint8_t> xz = run(OutputFormat::ChampSim, s, 0);
  lzma_stream strm = LZMA_STREAM_INIT;
  ASSERT_EQ(lzma_stream_decoder(&strm, UINT64_MAX, 0), LZMA_OK);
  std::vector<uint8_t> from_xz(records + 1);
  strm.next_in = xz.data();
  strm.avail_in = xz.size();
  strm.next_out = from_xz.data();
  strm.avail_out = from_xz.size();
  EXPECT_EQ(lzma_code(&strm, LZMA_FINISH), LZMA_STREAM_END);
  from_xz.resize(from_xz.size() - strm.avail_out);
  lzma_end(&strm);
  EXPECT_TRUE(plain == from_xz);
  EXPECT_EQ(le64(plain.data()), s[0].pc);
  EXPECT_EQ(le64(plain.data() + 64 * (s.size() - 1)), s.back().pc);
}

}  // namespace
}  // namespace qemutrace
