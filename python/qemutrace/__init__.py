"""Reading qemutrace traces from Python (docs/python.md).

    import qemutrace
    trace = qemutrace.open("BASE")          # a run base, BASE.json or one core file
    for chunk in trace.chunks():            # numpy structured arrays, 16K instructions at a time
        user = chunk.instructions[~chunk.instructions["kernel"]]
    for insn in trace.instructions():       # instruction objects, cores merged in time order
        ...

Built on the C++ reader: damaged files raise TraceError with the same
message the command-line tools print; a file cut short or without its
index warns (TraceWarning) and reads what is complete.
"""

import builtins as _builtins
import json as _json
import warnings as _warnings
from collections import namedtuple as _namedtuple

from ._numpy import import_numpy as _import_numpy

_np = _import_numpy()

from . import _qemutrace  # noqa: E402  (after numpy is importable)

TraceError = _qemutrace.TraceError
Instruction = _qemutrace.Instruction
Access = _qemutrace.Access
Marker = _qemutrace.Marker
INSTRUCTION_DTYPE = _qemutrace.INSTRUCTION_DTYPE
ACCESS_DTYPE = _qemutrace.ACCESS_DTYPE
MARKER_DTYPE = _qemutrace.MARKER_DTYPE
MARKER_KINDS = dict(_qemutrace.MARKER_KINDS)      # number in MARKER_DTYPE "kind" -> name
MARKER_SOURCES = dict(_qemutrace.MARKER_SOURCES)  # number in MARKER_DTYPE "source" -> name
FEATURES = dict(_qemutrace.FEATURES)              # name -> header feature bit
LOAD, STORE = 0, 1                                # ACCESS_DTYPE "kind"
# INSTRUCTION_DTYPE "level": the privilege in bits 0-1, and the nested bit.
LEVEL_KERNEL = _qemutrace.LEVEL_KERNEL
LEVEL_USER = _qemutrace.LEVEL_USER
LEVEL_HYPERVISOR = _qemutrace.LEVEL_HYPERVISOR
LEVEL_NESTED = _qemutrace.LEVEL_NESTED
CHUNK_INSTRUCTIONS = 1 << 14                      # chunks()' default size

__all__ = ["open", "Trace", "Core", "Chunk", "TraceError", "TraceWarning", "Instruction", "Access", "Marker",
           "INSTRUCTION_DTYPE", "ACCESS_DTYPE", "MARKER_DTYPE", "MARKER_KINDS", "MARKER_SOURCES", "FEATURES",
           "LOAD", "STORE", "LEVEL_KERNEL", "LEVEL_USER", "LEVEL_HYPERVISOR", "LEVEL_NESTED"]


class TraceWarning(UserWarning):
    """A file is incomplete (cut short, no index): what is complete is read."""


# A batch of a core file's instructions: `instructions` (INSTRUCTION_DTYPE), `accesses`
# (ACCESS_DTYPE; an instruction's are rows first_access .. first_access +
# access_count, and each row's "insn" is its instruction's index) and
# `markers` (MARKER_DTYPE; "insn" is the instruction a marker precedes).
Chunk = _namedtuple("Chunk", "core instructions accesses markers")


def _iterate(reader):
    while True:
        item = reader.next()
        if item is None:
            return
        yield item


class Core:
    """One core's trace file. Metadata comes from its header and index."""

    def __init__(self, path):
        info = _qemutrace.file_info(path)
        self.path = path
        self.core = info["core"]
        self.isa = info["isa"]
        self.version = info["version"]
        self.min_reader_version = info["min_reader_version"]
        self.features = info["features"]
        self.feature_names = sorted(n for n, bit in FEATURES.items() if self.features & bit)
        self.page_shift = info["page_shift"]
        self.chunk_insns = info["chunk_insns"]
        self.start_time_ns = info["start_time_ns"]
        self.instruction_count = info["instructions"]
        self.chunk_count = info["chunks"]
        self.file_bytes = info["file_bytes"]
        self.complete = info["complete"]  # index and footer present
        self.damage = info["damage"]      # "" when intact, else what was lost
        if self.damage:
            _warnings.warn("%s: %s" % (path, self.damage), TraceWarning, stacklevel=3)

    def __repr__(self):
        return "<qemutrace.Core %d %s: %d instructions>" % (self.core, self.path, self.instruction_count)

    def chunks(self, size=CHUNK_INSTRUCTIONS):
        """Batches of up to `size` instructions (fewer once a batch has 2 * size
        accesses), in order, as numpy arrays that own their memory."""
        reader = _qemutrace.ChunkReader(self.path, size)
        for ins, acc, marks in _iterate(reader):
            if len(ins) or len(marks):
                yield Chunk(self.core, ins, acc, marks)

    def instructions(self, start=0):
        return _iterate(_qemutrace.InstructionReader([self.path], start))

    def markers(self):
        return _qemutrace.file_markers(self.path)


class Trace:
    """A run (its cores in core order) or a single core file."""

    def __init__(self, path):
        self.path = path
        paths = _qemutrace.expand_trace_paths(path)  # checks the manifest first
        self.manifest = None  # the run's BASE.json as a dict, when path names a run by it
        manifest = _qemutrace.manifest_path(path)
        if manifest:
            with _builtins.open(manifest, encoding="utf-8") as f:
                self.manifest = _json.load(f)
        self.cores = [Core(p) for p in paths]

    def __repr__(self):
        return "<qemutrace.Trace %s: %d cores>" % (self.path, len(self.cores))

    @property
    def instruction_count(self):
        return sum(c.instruction_count for c in self.cores)

    def chunks(self, size=CHUNK_INSTRUCTIONS):
        """Every core's chunks, core by core (Chunk.core says whose)."""
        for c in self.cores:
            yield from c.chunks(size)

    def instructions(self):
        """Instruction objects of every core merged in time order (ties: lower core first)."""
        return _iterate(_qemutrace.InstructionReader([c.path for c in self.cores], 0))

    def markers(self):
        """Every core's markers, core by core, each with the instruction index it precedes."""
        return [m for c in self.cores for m in c.markers()]


def open(path):  # noqa: A001  (the module's entry point, like io.open)
    """Opens a run (its base or BASE.json) or one core's trace file."""
    return Trace(path)
