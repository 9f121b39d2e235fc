"""The cost of many sampling windows (bench/sampling.sh).

A sampled run writes two manifest events per window (roi_begin and roi_end,
source window). Runs one workload with `qemutrace run --window W --every P`
at the same traced fraction (W/P) with few and with many windows, plus a
full trace, interleaved per rep, and reports the guest-side ROI time (the
program's roi_ns), the number of window events in the manifest and the
ratio many/few. Markdown on stdout, progress on stderr.
Environment: BUILD (default build), REPS (5), PROG (qt-bench-compute),
ARGS (""), INSNS (the program's instruction count in its ROI: 225000000),
FEW (10), MANY (10000), FRACTION (10: one instruction in FRACTION traced).
"""
import json, os, re, statistics, subprocess, sys, tempfile, shutil

BUILD = os.environ.get("BUILD", "build")
CLI = os.path.join(BUILD, "bin", "qemutrace")
REPS = int(os.environ.get("REPS", "5"))
PROG = os.environ.get("PROG", "qt-bench-compute")
ARGS = os.environ.get("ARGS", "")
INSNS = int(os.environ.get("INSNS", "225000000"))
FEW = int(os.environ.get("FEW", "10"))
MANY = int(os.environ.get("MANY", "10000"))
FRACTION = int(os.environ.get("FRACTION", "10"))


def log(*a):
    print("sampling-bench:", *a, file=sys.stderr, flush=True)


def config(windows):
    every = INSNS // windows
    return ["--window", str(every // FRACTION), "--every", str(every)]


CONFIGS = [("full trace", []), (f"{FEW} windows", FEW), (f"{MANY} windows", MANY)]


def run(extra, work):
    base = os.path.join(work, "t")
    cmd = [CLI, "run", "--quiet", "--smp", "2", "--program", PROG]
    if ARGS:
        cmd += ["--args", ARGS]
    cmd += ["--trace", base] + extra
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    m = re.findall(r"roi_ns=(\d+)", p.stdout)
    if p.returncode != 0 or not m:
        return {"ok": False, "err": (p.stderr.strip().splitlines() or ["?"])[-1]}
    man = json.load(open(base + ".json"))
    return {"ok": True, "roi": int(m[-1]) / 1e9, "insns": sum(f["instructions"] for f in man["files"]),
            "events": sum(1 for e in man["events"] if e.get("source") == "window")}


def main():
    load0 = open("/proc/loadavg").read().split()[:3]
    res = {}
    work = tempfile.mkdtemp(prefix="qt-sampling-bench.")
    try:
        for rep in range(REPS):
            for label, windows in CONFIGS:
                d = tempfile.mkdtemp(dir=work)
                r = run(config(windows) if windows else [], d)
                shutil.rmtree(d, ignore_errors=True)
                log(f"rep {rep + 1} {label}: {r}")
                res.setdefault(label, []).append(r)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = open("/proc/loadavg").read().split()[:3]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    P = print
    P("## Many sampling windows (bench/sampling.sh)")
    P()
    P(f"`qemutrace run --smp 2 --program {PROG}{' --args ' + ARGS if ARGS else ''}` in the built-in guest,")
    P(f"with a full trace and with `--window W --every P` at W/P = 1/{FRACTION} and P = {INSNS} / windows;")
    P(f"configurations interleaved, {REPS} reps, medians [min–max] of the program's own `roi_ns`.")
    P(f"Commit {commit}; load average {' '.join(load0)} at start, {' '.join(load1)} at end.")
    P()
    P("| configuration | options | guest ROI s | vs full trace | window events in the manifest | traced insns |")
    P("|---|---|---|---|---|---|")
    med = {}
    for label, windows in CONFIGS:
        rs = [r for r in res[label] if r["ok"]]
        opts = " ".join(config(windows)) if windows else "–"
        if not rs:
            P(f"| {label} | `{opts}` | failed: {res[label][0]['err']} | | | |")
            continue
        med[label] = statistics.median(r["roi"] for r in rs)
        base = med.get("full trace")
        P(f"| {label} | `{opts}` | {med[label]:.3f} [{min(r['roi'] for r in rs):.3f}–{max(r['roi'] for r in rs):.3f}] | "
          f"{med[label] / base:.2f}× | {statistics.median(r['events'] for r in rs):.0f} | "
          f"{statistics.median(r['insns'] for r in rs):.0f} |" if base else "")
    few, many = med.get(f"{FEW} windows"), med.get(f"{MANY} windows")
    if few and many:
        P()
        P(f"{MANY} windows against {FEW}: **{many / few:.2f}×** guest ROI time (target: no slower, ≤ 1.0× within noise).")


if __name__ == "__main__":
    main()
