"""Issue 10: a large input file is hashed while the month is computed, not while it is read (cmsettle.inputs.
MonthReader with hash_later; cmsettle.pipeline). The hashes recorded must be the files' sha256 as before, and
a file changed between its reading and its hashing must fail the run (exit 3), not be recorded with a hash of
bytes that were never settled.

The office's files are small; readers._MAP_FROM = 0 makes every CSV file "large" (mapped, hashed later).
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from branch_office import Office
from fixtures_months import write_month

from cmsettle import pipeline
from cmsettle.errors import Exit
from cmsettle.inputs import MonthReader, readers, validate
from cmsettle.months import Month
from tests.builders import DEFAULT_RULES


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Office:
    office = Office.create(tmp_path_factory.mktemp("hash") / "office")  # April closed, May a draft
    write_month(office.root / "data", "2024-05", extra_trades=[["20", "C1", "stock", "buy", "3000000", "0.0003"]])
    return office


def manifest_inputs(office: Office) -> list[dict]:
    return json.loads((office.root / "out" / "2024-05" / "manifest.json").read_text(encoding="utf-8"))["inputs"]


def test_hashed_later_the_hashes_are_the_files_sha256(template: Office, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    now, later = template.copy(tmp_path / "now"), template.copy(tmp_path / "later")
    now.ok("month", "2024-05", "--quiet")
    deferred: list[str] = []
    real = readers.read_table

    def read_table(path: Path, table: str, file: str, *, hash_later: bool = False) -> readers.RawTable:
        raw = real(path, table, file, hash_later=hash_later)
        if not raw.sha256:
            deferred.append(table)
        return raw

    monkeypatch.setattr(readers, "_MAP_FROM", 0)
    monkeypatch.setattr("cmsettle.inputs.validate.read_table", read_table)
    later.ok("month", "2024-05", "--quiet")
    assert {"roster", "clients", "assets", "trades"} <= set(deferred)
    inputs = manifest_inputs(later)
    assert inputs == manifest_inputs(now)
    for f in inputs:
        data = (later.root / "data" / f["file"]).read_bytes()
        assert f["sha256"] == hashlib.sha256(data).hexdigest()
    assert later.runs() == now.runs() and later.tree("out") == now.tree("out")
    assert later.verify()["ok"]


def test_a_file_changed_before_it_is_hashed_fails_the_run(template: Office, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    office = template.copy(tmp_path / "office")
    runs, tree = office.runs(), office.tree("out")
    trades = office.root / "data" / "2024-05" / "trades.csv"
    real = pipeline.settle

    def settle(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        trades.write_bytes(trades.read_bytes() + b"2024-05-20,C1,stock,buy,1,0.0003\n")  # an export re-run
        return real(*args, **kwargs)

    monkeypatch.setattr(readers, "_MAP_FROM", 0)
    monkeypatch.setattr(pipeline, "settle", settle)
    res = office.settle("month", "2024-05", "--quiet")
    assert res.exit_code == Exit.BAD_INPUT, res.output
    assert "2024-05/trades.csv: the file changed while the month was being settled" in res.text
    assert office.runs() == runs and office.tree("out") == tree


def test_file_sha256_reads_in_pieces(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000 + b"tail"
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert readers.file_sha256(path, chunk=1000) == hashlib.sha256(data).hexdigest()  # 257 pieces, the last short
    assert readers.file_sha256(path) == hashlib.sha256(data).hexdigest()
    stop = threading.Event()
    assert readers.file_sha256(path, chunk=1000, stop=stop) == hashlib.sha256(data).hexdigest()
    stop.set()  # a run given up: the hashing ends at its next piece
    assert readers.file_sha256(path, chunk=1000, stop=stop) is None


def test_a_reader_without_hash_later_hashes_as_it_reads(template: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "_MAP_FROM", 0)
    with MonthReader(template.root / "data", Month(2024, 5)) as reader:
        raw = reader.take("trades")
    assert raw.sha256 == hashlib.sha256((template.root / "data" / "2024-05" / "trades.csv").read_bytes()).hexdigest()


@pytest.mark.parametrize("threads", [2, 1])
def test_the_hashing_starts_when_the_typing_threads_run_out_of_columns(
        template: Office, threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a pool of typing threads, the hashing is queued behind the columns: it has started (here: ended,
    the pool being shut down) by the time load_month returns, before the computing; without a pool it waits
    for the pipeline's start_hashing. The hashes are the files' sha256 either way."""
    monkeypatch.setattr(readers, "_MAP_FROM", 0)
    monkeypatch.setattr(validate, "_THREADS", threads)
    data = template.root / "data"
    with MonthReader(data, Month(2024, 5), hash_later=True) as reader:
        inputs = validate.load_month(data, Month(2024, 5), DEFAULT_RULES, first_ledger_month=False,
                                     reader=reader)
        started = {t: f.done() for t, f in reader._hashes.items()}
        files = reader.with_hashes(inputs.files)
    later = {"roster", "clients", "assets", "trades"}
    assert later <= set(reader._stamps)
    assert started == ({t: True for t in reader._stamps} if threads > 1 else {})
    for f in files:
        assert f.sha256 == hashlib.sha256((data / f.path).read_bytes()).hexdigest(), f.path


def test_a_run_that_fails_after_the_hashing_started_does_not_wait_for_it(template: Office, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad input found after the typing threads started the hashing: closing the reader stops it."""
    office = template.copy(tmp_path / "office")
    runs = office.runs()
    clients = office.root / "data" / "2024-05" / "clients.csv"
    clients.write_bytes(clients.read_bytes() + b"C999,M404,individual,active,2024-05-02\n")  # an unknown manager
    stops: list[threading.Event] = []
    real = readers.file_sha256

    def file_sha256(path: Path, chunk: int = 1 << 24, stop: threading.Event | None = None) -> str | None:
        stops.append(stop)
        return real(path, chunk, stop)

    monkeypatch.setattr(readers, "_MAP_FROM", 0)
    monkeypatch.setattr(validate, "_THREADS", 2)
    monkeypatch.setattr(validate, "file_sha256", file_sha256)
    res = office.settle("month", "2024-05", "--quiet")
    assert res.exit_code == Exit.BAD_INPUT, res.output
    assert "manager not in the roster" in res.text
    assert stops and all(s is not None and s.is_set() for s in stops)
    assert office.runs() == runs
