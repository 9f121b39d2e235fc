// aarch64 decoding for the disassembler (text, branch kind, registers read
// and written) with Capstone, which Debian packages and which knows the
// whole A64 instruction set, SIMD and system instructions included; the
// branch kind comes from aarch64_branch.h, shared with the plugin.
// Private to the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "qemutrace/disasm.h"

namespace qemutrace {

class A64Decoder {
 public:
  A64Decoder();
  ~A64Decoder();
  A64Decoder(const A64Decoder&) = delete;
  A64Decoder& operator=(const A64Decoder&) = delete;

  // Fills *out (reset first); bytes that are not one 4-byte instruction
  // decode as "(bad)".
  void decode(uint64_t pc, const uint8_t* bytes, size_t length, DecodedInsn* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qemutrace
