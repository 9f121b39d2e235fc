// A zstd context that cannot be allocated (ZSTD_createCCtx/DCtx return
// NULL) fails the writer or the reader with one clear error, not a crash.
// This binary replaces both functions: the trace library is linked in
// statically, so its calls bind to the definitions below, which fail on
// request and otherwise forward to libzstd's.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include <atomic>
#include <vector>

#include "qemutrace/io.h"
#include "qemutrace/reader.h"
#include "qemutrace/writer.h"

namespace {
std::atomic<bool> g_fail_cctx{false}, g_fail_dctx{false};

template <class F>
F* real(const char* name) {
  return reinterpret_cast<F*>(dlsym(RTLD_NEXT, name));
}
}  // namespace

extern "C" ZSTD_CCtx* ZSTD_createCCtx(void) {
  static auto* next = real<ZSTD_CCtx*()>("ZSTD_createCCtx");
  return g_fail_cctx ? nullptr : next();
}
extern "C" ZSTD_DCtx* ZSTD_createDCtx(void) {
  static auto* next = real<ZSTD_DCtx*()>("ZSTD_createDCtx");
  return g_fail_dctx ? nullptr : next();
}

namespace qemutrace {
namespace {

StaticBlock three_insns() {
  StaticBlock b;
  b.vaddr = 0x4000;
  b.insn_count = 3;
  b.lengths = {1, 1, 1};
  b.bytes = {0x90, 0x90, 0x90};
  return b;
}

// Writes `chunks` chunks of 10 instructions; returns the writer's result.
bool write_trace(CompressionPool* pool, std::vector<uint8_t>* out, std::string* error) {
  WriterOptions o;
  o.chunk_insns = 10;
  StaticBlock b = three_insns();
  BinaryCoreWriter w(std::make_unique<MemorySink>(out), o, 0, pool);
  w.set_context(3, 0);
  for (int i = 0; i < 20; i++) {
    w.begin_block(&b);
    w.end_block(3);
  }
  bool ok = w.finish();
  *error = w.error();
  return ok;
}

struct ZstdContext : ::testing::Test {
  void TearDown() override {
    g_fail_cctx = false;
    g_fail_dctx = false;
  }
};

TEST_F(ZstdContext, WriterWithoutPoolFailsCleanly) {
  g_fail_cctx = true;
  std::vector<uint8_t> out;
  std::string error;
  EXPECT_FALSE(write_trace(nullptr, &out, &error));
  EXPECT_NE(error.find("cannot allocate a compression context"), std::string::npos) << error;
}

TEST_F(ZstdContext, PoolThreadWithoutContextFailsItsJobs) {
  g_fail_cctx = true;
  CompressionPool pool(1);  // its thread asks for the context at start
  std::vector<uint8_t> out;
  std::string error;
  EXPECT_FALSE(write_trace(&pool, &out, &error));
  EXPECT_NE(error.find("cannot allocate a compression context"), std::string::npos) << error;
}

TEST_F(ZstdContext, ReaderWithoutContextThrowsTraceError) {
  std::vector<uint8_t> out;
  std::string error;
  ASSERT_TRUE(write_trace(nullptr, &out, &error)) << error;
  g_fail_dctx = true;
  CoreReader r(memory_source(out, "t"));
  try {
    while (r.next()) {
    }
    FAIL() << "read a trace without a decompression context";
  } catch (const TraceError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot allocate a decompression context"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qemutrace
