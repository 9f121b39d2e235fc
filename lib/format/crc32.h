#pragma once
#include <cstddef>
#include <cstdint>

namespace qemutrace::detail {
// CRC-32/ISO-HDLC (zlib's). Pass the previous result to continue a stream.
uint32_t crc32(const void* data, size_t n, uint32_t prev = 0);
}  // namespace qemutrace::detail
