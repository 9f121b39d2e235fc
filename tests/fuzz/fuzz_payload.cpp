// Fuzz target: the record decoder on raw chunk payloads, with no checksum
// or compression in front of it to reject mutated input first. Input:
// [features u8][insn_count u32][record_count u32] then the payload, as the
// seeds in payload_seeds/ (chunks of the golden files) are laid out. Every
// input must end in a clean decode or a TraceError, never a crash, a hang or
// an allocation beyond the payload's size.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "format/bytes.h"
#include "format/chunk_codec.h"
#include "qemutrace/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  const uint64_t features = data[0] & qemutrace::feature::kKnownMask;
  const uint32_t insns = qemutrace::detail::get_u32(data + 1), records = qemutrace::detail::get_u32(data + 5);
  // The payload in its own buffer, so that a read past its end is caught
  // by AddressSanitizer rather than landing in the header bytes.
  std::vector<uint8_t> payload(data + 9, data + size);
  static const std::string where = "fuzz";
  static qemutrace::detail::ChunkParser parser;
  static std::vector<qemutrace::Instruction> ins;
  static std::vector<qemutrace::MemAccess> acc;
  try {
    parser.start(payload.data(), payload.size(), features, qemutrace::kPageShift, 0, insns, records, &where);
    uint64_t index = 0, sum = 0;
    while (size_t n = parser.decode(ins, acc, 256, 1024, index, 0)) {
      for (size_t i = 0; i < n; i++) sum += ins[i].pc + ins[i].access_count + ins[i].marker_count;
      index += n;
    }
    if (index != insns) __builtin_trap();  // the parser promised the header's count
    (void)sum;
  } catch (const qemutrace::TraceError&) {
  }
  return 0;
}
