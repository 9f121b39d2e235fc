// Little-endian fixed-width fields and LEB128 varints (docs/trace-format.md, Conventions).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace qemutrace::detail {

constexpr size_t kMaxVarint = 10;  // bytes of a 64-bit LEB128 varint

inline void put_u16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }
inline void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}
inline void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (8 * i));
}
inline uint16_t get_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t get_u32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline uint64_t get_u64(const uint8_t* p) {
  return uint64_t(get_u32(p)) | (uint64_t(get_u32(p + 4)) << 32);
}

inline uint64_t zigzag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
inline int64_t unzigzag(uint64_t v) { return int64_t(v >> 1) ^ -int64_t(v & 1); }

inline unsigned varint_size(uint64_t v) {
  // 7 payload bits per byte: bits 1..7 -> 1 byte, 8..14 -> 2, ... (no loop:
  // the encoder asks for two sizes per unpredicted access).
  unsigned bits = 64 - unsigned(__builtin_clzll(v | 1));
  return (bits + 6) / 7;
}

// Appends to the first *len bytes of `buf` through a plain pointer (a
// push_back per byte cost more than the encoding around it). The caller gives
// an upper bound `room` of what it writes; `buf` only grows, so its bytes past
// *len are scratch; the destructor stores the new length.
class ByteWriter {
 public:
  ByteWriter(std::vector<uint8_t>* buf, size_t* len, size_t room) : buf_(buf), len_(len) {
    if (buf->size() - *len < room) buf->resize(std::max(buf->size() * 2, *len + room));
    p_ = buf->data() + *len;
  }
  ~ByteWriter() { *len_ = size_t(p_ - buf_->data()); }
  ByteWriter(const ByteWriter&) = delete;
  ByteWriter& operator=(const ByteWriter&) = delete;
  void u8(uint8_t v) { *p_++ = v; }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = uint8_t(v) | 0x80;
      v >>= 7;
    }
    *p_++ = uint8_t(v);
  }
  void svarint(int64_t v) { varint(zigzag(v)); }
  void bytes(const uint8_t* p, size_t n) {
    std::memcpy(p_, p, n);
    p_ += n;
  }

 private:
  std::vector<uint8_t>* buf_;
  size_t* len_;
  uint8_t* p_;
};

}  // namespace qemutrace::detail
