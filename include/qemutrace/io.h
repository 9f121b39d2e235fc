// Byte sources and sinks, so the reader and writer run on files or on memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qemutrace {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly n bytes at offset; false if they are not all there.
  virtual bool read_at(uint64_t offset, void* buf, size_t n) const = 0;
  virtual const std::string& name() const = 0;
};

// Throws TraceError (reader.h) if the file cannot be opened.
std::unique_ptr<ByteSource> open_file_source(const std::string& path);
std::unique_ptr<ByteSource> memory_source(std::vector<uint8_t> bytes,
                                          std::string name = "<memory>");

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Appends all n bytes or returns false with errno-style code in *err.
  virtual bool write(const void* data, size_t n, int* err) = 0;
  virtual const std::string& name() const = 0;
};

// Creates or truncates the file. Returns nullptr and sets *err (errno).
// A write that fails part way (a full disk) is taken back: the file ends
// where the last successful write ended.
std::unique_ptr<ByteSink> open_file_sink(const std::string& path, int* err);

// Appends to a vector owned by the caller (tests).
class MemorySink : public ByteSink {
 public:
  explicit MemorySink(std::vector<uint8_t>* out, std::string name = "<memory>")
      : out_(out), name_(std::move(name)) {}
  bool write(const void* data, size_t n, int* err) override;
  const std::string& name() const override { return name_; }
  // Fail with ENOSPC once the total would exceed this many bytes (tests).
  void set_capacity(size_t bytes) { capacity_ = bytes; }

 private:
  std::vector<uint8_t>* out_;
  std::string name_;
  size_t capacity_ = SIZE_MAX;
};

}  // namespace qemutrace
