// Fuzz target: any bytes given to the reader must end in a clean result or a
// TraceError, never a crash, hang or unbounded allocation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "qemutrace/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    qemutrace::CoreReader r(qemutrace::memory_source(std::vector<uint8_t>(data, data + size), "fuzz"));
    uint64_t n = 0;
    while (const qemutrace::Instruction* in = r.next()) {
      n += in->length + in->access_count;
      if (n > (1ull << 32)) break;
    }
    for (size_t i = 0; i < r.chunks().size(); i++) r.check_chunk(i);
    if (r.total_instructions() > 2) r.seek(r.total_instructions() / 2), r.next();
  } catch (const qemutrace::TraceError&) {
  }
  return 0;
}
