"""aarch64 tracing speed against plain QEMU (bench/aarch64.sh).

The guest suite's real programs (busybox applets, bench/guest/bench.py:
REAL_PROGS, run by bench/guest/qt-roi.c, all in one boot) in the built-in
aarch64 guest and, in the same run for comparison, the x86_64 guest:
(a) no plugin, (b) plugin loaded, tracing off (markers=int: the NOP markers
do not count), (c) full binary trace; -smp 2, interleaved per rep.
Prints a markdown section on stdout, progress on stderr.
Environment: BUILD (default build), REPS (3), ARCHES ("aarch64 x86_64"),
REAL_PROGS, REAL_LINES, TIMEOUT as for bench/guest.sh.
"""
import os
import shlex
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest"))
import bench as G  # noqa: E402  the guest suite: runner, real programs, work dir

REPS = int(os.environ.get("REPS", "3"))
ARCHES = os.environ.get("ARCHES", "aarch64 x86_64").split()
CC = {"x86_64": "gcc", "aarch64": "aarch64-linux-gnu-gcc"}
CONFIGS = [("a", None), ("b", "markers=int"), ("c", "format=binary")]


def guest(arch):
    """(QEMU arguments with the serial on stdout, initrd running every real program)."""
    gdir = G.sh(["bash", "guest/build-image.sh", "--arch", arch]).strip().splitlines()[-1]
    qargs = []
    for a in shlex.split(G.sh(["bash", "guest/build-image.sh", "--print-qemu-args", "--arch", arch])):
        qargs += ["-display", "none", "-serial", "stdio", "-monitor", "none"] if a == "-nographic" else [a]
    roi = os.path.join(G.work, f"qt-roi-{arch}")
    G.sh([CC[arch], "-O2", "-static", "-Iguest", "-o", roi, "bench/guest/qt-roi.c"])
    allargs = [x for prog in G.REAL_PROGS for x in prog]
    return qargs, G.make_initrd(gdir, f"real-{arch}", roi, allargs)


def main():
    load0 = open("/proc/loadavg").read().split()[:3]
    setups = {arch: guest(arch) for arch in ARCHES}
    res = {}  # (arch, prog, label) -> [roi seconds]
    insns = {}  # arch -> [instructions traced in (c)]
    for rep in range(REPS):
        for arch in ARCHES:
            qargs, initrd = setups[arch]
            for label, opts in CONFIGS:
                tag = f"{arch}/{label}/rep{rep + 1}"
                r = G.run_guest(qargs, initrd, opts, tag, count=(label == "c"), roi_prefix="qt-roi")
                for name, *_ in G.REAL_PROGS:
                    if r["ok"] and name in r["rois"]:
                        res.setdefault((arch, name, label), []).append(r["rois"][name] / 1e9)
                if r["ok"] and r["insns"]:
                    insns.setdefault(arch, []).append(r["insns"])
                G.log(f"{tag}: rois={r['rois']} wall={r['wall']:.1f} s insns={r['insns']}")
    load1 = open("/proc/loadavg").read().split()[:3]
    commit = G.sh(["git", "rev-parse", "--short", "HEAD"]).strip()
    qemu = {a: G.sh([setups[a][0][0], "--version"]).splitlines()[0] for a in ARCHES}
    P = print
    P("## aarch64 guest: tracing speed against plain QEMU (bench/aarch64.sh)")
    P()
    P(f"The real programs of the guest suite (busybox applets, {G.REAL_LINES} lines of input made in the")
    P("guest before each ROI; all in one boot, each between its own markers) in the built-in guests,")
    P(f"`-smp 2 -m 512M`, {REPS} interleaved reps, medians of the programs' own ROI times (guest")
    P("CLOCK_MONOTONIC). (a) no plugin, (b) plugin loaded with tracing off (`markers=int`), (c) full")
    P("binary trace (defaults). The x86_64 rows are the same programs in the same run, for comparison.")
    P(f"Commit {commit}; " + "; ".join(f"{a}: {q}" for a, q in qemu.items()) +
      f"; load average {' '.join(load0)} at start, {' '.join(load1)} at end.")
    P()
    P("| arch | program | a: s | b: s | c: s | b/a | c/a |")
    P("|---|---|---|---|---|---|---|")
    gm = {}
    for arch in ARCHES:
        for name, *_ in G.REAL_PROGS:
            m = {lb: statistics.median(res[(arch, name, lb)]) if res.get((arch, name, lb)) else None
                 for lb, _ in CONFIGS}
            ra = {lb: m[lb] / m["a"] if m[lb] and m["a"] else None for lb in ("b", "c")}
            for lb in ("b", "c"):
                if ra[lb]:
                    gm.setdefault((arch, lb), []).append(ra[lb])
            P(f"| {arch} | {name} | {G.fmt(m['a'], '.3f')} | {G.fmt(m['b'], '.3f')} | {G.fmt(m['c'], '.3f')} | "
              f"{G.fmt(ra['b'])}× | {G.fmt(ra['c'])}× |")
    P()
    for arch in ARCHES:
        n = statistics.median(insns[arch]) if insns.get(arch) else None
        P(f"- {arch}: geomean b/a {G.fmt(G.geomean(gm.get((arch, 'b'), [])))}×, c/a "
          f"{G.fmt(G.geomean(gm.get((arch, 'c'), [])))}×; {G.fmt(n and n / 1e6, '.1f')} M instructions traced "
          "per (c) boot (all ROIs, both cores, kernel included).")
    if G.failures:
        P()
        P("Failures: " + "; ".join(f"{w}: {d}" for w, d in G.failures))


if __name__ == "__main__":
    try:
        main()
    finally:
        if os.environ.get("KEEP_WORK") != "1":
            G.shutil.rmtree(G.work, ignore_errors=True)
