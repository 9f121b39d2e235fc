"""Format independence and the cost of the virtual clock (bench/formats.sh).

Runs each workload with `qemutrace run` in the built-in guest, interleaved
per rep: --format binary and --format tejas (-smp 2, host and virtual clock),
and --format binary with the host and with the virtual clock (-smp 1). Reports the guest-side ROI time (the program's roi_ns), the
user and kernel instructions (the writer's counts in the manifest) and their
ratios. Prints a markdown section on stdout, progress on stderr.
Environment: BUILD (default build), REPS (3), WORKLOADS ("name:prog:args;...").
"""
import json, os, re, statistics, subprocess, sys, tempfile, shutil

BUILD = os.environ.get("BUILD", "build")
CLI = os.path.join(BUILD, "bin", "qemutrace")
REPS = int(os.environ.get("REPS", "3"))
WL = os.environ.get("WORKLOADS", "compute:qt-bench-compute:1;fileops:qt-bench-fileops:250")
WORKLOADS = [tuple(w.split(":")) for w in WL.split(";") if w]
# label, extra options, -smp, the label this one is compared with. Under the
# virtual clock the two formats must agree exactly (same kernel count, same
# guest ROI time), whatever the host's load.
VIRTUAL = ["--clock", "virtual"]
CONFIGS = [("binary", ["--format", "binary"], 2, None), ("tejas", ["--format", "tejas"], 2, "binary"),
           ("binary, virtual clock", ["--format", "binary"] + VIRTUAL, 2, None),
           ("tejas, virtual clock", ["--format", "tejas"] + VIRTUAL, 2, "binary, virtual clock"),
           ("binary -smp 1", ["--format", "binary"], 1, None),
           ("binary -smp 1, virtual clock", ["--format", "binary"] + VIRTUAL, 1, "binary -smp 1")]


def log(*a):
    print("formats-bench:", *a, file=sys.stderr, flush=True)


def run(prog, args, extra, smp, work):
    base = os.path.join(work, "t")
    p = subprocess.run([CLI, "run", "--quiet", "--smp", str(smp), "--program", prog, "--args", args,
                        "--trace", base] + extra, capture_output=True, text=True, errors="replace")
    m = re.findall(r"roi_ns=(\d+)", p.stdout)
    if p.returncode != 0 or not m:
        return {"ok": False, "err": (p.stderr.strip().splitlines() or ["?"])[-1]}
    man = json.load(open(base + ".json"))
    # Host time of the ROI: first roi_begin to the first event that ends it.
    ev = sorted((e["time_ns"], e["event"]) for e in man["events"])
    t0 = next((t for t, e in ev if e == "roi_begin"), None)
    t1 = next((t for t, e in ev if t0 is not None and t >= t0 and e not in ("roi_begin", "skip_done", "discontinuity")), None)
    k = sum(f["kernel_instructions"] for f in man["files"])
    n = sum(f["instructions"] for f in man["files"])
    return {"ok": True, "roi": int(m[-1]) / 1e9, "user": n - k, "kernel": k,
            "host": (t1 - t0) / 1e9 if t0 is not None and t1 is not None else float("nan")}


def main():
    load0 = open("/proc/loadavg").read().split()[:3]
    res = {}
    work = tempfile.mkdtemp(prefix="qt-formats-bench.")
    try:
        for rep in range(REPS):
            for name, prog, args in WORKLOADS:
                for label, extra, smp, _ in CONFIGS:
                    d = tempfile.mkdtemp(dir=work)
                    r = run(prog, args, extra, smp, d)
                    shutil.rmtree(d, ignore_errors=True)
                    log(f"rep {rep + 1} {name} {label}: {r}")
                    res.setdefault((name, label), []).append(r)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = open("/proc/loadavg").read().split()[:3]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    P = print
    P("## Format independence and the virtual clock (bench/formats.sh)")
    P()
    P(f"`qemutrace run --program P` in the built-in guest; configurations interleaved, {REPS} reps,")
    P("medians [min–max]. ROI = the program's own `roi_ns` (guest CLOCK_MONOTONIC, so under the virtual")
    P("clock it is guest time, 1 ns per instruction, not host time). Counts are the writer's (manifest).")
    P(f"Commit {commit}; load average {' '.join(load0)} at start, {' '.join(load1)} at end.")
    P()
    P("Ratios: tejas against binary (-smp 2, each clock), the virtual clock against the host clock (-smp 1).")
    P()
    P("| workload | configuration | guest ROI s | ratio | host ROI s | ratio | user insns | kernel insns [min–max] | kernel share |")
    P("|---|---|---|---|---|---|---|---|---|")
    for name, prog, args in WORKLOADS:
        base = {}
        for label, _, _, against in CONFIGS:
            rs = [r for r in res[(name, label)] if r["ok"]]
            if not rs:
                P(f"| {name} (`{prog} {args}`) | {label} | failed: {res[(name, label)][0]['err']} | | | | | | |")
                continue
            roi = statistics.median(r["roi"] for r in rs)
            host = statistics.median(r["host"] for r in rs)
            base[label] = (roi, host)
            users = sorted({r["user"] for r in rs})
            kern = statistics.median(r["kernel"] for r in rs)
            shares = [100.0 * r["kernel"] / max(1, r["kernel"] + r["user"]) for r in rs]
            share = statistics.median(shares)
            b = base.get(against)
            ratio = f"{roi / b[0]:.2f}×" if b else "1"
            hratio = f"{host / b[1]:.2f}×" if b else "1"
            P(f"| {name} (`{prog} {args}`) | {label} | {roi:.3f} [{min(r['roi'] for r in rs):.3f}–"
              f"{max(r['roi'] for r in rs):.3f}] | {ratio} | {host:.3f} | {hratio} | {', '.join(map(str, users))} | "
              f"{kern:.0f} [{min(r['kernel'] for r in rs)}–{max(r['kernel'] for r in rs)}] | {share:.2f}% [{min(shares):.2f}–{max(shares):.2f}] |")
    P()
    P("Targets (issue 11): tejas guest ROI within 1.3× of binary, equal user instructions, kernel share")
    P("within 2 points. Host ROI = first roi_begin to roi_end in the manifest (host CLOCK_MONOTONIC): the")
    P("virtual clock's cost in wall-clock time, since its guest ROI counts instructions, not host time.")


if __name__ == "__main__":
    main()
