// Constants of the on-disk format. docs/trace-format.md is the specification;
// this header only names its numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace qemutrace {

inline constexpr uint16_t kFormatVersion = 2;
inline constexpr uint16_t kMinReaderVersion = 1;

inline constexpr uint8_t kFileMagic[8] = {0x89, 'Q', 'T', 'R', 'C', '\r', '\n', 0x1a};
inline constexpr uint32_t kChunkMagic = 0x4B435451;   // "QTCK"
inline constexpr uint32_t kIndexMagic = 0x58495451;   // "QTIX"
inline constexpr uint32_t kFooterMagic = 0x54465451;  // "QTFT"

inline constexpr size_t kFileHeaderSize = 64;
inline constexpr size_t kChunkHeaderSize = 48;
inline constexpr size_t kIndexHeaderSize = 16;
inline constexpr size_t kIndexEntrySize = 40;
inline constexpr size_t kFooterSize = 32;

inline constexpr uint32_t kMaxRawChunk = 64u << 20;
inline constexpr uint32_t kMaxBlockInsns = 4096;
// log2 of the page size (header page_shift): physical-address prediction
// and the x86 4 KiB page the tracer translates by.
inline constexpr uint8_t kPageShift = 12;
inline constexpr uint32_t kMaxBlocksPerChunk = 1u << 20;
inline constexpr uint32_t kMaxAccessesPerExec = 1u << 22;
inline constexpr uint32_t kMaxInsnLength = 15;
inline constexpr unsigned kPhysTableBits = 16;
inline constexpr unsigned kTimestampEvery = 16384;

enum class Isa : uint8_t { x86_64 = 1, i386 = 2, aarch64 = 3 };
std::string_view isa_name(Isa isa);
bool parse_isa(std::string_view name, Isa* out);

namespace feature {
inline constexpr uint64_t kPhysAddr = 1u << 0;
inline constexpr uint64_t kValues = 1u << 1;
inline constexpr uint64_t kKernel = 1u << 2;
inline constexpr uint64_t kAsid = 1u << 3;
inline constexpr uint64_t kTimestamps = 1u << 4;
inline constexpr uint64_t kPhysPc = 1u << 5;
inline constexpr uint64_t kLevel = 1u << 6;  // STATE carries a level byte (version 2)
// Every bit this version defines (all change what is encoded).
inline constexpr uint64_t kKnownMask = 0x7F;
// Bits 0..15 are required: a reader refuses a file with one it does not know.
// Bits 16..63 are optional hints that a reader may ignore.
inline constexpr uint64_t kRequiredMask = 0xFFFF;
inline constexpr uint64_t kOptionalMask = ~kRequiredMask;
// Required bits a reader of this version cannot read (0: none).
inline constexpr uint64_t unknown_required(uint64_t features) { return features & kRequiredMask & ~kKnownMask; }
}  // namespace feature

// The STATE record's level byte (feature::kLevel): who the instructions
// that follow belong to. Without kLevel it is derived from the cpl.
namespace level {
inline constexpr uint8_t kKernel = 0;  // bits 0-1: the privilege
inline constexpr uint8_t kUser = 1;
inline constexpr uint8_t kHypervisor = 2;
inline constexpr uint8_t kPrivilegeMask = 3;
inline constexpr uint8_t kNested = 4;  // a level-2 guest (under an in-guest hypervisor)
inline constexpr uint8_t kKnownMask = 7;
// What a file without kLevel means: cpl 0 is the kernel, the rest user.
constexpr uint8_t of_cpl(uint8_t cpl) { return cpl == 0 ? kKernel : kUser; }
constexpr uint8_t privilege(uint8_t lv) { return lv & kPrivilegeMask; }
// Null when `lv` is well formed, else what is wrong with it.
constexpr const char* problem(uint8_t lv) {
  return (lv & ~kKnownMask) ? "level has reserved bits set"
         : privilege(lv) == 3 ? "level privilege 3 is undefined" : nullptr;
}
// "kernel", "user" or "hypervisor" (the nesting bit is not named).
std::string_view privilege_name(uint8_t lv);
}  // namespace level

enum class RecordType : uint8_t {
  DefineBlock = 0x01,
  Exec = 0x02,
  ExecPartial = 0x03,
  State = 0x04,
  Marker = 0x05,
  Timestamp = 0x06,
  Successor = 0x07,
};

enum class MarkerKind : uint8_t {
  RoiBegin = 1,
  RoiEnd = 2,
  LimitReached = 3,
  Discontinuity = 4,
  TraceError = 5,
  SkipDone = 6,
};
inline constexpr uint8_t kMaxMarkerKind = 6;

enum class MarkerSource : uint8_t {
  None = 0,
  Console = 1,
  LegacyInt = 2,
  MagicNop = 3,
  Limit = 4,
  Window = 5,
  StartOption = 6,
  EndOfRun = 7,
  Exception = 8,
  Interrupt = 9,
};
inline constexpr uint8_t kMaxMarkerSource = 9;

std::string_view marker_kind_name(MarkerKind k);
std::string_view marker_source_name(MarkerSource s);

}  // namespace qemutrace
