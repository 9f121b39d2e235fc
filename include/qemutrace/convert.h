// Simulator output formats: Tejas text, ChampSim, Dinero IV din, readable
// text. docs/simulator-formats.md specifies each one.
//
// One InstructionConsumer per core turns retired instructions (in order, with
// next_pc filled) into one output file. The same consumers serve both paths,
// so a direct trace and a converted one are the same bytes:
//   - `qemutrace convert`: CoreReader -> feed_reader() -> consumer;
//   - the plugin: make_format_sink() assembles Instructions from TraceSink
//     events, holding one back until its successor is known, -> consumer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "qemutrace/format.h"
#include "qemutrace/io.h"
#include "qemutrace/output_format.h"
#include "qemutrace/types.h"
#include "qemutrace/writer.h"

namespace qemutrace {

class CoreReader;

struct ConsumerOptions {
  Isa isa = Isa::x86_64;
  uint64_t features = 0;  // feature:: bits of the source (paddr, values, ...)
  uint16_t core = 0;
  // Compression threads (ChampSim's xz); 0: compression_threads_per_core(1).
  // The bytes written do not depend on it.
  unsigned threads = 0;
  // Basic-block vectors: instructions per interval (0: kDefaultBbvInterval).
  uint64_t bbv_interval = 0;
};

// Compression threads for each of `cores` files converted at once. One
// core's file is often much larger than the others' (the core that ran the
// workload), so each gets up to every host CPU: at most about twice the
// CPUs in all, and fewer if their buffers would take more than a quarter of
// the memory.
unsigned compression_threads_per_core(unsigned cores);
// The same on a machine of `cpus` CPUs and `memory` bytes (0: unknown).
unsigned compression_threads_per_core(unsigned cores, unsigned cpus, uint64_t memory);

// QEMU's bbv plugin's default interval.
inline constexpr uint64_t kDefaultBbvInterval = 100000000;

class InstructionConsumer {
 public:
  virtual ~InstructionConsumer() = default;
  // The next retired instruction of the core; its markers (insn.markers) were
  // emitted just before it. next_pc == 0 means unknown (end of trace).
  virtual void consume(const Instruction& insn) = 0;
  // Markers after the last instruction.
  virtual void tail_marker(const Marker& m) = 0;
  // Writes out what is buffered without changing the output bytes (the xz
  // stream is not sync-flushed), so flushing never breaks byte identity.
  virtual void flush() = 0;
  // Flushes and closes the output; idempotent; false on an I/O error.
  virtual bool finish() = 0;
  virtual bool failed() const = 0;
  virtual std::string error() const = 0;
  virtual uint64_t instructions() const = 0;
  virtual uint64_t bytes_written() const = 0;
};

// A consumer writing format `f` (not Binary) to `out`.
std::unique_ptr<InstructionConsumer> make_consumer(OutputFormat f, std::unique_ptr<ByteSink> out,
                                                   const ConsumerOptions& opts);

// Format Bbv (lib/convert/bbv.cpp); make_consumer calls it.
std::unique_ptr<InstructionConsumer> make_bbv_consumer(std::unique_ptr<ByteSink> out, const ConsumerOptions& opts);

// Creates `path` and a consumer on it; nullptr and *error on failure.
std::unique_ptr<InstructionConsumer> open_consumer(OutputFormat f, const std::string& path,
                                                   const ConsumerOptions& opts,
                                                   std::string* error);

// Feeds every instruction (from the reader's current position) and the tail
// markers to `c`. Returns the number of instructions fed; TraceError
// propagates. `limit` stops after that many instructions (tail markers are
// then not fed).
uint64_t feed_reader(CoreReader& reader, InstructionConsumer& c, uint64_t limit = UINT64_MAX);

// The plugin path: a TraceSink writing format `f` (not Binary) to `path`.
// Returns nullptr with *error if the file cannot be created.
std::unique_ptr<TraceSink> make_format_sink(OutputFormat f, const std::string& path,
                                            const WriterOptions& opts, uint16_t core,
                                            std::string* error);
// The same on any byte sink (tests).
std::unique_ptr<TraceSink> make_format_sink(OutputFormat f, std::unique_ptr<ByteSink> out,
                                            const WriterOptions& opts, uint16_t core);

// ---- Pieces shared with `dump` and the tests ----

// The text format's lines for one instruction (markers first, then the
// instruction line, then one line per access), each ending in '\n'.
class Disassembler;
void format_text_instruction(const Instruction& insn, Disassembler& dis, uint64_t features,
                             std::string* out);
void format_text_marker(const Marker& m, std::string* out);
// The text format's level token: K, U or H, with a "2" for a level-2 guest.
std::string_view text_level(uint8_t lv);
// The level a token names, or -1 if it is none.
int parse_text_level(std::string_view token);

// ChampSim's trace record (ChampSim inc/trace_instruction.h, input_instr).
struct ChampSimRecord {
  uint64_t ip = 0;
  uint8_t is_branch = 0;
  uint8_t branch_taken = 0;
  uint8_t destination_registers[2] = {};
  uint8_t source_registers[4] = {};
  uint64_t destination_memory[2] = {};
  uint64_t source_memory[4] = {};
};
static_assert(sizeof(ChampSimRecord) == 64, "input_instr is 64 bytes");
ChampSimRecord make_champsim_record(const Instruction& insn, Disassembler& dis);
// Serializes little-endian into 64 bytes.
void encode_champsim_record(const ChampSimRecord& r, uint8_t out[64]);

}  // namespace qemutrace
