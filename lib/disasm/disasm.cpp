// Decoding with Zydis 4 (x86) and Capstone (aarch64, disasm/aarch64_disasm.h):
// text, branch kind, registers read/written.
#include "qemutrace/disasm.h"

#include "disasm/aarch64_disasm.h"
#include "disasm/x86_branch.h"

#include <Zydis/Zydis.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace qemutrace {

std::string_view branch_kind_name(BranchKind k) {
  switch (k) {
    case BranchKind::None: return "none";
    case BranchKind::DirectJump: return "direct_jump";
    case BranchKind::IndirectJump: return "indirect_jump";
    case BranchKind::Conditional: return "conditional";
    case BranchKind::DirectCall: return "direct_call";
    case BranchKind::IndirectCall: return "indirect_call";
    case BranchKind::Return: return "return";
    case BranchKind::Other: return "other";
  }
  return "?";
}

namespace {

const std::array<std::string, 256>& id_names() {
  static const std::array<std::string, 256> names = [] {
    std::array<std::string, 256> n;
    const char* gpr[] = {"rdi", "rsi", "rbp", "rsp", "rbx", "rdx", "rcx", "rax"};
    for (int i = 0; i < 8; ++i) n[3 + i] = gpr[i];
    for (int i = 0; i < 8; ++i) n[reg::kR8 + i] = "r" + std::to_string(8 + i);
    const char* seg[] = {"cs", "ss", "ds", "es", "fs", "gs"};
    for (int i = 0; i < 6; ++i) n[reg::kCs + i] = seg[i];
    n[reg::kFlags] = "rflags";
    n[reg::kIp] = "rip";
    n[reg::kIndirectTarget] = "(indirect-target)";
    for (int i = 0; i < 32; ++i) n[reg::kVec0 + i] = "zmm" + std::to_string(i);
    for (int i = 0; i < 8; ++i) n[reg::kMask0 + i] = "k" + std::to_string(i);
    for (int i = 0; i < 8; ++i) n[reg::kX87_0 + i] = "st" + std::to_string(i);
    n[reg::kX87Control] = "x87control";
    n[reg::kX87Status] = "x87status";
    n[reg::kX87Tag] = "x87tag";
    n[reg::kMxcsr] = "mxcsr";
    for (int i = 0; i < 16; ++i) n[reg::kCr0 + i] = "cr" + std::to_string(i);
    for (int i = 0; i < 16; ++i) n[reg::kDr0 + i] = "dr" + std::to_string(i);
    n[reg::kGdtr] = "gdtr";
    n[reg::kIdtr] = "idtr";
    n[reg::kLdtr] = "ldtr";
    n[reg::kTr] = "tr";
    for (int i = 0; i < 4; ++i) n[reg::kBnd0 + i] = "bnd" + std::to_string(i);
    n[reg::kBndCfg] = "bndcfg";
    n[reg::kBndStatus] = "bndstatus";
    for (int i = 0; i < 8; ++i) n[reg::kTmm0 + i] = "tmm" + std::to_string(i);
    n[reg::kXcr0] = "xcr0";
    n[reg::kPkru] = "pkru";
    n[reg::kUif] = "uif";
    n[reg::kOtherSystem] = "(other-system)";
    for (int i = 0; i < 31; ++i) n[reg::kA64X0 + i] = "x" + std::to_string(i);
    for (int i = 0; i < 32; ++i) n[reg::kA64V0 + i] = "v" + std::to_string(i);
    return n;
  }();
  return names;
}

// Maps a Zydis register to our stable id (0 for none).
uint8_t map_register(ZydisRegister r) {
  if (r == ZYDIS_REGISTER_NONE) return 0;
  ZydisRegisterClass cls = ZydisRegisterGetClass(r);
  int id = ZydisRegisterGetId(r);
  switch (cls) {
    case ZYDIS_REGCLASS_GPR8:
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64: {
      ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
      switch (big) {
        case ZYDIS_REGISTER_RDI: return reg::kRdi;
        case ZYDIS_REGISTER_RSI: return reg::kRsi;
        case ZYDIS_REGISTER_RBP: return reg::kRbp;
        case ZYDIS_REGISTER_RSP: return reg::kRsp;
        case ZYDIS_REGISTER_RBX: return reg::kRbx;
        case ZYDIS_REGISTER_RDX: return reg::kRdx;
        case ZYDIS_REGISTER_RCX: return reg::kRcx;
        case ZYDIS_REGISTER_RAX: return reg::kRax;
        default:
          if (big >= ZYDIS_REGISTER_R8 && big <= ZYDIS_REGISTER_R15)
            return static_cast<uint8_t>(reg::kR8 + (big - ZYDIS_REGISTER_R8));
          return reg::kOtherSystem;
      }
    }
    case ZYDIS_REGCLASS_FLAGS: return reg::kFlags;
    case ZYDIS_REGCLASS_IP: return reg::kIp;
    case ZYDIS_REGCLASS_SEGMENT:
      switch (r) {
        case ZYDIS_REGISTER_CS: return reg::kCs;
        case ZYDIS_REGISTER_SS: return reg::kSs;
        case ZYDIS_REGISTER_DS: return reg::kDs;
        case ZYDIS_REGISTER_ES: return reg::kEs;
        case ZYDIS_REGISTER_FS: return reg::kFs;
        case ZYDIS_REGISTER_GS: return reg::kGs;
        default: return reg::kOtherSystem;
      }
    case ZYDIS_REGCLASS_X87:
    case ZYDIS_REGCLASS_MMX:
      if (id >= 0 && id < 8) return static_cast<uint8_t>(reg::kX87_0 + id);
      return reg::kOtherSystem;
    case ZYDIS_REGCLASS_XMM:
    case ZYDIS_REGCLASS_YMM:
    case ZYDIS_REGCLASS_ZMM:
      if (id >= 0 && id < 32) return static_cast<uint8_t>(reg::kVec0 + id);
      return reg::kOtherSystem;
    case ZYDIS_REGCLASS_TMM:
      if (id >= 0 && id < 8) return static_cast<uint8_t>(reg::kTmm0 + id);
      return reg::kOtherSystem;
    case ZYDIS_REGCLASS_MASK:
      if (id >= 0 && id < 8) return static_cast<uint8_t>(reg::kMask0 + id);
      return reg::kOtherSystem;
    case ZYDIS_REGCLASS_CONTROL:
      if (id >= 0 && id < 16) return static_cast<uint8_t>(reg::kCr0 + id);
      return reg::kOtherSystem;
    case ZYDIS_REGCLASS_DEBUG:
      if (id >= 0 && id < 16) return static_cast<uint8_t>(reg::kDr0 + id);
      return reg::kOtherSystem;
    case ZYDIS_REGCLASS_BOUND:
      if (id >= 0 && id < 4) return static_cast<uint8_t>(reg::kBnd0 + id);
      return reg::kOtherSystem;
    default: break;
  }
  switch (r) {
    case ZYDIS_REGISTER_X87CONTROL: return reg::kX87Control;
    case ZYDIS_REGISTER_X87STATUS: return reg::kX87Status;
    case ZYDIS_REGISTER_X87TAG: return reg::kX87Tag;
    case ZYDIS_REGISTER_MXCSR: return reg::kMxcsr;
    case ZYDIS_REGISTER_GDTR: return reg::kGdtr;
    case ZYDIS_REGISTER_IDTR: return reg::kIdtr;
    case ZYDIS_REGISTER_LDTR: return reg::kLdtr;
    case ZYDIS_REGISTER_TR: return reg::kTr;
    case ZYDIS_REGISTER_BNDCFG: return reg::kBndCfg;
    case ZYDIS_REGISTER_BNDSTATUS: return reg::kBndStatus;
    case ZYDIS_REGISTER_XCR0: return reg::kXcr0;
    case ZYDIS_REGISTER_PKRU: return reg::kPkru;
    case ZYDIS_REGISTER_UIF: return reg::kUif;
    default: return reg::kOtherSystem;
  }
}

void add_id(uint8_t* list, uint8_t* count, uint8_t id) {
  if (id == 0) return;
  for (uint8_t i = 0; i < *count; ++i)
    if (list[i] == id) return;
  if (*count < 24) list[(*count)++] = id;
}

struct CacheKey {
  uint64_t pc;
  uint8_t len;
  uint8_t bytes[15];
  bool operator==(const CacheKey& o) const {
    return pc == o.pc && len == o.len && std::memcmp(bytes, o.bytes, len) == 0;
  }
};
struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const {
    // FNV-1a over pc and bytes.
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
    for (int i = 0; i < 8; ++i) mix(static_cast<uint8_t>(k.pc >> (8 * i)));
    mix(k.len);
    for (uint8_t i = 0; i < k.len; ++i) mix(k.bytes[i]);
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

constexpr size_t kMaxCacheEntries = 1u << 20;

// "qword ptr [" -> "QWORD PTR [", as objdump -Mintel prints it (Zydis 4.0
// ignores its UPPERCASE_TYPECASTS property for the Intel style).
void uppercase_typecasts(std::string* t) {
  size_t pos = 0;
  while ((pos = t->find(" ptr ", pos)) != std::string::npos) {
    size_t b = pos;
    while (b > 0 && std::isalpha(static_cast<unsigned char>((*t)[b - 1]))) --b;
    for (size_t i = b; i < pos + 4; ++i)
      (*t)[i] = static_cast<char>(std::toupper(static_cast<unsigned char>((*t)[i])));
    pos += 5;
  }
}

// ---- objdump's names where Zydis's differ ----------------------------------
// Zydis prints canonical Intel mnemonics; GNU objdump (whose -Mintel output
// Tejas' translator was written against) prefers other aliases. The list
// comes from comparing both on busybox, libc, python and QEMU
// (tests/unit/disasm_test.cpp checks it against objdump itself).

// Condition suffixes objdump prints differently (jz -> je, setnbe -> seta).
std::string_view objdump_condition(std::string_view cc) {
  if (cc == "z") return "e";
  if (cc == "nz") return "ne";
  if (cc == "nbe") return "a";
  if (cc == "nb") return "ae";
  if (cc == "nle") return "g";
  if (cc == "nl") return "ge";
  return cc;
}

// objdump's mnemonic for a Zydis one, or "" when they agree.
std::string objdump_mnemonic(const ZydisDecodedInstruction& in, std::string_view m) {
  for (std::string_view head : {"cmov", "set", "j"}) {
    if (m.size() > head.size() && m.substr(0, head.size()) == head &&
        (in.meta.category == ZYDIS_CATEGORY_COND_BR || in.meta.category == ZYDIS_CATEGORY_CMOV ||
         in.meta.category == ZYDIS_CATEGORY_SETCC)) {
      std::string_view cc = objdump_condition(m.substr(head.size()));
      if (cc != m.substr(head.size())) return std::string(head) + std::string(cc);
      return "";
    }
  }
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_PUSHFQ: return "pushf";
    case ZYDIS_MNEMONIC_POPFQ: return "popf";
    case ZYDIS_MNEMONIC_IRETD: return "iret";
    case ZYDIS_MNEMONIC_SYSRET: return in.operand_width == 64 ? "sysretq" : "sysretd";
    default: break;
  }
  // mov with a 64-bit immediate or a 64-bit absolute address (moffs).
  if (in.mnemonic == ZYDIS_MNEMONIC_MOV && in.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT &&
      in.machine_mode == ZYDIS_MACHINE_MODE_LONG_64 &&
      ((in.opcode >= 0xb8 && in.opcode <= 0xbf && in.operand_width == 64) ||
       (in.opcode >= 0xa0 && in.opcode <= 0xa3)))
    return "movabs";
  return "";
}

// String instructions: objdump names the operation without its size suffix
// and prints the implicit operands (`rep movs QWORD PTR es:[rdi], QWORD PTR
// ds:[rsi]`); Zydis prints `rep movsq`, which Tejas cannot tokenize.
// Returns false if the instruction is not a string instruction.
bool format_string_op(const ZydisDecodedInstruction& in, const ZydisDecodedOperand* ops,
                      std::string* out) {
  if (in.opcode_map != ZYDIS_OPCODE_MAP_DEFAULT) return false;
  const char* op = nullptr;
  switch (in.opcode) {
    case 0x6c: case 0x6d: op = "ins"; break;
    case 0x6e: case 0x6f: op = "outs"; break;
    case 0xa4: case 0xa5: op = "movs"; break;
    case 0xa6: case 0xa7: op = "cmps"; break;
    case 0xaa: case 0xab: op = "stos"; break;
    case 0xac: case 0xad: op = "lods"; break;
    case 0xae: case 0xaf: op = "scas"; break;
    default: return false;
  }
  const std::string_view name = op;
  const unsigned w = in.operand_width;
  const char* size = w == 8 ? "BYTE" : w == 16 ? "WORD" : w == 32 ? "DWORD" : "QWORD";
  const char* acc = w == 8 ? "al" : w == 16 ? "ax" : w == 32 ? "eax" : "rax";
  const unsigned a = in.address_width;
  const char* di = a == 64 ? "rdi" : a == 32 ? "edi" : "di";
  const char* si = a == 64 ? "rsi" : a == 32 ? "esi" : "si";
  // The source segment can be overridden; es:[rdi] cannot.
  std::string src_seg = "ds";
  for (uint8_t i = 0; i < in.operand_count; ++i)
    if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].mem.segment != ZYDIS_REGISTER_ES &&
        ops[i].mem.segment != ZYDIS_REGISTER_NONE)
      src_seg = ZydisRegisterGetString(ops[i].mem.segment);
  const std::string dst = std::string(size) + " PTR es:[" + di + "]";
  const std::string src = std::string(size) + " PTR " + src_seg + ":[" + si + "]";
  out->clear();
  if (in.attributes & ZYDIS_ATTRIB_HAS_REPNE) *out = "repnz ";
  else if (in.attributes & ZYDIS_ATTRIB_HAS_REPE) *out = "repz ";
  else if (in.attributes & ZYDIS_ATTRIB_HAS_REP) *out = "rep ";
  *out += name;
  out->push_back(' ');
  if (name == "movs") *out += dst + ", " + src;
  else if (name == "cmps") *out += src + ", " + dst;
  else if (name == "stos") *out += dst + ", " + acc;
  else if (name == "lods") *out += std::string(acc) + ", " + src;
  else if (name == "scas") *out += std::string(acc) + ", " + dst;
  else if (name == "ins") *out += dst + ", dx";
  else *out += "dx, " + src;  // outs
  return true;
}

}  // namespace

std::string_view register_id_name(uint8_t id) { return id_names()[id]; }

bool DecodedInsn::reads_reg(uint8_t id) const {
  for (uint8_t i = 0; i < read_count; ++i)
    if (reads[i] == id) return true;
  return false;
}
bool DecodedInsn::writes_reg(uint8_t id) const {
  for (uint8_t i = 0; i < write_count; ++i)
    if (writes[i] == id) return true;
  return false;
}

struct Disassembler::Impl {
  Isa isa;
  ZydisDecoder decoder;
  ZydisFormatter formatter;
  std::unique_ptr<A64Decoder> a64;  // aarch64 only
  std::unordered_map<CacheKey, DecodedInsn, CacheKeyHash> cache;
  // In front of `cache`: one entry per PC hash, checked against the whole
  // key, pointing into `cache` (whose nodes never move). A trace's hot PCs
  // are found without hashing their bytes.
  struct Recent {
    uint64_t pc = 0;
    uint8_t key[16] = {};  // length, then the bytes, zero-padded
    const DecodedInsn* d = nullptr;
  };
  static constexpr size_t kRecent = 8192;
  std::vector<Recent> recent = std::vector<Recent>(kRecent);
  DecodedInsn scratch;
  uint64_t hits = 0, misses = 0;

  void decode_into(uint64_t pc, const uint8_t* bytes, size_t length, DecodedInsn* out);
};

Disassembler::Disassembler(Isa isa) : impl_(std::make_unique<Impl>()) {
  impl_->isa = isa;
  if (isa == Isa::aarch64) impl_->a64 = std::make_unique<A64Decoder>();
  if (isa == Isa::i386) {
    ZydisDecoderInit(&impl_->decoder, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
  } else {
    ZydisDecoderInit(&impl_->decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  }
  ZydisFormatter* f = &impl_->formatter;
  ZydisFormatterInit(f, ZYDIS_FORMATTER_STYLE_INTEL);
  ZydisFormatterSetProperty(f, ZYDIS_FORMATTER_PROP_FORCE_SIZE, ZYAN_TRUE);
  ZydisFormatterSetProperty(f, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
  ZydisFormatterSetProperty(f, ZYDIS_FORMATTER_PROP_DISP_PADDING, ZYDIS_PADDING_DISABLED);
  ZydisFormatterSetProperty(f, ZYDIS_FORMATTER_PROP_IMM_PADDING, ZYDIS_PADDING_DISABLED);
  ZydisFormatterSetProperty(f, ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE,
                            ZYDIS_PADDING_DISABLED);
  ZydisFormatterSetProperty(f, ZYDIS_FORMATTER_PROP_ADDR_PADDING_RELATIVE,
                            ZYDIS_PADDING_DISABLED);
  // objdump: `[rip+0x2f0e]`, not the absolute address.
  ZydisFormatterSetProperty(f, ZYDIS_FORMATTER_PROP_FORCE_RELATIVE_RIPREL, ZYAN_TRUE);
}

Disassembler::~Disassembler() = default;
Isa Disassembler::isa() const { return impl_->isa; }
uint64_t Disassembler::cache_hits() const { return impl_->hits; }
uint64_t Disassembler::cache_misses() const { return impl_->misses; }

const DecodedInsn& Disassembler::decode(uint64_t pc, const uint8_t* bytes, size_t length) {
  if (length > 15) length = 15;
  uint8_t packed[16] = {};
  packed[0] = static_cast<uint8_t>(length);
  if (length) std::memcpy(packed + 1, bytes, length);
  Impl::Recent& r = impl_->recent[(pc ^ (pc >> 13)) & (Impl::kRecent - 1)];
  if (r.d && r.pc == pc && std::memcmp(r.key, packed, 16) == 0) {
    ++impl_->hits;
    return *r.d;
  }
  CacheKey key{};
  key.pc = pc;
  key.len = static_cast<uint8_t>(length);
  if (length) std::memcpy(key.bytes, bytes, length);
  auto it = impl_->cache.find(key);
  if (it == impl_->cache.end()) {
    ++impl_->misses;
    if (impl_->cache.size() >= kMaxCacheEntries) {
      impl_->cache.clear();
      std::fill(impl_->recent.begin(), impl_->recent.end(), Impl::Recent{});
    }
    DecodedInsn d;
    impl_->decode_into(pc, bytes, length, &d);
    it = impl_->cache.emplace(key, std::move(d)).first;
  } else {
    ++impl_->hits;
  }
  r.pc = pc;
  std::memcpy(r.key, packed, 16);
  r.d = &it->second;
  return it->second;
}

void Disassembler::Impl::decode_into(uint64_t pc, const uint8_t* bytes, size_t length,
                                     DecodedInsn* out) {
  if (a64) return a64->decode(pc, bytes, length, out);
  *out = DecodedInsn{};
  out->length = static_cast<uint8_t>(length);
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (length == 0 || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, bytes, length, &in, ops))) {
    out->text = "(bad)";
    return;
  }
  out->valid = true;
  out->length = in.length;
  char buf[256];
  if (format_string_op(in, ops, &out->text)) {
    out->rep_string = (in.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) != 0;
  } else if (in.mnemonic == ZYDIS_MNEMONIC_NOP && in.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT &&
             in.opcode == 0x90 && in.operand_width == 16) {
    out->text = "xchg ax, ax";  // 66 90, as objdump names it
  } else if (ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&formatter, &in, ops, in.operand_count_visible,
                                                          buf, sizeof buf, pc, nullptr))) {
    out->text = buf;
    uppercase_typecasts(&out->text);
    // objdump prints one operand for the multi-byte NOP (`nop DWORD PTR
    // [rax+rax*1]`), Zydis also the ModRM register.
    if (in.mnemonic == ZYDIS_MNEMONIC_NOP) {
      size_t comma = out->text.find(", ");
      if (comma != std::string::npos) out->text.resize(comma);
    }
    std::string_view zm = ZydisMnemonicGetString(in.mnemonic);
    std::string om = objdump_mnemonic(in, zm);
    if (!om.empty()) {
      // The mnemonic follows the printed prefixes (lock, rep, bnd, ...).
      size_t at = 0;
      while (at < out->text.size()) {
        size_t end = out->text.find(' ', at);
        if (end == std::string::npos) end = out->text.size();
        if (std::string_view(out->text).substr(at, end - at) == zm) {
          out->text.replace(at, zm.size(), om);
          break;
        }
        at = end + 1;
      }
    }
  } else {
    out->text = "(bad)";
  }

  bool has_reg_or_mem_target = false;
  bool mem_target_other_reg = false;
  for (uint8_t i = 0; i < in.operand_count; ++i) {
    const ZydisDecodedOperand& o = ops[i];
    if (o.type == ZYDIS_OPERAND_TYPE_REGISTER) {
      uint8_t id = map_register(o.reg.value);
      if (o.actions & ZYDIS_OPERAND_ACTION_MASK_READ) add_id(out->reads, &out->read_count, id);
      if (o.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) add_id(out->writes, &out->write_count, id);
      if (id == reg::kFlags && (o.actions & ZYDIS_OPERAND_ACTION_MASK_READ))
        out->reads_flags = true;
      if (id == reg::kFlags && (o.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
        out->writes_flags = true;
      if (o.visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT && id != reg::kIp)
        has_reg_or_mem_target = true;
    } else if (o.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      uint8_t b = map_register(o.mem.base);
      uint8_t x = map_register(o.mem.index);
      // Address registers are read (lea included); the segment too, when
      // it is not the default flat one it still does not matter for
      // dependencies, so only base and index are recorded.
      add_id(out->reads, &out->read_count, b);
      add_id(out->reads, &out->read_count, x);
      if (o.visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT) {
        has_reg_or_mem_target = true;
        if ((b != 0 && b != reg::kIp) || (x != 0 && x != reg::kIp)) mem_target_other_reg = true;
      }
    }
  }
  if (in.cpu_flags) {
    if (in.cpu_flags->tested) out->reads_flags = true;
    if (in.cpu_flags->modified | in.cpu_flags->set_0 | in.cpu_flags->set_1 |
        in.cpu_flags->undefined)
      out->writes_flags = true;
  }
  if (out->reads_flags) add_id(out->reads, &out->read_count, reg::kFlags);
  if (out->writes_flags) add_id(out->writes, &out->write_count, reg::kFlags);

  X86Branch br = classify_x86_branch(in, ops, pc);
  out->branch = br.kind;
  out->has_target = br.has_target;
  out->target = br.target;
  if ((out->branch == BranchKind::IndirectJump || out->branch == BranchKind::IndirectCall) &&
      has_reg_or_mem_target && !mem_target_other_reg) {
    // Target register operand counts as "other"; only memory-only forms
    // (absolute or IP-relative address) lack one.
    bool reg_target = false;
    for (uint8_t i = 0; i < in.operand_count; ++i)
      if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
          ops[i].visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
        reg_target = true;
    if (!reg_target) out->indirect_via_memory_only = true;
  }
}

}  // namespace qemutrace
