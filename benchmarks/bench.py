#!/usr/bin/env python3
"""`make bench`: a settled company month against the cost of reading its files.

    BENCH_TRADES=1000000 make bench                     # one scale (the default)
    BENCH_TRADES=100000,1000000,10000000 make bench     # the README's scaling table
    BENCH_XLSX=1 make bench                             # and a 1,000,000-row trades.xlsx read (xlsx.py)
    BENCH_KINDS=full,core make bench                    # also the run without pay_report.xlsx and payslips
    python benchmarks/bench.py --trades 1000000 --runs 5

For each scale (trades a month; managers = trades / 2,000, at least 34; clients = trades / 10) it
generates one month folder with the deterministic generator (cmsettle.synth, seed 2024, plain amounts),
cached in benchmarks/.data/<trades>/ and regenerated when the generator changes, then times on those
same files, as whole processes (interpreter start and imports included), alternately:

* the floor (benchmarks/floor.py): pyarrow's CSV reader over trades, assets and clients and hash
  group-bys of turnover x rate, avg and end assets per manager;
* the full run: `python -m cmsettle month 2024-05` with a fresh SQLite ledger (the first ledger month,
  so history and opening are read) writing its outputs into a fresh temporary folder.

Untimed, it first compiles cmsettle to bytecode (see compiled), and before each full run it waits while
creating files in its folder is slow (the disk after many files were removed: see wait_for_file_creation),
saying so. It prints each run, then per scale the median wall times, `ratio: X.XX` (full / floor, the
median of the ratios of the pairs, run one after the other), the peak resident memory of each process (the
operating system's own accounting, from wait4) and their ratio. One untimed pair runs first.
"""

from __future__ import annotations

import argparse
import atexit
import compileall
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / ".data"
MONTH = "2024-05"
SEED = 2024


def scale(trades: int) -> tuple[int, int]:
    """(managers, clients) for a number of trades: 10M trades -> 5,000 managers and 1,000,000 clients."""
    return max(34, trades // 2000), max(1500, trades // 10)


def month_folder(trades: int) -> Path:
    """The cached data folder of one scale; generated when absent or made by another generator."""
    managers, clients = scale(trades)
    synth = ROOT / "cmsettle" / "synth.py"
    stamp = {"trades": trades, "managers": managers, "clients": clients, "seed": SEED, "month": MONTH,
             "thousands": False, "synth_sha256": hashlib.sha256(synth.read_bytes()).hexdigest()}
    base = DATA / str(trades)
    stamp_file = base / "stamp.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp:
        return base / MONTH
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    print(f"generating {trades:,} trades, {managers:,} managers, {clients:,} clients into {base} ...", flush=True)
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from cmsettle.synth import generate

    summary = generate(base, [MONTH], seed=SEED, managers=managers, clients=clients, trades_per_month=trades,
                       thousands=False, readme=False)
    print(f"  {', '.join(f'{k} {n:,}' for k, n in summary.rows[MONTH].items())} "
          f"({time.perf_counter() - t0:.1f}s)", flush=True)
    stamp_file.write_text(json.dumps(stamp, indent=1))
    return base / MONTH


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    peak: int    # peak resident set size of the process, bytes


def run(cmd: list[str], cwd: Path) -> Run:
    """One whole process: wall time around it, peak RSS from the kernel's accounting of that child.

    The disks are synced first, untimed: a run starts with no write-back of the previous run's files (its
    5,000 payslips and ledger) pending, which on a slow disk otherwise stalls this run's file creation."""
    os.sync()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"failed (exit {proc.returncode}): {' '.join(cmd)}\n{out.decode(errors='replace')}")
    return Run(wall, usage.ru_maxrss * 1024)  # Linux: kilobytes


def floor_cmd(folder: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve().parent / "floor.py"), str(folder)]


# The full run with pay_report.xlsx and the payslips left out (everything else as `settle month`: inputs,
# computation, the CSV outputs, manifest, ledger, audit): to see what those two outputs cost at scale.
# Through the console script's steps, as `python -m cmsettle`: the largest file read from the start
# (cmsettle.console.read_ahead), before the pipeline is imported and its two renderers replaced.
CORE = ("import sys; from cmsettle import console; console.read_ahead(); import cmsettle.pipeline as p; "
        "p.pay_report = lambda *a, **k: b''; p.payslip_renderer = lambda *a, **k: lambda people: {}; "
        "from cmsettle.cli import main; sys.argv[0] = 'settle'; main()")


def full_cmd(folder: Path, work: Path, core: bool = False) -> list[str]:
    start = [sys.executable, "-c", CORE] if core else [sys.executable, "-m", "cmsettle"]
    return [*start, "month", MONTH, "--data", str(folder.parent), "--out", str(work / "out"),
            "--db", f"sqlite:///{work / 'ledger.db'}", "--quiet"]


# Each full run works in a fresh folder, removed only when the whole benchmark is over: deleting thousands of
# payslips between runs would stall the next run's file creation (see wait_for_file_creation), a cost of the
# harness, not of the run.
_WORK = Path(tempfile.mkdtemp(prefix="cmsettle-bench-"))
atexit.register(shutil.rmtree, _WORK, True)


# Creating files can stall for minutes on some disks after many files were removed (here: ext4 without a
# journal, whose inode allocator passes over recently freed inodes one by one for every file it creates, so a
# run's 5,000 payslips took 1-3.5 s of kernel time instead of 0.1-0.2 s; the test suite's and the previous
# benchmark's clean-ups are enough, for up to about six minutes). Before each full run an untimed probe
# creates 1,000 empty files in the benchmark's folder, three times; while the middle time is slow, the
# benchmark waits (and says so) rather than time the disk's state.
PROBE_FILES = 1000
PROBE_LIMIT = 0.06  # seconds for PROBE_FILES: 0.02-0.04 s here normally, 0.1-0.7 s during a stall (the
# payslips' 5,000 files then take 0.5-3.5 s of kernel time; at the limit about 0.15 s)
PROBE_PATIENCE = 600.0  # seconds to wait at most; then the run is timed anyway, with a warning, and the
# benchmark waits no more (on a disk where creating files is always that slow, it would wait before each run)
PROBE_INTERVAL = 15.0
_patient = True  # False once the benchmark has given up waiting


def file_creation_seconds(folder: Path, files: int = PROBE_FILES, rounds: int = 3) -> float:
    """The median wall time of ``rounds`` times creating ``files`` empty files in a new folder under
    ``folder`` (kept until the end: removing them would add to what is being waited out)."""
    times = []
    for _ in range(rounds):
        probe = Path(tempfile.mkdtemp(dir=folder, prefix="probe-"))
        t0 = time.perf_counter()
        for i in range(files):
            os.close(os.open(probe / str(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def wait_for_file_creation(folder: Path, probe=file_creation_seconds, sleep=time.sleep,  # noqa: ANN001
                           limit: float = PROBE_LIMIT, patience: float = PROBE_PATIENCE,
                           interval: float = PROBE_INTERVAL) -> float:
    """Wait until creating files in ``folder`` is quick again (see PROBE_LIMIT); the seconds waited. After
    one wait that ran out of patience, none any more."""
    global _patient
    waited = 0.0
    while _patient and (took := probe(folder)) > limit:
        if waited >= patience:
            _patient = False
            print(f"  file creation still slow after {waited:.0f} s ({took:.2f} s for {PROBE_FILES:,} "
                  "files): timed anyway, the full runs' figures include it; no more waiting", flush=True)
            return waited
        if not waited:
            print(f"  file creation is slow on this disk now ({took:.2f} s for {PROBE_FILES:,} empty files, "
                  f"limit {limit:.2f} s; many files were removed lately): waiting", flush=True)
        sleep(interval)
        waited += interval
    if waited:
        print(f"  file creation quick again after {waited:.0f} s ({took:.3f} s)", flush=True)
    return waited


def full_run(folder: Path, core: bool = False) -> Run:
    work = Path(tempfile.mkdtemp(dir=_WORK))
    wait_for_file_creation(_WORK)
    r = run(full_cmd(folder, work, core), work)
    if not (work / "out" / MONTH / "pay_lines.csv").exists():
        sys.exit(f"the full run wrote no {MONTH}/pay_lines.csv")
    return r


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def bench(trades: int, runs: int, kinds: tuple[str, ...] = ("full",)) -> dict:
    """The floor and each kind of run ("full", "core") in turn, ``runs`` times after one untimed round."""
    folder = month_folder(trades)
    managers, clients = scale(trades)
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"\n== {trades:,} trades, {managers:,} managers, {clients:,} clients "
          f"({size / 1e6:,.0f} MB of files in {folder})", flush=True)
    run(floor_cmd(folder), folder)  # warm-up: files in the page cache
    for kind in kinds:
        full_run(folder, kind == "core")
    floors: list[Run] = []
    timed: dict[str, list[Run]] = {kind: [] for kind in kinds}
    for k in range(runs):
        f = run(floor_cmd(folder), folder)
        floors.append(f)
        line = f"  run {k + 1}: floor {f.wall:6.2f}s {gib(f.peak)}"
        for kind in kinds:
            r = full_run(folder, kind == "core")
            timed[kind].append(r)
            line += f"   {kind} {r.wall:6.2f}s {gib(r.peak)} {r.wall / f.wall:5.2f}x"
        print(line, flush=True)
    out = dict(trades=trades, managers=managers, clients=clients,
               floor=statistics.median(r.wall for r in floors), floor_peak=statistics.median(r.peak for r in floors))
    print(f"floor: {out['floor']:.2f} s wall, peak RSS {gib(out['floor_peak'])}")
    for kind in kinds:
        rs = timed[kind]
        wall, peak = statistics.median(r.wall for r in rs), statistics.median(r.peak for r in rs)
        ratio = statistics.median(r.wall / f.wall for f, r in zip(floors, rs))
        label = "full" if kind == "full" else "core (no pay_report.xlsx, no payslips)"
        prefix = "" if kind == "full" else "core "
        print(f"{label}: {wall:.2f} s wall, peak RSS {gib(peak)}")
        print(f"{prefix}ratio: {ratio:.2f}")
        print(f"{prefix}memory ratio: {peak / out['floor_peak']:.2f}", flush=True)
        out[kind] = dict(wall=wall, peak=peak, ratio=ratio)
    return out


def compiled() -> None:
    """cmsettle's modules compiled to bytecode before anything is timed, as an installed package's are (pip
    compiles them when it installs; an editable install does not). Python compiles a module without one at
    every import and, where PYTHONDONTWRITEBYTECODE is set (as on this machine), never keeps the result:
    each run would compile the whole package again, about 0.3 s of CPU on the run's main thread."""
    if not compileall.compile_dir(ROOT / "cmsettle", quiet=1):
        sys.exit("cmsettle's modules did not compile")


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{model}, {os.cpu_count()} cores, {mem / 2**30:.0f} GiB, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trades", default=os.environ.get("BENCH_TRADES") or "1000000",
                    help="trades a month, or a comma-separated list (default $BENCH_TRADES, else 1000000)")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS") or 3),
                    help="timed pairs per scale (default $BENCH_RUNS, else 3)")
    ap.add_argument("--xlsx", action="store_true", default=bool(os.environ.get("BENCH_XLSX")),
                    help="also time reading a 1,000,000-row trades.xlsx (benchmarks/xlsx.py; $BENCH_XLSX=1)")
    ap.add_argument("--kinds", default=os.environ.get("BENCH_KINDS") or "full",
                    help="runs to time against the floor: full (settle month), core (the same without "
                         "pay_report.xlsx and payslips), or both, comma-separated (default $BENCH_KINDS, else full)")
    a = ap.parse_args(argv)
    scales = [int(t.replace("_", "")) for t in a.trades.split(",") if t.strip()]
    kinds = tuple(k.strip() for k in a.kinds.split(",") if k.strip())
    if not kinds or not set(kinds) <= {"full", "core"}:
        ap.error("--kinds: full, core or full,core")
    print(f"machine: {machine()}")
    compiled()
    rows = [bench(t, a.runs, kinds) for t in scales]
    head = "| trades | managers | clients | floor | floor peak |"
    rule = "|---:|---:|---:|---:|---:|"
    for kind in kinds:
        head += f" {kind} run | ratio | {kind} peak | memory ratio |"
        rule += "---:|---:|---:|---:|"
    print("\n" + head + "\n" + rule)
    for r in rows:
        line = (f"| {r['trades']:,} | {r['managers']:,} | {r['clients']:,} | {r['floor']:.2f} s "
                f"| {gib(r['floor_peak'])} |")
        for kind in kinds:
            k = r[kind]
            line += f" {k['wall']:.2f} s | {k['ratio']:.2f} | {gib(k['peak'])} | {k['peak'] / r['floor_peak']:.2f} |"
        print(line)
    if a.xlsx:
        print(flush=True)
        subprocess.run([sys.executable, str(Path(__file__).resolve().parent / "xlsx.py"), "--runs", str(a.runs)],
                       check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
