"""Python reader speed against the C++ reader, on the same trace, in the
same run: markdown on stdout (bench/python_read.sh makes the trace).

    python3 bench/python_read.py BUILD TRACE [REPS]

C++: bench/guest/decode.cpp (CoreReader, every field of every instruction
and access touched). Python, numpy path: `qemutrace.open(TRACE).chunks()`,
and per chunk one numpy reduction over pc, cpl, vaddr, paddr, size and kind
(the same fields). Python, objects: `.instructions()` on the first
OBJECT_INSNS instructions only (it is meant for convenience, not speed).
Runs alternate C++ and Python; medians of REPS. Rates are instructions per
second of wall time and of CPU time (all threads: both readers decompress
the next chunk on a second thread); on a shared machine the CPU-time ratio
is the steadier one.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

OBJECT_INSNS = 2_000_000


def build_decode(build, tmp):
    exe = os.path.join(tmp, "decode")
    src = os.path.dirname(os.path.abspath(__file__))
    subprocess.run(["c++", "-O2", "-std=c++20", "-I", os.path.join(src, "..", "include"),
                    os.path.join(src, "guest", "decode.cpp"), os.path.join(build, "lib", "libqemutrace-trace.a"),
                    "-lzstd", "-pthread", "-o", exe], check=True)
    return exe


def cpp_rate(exe, files):
    out = subprocess.run([exe, *files], check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    return j["instructions"], j["accesses"], j["instructions"] / j["wall_s"], j["instructions"] / j["cpu_s"]


NUMPY_READ = r"""
import sys, time
import qemutrace  # first: it finds numpy (docs/python.md)
t0, c0 = time.perf_counter(), time.process_time()
n = a = 0
s = 0
for c in qemutrace.open(sys.argv[1]).chunks():
    ins, acc = c.instructions, c.accesses
    s += int(ins["pc"].sum() + ins["cpl"].sum()) + int(acc["vaddr"].sum() + acc["paddr"].sum()) \
        + int(acc["size"].sum() + acc["kind"].sum())
    n += len(ins)
    a += len(acc)
print(n, a, time.perf_counter() - t0, time.process_time() - c0)
"""

OBJECT_READ = r"""
import itertools, sys, time
import qemutrace
t0, c0 = time.perf_counter(), time.process_time()
n = s = 0
for i in itertools.islice(qemutrace.open(sys.argv[1]).instructions(), int(sys.argv[2])):
    s += i.pc + len(i.accesses)
    n += 1
print(n, 0, time.perf_counter() - t0, time.process_time() - c0)
"""


def python_rate(build, script, *args):
    env = dict(os.environ, PYTHONPATH=os.path.join(build, "python"))
    out = subprocess.run([sys.executable, "-c", script, *args], check=True, capture_output=True, text=True,
                         env=env).stdout.split()
    n, a, wall, cpu = int(out[0]), int(out[1]), float(out[2]), float(out[3])
    return n, a, n / wall, n / cpu


def main():
    build, trace = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    sys.path.insert(0, os.path.join(build, "python"))
    import qemutrace
    files = [c.path for c in qemutrace.open(trace).cores]
    cpp, py, obj, cpp_cpu, py_cpu = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_decode(build, tmp)
        load0 = open("/proc/loadavg").read().split()[:3]
        for _ in range(reps):
            n, a, r, rc = cpp_rate(exe, files)
            cpp.append(r)
            cpp_cpu.append(rc)
            pn, pa, pr, prc = python_rate(build, NUMPY_READ, trace)
            assert (pn, pa) == (n, a), "the readers disagree on the counts"
            py.append(pr)
            py_cpu.append(prc)
            ratio_run = pr / r
            obj.append(python_rate(build, OBJECT_READ, trace, str(OBJECT_INSNS))[2])
            print("rep: C++ %.1f M/s, numpy %.1f M/s (%.0f%%); CPU time %.0f%%"
                  % (r / 1e6, pr / 1e6, 100 * ratio_run, 100 * prc / rc), file=sys.stderr)
        load1 = open("/proc/loadavg").read().split()[:3]
    ratios = [p / c for p, c in zip(py, cpp)]
    cpu_ratios = [p / c for p, c in zip(py_cpu, cpp_cpu)]
    print("## Python reader (bench/python_read.py)")
    print()
    print("Trace: %s (%d cores, %d instructions, %d accesses). %d reps, C++ and Python alternating;"
          % (os.path.basename(trace), len(files), n, a, reps))
    print("load average %s at start, %s at end. Python %s." % (" ".join(load0), " ".join(load1),
                                                                 sys.version.split()[0]))
    print()
    print("| reader | instructions/s of wall time (median) | [min–max] | per CPU second (median) |")
    print("|---|---|---|---|")
    for name, rates, cpu in (("C++ CoreReader (decode.cpp)", cpp, cpp_cpu), ("Python chunks() (numpy)", py, py_cpu),
                             ("Python instructions() (objects, first %d M)" % (OBJECT_INSNS // 1_000_000), obj,
                              None)):
        print("| %s | %.2f M | %.2f–%.2f M | %s |" % (name, statistics.median(rates) / 1e6, min(rates) / 1e6,
                                                       max(rates) / 1e6,
                                                       "%.2f M" % (statistics.median(cpu) / 1e6) if cpu else "–"))
    print()
    print("numpy / C++, per rep, wall time: %s; median %.0f%%. CPU time: %s; median %.0f%% (goal: at least 50%%)."
          % (", ".join("%.0f%%" % (100 * r) for r in ratios), 100 * statistics.median(ratios),
             ", ".join("%.0f%%" % (100 * r) for r in cpu_ratios), 100 * statistics.median(cpu_ratios)))


if __name__ == "__main__":
    main()
