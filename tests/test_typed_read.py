"""A large CSV file's date columns typed by pyarrow's reader itself (issue 10;
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
from cmsettle.inputs.readers import RawTable, read_table

HEADER = ["trade_date", "client_id", "product", "side", "turnover", "commission_rate"]
PLAIN = [[f"2024-05-{6 + i % 20:02d}", f"C{1 + i % 3}", "股票", "买入", f"{1000 + 37 * i}.{i % 100:02d}",
          "0.0003"] for i in range(40)]


def typed_positions(raw: RawTable) -> list[int]:
    """The columns the reader typed (not text) of a table read with ``as_text``."""
    if raw.as_text is None:
        return []
    return [i for i in range(len(raw.header)) if not pd.api.types.is_string_dtype(raw.cells[i].dtype)]


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
    positions = typed_positions(read_table(data / str(M) / "trades.csv", "trades", "trades.csv"))
    with_types = outcome(data)
    typed.delenv("CMSETTLE_TEST_TYPED_FROM")
    return with_types, outcome(data), positions


def test_the_usual_export_is_read_typed_and_gives_the_same_month(typed: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    data = make_month(tmp_path, trades())
    a, b, positions = both(typed, data)
    assert positions == [0]  # trade_date as date32; the amounts, ids and codes as text
    raw = read_table(data / str(M) / "trades.csv", "trades", "trades.csv")
    assert raw.as_text is None  # the threshold is back: 16 MB
    same(a, b)
    assert not isinstance(a, list)
    assert a.trades["trade_date"].dtype == pd.ArrowDtype(pa.date32())
    assert str(a.trades["trade_date"].iloc[1]) == "2024-05-07"


TYPED, TEXT = [0], []


@pytest.mark.parametrize(("day", "read", "bad"), [
    ("2024-05-07 ", TYPED, False), ("\t2024-05-07", TYPED, False),  # the blanks the text path strips
    ("2024-04-30", TYPED, True), ("2024-06-01", TYPED, True), ("0000-01-01", TYPED, True),  # from the text
    ("2024/05/07", TEXT, False), ("2024-5-7", TEXT, False), ("20240507", TEXT, False),  # other forms
    ("2024-02-30", TEXT, True), ("", TEXT, True), ("\u30002024-05-07", TEXT, False),
    ("2024-05-07x", TEXT, True),
])
def test_any_trade_date_below_the_sample_gives_what_the_text_gives(typed: pytest.MonkeyPatch, tmp_path: Path,
                                                                    day: str, read: list[int],
                                                                    bad: bool) -> None:
    a, b, positions = both(typed, make_month(tmp_path, trades([day, "C1", "股票", "买入", "10.00", "0.0003"])))
    assert positions == read
    same(a, b)
    assert isinstance(a, list) == bad


def test_a_date_out_of_the_month_names_the_cell_as_written(typed: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a, b, positions = both(typed, make_month(tmp_path, trades([" 2024-06-01", "C1", "股票", "买入", "10.00",
                                                                "0.0003"])))
    assert positions == TYPED and a == b
    # the text stripped, as the text path shows every cell of a file with blanks
    assert a == ["2024-05/trades.csv:42 [trade_date]: date outside 2024-05: got '2024-06-01', expected a "
                 "date from 2024-05-01 to 2024-05-31"]


def test_typed_columns_that_are_not_dates_of_the_table_give_what_the_text_gives(typed: pytest.MonkeyPatch,
                                                                                tmp_path: Path) -> None:
    """A date column not read (a warning names it), one without a header (a problem names its cells), and
    ids that look like dates: typed by the reader, then taken as their text."""
    def plus(header: str, value: str) -> dict[str, list[list[str]]]:
        return {"trades": [[*r, v] for r, v in zip([HEADER, *PLAIN], [header, *([value] * len(PLAIN))],
                                                    strict=True)]}

    for n, tables in enumerate((plus("结算日期", "2024-05-08"), plus("", "2024-05-08"))):
        a, b, positions = both(typed, make_month(tmp_path / str(n), tables))
        assert positions == [0, 6]
        same(a, b)
    ids = {"trades": [HEADER, *([r[0], "2024-05-01", *r[2:]] for r in PLAIN)]}
    a, b, positions = both(typed, make_month(tmp_path / "ids", ids))
    assert positions == [0, 1] and isinstance(a, list) and a == b  # clients not in clients, by the id's text


def test_the_small_tables_are_typed_from_their_text_only(typed: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """History's months given as dates (a spreadsheet's 2024-04-01), and management's dates: read as text."""
    months = ([f"2024-0{m}-01", "1001", "manager", "3000000", "5", "500000", "1.0"] for m in (1, 2, 3, 4, 5))
    history = {"history": [BASE["history"][0], *months]}
    management = {"management": [*BASE["management"], *[["1001", "2024-05-10", "complaint", "x"]] * 5]}
    for n, tables in enumerate((history, management)):
        data = make_month(tmp_path / str(n), tables)
        typed.setenv("CMSETTLE_TEST_TYPED_FROM", "0")
        name = next(iter(tables))
        assert typed_positions(read_table(data / str(M) / f"{name}.csv", name, name)) == [0 if n == 0 else 1]
        a, b, _ = both(typed, data)
        same(a, b)
    assert len(a.management) == 6 and len(outcome(tmp_path / "0").history) == 4  # May's row left out (D4)


def test_a_file_with_quotes_is_read_as_text(typed: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a, b, positions = both(typed, make_month(tmp_path, trades(["2024-05-20", "C1", "股票", "买入", "1,000.00",
                                                                "0.0003"])))
    assert positions == [] and (tmp_path / str(M) / "trades.csv").read_bytes().count(b'"') == 2
    same(a, b)


@pytest.mark.parametrize("form", ["bom", "crlf", "tab", "no last line end", "date last"])
def test_the_file_forms_give_what_the_text_gives(typed: pytest.MonkeyPatch, tmp_path: Path,
                                                 form: str) -> None:
    rows = [HEADER, *PLAIN, ["2024-04-30", "C1", "股票", "买入", "10.00", "0.0003"]]  # a date out of range too
    if form == "date last":
        rows = [[*r[1:], r[0]] for r in rows]
    sep, end = ("\t" if form == "tab" else ","), ("\r\n" if form == "crlf" else "\n")
    text = end.join(sep.join(r) for r in rows) + ("" if form == "no last line end" else end)
    data = make_month(tmp_path, {"trades": None})
    (data / str(M) / "trades.csv").write_bytes((b"\xef\xbb\xbf" if form == "bom" else b"") + text.encode())
    a, b, positions = both(typed, data)
    assert positions == ([5] if form == "date last" else [0])
    same(a, b)
    assert a == ["2024-05/trades.csv:42 [trade_date]: date outside 2024-05: got '2024-04-30', expected a "
                 "date from 2024-05-01 to 2024-05-31"]
