"""Scale (issue 10): the vectorised paths equal straightforward Decimal arithmetic, row by row.

* an amount column parsed at once (pyarrow cast to exact scaled integers) gives the Decimals and the
  problems of the per-value parser, whatever the text: plain, thousands separators, more than 2 decimals,
  scientific notation, garbage, too large, or too long for int64 (then the Decimal fallback);
* the pyarrow CSV reader gives the cells, rows and encodings of the pandas/csv-module reader;
* the per-manager facts of a generated month (metrics M1-M5, P5, P6, TX1, X2) equal a plain loop over its
  rows with Decimal, also with turnover of 3 decimals, a rate of 5 and an amount that only fits as Decimal.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmsettle import model
from cmsettle.compute.metrics import EFFECTIVE_PRODUCTS, IPO_FUND_PRODUCTS, compute_client_facts
from cmsettle.inputs import readers
from cmsettle.inputs import tables as T
from cmsettle.inputs.validate import _Run, load_month
from cmsettle.money import ZERO, fen
from cmsettle.months import Month
from cmsettle.synth import generate

from tests.builders import DEFAULT_RULES

MONTH = Month(2024, 5)


# --- one amount column at once == one value at a time ----------------------------------------------------

ODD = ["", "abc", "1,23", "1,234.5", "12,345,678.901", "1e3", "1.5E+3", "3E-4", "1.23457E+11", "NaN", "inf",
       "١٢", "+5", ".5", "5.", "-0", "-12.5", "0.00025", "9" * 40, "0." + "0" * 30 + "1", "123456789012345.1234",
       "999999999999999", "1000000000000000", "0000000000000001.5", "1 000", "--1", "."]


def _texts() -> st.SearchStrategy[list[str]]:
    number = st.decimals(min_value=-10**6, max_value=10**12, allow_nan=False, allow_infinity=False, places=2) | \
        st.decimals(min_value=0, max_value=10**4, allow_nan=False, allow_infinity=False, places=5)
    text = st.one_of(number.map(lambda d: format(d, "f")), number.map(lambda d: f"{d:,}"), st.sampled_from(ODD))
    return st.lists(text, min_size=1, max_size=40)


def _raw(texts: list[str]) -> readers.RawTable:
    cells = pd.DataFrame({0: pd.Series(texts, dtype="str")})
    return readers.RawTable("trades", "2024-05/trades.csv", ["x"], 1, cells, np.arange(2, len(texts) + 2), False,
                            "utf-8", "")


def _both(texts: list[str], table: str, column: str) -> tuple[list, list, list, list]:
    """(per-value values, problems), (at-once values, problems) of one column of a large table."""
    col = T.TABLE_BY_NAME[table].col(column)
    raw = _raw(texts)
    one, at_once = _Run(MONTH, DEFAULT_RULES, frozenset()), _Run(MONTH, DEFAULT_RULES, frozenset())
    old = list(one._column(raw, col, raw.cells[0], column))
    new = [None if v is pd.NA else v for v in pd.Series(at_once._typed_column(raw, col, raw.cells[0], column))]
    return old, new, one.problems.all(), at_once.problems.all()


@pytest.mark.parametrize("table, column", [("trades", "turnover"), ("trades", "commission_rate"),
                                           ("assets", "equity_assets")])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=_texts())
def test_amount_column_at_once_equals_value_by_value(table: str, column: str, texts: list[str]) -> None:
    old, new, old_problems, new_problems = _both(texts, table, column)
    assert new == old  # Decimal equality: the same number, whatever the scale it is held at
    assert new_problems == old_problems


def test_odd_amounts_at_once_equal_value_by_value() -> None:
    for table, column in [("trades", "turnover"), ("trades", "commission_rate"), ("assets", "equity_assets")]:
        old, new, old_problems, new_problems = _both(ODD, table, column)
        assert (new, new_problems) == (old, old_problems)


def test_a_long_column_of_few_rates_with_a_bad_one() -> None:
    """From 65,536 rows a column of few distinct texts is parsed once per text (the rates)."""
    texts = (["0.0003", "0.00025", "0.0008", "0.0012"] * 20_000)[:79_998] + ["1.2", ""]
    old, new, old_problems, new_problems = _both(texts, "trades", "commission_rate")
    assert new == old and new_problems == old_problems
    assert [p.row for p in new_problems] == [79_999 + 1, 80_000 + 1]


def test_scale_and_fallback() -> None:
    col = T.TABLE_BY_NAME["trades"].col("turnover")
    for texts, scale in [(["1", "2.5", "1,234.56"], 2), (["1.5", "0.125"], 3), (["0.00025"], 5)]:
        raw = _raw(texts)
        got = pd.Series(_Run(MONTH, DEFAULT_RULES, frozenset())._typed_column(raw, col, raw.cells[0], "turnover"))
        assert model.scaled(got)[1] == scale
        assert got.tolist() == [Decimal(t.replace(",", "")) for t in texts]
    raw = _raw(["123456789012345.1234", "1"])  # 19 digits at scale 4: no int64, exact Decimals instead
    got = pd.Series(_Run(MONTH, DEFAULT_RULES, frozenset())._typed_column(raw, col, raw.cells[0], "turnover"))
    assert got.dtype == object and model.scaled(got) is None
    assert got.tolist() == [Decimal("123456789012345.1234"), Decimal(1)]


# --- the pyarrow reader == the pandas / csv-module reader ------------------------------------------------

def _slow(raw: bytes, table: str) -> readers.RawTable:
    encoding = readers.detect_encoding(raw, table)
    grid = readers._csv_grid(raw, encoding, table)
    return readers._with_header(grid, table, table, False, encoding, hashlib.sha256(raw).hexdigest())


HEADER = "成交日期,客户号,品种,买卖方向,成交金额,手续费率\n"
ROWS = ["2024-05-06,310000000002,股票,买入,\"1,234.50\",0.0003", "2024-05-07,310000000006,债券,卖出,800,0.0005"]
VARIANTS = {
    "plain": HEADER + "\n".join(ROWS) + "\n",
    "crlf": (HEADER + "\n".join(ROWS) + "\n").replace("\n", "\r\n"),
    "no last newline": HEADER + "\n".join(ROWS),
    "spaces": HEADER + " 2024-05-06 , 310000000002,股票 ,买入,\" 1,234.50 \",0.0003\n" + ROWS[1] + "\n",
    "ideographic and nbsp": HEADER + "2024-05-06\u3000,310000000002\u00a0,股票,买入,12,0.0003\n",
    "tab inside": HEADER + "2024-05-06\t,310000000002,股票,买入,12,0.0003\n",
    "quoted newline": HEADER + "2024-05-06,\"310000000002\n\",股票,买入,12,0.0003\n" + ROWS[1] + "\n",
    "blank lines": HEADER + "\n" + ROWS[0] + "\n\n" + ROWS[1] + "\n,,,,,\n\n",
    "blank first line": "\n" + HEADER + ROWS[1] + "\n",
    "ragged": HEADER + ROWS[0] + ",extra\n" + ROWS[1] + "\n",
    "short row": HEADER + "2024-05-06,310000000002\n" + ROWS[1] + "\n",
    "tab separated": HEADER.replace(",", "\t") + ROWS[1].replace(",", "\t") + "\n",
    "leading zeros": HEADER + "2024-05-06,=\"0042\",股票,买入,12,0.0003\n2024-05-06,0042,股票,买入,1,0.0003\n",
    "header only": HEADER,
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_arrow_reader_equals_slow_reader(name: str, encoding: str) -> None:
    raw = VARIANTS[name].encode(encoding)
    try:
        slow = _slow(raw, "trades")
    except readers.InputError as exc:
        with pytest.raises(readers.InputError) as got:
            readers._csv_arrow(raw, "trades", "trades", "") or _slow(raw, "trades")
        assert got.value.problems == exc.problems
        return
    fast = readers._csv_arrow(raw, "trades", "trades", slow.sha256) or slow
    assert (fast.header, fast.header_row, fast.rows.tolist(), fast.encoding) == (
        slow.header, slow.header_row, slow.rows.tolist(), slow.encoding)
    assert fast.cells.shape == slow.cells.shape
    for c in slow.cells.columns:
        assert fast.cells[c].tolist() == slow.cells[c].tolist()


NAMES = "".join(f"{i},客户{chr(0x4E00 + i)}{chr(0x4E00 + 2 * i)},个人\n" for i in range(3000))
GB_VARIANTS = {
    **VARIANTS,
    "many distinct": "客户号,姓名,客户类型\n" + NAMES,  # each name decoded once, in one go
    "four-byte characters": "客户号,姓名,客户类型\n1,\U00020000\u20ac,个人\n2,\u00e9,机构\n",  # GB18030 only
    "ideographic spaces": "客户号,姓名,客户类型\n1,\u3000张三\u3000,个人\n2, 李四,\"机构\"\n",
    "quoted chinese": "客户号,姓名,客户类型\n1,\"张,三\",\"个\n人\"\n",
    "ascii body": "客户号,归属工号\n1,2\n3,4\n",
}


@pytest.mark.parametrize("name", sorted(GB_VARIANTS))
@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_files_read_cell_by_cell_equal_the_whole_file_decoded(name: str, encoding: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A GBK-family file is read as bytes and only its header and distinct non-ASCII values are decoded
    (readers._gb_grid): the same table, encoding and errors as decoding the whole file first."""
    try:
        raw = GB_VARIANTS[name].encode(encoding)
    except UnicodeEncodeError:
        pytest.skip(f"{name} has characters {encoding} lacks")
    if raw.isascii():
        pytest.skip("plain ASCII is UTF-8: not this path")
    taken: list[object] = []
    real = readers._gb_grid

    def spy(*a: object) -> object:
        taken.append(out := real(*a))
        return out

    monkeypatch.setattr(readers, "_gb_grid", spy)
    cellwise = readers._csv_arrow(raw, "clients", "clients", "")
    monkeypatch.setattr(readers, "_gb_grid", lambda *a: None)
    whole = readers._csv_arrow(raw, "clients", "clients", "")
    if whole is None or not raw.strip():
        assert cellwise is None
        return
    gb_only = all(c.replace("_", "") in readers._CELLWISE for c in readers._candidates(raw))
    assert (taken[0] is not None) == gb_only  # the cell-by-cell way taken when detection names the GB family
    assert (cellwise.header, cellwise.rows.tolist(), cellwise.encoding) == (whole.header, whole.rows.tolist(),
                                                                             whole.encoding)
    pd.testing.assert_frame_equal(cellwise.cells, whole.cells)


def _outcome(raw: bytes, monkeypatch: pytest.MonkeyPatch, cellwise: bool) -> tuple:
    with monkeypatch.context() as m:
        if not cellwise:
            m.setattr(readers, "_gb_grid", lambda *a: None)
        try:
            got = readers._csv_arrow(raw, "clients", "clients", "")
        except readers.InputError as exc:
            return ("error", exc.problems)
    return ("read", got.header, got.rows.tolist(), got.encoding, got.cells.to_dict("list"))


LONG_GBK = ("客户号,姓名,客户类型\n" + NAMES).encode("gbk")


@pytest.mark.parametrize("raw", [
    LONG_GBK + b"9,\x81\n",  # a lead byte without its second byte
    LONG_GBK + b"9,\x81,\xb8\xf6\n",  # ... nor one before a delimiter
    LONG_GBK.replace("个人".encode("gbk"), b"\x81\x20", 1),  # a second byte out of range
    codecs.BOM_UTF8 + LONG_GBK,  # a BOM, then not UTF-8
], ids=["lead at the end", "lead before a delimiter", "bad second byte", "BOM"])
def test_undecodable_gbk_files_fail_as_when_decoded_whole(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    cellwise, whole = _outcome(raw, monkeypatch, True), _outcome(raw, monkeypatch, False)
    assert cellwise == whole
    assert cellwise[0] == "error" or cellwise[3] not in readers._CELLWISE  # decoded by another guess, if any


def test_usual_exports_take_the_arrow_path() -> None:
    for name in ("plain", "crlf", "spaces", "blank lines", "quoted newline", "tab separated"):
        for encoding in ("utf-8", "utf-8-sig", "gbk"):
            assert readers._csv_arrow(VARIANTS[name].encode(encoding), "trades", "trades", "") is not None


# --- the facts of a generated month == a plain loop with Decimal -----------------------------------------

def reference_facts(inputs: model.MonthInputs, pending: frozenset[str]) -> dict[str, dict]:
    """RULEBOOK M1, M3, M4, M5, P5, P6, TX1, X2 per manager, one row at a time, in Decimal."""
    m = DEFAULT_RULES.metrics
    rows = {name: getattr(inputs, name).drop(columns="_row").to_dict("records")
            for name in ("clients", "assets", "trades", "fund_sales")}
    owner = {c["client_id"]: c["manager_id"] for c in rows["clients"]}
    status = {c["client_id"]: c["status"] for c in rows["clients"]}
    assets = {a["client_id"]: a for a in rows["assets"]}
    out: dict[str, dict] = defaultdict(lambda: dict(avg=ZERO, eq=ZERO, count=0, nr=ZERO, turnover=ZERO, fund=ZERO,
                                                    ea=ZERO, nmv=ZERO, buy=ZERO, ipo=ZERO, counted=[], late=[],
                                                    inv=[]))
    for c in rows["clients"]:
        f = out[c["manager_id"]]
        a = assets.get(c["client_id"], {})
        f["avg"] += a.get("avg_assets", ZERO)
        f["eq"] += a.get("equity_assets", ZERO)
        f["count"] += 1
        if c["status"] == "under_investigation":
            f["inv"].append(c["client_id"])
    buy_all: dict[str, Decimal] = defaultdict(Decimal)
    buy_eff: dict[str, Decimal] = defaultdict(Decimal)
    buy_ipo: dict[str, Decimal] = defaultdict(Decimal)
    for t in rows["trades"]:
        mid = owner.get(t["client_id"])
        if mid is None:
            continue
        out[mid]["nr"] += t["turnover"] * (t["commission_rate"] * (1 - m.revenue_tax_rate) - m.regulatory_fee_rate)
        out[mid]["turnover"] += t["turnover"]
        if t["side"] == "buy":
            buy_all[t["client_id"]] += t["turnover"]
            if t["product"] in EFFECTIVE_PRODUCTS:
                buy_eff[t["client_id"]] += t["turnover"]
            if t["product"] in IPO_FUND_PRODUCTS:
                buy_ipo[t["client_id"]] += t["turnover"]
    for s in rows["fund_sales"]:
        if s["client_id"] in owner:
            out[owner[s["client_id"]]]["fund"] += s["commission_income"]

    def count(c: dict, late: bool) -> None:
        f = out[c["manager_id"]]
        f["ea"] += Decimal(m.institution_weight) if c["kind"] == "institution" else Decimal(1)
        f["nmv"] += assets.get(c["client_id"], {}).get("end_assets", ZERO)
        f["buy"] += buy_all[c["client_id"]]
        f["ipo"] += buy_ipo[c["client_id"]]
        f["late" if late else "counted"].append(c["client_id"])

    def effective(cid: str) -> bool:
        end = assets.get(cid, {}).get("end_assets", ZERO)
        return buy_eff[cid] > m.effective_threshold or end > m.effective_threshold

    by_id = {c["client_id"]: c for c in rows["clients"]}
    for c in rows["clients"]:
        if MONTH.first_day <= c["open_date"] <= MONTH.last_day and c["status"] == "normal" and effective(
                c["client_id"]):
            count(c, False)
    for cid in sorted(pending):
        if status.get(cid) == "normal" and effective(cid):
            count(by_id[cid], True)
    return out


def _check_facts(inputs: model.MonthInputs, pending: frozenset[str] = frozenset()) -> None:
    got = compute_client_facts(inputs, DEFAULT_RULES, pending).by_manager
    want = reference_facts(inputs, pending)
    assert set(got) == set(want)
    for mid, w in want.items():
        f = got[mid]
        assert (f.avg_assets, f.equity_assets, f.client_count, f.turnover, f.fund_commission_income) == (
            w["avg"], w["eq"], w["count"], w["turnover"], w["fund"]), mid
        assert (f.net_revenue_unrounded, f.net_revenue) == (w["nr"], fen(w["nr"])), mid
        assert (f.ea, f.nmv, f.new_buy_total, f.new_buy_ipo_fund) == (w["ea"], w["nmv"], w["buy"], w["ipo"]), mid
        assert (f.counted_clients, f.late_counted_clients, f.investigated_clients) == (
            tuple(sorted(w["counted"])), tuple(sorted(w["late"])), tuple(sorted(w["inv"]))), mid


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scale")
    generate(out, [str(MONTH)], seed=5, managers=60, clients=4000, trades_per_month=40_000)
    return out


def _load(data: Path) -> model.MonthInputs:
    return load_month(data, MONTH, DEFAULT_RULES, first_ledger_month=True)


def _edit_trades(src: Path, dst: Path, change: dict[int, tuple[str, str]]) -> None:
    """A copy of the month with some trades' (turnover, commission_rate) replaced."""
    dst.mkdir(parents=True)
    for p in (src / str(MONTH)).iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    text = (src / str(MONTH) / "trades.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    for i, (turnover, rate) in change.items():
        rows[i][4], rows[i][5] = turnover, rate
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    (dst / "trades.csv").write_text(buf.getvalue(), encoding="utf-8")


def test_generated_month_facts_equal_row_by_row(generated: Path) -> None:
    inputs = _load(generated)
    assert model.scaled(inputs.trades["turnover"])[1] == 2  # fen
    texts = [r[4] for r in csv.reader(io.StringIO((generated / str(MONTH) / "trades.csv").read_text("utf-8")))][1:]
    assert inputs.trades["turnover"].tolist() == [Decimal(t.replace(",", "")) for t in texts]
    some = sorted(inputs.clients["client_id"].tolist())[::97]
    _check_facts(inputs, pending=frozenset(some[:5]) | {"nobody"})


def test_more_decimals_stay_exact(generated: Path, tmp_path: Path) -> None:
    _edit_trades(generated, tmp_path / str(MONTH), {1: ("1,234.567", "0.00025"), 7: ("0.001", "0.0003"),
                                                    12: ("88.8", "0.00125")})
    inputs = _load(tmp_path)
    assert model.scaled(inputs.trades["turnover"])[1] == 3
    assert inputs.trades["turnover"].iloc[0] == Decimal("1234.567")
    _check_facts(inputs)


def test_amounts_beyond_int64_fall_back_to_decimal(generated: Path, tmp_path: Path) -> None:
    _edit_trades(generated, tmp_path / str(MONTH), {3: ("123456789012345.1234", "0.0003")})
    inputs = _load(tmp_path)
    assert model.scaled(inputs.trades["turnover"]) is None  # 19 digits at scale 4: Decimal objects
    assert inputs.trades["turnover"].iloc[2] == Decimal("123456789012345.1234")
    _check_facts(inputs)


def _edit_cells(folder: Path, table: str, change: dict[tuple[int, int], str]) -> None:
    """Replace cells (row, column) of a generated file in place, in the file's own encoding."""
    path = folder / f"{table}.csv"
    data = path.read_bytes()
    encoding = "utf-8"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        encoding = "gb18030"
    rows = list(csv.reader(io.StringIO(data.decode(encoding))))
    for (i, j), value in change.items():
        rows[i][j] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def test_large_tables_typed_in_one_pool_list_their_problems_as_one_by_one(
        generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The large tables' columns typed in one shared pool (load_month), each table finished in turn, give
    the problems of typing them one column after the other, in the same order."""
    from cmsettle.errors import InputError
    from cmsettle.inputs import validate

    _edit_trades(generated, tmp_path / str(MONTH), {2: ("abc", "0.0003"), 9: ("12.5", "-0.1"),
                                                    30: ("-4", "1.5")})
    folder = tmp_path / str(MONTH)
    _edit_cells(folder, "clients", {(3, 2): "2024-13-45", (8, 0): ""})
    _edit_cells(folder, "assets", {(5, 1): "x1", (6, 2): "-7"})

    def problems() -> list[tuple]:
        with pytest.raises(InputError) as exc:
            _load(tmp_path)
        return [(p.file, p.row, p.column, p.value, p.message) for p in exc.value.problems]

    monkeypatch.setattr(validate, "_PARALLEL_FROM", 1)  # every large table's columns in the shared pool
    pooled = problems()
    monkeypatch.setattr(validate, "_THREADS", 1)  # one column after the other, no pool
    alone = problems()
    assert pooled == alone
    typing = [(f.split("/")[-1], row, column.split(" ")[0], message)
              for f, row, column, _, message in pooled[:8]]
    assert typing == [  # the tables in their own order, each one's columns in theirs (rows: the file's lines)
        ("clients.csv", 9, "client_id", "a value is required"),
        ("clients.csv", 4, "open_date", "no such date"),
        ("assets.csv", 6, "avg_assets", "not a number"),
        ("assets.csv", 7, "end_assets", "must not be negative"),
        ("trades.csv", 3, "turnover", "not a number"),
        ("trades.csv", 31, "turnover", "must not be negative"),
        ("trades.csv", 10, "commission_rate", "a rate must be at least 0 and below 1"),
        ("trades.csv", 31, "commission_rate", "a rate must be at least 0 and below 1"),
    ]


# --- the fast paths of a long table == the general per-distinct-value typing ----------------------------

@pytest.fixture(scope="module")
def long_month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("long")
    generate(out, [str(MONTH)], seed=7, managers=40, clients=3000, trades_per_month=70_000)  # > _FEW_FROM rows
    return out


def test_fast_paths_give_the_frames_of_the_general_typing(long_month: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ISO dates cast by pyarrow, numeric ids hashed by pandas, few rates spread by take: the same frames
    (values, dtypes, categories in order) as typing each distinct text one by one."""
    from cmsettle.inputs import validate

    taken = {"dates": 0, "ids": 0}
    iso, numeric = validate._Run._iso_dates, validate._factorize_numeric

    def counted_iso(self, *a):  # noqa: ANN001, ANN202
        out = iso(self, *a)
        taken["dates"] += out is not None
        return out

    def counted_numeric(*a):  # noqa: ANN202
        out = numeric(*a)
        taken["ids"] += out is not None
        return out

    monkeypatch.setattr(validate._Run, "_iso_dates", counted_iso)
    monkeypatch.setattr(validate, "_factorize_numeric", counted_numeric)
    fast = _load(long_month)
    assert taken["dates"] >= 2 and taken["ids"] >= 1  # trade_date, open_date; the client ids of the trades
    assert fast.trades["commission_rate"].array._pa_array.num_chunks == 1  # the take of the few rates

    monkeypatch.setattr(validate._Run, "_iso_dates", lambda self, *a: None)
    monkeypatch.setattr(validate, "_factorize_numeric", lambda *a: None)
    monkeypatch.setattr(validate, "_FEW_FROM", 10**12)
    slow = _load(long_month)
    for name in ("clients", "assets", "trades", "fund_sales"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name), check_categorical=True,
                                      obj=name)


def test_the_checks_hand_the_unscaled_amounts_to_the_metrics(long_month: Path) -> None:
    """The input checks compute each amount column's int64 unscaled values anyway; model.scaled gives those
    (read-only, no second derivation) while the column lives, and they equal what it derives itself."""
    import gc

    inputs = _load(long_month)
    rates = model.coded(inputs.trades["commission_rate"])  # the few rates: codes per row, value per code
    assert rates is not None and model.coded(inputs.trades["turnover"]) is None
    codes, values = rates
    assert len(values) < 20 and np.array_equal(values[codes], model.scaled(inputs.trades["commission_rate"])[0])
    _check_facts(inputs)  # the metrics take the rates by those codes: the facts of the row-by-row way
    for column in ("turnover", "commission_rate"):  # the cast of the text; the take of the few rates
        series = inputs.trades[column]
        ints, scale = model.scaled(series)
        assert not ints.flags.writeable
        assert model.scaled(series)[0] is ints  # handed over, not derived again
        chunked = model.arrow(series)
        del model._UNSCALED[id(chunked)]
        derived, derived_scale = model.scaled(series)
        assert derived is not ints and derived_scale == scale and np.array_equal(derived, ints)
    kept = len(model._UNSCALED)
    assert kept >= 1  # the other tables' amounts (assets)
    del inputs, series, chunked
    gc.collect()
    assert len(model._UNSCALED) < kept  # gone with their columns


def test_one_rate_written_two_ways_is_one_rate_for_the_metrics(long_month: Path, tmp_path: Path) -> None:
    text = (long_month / str(MONTH) / "trades.csv").read_text(encoding="utf-8")
    rate = next(csv.reader(io.StringIO(text.split("\n", 2)[1])))[5]  # the first trade's rate, e.g. 0.0003
    _edit_trades(long_month, tmp_path / str(MONTH), {i: (str(100 * i), rate + "0") for i in (1, 5, 9)})
    inputs = _load(tmp_path)
    codes, values = model.coded(inputs.trades["commission_rate"])
    assert len(set(values.tolist())) < len(values)  # "0.0003" and "0.00030": two codes, one value
    _check_facts(inputs)


def test_id_categories_skip_pandas_uniqueness_check_and_match_the_checked_way(
        long_month: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client ids of a long table become categories without pandas hashing them again to check they are
    distinct (they are a factorization's uniques); without pandas' fast path the checked way gives the same."""
    from cmsettle.inputs import validate

    fast = _load(long_month)
    ids = fast.trades["client_id"].cat.categories
    assert ids.is_unique and len(ids) == fast.trades["client_id"].nunique()
    assert set(ids) <= set(fast.clients["client_id"].astype(str))
    monkeypatch.setattr(validate, "_FAST_DTYPE", None)
    checked = _load(long_month)
    for name in ("clients", "assets", "trades"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(checked, name), check_categorical=True,
                                      obj=name)
    with pytest.raises(ValueError, match="unique"):  # the check the fast path skips, where it is still made
        validate._categorical(np.array([0, 1], dtype=np.int32), pd.Index(["a", "a"]))


def test_client_references_hash_the_clients_once_and_name_every_unknown_row(
        long_month: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client ids of assets, trades and fund sales are looked up among the clients' ids through one hash
    table, built once; when every distinct id is a client no row is looked at, and an unknown id is still
    reported on each row that has it, however long the table. The computation (compute_client_facts) finds
    the same ids in the same categories: it takes the checks' look-up and positions, hashing nothing again."""
    built, looked_up = [], []
    real, real_find = model.IdIndex.__init__, model.IdIndex._find

    def counted(self: model.IdIndex, ids: pd.Index) -> None:
        built.append(len(ids))
        real(self, ids)

    def counted_find(self: model.IdIndex, values: pd.Index) -> np.ndarray:
        looked_up.append(len(values))
        return real_find(self, values)

    monkeypatch.setattr(model.IdIndex, "__init__", counted)
    monkeypatch.setattr(model.IdIndex, "_find", counted_find)
    from cmsettle.inputs import validate

    run = _Run(MONTH, DEFAULT_RULES, frozenset())
    monkeypatch.setattr(validate, "_Run", lambda *a: run)
    inputs = _load(long_month)
    clients = len(run.tables["clients"].frame)
    assert built.count(clients) == 1  # assets, trades and fund sales against one look-up of the clients
    checked = list(looked_up)
    facts = compute_client_facts(inputs, DEFAULT_RULES, frozenset())
    assert built.count(clients) == 1 and looked_up == checked  # nothing hashed or looked up again
    assert facts.by_manager  # (and the facts are those of test_generated_month_facts_equal_row_by_row)

    data = tmp_path / str(MONTH)
    _edit_trades(long_month, data, {})
    text = (data / "trades.csv").read_text(encoding="utf-8").split("\n")
    for line in (2, 40_000, 69_999):  # file rows 3, 40001, 70000 (the header is row 1)
        cells = text[line].split(",")
        cells[1] = "990000000001"
        text[line] = ",".join(cells)
    (data / "trades.csv").write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(readers.InputError) as err:
        load_month(tmp_path, MONTH, DEFAULT_RULES, first_ledger_month=True)
    found = [(p.row, p.column, p.value, p.message) for p in err.value.problems]
    assert found == [(r, "client_id (header '客户号')", "990000000001", "client not in clients") for r in (3, 40_001, 70_000)]


def test_sums_by_group_leave_the_rows_of_group_minus_one_out_and_refuse_lower_groups() -> None:
    """_Amounts.sum_by adds group -1 into a slot past the last, dropped (no copy of the other rows)."""
    from cmsettle.compute.metrics import _Amounts

    ints = _Amounts(np.array([5, 7, 11, 13], dtype=np.int64), 2)
    assert ints.sums(np.array([0, -1, 1, 0]), 2) == [Decimal("0.18"), Decimal("0.11")]
    assert ints.sums(np.array([-1, -1, -1, -1]), 3) == [ZERO, ZERO, ZERO]
    big = _Amounts(np.array([2**62, 2**62, 1], dtype=np.int64), 0)  # would overflow int64: Python integers
    assert big.sums(np.array([0, 0, -1]), 1) == [Decimal(2**63)]
    objects = _Amounts(None, 0, np.array([Decimal("1.5"), Decimal("2"), Decimal("3")], dtype=object))
    assert objects.sums(np.array([-1, 0, 0]), 1) == [Decimal("5")]
    with pytest.raises(ValueError, match="below -1"):
        ints.sum_by(np.array([0, -2, 1, 0]), 2)
