"""A large CSV file's amount and date columns typed by pyarrow's reader itself (issue 10;
cmsettle.inputs.grid.typed_grid): the month must come out exactly as when every column is read as text and
typed after, the same frames, the same problems with the same cell texts, whatever the cells below the
sampled rows hold.

CMSETTLE_TEST_TYPED_FROM=0 makes even these small files worth typing; the sample that decides which columns to
type is cut to the first rows, so that the odd cell further down is met by the typed reading itself.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from test_inputs import BASE, M, RULES, make_month

from cmsettle.errors import InputError
from cmsettle.inputs import grid, load_month
from cmsettle.inputs.readers import read_table

HEADER = ["trade_date", "client_id", "product", "side", "turnover", "commission_rate"]
PLAIN = [[f"2024-05-{6 + i % 20:02d}", f"C{1 + i % 3}", "股票", "买入", f"{1000 + 37 * i}.{i % 100:02d}",
          "0.0003"] for i in range(40)]


def trades(*last: list[str], header: list[str] = HEADER) -> dict[str, list[list[str]]]:
    return {"trades": [header, *PLAIN, *last]}


def outcome(data: Path) -> object:
    """What the month's loading gives: its problems, or its tables and files."""
    try:
        inputs = load_month(data, M, RULES, first_ledger_month=True)
    except InputError as exc:
        return [str(p) for p in exc.problems]
    return inputs


def same(a: object, b: object) -> None:
    if isinstance(a, list) or isinstance(b, list):
        assert a == b
        return
    for name in ("clients", "assets", "trades", "fund_sales"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    for name in ("roster", "attendance", "penalties", "deductions", "history", "opening", "files",
                 "warnings"):
        assert getattr(a, name) == getattr(b, name)


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setattr(grid, "_SAMPLE", 400)  # the header and a few rows
    return monkeypatch


def both(typed: pytest.MonkeyPatch, data: Path) -> tuple[object, object, list[int]]:
    """The month read with the typed reading, and read all as text; the typed columns of its trades."""
    typed.setenv("CMSETTLE_TEST_TYPED_FROM", "0")
    positions = read_table(data / str(M) / "trades.csv", "trades", "trades.csv").typed_positions()
    with_types = outcome(data)
    typed.delenv("CMSETTLE_TEST_TYPED_FROM")
    return with_types, outcome(data), positions


def test_the_usual_export_is_read_typed_and_gives_the_same_month(typed: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    data = make_month(tmp_path, trades())
    a, b, positions = both(typed, data)
    assert positions == [0, 4]  # trade_date as date32, turnover as decimal128; the 4-decimal rates as text
    raw = read_table(data / str(M) / "trades.csv", "trades", "trades.csv")
    assert raw.as_text is None  # the threshold is back: 16 MB
    same(a, b)
    assert not isinstance(a, list)
    assert a.trades["turnover"].dtype == pd.ArrowDtype(pa.decimal128(38, 2))
    assert str(a.trades["turnover"].iloc[1]) == "1037.01"


TYPED, TEXT, DATES = [0, 4], [], [0]


@pytest.mark.parametrize(("turnover", "read"), [
    *((t, TYPED) for t in ("333", "+333.00", "0333.00", "-0.00", ".5", "5.", " 333.00", "\t7.10")),  # as text
    *((t, TYPED) for t in ("-5.00", "1000000000000000.00", "99999999999999999.00")),  # reported from the text
    *((t, TEXT) for t in ("1.005", "", "abc", "1,234.50", "12.3.4")),  # the typed reading fails: all text
    *((t, DATES) for t in ("1e3", "123456E-2", "1.5E+3")),  # an exponent in the file: amounts not typed
])
def test_any_turnover_below_the_sample_gives_what_the_text_gives(typed: pytest.MonkeyPatch, tmp_path: Path,
                                                                  turnover: str, read: list[int]) -> None:
    a, b, positions = both(typed, make_month(tmp_path, trades(["2024-05-20", "C1", "股票", "买入", turnover,
                                                                "0.0003"])))
    assert positions == read
    same(a, b)


@pytest.mark.parametrize(("day", "read", "bad"), [
    ("2024-04-30", TYPED, True), ("2024-06-01", TYPED, True), ("2024-05-07 ", TYPED, False),
    ("2024/05/07", TEXT, False), ("2024-5-7", TEXT, False), ("20240507", TEXT, False),
    ("0000-01-01", TYPED, True), ("2024-02-30", TEXT, True), ("", TEXT, True),
])
def test_any_trade_date_below_the_sample_gives_what_the_text_gives(typed: pytest.MonkeyPatch, tmp_path: Path,
                                                                    day: str, read: list[int],
                                                                    bad: bool) -> None:
    a, b, positions = both(typed, make_month(tmp_path, trades([day, "C1", "股票", "买入", "10.00", "0.0003"])))
    assert positions == read
    same(a, b)
    assert isinstance(a, list) == bad


def test_a_negative_turnover_names_the_cell_as_written(typed: pytest.MonkeyPatch, tmp_path: Path) -> None:
    negative = ["2024-05-20", "C1", "股票", "买入", "-05", "0.0003"]
    a, b, positions = both(typed, make_month(tmp_path, trades(negative)))
    assert positions == TYPED and a == b
    assert a == ["2024-05/trades.csv:42 [turnover]: must not be negative: got '-05', expected 0 or more"]


def test_typed_columns_that_are_not_amounts_or_dates_of_the_table_are_read_as_text(
        typed: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A money-like column not read (a warning names it), one without a header (a problem names its cells),
    and the small tables (their amounts and dates typed from text only)."""
    extra = [[*r, v] for r, v in zip([HEADER, *PLAIN], ["佣金", *(["1.00"] * len(PLAIN))], strict=True)]
    blank = [[*r, v] for r, v in zip([HEADER, *PLAIN], ["", *(["2.00"] * len(PLAIN))], strict=True)]
    for n, rows in enumerate((extra, blank)):
        a, b, positions = both(typed, make_month(tmp_path / str(n), {"trades": rows}))
        assert positions == [0, 4, 6]
        same(a, b)
    deductions = {"deductions": [*BASE["deductions"], ["1002", "99.50"]]}
    a, b, _ = both(typed, make_month(tmp_path / "small", deductions))
    same(a, b)


def test_a_file_with_quotes_is_read_as_text(typed: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a, b, positions = both(typed, make_month(tmp_path, trades(["2024-05-20", "C1", "股票", "买入", "1,000.00",
                                                                "0.0003"])))
    assert positions == [] and (tmp_path / str(M) / "trades.csv").read_bytes().count(b'"') == 2
    same(a, b)
