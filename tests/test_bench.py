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
