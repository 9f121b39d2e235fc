"""The Python reader against the command-line tools on the same files:
counts against `qemutrace stats --json`, every instruction, access and
marker against `qemutrace dump`, and the errors on damaged files against the
line `stats` prints. The traces are the checked-in goldens (one file per
feature combination, and the two-core run tests/golden/convert/tiny)."""

import glob
import json
import os
import shutil
import struct
import subprocess
import warnings
import zlib

import pytest

import qemutrace

SRC = os.environ["QEMUTRACE_SRC"]
QEMUTRACE = os.path.join(os.environ["QEMUTRACE_BUILD"], "bin", "qemutrace")
GOLDEN_FILES = sorted(glob.glob(os.path.join(SRC, "tests/golden/format/*.qtr")))
TINY = os.path.join(SRC, "tests/golden/format/tiny.qtr")
RUN = os.path.join(SRC, "tests/golden/convert/tiny")  # a two-core run base
CASES = GOLDEN_FILES + [RUN]


def tool(*args):
    """(rc, stdout, stderr) of the command-line tool."""
    p = subprocess.run([QEMUTRACE, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def stats_json(path):
    rc, out, err = tool("stats", "--json", path)
    assert rc == 0, err
    return json.loads(out)


def tool_error(*args):
    """The one line a failing tool prints, without its "qemutrace: " prefix."""
    rc, _, err = tool(*args)
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("qemutrace: ")
    return lines[0][len("qemutrace: "):]


def open_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qemutrace.TraceWarning)
        return qemutrace.open(path)


# ------------------------------------------------------------------ stats


def counts_from_chunks(core):
    """stats' per-core counts, from the numpy arrays only."""
    import numpy as np
    n = loads = stores = kernel = user = hypervisor = nested = 0
    pcs, lines = set(), set()
    markers = {}
    for chunk in core.chunks():
        ins, acc = chunk.instructions, chunk.accesses
        assert (ins["core"] == core.core).all()
        n += len(ins)
        kernel += int(ins["kernel"].sum())
        privilege = ins["level"] & 3
        assert (ins["kernel"] == (privilege == qemutrace.LEVEL_KERNEL)).all()
        user += int((privilege == qemutrace.LEVEL_USER).sum())
        hypervisor += int((privilege == qemutrace.LEVEL_HYPERVISOR).sum())
        nested += int(((ins["level"] & qemutrace.LEVEL_NESTED) != 0).sum())
        pcs.update(ins["pc"].tolist())
        stores += int((acc["kind"] == qemutrace.STORE).sum())
        loads += int((acc["kind"] == qemutrace.LOAD).sum())
        first = acc["vaddr"] >> np.uint64(6)
        last = (acc["vaddr"] + acc["size"].astype(np.uint64) - np.uint64(1)) >> np.uint64(6)
        lines.update(first.tolist())
        lines.update(last.tolist())  # an access straddling a line touches the next one too
        for k in chunk.markers["kind"].tolist():
            name = qemutrace.MARKER_KINDS[k]
            markers[name] = markers.get(name, 0) + 1
    return {"instructions": n, "loads": loads, "stores": stores, "kernel_instructions": kernel,
            "user_instructions": user, "hypervisor_instructions": hypervisor, "nested_instructions": nested,
            "distinct_pcs": len(pcs), "distinct_data_lines": len(lines), "markers": markers}


@pytest.mark.parametrize("path", CASES, ids=os.path.basename)
def test_chunk_counts_equal_stats(path):
    want = stats_json(path)
    trace = qemutrace.open(path)
    assert [c.core for c in trace.cores] == [c["core"] for c in want["cores"]]
    total = 0
    for core, w in zip(trace.cores, want["cores"]):
        got = counts_from_chunks(core)
        for key, value in got.items():
            if w.get(key) is None and key in ("hypervisor_instructions", "nested_instructions"):
                assert value == 0, (core.path, key)  # a trace without levels has neither
                continue
            assert value == w[key], (core.path, key)
        assert core.instruction_count == w["instructions"]
        assert core.file_bytes == w["bytes"]
        total += got["instructions"]
    assert trace.instruction_count == total == want["total"]["instructions"]


def test_golden_files_hold_something_to_compare():
    # The comparisons above mean little on empty files.
    t = stats_json(RUN)["total"]
    assert len(t["markers"]) > 0 and t["loads"] > 0 and t["stores"] > 0
    assert stats_json(TINY)["total"]["instructions"] == 57


# ------------------------------------------------------------------- dump


def value_text(size, value):
    if size >= 16:
        return "%032x" % value
    return "%0*x" % (2 * max(size, 1), value & ((1 << (8 * size)) - 1) if size < 8 else value)


def access_line(store, vaddr, paddr, size, value, features):
    s = "  %s 0x%x" % ("W" if store else "R", vaddr)
    if features & qemutrace.FEATURES["phys_addr"]:
        s += "/0x%x" % paddr
    s += " %d" % size
    if features & qemutrace.FEATURES["values"]:
        s += " =0x" + value_text(size, value)
    return s


def marker_line(kind, source, mid, value):
    return "M %s %s id=%d value=0x%x" % (kind, source, mid, value)


def dump_lines(path):
    """dump's lines with the disassembly cut off (the reader does not disassemble)."""
    rc, out, err = tool("dump", path)
    assert rc == 0, err
    lines = []
    for line in out.splitlines():
        if line.startswith("M ") or line.startswith("  "):
            lines.append(line)
        else:
            core, index, pc, mode, code = line.split(" ", 4)
            lines.append(" ".join([core, index, pc, mode, code.split(" ", 1)[0]]))
    return lines


def level_letters(level):
    """dump's level column (docs/trace-format.md): K, U or H, then 2 for a level-2 guest."""
    return "KUH?"[level & 3] + ("2" if level & 4 else "")


def lines_from_objects(core):
    out = []
    for insn in core.instructions():
        out += [marker_line(m.kind, m.source, m.id, m.value) for m in insn.markers]
        out.append("%d %d 0x%x %s %s" % (insn.core, insn.index, insn.pc, level_letters(insn.level),
                                         insn.bytes.hex()))
        assert len(insn.bytes) == insn.size
        out += [access_line(a.is_store, a.vaddr, a.paddr, a.size, a.value, core.features) for a in insn.accesses]
    tail = [m for m in core.markers() if m.insn == core.instruction_count]
    out += [marker_line(m.kind, m.source, m.id, m.value) for m in tail]
    return out


def lines_from_chunks(core, size=qemutrace.CHUNK_INSTRUCTIONS):
    out = []
    code = {i.index: i.bytes.hex() for i in core.instructions()}  # bytes are not in the arrays
    for chunk in core.chunks(size):
        assert 0 < len(chunk.instructions) <= size or len(chunk.markers)
        marks = chunk.markers.tolist()
        acc = chunk.accesses
        for row in chunk.instructions:
            index = int(row["index"])
            out += [marker_line(qemutrace.MARKER_KINDS[k], qemutrace.MARKER_SOURCES[s], mid, v)
                    for insn, v, mid, c, k, s in marks if insn == index]
            out.append("%d %d 0x%x %s %s" % (row["core"], index, row["pc"], level_letters(int(row["level"])),
                                             code[index]))
            first, count = int(row["first_access"]), int(row["access_count"])
            for a in acc[first:first + count]:
                assert a["insn"] == index
                value = int(a["value_lo"]) | (int(a["value_hi"]) << 64 if a["size"] > 8 else 0)
                out.append(access_line(a["kind"] == qemutrace.STORE, int(a["vaddr"]), int(a["paddr"]),
                                       int(a["size"]), value, core.features))
        out += [marker_line(qemutrace.MARKER_KINDS[k], qemutrace.MARKER_SOURCES[s], mid, v)
                for insn, v, mid, c, k, s in marks if insn == core.instruction_count]
    return out


@pytest.mark.parametrize("path", CASES, ids=os.path.basename)
def test_instructions_and_chunks_equal_dump(path):
    trace = qemutrace.open(path)
    want = dump_lines(path)
    from_objects = [line for c in trace.cores for line in lines_from_objects(c)]
    from_chunks = [line for c in trace.cores for line in lines_from_chunks(c)]
    from_small_chunks = [line for c in trace.cores for line in lines_from_chunks(c, 7)]  # batches cut blocks
    assert len(want) > 0
    assert from_objects == want
    assert from_chunks == want
    assert from_small_chunks == want


def test_run_instructions_merge_cores_in_time_order():
    trace = qemutrace.open(RUN)
    assert len(trace.cores) == 2
    merged = [(i.core, i.index, i.time_ns) for i in trace.instructions()]
    per_core = sorted((c, i) for c, i, _ in merged)
    assert per_core == [(c.core, i) for c in trace.cores for i in range(c.instruction_count)]
    times = [t for _, _, t in merged]
    assert times == sorted(times)


def test_instructions_start_at_an_index():
    core = qemutrace.open(TINY).cores[0]
    tail = [i.index for i in core.instructions(start=40)]
    assert tail == list(range(40, 57))


def test_metadata_of_a_core_file():
    trace = qemutrace.open(TINY)
    assert trace.manifest is None
    (core,) = trace.cores
    assert (core.core, core.isa, core.version, core.complete, core.damage) == (0, "x86_64", 2, True, "")
    assert core.feature_names == ["asid", "kernel", "phys_addr"]  # what golden_test.cpp writes
    assert core.chunk_count == 2 and core.instruction_count == 57
    assert [(m.kind, m.insn) for m in core.markers()][0][0] == "roi_begin"


def test_a_manifest_names_the_run(tmp_path):
    for k in (0, 1):
        shutil.copy(RUN + "_%d" % k, tmp_path / ("r_%d" % k))
    manifest = {"qemutrace_manifest": 1, "complete": True, "cores": 2,
                "files": [{"core": 1, "path": "r_1"}, {"core": 0, "path": "r_0"}]}
    (tmp_path / "r.json").write_text(json.dumps(manifest))
    for name in ("r", "r.json"):
        trace = qemutrace.open(str(tmp_path / name))
        assert trace.manifest == manifest
        assert [os.path.basename(c.path) for c in trace.cores] == ["r_0", "r_1"]


# ----------------------------------------------------------------- errors


def damaged(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(bytes(data))
    return str(p)


def with_header(data, at, values):
    b = bytearray(data)
    b[at:at + len(values)] = bytes(values)
    struct.pack_into("<I", b, 60, zlib.crc32(bytes(b[:60])))
    return b


def error_cases(tmp_path):
    t = open(TINY, "rb").read()
    assert len(t) == 492, "tiny.qtr changed: recheck the offsets below"
    magic = bytearray(t)
    magic[1] = ord("X")
    flipped = bytearray(t)
    flipped[150] ^= 0x55  # inside chunk 0's payload
    return {
        "short": damaged(tmp_path, "short", t[:30]),
        "magic": damaged(tmp_path, "magic", magic),
        "feature": damaged(tmp_path, "feature", with_header(t, 16, [t[16] | 0x80])),
        "reader_version": damaged(tmp_path, "version", with_header(t, 10, [3, 0])),
        "payload": damaged(tmp_path, "payload", flipped),
        "text": damaged(tmp_path, "text", b"not a trace\n"),
        "missing": str(tmp_path / "nope"),
        "manifest": damaged(tmp_path, "broken.json", b"{\"files\": 3}"),
    }


def python_error(path):
    """The message of the TraceError reading every instruction raises."""
    with pytest.raises(qemutrace.TraceError) as e:
        for chunk in qemutrace.open(path).chunks():
            pass
    message = str(e.value)
    with pytest.raises(qemutrace.TraceError) as e:
        for insn in qemutrace.open(path).instructions():
            pass
    assert str(e.value) == message
    return message


def test_errors_are_the_tools_lines(tmp_path):
    cases = error_cases(tmp_path)
    seen = set()
    for name, path in cases.items():
        want = tool_error("stats", path)
        assert python_error(path) == want, name
        seen.add(want)
    assert len(seen) == len(cases)  # each damage has its own line
    assert any("bad magic" in m for m in seen)
    assert any("needs feature bit 7" in m for m in seen)
    assert any("checksum mismatch" in m for m in seen)


def test_a_file_cut_short_warns_like_the_tools_and_keeps_what_is_complete(tmp_path):
    t = open(TINY, "rb").read()
    cut = damaged(tmp_path, "cut", t[:len(t) - 128 - 10])  # the index and footer are the last 128 bytes
    rc, out, err = tool("stats", "--json", cut)
    assert rc == 0
    want_warning = err.strip()
    assert want_warning.startswith("qemutrace: warning: ")
    with pytest.warns(qemutrace.TraceWarning) as w:
        trace = qemutrace.open(cut)
    assert [str(x.message) for x in w] == [want_warning[len("qemutrace: warning: "):]]
    (core,) = trace.cores
    assert not core.complete and core.damage
    n = json.loads(out)["total"]["instructions"]
    assert n == 32  # the first chunk
    assert sum(len(c.instructions) for c in core.chunks()) == n
    assert sum(1 for _ in core.instructions()) == n


def test_chunk_arrays_stay_valid_while_held():
    # Buffers are recycled only once numpy frees them: chunks kept while
    # later ones are read still hold their own rows.
    import numpy as np
    path = os.path.join(SRC, "tests/golden/format/features_all.qtr")
    kept = list(open_quietly(path).chunks(64))
    pcs = np.concatenate([c.instructions["pc"] for c in kept])
    vaddrs = np.concatenate([c.accesses["vaddr"] for c in kept])
    want = list(open_quietly(path).instructions())
    assert pcs.tolist() == [i.pc for i in want]
    assert vaddrs.tolist() == [a.vaddr for i in want for a in i.accesses]
    # A batch ends at its size, or once its accesses reach twice that.
    for c in kept[:-1]:
        assert len(c.instructions) == 64 or len(c.accesses) >= 128
