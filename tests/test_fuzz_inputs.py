"""Issue 9 item 5: hostile input never crashes. Property and fuzz tests (hypothesis) on every reader: random
bytes, truncated and zipped-garbage .xlsx, wrong encodings, duplicate and missing headers, formulas in cells,
huge numbers, NaN and inf, impossible dates.

Each example replaces one table of a tiny valid month (tests/fixtures_months.py) and runs the month as a dry
run (read, validate, compute; nothing written). The outcome must be a settled month, NotReadyError (exit 5),
or InputError (exit 3) whose every problem names its file, and a problem of a row also the column; never
any other exception. A few fixed cases go through the CLI: exit 3, the file, row and column named, no
traceback.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import tempfile
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from fixtures_months import ASSETS, CLIENTS, ROSTER, _trades, csv_bytes, write_month
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cmsettle import DEFAULT_RULES_DIR
from cmsettle.cli import app
from cmsettle.errors import InputError, NotReadyError
from cmsettle.months import Month
from cmsettle.pipeline import Settings, settle_month

MONTH = Month.parse("2024-05")
TABLES = {"roster": ROSTER, "clients": CLIENTS, "assets": ASSETS, "trades": _trades(MONTH)}
# The suite runs 30 fixed (derandomized) examples per property; CMSETTLE_FUZZ_EXAMPLES=2000 makes a long,
# random fuzzing session of it.
EXAMPLES = os.environ.get("CMSETTLE_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(EXAMPLES or 30), deadline=None, derandomize=EXAMPLES is None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

HOSTILE_CELLS = [
    "=1+1", "=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1+1", "-1-1", "1e400", "-1e400", "9" * 400, "1" + "0" * 30,
    "1E+999999999", "1e-400", "NaN", "nan", "inf", "-inf", "Infinity", "2024-02-30", "2024-13-01", "0000-00-00",
    "20240230", "9999-99-99", "99999999999", "", " ", "\t", "\x00", "\ufeff", "\u3000", "是", "否", "\"", "\"\"",
    ",", "\n", "\r\n", "1,2,3", "١٢٣", "0x1F", "1_000", "--1", "1..2", ".", "N/A", "#VALUE!", "#REF!", "None",
    "null", "TRUE", "1001.0", "=\"0012\"", "x" * 5000,
]


def dry_run(replace: dict[str, bytes], *, drop: tuple[str, ...] = ()) -> object:
    """Settle MONTH as a dry run with some files of the tiny month replaced (name -> bytes) or removed."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        root = Path(tmp)
        folder = write_month(root / "data", MONTH, opening=True)
        for name in drop:
            (folder / name).unlink(missing_ok=True)
        for name, data in replace.items():
            for old in folder.glob(name.split(".")[0] + ".*"):
                old.unlink()
            (folder / name).write_bytes(data)
        s = Settings(root / "data", root / "out", DEFAULT_RULES_DIR, f"sqlite:///{root / 'none.db'}")
        try:
            return settle_month(MONTH, s, dry_run=True)
        finally:
            assert not (root / "out").exists() and not (root / "none.db").exists()


def check(replace: dict[str, bytes], **kw: object) -> InputError | NotReadyError | None:
    """The property: a result, NotReadyError, or an InputError whose problems all name file (and column)."""
    try:
        dry_run(replace, **kw)  # type: ignore[arg-type]
    except NotReadyError as exc:
        return exc
    except InputError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.file.startswith(f"{MONTH}/"), p
            if p.row is not None:
                assert p.column, p
            str(p)  # printable
        return exc
    return None


def xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD_XLSX = {name: xlsx(rows) for name, rows in TABLES.items()}


# ---- properties -------------------------------------------------------------------------------------

@FUZZ
@given(table=st.sampled_from(sorted(TABLES)), data=st.binary(max_size=3000))
def test_random_bytes_in_a_csv_file(table: str, data: bytes) -> None:
    check({f"{table}.csv": data})


@FUZZ
@given(table=st.sampled_from(sorted(TABLES)), data=st.binary(max_size=3000))
def test_random_bytes_as_an_xlsx_file(table: str, data: bytes) -> None:
    err = check({f"{table}.xlsx": data})
    assert isinstance(err, InputError)


@FUZZ
@given(table=st.sampled_from(sorted(TABLES)), cut=st.floats(0, 1), flips=st.lists(st.integers(0, 10**9), max_size=4))
def test_a_truncated_or_damaged_xlsx(table: str, cut: float, flips: list[int]) -> None:
    data = bytearray(GOOD_XLSX[table][: int(len(GOOD_XLSX[table]) * cut)])
    for f in flips:
        if data:
            data[f % len(data)] ^= 0xFF
    check({f"{table}.xlsx": bytes(data)})


@FUZZ
@given(members=st.lists(st.tuples(st.sampled_from(["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml",
                                                   "xl/_rels/workbook.xml.rels", "_rels/.rels", "xl/sharedStrings.xml",
                                                   "docProps/app.xml", "x.bin"]),
                                  st.binary(max_size=400)), max_size=6))
def test_zipped_garbage_as_an_xlsx(members: list[tuple[str, bytes]]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in dict(members).items():
            z.writestr(name, data)
    err = check({"trades.xlsx": buf.getvalue()})
    assert isinstance(err, InputError)


@FUZZ
@given(table=st.sampled_from(sorted(TABLES)),
       encoding=st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "big5", "shift_jis", "euc-kr",
                                 "latin-1", "cp1252", "cp500", "koi8-r", "gb18030", "utf-7", "hz"]),
       chinese=st.booleans())
def test_a_csv_file_in_the_wrong_encoding(table: str, encoding: str, chinese: bool) -> None:
    text = csv_bytes(TABLES[table]).decode("utf-8")
    if chinese:
        text = text.replace("manager_id", "工号").replace("client_id", "客户号").replace("turnover", "成交金额")
    check({f"{table}.csv": text.encode(encoding, errors="replace")})


HEADER_WORDS = sorted({c for rows in TABLES.values() for c in rows[0]} | {"工号", "客户号", "成交金额", "姓名", "", " ",
                                                                          "junk", "MANAGER_ID", "manager id"})


@FUZZ
@given(table=st.sampled_from(sorted(TABLES)), data=st.data())
def test_duplicate_missing_and_odd_headers(table: str, data: st.DataObject) -> None:
    rows = TABLES[table]
    header = data.draw(st.lists(st.sampled_from(HEADER_WORDS), min_size=0, max_size=len(rows[0]) + 3))
    body = [r[: len(header)] + [""] * (len(header) - len(r)) for r in rows[1:]]
    check({f"{table}.csv": csv_bytes([header, *body])})


@FUZZ
@given(table=st.sampled_from(sorted(TABLES)), data=st.data(), as_xlsx=st.booleans())
def test_hostile_values_in_cells(table: str, data: st.DataObject, as_xlsx: bool) -> None:
    rows = [list(r) for r in TABLES[table]]
    for _ in range(data.draw(st.integers(1, 4))):
        r = data.draw(st.integers(1, len(rows) - 1))
        c = data.draw(st.integers(0, len(rows[0]) - 1))
        rows[r][c] = data.draw(st.sampled_from(HOSTILE_CELLS) | st.text(max_size=30))
    if as_xlsx:
        cells = [[_xlsx_safe(v) for v in r] for r in rows]
        check({f"{table}.xlsx": xlsx(cells)})
    else:
        check({f"{table}.csv": csv_bytes(rows)})


def _xlsx_safe(v: str) -> str:
    """openpyxl refuses control characters in a cell (a real export cannot hold them either)."""
    return "".join(ch for ch in v if ch in "\t\n\r" or ord(ch) >= 32)


@FUZZ
@given(table=st.sampled_from(sorted(TABLES)), data=st.data())
def test_typed_spreadsheet_cells(table: str, data: st.DataObject) -> None:
    rows: list[list[object]] = [list(r) for r in TABLES[table]]
    values = st.one_of(
        st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**40, 10**40), st.booleans(),
        st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31)),
        st.dates(min_value=date(1900, 3, 1)), st.just("=1+1"), st.just("=A1/0"), st.none())
    for _ in range(data.draw(st.integers(1, 4))):
        r = data.draw(st.integers(1, len(rows) - 1))
        c = data.draw(st.integers(0, len(rows[0]) - 1))
        rows[r][c] = data.draw(values)
    check({f"{table}.xlsx": xlsx(rows)})


# ---- the cases of the issue, with the problem they must name ------------------------------------------

@pytest.mark.parametrize("value, message", [
    ("=1+1", "not a number"), ("1e400", "too large"), ("9" * 400, "too large"), ("1" + "0" * 30, "too large"),
    ("1E+999999999", "too large"), ("1" + ",000" * 10, "too large"), ("NaN", "not a number"),
    ("inf", "not a number"), ("-Infinity", "not a number"),
])
def test_a_bad_amount_names_file_row_and_column(value: str, message: str) -> None:
    rows = [list(r) for r in TABLES["trades"]]
    rows[2][4] = value  # turnover of the second trade (spreadsheet row 3)
    err = check({"trades.csv": csv_bytes(rows)})
    assert isinstance(err, InputError)
    p = next(p for p in err.problems if p.column == "turnover")
    assert (p.file, p.row) == ("2024-05/trades.csv", 3) and message in p.message, p


@pytest.mark.parametrize("table, column, value", [
    ("assets", 1, "1e400"), ("assets", 2, "9" * 40), ("roster", 0, "=1+1"), ("clients", 2, "2024-02-30"),
    ("trades", 0, "2024-02-30"), ("trades", 5, "NaN"),
])
def test_huge_numbers_formulas_and_impossible_dates_are_named(table: str, column: int, value: str) -> None:
    rows = [list(r) for r in TABLES[table]]
    if table == "roster":
        rows[0].append("si_base")
        for r in rows[1:]:
            r.append("1e400")
    rows[1][column] = value
    err = check({f"{table}.csv": csv_bytes(rows)})
    assert isinstance(err, InputError)
    assert any(p.row == 2 and p.column for p in err.problems), err.problems


def test_the_cli_says_exit_3_with_file_row_and_column_and_no_traceback(tmp_path: Path) -> None:
    folder = write_month(tmp_path / "data", MONTH, opening=True)
    rows = [list(r) for r in TABLES["trades"]]
    rows[1][4], rows[2][0], rows[3][5] = "1e400", "2024-02-30", "=1+1"
    (folder / "trades.csv").write_bytes(csv_bytes(rows))
    (folder / "assets.csv").unlink()
    (folder / "assets.xlsx").write_bytes(GOOD_XLSX["assets"][:700])
    (folder / "roster.csv").write_bytes("工号,姓名\n1001,张三\n".encode("utf-16-le"))
    res = CliRunner().invoke(app, ["month", str(MONTH), "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                                   "--db", f"sqlite:///{tmp_path / 'l.db'}"])
    out = res.output
    assert res.exit_code == 3, out
    assert "Traceback" not in out and "internal error" not in out
    assert "2024-05/trades.csv:2 [turnover]" in out and "2024-05/trades.csv:3 [trade_date]" in out
    assert "2024-05/trades.csv:4 [commission_rate]" in out
    assert "2024-05/assets.xlsx" in out and "2024-05/roster.csv" in out
    assert not (tmp_path / "out").exists() and not (tmp_path / "l.db").exists()


def test_a_large_random_sweep_of_csv_damage(tmp_path: Path) -> None:
    """Byte-level damage to every table (deterministic seed): insert, delete and replace bytes."""
    rnd = random.Random(9)
    for _ in range(30):
        table = rnd.choice(sorted(TABLES))
        data = bytearray(csv_bytes(TABLES[table]))
        for _ in range(rnd.randint(1, 8)):
            i = rnd.randrange(len(data) + 1)
            op = rnd.choice("idr")
            if op == "i":
                data[i:i] = bytes([rnd.randrange(256)])
            elif op == "d" and data:
                del data[i % len(data)]
            elif data:
                data[i % len(data)] = rnd.randrange(256)
        check({f"{table}.csv": bytes(data)})
    shutil.rmtree(tmp_path, ignore_errors=True)
