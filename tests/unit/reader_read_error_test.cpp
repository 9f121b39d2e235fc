// A read that fails (an I/O error, a file that shrank after it was opened)
// is damage the reader names; it never goes on with the bytes it did not
// get. The source below fails every read that reaches past `fail_from` but
// still fills the buffer with the file's bytes, so a reader that ignored the
// result would see an intact file.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "qemutrace/io.h"
#include "qemutrace/reader.h"
#include "qemutrace/writer.h"

namespace qemutrace {
namespace {

class FailingSource : public ByteSource {
 public:
  FailingSource(std::vector<uint8_t> bytes, uint64_t fail_from)
      : bytes_(std::move(bytes)), fail_from_(fail_from) {}
  uint64_t size() const override { return bytes_.size(); }
  bool read_at(uint64_t offset, void* buf, size_t n) const override {
    if (offset > bytes_.size() || n > bytes_.size() - offset) return false;
    if (n) std::memcpy(buf, bytes_.data() + offset, n);
    return offset + n <= fail_from_;
  }
  const std::string& name() const override { return name_; }

 private:
  std::vector<uint8_t> bytes_;
  uint64_t fail_from_;
  std::string name_ = "t";
};

// Three chunks of 30 instructions each.
std::vector<uint8_t> three_chunks() {
  std::vector<uint8_t> out;
  WriterOptions o;
  o.chunk_insns = 30;
  StaticBlock b;
  b.vaddr = 0x4000;
  b.insn_count = 3;
  b.lengths = {1, 1, 1};
  b.bytes = {0x90, 0x90, 0x90};
  BinaryCoreWriter w(std::make_unique<MemorySink>(&out), o, 0, nullptr);
  w.set_context(3, 0);
  for (int i = 0; i < 30; i++) {
    w.begin_block(&b);
    w.end_block(3);
  }
  EXPECT_TRUE(w.finish()) << w.error();
  return out;
}

TEST(ReaderReadError, IntactFileReadsWhole) {
  std::vector<uint8_t> bytes = three_chunks();
  CoreReader r(std::make_unique<FailingSource>(bytes, bytes.size()));
  EXPECT_TRUE(r.state().has_footer);
  EXPECT_EQ(r.chunks().size(), 3u);
  EXPECT_EQ(r.total_instructions(), 90u);
}

TEST(ReaderReadError, UnreadableFooterIsNotAnIndex) {
  std::vector<uint8_t> bytes = three_chunks();
  CoreReader r(std::make_unique<FailingSource>(bytes, bytes.size() - 1));
  EXPECT_FALSE(r.state().has_footer);
  EXPECT_NE(r.state().damage.find("cannot read the footer"), std::string::npos) << r.state().damage;
  EXPECT_EQ(r.chunks().size(), 3u);  // found by the scan
}

TEST(ReaderReadError, UnreadableIndexIsNotAnIndex) {
  std::vector<uint8_t> bytes = three_chunks();
  CoreReader intact(memory_source(bytes, "t"));
  const ChunkInfo& last = intact.chunks().back();
  uint64_t index_at = last.offset + kChunkHeaderSize + last.compressed_size;
  // The index (not the footer, read first) fails.
  auto src = std::make_unique<FailingSource>(bytes, index_at + 1);
  CoreReader r(std::move(src));
  EXPECT_FALSE(r.state().has_footer);
  EXPECT_NE(r.state().damage.find("cannot read"), std::string::npos) << r.state().damage;
}

TEST(ReaderReadError, ScanStopsAtAnUnreadableChunk) {
  std::vector<uint8_t> bytes = three_chunks();
  CoreReader intact(memory_source(bytes, "t"));
  ASSERT_EQ(intact.chunks().size(), 3u);
  const ChunkInfo& second = intact.chunks()[1];
  // Header of the second chunk readable, its payload not (and so neither
  // the index nor the footer).
  CoreReader payload(std::make_unique<FailingSource>(bytes, second.offset + kChunkHeaderSize + 1));
  EXPECT_EQ(payload.chunks().size(), 1u);
  EXPECT_EQ(payload.state().valid_bytes, second.offset);
  EXPECT_NE(payload.state().damage.find("payload that cannot be read at offset " + std::to_string(second.offset)),
            std::string::npos)
      << payload.state().damage;
  // Its header unreadable.
  CoreReader header(std::make_unique<FailingSource>(bytes, second.offset + 1));
  EXPECT_EQ(header.chunks().size(), 1u);
  EXPECT_NE(header.state().damage.find("header that cannot be read at offset " + std::to_string(second.offset)),
            std::string::npos)
      << header.state().damage;
}

}  // namespace
}  // namespace qemutrace
