"""benchmarks/bench.py: what it does before timing anything."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench_module():
    spec = importlib.util.spec_from_file_location("cmsettle_bench", ROOT / "benchmarks" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_the_package_is_compiled_before_timing_even_where_python_writes_no_bytecode(monkeypatch):
    # PYTHONDONTWRITEBYTECODE keeps imports from writing .pyc files: without compiled() every timed run would
    # compile cmsettle again. Each module's cached bytecode must exist and be newer than its source after it.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    _bench_module().compiled()
    sources = sorted((ROOT / "cmsettle").rglob("*.py"))
    assert len(sources) > 40
    for src in sources:
        cached = Path(importlib.util.cache_from_source(str(src)))
        assert cached.exists(), src
        assert cached.stat().st_mtime >= src.stat().st_mtime, src


def test_file_creation_probe_creates_the_files_in_a_folder_of_its_own(tmp_path):
    bench = _bench_module()
    took = bench.file_creation_seconds(tmp_path, files=250, rounds=3)
    assert took > 0
    probes = list(tmp_path.iterdir())
    assert len(probes) == 3 and all(p.name.startswith("probe-") for p in probes)
    assert all(len(list(p.iterdir())) == 250 for p in probes)


def _probes(*seconds):
    it = iter(seconds)
    return lambda folder: next(it)


def test_no_wait_while_file_creation_is_quick(tmp_path, capsys):
    bench = _bench_module()
    slept = []
    assert bench.wait_for_file_creation(tmp_path, probe=_probes(0.03), sleep=slept.append) == 0
    assert slept == [] and capsys.readouterr().out == ""


def test_waits_while_file_creation_is_slow_then_says_how_long(tmp_path, capsys):
    bench = _bench_module()
    slept = []
    waited = bench.wait_for_file_creation(tmp_path, probe=_probes(0.9, 0.4, 0.05), sleep=slept.append,
                                          limit=0.1, interval=15)
    assert waited == 30 and slept == [15, 15]
    out = capsys.readouterr().out
    assert "0.90 s for 1,000 empty files" in out and "quick again after 30 s (0.050 s)" in out


def test_times_anyway_after_its_patience_with_a_warning(tmp_path, capsys):
    bench = _bench_module()
    slept = []
    waited = bench.wait_for_file_creation(tmp_path, probe=_probes(*[0.5] * 10), sleep=slept.append,
                                          limit=0.1, patience=45, interval=15)
    assert waited == 45 and slept == [15, 15, 15]
    assert "still slow after 45 s (0.50 s for 1,000 files): timed anyway" in capsys.readouterr().out
    # having given up once, the benchmark does not wait (nor probe) before the next runs
    assert bench.wait_for_file_creation(tmp_path, probe=_probes(), sleep=slept.append) == 0
    assert slept == [15, 15, 15] and capsys.readouterr().out == ""


def test_the_core_run_leaves_out_the_report_and_the_payslips_only(tmp_path):
    """BENCH_KINDS=core: `settle month` as usual (pay lines, manifest, ledger) with an empty report and no
    payslips; the full command makes both, one payslip per person settled."""
    import csv
    import subprocess

    from cmsettle.synth import generate

    bench = _bench_module()
    managers, clients = bench.scale(5000)
    generate(tmp_path / "data", ["2024-05"], seed=7, managers=managers, clients=clients, trades_per_month=5000,
             readme=False)
    made = {}
    for kind in ("core", "full"):
        work = tmp_path / kind
        work.mkdir()
        res = subprocess.run(bench.full_cmd(tmp_path / "data" / "2024-05", work, core=kind == "core"), cwd=ROOT,
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        out = work / "out" / "2024-05"
        assert (out / "manifest.json").exists() and (work / "ledger.db").exists()
        with (out / "managers.csv").open(encoding="utf-8-sig") as fh:
            people = len(list(csv.DictReader(fh)))
        slips = len(list((out / "payslips").iterdir())) if (out / "payslips").exists() else 0
        made[kind] = (people, (out / "pay_report.xlsx").stat().st_size > 0, slips)
    people = made["full"][0]
    assert people > 30
    assert made == {"core": (people, False, 0), "full": (people, True, people)}
