#!/usr/bin/env python3
"""Guest benchmark suite for qemutrace (run through bench/guest.sh).

Prints a markdown section on stdout and progress on stderr. See
bench/README.md for what is measured and the environment variables.
"""
import glob
import json
import math
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
os.chdir(ROOT)
BUILD = os.path.abspath(os.environ.get("BUILD", "build"))
QUICK = os.environ.get("QUICK", "0") == "1"


def envint(name, full, quick):
    v = os.environ.get(name)
    return int(v) if v else (quick if QUICK else full)


REPS = envint("REPS", 5, 1)
REPS_FORMATS = envint("REPS_FORMATS", 1, 1)
REPS_ATTR = envint("REPS_ATTR", 1, 1)
REPS_SCALE = envint("REPS_SCALE", 3, 1)
REPS_NATIVE = envint("REPS_NATIVE", 5, 1)
TIMEOUT = envint("TIMEOUT", 1800, 600)
FORMATS = os.environ.get("FORMATS", "tejas champsim din text").split()
ONLY = os.environ.get("WORKLOADS", "").split()
SECTIONS = set(os.environ.get("SECTIONS", "main formats decode scale real profile peer").split())

PLUGIN = os.path.join(BUILD, "lib", "libqemutrace.so")
# An A/B in the same interleaved run: another build's plugin as `c:base`
# (real programs and scaling).
BASE_PLUGIN = os.environ.get("BASE_PLUGIN")
CLI = os.path.join(BUILD, "bin", "qemutrace")

# name, program, full-size args, quick args, lackey (small) args.
# Full sizes are the programs' defaults (guest/README.md); never tuned.
WORKLOADS = [
    ("compute", "qt-bench-compute", [], ["2"], ["1"]),
    ("chase", "qt-bench-chase", [], ["16", "3"], ["8", "1"]),
    ("stream", "qt-bench-stream", [], ["2"], ["1"]),
    ("fileops", "qt-bench-fileops", [], ["500"], ["200"]),
]
# Sizes for section (d), the other formats (also used by QUICK for all).
FSIZES = {"compute": ["1"], "chase": ["16", "2"], "stream": ["1"], "fileops": ["250"]}
if ONLY:
    WORKLOADS = [w for w in WORKLOADS if w[0] in ONLY]

# Configurations of the main table: label -> plugin options (None: no plugin).
# (b): markers=int makes the plugin ignore the workloads' NOP markers, so
# tracing stays off for the whole run (only `int $100` would start it, and
# no workload executes one): the plugin is loaded with its translation hook.
MAIN_CONFIGS = [("a", None), ("b", "markers=int"), ("c", "format=binary")]
FORMAT_CONFIGS = [("d:" + f, "format=" + f) for f in FORMATS]
# Attribution variants of (c), fewer reps.
ATTR_CONFIGS = [
    ("c:phys=off", "format=binary,phys=off"),
    ("c:threads=2", "format=binary,threads=2"),
    ("c:zstd=-5", "format=binary,zstd=-5"),
    ("b:skip", "skip=1000000000000000"),  # fast-forward counting inside the ROI
    # bench/guest/floor-plugin.c: qemutrace's callbacks, empty (instrumentation floor).
    ("floor:none", "@floor:mode=none"),  # a plugin loaded, nothing instrumented: the floor of (b)
    ("floor:tb", "@floor:mode=tb"),
    ("floor:full", "@floor:mode=full"),
    ("floor:ring", "@floor:mode=ring"),  # + copying the captured data out, no logic
]
FLOOR = [None]

# Real programs (section "real"): busybox applets in the built-in guest, run
# by bench/guest/qt-roi.c, which makes the input in the guest (outside the
# ROI, deterministic: seq + awk) and times the command between NOP markers.
REAL_LINES = envint("REAL_LINES", 30000, 10000)  # ~54 bytes a line: 1.6 MB of text
REAL_GEN = ("seq 1 %d | awk '{x=($1*7919)%%100003; printf \"%%05d %%s line %%d of the text, "
            "field %%x, word%%d\\n\", x, (x%%3?\"alpha\":\"beta\"), $1, x*31%%65536, $1%%97}' "
            "> /tmp/in.txt" % REAL_LINES)
REAL_TREE = ("mkdir -p /tmp/tree && cd /tmp/tree && for d in $(seq 20); do mkdir $d; "
             "for f in $(seq 25); do dd if=/tmp/in.txt of=$d/$f bs=1k count=2 skip=$((d*25+f)) "
             "2>/dev/null; done; done")
# name, setup (outside the ROI), measured command
REAL_PROGS = [
    ("gzip", REAL_GEN, "gzip -9 -c /tmp/in.txt > /tmp/out.gz"),
    ("sha256sum", REAL_GEN, "sha256sum /tmp/in.txt /tmp/in.txt /tmp/in.txt /tmp/in.txt > /tmp/out"),
    ("sort", REAL_GEN, "sort /tmp/in.txt > /tmp/out"),
    ("awk", REAL_GEN, "awk '{s[$5]+=$1; n++} END{for(k in s) t+=s[k]; print n, t}' /tmp/in.txt > /tmp/out"),
    ("fsmix", REAL_GEN + " && " + REAL_TREE,
     "find /tmp/tree -type f | wc -l > /tmp/n && tar -cf /tmp/t.tar -C /tmp tree && mkdir /tmp/x && "
     "tar -xf /tmp/t.tar -C /tmp/x && dd if=/tmp/t.tar of=/tmp/t2 bs=512 2>/dev/null && "
     "rm -rf /tmp/x /tmp/t2 /tmp/t.tar"),
]
REAL_ONLY = os.environ.get("REAL_PROGS", "").split()
if REAL_ONLY:
    REAL_PROGS = [r for r in REAL_PROGS if r[0] in REAL_ONLY]
REPS_REAL = envint("REPS_REAL", 3, 1)
REAL_CONFIGS = [("a", None), ("b", "markers=int"), ("c", "format=binary"), ("floor:ring", "@floor:mode=ring")]
if BASE_PLUGIN:
    REAL_CONFIGS.append(("c:base", "@base:format=binary"))
# More (c) variants for an A/B of plugin options: REAL_EXTRA="c:chunk64k:format=binary,chunk=65536 ..."
# (the label is the first two colon-separated fields, the plugin options the rest).
for _spec in os.environ.get("REAL_EXTRA", "").split():
    _lb, _sep, _opts = _spec.partition(":")
    _name, _sep2, _opts = _opts.partition(":")
    REAL_CONFIGS.append((_lb + ":" + _name, _opts))
if os.environ.get("REAL_LABELS"):  # subset, in this order
    _by_label = dict(REAL_CONFIGS)
    REAL_CONFIGS = [(lb, _by_label[lb]) for lb in os.environ["REAL_LABELS"].split() if lb in _by_label]
if os.environ.get("ATTR", "1") == "0":
    ATTR_CONFIGS = []

failures = []  # (what, detail)
RAW_OUT = os.environ.get("RAW_OUT", os.path.join(tempfile.gettempdir(), "qemutrace-guest-bench-raw.json"))


def log(*a):
    print("[guest-bench]", *a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def rotated(configs, rep):
    """The configurations of one rep, starting one further each rep: a run
    right after another build's (floor:ring's boot in particular) was
    measured up to 1.4x slower, so no configuration may always follow the
    same one."""
    k = rep % len(configs) if configs else 0
    return configs[k:] + configs[:k]


def median(xs):
    return statistics.median(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def fmt(x, spec=".2f", none="–"):
    return none if x is None else format(x, spec)


def tree_bytes(d, prefix):
    total = 0
    for p in glob.glob(os.path.join(d, prefix + "_*")):
        total += os.path.getsize(p)
    return total


# ---------------------------------------------------------------- setup ----
work = tempfile.mkdtemp(prefix="qemutrace-guest-bench.", dir=os.environ.get("BENCH_TMP"))


def setup():
    for p in (PLUGIN, CLI):
        if not os.path.exists(p):
            sys.exit(f"guest-bench: {p} missing (build first; BUILD={BUILD})")
    log("building the guest image (cached)")
    gdir = sh(["bash", "guest/build-image.sh", "--arch", "x86_64"]).strip().splitlines()[-1]
    qargs = shlex.split(sh(["bash", "guest/build-image.sh", "--print-qemu-args", "--arch", "x86_64"]))
    # Serial on stdout, no monitor on stdio (stdin is /dev/null).
    out = []
    for a in qargs:
        if a == "-nographic":
            out += ["-display", "none", "-serial", "stdio", "-monitor", "none"]
        else:
            out.append(a)
    progs = os.path.join(gdir, "programs")
    # Helpers.
    helpers = {}
    try:
        sh(["gcc", "-O2", "-static", "-Iguest", "-o", f"{work}/qt-par", "bench/guest/qt-par.c"])
        helpers["qt-par"] = f"{work}/qt-par"
    except subprocess.CalledProcessError as e:
        failures.append(("build qt-par", e.stderr.strip()[-300:]))
    try:
        sh(["gcc", "-O2", "-static", "-Iguest", "-o", f"{work}/qt-roi", "bench/guest/qt-roi.c"])
        helpers["qt-roi"] = f"{work}/qt-roi"
    except subprocess.CalledProcessError as e:
        failures.append(("build qt-roi", e.stderr.strip()[-300:]))
    try:
        sh(["g++", "-O2", "-std=c++20", "-Iinclude", "-o", f"{work}/decode", "bench/guest/decode.cpp",
            os.path.join(BUILD, "lib", "libqemutrace-trace.a"), "-lzstd", "-pthread"])
        helpers["decode"] = f"{work}/decode"
    except subprocess.CalledProcessError as e:
        failures.append(("build decode helper", e.stderr.strip()[-300:]))
    inc = os.path.join(BUILD, "qemu-include")
    try:
        glib = sh(["pkg-config", "--cflags", "glib-2.0"]).split()
        sh(["gcc", "-O2", "-shared", "-fPIC", "-I" + inc] + glib +
           ["-o", f"{work}/libfloor.so", "bench/guest/floor-plugin.c"])
        FLOOR[0] = f"{work}/libfloor.so"
    except subprocess.CalledProcessError as e:
        failures.append(("build floor plugin", e.stderr.strip()[-300:]))
    return gdir, out, progs, helpers


def make_initrd(gdir, name, prog_path, args):
    cpio = f"{work}/{name}.cpio"
    sh(["bash", "guest/add-workload.sh", cpio, prog_path] + list(args))
    comb = f"{work}/{name}.initrd"
    with open(comb, "wb") as o:
        for p in (os.path.join(gdir, "initrd.img"), cpio):
            with open(p, "rb") as i:
                shutil.copyfileobj(i, o)
    return comb


def stats_json(base):
    out = sh([CLI, "stats", "--json", base])
    return json.loads(out)["total"]


def run_guest(qargs, initrd, opts, tag, smp=2, keep=None, count=False, roi_prefix=None):
    """One QEMU run. Returns dict(ok, roi_ns, bytes, insns, wall, err)."""
    args = list(qargs)
    for i, a in enumerate(args):
        if a == "-initrd":
            args[i + 1] = initrd
        if a == "-smp":
            args[i + 1] = str(smp)
    d = tempfile.mkdtemp(prefix="run.", dir=work)
    base = os.path.join(d, "t")
    if opts is not None and opts.startswith("@floor:"):
        if not FLOOR[0]:
            failures.append((tag, "floor plugin not built"))
            return {"ok": False, "roi_ns": None, "bytes": None, "insns": None, "kernel": None,
                    "err": "no floor plugin", "wall": 0}
        args += ["-plugin", f"{FLOOR[0]},{opts[len('@floor:'):]}"]
    elif opts is not None and opts.startswith("@base:"):
        args += ["-plugin", f"{BASE_PLUGIN},base={base},quiet=on,{opts[len('@base:'):]}"]
    elif opts is not None:
        args += ["-plugin", f"{PLUGIN},base={base},quiet=on" + ("," + opts if opts else "")]
    r = {"ok": False, "roi_ns": None, "bytes": None, "insns": None, "kernel": None, "err": ""}
    t0 = time.monotonic()
    try:
        p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
        con = p.stdout.decode(errors="replace")
        errtxt = p.stderr.decode(errors="replace")
        rc = p.returncode
    except subprocess.TimeoutExpired as e:
        con = (e.stdout or b"").decode(errors="replace")
        errtxt = f"timeout after {TIMEOUT}s"
        rc = -1
    r["wall"] = time.monotonic() - t0
    m = [x for x in re.findall(r"^(\S+): .*?roi_ns=(\d+)", con, re.M)
         if roi_prefix is None or x[0] == roi_prefix]
    if m:
        r["roi_ns"] = int(m[-1][1])
    # qt-roi: one ROI per program, by name
    r["rois"] = {k: int(v) for k, v in re.findall(r"^qt-roi: name=(\S+) roi_ns=(\d+)", con, re.M)}
    good = rc == 0 and "qemutrace-guest: exit 0" in con and r["roi_ns"] is not None
    if not good:
        tail = " | ".join([l.strip() for l in (con + "\n" + errtxt).strip().splitlines()[-4:]])
        r["err"] = f"rc={rc}: {tail}"[:400]
        failures.append((tag, r["err"]))
        log("FAILED", tag, r["err"])
        with open(os.path.join(work, "failed-" + tag.replace("/", "_") + ".log"), "w") as fh:
            fh.write(con + "\n--- stderr\n" + errtxt)
    else:
        r["ok"] = True
        if opts is not None and "format=" in (opts or ""):
            r["bytes"] = tree_bytes(d, "t")
            if count:
                try:
                    st = stats_json(base)
                    r["insns"] = st["instructions"]
                    r["kernel"] = st["kernel_instructions"]
                    if not st.get("complete", True):
                        failures.append((tag, "trace incomplete (stats: complete=false)"))
                except Exception as e:  # noqa: BLE001
                    failures.append((tag + " stats", str(e)[:300]))
    if keep and r["ok"]:
        if os.path.exists(keep):
            shutil.rmtree(keep)
        os.rename(d, keep)
    else:
        shutil.rmtree(d, ignore_errors=True)
    return r


def run_profiled(qargs, initrd, opts, tag, data, smp=2):
    """One run under `perf record` of the QEMU process (clock: CLOCK_MONOTONIC,
    so that samples can be sliced by time). Returns {name: (t0, t1, roi_ns)},
    t0/t1 the host times of qt-roi's "begin" and roi_ns lines (qt-par, which
    prints no begin line: name "qt-par", t0 = its line's time - roi_ns)."""
    args = list(qargs)
    for i, a in enumerate(args):
        if a == "-initrd":
            args[i + 1] = initrd
        if a == "-smp":
            args[i + 1] = str(smp)
    d = tempfile.mkdtemp(prefix="prof.", dir=work)
    args += ["-plugin", f"{PLUGIN},base={os.path.join(d, 't')},quiet=on,{opts}"]
    args += ["-name", "bench,debug-threads=on"]  # vCPU threads named "CPU n/TCG" (profile_threads)
    cmd = ["perf", "record", "-q", "-k", "CLOCK_MONOTONIC", "-F", "999", "-o", data, "--"] + args
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    spans, begin = {}, None
    for line in p.stdout:
        line = line.decode(errors="replace")
        now = time.clock_gettime(time.CLOCK_MONOTONIC)
        if line.startswith("qt-roi: begin"):
            begin = now
        m = re.search(r"qt-roi: name=(\S+) roi_ns=(\d+)", line)
        if m and begin is not None:
            spans[m.group(1)] = (begin, now, int(m.group(2)))
            begin = None
        m = re.search(r"qt-par: .*roi_ns=(\d+)", line)
        if m:
            spans["qt-par"] = (now - int(m.group(1)) / 1e9, now, int(m.group(1)))
    err = p.stderr.read().decode(errors="replace")
    if p.wait() != 0 or not spans:
        failures.append((tag, f"rc={p.returncode} {err.strip()[-300:]}"))
    shutil.rmtree(d, ignore_errors=True)
    return spans


# Where traced time goes: leaf symbols of the QEMU process, grouped. First
# match wins; patterns are on "dso symbol".
PROFILE_GROUPS = [
    ("page faults, zeroing", r"kernel.*(page_fault|clear_page|folio_zero|do_anonymous|handle_mm_fault|"
     r"__handle_mm|alloc_pages|get_page_from_freelist|rmqueue|lru_|free_unref|release_pages|zap_|"
     r"unmap_page|__mem_cgroup|memcg|mmap|munmap|madvise|_raw_spin)"),
    ("kernel, other (write, futex, scheduling)", r"^\[kernel"),
    ("compression (zstd)", r"libzstd"),
    ("encoder (lib/format)", r"libqemutrace\.so .*(Encoder|encode|Chunk|BinaryCoreWriter|CoreWriter|"
     r"varint|crc|Frame|Compress|ZstdSink|FileSink)"),
    ("plugin callbacks (record, translate)", r"libqemutrace\.so"),
    ("malloc, free, mutex", r"libc.*(malloc|free|_int_|cfree|pthread_mutex|lll_lock|lll_unlock|"
     r"pthread_cond|memalign|tcache)"),
    ("libc, other (memcpy, ...)", r"libc"),
    ("translation (tcg, incl. retranslation)", r"(tcg_|translat|tb_gen_code|gen_intermediate|disas_insn|"
     r"x86_tr_|gen_|liveness|la_|reachable|plugin_gen|qemu_plugin_tb|tb_flush|tb_phys|page_collection|"
     r"tb_invalidate|tcg)"),
    ("plugin glue in QEMU", r"qemu.* .*(plugin)"),
    ("JIT code", r"(\[unknown\]|perf-|\[JIT\]|\[anon)"),
    ("QEMU, other (helpers, softmmu, lookup)", r"qemu"),
]


def profile_threads(data, t0, t1):
    """Host cores kept busy between t0 and t1, by thread kind: perf samples at
    999 Hz of each thread's CPU time, over the span. The plugin names its
    threads (qt-compress, qt-manifest); QEMU names its vCPUs "CPU n/TCG"."""
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "-q", "-n",
                          "--time", f"{t0:.6f},{t1:.6f}", "--sort", "comm",
                          "--percent-limit", "0", "-F", "sample,comm"],
                         capture_output=True, text=True).stdout
    busy = {"vCPU threads": 0.0, "compression (qt-compress)": 0.0, "other threads": 0.0}
    span = max(t1 - t0, 1e-9)
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+(.*\S)", line)
        if not m:
            continue
        cores = int(m.group(1)) / 999 / span
        comm = m.group(2)
        kind = ("vCPU threads" if re.match(r"CPU \d+/", comm) else
                "compression (qt-compress)" if comm.startswith("qt-compress") else "other threads")
        busy[kind] += cores
    busy["all threads"] = sum(busy.values())
    return busy


def profile_entry(name, data, t0, t1, roi):
    """One ROI of a profile: symbol groups, top symbols and host cores busy."""
    g, top = profile_groups(data, t0, t1)
    e = {"roi_ns": roi, "groups": g, "top": top, "span": [t0, t1], "busy": profile_threads(data, t0, t1)}
    log("profile", name, json.dumps(e))
    return e


def profile_groups(data, t0=None, t1=None, group_list=PROFILE_GROUPS):
    """perf report of one profile (between host times t0..t1 if given) -> {group: percent}, top symbols."""
    span = ["--time", f"{t0:.6f},{t1:.6f}"] if t0 is not None else []
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "-q", "-g", "none"] + span +
                         ["--sort", "dso,sym", "--percent-limit", "0", "-F", "overhead,dso,sym"],
                         capture_output=True, text=True).stdout
    groups = {g: 0.0 for g, _ in group_list}
    groups["other"] = 0.0
    top = []
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(.+?)\s+\[.\]\s+(.*)", line)  # dso "[JIT] tid N" has a space
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
        key = f"{dso} {sym}"
        for g, pat in group_list:
            if re.search(pat, key):
                groups[g] += pct
                break
        else:
            groups["other"] += pct
        top.append((pct, key[:90]))
    top.sort(reverse=True)
    return groups, top[:8]


def run_native(cmd, cwd=None):
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT)
    m = re.findall(r"roi_ns=(\d+)", p.stdout)
    if p.returncode != 0 or not m:
        failures.append(("native " + " ".join(os.path.basename(c) for c in cmd[:2]),
                         f"rc={p.returncode} {p.stderr.strip()[-200:]}"))
        return None
    return int(m[-1])


def timed(cmd):
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = sh(cmd)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return out, time.monotonic() - t0, (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)


# Where a reader or converter run spends its CPU time: leaf samples of the
# whole tool run, first matching group wins ("dso symbol").
TOOL_GROUPS = [
    ("zstd", r"libzstd"),
    ("xz (liblzma)", r"liblzma"),
    ("gzip (zlib)", r"libz\.so"),
    ("disassembler (Zydis)", r"[Zz]ydis"),
    ("reader: access decode", r"decode_accesses"),
    ("reader: record loop", r"decode_t|store_records"),
    ("reader, other (chunks, CRC)", r"ChunkParser|CoreReader|crc32|read_ahead|PredictorSlot|RunReader"),
    ("consumer loop (decode.cpp)", r"^decode main$"),
    ("converter: formatting, writing", r"qemutrace|libfmt"),
    ("kernel (read, write, page cache)", r"^\[kernel"),
    ("libc (memcpy, malloc)", r"libc"),
]


def profile_tool(name, cmd):
    """perf over one run of a tool -> {"groups", "top"}, or None."""
    data = os.path.join(work, f"perf-{name}.data")
    p = subprocess.run(["perf", "record", "-F", "999", "-q", "-o", data, "--"] + cmd,
                       capture_output=True, text=True, timeout=TIMEOUT)
    if p.returncode != 0 or not os.path.exists(data):
        failures.append((f"profile {name}", p.stderr.strip()[-300:]))
        return None
    g, top = profile_groups(data, group_list=TOOL_GROUPS)
    e = {"groups": g, "top": top}
    log("profile", name, json.dumps(e))
    return e


def profile_tools(helpers, kd, fd, wl):
    """Profiles of the decode (full-size trace) and of the ChampSim and Tejas conversions."""
    e = {}
    if os.path.isdir(kd) and "decode" in helpers:
        e["decode"] = profile_tool(f"decode-{wl}", [helpers["decode"]] + sorted(glob.glob(os.path.join(kd, "t_*"))))
    if os.path.isdir(fd):
        for f in ("champsim", "tejas"):
            od = tempfile.mkdtemp(dir=work)
            e["conv:" + f] = profile_tool(f"convert-{f}-{wl}",
                                          [CLI, "convert", "--to", f, os.path.join(fd, "t"), "-o", os.path.join(od, "o")])
            shutil.rmtree(od, ignore_errors=True)
    return {k: v for k, v in e.items() if v}


def decode_only(helpers, base):
    """Decode throughput on a full-size (c) trace."""
    e = {}
    files = sorted(glob.glob(base + "_*"))
    if "decode" in helpers:
        runs = [json.loads(sh([helpers["decode"]] + files)) for _ in range(3)]
        e["decode"] = sorted(runs, key=lambda x: x["wall_s"])[1]
    out, w, c = timed([CLI, "stats", "--json", base])
    e["stats"] = {"wall_s": w, "cpu_s": c, "instructions": json.loads(out)["total"]["instructions"]}
    return e


def convert_all(base, wl):
    """Converter throughput on a small-size (c) trace (the formats section's)."""
    e = {}
    out, w, c = timed([CLI, "stats", "--json", base])
    e["conv_insns"] = json.loads(out)["total"]["instructions"]
    for f in FORMATS:
        od = tempfile.mkdtemp(dir=work)
        try:
            _, w, c = timed([CLI, "convert", "--to", f, base, "-o", os.path.join(od, "o")])
            e["conv:" + f] = {"wall_s": w, "cpu_s": c, "bytes": tree_bytes(od, "o")}
        except subprocess.CalledProcessError as ex:
            failures.append((f"convert {wl} --to {f}", ex.stderr.strip()[-300:]))
        shutil.rmtree(od, ignore_errors=True)
    return e


# ----------------------------------------------------------------- main ----
def main():
    t_start = time.time()
    load0 = open("/proc/loadavg").read().split()[:3]
    gdir, qargs, progs, helpers = setup()
    qemu_ver = sh([qargs[0], "--version"]).splitlines()[0]
    res = {}  # (wl, cfg) -> list of run dicts
    initrds = {}
    for (wl, prog, full, quick, _) in WORKLOADS:
        initrds[wl] = make_initrd(gdir, wl, os.path.join(progs, prog), quick if QUICK else full)
    keepdir = os.path.join(work, "keep")
    os.makedirs(keepdir)

    if "main" in SECTIONS:
        for rep in range(REPS):
            cfgs = list(MAIN_CONFIGS)
            if rep < REPS_ATTR:
                cfgs += ATTR_CONFIGS
            for (wl, prog, *_rest) in WORKLOADS:
                for (label, opts) in cfgs:
                    tag = f"{wl}/{label}/rep{rep + 1}"
                    keep = os.path.join(keepdir, wl) if (label == "c" and rep == 0) else None
                    r = run_guest(qargs, initrds[wl], opts, tag, keep=keep,
                                  count=label.startswith("c"), roi_prefix=prog)
                    res.setdefault((wl, label), []).append(r)
                    log(f"{tag}: roi={fmt(r['roi_ns'] and r['roi_ns'] / 1e9, '.3f')} s "
                        f"wall={r['wall']:.1f} s bytes={r['bytes']} insns={r['insns']}")

    # Other formats at smaller sizes (text formats write 40-110 bytes per
    # instruction and ChampSim's in-line xz runs well under 1 M insn/s), with
    # (a) and (c) at the same sizes, interleaved.
    fres = {}
    fkeep = os.path.join(work, "fkeep")
    os.makedirs(fkeep)
    if "formats" in SECTIONS and FORMAT_CONFIGS:
        finit = {}
        for (wl, prog, full, quick, _) in WORKLOADS:
            finit[wl] = make_initrd(gdir, "f-" + wl, os.path.join(progs, prog), FSIZES[wl])
        for rep in range(REPS_FORMATS):
            for (wl, prog, *_rest) in WORKLOADS:
                for (label, opts) in [("a", None), ("c", "format=binary")] + FORMAT_CONFIGS:
                    tag = f"formats-{wl}/{label}/rep{rep + 1}"
                    keep = os.path.join(fkeep, wl) if (label == "c" and rep == 0) else None
                    r = run_guest(qargs, finit[wl], opts, tag, keep=keep, count=(label == "c"),
                                  roi_prefix=prog)
                    fres.setdefault((wl, label), []).append(r)
                    log(f"{tag}: roi={fmt(r['roi_ns'] and r['roi_ns'] / 1e9, '.3f')} s "
                        f"wall={r['wall']:.1f} s bytes={r['bytes']} insns={r['insns']}")

    # Native ROI timings of the same programs at the same sizes.
    native = {}
    if "main" in SECTIONS or "peer" in SECTIONS:
        ntmp = tempfile.mkdtemp(dir=work)
        for rep in range(REPS_NATIVE):
            for (wl, prog, full, quick, _) in WORKLOADS:
                a = quick if QUICK else full
                if prog == "qt-bench-fileops":
                    a = (a or ["5000"]) + [ntmp]
                native.setdefault(wl, []).append(run_native([os.path.join(progs, prog)] + a))
        log("native:", {k: median([x for x in v if x]) for k, v in native.items()})

    # ------------------------------------------------- decode / convert ----
    dec = {}
    if "decode" in SECTIONS:
        for (wl, *_r) in WORKLOADS:
            kd = os.path.join(keepdir, wl)
            fd = os.path.join(fkeep, wl)
            e = {}
            if os.path.isdir(kd):
                e.update(decode_only(helpers, os.path.join(kd, "t")))
            if os.path.isdir(fd):
                e.update(convert_all(os.path.join(fd, "t"), wl))
            if "profile" in SECTIONS and shutil.which("perf"):
                e["profile"] = profile_tools(helpers, kd, fd, wl)
            if e:
                dec[wl] = e
                log("decode/convert", wl, json.dumps(e))

    # --------------------------------------------------------- scaling ----
    scale = {}
    scale_progs = os.environ.get("SCALE_PROGS", "compute stream sha256sum").split()
    copies = envint("SCALE_COPIES", 4, 4)
    if "scale" in SECTIONS and "qt-par" in helpers:
        # sha256sum: a real program that needs no input made first (busybox
        # hashes its own binary, 2 MB, four times per copy).
        sizes = {"compute": (["5"] if QUICK else []), "stream": (["2"] if QUICK else []),
                 "sha256sum": ["sha256sum"] + ["/bin/busybox"] * (1 if QUICK else 4)}
        sp = {"compute": "qt-bench-compute", "stream": "qt-bench-stream", "sha256sum": "/bin/busybox"}
        sinit = {}
        for wl in scale_progs:
            sinit[wl] = make_initrd(gdir, "scale-" + wl, helpers["qt-par"],
                                    [str(copies), sp[wl]] + sizes[wl])
        for rep in range(REPS_SCALE):
            for wl in scale_progs:
                for smp in (1, 4):
                    configs = [("a", None), ("c", "format=binary,markers=int")]
                    if BASE_PLUGIN:
                        configs.append(("c:base", "@base:format=binary,markers=int"))
                    for (label, opts) in rotated(configs, rep):
                        tag = f"scale-{wl}/{label}/smp{smp}/rep{rep + 1}"
                        r = run_guest(qargs, sinit[wl], opts, tag, smp=smp, count=label.startswith("c"),
                                      roi_prefix="qt-par")
                        scale.setdefault((wl, label, smp), []).append(r)
                        log(f"{tag}: roi={fmt(r['roi_ns'] and r['roi_ns'] / 1e9, '.3f')} s insns={r['insns']}")

    # ----------------------------------------------------- real programs ----
    real = {}
    prof = {}
    if ("real" in SECTIONS or "profile" in SECTIONS) and "qt-roi" in helpers:
        rinit = {}
        for (name, setup_cmd, cmd) in REAL_PROGS:
            rinit[name] = make_initrd(gdir, "real-" + name, helpers["qt-roi"], [name, setup_cmd, cmd])
        # All programs in one boot (boot takes longer than most ROIs), each
        # between its own markers.
        allargs = [x for prog in REAL_PROGS for x in prog]
        rall = make_initrd(gdir, "real-all", helpers["qt-roi"], allargs)
        if "real" in SECTIONS:
            for rep in range(REPS_REAL):
                for (label, opts) in rotated(REAL_CONFIGS, rep):
                    tag = f"real/{label}/rep{rep + 1}"
                    r = run_guest(qargs, rall, opts, tag, count=(label == "c"), roi_prefix="qt-roi")
                    for (name, *_r) in REAL_PROGS:
                        ns = r["rois"].get(name)
                        real.setdefault((name, label), []).append(
                            {"ok": r["ok"] and ns is not None, "roi_ns": ns, "insns": None, "wall": r["wall"]})
                    if label == "c":
                        real.setdefault(("*", "c"), []).append(r)
                    log(f"{tag}: rois={r['rois']} wall={r['wall']:.1f} s insns={r['insns']}")
        if "profile" in SECTIONS and shutil.which("perf"):
            data = os.path.join(work, "perf-real.data")
            spans = run_profiled(qargs, rall, "format=binary", "profile-real", data)
            for (name, *_r) in REAL_PROGS:
                if name in spans and os.path.exists(data):
                    t0, t1, roi = spans[name]
                    prof[name] = profile_entry(name, data, t0, t1, roi)
            # Scaling: where the host's two cores go with 1 and with 4 vCPUs.
            for wl in (scale_progs if "scale" in SECTIONS and "qt-par" in helpers else []):
                for smp in (1, 4):
                    sdata = os.path.join(work, f"perf-scale-{wl}-{smp}.data")
                    sspans = run_profiled(qargs, sinit[wl], "format=binary,markers=int",
                                          f"profile-scale-{wl}/smp{smp}", sdata, smp=smp)
                    if "qt-par" in sspans and os.path.exists(sdata):
                        t0, t1, roi = sspans["qt-par"]
                        name = f"{wl} -smp {smp}"
                        prof[name] = profile_entry(name, sdata, t0, t1, roi)

    # ------------------------------------------------------------ peer ----
    peer = {}
    if "peer" in SECTIONS and shutil.which("valgrind"):
        ltmp = tempfile.mkdtemp(dir=work)
        for (wl, prog, full, quick, small) in WORKLOADS:
            a = list(small)
            if QUICK:
                a = {"compute": ["1"], "chase": ["4", "1"], "stream": ["1"], "fileops": ["50"]}[wl]
            extra = [ltmp] if prog == "qt-bench-fileops" else []
            cmd = [os.path.join(progs, prog)] + a + extra
            nat = [run_native(cmd) for _ in range(REPS_NATIVE)]
            lf = os.path.join(ltmp, "lackey.out")
            t0 = time.monotonic()
            p = subprocess.run(["valgrind", "--tool=lackey", "--trace-mem=yes", f"--log-file={lf}"] + cmd,
                               capture_output=True, text=True, timeout=TIMEOUT)
            wall = time.monotonic() - t0
            m = re.findall(r"roi_ns=(\d+)", p.stdout)
            size = os.path.getsize(lf) if os.path.exists(lf) else 0
            gi = None
            if os.path.exists(lf):
                with open(lf, "rb") as fh:
                    fh.seek(max(0, size - 4096))
                    mm = re.search(rb"guest instrs:\s+([\d,]+)", fh.read())
                    if mm:
                        gi = int(mm.group(1).replace(b",", b""))
                os.unlink(lf)
            if p.returncode != 0 or not m:
                failures.append((f"lackey {wl}", f"rc={p.returncode} {p.stderr.strip()[-200:]}"))
            peer[wl] = {"args": " ".join(a), "native": median([x for x in nat if x]),
                        "lackey": int(m[-1]) if m else None, "bytes": size, "insns": gi, "wall": wall}
            log("lackey", wl, peer[wl])

    load1 = open("/proc/loadavg").read().split()[:3]
    raw = {"res": enc(res), "fres": enc(fres), "native": native, "dec": dec, "scale": enc(scale),
           "peer": peer, "real": enc(real), "prof": prof, "load0": load0, "load1": load1, "qemu_ver": qemu_ver, "t_start": t_start,
           "t_end": time.time(), "copies": copies, "failures": failures,
           "commit": sh(['git', 'rev-parse', '--short', 'HEAD']).strip(),
           "plugin": os.path.relpath(PLUGIN, ROOT)}
    with open(RAW_OUT, "w") as fh:
        json.dump(raw, fh)
    log("raw results in", RAW_OUT, "(REPORT_FROM=that file regenerates the markdown)")
    report(res, fres, native, dec, scale, peer, load0, load1, qemu_ver, t_start, copies,
           raw["commit"], raw["plugin"], real, prof)


def enc(d):
    return [[list(k), v] for k, v in d.items()]


def dec_(lst):
    return {tuple(k): v for k, v in lst}


def report_from(path):
    raw = json.load(open(path))
    failures.extend(tuple(x) for x in raw["failures"])
    t_end = raw.get("t_end", time.time())
    report(dec_(raw["res"]), dec_(raw["fres"]), raw["native"], raw["dec"], dec_(raw["scale"]),
           raw["peer"], raw["load0"], raw["load1"], raw["qemu_ver"],
           raw["t_start"] + time.time() - t_end, raw["copies"],
           raw.get("commit", "unknown") + f" (reprinted from {os.path.basename(path)})",
           raw.get("plugin", "unknown"), dec_(raw.get("real", [])), raw.get("prof", {}))


# ---------------------------------------------------------- reporting ----
def roi_list(runs):
    return [r["roi_ns"] for r in runs if r["ok"]]


def cell_of(rs, wl, label):
    runs = rs.get((wl, label), [])
    xs = roi_list(runs)
    nf = len(runs) - len(xs)
    if not xs:
        return ("FAIL" if runs else "–"), None
    s = f"{median(xs) / 1e9:.3f} [{min(xs) / 1e9:.3f}–{max(xs) / 1e9:.3f}]"
    if nf:
        s += f" ({nf} of {len(runs)} FAILED)"
    return s, median(xs)


def ratio_tables(rs, labels, wls):
    P = print
    P("| workload | " + " | ".join(labels) + " |")
    P("|---|" + "---|" * len(labels))
    ratios = {}
    for wl in wls:
        row = []
        base = cell_of(rs, wl, "a")[1]
        for lb in labels:
            s, m = cell_of(rs, wl, lb)
            row.append(s)
            if base and m:
                ratios[(wl, lb)] = m / base
        P(f"| {wl} | " + " | ".join(row) + " |")
    P()
    P("Slowdown against (a) no plugin, ratio of medians:")
    P()
    P("| workload | " + " | ".join(labels[1:]) + " |")
    P("|---|" + "---|" * (len(labels) - 1))
    for wl in wls:
        P(f"| {wl} | " + " | ".join((fmt(ratios.get((wl, lb)), ".2f") + "×") if ratios.get((wl, lb)) else "FAIL"
                                    for lb in labels[1:]) + " |")
    gm = {lb: geomean([ratios.get((wl, lb)) for wl in wls]) for lb in labels[1:]}
    P("| **geomean** | " + " | ".join((fmt(gm[lb]) + "×") if gm[lb] else "–" for lb in labels[1:]) + " |")
    P()
    return ratios, gm


def report(res, fres, native, dec, scale, peer, load0, load1, qemu_ver, t_start, copies,
           commit, plugin, real=None, prof=None):
    P = print
    wls = [w[0] for w in WORKLOADS]
    P("## Guest workloads (bench/guest.sh)")
    P()
    P("Full-system x86_64 guest (guest/README.md), QEMU TCG with MTTCG, `-smp 2 -m 512M`. Each workload")
    P("times only its own ROI (between its qemutrace markers) with the guest's CLOCK_MONOTONIC and prints")
    P("`roi_ns`; boot and trace finalisation are outside it. Configurations run interleaved: for each rep,")
    P("each workload runs under a, b, c, d… in turn. Medians; [min–max] over reps.")
    P()
    P(f"- mode: {'QUICK (1 rep, small sizes; NOT for RESULTS.md)' if QUICK else 'full'}; reps: a/b/c {REPS}, "
      f"d (other formats) {REPS_FORMATS}, attribution variants {REPS_ATTR}, scaling {REPS_SCALE}, native {REPS_NATIVE}")
    P(f"- host: {os.cpu_count()} cores, "
      f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
      f"{cpu_model()}, kernel {platform.release()}; {qemu_ver}")
    P(f"- load average: {' '.join(load0)} at start, {' '.join(load1)} at end "
      f"(the suite's own runs keep up to 2 host threads busy); "
      f"suite took {(time.time() - t_start) / 60:.0f} min")
    P(f"- commit the measured plugin was built from: {commit}; plugin `{plugin}`")
    P("- workloads (guest/programs; full runs use the programs' default sizes): " + "; ".join(
        f"{w[0]} = `" + " ".join([w[1]] + (w[3] if QUICK else w[2])) + "`" for w in WORKLOADS))
    P("- configurations: (a) no plugin; (b) plugin loaded, tracing off for the whole run (`markers=int`:")
    P("  the workloads' NOP markers are not recognised, so nothing is instrumented); (c) `format=binary`")
    P("  (virtual + physical addresses, zstd 1, 1 compression thread: the defaults); (d) `format=X`.")
    P()
    speed_targets(real or {}, dec or {}, scale or {})
    report_real(real or {}, prof or {})
    if not res:
        return report_rest(native, dec, scale, peer, copies)

    def cell(wl, label, rs=res):
        return cell_of(rs, wl, label)

    labels = [c[0] for c in MAIN_CONFIGS + ATTR_CONFIGS]
    P("### ROI time in seconds, median [min–max], default sizes")
    P()
    P("Attribution variants of (c), fewer reps: `c:phys=off` (no physical addresses), `c:threads=2`")
    P("(two compression threads), `c:zstd=-5` (faster zstd); `b:skip` = `skip=10^15`: tracing starts")
    P("at the START marker but fast-forwards (one counting callback per block) through the whole ROI.")
    P("`floor:tb` / `floor:full`: bench/guest/floor-plugin.c, a plugin with qemutrace's callbacks left")
    P("empty (one per executed block; `full` adds the inline store per instruction and an empty memory")
    P("callback per access, as in (c)), everywhere from boot: what QEMU charges for the instrumentation alone.")
    P("`floor:none`: the same plugin with nothing instrumented (a translation hook only): the cost of")
    P("loading any plugin, the floor of (b).")
    P("`floor:ring`: the `full` callbacks copy out what a tracer must capture while the guest runs (block and")
    P("progress index; virtual address, physical address through a 64-entry translation cache, meminfo)")
    P("into a per-vCPU 16 MiB ring that nothing reads: a recorder with no logic, encoding or compression.")
    P()
    ratios, gm = ratio_tables(res, labels, wls)

    # Trace size and speed of (c).
    P("### Full binary trace (c): size and speed")
    P()
    P("Instructions: `qemutrace stats --json` total over all cores of the ROI (both vCPUs; kernel included).")
    P("Bytes: all per-core files `BASE_<k>` (manifest excluded). MIPS: traced instructions / ROI time.")
    P()
    P("| workload | instructions (median) | kernel share | bytes (median) | bytes/insn | traced MIPS | untraced (a) MIPS* |")
    P("|---|---|---|---|---|---|---|")
    bpi = {}
    insn_of = {}
    for wl in wls:
        runs = [r for r in res.get((wl, "c"), []) if r["ok"] and r["insns"]]
        if not runs:
            P(f"| {wl} | FAIL | | | | | |")
            continue
        ins = median([r["insns"] for r in runs])
        by = median([r["bytes"] for r in runs])
        ker = median([r["kernel"] / r["insns"] for r in runs])
        insn_of[wl] = ins
        bpi[wl] = median([r["bytes"] / r["insns"] for r in runs])
        croi = cell(wl, "c")[1]
        aroi = cell(wl, "a")[1]
        P(f"| {wl} | {ins / 1e6:.1f} M | {ker * 100:.1f}% | {by / 1e6:.2f} MB | {bpi[wl]:.4f} | "
          f"{fmt(croi and ins / croi * 1e3, '.0f')} | {fmt(aroi and ins / aroi * 1e3, '.0f')} |")
    P(f"| **geomean** | | | | {fmt(geomean(list(bpi.values())), '.4f')} | | |")
    P()
    P("\\* (a) MIPS = the (c) instruction count / (a) ROI time (same work, not traced).")
    P()
    # Formats.
    if fres:
        P("### Other output formats (d), smaller sizes: " + "; ".join(
            f"{wl} `{' '.join(FSIZES[wl])}`" for wl in wls))
        P()
        P("Text formats write 40–110 bytes per instruction and ChampSim compresses with xz in line, so (d)")
        P(f"runs at these sizes, {REPS_FORMATS} rep(s), with (a) and (c) at the same sizes interleaved.")
        P()
        flabels = ["a", "c"] + [c[0] for c in FORMAT_CONFIGS]
        fratios, fgm = ratio_tables(fres, flabels, wls)
        P("Bytes per instruction on disk (instructions from the (c) run of the same size):")
        P()
        P("| workload | " + " | ".join(flabels[1:]) + " |")
        P("|---|" + "---|" * (len(flabels) - 1))
        for wl in wls:
            cr = [r for r in fres.get((wl, "c"), []) if r["ok"] and r["insns"]]
            n = median([r["insns"] for r in cr]) if cr else None
            row = []
            for lb in flabels[1:]:
                runs = [r for r in fres.get((wl, lb), []) if r["ok"] and r["bytes"] is not None]
                row.append(f"{median([r['bytes'] for r in runs]) / n:.3f}" if (runs and n) else "FAIL")
            P(f"| {wl} | " + " | ".join(row) + " |")
        P()
    # Native.
    nat_med = {wl: median([x for x in native.get(wl, []) if x]) for wl in wls}
    P("### Against native (same static binary on the host, same size; ROI times)")
    P()
    P("| workload | native ROI s | (a) TCG / native | (c) traced / native | native MIPS** |")
    P("|---|---|---|---|---|")
    for wl in wls:
        n = nat_med.get(wl)
        a = cell(wl, "a")[1]
        c = cell(wl, "c")[1]
        ins = insn_of.get(wl)
        P(f"| {wl} | {fmt(n and n / 1e9, '.3f')} | {fmt(a and n and a / n, '.1f')}× | {fmt(c and n and c / n, '.1f')}× | "
          f"{fmt(ins and n and ins / n * 1e3, '.0f')} |")
    P()
    P("\\*\\* using the guest's instruction count (for fileops the guest kernel's work differs from the host's).")
    P()
    targets(ratios, gm, bpi, dec, scale)
    report_rest(native, dec, scale, peer, copies)


def real_ratios(real):
    """Per program, the medians' ratios: b/a, c/a, ring/a and c/ring."""
    rat = {}
    for (n, *_r) in REAL_PROGS:
        med = {lb: cell_of(real, n, lb)[1] for lb, _o in REAL_CONFIGS}
        a = med.get("a")
        for lb, key in (("b", "b/a"), ("c", "c/a"), ("floor:ring", "ring/a")):
            if a and med.get(lb):
                rat[(n, key)] = med[lb] / a
        if med.get("c") and med.get("floor:ring"):
            rat[(n, "c/ring")] = med["c"] / med["floor:ring"]
    return rat


def decode_rates(dec):
    """Per workload, decode-only M instructions per CPU-second."""
    return {wl: d["decode"]["instructions"] / d["decode"]["cpu_s"] / 1e6 for wl, d in dec.items()
            if "decode" in d and d["decode"]["cpu_s"] > 0}


def speed_targets(real, dec, scale):
    """Issue 13's targets (items 2, 3, 4 and 5) against this run's numbers."""
    P = print
    P("### Speed targets on real programs, scaling, conversion and decode (issue 13)")
    P()
    P("From the sections below, this run. Item 6 (many sampling windows) is in bench/sampling.sh's")
    P("section. Where the time goes: the perf profiles below (real programs and scaling for items 2")
    P("and 3; decode and conversion for items 4 and 5); why the misses remain: bench/README.md, Findings.")
    P()
    P("| item | metric | target | measured | status |")
    P("|---|---|---|---|---|")

    def row(item, metric, target, val, ok, miss=""):
        st = "not measured" if ok is None else ("met" if ok else "**MISSED**" + (f": {miss}" if miss else ""))
        P(f"| {item} | {metric} | {target} | {val} | {st} |")

    rat = real_ratios(real)
    names = [r[0] for r in REAL_PROGS]
    cr = {n: rat[(n, "c/ring")] for n in names if (n, "c/ring") in rat}
    worst = max(cr, key=cr.get) if cr else None
    row(2, "full trace / floor:ring, each real program", "≤ 2.0×",
        (", ".join(f"{n} {v:.2f}×" for n, v in cr.items()) + f"; geomean {fmt(geomean(list(cr.values())))}×") if cr else "–",
        None if not cr else cr[worst] <= 2.0, worst and f"worst {worst}, {cr[worst] / 2.0:.2f}× the target")
    ba = {n: rat[(n, "b/a")] for n in names if (n, "b/a") in rat}
    gba = geomean(list(ba.values()))
    row(2, "tracing off / no plugin, real programs", "≤ 1.05×",
        (f"geomean {fmt(gba, '.3f')}×, worst {max(ba.values()):.3f}×") if ba else "–",
        None if gba is None else gba <= 1.05, "geomean over")
    for wl, target in (("compute", 1.6), ("stream", 1.6), ("sha256sum", 1.0)):
        x = scale_ratio(scale, wl)
        row(3, f"traced MIPS -smp 4 / -smp 1, {wl}", f"≥ {target}×", fmt(x) + "×" if x else "–",
            None if x is None else x >= target, x and f"{x / target:.2f} of the target")
    for f, target in (("champsim", 10), ("tejas", 15)):
        rates = {wl: e["conv_insns"] / e["conv:" + f]["wall_s"] / 1e6 for wl, e in dec.items()
                 if e.get("conv:" + f) and e.get("conv_insns")}
        mn = min(rates.values()) if rates else None
        row(4, f"`convert --to {f}`, M insn/s (wall, 2 cores)", f"≥ {target}",
            ", ".join(f"{wl} {v:.1f}" for wl, v in rates.items()) or "–",
            None if mn is None else mn >= target, mn and f"slowest {mn / target:.2f} of the target")
    rates = decode_rates(dec)
    mn = min(rates.values()) if rates else None
    row(5, "decode, M insn per CPU-second (one reader)", "≥ 200",
        ", ".join(f"{wl} {v:.0f}" for wl, v in rates.items()) or "–",
        None if mn is None else mn >= 200, mn and f"slowest {mn / 200:.2f} of the target")
    P()


def report_real(real, prof):
    P = print
    if real:
        P(f"### Real programs (busybox in the guest), `-smp 2`, {REPS_REAL} interleaved reps")
        P()
        P("bench/guest/qt-roi.c runs the setup in the guest (text made by `seq` + `awk`, "
          f"{REAL_LINES} lines, ~{REAL_LINES * 54 / 1e6:.1f} MB; fsmix also writes 500 files of 2 KiB),")
        P("then the command between NOP markers, timed by the guest (`roi_ns`). Programs (`sh -c`):")
        P()
        for (name, _s, cmd) in REAL_PROGS:
            P(f"- {name}: `{cmd}`")
        P()
        P("ROI seconds, median [min–max]; (a) plain QEMU, (b) tracing off, (c) full binary trace, floor:ring:")
        P()
        names = [r[0] for r in REAL_PROGS]
        labels = [c[0] for c in REAL_CONFIGS]
        tot = median([r["insns"] for r in real.get(("*", "c"), []) if r["ok"] and r["insns"]])
        P(f"Instructions traced in (c), all five ROIs, all cores: {fmt(tot and tot / 1e6, '.0f')} M.")
        P()
        P("| program | " + " | ".join(labels) + " | b/a | c/a | ring/a | **c/ring** |")
        P("|---|" + "---|" * (len(labels) + 4))
        rat = real_ratios(real)
        for n in names:
            cells = [cell_of(real, n, lb) for lb in labels]
            P(f"| {n} | " + " | ".join(c[0] for c in cells) + " | " +
              " | ".join(fmt(rat.get((n, k))) + "×" for k in ("b/a", "c/a", "ring/a", "c/ring")) + " |")
        P("| **geomean** | " + " | " * len(labels) + " | ".join(
            fmt(geomean([rat.get((n, k)) for n in names])) + "×" for k in ("b/a", "c/a", "ring/a", "c/ring")) + " |")
        P()
        if "c:base" in labels:
            ab = {n: cell_of(real, n, "c")[1] / cell_of(real, n, "c:base")[1] for n in names
                  if cell_of(real, n, "c")[1] and cell_of(real, n, "c:base")[1]}
            P(f"(c) against c:base ({BASE_PLUGIN}): " + ", ".join(f"{n} {v:.3f}×" for n, v in ab.items()) +
              f"; geomean {fmt(geomean(list(ab.values())), '.3f')}× (below 1: this build is faster).")
            P()
        worst = max([rat.get((n, "c/ring")) or 0 for n in names] or [0])
        worst_b = max([rat.get((n, "b/a")) or 0 for n in names] or [0])
        if worst and worst_b:  # not in an A/B of a subset of the configurations
            P(f"Targets: full trace ≤ 2× floor:ring on every program: worst {worst:.2f}× "
              f"({'met' if worst <= 2.0 else 'MISSED'}); tracing off ≤ 1.05× no plugin: worst {worst_b:.3f}×, "
              f"geomean {fmt(geomean([rat.get((n, 'b/a')) for n in names]), '.3f')}×.")
            P()
    if prof:
        P("### Where the traced time goes (perf, (c), ROI only)")
        P()
        P("`perf record -F 999 -k CLOCK_MONOTONIC` of the QEMU process (all its threads: vCPUs, compression,")
        P("I/O) in one boot running all programs, sliced (`perf report --time`) from qt-roi's `begin` line to")
        P("its `roi_ns` line as the host saw them; leaf samples grouped by DSO and symbol")
        P("(bench.py `PROFILE_GROUPS`; \"translation\" cannot tell first translations from retranslations).")
        P()
        gnames = [g for g, _ in PROFILE_GROUPS] + ["other"]
        P("| group | " + " | ".join(prof) + " |")
        P("|---|" + "---|" * len(prof))
        for g in gnames:
            P(f"| {g} | " + " | ".join(f"{prof[n]['groups'].get(g, 0):.1f}%" for n in prof) + " |")
        kinds = ["all threads", "vCPU threads", "compression (qt-compress)", "other threads"]
        if any("busy" in e for e in prof.values()):
            for kd in kinds:
                P(f"| host cores busy: {kd} | " + " | ".join(
                    fmt(prof[n].get("busy", {}).get(kd), ".2f") for n in prof) + " |")
        P()
        if any("busy" in e for e in prof.values()):
            P("Host cores busy: perf samples (999 Hz of each thread's CPU time) over the ROI's host time. The")
            P("host has 2 cores; a traced run that keeps both busy at `-smp 1` cannot trace faster with more vCPUs.")
            P()
        P("Top leaf symbols:")
        P()
        for n, e in prof.items():
            P(f"- {n}: " + "; ".join(f"{pct:.1f}% `{k}`" for pct, k in e["top"][:6]))
        P()


def targets(ratios, gm, bpi, dec, scale):
    P = print
    P("### Targets (issue 6)")
    P()
    P("| metric | target | measured | status |")
    P("|---|---|---|---|")

    def row(metric, target, val, ok, miss):
        P(f"| {metric} | {target} | {val} | {'met' if ok else ('MISSED: ' + miss) if ok is not None else 'not measured'} |")

    c = gm.get("c")
    row("full binary trace vs no plugin", "≤ 2.0× geomean", fmt(c) + "×",
        None if c is None else c <= 2.0, f"{c / 2.0:.2f}× over the target" if c else "")
    b = geomean(list(bpi.values()))
    row("bytes/instruction, full binary trace", "≤ 0.5 geomean", fmt(b, ".3f"),
        None if b is None else b <= 0.5, f"{b / 0.5:.2f}× over" if b else "")
    bb = gm.get("b")
    worst = max([ratios.get((w[0], "b")) or 0 for w in WORKLOADS] or [0])
    row("tracing off vs no plugin", "≤ 1.05×", f"{fmt(bb, '.3f')}× geomean (worst {worst:.3f}×)",
        None if bb is None else bb <= 1.05, f"{(bb - 1) * 100:.1f}% overhead" if bb else "")
    rates = list(decode_rates(dec).values())
    mn = min(rates) if rates else None
    row("reader decode, one core (per CPU-second)", "≥ 200 M insn/s",
        (f"{mn:.0f}–{max(rates):.0f} M/s" if rates else "–"), None if mn is None else mn >= 200,
        f"slowest workload at {mn / 200:.2f}× of the target" if mn else "")
    sr = scale_ratio(scale, "compute")
    sr2 = scale_ratio(scale, "stream")
    val = ", ".join(f"{n} {fmt(x)}×" for n, x in (("compute", sr), ("stream", sr2)) if x)
    allr = [x for x in (sr, sr2) if x]
    row("4 vCPUs vs 1 vCPU, total traced MIPS", "≥ 1.6×", val or "–",
        None if not allr else min(allr) >= 1.6, f"lowest {min(allr):.2f}× ({min(allr) / 1.6:.2f} of target)" if allr else "")
    P()


def scale_mips(scale, wl, label, smp):
    runs = [r for r in scale.get((wl, label, smp), []) if r["ok"]]
    if not runs:
        return None, None
    roi = median([r["roi_ns"] for r in runs])
    ins = median([r["insns"] for r in runs if r["insns"]]) if label.startswith("c") and any(r["insns"] for r in runs) else None
    return roi, ins


def scale_ratio(scale, wl, label="c"):
    r1, i1 = scale_mips(scale, wl, label, 1)
    r4, i4 = scale_mips(scale, wl, label, 4)
    if not (r1 and r4 and i1 and i4):
        return None
    return (i4 / r4) / (i1 / r1)


def report_rest(native, dec, scale, peer, copies):
    P = print
    if dec:
        P("### Reader decode and converter throughput")
        P()
        P("M instructions/s per wall second [per CPU second of the process; the reader decompresses the next")
        P("chunk on a second thread, so CPU time can exceed wall time]. `decode`: bench/guest/decode.cpp,")
        P("`CoreReader::next()` over every instruction and access and nothing else (median of 3), and `stats`:")
        P("`qemutrace stats --json` (which also fills hash sets of PCs and data lines), both on the full-size")
        P("(c) traces of rep 1. `convert X`: `qemutrace convert --to X` into a temp dir, on the (c) traces")
        P("of the formats section (smaller sizes).")
        P()
        cols = ["decode", "stats"] + ["conv:" + f for f in FORMATS]
        P("| workload | insns (full) | " + " | ".join(c.replace("conv:", "convert ") for c in cols) + " | insns (small) |")
        P("|---|---|" + "---|" * len(cols) + "---|")
        for wl, e in dec.items():
            n = e.get("stats", {}).get("instructions")
            ns = e.get("conv_insns")
            row = []
            for c in cols:
                x = e.get(c)
                m = ns if c.startswith("conv") else n
                if not x or not m:
                    row.append("FAIL" if (c.startswith("conv") and ns) else "–")
                    continue
                row.append(f"{m / x['wall_s'] / 1e6:.1f} [{m / x['cpu_s'] / 1e6 if x['cpu_s'] else 0:.1f}]")
            P(f"| {wl} | {fmt(n and n / 1e6, '.1f')} M | " + " | ".join(row) + f" | {fmt(ns and ns / 1e6, '.1f')} M |")
        P()
        runs = [(t, wl, e["profile"][t]) for t in ("decode", "conv:champsim", "conv:tejas")
                for wl, e in dec.items() if e.get("profile", {}).get(t)]
        if runs:
            P("### Where decode and conversion time goes (perf, one whole run of each tool)")
            P()
            P("`perf record -F 999` of one more run of `decode` and of `convert --to champsim` / `--to tejas`")
            P("above (all threads), leaf samples by group (bench.py `TOOL_GROUPS`, first match), percent of")
            P("the run's samples; groups under 1% everywhere are left out.")
            P()
            gnames = [g for g, _ in TOOL_GROUPS] + ["other"]
            gnames = [g for g in gnames if any(r[2]["groups"].get(g, 0) >= 1.0 for r in runs)]
            P("| tool | workload | " + " | ".join(gnames) + " |")
            P("|---|---|" + "---|" * len(gnames))
            for t, wl, pr in runs:
                P(f"| {t.replace('conv:', 'convert ')} | {wl} | " +
                  " | ".join(f"{pr['groups'].get(g, 0):.1f}%" for g in gnames) + " |")
            P()
            P("Top leaf symbols:")
            P()
            for t, wl, pr in runs:
                P(f"- {t.replace('conv:', 'convert ')} {wl}: " +
                  "; ".join(f"{pct:.1f}% `{k}`" for pct, k in pr["top"][:4]))
            P()
    if scale:
        P(f"### Scaling: {copies} copies in one ROI, -smp 4 against -smp 1 (same total work)")
        P()
        P(f"`qt-par {copies} PROG` (bench/guest/qt-par.c) forks {copies} copies of PROG between legacy")
        P("`int $100`/`int $101` markers; the plugin runs with `markers=int` so that the copies' own NOP")
        P("markers do not end the ROI. With -smp 1 the copies time-share one vCPU. Host: 2 cores.")
        P()
        P("| program | (a) ROI s smp1 → smp4 | (a) speed-up | (c) ROI s smp1 → smp4 | (c) traced MIPS smp1 → smp4 | (c) MIPS ratio |")
        P("|---|---|---|---|---|---|")
        for wl in sorted({k[0] for k in scale}):
            a1, _ = scale_mips(scale, wl, "a", 1)
            a4, _ = scale_mips(scale, wl, "a", 4)
            c1, i1 = scale_mips(scale, wl, "c", 1)
            c4, i4 = scale_mips(scale, wl, "c", 4)
            m1 = i1 / c1 * 1e3 if (i1 and c1) else None
            m4 = i4 / c4 * 1e3 if (i4 and c4) else None
            P(f"| {wl} | {fmt(a1 and a1 / 1e9, '.2f')} → {fmt(a4 and a4 / 1e9, '.2f')} | "
              f"{fmt(a1 and a4 and a1 / a4)}× | {fmt(c1 and c1 / 1e9, '.2f')} → {fmt(c4 and c4 / 1e9, '.2f')} | "
              f"{fmt(m1, '.0f')} → {fmt(m4, '.0f')} | {fmt(scale_ratio(scale, wl))}× |")
        P()
        for wl in sorted({k[0] for k in scale if k[1] == "c:base"}):
            b1, j1 = scale_mips(scale, wl, "c:base", 1)
            b4, j4 = scale_mips(scale, wl, "c:base", 4)
            P(f"- {wl}, c:base ({BASE_PLUGIN}): ROI {fmt(b1 and b1 / 1e9, '.2f')} → {fmt(b4 and b4 / 1e9, '.2f')} s, "
              f"MIPS {fmt(j1 and b1 and j1 / b1 * 1e3, '.0f')} → {fmt(j4 and b4 and j4 / b4 * 1e3, '.0f')}, "
              f"ratio {fmt(scale_ratio(scale, wl, 'c:base'))}×")
        P()
    if peer:
        P("### Peer: valgrind lackey `--tool=lackey --trace-mem=yes`, natively, smaller sizes")
        P()
        P("Same static binaries on the host at the sizes shown (lackey runs at well under 1 M insn/s).")
        P("Slowdown = ROI time under lackey / native ROI time (median of the native runs). Bytes/insn =")
        P("size of lackey's trace (`--log-file`) / lackey's `guest instrs` (whole process).")
        P()
        P("| workload | args | native ROI ms | lackey ROI s | lackey slowdown | lackey M insn/s | lackey bytes/insn |")
        P("|---|---|---|---|---|---|---|")
        for wl, e in peer.items():
            sl = e["lackey"] / e["native"] if (e["lackey"] and e["native"]) else None
            rate = e["insns"] / e["wall"] / 1e6 if e["insns"] else None
            P(f"| {wl} | {e['args']} | {fmt(e['native'] and e['native'] / 1e6, '.1f')} | "
              f"{fmt(e['lackey'] and e['lackey'] / 1e9, '.1f')} | {fmt(sl, '.0f')}× | {fmt(rate, '.2f')} | "
              f"{fmt(e['insns'] and e['bytes'] / e['insns'], '.1f')} |")
        P()
    P("### Failures")
    P()
    if not failures:
        P("None: every run printed `qemutrace-guest: exit 0` and its `roi_ns`.")
    else:
        for what, d in failures:
            P(f"- `{what}`: {d.replace('|', '/')}")
    P()


def cpu_model():
    for l in open("/proc/cpuinfo"):
        if l.startswith("model name"):
            return l.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    if os.environ.get("REPORT_FROM"):
        report_from(os.environ["REPORT_FROM"])
        sys.exit(0)
    try:
        main()
    finally:
        # A failed run's console outlives the work dir: beside the raw results.
        failed_logs = [f for f in os.listdir(work) if f.startswith("failed-")] if os.path.isdir(work) else []
        if failed_logs:
            fdir = os.path.splitext(RAW_OUT)[0] + "-failures"
            os.makedirs(fdir, exist_ok=True)
            for f in failed_logs:
                shutil.copy(os.path.join(work, f), fdir)
            log(f"consoles of {len(failed_logs)} failed run(s) in", fdir)
        if os.environ.get("KEEP_WORK") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("kept", work)
