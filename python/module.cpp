// The compiled part of the `qemutrace` Python package: the C++ reader's
// core files as numpy arrays (a batch of instructions at a time) and as instruction
// objects. python/qemutrace/__init__.py builds the public API on it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "qemutrace/convert.h"
#include "qemutrace/reader.h"
#include "qemutrace/trace_paths.h"

namespace py = pybind11;

namespace qemutrace::python {
namespace {

// Rows of the structured arrays. Field names and meanings:
// docs/python.md ("Chunks").
struct InsnRow {
  uint64_t index, pc, phys_pc, next_pc, asid, time_ns;
  uint32_t first_access, access_count;  // rows of the chunk's accesses
  uint16_t core;
  uint8_t size, cpl;
  bool kernel;
  uint8_t flags;
  uint8_t level;  // format.h level:: bits: privilege (kernel, user, hypervisor) and nesting
};

struct AccessRow {
  uint64_t insn;  // index of the instruction it belongs to
  uint64_t vaddr, paddr, value_lo, value_hi;
  uint8_t size, kind;  // kind: 0 load, 1 store
};

struct MarkerRow {
  uint64_t insn;  // index of the instruction it precedes (the core's count after the last)
  uint64_t value;
  uint16_t id, core;
  uint8_t kind, source;  // MarkerKind, MarkerSource numbers
};

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

MarkerRow marker_row(const Marker& m, uint64_t insn, uint16_t core) {
  return MarkerRow{insn, m.value, m.id, core, uint8_t(m.kind), uint8_t(m.source)};
}

// Row buffers: allocated once per reader, uninitialised, filled in place by
// the decoder loop and handed to numpy without a copy. A buffer goes back to
// its reader's pool only when numpy frees the last array (or view) using it,
// so arrays handed out stay valid for as long as Python holds them; a
// program that drops each batch before taking the next reuses the same two
// buffers all along: no fresh pages (page faults cost more than decoding).
template <class Row>
struct RowBuffer {
  std::unique_ptr<Row[]> rows;
  size_t capacity = 0;
};

template <class Row>
class RowPool {
 public:
  RowBuffer<Row> take(size_t capacity) {
    std::lock_guard<std::mutex> lk(mu_);
    while (!free_.empty()) {
      RowBuffer<Row> b = std::move(free_.back());
      free_.pop_back();
      if (b.capacity >= capacity) return b;
    }
    // new Row[] of these plain structs leaves the rows uninitialised: each
    // is written once, by the decoder loop.
    return RowBuffer<Row>{std::unique_ptr<Row[]>(new Row[capacity]), capacity};
  }
  void give(RowBuffer<Row>&& b) {
    std::lock_guard<std::mutex> lk(mu_);
    if (free_.size() < 2) free_.push_back(std::move(b));
  }

 private:
  std::mutex mu_;
  std::vector<RowBuffer<Row>> free_;
};

// A buffer being filled: `n` rows written so far.
template <class Row>
struct Filling {
  RowBuffer<Row> buf;
  size_t n = 0;
  Row* room(size_t more) {  // space for `more` rows at the end
    if (n + more > buf.capacity) grow(n + more);
    return buf.rows.get() + n;
  }
  void grow(size_t need) {
    size_t cap = std::max(need, 2 * buf.capacity);
    std::unique_ptr<Row[]> bigger(new Row[cap]);
    std::copy(buf.rows.get(), buf.rows.get() + n, bigger.get());
    buf = RowBuffer<Row>{std::move(bigger), cap};
  }
};

// A numpy array over the first `n` rows of `f` (no copy); the buffer
// returns to `pool` (if any) when numpy frees the array.
template <class Row>
py::array_t<Row> to_array(Filling<Row>&& f, const std::shared_ptr<RowPool<Row>>& pool) {
  struct Owned {
    RowBuffer<Row> buf;
    std::shared_ptr<RowPool<Row>> pool;
  };
  if (!f.buf.rows) f.buf = RowBuffer<Row>{std::unique_ptr<Row[]>(new Row[1]), 1};  // numpy wants a pointer
  auto* owned = new Owned{std::move(f.buf), pool};
  py::capsule free_rows(owned, [](void* p) {
    auto* o = static_cast<Owned*>(p);
    if (o->pool) o->pool->give(std::move(o->buf));
    delete o;
  });
  return py::array_t<Row>(py::ssize_t(f.n), owned->buf.rows.get(), free_rows);
}

// One core file read into arrays a batch of instructions at a time. Each
// Python iterator opens its own reader, so iterators over the same file are
// independent. Small batches (16K instructions: 1 MiB of rows) stay in the
// CPU's caches between being filled and being read by numpy. A batch also
// ends once it holds 2 accesses per instruction of its size: string
// instructions (a kernel clearing pages) make millions of accesses in a
// few thousand instructions, and a buffer grown for them would be fresh
// pages and copies.
class ChunkReader {
 public:
  ChunkReader(const std::string& path, size_t batch)
      : r_(CoreReader::open(path)), batch_(batch ? batch : 1), access_limit_(2 * batch_) {}

  // The next batch as (instructions, accesses, markers), or None after the
  // last. Markers after the last instruction come with the last batch (or
  // alone, in an empty batch).
  py::object next() {
    if (done_) return py::none();
    Filling<InsnRow> ins;
    Filling<AccessRow> acc;
    Filling<MarkerRow> marks;
    {
      py::gil_scoped_release unlocked;
      ins.buf = insn_pool_->take(batch_);
      // Room for the limit and the instruction that crosses it (grows if one has more).
      acc.buf = access_pool_->take(access_limit_ + kAccessHeadroom);
      fill(ins, acc, marks);
    }
    return py::make_tuple(to_array(std::move(ins), insn_pool_), to_array(std::move(acc), access_pool_),
                          to_array(std::move(marks), std::shared_ptr<RowPool<MarkerRow>>()));
  }

 private:
  void fill(Filling<InsnRow>& ins, Filling<AccessRow>& acc, Filling<MarkerRow>& marks) {
    const uint16_t core = r_->header().core;
    InsnRow* row = ins.buf.rows.get();
    InsnRow* const end = row + batch_;
    for (; row < end; ++row) {
      const Instruction* in = r_->next();
      if (!in) {
        const uint64_t total = r_->total_instructions();
        const std::vector<Marker>& tail = r_->tail_markers();
        MarkerRow* m = marks.room(tail.size());
        for (const Marker& t : tail) *m++ = marker_row(t, total, core);
        marks.n += tail.size();
        done_ = true;
        break;
      }
      if (in->marker_count) {
        MarkerRow* m = marks.room(in->marker_count);
        for (uint32_t i = 0; i < in->marker_count; ++i) m[i] = marker_row(in->markers[i], in->index, core);
        marks.n += in->marker_count;
      }
      *row = InsnRow{in->index, in->pc, in->phys_pc, in->next_pc, in->asid, in->time_ns, uint32_t(acc.n),
                     in->access_count, in->core, in->length, in->cpl, in->is_kernel(), in->flags, in->level};
      if (in->access_count) {
        AccessRow* a = acc.room(in->access_count);
        for (uint32_t i = 0; i < in->access_count; ++i) {
          const MemAccess& m = in->accesses[i];
          a[i] = AccessRow{in->index, m.vaddr, m.paddr, m.value_lo, m.value_hi, m.size, uint8_t(m.is_store)};
        }
        acc.n += in->access_count;
        if (acc.n >= access_limit_) {
          ++row;
          break;
        }
      }
    }
    ins.n = size_t(row - ins.buf.rows.get());
  }

  static constexpr size_t kAccessHeadroom = 256;
  std::unique_ptr<CoreReader> r_;
  const size_t batch_, access_limit_;
  std::shared_ptr<RowPool<InsnRow>> insn_pool_ = std::make_shared<RowPool<InsnRow>>();
  std::shared_ptr<RowPool<AccessRow>> access_pool_ = std::make_shared<RowPool<AccessRow>>();
  bool done_ = false;
};

// What the instruction iterator hands out: a copy, since the reader's
// records live only until it advances.
struct PyAccess {
  uint64_t vaddr, paddr, value_lo, value_hi;
  uint8_t size;
  bool is_store;
};

struct PyMarker {
  uint64_t insn;
  uint16_t core, id;
  std::string kind, source;
  uint64_t value;
};

PyMarker py_marker(const Marker& m, uint64_t insn, uint16_t core) {
  return PyMarker{insn, core, m.id, std::string(marker_kind_name(m.kind)), std::string(marker_source_name(m.source)),
                  m.value};
}

struct PyInstruction {
  uint64_t index, pc, phys_pc, next_pc, asid, time_ns;
  uint16_t core;
  uint8_t size, cpl, flags, level;
  std::string bytes;
  std::vector<PyAccess> accesses;
  std::vector<PyMarker> markers;
};

PyInstruction py_instruction(const Instruction& in) {
  PyInstruction p{in.index, in.pc, in.phys_pc, in.next_pc, in.asid, in.time_ns, in.core, in.length, in.cpl,
                  in.flags, in.level, std::string(reinterpret_cast<const char*>(in.bytes), in.length), {}, {}};
  p.accesses.reserve(in.access_count);
  for (uint32_t i = 0; i < in.access_count; ++i) {
    const MemAccess& a = in.accesses[i];
    p.accesses.push_back(PyAccess{a.vaddr, a.paddr, a.value_lo, a.value_hi, a.size, a.is_store});
  }
  for (uint32_t i = 0; i < in.marker_count; ++i) p.markers.push_back(py_marker(in.markers[i], in.index, in.core));
  return p;
}

// Instructions of one core file, or of several merged in time order.
class InstructionReader {
 public:
  InstructionReader(const std::vector<std::string>& paths, uint64_t start) {
    std::vector<std::unique_ptr<CoreReader>> cores;
    for (const auto& p : paths) {
      cores.push_back(CoreReader::open(p));
      if (start) cores.back()->seek(start);
    }
    if (cores.size() == 1) one_ = std::move(cores.front());
    else run_ = std::make_unique<RunReader>(std::move(cores));
  }

  py::object next() {
    const Instruction* in = one_ ? one_->next() : run_->next();
    if (!in) return py::none();
    return py::cast(py_instruction(*in));
  }

 private:
  std::unique_ptr<CoreReader> one_;
  std::unique_ptr<RunReader> run_;
};

// Every marker of a core file, with the index of the instruction it precedes.
std::vector<PyMarker> file_markers(const std::string& path) {
  std::unique_ptr<CoreReader> r = CoreReader::open(path);
  std::vector<PyMarker> out;
  const uint16_t core = r->header().core;
  {
    py::gil_scoped_release unlocked;
    while (const Instruction* in = r->next())
      for (uint32_t i = 0; i < in->marker_count; ++i) out.push_back(py_marker(in->markers[i], in->index, core));
    for (const Marker& m : r->tail_markers()) out.push_back(py_marker(m, r->total_instructions(), core));
  }
  return out;
}

// What opening a core file tells without decoding it.
py::dict file_info(const std::string& path) {
  std::unique_ptr<CoreReader> r = CoreReader::open(path);
  const FileHeaderInfo& h = r->header();
  py::dict d;
  d["path"] = path;
  d["core"] = h.core;
  d["version"] = h.version;
  d["min_reader_version"] = h.min_reader_version;
  d["isa"] = std::string(isa_name(h.isa));
  d["features"] = h.features;
  d["page_shift"] = h.page_shift;
  d["chunk_insns"] = h.chunk_insns;
  d["start_time_ns"] = h.start_time_ns;
  d["instructions"] = r->total_instructions();
  d["chunks"] = r->chunks().size();
  d["complete"] = r->state().has_footer;
  d["damage"] = r->state().damage;
  d["file_bytes"] = r->state().file_bytes;
  return d;
}

}  // namespace
}  // namespace qemutrace::python

using namespace qemutrace;
using namespace qemutrace::python;

PYBIND11_MODULE(_qemutrace, m) {
  m.doc() = "The compiled reader behind the qemutrace package (use `import qemutrace`).";
  py::register_exception<TraceError>(m, "TraceError");

  PYBIND11_NUMPY_DTYPE(InsnRow, index, pc, phys_pc, next_pc, asid, time_ns, first_access, access_count, core, size,
                       cpl, kernel, flags, level);
  PYBIND11_NUMPY_DTYPE(AccessRow, insn, vaddr, paddr, value_lo, value_hi, size, kind);
  PYBIND11_NUMPY_DTYPE(MarkerRow, insn, value, id, core, kind, source);
  m.attr("INSTRUCTION_DTYPE") = py::dtype::of<InsnRow>();
  m.attr("ACCESS_DTYPE") = py::dtype::of<AccessRow>();
  m.attr("MARKER_DTYPE") = py::dtype::of<MarkerRow>();

  py::dict kinds, sources, features;
  for (uint8_t k = 1; k <= kMaxMarkerKind; ++k) kinds[py::int_(k)] = std::string(marker_kind_name(MarkerKind(k)));
  for (uint8_t s = 0; s <= kMaxMarkerSource; ++s)
    sources[py::int_(s)] = std::string(marker_source_name(MarkerSource(s)));
  features["phys_addr"] = feature::kPhysAddr;
  features["values"] = feature::kValues;
  features["kernel"] = feature::kKernel;
  features["asid"] = feature::kAsid;
  features["timestamps"] = feature::kTimestamps;
  features["phys_pc"] = feature::kPhysPc;
  features["level"] = feature::kLevel;
  m.attr("LEVEL_KERNEL") = level::kKernel;
  m.attr("LEVEL_USER") = level::kUser;
  m.attr("LEVEL_HYPERVISOR") = level::kHypervisor;
  m.attr("LEVEL_NESTED") = level::kNested;
  m.attr("MARKER_KINDS") = kinds;
  m.attr("MARKER_SOURCES") = sources;
  m.attr("FEATURES") = features;

  m.def("expand_trace_paths", &expand_trace_paths, py::arg("path"),
        "The per-core trace files a file, run base or manifest names, in core order.");
  m.def("manifest_path", &manifest_path, py::arg("path"), "The manifest a path names, or ''.");
  m.def("file_info", &file_info, py::arg("path"), "Header, index and integrity facts of one core file.");
  m.def("file_markers", &file_markers, py::arg("path"), "Every marker of one core file.");

  py::class_<ChunkReader>(m, "ChunkReader")
      .def(py::init<const std::string&, size_t>(), py::arg("path"), py::arg("batch"))
      .def("next", &ChunkReader::next);
  py::class_<InstructionReader>(m, "InstructionReader")
      .def(py::init<const std::vector<std::string>&, uint64_t>(), py::arg("paths"), py::arg("start") = 0)
      .def("next", &InstructionReader::next);

  py::class_<PyAccess>(m, "Access")
      .def_readonly("vaddr", &PyAccess::vaddr)
      .def_readonly("paddr", &PyAccess::paddr)
      .def_readonly("size", &PyAccess::size)
      .def_readonly("is_store", &PyAccess::is_store)
      .def_property_readonly("kind", [](const PyAccess& a) { return a.is_store ? "store" : "load"; })
      .def_property_readonly("value",
                             [](const PyAccess& a) -> py::object {
                               // Bytes 8..15 of a 16-byte access above the low 64 bits.
                               py::int_ lo(a.value_lo), hi(a.value_hi);
                               if (a.size <= 8) return lo;
                               return (hi << py::int_(64)) | lo;
                             })
      .def("__repr__", [](const PyAccess& a) {
        return std::string(a.is_store ? "<store " : "<load ") + hex(a.vaddr) + " size " + std::to_string(a.size) + ">";
      });
  py::class_<PyMarker>(m, "Marker")
      .def_readonly("insn", &PyMarker::insn)
      .def_readonly("core", &PyMarker::core)
      .def_readonly("kind", &PyMarker::kind)
      .def_readonly("source", &PyMarker::source)
      .def_readonly("id", &PyMarker::id)
      .def_readonly("value", &PyMarker::value)
      .def("__repr__", [](const PyMarker& mk) {
        return "<marker " + mk.kind + " " + mk.source + " id=" + std::to_string(mk.id) + " core " +
               std::to_string(mk.core) + " before instruction " + std::to_string(mk.insn) + ">";
      });
  py::class_<PyInstruction>(m, "Instruction")
      .def_readonly("index", &PyInstruction::index)
      .def_readonly("pc", &PyInstruction::pc)
      .def_readonly("phys_pc", &PyInstruction::phys_pc)
      .def_readonly("next_pc", &PyInstruction::next_pc)
      .def_readonly("asid", &PyInstruction::asid)
      .def_readonly("time_ns", &PyInstruction::time_ns)
      .def_readonly("core", &PyInstruction::core)
      .def_readonly("size", &PyInstruction::size)
      .def_readonly("cpl", &PyInstruction::cpl)
      .def_readonly("flags", &PyInstruction::flags)
      .def_readonly("level", &PyInstruction::level)
      .def_property_readonly("kernel", [](const PyInstruction& i) { return level::privilege(i.level) == level::kKernel; })
      .def_property_readonly("user", [](const PyInstruction& i) { return level::privilege(i.level) == level::kUser; })
      .def_property_readonly("hypervisor",
                             [](const PyInstruction& i) { return level::privilege(i.level) == level::kHypervisor; })
      .def_property_readonly("nested", [](const PyInstruction& i) { return (i.level & level::kNested) != 0; })
      .def_property_readonly("bytes", [](const PyInstruction& i) { return py::bytes(i.bytes); })
      .def_property_readonly("transfers",
                             [](const PyInstruction& i) { return i.next_pc != 0 && i.next_pc != i.pc + i.size; })
      .def_readonly("accesses", &PyInstruction::accesses)
      .def_readonly("markers", &PyInstruction::markers)
      .def("__repr__", [](const PyInstruction& i) {
        return "<instruction core " + std::to_string(i.core) + " #" + std::to_string(i.index) + " pc " + hex(i.pc) +
               " " + std::string(text_level(i.level)) + ">";
      });
}
