// File and memory byte sources/sinks.
#include "qemutrace/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "qemutrace/reader.h"

namespace qemutrace {
namespace {

class FileSource : public ByteSource {
 public:
  FileSource(int fd, uint64_t size, std::string name) : fd_(fd), size_(size), name_(std::move(name)) {}
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  bool read_at(uint64_t offset, void* buf, size_t n) const override {
    if (offset > size_ || n > size_ - offset) return false;
    auto* p = static_cast<uint8_t*>(buf);
    while (n > 0) {
      ssize_t r = ::pread(fd_, p, n, off_t(offset));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      p += r;
      n -= size_t(r);
      offset += uint64_t(r);
    }
    return true;
  }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  uint64_t size_;
  std::string name_;
};

class MemorySource : public ByteSource {
 public:
  MemorySource(std::vector<uint8_t> bytes, std::string name)
      : bytes_(std::move(bytes)), name_(std::move(name)) {}
  uint64_t size() const override { return bytes_.size(); }
  bool read_at(uint64_t offset, void* buf, size_t n) const override {
    if (offset > bytes_.size() || n > bytes_.size() - offset) return false;
    if (n) std::memcpy(buf, bytes_.data() + offset, n);
    return true;
  }
  const std::string& name() const override { return name_; }

 private:
  std::vector<uint8_t> bytes_;
  std::string name_;
};

class FileSink : public ByteSink {
 public:
  FileSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  ~FileSink() override { ::close(fd_); }
  bool write(const void* data, size_t n, int* err) override {
    const auto* p = static_cast<const uint8_t*>(data);
    const size_t total = n;
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        *err = w < 0 ? errno : ENOSPC;
        // Take back the part that fit (a full disk): callers write whole
        // records, so the file ends on the last complete one.
        if (total != n && ::ftruncate(fd_, off_t(size_)) == 0) ::lseek(fd_, off_t(size_), SEEK_SET);
        return false;
      }
      p += w;
      n -= size_t(w);
    }
    size_ += total;
    return true;
  }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  std::string name_;
  uint64_t size_ = 0;  // bytes written by complete writes (the file was truncated at open)
};

}  // namespace

std::unique_ptr<ByteSource> open_file_source(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw TraceError(path + ": cannot open: " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw TraceError(path + ": not a regular file");
  }
  return std::make_unique<FileSource>(fd, uint64_t(st.st_size), path);
}

std::unique_ptr<ByteSource> memory_source(std::vector<uint8_t> bytes, std::string name) {
  return std::make_unique<MemorySource>(std::move(bytes), std::move(name));
}

std::unique_ptr<ByteSink> open_file_sink(const std::string& path, int* err) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) { *err = errno; return nullptr; }
  return std::make_unique<FileSink>(fd, path);
}

bool MemorySink::write(const void* data, size_t n, int* err) {
  // Like a full disk: what fits is written, then the write fails.
  const auto* p = static_cast<const uint8_t*>(data);
  size_t room = capacity_ - std::min(capacity_, out_->size());
  size_t take = std::min(room, n);
  out_->insert(out_->end(), p, p + take);
  if (take < n) {
    *err = ENOSPC;
    return false;
  }
  return true;
}

}  // namespace qemutrace
