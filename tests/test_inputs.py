"""The input layer (DATA.md): reading, typing, and every check, each with the Problem it must produce."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from cmsettle.errors import InputError, NotReadyError, Problem
from cmsettle.inputs import load_month
from cmsettle.inputs.readers import cell_text
from cmsettle.inputs.validate import CAP, load_aliases, parse_date
from cmsettle.model import MonthInputs, Source
from cmsettle.months import Month
from cmsettle.ruleset import parse_ruleset

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "inputs"
RULES = parse_ruleset(ROOT / "rules" / "2024-01-default.yaml").rules
M = Month(2024, 5)

# A small valid month: table -> header + rows, all text as a CSV holds it.
BASE: dict[str, list[list[str]]] = {
    "roster": [
        ["manager_id", "name", "position", "hire_date", "supervisor_id", "grade", "leave_date", "tier"],
        ["1001", "张三", "marketer", "2023-01-10", "2001", "manager", "", ""],
        ["1002", "李四", "营销经理", "2024-05-20", "2001", "见习", "", "1"],
        ["2001", "王五", "station_manager", "2020-03-01", "", "senior", "", ""],
        ["0042", "赵六", "marketer", "2022-02-02", "2001", "", "2024-05-15", ""],
    ],
    "clients": [
        ["client_id", "manager_id", "open_date", "kind", "status"],
        ["C1", "1001", "2024-05-02", "individual", "normal"],
        ["C2", "1001", "2023-01-01", "机构", ""],
        ["C3", "0042", "2024-05-03", "", "调查中"],
    ],
    "assets": [
        ["client_id", "avg_assets", "end_assets", "equity_assets"],
        ["C1", "1,234.50", "2000", ""],
        ["C2", "100000", "100000.5", "50000"],
    ],
    "trades": [
        ["trade_date", "client_id", "product", "side", "turnover", "commission_rate"],
        ["2024-05-06", "C1", "stock", "buy", "6000", "0.0003"],
        ["2024/05/07", "C2", "股票", "卖出", "12,000.00", "0.00025"],
        ["2024-05-31", "C3", "fund_open", "BUY", "0", "0"],
    ],
    "fund_sales": [
        ["client_id", "sale_date", "product_code", "amount", "commission_income"],
        ["C1", "2024-05-08", "000001", "10000", "15"],
    ],
    "attendance": [
        ["manager_id", "date", "code", "days", "proof"],
        ["1001", "2024-05-06", "late", "", ""],
        ["1001", "2024-05-07", "sick_leave", "1", "是"],
        ["0042", "2024-05-08", "absent", "0.5", ""],
        ["0042", "2024-05-08", "personal_leave", "0.5", ""],
    ],
    "management": [
        ["manager_id", "date", "kind", "note"],
        ["1001", "2024-05-09", "complaint", "客户投诉"],
    ],
    "penalties": [
        ["manager_id", "date", "kind", "amount", "client_id", "severity", "note"],
        ["1001", "2024-05-10", "business_error", "100", "", "", ""],
        ["0042", "2024-05-12", "malicious_account", "", "C3", "一般", ""],
        ["1001", "2024-05-13", "risk_fund_forfeit", "", "", "", ""],
    ],
    "referrals": [
        ["referrer_id", "referred_id", "date"],
        ["1001", "1002", "2024-05-20"],
    ],
    "deductions": [
        ["manager_id", "amount"],
        ["1001", "1500"],
    ],
    "grade_overrides": [
        ["manager_id", "grade", "approved_by", "reason"],
        ["1002", "客户经理助理", "行长", "业绩突出"],
    ],
    "history": [
        ["month", "manager_id", "grade", "avg_assets", "ea", "nmv", "score_raw"],
        ["2024-04", "1001", "manager", "3000000", "5", "500000", "1.0"],
        ["2024-03", "1001", "", "2900000", "4", "400000", ""],
        ["2024-05", "1001", "manager", "1", "1", "1", "1"],
    ],
    "opening": [
        ["manager_id", "risk_fund_balance", "ytd_taxable"],
        ["1001", "1200", "-3000"],
    ],
}


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode(encoding)


def make_month(tmp_path: Path, tables: dict[str, list[list[str]] | None] | None = None,
               month: Month = M) -> Path:
    """Write BASE (with `tables` replacing or, when None, removing tables) as CSV files; return data dir."""
    data = {**BASE, **(tables or {})}
    folder = tmp_path / str(month)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in data.items():
        if rows is not None:
            (folder / f"{name}.csv").write_bytes(csv_bytes(rows))
    return tmp_path


def with_rows(table: str, *rows: list[str]) -> dict[str, list[list[str]]]:
    return {table: [*BASE[table], *rows]}


def with_column(table: str, header: str, *values: str) -> dict[str, list[list[str]]]:
    """BASE's `table` with one more column on the right."""
    return {table: [[*r, v] for r, v in zip(BASE[table], [header, *values], strict=True)]}


def changed(table: str, row: int, column: str, value: str) -> dict[str, list[list[str]]]:
    """BASE's `table` with one cell changed; `row` as a spreadsheet counts (header = 1)."""
    rows = [list(r) for r in BASE[table]]
    rows[row - 1][rows[0].index(column)] = value
    return {table: rows}


def load(data: Path, first: bool = True, **kw: object) -> MonthInputs:
    return load_month(data, M, RULES, first_ledger_month=first, **kw)  # type: ignore[arg-type]


def problems(data: Path, **kw: object) -> list[Problem]:
    with pytest.raises(InputError) as exc:
        load(data, **kw)
    return exc.value.problems


def the_problem(data: Path, **kw: object) -> Problem:
    found = problems(data, **kw)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


# --- a valid month -----------------------------------------------------------------------------------


def test_valid_month_is_typed(tmp_path: Path) -> None:
    got = load(make_month(tmp_path), known_manager_ids=frozenset({"9999"}))

    assert [r.manager_id for r in got.roster] == ["1001", "1002", "2001", "0042"]
    r1, r2, r3, r4 = got.roster
    assert r1.hire_date == date(2023, 1, 10) and r1.tier == 1 and r1.contract == "employee"
    assert r1.leave_approved is True and r1.leave_date is None and r1.grade == "manager"
    assert r2.position == "marketer" and r2.grade == "trainee"  # 营销经理 as a position, 见习 as a grade
    assert r3.supervisor_id is None and r4.leave_date == date(2024, 5, 15)
    assert r1.src == Source("2024-05/roster.csv", 2) and r4.src == Source("2024-05/roster.csv", 5)

    c = got.clients
    assert list(c.columns) == ["client_id", "manager_id", "open_date", "kind", "status", "_row"]
    assert c.kind.tolist() == ["individual", "institution", "individual"]
    assert c.status.tolist() == ["normal", "normal", "under_investigation"]
    assert c.manager_id.tolist() == ["1001", "1001", "0042"] and c._row.tolist() == [2, 3, 4]

    a = got.assets
    assert a.avg_assets.tolist() == [Decimal("1234.50"), Decimal(100000)]
    assert a.equity_assets.tolist() == [Decimal(0), Decimal(50000)]
    assert all(type(v) is Decimal for v in a.end_assets)

    t = got.trades
    assert list(t.columns) == ["trade_date", "client_id", "product", "side", "turnover", "commission_rate",
                               "_row"]
    assert t.trade_date.tolist() == [date(2024, 5, 6), date(2024, 5, 7), date(2024, 5, 31)]
    assert t["product"].tolist() == ["stock", "stock", "fund_open"]
    assert t.side.tolist() == ["buy", "sell", "buy"]
    assert t.turnover.tolist() == [Decimal(6000), Decimal("12000.00"), Decimal(0)]
    assert got.fund_sales.product_code.tolist() == ["000001"]

    late, sick, absent, _leave = got.attendance
    assert late.days == Decimal(1) and late.proof is False
    assert sick.proof is True and absent.days == Decimal("0.5")
    assert got.management[0].note == "客户投诉"
    be, mal, forfeit = got.penalties
    assert be.amount == Decimal(100) and mal.severity == "general" and mal.client_id == "C3"
    assert forfeit.amount is None
    assert got.referrals[0].date == date(2024, 5, 20)
    assert got.deductions[0].amount == Decimal(1500)
    assert got.overrides[0].grade == "assistant"
    assert [(h.month, h.grade, h.score_raw) for h in got.history] == [
        (Month(2024, 4), "manager", Decimal("1.0")), (Month(2024, 3), None, None)]
    assert got.opening[0].ytd_taxable == Decimal(-3000) and got.opening[0].excess_carry == Decimal(0)
    assert got.opening[0].ytd_months == 0

    assert [f.table for f in got.files] == list(BASE)
    trades = got.files[3]
    raw = (tmp_path / "2024-05" / "trades.csv").read_bytes()
    assert (trades.path, trades.rows, trades.sha256, trades.encoding) == (
        "2024-05/trades.csv", 3, hashlib.sha256(raw).hexdigest(), "utf-8")
    assert any("1 row(s) for 2024-05 or later ignored" in w for w in got.warnings)  # D4


def test_tables_are_parsed_largest_first_and_reported_in_their_own_order(tmp_path: Path) -> None:
    """Issue 10: the largest file is read and parsed first (MonthReader.order), yet the problems, warnings and
    file entries come in the tables' order, as if read one after the other from the roster on."""
    many = [["2024-05-06", "C1", "stock", "buy", "6000", "0.0003"]] * 2000
    data = make_month(tmp_path, {
        "trades": [*BASE["trades"], *many, ["2024-05-06", "C1", "stock", "buy", "-1", "0.0003"]],
        **changed("clients", 2, "open_date", "soon"),
        **changed("roster", 3, "hire_date", "later"),
        "history": [BASE["history"][0], ["2024-06", "1001", "", "1", "1", "1", ""]],  # a warning
    })
    from cmsettle.inputs import MonthReader

    with MonthReader(data, M) as reader:
        assert reader.order[0] == "trades" and reader.order.index("clients") > reader.order.index("roster") > 0
    found = problems(data)
    assert [(p.file, p.column) for p in found] == [
        ("2024-05/roster.csv", "hire_date"), ("2024-05/clients.csv", "open_date"), ("2024-05/trades.csv", "turnover")]
    data = make_month(tmp_path, {"trades": [*BASE["trades"], *many],
                                 "history": [BASE["history"][0], ["2024-06", "1001", "", "1", "1", "1", ""]]})
    got = load(data)
    assert [f.table for f in got.files] == list(BASE)
    assert any("history.csv" in w for w in got.warnings)


def test_the_reader_keeps_no_table_it_has_handed_over(tmp_path: Path) -> None:
    """Issue 10: the text of the month's tables (at ten million trades about a gigabyte of cells) is freed once
    load_month has typed it, not kept by the reader to the end of the run (MonthReader.take)."""
    import gc

    from cmsettle.inputs import MonthReader
    from cmsettle.inputs.readers import RawTable

    data = make_month(tmp_path, {})
    with MonthReader(data, M) as reader:
        got = load_month(data, M, RULES, first_ledger_month=True, reader=reader)
        gc.collect()
        assert [o for o in gc.get_objects() if isinstance(o, RawTable)] == []
        assert len(got.trades) == len(BASE["trades"]) - 1 and reader.order  # the month itself was read
        with pytest.raises(KeyError):
            reader.take("trades")  # handed over once


def test_optional_tables_may_be_absent(tmp_path: Path) -> None:
    optional = ["fund_sales", "attendance", "management", "penalties", "referrals", "deductions",
                "grade_overrides", "history", "opening"]
    got = load(make_month(tmp_path, {name: None for name in optional}))
    assert got.attendance == () and got.history == () and len(got.fund_sales) == 0
    assert list(got.fund_sales.columns) == ["client_id", "sale_date", "product_code", "amount",
                                            "commission_income", "_row"]
    assert [f.table for f in got.files] == ["roster", "clients", "assets", "trades"]


def test_a_header_only_file_is_an_empty_table(tmp_path: Path) -> None:
    got = load(make_month(tmp_path, {"fund_sales": BASE["fund_sales"][:1], "deductions": [["工号", "金额"]]}))
    assert len(got.fund_sales) == 0 and got.deductions == ()
    assert [f.rows for f in got.files if f.table in ("fund_sales", "deductions")] == [0, 0]


def test_history_month_forms(tmp_path: Path) -> None:
    rows = [BASE["history"][0], ["2024/04", "1001", "", "1", "1", "1", ""],
            ["2024-03-01", "2001", "", "1", "1", "1", ""], ["April", "1002", "", "1", "1", "1", ""]]
    p = the_problem(make_month(tmp_path, {"history": rows}))
    assert (p.row, p.column, p.value, p.message) == (4, "month", "April", "not a month")
    got = load(make_month(tmp_path, {"history": rows[:3]}))
    assert [h.month for h in got.history] == [Month(2024, 4), Month(2024, 3)]


def test_history_and_opening_ignored_when_not_first_month(tmp_path: Path) -> None:
    data = make_month(tmp_path, {"history": [BASE["history"][0], ["garbage", "", "", "", "", "", ""]]})
    got = load(data, first=False)
    assert got.history == () and got.opening == ()
    assert "2024-05/history.csv: ignored (read only in the first ledger month)" in got.warnings
    assert "2024-05/opening.csv: ignored (read only in the first ledger month)" in got.warnings
    assert "history" not in [f.table for f in got.files]


# --- not ready ---------------------------------------------------------------------------------------


def test_missing_month_folder_is_not_ready(tmp_path: Path) -> None:
    with pytest.raises(NotReadyError, match="2024-05"):
        load(tmp_path)


def test_missing_required_file_is_not_ready_and_named(tmp_path: Path) -> None:
    data = make_month(tmp_path, {"trades": None, "clients": None})
    with pytest.raises(NotReadyError) as exc:
        load(data)
    assert exc.value.exit_code == 5
    assert str(tmp_path / "2024-05" / "clients") + ".csv or .xlsx" in str(exc.value)
    assert str(tmp_path / "2024-05" / "trades") + ".csv or .xlsx" in str(exc.value)


def test_table_given_twice(tmp_path: Path) -> None:
    data = make_month(tmp_path)
    shutil.copy(data / "2024-05" / "deductions.csv", data / "2024-05" / "deductions.xlsx")
    p = the_problem(data)
    assert p.file == "2024-05/deductions.csv" and "deductions.xlsx" in p.message


# --- encodings and spreadsheets ------------------------------------------------------------------------

ZH_TRADES = [
    ["成交日期", "客户号", "品种", "买卖方向", "成交金额(元)", "手续费率"],
    ["2024-05-06", "C1", "股票", "买入", "6,000.00", "0.0003"],
    ["2024/05/07", "C2", "新股申购", "卖出", "800", "0.0002"],
]


@pytest.mark.parametrize("encoding, name", [
    ("gbk", "gbk"), ("gb18030", "gb18030"), ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8")])
def test_csv_encodings_with_chinese_headers(tmp_path: Path, encoding: str, name: str) -> None:
    data = make_month(tmp_path)
    (data / "2024-05" / "trades.csv").write_bytes(csv_bytes(ZH_TRADES, encoding))
    got = load(data)
    assert got.trades["product"].tolist() == ["stock", "ipo_subscription"]
    assert got.trades.turnover.tolist() == [Decimal("6000.00"), Decimal(800)]
    assert got.files[3].encoding in ({name, "gb18030"} if encoding == "gbk" else {name})


def test_gb18030_only_characters(tmp_path: Path) -> None:
    # 𠀀 (U+20000) and € exist in GB18030 but not in GBK.
    roster = [["工号", "姓名", "岗位", "入职日期"], ["1001", "𠀀€", "营销经理", "2023-01-10"],
              ["1002", "李四", "营销经理", "2023-01-10"], ["2001", "王五", "驻点经理", "2020-03-01"],
              ["0042", "赵六", "营销经理", "2022-02-02"]]
    data = make_month(tmp_path)
    (data / "2024-05" / "roster.csv").write_bytes(csv_bytes(roster, "gb18030"))
    got = load(data)
    assert got.roster[0].name == "𠀀€" and got.roster[2].position == "station_manager"
    assert got.files[0].encoding == "gb18030"


def test_gbk_fixture_file(tmp_path: Path) -> None:
    data = make_month(tmp_path)
    shutil.copy(FIXTURES / "attendance_gbk.csv", data / "2024-05" / "attendance.csv")
    got = load(data)
    assert [(a.manager_id, a.code, a.days, a.proof) for a in got.attendance] == [
        ("1001", "late", Decimal(1), False), ("1001", "sick_leave", Decimal(1), True),
        ("0042", "absent", Decimal("0.5"), False)]


def write_xlsx(path: Path, rows: list[list[object]]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_xlsx_with_chinese_headers_and_excel_dates(tmp_path: Path) -> None:
    data = make_month(tmp_path, {"trades": None, "clients": None})
    write_xlsx(data / "2024-05" / "trades.xlsx", [
        ["成交日期", "客户号", "品种", "买卖方向", "成交金额", "手续费率"],
        [date(2024, 5, 6), "C1", "股票", "买入", 6000, 0.0003],
        [datetime(2024, 5, 7, 0, 0), "C2", "债券", "卖出", 1234.5, 0.00025],
        [45443, "C3", "其他", "B", "1,000", 0],  # 45443 = 2024-05-31 as an Excel serial
        [None, None, None, None, None, None],   # a blank row is skipped, row numbers kept
        [datetime(2024, 5, 8, 14, 30), 1001.0, "股票", "买入", 1, 0.001],
    ])
    write_xlsx(data / "2024-05" / "clients.xlsx", [
        ["客户号", "归属工号", "开户日期", "客户类型", "状态"],
        ["C1", 1001, date(2024, 5, 2), "个人", "正常"],
        ["C2", "1001", date(2023, 1, 1), "机构", None],
        ["C3", "0042", date(2024, 5, 3), None, "恶意开户"],
        [1001, 1001.0, date(2024, 5, 3), None, None],
    ])
    got = load(data)
    t = got.trades
    assert t.trade_date.tolist() == [date(2024, 5, 6), date(2024, 5, 7), date(2024, 5, 31), date(2024, 5, 8)]
    assert t.turnover.tolist() == [Decimal(6000), Decimal("1234.5"), Decimal(1000), Decimal(1)]
    assert t.commission_rate.tolist() == [Decimal("0.0003"), Decimal("0.00025"), Decimal(0), Decimal("0.001")]
    assert t.client_id.tolist() == ["C1", "C2", "C3", "1001"]
    assert t._row.tolist() == [2, 3, 4, 6]
    assert got.clients.manager_id.tolist() == ["1001", "1001", "0042", "1001"]
    assert got.clients.status.tolist() == ["normal", "normal", "malicious_confirmed", "normal"]
    assert got.files[1].encoding is None and got.files[1].path == "2024-05/clients.xlsx"


def test_xlsx_problem_rows_are_spreadsheet_rows(tmp_path: Path) -> None:
    data = make_month(tmp_path, {"trades": None})
    write_xlsx(data / "2024-05" / "trades.xlsx", [
        ["trade_date", "client_id", "product", "side", "turnover", "commission_rate"],
        [date(2024, 5, 6), "C1", "stock", "buy", 6000, 0.0003],
        [None] * 6,
        [date(2024, 4, 30), "C1", "stock", "buy", 6000, 0.0003],
    ])
    p = the_problem(data)
    assert (p.file, p.row, p.column, p.value) == ("2024-05/trades.xlsx", 4, "trade_date", "2024-04-30")


def test_unreadable_workbook(tmp_path: Path) -> None:
    data = make_month(tmp_path, {"management": None})
    (data / "2024-05" / "management.xlsx").write_bytes(b"not a zip file")
    p = the_problem(data)
    assert p.file == "2024-05/management.xlsx" and p.message.startswith("not a readable .xlsx workbook")


def test_cell_text() -> None:
    assert cell_text(1001.0) == "1001" and cell_text(0.1) == "0.1" and cell_text(1e-07) == "0.0000001"
    assert cell_text(0.1 + 0.2) == "0.3"  # Excel's 15 significant digits, not the binary noise
    assert cell_text(date(2024, 5, 3)) == "2024-05-03" and cell_text(None) == "" and cell_text(True) == "true"
    assert cell_text(datetime(2024, 5, 3, 0, 0)) == "2024-05-03"


# --- typing ----------------------------------------------------------------------------------------------


def test_blank_lines_keep_spreadsheet_row_numbers(tmp_path: Path) -> None:
    data = make_month(tmp_path)
    (data / "2024-05" / "deductions.csv").write_text("manager_id,amount\n\n1001,1500\n,\n", encoding="utf-8")
    got = load(data)
    assert got.deductions[0].src == Source("2024-05/deductions.csv", 3)
    (data / "2024-05" / "deductions.csv").write_text("manager_id,amount\n\n1001,x\n", encoding="utf-8")
    assert the_problem(data).row == 3


def test_empty_file(tmp_path: Path) -> None:
    data = make_month(tmp_path)
    (data / "2024-05" / "management.csv").write_bytes(b"")
    p = the_problem(data)
    assert (p.file, p.message) == ("2024-05/management.csv", "the file is empty")


def test_spreadsheet_text_id_form(tmp_path: Path) -> None:
    data = make_month(tmp_path, changed("clients", 4, "manager_id", '="0042"'))
    assert load(data).clients.manager_id.tolist()[2] == "0042"


def test_ids_keep_leading_zeros_and_spaces_are_stripped(tmp_path: Path) -> None:
    data = make_month(tmp_path, changed("clients", 4, "manager_id", "  0042 "))
    assert load(data).clients.manager_id.tolist()[2] == "0042"


@pytest.mark.parametrize("text, expected", [
    ("2024-05-06", date(2024, 5, 6)), ("2024/5/6", date(2024, 5, 6)),
    ("2024-05-06 00:00:00", date(2024, 5, 6)), ("20240506", date(2024, 5, 6))])
def test_date_forms(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_impossible_date(tmp_path: Path) -> None:
    p = the_problem(make_month(tmp_path, changed("trades", 2, "trade_date", "2024-02-30")))
    assert (p.file, p.row, p.column, p.value, p.message) == (
        "2024-05/trades.csv", 2, "trade_date", "2024-02-30", "no such date")


def test_serial_number_is_not_a_date_in_csv(tmp_path: Path) -> None:
    p = the_problem(make_month(tmp_path, changed("trades", 2, "trade_date", "45443")))
    assert (p.row, p.column, p.message) == (2, "trade_date", "not a date")


@pytest.mark.parametrize("value, message", [
    ("abc", "not a number"), ("NaN", "not a number"), ("inf", "not a number"), ("1,23", "not a number"),
    ("1.23457E+11", "a number in scientific notation may have been rounded by the export"),
    ("-5", "must not be negative")])
def test_bad_amounts(tmp_path: Path, value: str, message: str) -> None:
    p = the_problem(make_month(tmp_path, changed("trades", 3, "turnover", value)))
    assert (p.file, p.row, p.column, p.value, p.message) == (
        "2024-05/trades.csv", 3, "turnover", value, message)


def test_exact_exponent_is_accepted(tmp_path: Path) -> None:
    got = load(make_month(tmp_path, changed("trades", 2, "commission_rate", "3E-4")))
    assert got.trades.commission_rate.iloc[0] == Decimal("0.0003")


@pytest.mark.parametrize("value", ["1", "1.5", "-0.0001"])
def test_commission_rate_below_one(tmp_path: Path, value: str) -> None:
    p = the_problem(make_month(tmp_path, changed("trades", 2, "commission_rate", value)))
    assert (p.column, p.value) == ("commission_rate", value)
    assert "0 <= rate < 1" in (p.expected or "")


def test_required_value_missing(tmp_path: Path) -> None:
    p = the_problem(make_month(tmp_path, changed("trades", 2, "turnover", "")))
    assert (p.row, p.column, p.value, p.message) == (2, "turnover", "", "a value is required")


def test_unknown_code_names_the_allowed_list(tmp_path: Path) -> None:
    p = the_problem(make_month(tmp_path, changed("trades", 2, "product", "期货")))
    assert (p.row, p.column, p.value, p.message) == (2, "product", "期货", "unknown code")
    assert p.expected is not None and p.expected.startswith("one of stock (股票), fund_open (开放式基金)")


def test_bad_boolean_and_grade(tmp_path: Path) -> None:
    data = make_month(tmp_path, {**changed("attendance", 3, "proof", "maybe"),
                                 **changed("grade_overrides", 2, "grade", "boss")})
    found = {(p.file, p.row, p.column, p.value) for p in problems(data)}
    assert found == {("2024-05/attendance.csv", 3, "proof", "maybe"),
                     ("2024-05/grade_overrides.csv", 2, "grade", "boss")}


@pytest.mark.parametrize("text, flag", [("TRUE", True), ("0", False), ("否", False), ("y", True), ("", True)])
def test_booleans_and_the_leave_approved_default(tmp_path: Path, text: str, flag: bool) -> None:
    data = make_month(tmp_path, with_column("roster", "leave_approved", "", "", "", text))
    assert load(data).roster[3].leave_approved is flag


def test_attendance_days(tmp_path: Path) -> None:
    data = make_month(tmp_path, with_rows("attendance", ["1001", "2024-05-14", "personal_leave", "", ""],
                                          ["1001", "2024-05-15", "early_leave", "2", ""]))
    found = [(p.row, p.column, p.value, p.message) for p in problems(data)]
    assert found == [(7, "days", "2", "days must be 1 or 0.5"),
                     (6, "days", "", "days required for personal_leave")]


# --- header mapping ------------------------------------------------------------------------------------


def test_missing_required_column_is_named_with_the_expected_list(tmp_path: Path) -> None:
    rows = [[c for i, c in enumerate(r) if i != 4] for r in BASE["trades"]]
    p = the_problem(make_month(tmp_path, {"trades": rows}))
    assert (p.file, p.row, p.column) == ("2024-05/trades.csv", 1, "turnover")
    assert p.message.startswith("required column 'turnover' is missing")
    assert p.expected == "the columns trade_date, client_id, product, side, turnover, commission_rate"


def test_unknown_column_is_a_warning(tmp_path: Path) -> None:
    got = load(make_month(tmp_path, with_column("deductions", "remark", "x")))
    assert got.warnings[0] == ("2024-05/deductions.csv: column 'remark' (C) is not a column of deductions; "
                               "ignored")
    assert len(got.warnings) == 2 and got.warnings[1].startswith("2024-05/history.csv: 1 row(s)")


def test_column_given_twice(tmp_path: Path) -> None:
    p = the_problem(make_month(tmp_path, with_column("deductions", "工号", "1001")))
    assert (p.row, p.column) == (1, "manager_id") and "'manager_id' (A) and '工号' (C)" in p.message


def test_aliased_header_is_shown_in_problems(tmp_path: Path) -> None:
    rows = [list(r) for r in ZH_TRADES]
    rows[2][4] = "-800"
    p = the_problem(make_month(tmp_path, {"trades": rows}))
    assert (p.row, p.column, p.value) == (3, "turnover (header '成交金额(元)')", "-800")


def test_unquoted_comma_gives_extra_values(tmp_path: Path) -> None:
    data = make_month(tmp_path)
    path = data / "2024-05" / "deductions.csv"
    path.write_text("manager_id,amount\n1001,1,500\n", encoding="utf-8")
    p = the_problem(data)
    assert (p.row, p.column, p.value) == (2, "column C", "500")
    assert p.message == "more values than the header has columns"


def test_english_header_variants(tmp_path: Path) -> None:
    rows = [["Manager ID", "*Amount"], ["1001", "1500"]]
    assert load(make_month(tmp_path, {"deductions": rows})).deductions[0].amount == Decimal(1500)


# --- checks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table, key", [
    ("roster", "manager_id"), ("clients", "client_id"), ("assets", "client_id"),
    ("deductions", "manager_id")])
def test_duplicate_ids(tmp_path: Path, table: str, key: str) -> None:
    rows = [list(r) for r in BASE[table]]
    rows.append(list(rows[1]))
    p = the_problem(make_month(tmp_path, {table: rows}))
    assert (p.file, p.row, p.column, p.value) == (f"2024-05/{table}.csv", len(rows), key, rows[1][0])
    assert p.message == f"duplicate {key} (first on row 2)"


@pytest.mark.parametrize("table, column, row, value, message", [
    ("clients", "manager_id", 2, "7777", "manager not in the roster"),
    ("attendance", "manager_id", 2, "7777", "manager not in the roster"),
    ("management", "manager_id", 2, "7777", "manager not in the roster"),
    ("deductions", "manager_id", 2, "7777", "manager not in the roster"),
    ("grade_overrides", "manager_id", 2, "7777", "manager not in the roster"),
    ("roster", "supervisor_id", 2, "7777", "supervisor not in the roster"),
    ("referrals", "referrer_id", 2, "7777", "referrer not in the roster"),
    ("referrals", "referred_id", 2, "7777", "referred person not in the roster"),
    ("assets", "client_id", 2, "C9", "client not in clients"),
    ("trades", "client_id", 3, "C9", "client not in clients"),
    ("fund_sales", "client_id", 2, "C9", "client not in clients"),
])
def test_references(tmp_path: Path, table: str, column: str, row: int, value: str, message: str) -> None:
    p = the_problem(make_month(tmp_path, changed(table, row, column, value)))
    assert (p.file, p.row, p.column, p.value, p.message) == (
        f"2024-05/{table}.csv", row, column, value, message)


def test_penalties_may_name_a_leaver_still_in_the_ledger(tmp_path: Path) -> None:
    data = make_month(tmp_path, with_rows("penalties", ["9999", "2024-05-20", "dispute", "", "", "", ""]))
    p = the_problem(data)
    assert (p.row, p.column, p.value) == (5, "manager_id", "9999")
    assert load(data, known_manager_ids=frozenset({"9999"})).penalties[-1].manager_id == "9999"
    # ... but nowhere else (D6)
    data = make_month(tmp_path, with_rows("management", ["9999", "2024-05-20", "complaint", ""]))
    assert the_problem(data, known_manager_ids=frozenset({"9999"})).file == "2024-05/management.csv"


@pytest.mark.parametrize("table, column, row, value", [
    ("trades", "trade_date", 2, "2024-06-01"), ("trades", "trade_date", 2, "2024-04-30"),
    ("fund_sales", "sale_date", 2, "2024-06-01"), ("attendance", "date", 2, "2024-04-30"),
    ("management", "date", 2, "2024-06-01"), ("penalties", "date", 2, "2024-04-01")])
def test_dates_outside_the_month(tmp_path: Path, table: str, column: str, row: int, value: str) -> None:
    p = the_problem(make_month(tmp_path, changed(table, row, column, value)))
    assert (p.file, p.row, p.column, p.value, p.message) == (
        f"2024-05/{table}.csv", row, column, value, "date outside 2024-05")
    assert p.expected == "a date from 2024-05-01 to 2024-05-31"


def test_hire_after_the_month_is_not_an_error_D1(tmp_path: Path) -> None:
    """D1: a roster row hired after the month is simply not settled yet."""
    inputs = load(make_month(tmp_path, changed("roster", 2, "hire_date", "2024-06-03")))
    assert any(r.hire_date.isoformat() == "2024-06-03" for r in inputs.roster)


@pytest.mark.parametrize("table, column", [("clients", "open_date")])
def test_dates_after_the_month(tmp_path: Path, table: str, column: str) -> None:
    assert load(make_month(tmp_path, changed(table, 2, column, "2024-05-31")))
    p = the_problem(make_month(tmp_path, changed(table, 2, column, "2024-06-01")))
    assert (p.row, p.column, p.value, p.message) == (2, column, "2024-06-01", "date after the end of 2024-05")


def test_leave_date_before_hire_date(tmp_path: Path) -> None:
    p = the_problem(make_month(tmp_path, changed("roster", 2, "leave_date", "2023-01-09")))
    assert (p.row, p.column, p.value) == (2, "leave_date", "2023-01-09")
    assert p.message == "leave date before the hire date 2023-01-10"


@pytest.mark.parametrize("amount, ok", [("99", False), ("100", True), ("1000", True), ("1001", False),
                                        ("1,000.00", True), ("", False)])
def test_business_error_range(tmp_path: Path, amount: str, ok: bool) -> None:
    data = make_month(tmp_path, changed("penalties", 2, "amount", amount))
    if ok:
        assert load(data).penalties[0].amount == Decimal(amount.replace(",", ""))
        return
    p = the_problem(data)
    assert (p.file, p.row, p.column, p.value, p.expected) == ("2024-05/penalties.csv", 2, "amount", amount,
                                                                "100 to 1000")


@pytest.mark.parametrize("kind, amount, client, severity, column, message", [
    ("loss_compensation", "0", "", "", "amount", "loss_compensation needs an amount above 0"),
    ("loss_compensation", "", "", "", "amount", "loss_compensation needs an amount above 0"),
    ("risk_fund_forfeit", "0", "", "", "amount", "risk_fund_forfeit amount must be above 0"),
    ("malicious_account", "", "", "serious", "client_id", "malicious_account needs the client"),
    ("malicious_account", "", "C3", "", "severity", "malicious_account needs a severity"),
    ("discretionary_trading", "-1", "", "", "amount", "must not be negative"),
])
def test_penalty_kinds(tmp_path: Path, kind: str, amount: str, client: str, severity: str, column: str,
                       message: str) -> None:
    data = make_month(tmp_path, with_rows("penalties",
                                          ["1001", "2024-05-20", kind, amount, client, severity, ""]))
    p = the_problem(data)
    assert (p.row, p.column, p.value, p.message) == (5, column, {"amount": amount, "client_id": client,
                                                                 "severity": severity}[column], message)


def test_a_bad_severity_is_reported_once(tmp_path: Path) -> None:
    data = make_month(tmp_path, changed("penalties", 3, "severity", "medium"))
    p = the_problem(data)
    assert (p.row, p.column, p.value, p.message) == (3, "severity", "medium", "unknown code")


def test_loss_compensation_accepted_above_zero(tmp_path: Path) -> None:
    data = make_month(tmp_path, with_rows("penalties",
                                          ["1001", "2024-05-20", "loss_compensation", "0.01", "", "", ""]))
    assert load(data).penalties[-1].amount == Decimal("0.01")


def test_two_grade_overrides_for_one_manager(tmp_path: Path) -> None:  # D17
    data = make_month(tmp_path, with_rows("grade_overrides", ["1002", "manager", "行长", "again"]))
    p = the_problem(data)
    assert (p.file, p.row, p.column, p.value) == ("2024-05/grade_overrides.csv", 3, "manager_id", "1002")
    assert p.message == "a second grade override for this manager (first on row 2)"


def test_a_second_referrer(tmp_path: Path) -> None:  # D23
    p = the_problem(make_month(tmp_path, with_rows("referrals", ["2001", "1002", "2024-05-21"])))
    assert (p.row, p.column, p.value, p.message) == (3, "referred_id", "1002",
                                                     "a second referrer for this person (first on row 2)")


def test_two_half_day_absences_on_one_date(tmp_path: Path) -> None:  # D29
    data = make_month(tmp_path, with_rows("attendance", ["0042", "2024-05-08", "旷工", "0.5", ""]))
    p = the_problem(data)
    assert (p.file, p.row, p.column, p.value) == ("2024-05/attendance.csv", 6, "date", "2024-05-08")
    assert p.message == "a second half-day absent row for this manager on this date (first on row 4)"
    # the same on different dates, or for different people, is fine; so is a whole day beside a half day
    full_and_half = make_month(tmp_path, with_rows("attendance", ["0042", "2024-05-08", "absent", "1", ""]))
    assert len(load(full_and_half).attendance) == 5
    ok = make_month(tmp_path, with_rows("attendance", ["0042", "2024-05-09", "absent", "0.5", ""],
                                        ["1001", "2024-05-08", "absent", "0.5", ""]))
    assert len(load(ok).attendance) == 6


def test_own_supervisor_and_self_referral(tmp_path: Path) -> None:
    data = make_month(tmp_path, {**changed("roster", 2, "supervisor_id", "1001"),
                                 **changed("referrals", 2, "referred_id", "1001")})
    found = [(p.file, p.row, p.column, p.message) for p in problems(data)]
    assert found == [("2024-05/roster.csv", 2, "supervisor_id", "a manager cannot be their own supervisor"),
                     ("2024-05/referrals.csv", 2, "referred_id", "a person cannot refer themselves")]


def test_opening_and_history_rows(tmp_path: Path) -> None:
    data = make_month(tmp_path, {**with_rows("opening", ["7777", "0", "0"], ["1001", "1", "1"]),
                                 **with_rows("history", ["2024-04", "1001", "manager", "1", "1", "1", ""])})
    found = [(p.file, p.row, p.column, p.message) for p in problems(data)]
    assert found == [
        ("2024-05/opening.csv", 4, "manager_id", "duplicate manager_id (first on row 2)"),
        ("2024-05/opening.csv", 3, "manager_id", "manager not in the roster"),
        ("2024-05/history.csv", 5, "manager_id",
         "a second history row for this manager and month (first on row 2)"),
    ]


def test_negative_amounts(tmp_path: Path) -> None:
    data = make_month(tmp_path, {**changed("assets", 2, "end_assets", "-1"),
                                 **changed("fund_sales", 2, "commission_income", "-2"),
                                 **changed("deductions", 2, "amount", "-3")})
    found = [(p.file, p.row, p.column, p.value, p.message) for p in problems(data)]
    assert found == [("2024-05/assets.csv", 2, "end_assets", "-1", "must not be negative"),
                     ("2024-05/fund_sales.csv", 2, "commission_income", "-2", "must not be negative"),
                     ("2024-05/deductions.csv", 2, "amount", "-3", "must not be negative")]


def test_every_problem_of_the_run_is_reported(tmp_path: Path) -> None:
    data = make_month(tmp_path, {
        **with_rows("clients", ["C4", "8888", "2024-05-02", "", ""]),
        **with_rows("trades", ["2024-06-01", "C9", "期货", "buy", "-1", "0.0003"]),
        **with_rows("penalties", ["1001", "2024-05-20", "business_error", "1001", "", "", ""]),
    })
    got = {(p.file, p.row, p.column) for p in problems(data)}
    assert got == {
        ("2024-05/clients.csv", 5, "manager_id"),
        ("2024-05/trades.csv", 5, "trade_date"), ("2024-05/trades.csv", 5, "product"),
        ("2024-05/trades.csv", 5, "turnover"), ("2024-05/trades.csv", 5, "client_id"),
        ("2024-05/penalties.csv", 5, "amount"),
    }


def test_problems_are_capped_per_file_and_column(tmp_path: Path) -> None:
    extra = [["2024-06-01", "C1", "stock", "buy", "1", "0"]] * (CAP + 7)
    found = problems(make_month(tmp_path, with_rows("trades", *extra)))
    assert len(found) == CAP + 1
    assert found[-1].message == "... and 7 more problem(s) in this column"
    assert found[-1].column == "trade_date"


def test_history_rows_of_the_month_or_later_are_not_validated(tmp_path: Path) -> None:  # D4
    data = make_month(tmp_path, with_rows("history", ["2024-06", "1001", "boss", "x", "", "", ""]))
    assert len(load(data).history) == 2
    again = ["2024-04", "1001", "manager", "1", "1", "1", ""]
    p = the_problem(make_month(tmp_path, with_rows("history", again)))
    assert (p.row, p.column, p.value) == (5, "manager_id", "1001")


# --- the alias table -------------------------------------------------------------------------------------


def test_value_aliases_depend_on_the_column(tmp_path: Path) -> None:
    data = make_month(tmp_path, changed("roster", 2, "grade", "营销经理"))
    got = load(data)
    assert (got.roster[0].grade, got.roster[1].position) == ("manager", "marketer")


def test_alias_file_mistakes_are_found(tmp_path: Path) -> None:
    bad = tmp_path / "aliases.yaml"
    bad.write_text("headers:\n  trades:\n    turnover: [金额]\n    amount: [x]\nvalues:\n  side:\n"
                   "    buy: [买]\n    sell: [买]\n  colour:\n    red: [红]\n", encoding="utf-8")
    with pytest.raises(ValueError) as exc:
        load_aliases(bad)
    text = str(exc.value)
    assert "headers.trades.amount: not a column of trades" in text
    assert "values.side: '买' means both buy and sell" in text and "values.colour: not a code kind" in text
    load_aliases()  # the packaged one is consistent


def test_history_score_raw_may_be_negative(tmp_path: Path) -> None:
    """M6 with a negative NR (D10) gives a negative score_raw; history must take it."""
    data = make_month(tmp_path, with_rows("history", ["2024-02", "1001", "manager", "0", "0", "0", "-0.0123"]))
    got = load(data)
    assert any(h.score_raw == Decimal("-0.0123") for h in got.history)
