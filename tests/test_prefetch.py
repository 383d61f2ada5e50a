"""Issue 10: `settle month` reads the month's largest file from its first moment (cmsettle.console,
cmsettle.inputs.prefetch), while the command line is still being imported. The month must be read the same
whether that file was read ahead or not; a file changed since, or another folder than the one guessed, is
read the usual way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from branch_office import Office

from cmsettle import console
from cmsettle.inputs import prefetch, readers
from cmsettle.inputs.validate import load_month
from cmsettle.months import Month
from cmsettle.synth import generate
from tests.builders import DEFAULT_RULES

MONTH = Month(2024, 5)


@pytest.mark.parametrize("argv, folder", [
    (["month", "2024-05", "--data", "d"], "d/2024-05"),
    (["month", "--data=d", "2024-05", "--quiet"], "d/2024-05"),
    (["--log", "month", "month", "2024-05", "--out", "2024-06", "--data", "x/y"], "x/y/2024-05"),  # values skipped
    (["month", "2024-05", "--dry-run"], "from-env/2024-05"),
    (["month", "--", "2024-05"], "from-env/2024-05"),
    (["grades", "2024-05", "--data", "d"], None),  # only `settle month` reads ahead
    (["month", "May", "--data", "d"], None),
    (["month"], None),
    ([], None),
])
def test_the_month_folder_is_found_as_the_command_line_will(argv: list[str], folder: str | None,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMSETTLE_DATA", "from-env")
    assert console.month_folder(argv) == (Path(folder) if folder else None)


def test_without_option_nor_environment_cmsettle_toml_then_the_default(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CMSETTLE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert console.month_folder(["month", "2024-05"]) == Path("data/2024-05")
    (tmp_path / "cmsettle.toml").write_text('data = "exports"\n', encoding="utf-8")
    assert console.month_folder(["month", "2024-05"]) == Path("exports/2024-05")
    (tmp_path / "cmsettle.toml").write_text("data = [", encoding="utf-8")  # the command line says what is wrong
    assert console.month_folder(["month", "2024-05"]) is None


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ahead")
    generate(out, [str(MONTH)], seed=11, managers=40, clients=2000, trades_per_month=40_000)
    return out


def _load(data: Path):  # noqa: ANN202
    return load_month(data, MONTH, DEFAULT_RULES, first_ledger_month=True)


@pytest.fixture
def claims(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What readers.py got from the read-ahead, per file (None: read the usual way)."""
    got: list[object] = []
    real = prefetch.claim

    def claim(path: Path) -> prefetch.Read | None:
        out = real(path)
        got.append(out)
        return out

    monkeypatch.setattr(prefetch, "claim", claim)
    monkeypatch.setattr(prefetch, "AHEAD_FROM", 0)
    return got


def test_a_month_read_ahead_is_the_month_read_the_usual_way(month: Path, claims: list[object]) -> None:
    usual = _load(month)
    assert [c for c in claims if c is not None] == []
    assert prefetch.start(month / str(MONTH)) == month / str(MONTH) / "trades.csv"  # the largest file
    ahead = _load(month)
    used = [c for c in claims if c is not None]
    assert len(used) == 1 and used[0].path == month / str(MONTH) / "trades.csv"
    for name in ("clients", "assets", "trades", "fund_sales"):
        pd.testing.assert_frame_equal(getattr(usual, name), getattr(ahead, name), check_categorical=True, obj=name)
    assert usual.files == ahead.files  # the same hashes, rows and encodings
    assert prefetch.claim(month / str(MONTH) / "trades.csv") is None  # taken once


def test_a_file_changed_after_its_read_ahead_is_read_again(month: Path, tmp_path: Path,
                                                            claims: list[object]) -> None:
    folder = tmp_path / str(MONTH)
    folder.mkdir()
    for p in (month / str(MONTH)).iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    prefetch.start(folder)
    prefetch._ahead.thread.join()  # read ahead ...
    trades = folder / "trades.csv"
    lines = trades.read_bytes().split(b"\n")
    trades.write_bytes(b"\n".join(lines[:-100]) + b"\n")  # ... then the file shortened
    st = trades.stat()
    os.utime(trades, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    inputs = _load(tmp_path)
    assert all(c is None for c in claims)
    assert len(inputs.trades) == len(_load(month).trades) - 99  # the file as it is now


def test_only_the_large_tables_files_are_read_ahead(month: Path, tmp_path: Path) -> None:
    from cmsettle import model

    assert {name.removesuffix(".csv") for name in prefetch.LARGE} == set(model.FRAME_SCHEMA)
    folder = tmp_path / str(MONTH)
    folder.mkdir()
    (folder / "trades_backup.csv").write_bytes((month / str(MONTH) / "trades.csv").read_bytes() * 2)
    (folder / "Clients.CSV").write_bytes((month / str(MONTH) / "clients.csv").read_bytes())
    with pytest.MonkeyPatch.context() as m:
        m.setattr(prefetch, "AHEAD_FROM", 0)
        assert prefetch.start(folder) == folder / "Clients.CSV"  # not the larger file no table reads
        prefetch.discard()


def test_a_read_ahead_of_another_folder_is_not_used_and_is_dropped(month: Path, tmp_path: Path,
                                                                   claims: list[object]) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "trades.csv").write_bytes((month / str(MONTH) / "trades.csv").read_bytes())
    assert prefetch.start(other) == other / "trades.csv"
    _load(month)
    assert all(c is None for c in claims)
    assert prefetch._ahead is None  # dropped when the month's reading ended (MonthReader.close)


def test_small_files_and_missing_folders_are_not_read_ahead(month: Path, tmp_path: Path) -> None:
    assert prefetch.start(month / str(MONTH)) is None  # 40,000 trades: below AHEAD_FROM
    assert prefetch.start(tmp_path / "nowhere") is None
    assert readers.read_table(month / str(MONTH) / "roster.csv", "roster", "roster.csv").rows.size


def test_settle_month_as_a_process_with_the_read_ahead_makes_the_same_outputs(tmp_path: Path) -> None:
    """The console script end to end (python -m cmsettle), reading ahead even the small files of the office."""
    template = Office.create(tmp_path / "office")  # April closed, May a draft
    plain, ahead = template.copy(tmp_path / "plain"), template.copy(tmp_path / "ahead")
    for office, env in ((plain, None), (ahead, {"CMSETTLE_TEST_AHEAD_FROM": "0"})):
        res = office.subprocess("month", "2024-05", "--quiet", env=env)  # May again
        assert res.returncode == 0, res.stderr
    assert plain.tree("out") == ahead.tree("out") and plain.runs() == ahead.runs()


def test_the_read_ahead_needs_nothing_but_pyarrow() -> None:
    """The point of reading ahead: it starts before pandas, Typer, pydantic and SQLAlchemy are imported."""
    import subprocess
    import sys

    code = ("import sys, cmsettle.console, cmsettle.inputs.prefetch; "
            "print(sorted(m for m in ('pandas', 'typer', 'pydantic', 'sqlalchemy', 'rich', 'cmsettle.cli') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_read_ahead_that_fails_leaves_the_file_to_the_usual_reading(month: Path, claims: list[object],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*a: object) -> object:
        raise RuntimeError("pyarrow gave up")

    monkeypatch.setattr(prefetch, "first_grid", broken)
    prefetch.start(month / str(MONTH))
    prefetch._ahead.thread.join()  # the thread ended quietly, nothing read
    inputs = _load(month)
    assert all(c is None for c in claims) and len(inputs.trades) > 40_000 - 100


def test_the_console_script_keeps_numpy_to_one_blas_thread_and_small_pages(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENBLAS_NUM_THREADS", "NUMPY_MADVISE_HUGEPAGE"):
        monkeypatch.delenv(name, raising=False)
    console.numpy_settings()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["NUMPY_MADVISE_HUGEPAGE"] == "0"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # a choice made outside is kept
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    console.numpy_settings()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"
    assert os.environ["NUMPY_MADVISE_HUGEPAGE"] == "1"


def test_numpy_loaded_after_the_settings_takes_no_huge_pages() -> None:
    """numpy reads NUMPY_MADVISE_HUGEPAGE as it loads: in a fresh process set up as the console script
    does, its arrays are not advised to huge pages (_set_madvise_hugepage returns the setting it replaces)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    code = ("from cmsettle.console import numpy_settings; numpy_settings(); import numpy; "
            "from numpy._core.multiarray import _set_madvise_hugepage; print(_set_madvise_hugepage(True))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
