"""The deterministic data generator (cmsettle.synth) and the committed sample_data/.

Determinism (same arguments -> byte-identical files), the shape of every file (encodings, headers,
formats), input validity (the rules a validator checks), the designed edge cases, and that the committed
sample_data/ is exactly what the generator produces with its defaults.
"""

from __future__ import annotations

import calendar
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cmsettle.synth import GENERATED_FILES, generate

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
MONTHS = ["2024-03", "2024-04", "2024-05"]
SMALL = dict(managers=34, clients=1500, trades_per_month=5000)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("synth_small")
    return out, generate(out, MONTHS, seed=7, **SMALL)


@pytest.fixture(scope="module")
def wide(tmp_path_factory) -> tuple[Path, object]:
    """Several regions: exercises the random hires, leavers, overrides and investigations outside the cast."""
    out = tmp_path_factory.mktemp("synth_wide")
    return out, generate(out, MONTHS, seed=11, managers=420, clients=20_000, trades_per_month=60_000)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------- reading


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    """Read one month folder as the branch's files are written (headers mapped to the canonical names)."""
    t: dict[str, pd.DataFrame] = {}
    t["roster"] = pd.read_csv(
        folder / "roster.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False
    ).rename(
        columns={
            "工号": "manager_id",
            "岗位": "position",
            "上级工号": "supervisor_id",
            "入职日期": "hire_date",
            "离职日期": "leave_date",
            "离职已批准": "leave_approved",
            "合同类型": "contract",
            "从业资格取得日期": "qualification_date",
            "银行账号": "bank_account",
            "身份证号": "id_number",
            "职级": "grade",
            "档次": "tier",
            "社保基数": "si_base",
        }
    )
    t["clients"] = pd.read_csv(folder / "clients.csv", dtype=str, encoding="gbk").rename(
        columns={
            "客户号": "client_id",
            "归属工号": "manager_id",
            "开户日期": "open_date",
            "客户类型": "kind",
            "状态": "status",
        }
    )
    t["assets"] = pd.read_csv(folder / "assets.csv", dtype={"客户号": str}).rename(
        columns={
            "客户号": "client_id",
            "月日均资产": "avg_assets",
            "月末资产": "end_assets",
            "股票及股票型基金市值": "equity_assets",
        }
    )
    tr = pd.read_csv(folder / "trades.csv", dtype=str).rename(
        columns={
            "成交日期": "trade_date",
            "客户号": "client_id",
            "品种": "product",
            "买卖方向": "side",
            "成交金额": "turnover",
            "手续费率": "commission_rate",
        }
    )
    tr["turnover"] = pd.to_numeric(tr["turnover"].str.replace(",", "", regex=False))
    tr["commission_rate"] = pd.to_numeric(tr["commission_rate"])
    t["trades"] = tr
    t["fund_sales"] = pd.read_csv(folder / "fund_sales.csv", dtype={"客户号": str, "基金代码": str}).rename(
        columns={
            "客户号": "client_id",
            "基金代码": "product_code",
            "金额": "amount",
            "佣金收入": "commission_income",
        }
    )
    att = pd.read_excel(folder / "attendance.xlsx", dtype={"工号": str}, engine="openpyxl")
    t["attendance"] = att.rename(
        columns={"工号": "manager_id", "日期": "date", "类别": "code", "天数": "days", "病历证明": "proof"}
    )
    for name in (
        "management",
        "penalties",
        "referrals",
        "deductions",
        "grade_overrides",
        "history",
        "opening",
    ):
        p = folder / f"{name}.csv"
        if p.exists():
            t[name] = pd.read_csv(p, dtype=str, keep_default_na=False)
    return t


def _in_month(dates: pd.Series, month: str) -> bool:
    d = pd.to_datetime(dates)
    y, m = map(int, month.split("-"))
    first, last = pd.Timestamp(y, m, 1), pd.Timestamp(y, m, calendar.monthrange(y, m)[1])
    return bool(((d >= first) & (d <= last)).all())


# ------------------------------------------------------------------------------------------ determinism


def test_same_arguments_give_identical_bytes(small, tmp_path):
    out, _ = small
    generate(tmp_path, MONTHS, seed=7, **SMALL)
    a, b = _files(out), _files(tmp_path)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_another_seed_gives_other_data(small, tmp_path):
    out, _ = small
    generate(tmp_path, MONTHS[:1], seed=8, **SMALL)
    assert (out / "2024-03" / "trades.csv").read_bytes() != (tmp_path / "2024-03" / "trades.csv").read_bytes()


def test_rerun_replaces_files_of_an_earlier_run(tmp_path):
    (tmp_path / "2024-03").mkdir()
    (tmp_path / "2024-03" / "grade_overrides.csv").write_text("stale", encoding="utf-8")
    generate(tmp_path, MONTHS[:1], seed=7, **SMALL)
    assert not (tmp_path / "2024-03" / "grade_overrides.csv").exists()  # the first month has none


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="consecutive"):
        generate(tmp_path, ["2024-03", "2024-05"], **SMALL)
    with pytest.raises(ValueError, match="at least 34"):
        generate(tmp_path, MONTHS, managers=20, clients=1500, trades_per_month=100)
    with pytest.raises(ValueError, match="too few"):
        generate(tmp_path, MONTHS, managers=34, clients=400, trades_per_month=100)


def test_committed_sample_is_what_the_generator_makes(tmp_path):
    """sample_data/ must be regenerated (make sample) whenever the generator changes."""
    generate(tmp_path, MONTHS, readme=True)
    made, committed = _files(tmp_path), _files(SAMPLE)
    assert made.keys() == committed.keys()
    assert [k for k in made if made[k] != committed[k]] == []


# ---------------------------------------------------------------------------------------------- shapes


def test_file_set_and_shapes(small):
    out, summary = small
    for i, m in enumerate(MONTHS):
        names = {p.name for p in (out / m).iterdir()}
        assert names <= set(GENERATED_FILES)
        required = {
            "roster.csv",
            "clients.csv",
            "assets.csv",
            "trades.csv",
            "fund_sales.csv",
            "attendance.xlsx",
            "management.csv",
            "penalties.csv",
            "deductions.csv",
        }
        assert required <= names
        assert ({"history.csv", "opening.csv"} <= names) == (i == 0)
        assert summary.rows[m]["trades"] >= SMALL["trades_per_month"]
    assert summary.rows["2024-03"]["clients"] == SMALL["clients"]
    assert summary.rows["2024-04"]["clients"] > summary.rows["2024-03"]["clients"]  # new accounts open


def test_encodings_headers_and_formats(small):
    out, _ = small
    d = out / "2024-03"
    assert (d / "roster.csv").read_bytes().startswith(b"\xef\xbb\xbf\xe5\xb7\xa5\xe5\x8f\xb7")  # BOM + 工号
    raw = (d / "clients.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gbk").splitlines()[0] == "客户号,归属工号,开户日期,客户类型,状态"
    assert "/" in raw.decode("gbk").splitlines()[1].split(",")[2]  # YYYY/MM/DD
    assert (d / "assets.csv").read_text(encoding="utf-8").splitlines()[
        0
    ] == "客户号,月日均资产,月末资产,股票及股票型基金市值"
    trades = (d / "trades.csv").read_text(encoding="utf-8").splitlines()
    assert trades[0] == "成交日期,客户号,品种,买卖方向,成交金额,手续费率"
    assert any('"' in line and "," in line.split('"')[1] for line in trades[1:200])  # "12,345.60"
    assert not (d / "trades.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert b"\r\n" not in (d / "trades.csv").read_bytes()
    wb = openpyxl.load_workbook(d / "attendance.xlsx")
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == ["工号", "日期", "类别", "天数", "病历证明"]
    assert ws.max_row > 1 and ws.cell(2, 2).is_date
    with zipfile.ZipFile(d / "attendance.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}


def test_values_look_like_the_branch(small):
    out, _ = small
    t = _read(out / "2024-03")
    tr = t["trades"]
    assert set(tr["product"]) <= {"股票", "开放式基金", "新股申购", "债券", "封闭式基金", "other"}
    assert tr["product"].value_counts().idxmax() == "股票"
    assert set(tr["side"]) == {"买入", "卖出"}
    assert set(tr.loc[tr["product"] == "新股申购", "side"]) == {"买入"}
    rates = set(tr["commission_rate"])
    assert 3 <= len(rates) <= 8 and min(rates) >= 0.0003 and max(rates) <= 0.0025
    assert pd.to_datetime(tr["trade_date"]).dt.day_of_week.max() < 5  # trading days only
    assert set(t["clients"]["kind"]) == {"个人", "机构"}
    ro = t["roster"]
    assert set(ro["position"]) == {"区域经理", "驻点经理", "营销经理"}
    assert (ro["position"] == "区域经理").sum() == 1 and (ro["position"] == "驻点经理").sum() == 3
    assert (ro["contract"] == "居间协议").sum() == 1
    assert ro["bank_account"].str.fullmatch(r"\d{19}").all()
    assert ro["id_number"].str.fullmatch(r"\d{17}[\dX]").all()
    for acct in ro["bank_account"]:  # Luhn
        digits = [int(c) for c in acct][::-1]
        assert (
            sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d) for i, d in enumerate(digits)) % 10 == 0
        )
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    for idn in ro["id_number"]:  # ISO 7064 MOD 11-2 and a real birth date
        assert "10X98765432"[sum(int(c) * k for c, k in zip(idn[:17], w)) % 11] == idn[17]
        date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14]))
    # skewed books: the top fifth of managers own most of the assets
    own = (
        t["clients"]
        .merge(t["assets"], on="client_id")
        .groupby("manager_id")["avg_assets"]
        .sum()
        .sort_values()
    )
    assert own.tail(len(own) // 5).sum() > 0.45 * own.sum()


# ------------------------------------------------------------------------------------------- validity


def _check_validity(out: Path) -> None:
    referred: set[str] = set()
    for i, m in enumerate(MONTHS):
        t = _read(out / m)
        ro, cl, a, tr, fs = t["roster"], t["clients"], t["assets"], t["trades"], t["fund_sales"]
        staff = set(ro["manager_id"])
        assert ro["manager_id"].is_unique and cl["client_id"].is_unique and a["client_id"].is_unique
        assert set(cl["manager_id"]) <= staff
        assert set(ro.loc[ro["supervisor_id"] != "", "supervisor_id"]) <= staff
        clients = set(cl["client_id"])
        assert (
            set(a["client_id"]) <= clients
            and set(tr["client_id"]) <= clients
            and set(fs["client_id"]) <= clients
        )
        y, mm = map(int, m.split("-"))
        last = date(y, mm, calendar.monthrange(y, mm)[1])
        assert (pd.to_datetime(ro["hire_date"]).dt.date <= last).all()
        assert (pd.to_datetime(cl["open_date"], format="%Y/%m/%d").dt.date <= last).all()
        left = ro["leave_date"] != ""
        assert (pd.to_datetime(ro.loc[left, "leave_date"]).dt.date >= date(y, mm, 1)).all()
        assert _in_month(tr["trade_date"], m) and _in_month(fs["sale_date"], m)
        assert _in_month(t["attendance"]["date"], m)
        assert not t["attendance"].duplicated(["manager_id", "date"]).any()
        assert set(t["attendance"]["days"]) <= {1, 0.5}
        assert set(t["attendance"]["manager_id"]) <= staff
        for name in ("management", "penalties"):
            if len(t[name]):
                assert _in_month(t[name]["date"], m)
                assert set(t[name]["manager_id"]) <= staff
        assert (tr["turnover"] > 0).all()
        for col in ("avg_assets", "end_assets", "equity_assets"):
            assert (a[col] >= 0).all()
        assert (a["equity_assets"] <= a["end_assets"] + 0.005).all()
        assert (fs["amount"] >= 0).all() and (fs["commission_income"] < 0.02 * fs["amount"]).all()
        pen = t["penalties"]
        be = pd.to_numeric(pen.loc[pen["kind"] == "business_error", "amount"])
        assert ((be >= 100) & (be <= 1000)).all()
        mal = pen[pen["kind"] == "malicious_account"]
        assert (mal["client_id"] != "").all() and mal["severity"].isin(["general", "serious"]).all()
        assert set(mal["client_id"]) <= set(cl.loc[cl["status"] == "malicious_confirmed", "client_id"])
        for name in ("deductions", "grade_overrides"):
            if name in t:
                assert t[name]["manager_id"].is_unique and set(t[name]["manager_id"]) <= staff
        if "referrals" in t:
            r = t["referrals"]
            assert r["referred_id"].is_unique and not (set(r["referred_id"]) & referred)
            referred |= set(r["referred_id"])
        for name in ("deductions", "opening"):
            if name in t:
                for col in t[name].columns[1:]:
                    if col != "ytd_taxable":  # may be negative (D38)
                        assert (pd.to_numeric(t[name][col]) >= 0).all(), (name, col)
        if i == 0:
            h, o = t["history"], t["opening"]
            assert set(h["month"]) == {"2023-12", "2024-01", "2024-02"}
            assert not h.duplicated(["month", "manager_id"]).any() and set(h["manager_id"]) <= staff
            assert set(o["manager_id"]) == staff


def test_input_validity_sample(small):
    _check_validity(small[0])


def test_input_validity_several_regions(wide):
    out, summary = wide
    _check_validity(out)
    assert summary.roster["2024-03"]["regional_manager"] == 12
    ro = _read(out / "2024-04")["roster"]
    assert (ro["leave_date"] != "").sum() >= 2  # random leavers outside the cast, besides the cast's one


def test_the_project_validator_accepts_the_sample():
    load_month = pytest.importorskip("cmsettle.inputs").load_month
    from cmsettle.months import Month
    from cmsettle.ruleset.loader import resolve

    known: set[str] = set()
    for i, m in enumerate(MONTHS):
        month = Month.parse(m)
        inputs = load_month(
            SAMPLE,
            month,
            resolve(ROOT / "rules", month).rules,
            first_ledger_month=(i == 0),
            known_manager_ids=frozenset(known),
        )
        assert inputs.roster and len(inputs.trades) > 0
        known |= {r.manager_id for r in inputs.roster}


# -------------------------------------------------------------------------------------- designed cases


def test_designed_cast_and_clients(small):
    out, s = small
    c, sp = s.cast, s.special_clients
    t = [_read(out / m) for m in MONTHS]

    def row(k, table, key, value):
        df = t[k][table]
        return df[df[key] == value]

    # the leaver: on the second month's roster with an approved leave date, gone in the third
    lv = row(1, "roster", "manager_id", c["LEAVER"]).iloc[0]
    assert lv["leave_date"] == "2024-04-19" and lv["leave_approved"] == "是"
    assert c["LEAVER"] not in set(t[2]["roster"]["manager_id"]) and c["LEAVER"] not in set(
        t[2]["clients"]["manager_id"]
    )
    # trainees hired on the 15th / 16th, one inside the second month
    hires = {
        r: row(2 if r == "TRAINEE_D" else 0, "roster", "manager_id", c[r]).iloc[0]["hire_date"]
        for r in ("TRAINEE_A", "TRAINEE_B", "TRAINEE_C", "TRAINEE_D")
    }
    assert hires == {
        "TRAINEE_A": "2024-01-15",
        "TRAINEE_B": "2024-01-16",
        "TRAINEE_C": "2024-03-15",
        "TRAINEE_D": "2024-04-16",
    }
    assert c["TRAINEE_D"] not in set(t[0]["roster"]["manager_id"])
    # statuses over the months
    status = [t[k]["clients"].set_index("client_id")["status"] for k in range(3)]
    assert [status[k].get(sp["INV1"]) for k in range(3)] == ["under_investigation", "normal", "normal"]
    assert [status[k].get(sp["INV2"]) for k in range(3)] == [None, "under_investigation", "normal"]
    assert [status[k].get(sp["MALICIOUS"]) for k in range(3)] == [
        None,
        "under_investigation",
        "malicious_confirmed",
    ]
    # threshold clients of the first month
    a0 = t[0]["assets"].set_index("client_id")["end_assets"]
    tr0 = t[0]["trades"]
    assert a0[sp["THRESH_EXACT"]] == 5000.00 and a0[sp["THRESH_ABOVE"]] == 5000.01
    assert tr0.loc[tr0["client_id"] == sp["THRESH_EXACT"], "turnover"].tolist() == [5000.00]
    assert sp["THRESH_ABOVE"] not in set(tr0["client_id"])
    comb = tr0[tr0["client_id"] == sp["COMBINED"]].groupby("product")["turnover"].sum().to_dict()
    assert comb == {"股票": 3000.00, "开放式基金": 2500.00} and a0[sp["COMBINED"]] == 1200.00
    # the IPO-heavy new clients of the third month
    tr2 = t[2]["trades"]
    ipo = tr2[tr2["client_id"].isin([sp[f"IPO_{k}"] for k in range(1, 5)]) & (tr2["side"] == "买入")]
    share = ipo.loc[ipo["product"].isin(["新股申购", "开放式基金"]), "turnover"].sum() / ipo["turnover"].sum()
    assert share > 0.5
    # penalties, override, opening
    pens = pd.concat([t[k]["penalties"].assign(k=k) for k in range(3)])
    kinds = pens.groupby("kind")["k"].apply(list).to_dict()
    for kind in (
        "business_error",
        "loss_compensation",
        "discretionary_trading",
        "malicious_account",
        "dispute",
    ):
        assert len(kinds[kind]) == 1, kind
    assert pens.loc[pens["kind"] == "malicious_account", "client_id"].tolist() == [sp["MALICIOUS"]]
    assert t[1]["grade_overrides"]["manager_id"].tolist() == [c["OVERRIDE"]]
    op = t[0]["opening"].set_index("manager_id")
    assert op.loc[c["CAP_FUND"], "risk_fund_balance"] == "10000.00"
    caps = {"营销经理": 10000, "驻点经理": 20000, "区域经理": 30000}
    pos = t[0]["roster"].set_index("manager_id")["position"]
    below = [float(op.loc[i, "risk_fund_balance"]) < caps[pos[i]] for i in op.index if i != c["CAP_FUND"]]
    assert all(below)
    assert (pd.to_numeric(op["excess_carry"]) > 0).sum() == 2
    # attendance edge cases and promotion duty on the May Day holiday
    att = [t[k]["attendance"] for k in range(3)]
    assert (
        (att[0]["manager_id"] == c["HALF_ABSENT"]) & (att[0]["code"] == "旷工") & (att[0]["days"] == 0.5)
    ).any()
    sick4 = att[1][(att[1]["manager_id"] == c["SICK4"]) & (att[1]["code"] == "病假")]
    assert len(sick4) == 4 and (sick4["proof"] == "是").all()
    assert (att[2]["code"] == "工伤").sum() == 3
    promo = pd.to_datetime(att[2].loc[att[2]["code"] == "节假日促销", "date"]).dt.day
    assert len(promo) and promo.between(1, 5).all()
    # all management kinds occur
    kinds = set(pd.concat([t[k]["management"]["kind"] for k in range(3)]))
    assert kinds == {
        "no_promotion",
        "meeting_not_held",
        "report_late",
        "dress_code",
        "left_post",
        "complaint",
    }


def test_history_grades_match_assets(small):
    """G1 bands: the history grade of everyone but the designed movers fits their 3-month average assets."""
    out, s = small
    h = _read(out / "2024-03")["history"]
    h["avg_assets"] = pd.to_numeric(h["avg_assets"])
    a3 = h.groupby("manager_id")["avg_assets"].mean()
    grade = h[h["month"] == "2024-02"].set_index("manager_id")["grade"]
    th = {"assistant": 500_000, "manager": 3_000_000, "senior": 6_000_000, "chief": 12_000_000}

    def by_assets(x: float) -> str:
        g = "trainee"
        for name, v in th.items():
            if x >= v:
                g = name
        return g

    trainees = {s.cast[r] for r in ("TRAINEE_A", "TRAINEE_B")}
    odd = [i for i in grade.index if i not in trainees and by_assets(a3[i]) != grade[i]]
    assert odd == [] or set(odd) <= {s.cast["DEMOTE"]}


def test_big_scale_is_vectorised(tmp_path):
    """A tenth of the benchmark size (500 managers, 100k clients, 1M trades) in a few seconds."""
    import time

    t0 = time.perf_counter()
    s = generate(tmp_path, MONTHS[:1], managers=500, clients=100_000, trades_per_month=1_000_000)
    assert s.rows["2024-03"]["trades"] >= 1_000_000 and s.rows["2024-03"]["clients"] == 100_000
    assert time.perf_counter() - t0 < 60
    assert np.isfinite(pd.read_csv(tmp_path / "2024-03" / "assets.csv")["月末资产"]).all()
