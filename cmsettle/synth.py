"""Deterministic generator of realistic branch data: the month folders of DATA.md.

``generate(out_dir, ["2024-03", "2024-04", "2024-05"])`` writes one self-contained folder per month
(roster, clients, assets, trades, fund_sales, attendance, management, penalties, referrals, deductions,
grade_overrides; history and opening in the first month) the way the branch's systems export them:
CRM tables with Chinese headers and values, ``clients.csv`` in GBK, the roster as UTF-8 with BOM,
the attendance log as ``.xlsx`` with real Excel dates, the small tables with English headers.

Design
------
* People: regions of one regional manager (区域经理) with three station managers (驻点经理) and about
  30 marketers; region 0 is the *cast*: fixed roles that exercise the RULEBOOK's edge cases (leaver,
  agent, probation trainees, promotion, demotion, investigated clients, penalties, ...), see ``CAST``.
  Further regions (``managers`` above ~50) are random and also get proportional random events
  (hires, leavers, overrides, penalties), so the 34-person sample holds exactly the designed cases.
* Assets: each manager has a book level per month (skewed: a few chiefs own most assets) chosen inside
  the grade's band of RULEBOOK G1, so most keep their grade; designed paths cross a threshold.
  A client's month level is its base times noise, rescaled per manager so the book follows the path.
* Trades: sampled per month over active clients (weight ~ sqrt(assets)), then scaled per manager so that
  the net revenue (M5) lands near a level typical of the grade's target.
* Everything is numpy-vectorised over clients and trades, so 5,000 managers / 1,000,000 clients /
  10,000,000 trades per month run in minutes; Python loops are only over people, months and units.
* Deterministic: one numpy ``Generator`` per purpose, seeded from ``seed`` and the purpose's name; no
  clock, no hash-ordering; the xlsx is re-zipped with fixed timestamps. Same arguments, same bytes.

The parameter tables below copy RULEBOOK §9 defaults only to make the data *realistic*; the settlement
never reads them.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import numpy as np
import pandas as pd

from cmsettle.months import Month
from cmsettle.workdays import WorkCalendar

# --------------------------------------------------------------------------------------------------
# Reference figures (RULEBOOK G1, §9, M5), used only to shape realistic data.

GRADES = ("trainee", "assistant", "manager", "senior", "chief")
TRAINEE, ASSISTANT, MANAGER, SENIOR, CHIEF = range(5)
THRESHOLD = np.array([0.0, 500_000.0, 3_000_000.0, 6_000_000.0, 12_000_000.0])
FIXED = np.array([1500.0, 2000.0, 2500.0, 3500.0, 5000.0])
BASE_RATE = np.array([0.10, 0.15, 0.20, 0.25, 0.30])
EA_T = np.array([2.0, 3.0, 5.0, 6.0, 8.0])
NMV_T = np.array([100_000.0, 300_000.0, 500_000.0, 1_000_000.0, 2_000_000.0])
NR_T = np.array([2000.0, 5000.0, 10_000.0, 20_000.0, 40_000.0])
TRANSPORT = np.array([120.0, 120.0, 200.0, 300.0, 300.0])
# net revenue per unit of book per month, by grade (≈ NR target / typical book of the grade)
NR_PER_ASSET = np.array([0.0025, 0.0042, 0.0025, 0.0024, 0.0017])
REVENUE_TAX, REG_FEE = 0.0565, 0.0000687
RISK_CAP = {"marketer": 10_000.0, "station_manager": 20_000.0, "regional_manager": 30_000.0}
TAX_TABLE = [
    (36_000, 0.03, 0),
    (144_000, 0.10, 2520),
    (300_000, 0.20, 16_920),
    (420_000, 0.25, 31_920),
    (660_000, 0.30, 52_920),
    (960_000, 0.35, 85_920),
    (float("inf"), 0.45, 181_920),
]

POSITION_ZH = {"marketer": "营销经理", "station_manager": "驻点经理", "regional_manager": "区域经理"}
CONTRACT_ZH = {"employee": "劳动合同", "agent": "居间协议"}
KIND_ZH = np.array(["个人", "机构"], dtype=object)
STATUSES = np.array(["normal", "under_investigation", "malicious_confirmed"], dtype=object)
PRODUCTS = ("stock", "fund_open", "ipo_subscription", "bond", "fund_closed", "other")
PRODUCT_ZH = ["股票", "开放式基金", "新股申购", "债券", "封闭式基金", "other"]
PRODUCT_P = np.array([0.80, 0.05, 0.05, 0.04, 0.04, 0.02])
PRODUCT_SIZE = np.array([1.0, 1.2, 2.0, 3.0, 1.0, 0.5])
SIDE_ZH = ["买入", "卖出"]
RATES = np.array([0.0003, 0.0005, 0.0008, 0.0012, 0.0018, 0.0025])
RATE_TEXT = ["0.0003", "0.0005", "0.0008", "0.0012", "0.0018", "0.0025"]
ATT_ZH = {
    "late": "迟到",
    "early_leave": "早退",
    "personal_leave": "事假",
    "sick_leave": "病假",
    "absent": "旷工",
    "work_injury": "工伤",
    "promo_duty": "节假日促销",
}
MGMT_NOTE = {
    "no_promotion": "节假日未组织促销活动",
    "meeting_not_held": "驻点周例会未召开",
    "report_late": "周业务报告迟交",
    "dress_code": "未按规定着正装",
    "left_post": "工作时间离岗未请假",
    "complaint": "客户投诉服务态度",
}
FUND_CODES = [
    "000001",
    "110022",
    "161725",
    "005827",
    "001632",
    "519069",
    "000311",
    "003095",
    "260108",
    "163406",
    "001938",
    "000961",
    "470006",
    "519674",
    "110011",
    "002190",
]

_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
)
_GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红鹏飞斌宇浩凯健俊帆帅旭宁琳婷雪慧颖晨阳"
    "辰瑶欣怡佳琪思嘉子轩梓涵然诺彤曦博文天佑志远晓东海峰建国德胜庆春燕秋菊梅振卫亮晶璐薇倩蕾露颖"
)
_ID_REGIONS = [
    "330102",
    "330105",
    "330106",
    "330108",
    "330110",
    "330203",
    "330302",
    "330402",
    "330602",
    "330782",
    "320102",
    "320106",
    "310104",
    "310115",
    "340104",
    "360102",
    "350102",
    "430102",
    "420106",
    "410105",
    "370102",
    "510107",
    "110105",
    "440305",
]
_BANK_BINS = ["622202", "622202", "622202", "622202", "621700", "622848", "621661", "622262"]
_PROJECTS = [
    "滨江项目部",
    "钱塘项目部",
    "西湖项目部",
    "拱墅项目部",
    "萧山项目部",
    "余杭项目部",
    "临平项目部",
    "富阳项目部",
    "桐庐项目部",
    "建德项目部",
    "临安项目部",
    "淳安项目部",
]
_PLACES = [
    "城南",
    "高新",
    "大学城",
    "江陵",
    "长河",
    "西兴",
    "浦沿",
    "闻堰",
    "丁桥",
    "九堡",
    "笕桥",
    "四季青",
    "古荡",
    "翠苑",
    "文新",
    "蒋村",
    "转塘",
    "双浦",
    "三墩",
    "祥符",
    "半山",
    "康桥",
    "勾庄",
    "仁和",
]

# Region 0 cast: role -> (unit: 0 = the regional manager's own group, 1..3 = station, slot, grade).
CAST: dict[str, tuple[int, int, int]] = {
    "LEAVER": (1, 0, MANAGER),
    "TRAINEE_A": (1, 1, TRAINEE),
    "PROMOTE": (1, 2, MANAGER),
    "CAP_FUND": (1, 3, SENIOR),
    "INV1": (1, 4, ASSISTANT),
    "LOSS": (1, 5, MANAGER),
    "PL_CAP": (1, 6, ASSISTANT),
    "HALF_ABSENT": (1, 7, ASSISTANT),
    "AGENT": (2, 0, ASSISTANT),
    "TRAINEE_B": (2, 1, TRAINEE),
    "DEMOTE": (2, 2, SENIOR),
    "NO_QUAL": (2, 3, MANAGER),
    "MALICIOUS": (2, 4, ASSISTANT),
    "BIZ_ERR": (2, 5, MANAGER),
    "ABSENT_YTD": (2, 6, ASSISTANT),
    "SICK_NOPROOF": (2, 7, MANAGER),
    "TRAINEE_C": (3, 0, TRAINEE),
    "LOW_ACT": (3, 1, ASSISTANT),
    "QUAL_LATE": (3, 2, ASSISTANT),
    "IPO_HEAVY": (3, 3, MANAGER),
    "INV2": (3, 4, MANAGER),
    "DISCRETIONARY": (3, 5, SENIOR),
    "SICK4": (3, 6, MANAGER),
    "INJURY": (3, 7, ASSISTANT),
    "CHIEF_SI": (0, 0, CHIEF),
    "REFERRED": (0, 1, MANAGER),
    "OVERRIDE": (0, 2, ASSISTANT),
}
MIN_MANAGERS = 34
GENERATED_FILES = (
    "roster.csv",
    "clients.csv",
    "assets.csv",
    "trades.csv",
    "fund_sales.csv",
    "attendance.xlsx",
    "management.csv",
    "penalties.csv",
    "referrals.csv",
    "deductions.csv",
    "grade_overrides.csv",
    "history.csv",
    "opening.csv",
)
HIST = 3  # months of history before the first month


# --------------------------------------------------------------------------------------------------
# Small helpers


def _rng(seed: int, *keys: object) -> np.random.Generator:
    """A generator per purpose: independent of the order in which purposes are drawn."""
    spawn = tuple(zlib.crc32(str(k).encode("utf-8")) for k in keys)
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=spawn))


def _d64(d: date) -> np.datetime64:
    return np.datetime64(d, "D")


def _dates_text(a: np.ndarray, sep: str = "-") -> np.ndarray:
    """datetime64[D] array -> 'YYYY-MM-DD' strings (object array; NaT -> '')."""
    out = np.datetime_as_string(a, unit="D").astype(object)
    out[np.isnat(a)] = ""
    if sep != "-":
        uniq, inv = np.unique(out, return_inverse=True)
        uniq = np.array([u.replace("-", sep) for u in uniq], dtype=object)
        out = uniq[inv]
    return out


def _cat_dates(a: np.ndarray, sep: str = "-") -> pd.Categorical:
    """Dates of a big table as a categorical of their text (few distinct values, fast to write)."""
    uniq, inv = np.unique(a, return_inverse=True)
    return pd.Categorical.from_codes(inv.astype(np.int32), categories=list(_dates_text(uniq, sep)))


def _money(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64), 2)


def _thousands(cents: np.ndarray) -> pd.Series:
    """Amounts in cents -> '1,234.50' text, vectorised (pyarrow compute, no per-row Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cents = np.asarray(cents, dtype=np.int64)
    ip, fr = cents // 100, cents % 100

    def txt(a: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(a), pa.string())

    def pad3(a: np.ndarray) -> pa.Array:
        return pc.utf8_lpad(txt(a), 3, padding="0")

    g0, g1, g2, g3 = ip % 1000, (ip // 1000) % 1000, (ip // 1_000_000) % 1000, ip // 1_000_000_000
    r3 = pc.binary_join_element_wise(txt(g3), pad3(g2), pad3(g1), pad3(g0), ",")
    r2 = pc.binary_join_element_wise(txt(g2), pad3(g1), pad3(g0), ",")
    r1 = pc.binary_join_element_wise(txt(g1), pad3(g0), ",")
    whole = pc.if_else(
        pa.array(ip >= 1_000_000_000),
        r3,
        pc.if_else(pa.array(ip >= 1_000_000), r2, pc.if_else(pa.array(ip >= 1000), r1, txt(g0))),
    )
    text = pc.binary_join_element_wise(whole, pc.utf8_lpad(txt(fr), 2, padding="0"), ".")
    return pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)


def _fmt(values, nd: int = 2) -> list[str]:
    """Small-table number formatting: fixed decimals, blank for NaN/None."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append("")
        else:
            out.append(f"{float(v):.{nd}f}")
    return out


def _write_csv(
    df: pd.DataFrame, path: Path, encoding: str = "utf-8", float_format: str | None = "%.2f"
) -> None:
    df.to_csv(path, index=False, encoding=encoding, lineterminator="\n", float_format=float_format)


def _cum_tax(base: float) -> float:
    b = max(0.0, base)
    for upper, rate, quick in TAX_TABLE:
        if b <= upper:
            return round(b * rate - quick, 2)
    raise AssertionError


def _luhn_digit(payload: np.ndarray) -> np.ndarray:
    """Luhn check digits for rows of digits (the check digit is appended on the right)."""
    d = payload[:, ::-1].copy()
    d[:, 0::2] *= 2
    d[d > 9] -= 9
    return (10 - d.sum(axis=1) % 10) % 10


def _id_check(d17: np.ndarray) -> np.ndarray:
    w = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    return np.array(list("10X98765432"))[(d17 * w).sum(axis=1) % 11]


def _digits(strings: list[str]) -> np.ndarray:
    return np.array([[ord(c) - 48 for c in s] for s in strings], dtype=np.int64)


# --------------------------------------------------------------------------------------------------
# Calendar


@dataclass
class _MonthCal:
    month: Month
    first: np.datetime64
    last: np.datetime64
    workdays: np.ndarray  # datetime64[D], PRC working days
    trading: np.ndarray  # working days Monday-Friday (exchanges closed on swapped weekend workdays)
    holidays: np.ndarray  # official festival days (promo duty)


def _month_cal(m: Month, cal: WorkCalendar) -> _MonthCal:
    days = [m.first_day + timedelta(days=i) for i in range((m.last_day - m.first_day).days + 1)]
    work = [d for d in days if cal.is_workday(d)]
    hol = []
    for d in days:
        try:
            on, name = chinese_calendar.get_holiday_detail(d)
        except NotImplementedError:
            on, name = False, None
        if on and name is not None:
            hol.append(d)
    a = lambda xs: np.array(xs, dtype="datetime64[D]")  # noqa: E731
    return _MonthCal(
        m, _d64(m.first_day), _d64(m.last_day), a(work), a([d for d in work if d.weekday() < 5]), a(hol)
    )


def _pick_days(rng: np.random.Generator, days: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For each row a random element of ``days`` within [lo, hi] (dates); rows without one get NaT."""
    a = np.searchsorted(days, lo, "left")
    b = np.searchsorted(days, hi, "right")
    ok = b > a
    idx = a + np.floor(rng.random(len(lo)) * np.maximum(b - a, 1)).astype(np.int64)
    out = np.full(len(lo), np.datetime64("NaT"), dtype="datetime64[D]")
    if len(days):
        out[ok] = days[np.minimum(idx[ok], len(days) - 1)]
    return out


# --------------------------------------------------------------------------------------------------
# People


def _names(rng: np.random.Generator, n: int) -> list[str]:
    w = 1.0 / (np.arange(len(_SURNAMES)) + 6.0)
    w /= w.sum()
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        k = 2 * (n - len(out)) + 10
        sur = rng.choice(len(_SURNAMES), k, p=w)
        g1 = rng.integers(0, len(_GIVEN), k)
        g2 = rng.integers(0, len(_GIVEN), k)
        two = rng.random(k) < 0.65
        for i in range(k):
            s = _SURNAMES[sur[i]] + _GIVEN[g1[i]] + (_GIVEN[g2[i]] if two[i] and g2[i] != g1[i] else "")
            if s not in seen:
                seen.add(s)
                out.append(s)
                if len(out) == n:
                    break
    return out


def _shift_workday(days: np.ndarray) -> np.ndarray:
    return np.busday_offset(days, 0, roll="forward")


def _build_people(n: int, months: list[Month], seed: int) -> tuple[dict, dict[str, int], list[dict]]:
    """The roster over the whole horizon: n people on the first month's roster plus later hires."""
    if n < MIN_MANAGERS:
        raise ValueError(f"managers must be at least {MIN_MANAGERS} (one full region with its cast), got {n}")
    rng = _rng(seed, "people")
    first = months[0]
    f_first = _d64(first.first_day)
    n_reg = max(1, n // MIN_MANAGERS)  # whole regions: each has room for the cast (round() left 60 short)
    n_mkt = n - 4 * n_reg
    rows: list[dict] = []
    units: list[dict] = []  # unit: region, kind ('rm'/'station'), head index, station name
    place_i = 0
    for r, mk in enumerate(np.array_split(np.arange(n_mkt), n_reg)):
        project = _PROJECTS[(r // 3) % len(_PROJECTS)] + (
            "" if r // 3 < len(_PROJECTS) else f"{r // 3 // len(_PROJECTS) + 1}"
        )
        rm = len(rows)
        rows.append(dict(region=r, unit=len(units), position="regional_manager", sup=-1, project=project))
        units.append(dict(region=r, kind="rm", head=rm, station=f"{project[:-3]}区域直营组"))
        heads = []
        for _ in range(3):
            place = _PLACES[place_i % len(_PLACES)] + (
                "" if place_i < len(_PLACES) else str(place_i // len(_PLACES) + 1)
            )
            place_i += 1
            heads.append(len(rows))
            rows.append(dict(region=r, unit=len(units), position="station_manager", sup=rm, project=project))
            units.append(dict(region=r, kind="station", head=heads[-1], station=f"{place}驻点"))
        m = len(mk)
        k_rm = max(1, round(0.1 * m))
        groups = [np.arange(k_rm)] + list(np.array_split(np.arange(k_rm, m), 3))
        for g, members in enumerate(groups):
            u = units[rows[rm]["unit"]] if g == 0 else units[rows[heads[g - 1]]["unit"]]
            for slot in range(len(members)):
                rows.append(
                    dict(
                        region=r,
                        unit=rows[rm]["unit"] if g == 0 else rows[heads[g - 1]]["unit"],
                        position="marketer",
                        sup=u["head"],
                        project=project,
                        slot=slot,
                        group=g,
                    )
                )
    for row in rows:
        row["station"] = units[row["unit"]]["station"]

    # region 0 cast
    cast: dict[str, int] = {}
    for role, (g, slot, _grade) in CAST.items():
        hit = [
            i
            for i, row in enumerate(rows)
            if row["region"] == 0 and row.get("group") == g and row.get("slot") == slot
        ]
        if not hit:
            raise ValueError(f"region 0 has no slot for cast role {role}")
        cast[role] = hit[0]
    cast["RM"] = 0
    cast["SM1"], cast["SM2"], cast["SM3"] = 1, 2, 3

    N0 = len(rows)
    pos = np.array([r["position"] for r in rows], dtype=object)
    region = np.array([r["region"] for r in rows])
    # grades
    grade = np.where(pos == "regional_manager", CHIEF, MANAGER)
    u = rng.random(N0)
    mk_grade = np.select(
        [u < 0.03, u < 0.36, u < 0.70, u < 0.90], [TRAINEE, ASSISTANT, MANAGER, SENIOR], CHIEF
    )
    sm_grade = np.select([u < 0.4, u < 0.9], [MANAGER, SENIOR], CHIEF)
    rm_grade = np.where(u < 0.8, CHIEF, SENIOR)
    grade = np.where(pos == "marketer", mk_grade, np.where(pos == "station_manager", sm_grade, rm_grade))
    grade[1], grade[2], grade[3] = SENIOR, MANAGER, MANAGER
    grade[0] = CHIEF
    roles = np.array([""] * N0, dtype=object)
    for role, (_g, _s, gr) in CAST.items():
        grade[cast[role]] = gr
        roles[cast[role]] = role
    for role in ("RM", "SM1", "SM2", "SM3"):
        roles[cast[role]] = role

    # book levels inside the grade's band (most keep their grade)
    lo = np.array([100_000, 600_000, 3_600_000, 7_200_000, 14_400_000.0])
    hi = np.array([420_000, 2_550_000, 5_100_000, 10_200_000, 14_400_000.0])
    B = np.exp(np.log(lo[grade]) + rng.random(N0) * (np.log(hi[grade]) - np.log(lo[grade])))
    chief = grade == CHIEF
    B[chief] = 14_400_000 * np.exp(np.abs(rng.normal(0, 0.55, N0)))[chief]
    fixed_B = {
        "RM": 32_000_000,
        "CHIEF_SI": 28_000_000,
        "PROMOTE": 5_400_000,
        "DEMOTE": 6_600_000,
        "LOW_ACT": 900_000,
        "OVERRIDE": 2_400_000,
        "CAP_FUND": 8_800_000,
        "IPO_HEAVY": 4_200_000,
    }
    for role, v in fixed_B.items():
        B[cast[role]] = v

    # seniority (years) by grade; hire dates
    yrs_lo = np.array([0.6, 1.0, 2.0, 4.0, 6.0])
    yrs_hi = np.array([1.4, 5.0, 8.0, 12.0, 15.0])
    yrs = yrs_lo[grade] + rng.random(N0) * (yrs_hi[grade] - yrs_lo[grade])
    yrs = np.where(pos == "marketer", yrs, np.maximum(yrs, 5.0) + rng.random(N0) * 3)
    hire = _shift_workday(f_first - (yrs * 365.25).astype(np.int64).astype("timedelta64[D]"))
    probation = np.zeros(N0, dtype=bool)

    def at(mon: Month, day: int) -> np.datetime64:
        return _d64(date(mon.year, mon.month, day))

    fixed_hire = {
        "TRAINEE_A": at(first.add(-2), 15),
        "TRAINEE_B": at(first.add(-2), 16),
        "TRAINEE_C": at(first, 15),
        "CAP_FUND": np.datetime64("2013-07-01"),
        "NO_QUAL": np.datetime64("2019-06-03"),
        "QUAL_LATE": np.datetime64("2023-09-04"),
        "REFERRED": np.datetime64("2023-05-08"),
        "AGENT": np.datetime64("2022-03-14"),
    }
    for role, d in fixed_hire.items():
        hire[cast[role]] = d
    for role in ("TRAINEE_A", "TRAINEE_B", "TRAINEE_C"):
        probation[cast[role]] = True
    # random probation trainees outside region 0 (hired in the two months before or in the first month)
    gen = (region > 0) & (pos == "marketer")
    newbie = gen & (rng.random(N0) < 0.06)
    grade[newbie] = TRAINEE
    probation |= newbie
    off = rng.integers(-2, 1, N0)
    day = rng.integers(1, 29, N0)
    for i in np.flatnonzero(newbie):
        mon = first.add(int(off[i]))
        hire[i] = _shift_workday(at(mon, int(day[i])))
        if hire[i] > _d64(first.last_day):
            hire[i] = at(first, 1)
    B[probation] = np.nan

    # positions held since
    pos_since = np.full(N0, np.datetime64("NaT"), dtype="datetime64[D]")
    mgr = pos != "marketer"
    ps = hire + ((f_first - hire).astype(np.int64) * (0.3 + 0.5 * rng.random(N0))).astype("timedelta64[D]")
    ps = ps.astype("datetime64[M]").astype("datetime64[D]")
    pos_since[mgr] = ps[mgr]
    pos_since[cast["RM"]] = np.datetime64("2021-03-01")
    pos_since[cast["SM1"]] = np.datetime64("2020-06-01")
    pos_since[cast["SM2"]] = np.datetime64("2022-09-01")
    pos_since[cast["SM3"]] = _d64(first.add(-2).first_day)

    # people arrays (initial roster), then later hires
    P = dict(
        region=region,
        unit=np.array([r["unit"] for r in rows]),
        position=pos,
        sup=np.array([r["sup"] for r in rows]),
        project=np.array([r["project"] for r in rows], dtype=object),
        station=np.array([r["station"] for r in rows], dtype=object),
        grade=grade,
        B=B,
        hire=hire,
        probation=probation,
        role=roles,
        pos_since=pos_since,
    )

    hires: list[dict] = []
    # the cast's hire inside the second month (hired on the 16th: probation month 1 is the month after)
    if len(months) > 1:
        hires.append(dict(role="TRAINEE_D", unit=P["unit"][cast["SM3"]], hire=at(months[1], 16)))
    # random hires outside region 0
    gen_units = [i for i, u_ in enumerate(units) if u_["region"] > 0]
    for k, mon in enumerate(months[1:], start=1):
        cnt = int(np.floor(n * 0.005)) if gen_units else 0
        for _ in range(cnt):
            uu = gen_units[int(rng.integers(len(gen_units)))]
            hires.append(dict(role="", unit=uu, hire=_shift_workday(at(mon, int(rng.integers(1, 29))))))
    for h in hires:
        uu = units[h["unit"]]
        idx = len(P["region"])
        for key, val in (
            ("region", uu["region"]),
            ("unit", h["unit"]),
            ("position", "marketer"),
            ("sup", uu["head"]),
            ("project", P["project"][uu["head"]]),
            ("station", uu["station"]),
            ("grade", TRAINEE),
            ("B", np.nan),
            ("hire", h["hire"]),
            ("probation", True),
            ("role", h["role"]),
            ("pos_since", np.datetime64("NaT")),
        ):
            P[key] = np.append(P[key], np.array([val], dtype=P[key].dtype))
        if h["role"]:
            cast[h["role"]] = idx
    N = len(P["region"])
    P["hire"] = P["hire"].astype("datetime64[D]")
    P["pos_since"] = P["pos_since"].astype("datetime64[D]")

    # leavers: the cast's (approved) in the second month; random ones outside region 0
    leave = np.full(N, np.datetime64("NaT"), dtype="datetime64[D]")
    leave_ok = np.ones(N, dtype=bool)
    if len(months) > 1:
        leave[cast["LEAVER"]] = at(months[1], 19)
    cand = np.flatnonzero((P["region"] > 0) & (P["position"] == "marketer") & ~P["probation"])
    for mon in months:
        cnt = int(np.floor(n * 0.005))
        if cnt and len(cand):
            pick = rng.choice(cand, min(cnt, len(cand)), replace=False)
            cand = np.setdiff1d(cand, pick)
            leave[pick] = _shift_workday(np.array([at(mon, int(d)) for d in rng.integers(1, 28, len(pick))]))
            leave[pick] = np.minimum(leave[pick], _d64(mon.last_day))
            leave_ok[pick] = rng.random(len(pick)) < 0.85
    P["leave"], P["leave_ok"] = leave, leave_ok

    # qualification (从业资格): most soon after hire, some before; none for trainees in probation
    q = P["hire"] + (rng.integers(-400, 240, N)).astype("timedelta64[D]")
    qual = _shift_workday(q)
    qual[P["probation"]] = np.datetime64("NaT")
    none = (rng.random(N) < 0.03) & (P["region"] > 0)
    qual[none] = np.datetime64("NaT")
    qual[cast["NO_QUAL"]] = np.datetime64("NaT")
    qual[cast["QUAL_LATE"]] = (
        _d64(months[1].first_day + timedelta(days=19)) if len(months) > 1 else np.datetime64("NaT")
    )
    P["qual"] = qual
    contract = np.array(["employee"] * N, dtype=object)
    contract[(P["region"] > 0) & (P["position"] == "marketer") & (rng.random(N) < 0.03)] = "agent"
    contract[cast["AGENT"]] = "agent"
    P["contract"] = contract
    si = np.where(
        rng.random(N) < 0.2, rng.choice([4500.0, 5000.0, 5500.0, 6000.0, 7500.0, 8000.0], N), np.nan
    )
    si[cast["CHIEF_SI"]] = 7500.0
    si[cast["RM"]] = 8000.0
    P["si_base"] = si

    # special additional deductions (专项附加扣除), a steady monthly amount for some employees
    child = rng.random(N) < 0.35
    elder = rng.random(N) < 0.35
    loan = rng.random(N) < 0.2
    rent = ~loan & (rng.random(N) < 0.15)
    ded = (
        child * 2000.0 * rng.integers(1, 3, N)
        + elder * rng.choice([1500.0, 3000.0], N)
        + loan * 1000.0
        + rent * 1500.0
    )
    ded[P["contract"] == "agent"] = 0.0
    P["ded"] = ded

    # activity: new-account rate, new-account size, net revenue per unit of book
    g = P["grade"]
    P["lam"] = EA_T[g] * rng.uniform(0.95, 1.35, N)
    P["nsize"] = NMV_T[g] / EA_T[g] / 1.25 * rng.uniform(0.8, 1.25, N)
    P["nr_rate"] = NR_PER_ASSET[g] * np.exp(rng.normal(0, 0.2, N))
    # the cast works steadily (so only the designed cases change grade); some roles are set apart
    cast_i = np.array(sorted(cast.values()))
    P["lam"][cast_i] = EA_T[g[cast_i]] * 1.2
    P["nsize"][cast_i] = NMV_T[g[cast_i]] / EA_T[g[cast_i]] / 1.1
    for role, lam, size in (
        ("TRAINEE_A", 3.5, 45_000),
        ("TRAINEE_B", 3.5, 45_000),
        ("TRAINEE_C", 1.6, 20_000),
        ("TRAINEE_D", 2.5, 50_000),
        ("LOW_ACT", 0.35, 20_000),
        ("MALICIOUS", 3.0, 70_000),
    ):
        if role in cast:
            P["lam"][cast[role]] = lam
            P["nsize"][cast[role]] = size
    P["nr_rate"][cast["LOW_ACT"]] = 0.0012
    # trainees in probation: small books, so the net revenue per asset is of the trainee kind
    P["nr_rate"][P["probation"]] = NR_PER_ASSET[TRAINEE] * np.exp(
        rng.normal(0, 0.2, int(P["probation"].sum()))
    )

    # names, ids, bank accounts; 工号 in order of hire date
    P["name"] = np.array(_names(rng, N), dtype=object)
    order = np.lexsort((np.arange(N), P["hire"]))
    mid = np.empty(N, dtype=object)
    mid[order] = [f"8{k + 1:05d}" for k in range(N)]
    P["mid"] = mid
    age = rng.integers(22, 34, N) * 365 + rng.integers(0, 365, N)
    birth = P["hire"] - age.astype("timedelta64[D]")
    sex = rng.integers(0, 2, N)
    seq = rng.integers(0, 500, N) * 2 + sex
    bstr = np.datetime_as_string(birth, unit="D")
    reg = rng.choice(_ID_REGIONS, N)
    id17 = [f"{reg[i]}{bstr[i].replace('-', '')}{seq[i]:03d}" for i in range(N)]
    P["idn"] = np.array([s + c for s, c in zip(id17, _id_check(_digits(id17)))], dtype=object)
    bins = rng.choice(_BANK_BINS, N)
    body = rng.integers(0, 10, (N, 12))
    pay18 = [bins[i] + "".join(map(str, body[i])) for i in range(N)]
    chk = _luhn_digit(_digits(pay18))
    P["bank"] = np.array([p + str(c) for p, c in zip(pay18, chk)], dtype=object)

    return P, cast, units


# --------------------------------------------------------------------------------------------------
# The generator


@dataclass
class Summary:
    """What was generated (also the material of the sample README)."""

    months: list[str]
    cast: dict[str, str]  # role -> manager_id
    names: dict[str, str]  # manager_id -> name
    special_clients: dict[str, str]  # key -> client_id
    rows: dict[str, dict[str, int]]  # month -> file -> rows
    roster: dict[str, dict[str, int]]  # month -> position -> count


def generate(
    out_dir: Path | str,
    months: list[str] | list[Month],
    *,
    seed: int = 2024,
    managers: int = 34,
    clients: int = 1500,
    trades_per_month: int = 30_000,
    thousands: bool = True,
    readme: bool = False,
) -> Summary:
    """Write ``out_dir/<YYYY-MM>/`` for each month; return what was generated.

    ``managers``: people on the first month's roster (region 0 holds the designed cast, so at least 34);
    ``clients``: clients at the end of the first month (new accounts open every month after);
    ``trades_per_month``: random trades per month (a handful of designed trades come on top);
    ``thousands``: write the trades' turnover with thousands separators ("12,345.60").
    """
    ms = [m if isinstance(m, Month) else Month.parse(m) for m in months]
    if not ms:
        raise ValueError("no months given")
    for a, b in zip(ms, ms[1:]):
        if b != a.next:
            raise ValueError(f"months must be consecutive: {a} then {b}")
    out_dir = Path(out_dir)
    S = len(ms)
    allm = [ms[0].add(k - HIST) for k in range(HIST)] + ms
    T = len(allm)
    wc = WorkCalendar()
    cals = [_month_cal(m, wc) for m in allm]
    P, cast, _units = _build_people(managers, ms, seed)
    N = len(P["mid"])

    # ---- book paths (per manager, per month): market walk, own drift, designed paths
    rp = _rng(seed, "paths")
    mkt = np.exp(np.concatenate([[0.0], np.cumsum(rp.normal(0.003, 0.025, T - 1))]))
    growth = rp.normal(0.004, 0.005, N)
    L = (
        P["B"][:, None]
        * mkt[None, :]
        * np.exp(growth[:, None] * np.arange(T)[None, :])
        * np.exp(rp.normal(0, 0.015, (N, T)))
    )
    designed = {
        "PROMOTE": [1.00, 1.08, 1.17, 1.25, 1.29, 1.33],
        "DEMOTE": [1.00, 0.92, 0.78, 0.76, 0.75, 0.76],
        "OVERRIDE": [1.00, 1.00, 1.02, 1.03, 4.60, 4.70],
    }
    for role, f in designed.items():
        f = (f + [f[-1]] * T)[:T]
        L[cast[role]] = P["B"][cast[role]] * np.array(f)

    # ---- clients: new accounts per manager and month, then the older book
    rc = _rng(seed, "clients")
    emp_lo = np.maximum(P["hire"][:, None], np.array([c.first for c in cals])[None, :])
    leave_fill = np.where(np.isnat(P["leave"]), np.datetime64("2999-12-31"), P["leave"])
    emp_hi = np.minimum(leave_fill[:, None], np.array([c.last for c in cals])[None, :])
    own, tm, opened = [], [], []
    cast_i = np.array(sorted(cast.values()))
    for t, c in enumerate(cals):
        wd = c.workdays
        a = np.searchsorted(wd, emp_lo[:, t], "left")
        b = np.searchsorted(wd, emp_hi[:, t], "right")
        frac = np.clip((b - a) / max(len(wd), 1), 0, 1)
        lam = P["lam"] * frac
        if S > 1 and t == HIST + 1:
            lam[cast["LEAVER"]] = 0.0  # busy handing over, no new accounts in the leave month
        if S > 2 and t == HIST + 2:
            lam[cast["IPO_HEAVY"]] = 0.0  # its new accounts of that month are the designed ones
        cnt = np.round(lam * 0.5).astype(np.int64) + rc.poisson(lam * 0.5)  # steadier than Poisson
        cnt[cast_i] = np.floor(lam[cast_i] + 0.5).astype(np.int64)  # the cast: steady by design
        o = np.repeat(np.arange(N), cnt)
        own.append(o)
        tm.append(np.full(len(o), t))
        opened.append(_pick_days(rc, wd, emp_lo[o, t], emp_hi[o, t]))
    new_owner = np.concatenate(own)
    new_t = np.concatenate(tm)
    new_open = np.concatenate(opened)
    nn = len(new_owner)
    new_inst = rc.random(nn) < 0.04
    noneff = rc.random(nn) < 0.15
    noneff[np.isin(new_owner, [cast[r] for r in ("TRAINEE_A", "TRAINEE_B") if r in cast])] = False
    size = P["nsize"][new_owner] * np.exp(rc.normal(0, 0.6, nn)) * np.where(new_inst, 3.0, 1.0)
    tiny = np.where(rc.random(nn) < 0.3, 0.0, np.round(rc.uniform(50, 4000, nn), 2))
    new_end = np.where(noneff, tiny, np.maximum(size, 5200.0))

    # designed special clients (appended; ids assigned with everyone's in opening order)
    specials: list[dict] = []

    def special(key, role, t, day, end, inst=False, trade_from=None, status=None):
        specials.append(
            dict(
                key=key,
                owner=cast[role],
                t=t,
                day=day,
                end=end,
                inst=inst,
                trade_from=trade_from,
                status=status or {},
            )
        )

    F = HIST
    special("THRESH_EXACT", "HALF_ABSENT", F, 3, 5000.00)
    special("THRESH_ABOVE", "SICK_NOPROOF", F, 5, 5000.01)
    special("COMBINED", "INJURY", F, 7, 1200.00)
    special("INV1", "INV1", F, 9, 86_000.00, trade_from=F + 1, status={0: 1})
    if S > 1:
        special("INV2", "INV2", F + 1, 6, 120_000.00, trade_from=F + 2, status={1: 1})
        special("MALICIOUS", "MALICIOUS", F + 1, 8, 5200.00, status={1: 1, **{s: 2 for s in range(2, S)}})
        special("BIG_INST", "OVERRIDE", F + 1, 4, 8_500_000.00, inst=True, trade_from=F + 1)
    if S > 2:
        for k, v in enumerate((410_000.00, 365_000.00, 388_000.00, 402_500.00)):
            special(f"IPO_{k + 1}", "IPO_HEAVY", F + 2, 3 + 2 * k, v)
    sp_owner = np.array([s["owner"] for s in specials], dtype=np.int64)
    sp_t = np.array([s["t"] for s in specials], dtype=np.int64)
    sp_open = np.array(
        [cals[s["t"]].workdays[min(s["day"], len(cals[s["t"]].workdays) - 1)] for s in specials],
        dtype="datetime64[D]",
    )
    sp_end = np.array([s["end"] for s in specials])
    sp_inst = np.array([s["inst"] for s in specials], dtype=bool)

    # the older book: clients of everyone employed before the horizon, skewed by book size
    n_recent = int((new_t <= F).sum()) + int((sp_t <= F).sum())
    n_old = clients - n_recent
    need = n_recent + 10 * int(np.count_nonzero(~np.isnan(P["B"])))
    if clients < need:
        raise ValueError(
            f"clients={clients} is too few for {managers} managers: the new accounts of the last "
            f"{HIST + 1} months alone are {n_recent}; use at least {need}"
        )
    start = cals[0].first
    w_old = np.where(np.isnan(P["B"]) | (P["hire"] >= start), 0.0, np.nan_to_num(P["B"]) ** 0.6)
    old_owner = rc.choice(N, n_old, p=w_old / w_old.sum())
    age_days = rc.exponential(4.0 * 365, n_old).astype(np.int64) % (19 * 365) + 1
    old_open = np.busday_offset(start - age_days.astype("timedelta64[D]"), 0, roll="backward")
    old_inst = rc.random(n_old) < 0.03
    dormant = rc.random(n_old) < 0.15
    base = np.exp(rc.normal(0, 1.4, n_old)) * np.where(old_inst, 5.0, 1.0)
    base = np.where(dormant, 0.0, base)
    tot = np.bincount(old_owner, base, N)
    base = np.where(
        dormant,
        np.round(rc.uniform(0, 2000, n_old), 2),
        base / np.where(tot > 0, tot, 1)[old_owner] * np.nan_to_num(L[:, 0])[old_owner],
    )
    no_row = dormant & (rc.random(n_old) < 0.2)

    # all clients, in opening order -> ids
    c_owner = np.concatenate([old_owner, new_owner, sp_owner])
    c_open = np.concatenate([old_open, new_open, sp_open]).astype("datetime64[D]")
    c_t = np.concatenate([np.full(n_old, -1), new_t, sp_t])
    c_inst = np.concatenate([old_inst, new_inst, sp_inst])
    c_base = np.concatenate([base, new_end, sp_end])
    c_dormant = np.concatenate([dormant, noneff, np.zeros(len(specials), bool)])
    c_norow = np.concatenate([no_row, np.zeros(nn + len(specials), bool)])
    c_special = np.concatenate([np.full(n_old + nn, -1), np.arange(len(specials))])
    tiebreak = rc.random(len(c_owner))
    order = np.lexsort((tiebreak, c_open))
    c_owner, c_open, c_t, c_inst, c_base, c_dormant, c_norow, c_special = (
        x[order] for x in (c_owner, c_open, c_t, c_inst, c_base, c_dormant, c_norow, c_special)
    )
    NC = len(c_owner)
    c_id = 310_000_000_000 + np.cumsum(rc.integers(1, 6, NC))
    sp_index = {specials[k]["key"]: int(i) for i, k in enumerate(c_special) if k >= 0}
    # per client: trading propensity, commission rate, stock share of assets, trade_from month
    c_prop = np.exp(rc.normal(0, 1.0, NC))
    size_rank = np.clip(np.log10(np.maximum(c_base, 1.0)), 3, 7)  # 1k .. 10M
    rate_idx = np.clip(np.round(5.4 - (size_rank - 3) * 1.25 + rc.normal(0, 0.9, NC)), 0, 5).astype(np.int64)
    eq_share = np.where(c_inst, rc.beta(1.5, 3.0, NC), rc.beta(2.2, 2.0, NC))
    trade_from = np.where(c_dormant, 10**6, c_t.clip(min=-1))
    for k, s in enumerate(specials):
        i = sp_index[s["key"]]
        trade_from[i] = 10**6 if s["trade_from"] is None else s["trade_from"]

    # ---- owners and statuses in the sample months
    owner = np.tile(c_owner, (S, 1))
    status = np.zeros((S, NC), dtype=np.int8)
    for k, s in enumerate(specials):
        for si_, st in s["status"].items():
            if si_ < S:
                status[si_, sp_index[s["key"]]] = st
    rr = _rng(seed, "reassign")
    cast_idx = np.array(sorted(set(cast.values())))
    rosters: list[np.ndarray] = []
    for s in range(S):
        c = cals[F + s]
        on = (P["hire"] <= c.last) & (np.isnat(P["leave"]) | (P["leave"] >= c.first))
        rosters.append(on)
        if s == 0:
            continue
        owner[s] = owner[s - 1]
        # a leaver's clients go to colleagues of the same unit the month after the leave month
        mv = ~on[owner[s]]
        if mv.any():
            colleagues = on & (P["position"] == "marketer") & (np.isnat(P["leave"]) | (P["leave"] > c.last))
            for p in np.unique(owner[s][mv]):
                pool = np.flatnonzero(colleagues & (P["unit"] == P["unit"][p]))
                if not len(pool):
                    pool = np.array([P["sup"][p]])
                sel = np.flatnonzero(owner[s] == p)
                owner[s][sel] = pool[rr.integers(0, len(pool), len(sel))]
        # a few transfers inside a unit (client asked for another manager); not among the cast
        exists = c_open <= c.last
        k = int(np.floor(exists.sum() * 0.001))
        steady = on & (P["position"] == "marketer") & np.isnat(P["leave"])
        steady[cast_idx] = False
        elig = np.flatnonzero(exists & (c_t < F) & (c_special < 0) & steady[owner[s]] & ~c_dormant)
        if k and len(elig):
            pick = np.sort(rr.choice(elig, min(k, len(elig)), replace=False))
            for i in pick:
                pool = np.flatnonzero(
                    steady & (P["unit"] == P["unit"][owner[s][i]]) & (np.arange(N) != owner[s][i])
                )
                if len(pool):
                    owner[s][i] = pool[rr.integers(0, len(pool))]
    # random investigations outside region 0 (some cleared, some confirmed)
    inv_events: list[tuple[int, int, int]] = []  # (sample month of confirmation, client, severity code)
    for s in range(S):
        newc = np.flatnonzero(
            (c_t == F + s)
            & (c_special < 0)
            & ~c_dormant
            & (P["region"][c_owner] > 0)
            & np.isnat(P["leave"][c_owner])
        )
        k = int(np.floor(len(newc) * 0.002))
        if k:
            pick = np.sort(rr.choice(newc, k, replace=False))
            status[s, pick] = 1
            conf = rr.random(k) < 0.2
            for i, cf in zip(pick, conf):
                if s + 1 < S:
                    status[s + 1 :, i] = 2 if cf else 0
                    if cf:
                        inv_events.append((s + 1, int(i), 1 if rr.random() < 0.1 else 0))

    # ---- assets by month (history months give only per-manager sums)
    ra = _rng(seed, "assets")
    hist_avg = np.zeros((N, HIST))
    hist_ea = np.zeros((N, HIST))
    hist_nmv = np.zeros((N, HIST))
    month_assets: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    level_by_t: list[np.ndarray] = []
    for t, c in enumerate(cals):
        exists = c_open <= c.last
        new = c_t == t
        old = exists & ~new
        eps = np.exp(ra.normal(0, 0.08, NC))
        raw = c_base * eps
        days_in = (c.last - c.first).astype(np.int64) + 1
        rem = ((c.last - c_open).astype(np.int64) + 1) / days_in
        new_avg = c_base * np.clip(rem, 0, 1) * ra.uniform(0.55, 1.0, NC)
        # old clients absorb the difference between the manager's path and the new accounts' money
        active_old = old & ~c_dormant
        old_sum = np.bincount(c_owner[active_old], raw[active_old], N)
        new_sum = np.bincount(c_owner[new], new_avg[new], N)
        k = np.where(
            np.isnan(L[:, t]),
            1.0,
            np.clip((np.nan_to_num(L[:, t]) - new_sum) / np.where(old_sum > 0, old_sum, 1.0), 0.4, 2.5),
        )
        level = np.where(active_old, raw * k[c_owner], np.where(new, c_base, raw))
        level = np.where(exists, level, 0.0)
        avg = np.where(new, new_avg, level)
        end = np.where(new, c_base, level * np.exp(ra.normal(0, 0.04, NC)))
        level_by_t.append(level)
        if t < F:
            hist_avg[:, t] = np.bincount(c_owner[exists], avg[exists], N)
            eff = new & (end > 5000) & ~c_dormant
            hist_ea[:, t] = np.bincount(c_owner[eff], np.where(c_inst[eff], 3.0, 1.0), N)
            hist_nmv[:, t] = np.bincount(c_owner[eff], end[eff], N)
        else:
            eq = np.clip(eq_share * np.exp(ra.normal(0, 0.1, NC)), 0, 1) * end
            month_assets.append((exists & ~c_norow, _money(avg), _money(end), _money(eq)))

    # designed asset figures
    s_ = sp_index
    for s in range(S):
        ex, avg, end, eq = month_assets[s]
        if "MALICIOUS" in s_ and s >= 2:  # the money left once the account had served its purpose
            i = s_["MALICIOUS"]
            avg[i], end[i], eq[i] = 1830.55, 150.00, 0.0
        for key in ("THRESH_EXACT", "THRESH_ABOVE", "COMBINED"):
            i = s_[key]
            if s == 0:
                eq[i] = 0.0
                avg[i] = {"THRESH_EXACT": 3500.00, "THRESH_ABOVE": 4100.00, "COMBINED": 800.00}[key]
        eq[:] = np.minimum(eq, end)

    # ---- write the months
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = Summary(
        [str(m) for m in ms],
        {r: P["mid"][i] for r, i in sorted(cast.items())},
        {P["mid"][i]: P["name"][i] for i in range(N)},
        {k: str(c_id[i]) for k, i in sorted(sp_index.items())},
        {},
        {},
    )
    hist_score = _history_scores(seed, P, hist_avg, hist_ea, hist_nmv)
    for s in range(S):
        m = ms[s]
        d = out_dir / str(m)
        d.mkdir(parents=True, exist_ok=True)
        for name in GENERATED_FILES:  # a re-run replaces what an earlier run wrote
            (d / name).unlink(missing_ok=True)
        rows: dict[str, int] = {}
        rows["roster"] = _write_roster(d, P, rosters[s], cals[F + s], s)
        rows["clients"] = _write_clients(d, c_id, owner[s], P["mid"], c_open, c_inst, status[s], cals[F + s])
        ex, avg, end, eq = month_assets[s]
        rows["assets"] = _write_assets(d, c_id, ex, avg, end, eq)
        tr = _trades(
            seed,
            s,
            F + s,
            cals[F + s],
            c_open,
            owner[s],
            level_by_t[F + s],
            c_prop,
            rate_idx,
            trade_from,
            P,
            trades_per_month,
            sp_index,
        )
        rows["trades"] = _write_trades(d, c_id, tr, thousands)
        rows["fund_sales"] = _write_fund_sales(
            d, seed, cals[F + s], c_id, c_open, c_dormant, level_by_t[F + s], (c_open <= cals[F + s].last)
        )
        rows.update(
            _write_small(d, seed, s, ms, cals, F, P, rosters[s], cast, c_id, owner[s], sp_index, inv_events)
        )
        if s == 0:
            rows["history"] = _write_history(d, P, cals, hist_avg, hist_ea, hist_nmv, hist_score)
            rows["opening"] = _write_opening(
                d, seed, P, rosters[0], cals, F, hist_avg, hist_ea, hist_score, cast
            )
        summary.rows[str(m)] = rows
        on = rosters[s]
        summary.roster[str(m)] = {
            p: int(((P["position"] == p) & on).sum())
            for p in ("regional_manager", "station_manager", "marketer")
        }
    if readme:
        (out_dir / "README.md").write_text(
            _readme(summary, P, cast, managers, clients, trades_per_month, seed, ms), encoding="utf-8"
        )
    return summary


# --------------------------------------------------------------------------------------------------
# History, grades and scores before the first month


def _history_scores(seed: int, P: dict, avg: np.ndarray, ea: np.ndarray, nmv: np.ndarray) -> np.ndarray:
    """score_raw per history month (M6), with a net revenue drawn around the manager's level."""
    rng = _rng(seed, "history-nr")
    g = P["grade"]
    nr = P["nr_rate"][:, None] * avg * np.exp(rng.normal(0, 0.12, avg.shape))
    trainee = (g == TRAINEE)[:, None]
    s_t = 0.5 * ea / EA_T[g][:, None] + 0.5 * nmv / NMV_T[g][:, None]
    s_o = 0.4 * ea / EA_T[g][:, None] + 0.4 * nmv / NMV_T[g][:, None] + 0.2 * nr / NR_T[g][:, None]
    score = np.round(np.where(trainee, s_t, s_o), 4)
    P["hist_nr"] = nr
    return score


def _employed(P: dict, c: _MonthCal) -> np.ndarray:
    return (P["hire"] <= c.last) & (np.isnat(P["leave"]) | (P["leave"] >= c.first))


def _write_history(d: Path, P: dict, cals, avg, ea, nmv, score) -> int:
    rows = []
    for t in range(HIST):
        on = np.flatnonzero(_employed(P, cals[t]))
        for i in on:
            rows.append(
                (
                    str(cals[t].month),
                    P["mid"][i],
                    GRADES[P["grade"][i]],
                    avg[i, t],
                    int(ea[i, t]),
                    nmv[i, t],
                    score[i, t],
                )
            )
    df = pd.DataFrame(rows, columns=["month", "manager_id", "grade", "avg_assets", "ea", "nmv", "score_raw"])
    df = df.sort_values(["month", "manager_id"], kind="stable")
    df["avg_assets"] = _fmt(df["avg_assets"])
    df["nmv"] = _fmt(df["nmv"])
    df["score_raw"] = _fmt(df["score_raw"], 4)
    _write_csv(df, d / "history.csv", float_format=None)
    return len(df)


def _gross_estimate(P: dict, t: int, ea, score, cals) -> np.ndarray:
    """A rough gross pay of a history month (for opening tax and risk-fund figures)."""
    g = P["grade"]
    c = cals[t]
    wd = len(c.workdays)
    lo = np.maximum(P["hire"], c.first)
    hi = np.minimum(np.where(np.isnat(P["leave"]), c.last, P["leave"]), c.last)
    emp = np.array([np.count_nonzero((c.workdays >= a) & (c.workdays <= b)) for a, b in zip(lo, hi)]) / max(
        wd, 1
    )
    emp = np.clip(emp, 0, 1)
    sc = np.clip(score[:, t], 0.5, 1.2)
    gross = (FIXED[g] + TRANSPORT[g]) * emp + P["hist_nr"][:, t] * BASE_RATE[g] * sc + ea[:, t] * 50
    sm = P["position"] == "station_manager"
    rm = P["position"] == "regional_manager"
    team_nr = np.bincount(
        np.where(P["sup"] >= 0, P["sup"], 0), np.where(P["sup"] >= 0, P["hist_nr"][:, t], 0), len(g)
    )
    gross += np.where(sm, 300 * emp + 0.05 * team_nr, 0) + np.where(rm, 900 * emp + 0.05 * team_nr, 0)
    return np.where(_employed(P, c), gross, 0.0)


def _write_opening(d: Path, seed: int, P: dict, on: np.ndarray, cals, F: int, avg, ea, score, cast) -> int:
    rng = _rng(seed, "opening")
    N = len(on)
    first = cals[F].month
    gross = np.stack([_gross_estimate(P, t, ea, score, cals) for t in range(F)], axis=1)
    g = P["grade"]
    si = np.where(np.isnan(P["si_base"]), FIXED[g], P["si_base"])
    big = avg[:, F - 1] * 0.5 > 6_000_000
    qualified = ~np.isnat(P["qual"]) & (P["qual"] <= cals[F - 1].last)
    si_m = np.where(big & qualified, np.round(si * 0.175, 2), 0.0)
    # year to date: the months of the first month's year before it
    ytd_t = [t for t in range(F) if cals[t].month.year == first.year]
    base = np.zeros(N)
    months_emp = np.zeros(N, dtype=np.int64)
    for t in ytd_t:
        emp = _employed(P, cals[t])
        agent = P["contract"] == "agent"
        b = np.where(agent, gross[:, t] * 0.6 - si_m - 5000, gross[:, t] - si_m - P["ded"] - 5000)
        base += np.where(emp, b, 0.0)
        months_emp += emp
    base = np.round(base, 2)
    tax = np.array([_cum_tax(b) for b in base])
    # risk fund: 5% of gross over the months of service, below the cap (one long-server at the cap)
    served = np.maximum(0, (cals[F].first - P["hire"]).astype(np.int64) / 30.44)
    avg_gross = gross[:, F - 1]
    cap = np.array([RISK_CAP[p] for p in P["position"]])
    bal = 0.05 * avg_gross * served * rng.uniform(0.55, 0.95, N)
    bal = np.where(bal >= cap - 100, cap - rng.uniform(150, 2500, N), bal)
    bal = np.round(np.maximum(bal, 0), 2)
    bal[cast["CAP_FUND"]] = cap[cast["CAP_FUND"]]
    carry = np.zeros(N)
    carry[cast["CHIEF_SI"]] = 4320.00
    carry[cast["PROMOTE"]] = 1850.40
    pl = np.where(rng.random(N) < 0.15, rng.choice([0.5, 1.0, 1.5, 2.0, 3.0], N), 0.0)
    pl[cast["PL_CAP"]] = 18.0
    pl = np.where(months_emp > 0, pl, 0.0)
    ab = np.zeros(N)
    ab[cast["ABSENT_YTD"]] = 3.5
    disc = np.zeros(N, dtype=np.int64)
    disc[cast["NO_QUAL"]] = 1
    idx = np.flatnonzero(on)
    df = pd.DataFrame(
        {
            "manager_id": P["mid"][idx],
            "risk_fund_balance": _fmt(bal[idx]),
            "excess_carry": _fmt(carry[idx]),
            "ytd_taxable": _fmt(base[idx]),
            "ytd_tax": _fmt(tax[idx]),
            "ytd_months": months_emp[idx],
            "personal_leave_days_ytd": _fmt(pl[idx], 1),
            "absent_days_ytd": _fmt(ab[idx], 1),
            "discretionary_count": disc[idx],
        }
    )
    df = df.sort_values("manager_id", kind="stable")
    _write_csv(df, d / "opening.csv", float_format=None)
    return len(df)


# --------------------------------------------------------------------------------------------------
# Month files


def _write_roster(d: Path, P: dict, on: np.ndarray, c: _MonthCal, s: int) -> int:
    idx = np.flatnonzero(on)
    idx = idx[np.argsort(P["mid"][idx].astype(str), kind="stable")]
    sup = P["sup"][idx]
    qual = P["qual"][idx].copy()
    qual[qual > c.last] = np.datetime64("NaT")  # a qualification obtained later is not known yet
    leave = P["leave"][idx]
    grade = np.array([GRADES[g] for g in P["grade"][idx]], dtype=object)
    if s > 0:  # after the first month the ledger keeps grades; HR fills 职级 only for new hires
        grade = np.where(P["hire"][idx] >= c.first, grade, "")
    df = pd.DataFrame(
        {
            "工号": P["mid"][idx],
            "姓名": P["name"][idx],
            "岗位": [POSITION_ZH[p] for p in P["position"][idx]],
            "任职日期": _dates_text(P["pos_since"][idx]),
            "上级工号": np.where(sup >= 0, P["mid"][np.maximum(sup, 0)], ""),
            "项目部": P["project"][idx],
            "网点": P["station"][idx],
            "入职日期": _dates_text(P["hire"][idx]),
            "离职日期": _dates_text(leave),
            "离职已批准": np.where(np.isnat(leave), "", np.where(P["leave_ok"][idx], "是", "否")),
            "从业资格取得日期": _dates_text(qual),
            "合同类型": [CONTRACT_ZH[x] for x in P["contract"][idx]],
            "职级": grade,
            "档次": 1,
            "社保基数": _fmt(P["si_base"][idx]),
            "银行账号": P["bank"][idx],
            "身份证号": P["idn"][idx],
        }
    )
    _write_csv(df, d / "roster.csv", encoding="utf-8-sig", float_format=None)
    return len(df)


def _write_clients(d, c_id, owner, mid, c_open, c_inst, status, c: _MonthCal) -> int:
    ex = c_open <= c.last
    df = pd.DataFrame(
        {
            "客户号": c_id[ex],
            "归属工号": mid[owner[ex]],
            "开户日期": _cat_dates(c_open[ex], "/"),
            "客户类型": KIND_ZH[c_inst[ex].astype(np.int64)],
            "状态": STATUSES[status[ex]],
        }
    )
    _write_csv(df, d / "clients.csv", encoding="gbk")
    return len(df)


def _write_assets(d, c_id, ex, avg, end, eq) -> int:
    df = pd.DataFrame(
        {"客户号": c_id[ex], "月日均资产": avg[ex], "月末资产": end[ex], "股票及股票型基金市值": eq[ex]}
    )
    _write_csv(df, d / "assets.csv")
    return len(df)


@dataclass
class _Trades:
    day: np.ndarray  # datetime64[D]
    client: np.ndarray  # client index
    product: np.ndarray  # index into PRODUCTS
    side: np.ndarray  # 0 buy, 1 sell
    cents: np.ndarray  # turnover in cents
    rate: np.ndarray  # index into RATES


def _trades(
    seed, s, t, c: _MonthCal, c_open, owner, level, prop, rate_idx, trade_from, P, n_trades, sp
) -> _Trades:
    rng = _rng(seed, "trades", str(c.month))
    N = len(P["mid"])
    nd = len(c.trading)
    lo = np.where(c_open >= c.first, np.searchsorted(c.trading, c_open, "left"), 0)
    active = (
        (c_open <= c.last) & (trade_from <= t) & (lo < nd) & (level > 0) & (rng.random(len(level)) < 0.72)
    )
    w = np.where(active, np.sqrt(np.maximum(level, 0)) * prop, 0.0)
    cw = np.cumsum(w)
    if n_trades and cw[-1] > 0:
        cl = np.searchsorted(cw, rng.random(n_trades) * cw[-1], "right")
        cl = np.minimum(cl, len(w) - 1)
    else:
        cl = np.zeros(0, dtype=np.int64)
    n = len(cl)
    prod = rng.choice(len(PRODUCTS), n, p=PRODUCT_P)
    side = np.where(prod == 2, 0, (rng.random(n) < 0.48).astype(np.int64))
    dayi = lo[cl] + np.floor(rng.random(n) * (nd - lo[cl])).astype(np.int64)
    raw = level[cl] * 0.05 * np.exp(rng.normal(0, 0.8, n)) * PRODUCT_SIZE[prod]
    ridx = np.where(prod == 3, 0, rate_idx[cl])
    net = RATES[ridx] * (1 - REVENUE_TAX) - REG_FEE
    own = owner[cl]
    raw_nr = np.bincount(own, raw * net, N)
    # large accounts trade less per unit of assets: soften the book above 2M per client
    soft = np.where(level > 2e6, 2e6 + (level - 2e6) * 0.3, level)
    book = np.bincount(owner, soft, N)
    target = P["nr_rate"] * book * np.exp(rng.normal(0, 0.12, N))
    scale = np.clip(np.where(raw_nr > 0, target / np.where(raw_nr > 0, raw_nr, 1), 1.0), 0.05, 20.0)
    amount = raw * scale[own]
    # a client's monthly turnover stays within a multiple of its assets (12x for small accounts, ~4x at 8M)
    per_client = np.bincount(cl, amount, len(level))
    limit = level * np.clip(12 * (200_000 / np.maximum(level, 1.0)) ** 0.3, 2, 12)
    cap = np.where(per_client > limit, limit / np.where(per_client > 0, per_client, 1), 1.0)
    cents = np.maximum(np.round(amount * cap[cl] * 100), 20_000).astype(np.int64)
    tr = _Trades(c.trading[dayi], cl, prod, side, cents, ridx)

    # designed trades
    add: list[
        tuple[int, int, int, int, float, int]
    ] = []  # (client, day index >=, product, side, amount, rate)

    def inject(key, dmin, product, side_, amount, rate=3):
        if key in sp:
            i = sp[key]
            add.append((i, max(int(lo[i]), dmin), product, side_, amount, rate))

    if s == 0:
        inject("THRESH_EXACT", 0, 0, 0, 5000.00, 5)
        inject("COMBINED", 0, 0, 0, 3000.00, 5)
        inject("COMBINED", 2, 1, 0, 2500.00, 5)
        for k in range(3):
            inject("INV1", 2 * k, 0, 0, (14_200.00, 9_850.50, 16_320.00)[k], 4)
    if s == 1:
        inject("MALICIOUS", 0, 0, 0, 5100.00, 5)
    if s == 2:
        inject("MALICIOUS", 1, 0, 1, 5050.00, 5)
        for k in range(1, 5):
            key = f"IPO_{k}"
            if key in sp:
                v = level[sp[key]]
                inject(key, 0, 1, 0, round(v * 0.55, 2), 2)
                inject(key, 1, 2, 0, round(v * 0.25, 2), 2)
                inject(key, 2, 0, 0, round(v * 0.15, 2), 2)
                inject(key, 4, 0, 1, round(v * 0.05, 2), 2)
    if add:
        a = np.array(add, dtype=np.float64)
        dd = np.minimum(a[:, 1].astype(np.int64), nd - 1)
        tr = _Trades(
            np.concatenate([tr.day, c.trading[dd]]),
            np.concatenate([tr.client, a[:, 0].astype(np.int64)]),
            np.concatenate([tr.product, a[:, 2].astype(np.int64)]),
            np.concatenate([tr.side, a[:, 3].astype(np.int64)]),
            np.concatenate([tr.cents, np.round(a[:, 4] * 100).astype(np.int64)]),
            np.concatenate([tr.rate, a[:, 5].astype(np.int64)]),
        )
    o = np.argsort(tr.day, kind="stable")
    return _Trades(tr.day[o], tr.client[o], tr.product[o], tr.side[o], tr.cents[o], tr.rate[o])


_CHUNK = 1_000_000


def _write_trades(d: Path, c_id, tr: _Trades, thousands: bool) -> int:
    """Written in chunks of a million rows, so ten million trades need little memory."""
    n = len(tr.cents)
    with open(d / "trades.csv", "w", encoding="utf-8", newline="") as fh:
        for k, lo in enumerate(range(0, max(n, 1), _CHUNK)):
            sl = slice(lo, min(n, lo + _CHUNK))
            amount = _thousands(tr.cents[sl]) if thousands else tr.cents[sl] / 100.0
            df = pd.DataFrame(
                {
                    "成交日期": _cat_dates(tr.day[sl]),
                    "客户号": c_id[tr.client[sl]],
                    "品种": pd.Categorical.from_codes(tr.product[sl], categories=PRODUCT_ZH),
                    "买卖方向": pd.Categorical.from_codes(tr.side[sl], categories=SIDE_ZH),
                    "成交金额": amount,
                    "手续费率": pd.Categorical.from_codes(tr.rate[sl], categories=RATE_TEXT),
                }
            )
            df.to_csv(fh, index=False, header=(k == 0), lineterminator="\n", float_format="%.2f")
    return n


def _write_fund_sales(d: Path, seed, c: _MonthCal, c_id, c_open, dormant, level, exists) -> int:
    rng = _rng(seed, "fund_sales", str(c.month))
    elig = np.flatnonzero(exists & ~dormant & (level > 20_000))
    k = round(len(elig) * 0.03)
    pick = np.sort(rng.choice(elig, k, replace=False)) if k else np.zeros(0, dtype=np.int64)
    amount = np.maximum(
        1000.0, np.round(np.minimum(level[pick] * 0.3, 50_000 * np.exp(rng.normal(0, 0.9, k))), -3)
    )
    rate = rng.choice([0.0015, 0.003, 0.004, 0.006], k)
    day = _pick_days(rng, c.workdays, np.maximum(c_open[pick], c.first), np.full(k, c.last))
    ok = ~np.isnat(day)
    df = pd.DataFrame(
        {
            "客户号": c_id[pick][ok],
            "sale_date": _dates_text(day[ok]),
            "基金代码": np.array(FUND_CODES, dtype=object)[rng.integers(0, len(FUND_CODES), k)][ok],
            "金额": amount[ok],
            "佣金收入": _money(amount * rate)[ok],
        }
    ).sort_values(["sale_date", "客户号"], kind="stable")
    _write_csv(df, d / "fund_sales.csv")
    return len(df)


def _write_small(
    d: Path,
    seed: int,
    s: int,
    ms: list[Month],
    cals,
    F: int,
    P: dict,
    on: np.ndarray,
    cast: dict,
    c_id,
    owner,
    sp: dict,
    inv_events,
) -> dict[str, int]:
    """attendance.xlsx, management, penalties, referrals, deductions, grade_overrides of month s."""
    rng = _rng(seed, "small", str(ms[s]))
    c = cals[F + s]
    N = len(on)
    mid = P["mid"]
    idx = np.flatnonzero(on)
    lo = np.maximum(P["hire"], c.first)
    hi = np.minimum(np.where(np.isnat(P["leave"]), c.last, P["leave"]), c.last)
    rows: dict[str, int] = {}
    wd = c.workdays

    def wday(k: int) -> np.datetime64:
        return wd[min(k, len(wd) - 1)]

    # ---- attendance
    att: list[tuple] = []  # (priority, person, date, code, days, proof)
    designed_att = {
        cast[r] for r in ("PL_CAP", "ABSENT_YTD", "SICK4", "SICK_NOPROOF", "HALF_ABSENT", "INJURY")
    }
    for code, lam, half_p in (
        ("late", 0.35, 0),
        ("early_leave", 0.12, 0),
        ("personal_leave", 0.08, 0.3),
        ("sick_leave", 0.06, 0.0),
    ):
        cnt = rng.poisson(lam, N) * on
        if code in ("personal_leave", "sick_leave"):
            cnt[list(designed_att)] = 0
        p = np.repeat(np.arange(N), cnt)
        dd = _pick_days(rng, wd, lo[p], hi[p])
        half = rng.random(len(p)) < half_p
        proof = rng.random(len(p)) < 0.7
        for i, day_, h, pr in zip(p, dd, half, proof):
            if not np.isnat(day_):
                att.append((1, i, day_, code, 0.5 if h else 1.0, code == "sick_leave" and pr))
    for h in c.holidays:  # promotion duty on public holidays
        duty = np.flatnonzero(on & (rng.random(N) < 0.2) & (P["hire"] <= h) & (hi >= h))
        for i in duty:
            att.append((1, i, h, "promo_duty", 1.0, False))
    if s == 0:
        for k in (3, 4, 5):
            att.append((0, cast["PL_CAP"], wday(k + 6), "personal_leave", 1.0, False))
        att.append((0, cast["SICK_NOPROOF"], wday(10), "sick_leave", 1.0, True))
        att.append((0, cast["SICK_NOPROOF"], wday(11), "sick_leave", 1.0, False))
        att.append((0, cast["HALF_ABSENT"], wday(13), "absent", 0.5, False))
    if s == 1:
        for k in range(4):
            att.append((0, cast["SICK4"], wday(8 + k), "sick_leave", 1.0, True))
        att.append((0, cast["ABSENT_YTD"], wday(15), "absent", 1.0, False))
        att.append((0, cast["ABSENT_YTD"], wday(17), "absent", 0.5, False))
    if s == 2:
        for k in range(3):
            att.append((0, cast["INJURY"], wday(12 + k), "work_injury", 1.0, False))
    att.sort(key=lambda r: (r[0], str(r[2]), mid[r[1]], r[3]))
    seen: set = set()
    kept = []
    for pri, i, day_, code, days, proof in att:
        key = (i, day_)
        if key in seen:
            continue
        seen.add(key)
        kept.append((mid[i], day_, code, days, proof))
    kept.sort(key=lambda r: (str(r[1]), r[0]))
    rows["attendance"] = _write_attendance(d / "attendance.xlsx", kept, c)

    # ---- management events
    mg: list[tuple] = []
    cnt = rng.poisson(0.12, N) * on
    p = np.repeat(np.arange(N), cnt)
    dd = _pick_days(rng, wd, lo[p], hi[p])
    kinds = np.array(
        ["no_promotion", "report_late", "dress_code", "left_post", "complaint", "meeting_not_held"]
    )
    kp = np.array([0.2, 0.3, 0.28, 0.15, 0.07, 0.0])
    kk = kinds[rng.choice(6, len(p), p=kp)]
    kk = np.where((P["position"][p] != "marketer") & (rng.random(len(p)) < 0.5), "meeting_not_held", kk)
    for i, day_, kd in zip(p, dd, kk):
        if not np.isnat(day_):
            mg.append((mid[i], day_, str(kd), MGMT_NOTE[str(kd)]))
    others = [
        i
        for i in np.flatnonzero((P["region"] == 0) & (P["position"] == "marketer"))
        if P["role"][i] == "" and on[i]
    ]
    o = lambda k: others[k % len(others)] if others else cast["LOW_ACT"]  # noqa: E731
    designed_mg = {
        0: [(o(0), 6, "dress_code"), (cast["LOW_ACT"], 12, "report_late")],
        1: [(cast["SM2"], 4, "meeting_not_held"), (o(1), 14, "left_post")],
        2: [(cast["LOW_ACT"], 2, "no_promotion"), (o(2), 9, "complaint")],
    }
    for i, k, kd in designed_mg.get(s, []):
        mg.append((mid[i], wday(k), kd, MGMT_NOTE[kd]))
    mg.sort(key=lambda r: (str(r[1]), r[0], r[2]))
    df = pd.DataFrame(
        {
            "manager_id": [r[0] for r in mg],
            "date": _dates_text(np.array([r[1] for r in mg], dtype="datetime64[D]")),
            "kind": [r[2] for r in mg],
            "note": [r[3] for r in mg],
        }
    )
    _write_csv(df, d / "management.csv", float_format=None)
    rows["management"] = len(df)

    # ---- penalties
    pen: list[tuple] = []
    if s == 0:
        pen.append((cast["BIZ_ERR"], wday(7), "business_error", 300.00, "", "", "客户资料录入差错"))
    if s == 1:
        pen.append((cast["LOSS"], wday(9), "loss_compensation", 1280.00, "", "", "委托下单差错造成客户损失"))
        pen.append(
            (cast["LEAVER"], wday(len(wd) - 3), "dispute", None, "", "", "离职交接中客户佣金争议，待处理")
        )
    if s == 2:
        pen.append(
            (cast["DISCRETIONARY"], wday(11), "discretionary_trading", None, "", "", "代客户下单（全权委托）")
        )
        if "MALICIOUS" in sp:
            pen.append(
                (
                    cast["MALICIOUS"],
                    wday(6),
                    "malicious_account",
                    None,
                    str(c_id[sp["MALICIOUS"]]),
                    "general",
                    "虚假开户，经核查确认",
                )
            )
    gen = np.flatnonzero(on & (P["region"] > 0))
    for kind, rate, amt in (
        ("business_error", 0.004, (100, 1000)),
        ("loss_compensation", 0.001, (200, 5000)),
        ("discretionary_trading", 0.0005, None),
    ):
        k = int(np.floor(N * rate))
        if k and len(gen):
            for i in np.sort(rng.choice(gen, min(k, len(gen)), replace=False)):
                a = None if amt is None else float(np.round(rng.uniform(*amt), -1))
                day_ = _pick_days(rng, wd, lo[[i]], hi[[i]])[0]
                if not np.isnat(day_):
                    pen.append((i, day_, kind, a, "", "", ""))
    for sm, ci, sev in inv_events:
        if sm == s and on[owner[ci]]:
            day_ = _pick_days(rng, wd, lo[[owner[ci]]], hi[[owner[ci]]])[0]
            if not np.isnat(day_):
                pen.append(
                    (
                        owner[ci],
                        day_,
                        "malicious_account",
                        None,
                        str(c_id[ci]),
                        "serious" if sev else "general",
                        "虚假开户，经核查确认",
                    )
                )
    pen.sort(key=lambda r: (str(r[1]), mid[r[0]], r[2]))
    df = pd.DataFrame(
        {
            "manager_id": [mid[r[0]] for r in pen],
            "date": [str(r[1]) for r in pen],
            "kind": [r[2] for r in pen],
            "amount": _fmt([r[3] for r in pen]),
            "client_id": [r[4] for r in pen],
            "severity": [r[5] for r in pen],
            "note": [r[6] for r in pen],
        }
    )
    _write_csv(df, d / "penalties.csv", float_format=None)
    rows["penalties"] = len(df)

    # ---- referrals (one referrer per referred person, each listed once, in the month it is reported)
    ref: list[tuple] = []
    if s == 0:
        ref.append((cast["SM1"], cast["REFERRED"], P["hire"][cast["REFERRED"]] - np.timedelta64(18, "D")))
    if s == 1 and "TRAINEE_D" in cast:
        ref.append((cast["SM3"], cast["TRAINEE_D"], P["hire"][cast["TRAINEE_D"]] - np.timedelta64(6, "D")))
    hired = np.flatnonzero((P["hire"] >= c.first) & (P["hire"] <= c.last) & (P["region"] > 0) & on)
    for i in hired:
        if rng.random() < 0.5:
            pool = np.flatnonzero(on & (P["unit"] == P["unit"][i]) & (np.arange(N) != i) & ~P["probation"])
            if len(pool):
                ref.append(
                    (
                        int(pool[rng.integers(len(pool))]),
                        i,
                        P["hire"][i] - np.timedelta64(int(rng.integers(3, 30)), "D"),
                    )
                )
    if ref:
        df = pd.DataFrame(
            {
                "referrer_id": [mid[r[0]] for r in ref],
                "referred_id": [mid[r[1]] for r in ref],
                "date": [str(r[2]) for r in ref],
            }
        )
        _write_csv(df, d / "referrals.csv", float_format=None)
        rows["referrals"] = len(df)

    # ---- special additional deductions
    ded = P["ded"].copy()
    if s >= 2:
        ded[cast["PROMOTE"]] += 2000.0  # a baby born in the third month: infant care deduction from then on
    di = idx[ded[idx] > 0]
    di = di[np.argsort(mid[di].astype(str), kind="stable")]
    df = pd.DataFrame({"manager_id": mid[di], "amount": _fmt(ded[di])})
    _write_csv(df, d / "deductions.csv", float_format=None)
    rows["deductions"] = len(df)

    # ---- grade overrides (at most one per manager)
    ov: list[tuple] = []
    if s == 1:
        ov.append(
            (
                cast["OVERRIDE"],
                "senior",
                "分公司经理 周建国",
                "引入机构客户资产850万元，经营销管理委员会审议破格晋升",
            )
        )
    k = int(np.floor(N * 0.001))
    cand = np.flatnonzero(
        on & (P["region"] > 0) & (P["position"] == "marketer") & (P["grade"] < CHIEF) & ~P["probation"]
    )
    if k and len(cand):
        for i in np.sort(rng.choice(cand, min(k, len(cand)), replace=False)):
            ov.append(
                (i, GRADES[P["grade"][i] + 1], "分公司经理 周建国", "业绩突出，经营销管理委员会审议晋升")
            )
    if ov:
        df = pd.DataFrame(
            {
                "manager_id": [mid[r[0]] for r in ov],
                "grade": [r[1] for r in ov],
                "approved_by": [r[2] for r in ov],
                "reason": [r[3] for r in ov],
            }
        )
        _write_csv(df, d / "grade_overrides.csv", float_format=None)
        rows["grade_overrides"] = len(df)
    return rows


_FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def _write_attendance(path: Path, rows: list[tuple], c: _MonthCal) -> int:
    """The attendance machine's export: first sheet, Chinese headers, real Excel date cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    stamp = datetime(c.month.year, c.month.month, c.month.last_day.day, 18, 0, 0)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "考勤机导出"
    ws = wb.create_sheet("考勤明细")
    ws.append(["工号", "日期", "类别", "天数", "病历证明"])
    for manager_id, day_, code, days, proof in rows:
        dc = WriteOnlyCell(ws, value=day_.astype(datetime))
        dc.number_format = "yyyy-mm-dd"
        ws.append([manager_id, dc, ATT_ZH[code], days if days != 1.0 else 1, "是" if proof else ""])
    buf = io.BytesIO()
    wb.save(buf)
    # re-zip with fixed timestamps (zip entries, and the "modified" stamp openpyxl sets to now on save)
    # so the same data gives the same bytes
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + iso + rb"\g<2>", data
                )
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, data)
    return len(rows)


# --------------------------------------------------------------------------------------------------
# README of a generated data set

_ROLE_DOC = {
    "RM": "区域经理: supervises the three station managers (T2 regional_override, regional_allowance) and "
    "runs "
    "its own group of marketers (T1 station_override on them); avg_assets far above 6M (T5); "
    "TX1 social insurance (si_base 8000.00)",
    "SM1": "驻点经理 since 2020-06; referred {REFERRED} (referrals.csv of {m0}: P9 bonus due in {m0}); TX1 "
    "borderline "
    "(equity of its clients around 6-7M, more than 60 clients, si_base blank: the grade's standard)",
    "SM2": "驻点经理 since 2022-09; `meeting_not_held` in {m1}",
    "SM3": "驻点经理 since {sm3_since} (T4 grace period: first checked at the close of {m1}); referred "
    "{TRAINEE_D}",
    "CHIEF_SI": "chief with a 28M book and 100+ clients: TX1 social insurance (si_base 7500.00); opening "
    "excess_carry 4320.00, above the 3000 cap (P5 pays 3000 and carries the rest)",
    "REFERRED": "hired 2023-05-08, grade manager; referred by {SM1} (referral dated 2023-04-20, listed in "
    "{m0})",
    "OVERRIDE": "assistant; opens the 8.5M institution BIG_INST in {m1}; grade_overrides.csv of {m1} makes "
    "them "
    "senior from {m2} (skips manager: G7, approved by the branch manager)",
    "LEAVER": "manager, leaves on {leave} (approved 是): on the {m1} roster with 离职日期, not on {m2}; no "
    "new "
    "accounts in the leave month; a `dispute` in {m1} (F3 refund due at leave month + 6 waits while it is "
    "open); clients handed to the station's colleagues in {m2}",
    "TRAINEE_A": "trainee hired {TRAINEE_A_hire} (on the 15th: probation months {a_m1}..{m0}); designed to "
    "pass: "
    "mean score over the three months above 1.00 (G5: assistant from {m1})",
    "PROMOTE": "manager with a rising book (5.4M to 7.2M): A3 >= 6M at the close of {m0} and {m1} (G2: "
    "senior from "
    "{m2}); opening excess_carry 1850.40; special deduction +2000 from {m2} (new baby)",
    "CAP_FUND": "senior since 2013: opening risk_fund_balance exactly at the 10000.00 cap (F1 withholds "
    "nothing)",
    "INV1": "owns client INV1: opened in {m0} and `under_investigation` there, `normal` in {m1} (X2: {m0}'s "
    "fixed "
    "pay held, released in {m1}; D9: counts in {m1}'s EA/NMV)",
    "LOSS": "`loss_compensation` 1280.00 in {m1}",
    "PL_CAP": "opening personal_leave_days_ytd 18.0; three days of personal leave in {m0} (21 > 20: "
    "personal_leave_over_cap)",
    "HALF_ABSENT": "half a day `absent` in {m0} (A4: 2 daily rates); owns client THRESH_EXACT",
    "AGENT": "broker on a 居间协议 (contract agent: TX3); no deductions row (D39)",
    "TRAINEE_B": "trainee hired {TRAINEE_B_hire} (on the 16th: probation months {b_m1}..{m1}); "
    "early_conversion_candidate at the close of {m0} (mean >= 1.20), converts at the close of {m1}",
    "DEMOTE": "senior with a falling book (6.6M to 5.0M): A3 below 6M at the close of {h2} and {m0} "
    "(G3: manager from {m1})",
    "NO_QUAL": "hired 2019-06-03 with no qualification_date: 24+ months of service, P3 factor 0.8; opening "
    "discretionary_count 1",
    "MALICIOUS": "owns client MALICIOUS (opened in {m1} with 5200.00 and a 5100.00 stock buy, "
    "`under_investigation` "
    "in {m1}, `malicious_confirmed` in {m2} with its money gone): `malicious_account` penalty, severity "
    "general, in {m2}; {m1}'s held fixed pay is never released",
    "BIZ_ERR": "`business_error` 300.00 in {m0}",
    "ABSENT_YTD": "opening absent_days_ytd 3.5; in {m1} one full day and one half day `absent` (A4: 5 + 2 "
    "daily "
    "rates; 5.0 days in the year: deemed_resignation, A5)",
    "SICK_NOPROOF": "two sick days in {m0}, one with 病历证明 and one without (that one counts as personal "
    "leave, "
    "D12); owns client THRESH_ABOVE",
    "TRAINEE_C": "trainee hired {TRAINEE_C_hire} (on the 15th: probation {m0}..{m2}, partial first month); "
    "few accounts, designed to fail at the close of {m2} (termination_right)",
    "LOW_ACT": "assistant with almost no new accounts: score_raw below 0.60 in {h2} and {m0} (G4: trainee "
    "with "
    "termination_right at the close of {m0}; G6 too); A3 stays near 0.9M, so G2 brings them back to "
    "assistant at the close of {m2} (D13)",
    "QUAL_LATE": "qualification_date {qual_late} appears on the roster from {m1} on",
    "IPO_HEAVY": "its only new accounts of {m2} are IPO_1..IPO_4 (NMV about 1.57M against a 500k target) "
    "which "
    "put 80% of their buys into fund_open and ipo_subscription: P5 excess is 0 that month",
    "INV2": "owns client INV2: opened `under_investigation` in {m1}, `normal` in {m2}",
    "DISCRETIONARY": "`discretionary_trading` in {m2} (first occurrence: fined 1000)",
    "SICK4": "four sick days with proof in {m1} (more than 3: all four deducted, A3)",
    "INJURY": "three `work_injury` days in {m2} (no deduction, no points); owns client COMBINED",
    "TRAINEE_D": "trainee hired {TRAINEE_D_hire} (inside {m1}, on the 16th: probation month 1 is {m2}); "
    "referred by {SM3} (referrals.csv of {m1})",
}

_CLIENT_DOC = {
    "THRESH_EXACT": "opened in {m0}: one stock buy of exactly 5000.00 and end_assets 5000.00: not effective "
    "(> 5000 "
    "is strict)",
    "THRESH_ABOVE": "opened in {m0}: no trades, end_assets 5000.01: effective",
    "COMBINED": "opened in {m0}: stock buy 3000.00 + fund_open buy 2500.00 (5500 > 5000), end_assets "
    "1200.00: "
    "effective by turnover (D8)",
    "INV1": "opened in {m0} `under_investigation`, `normal` from {m1}",
    "INV2": "opened in {m1} `under_investigation`, `normal` from {m2}",
    "MALICIOUS": "opened in {m1}, `under_investigation`, `malicious_confirmed` from {m2}",
    "BIG_INST": "institution (机构, weight 3) opened in {m1} with 8,500,000.00",
    "IPO_1": "IPO_1..IPO_4: opened in {m2}, buys 55% fund_open, 25% ipo_subscription, 15% stock",
}

_FORMATS_ROWS = [
    (
        "`roster.csv`",
        "UTF-8 with BOM; Chinese headers (工号, 姓名, 岗位, "
        "任职日期, 上级工号, 项目部, 网点, 入职日期, 离职日期, 离职已批准, "
        "从业资格取得日期, 合同类型, 职级, 档次, 社保基数, 银行账号, 身份证号); 岗位 "
        "营销经理/驻点经理/区域经理, 合同类型 劳动合同/居间协议, 离职已批准 是/否; 职级 "
        "filled in the first month (English codes), "
        "afterwards only for new hires (the ledger "
        "keeps grades); 19-digit bank accounts (Luhn), "
        "18-character ID numbers (region, birth date, "
        "sequence, ISO 7064 check)",
    ),
    (
        "`clients.csv`",
        "**GBK**; 客户号, 归属工号, 开户日期 (`YYYY/MM/DD`), 客户类型 (个人/机构), 状态 (canonical "
        "codes); the full client list as of the month-end",
    ),
    (
        "`assets.csv`",
        "UTF-8; 客户号, 月日均资产, 月末资产, 股票及股票型基金市值; dormant zero-asset accounts have "
        "no row (D5)",
    ),
    (
        "`trades.csv`",
        "UTF-8; 成交日期, 客户号, 品种 (股票/开放式基金/新股申购/债券/封闭式基金/`other`), "
        "买卖方向 (买入/卖出), "
        '成交金额 **with thousands separators** (`"12,345.60"`), 手续费率 (0.0003 .. '
        "0.0025, six values); trading days only",
    ),
    (
        "`fund_sales.csv`",
        "UTF-8; 客户号, `sale_date` (DATA.md gives no Chinese alias), 基金代码 (6 "
        "digits, leading zeros), 金额, 佣金收入",
    ),
    (
        "`attendance.xlsx`",
        "sheet 考勤明细: 工号, 日期 (real Excel date cells), 类别 "
        "(迟到/早退/事假/病假/旷工/工伤/节假日促销), 天数 (1 or 0.5), 病历证明 (是 or blank)",
    ),
    (
        "`management.csv`, `penalties.csv`, `referrals.csv`, `deductions.csv`, `grade_overrides.csv`",
        "UTF-8, canonical English headers and codes",
    ),
    (
        "`history.csv`, `opening.csv`",
        "first month only; English headers",
    ),
]
_FORMATS = "\n".join(["| file | format |", "|---|---|"] + [f"| {f} | {d} |" for f, d in _FORMATS_ROWS]) + "\n"


def _readme(
    sm: Summary, P: dict, cast: dict, managers: int, clients: int, trades: int, seed: int, months: list[Month]
) -> str:
    ms = [str(m) for m in months]
    first = months[0]
    v = {
        "m0": ms[0],
        "m1": ms[1] if len(ms) > 1 else "(month 2)",
        "m2": ms[2] if len(ms) > 2 else "(month 3)",
        "h2": str(first.add(-1)),
        "a_m1": str(first.add(-2)),
        "b_m1": str(first.add(-1)),
        "sm3_since": str(first.add(-2).first_day),
        "qual_late": str(months[1].first_day + timedelta(days=19)) if len(months) > 1 else "-",
    }
    for k in (1, 2):
        hol = (
            _month_cal(months[k], WorkCalendar()).holidays
            if len(months) > k
            else np.array([], "datetime64[D]")
        )
        v[f"promo{k}"] = (
            f"; promotion duty (节假日促销) on the public holidays {hol[0]}..{hol[-1]}" if len(hol) else ""
        )
    for role, i in cast.items():
        v[role] = f"{P['mid'][i]} {P['name'][i]}"
        v[f"{role}_hire"] = str(P["hire"][i])
    if "LEAVER" in cast:
        v["leave"] = str(P["leave"][cast["LEAVER"]])
    out = [
        f"# Sample data: one branch, {ms[0]} .. {ms[-1]}",
        "",
        "Generated by `cmsettle/synth.py`; do not edit by hand. Regenerate (byte-identical) with",
        "",
        "```",
        "make sample",
        f".venv/bin/python scripts/gen_sample.py --out sample_data --seed {seed} "
        f"--managers {managers} --clients {clients} --trades {trades} --months {','.join(ms)}",
        "```",
        "",
        "Each month folder is a self-contained snapshot in the input contract of `shared/spec/DATA.md`. "
        "Names, ID and bank numbers are fake (well-formed, not real).",
        "",
        "## The people",
        "",
        "On the roster: "
        + "; ".join(
            f"{m}: " + ", ".join(f"{n} {POSITION_ZH[p]}" for p, n in sm.roster[m].items()) for m in ms
        )
        + ".",
        "",
        f"One project department ({P['project'][0]}), one regional manager, three station managers with "
        "their "
        "marketers, and a few marketers reporting to the regional manager directly. Grade = grade in effect "
        f"in {ms[0]} (history/roster); `role` names the designed edge case; people without a role are "
        "ordinary random staff.",
        "",
        "| 工号 | 姓名 | 岗位 | 网点 | 上级 | grade | 入职 | role | what it exercises |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rev = {i: r for r, i in cast.items()}
    idx = [i for i in range(len(P["mid"])) if P["region"][i] == 0]
    idx.sort(key=lambda i: (P["unit"][i], P["position"][i] == "marketer", P["mid"][i]))
    for i in idx:
        role = rev.get(i, "")
        doc = _ROLE_DOC.get(role, "").format(**v) if role else ""
        sup = P["mid"][P["sup"][i]] if P["sup"][i] >= 0 else ""
        out.append(
            f"| {P['mid'][i]} | {P['name'][i]} | {POSITION_ZH[P['position'][i]]} | {P['station'][i]} | {sup} "
            f"| {GRADES[P['grade'][i]]} | {P['hire'][i]} | {role} | {doc} |"
        )
    out += ["", "## Designed clients", "", "| key | 客户号 | what |", "|---|---|---|"]
    for key, cid in sm.special_clients.items():
        doc = _CLIENT_DOC.get(key, "").format(**v)
        out.append(f"| {key} | {cid} | {doc} |")
    out += ["", "## Month by month", ""]
    notes = {
        0: [
            f"`history.csv` ({first.add(-3)}, {first.add(-2)}, {first.add(-1)} for everyone employed then: "
            "grade, "
            "avg_assets, "
            "ea, nmv, score_raw) and `opening.csv` (risk fund balances below the caps and {CAP_FUND} at the "
            "cap, "
            "excess carries, year-to-date taxable base and tax for the months of the year before it, "
            "consistent "
            "with the cumulative withholding table, ytd leave/absence days, discretionary counts)".format(
                **v
            ),
            "threshold clients THRESH_EXACT / THRESH_ABOVE / COMBINED; INV1 under investigation",
            "grade events designed at the close: {DEMOTE} G3 senior -> manager; {LOW_ACT} G4 assistant -> "
            "trainee; "
            "{TRAINEE_A} converts (G5); {TRAINEE_B} early_conversion_candidate".format(**v),
            "penalties: business_error 300.00; referrals: {SM1} -> {REFERRED}".format(**v),
            "attendance: personal leave (PL_CAP), sick leave with and without proof, a half-day absence, "
            "late / early leave",
        ],
        1: [
            f"hire {v.get('TRAINEE_D', '')} on {v.get('TRAINEE_D_hire', '')}; leaver {v.get('LEAVER', '')} "
            f"leaves {v.get('leave', '')}",
            "INV1 cleared; INV2 and MALICIOUS under investigation; BIG_INST opens",
            "penalties: loss_compensation 1280.00, dispute (leaver); grade_overrides: {OVERRIDE} -> senior; "
            "grade event at the close: {PROMOTE} G2 manager -> senior".format(**v),
            "attendance: four sick days with proof (SICK4), absences (ABSENT_YTD)" + v["promo1"],
        ],
        2: [
            "the leaver is gone (clients reassigned); INV2 cleared; MALICIOUS confirmed",
            "penalties: malicious_account (general) for MALICIOUS, discretionary_trading; IPO_1..4 (P5 test)",
            "attendance: three work-injury days" + v["promo2"],
            "grade events at the close: {TRAINEE_C} fails probation (G5, termination_right); {LOW_ACT} back "
            "to "
            "assistant (G2)".format(**v),
        ],
    }
    for s, m in enumerate(ms):
        out.append(f"**{m}**")
        out.append("")
        for line in notes.get(s, []):
            out.append(f"- {line}")
        rows = sm.rows.get(m, {})
        out.append("- rows: " + ", ".join(f"{k} {n:,}" for k, n in rows.items()))
        out.append("")
    out += [
        "Every month also has random late arrivals and early leaves, a little personal and sick leave, "
        "management events (all six kinds occur over the months), special additional deductions "
        "(children's education, elderly support, housing loan or rent: 1000..6000 a month for about 20 "
        "employees, none for the agent), fund sales for about 3% of clients, and about "
        "one client in a thousand moving between two marketers of a unit.",
        "",
        "The grade events above are by construction and were checked with an independent recomputation of "
        "M1-M6 and G2-G5 from these files; the settlement itself is the authority.",
        "",
        "## File formats (as the branch's systems export them)",
        "",
        _FORMATS,
        "## Realism",
        "",
        "- Books are skewed: a few chiefs and the regional manager own most assets; each manager's book "
        "moves "
        "with a market walk inside the band of its grade (G1), so most keep their grade.",
        "- New accounts every month (a few per manager; about 15% never funded, a few institutions); "
        "old accounts opened over many years, some dormant.",
        "- Trades on PRC trading days, stock most, buy and sell, commission rates by client size; "
        "turnover per manager tuned so net revenue lands near the grade's target; fund sales with a "
        "commission income of 0.15%..0.6% of the amount.",
        "",
    ]
    return "\n".join(out)
