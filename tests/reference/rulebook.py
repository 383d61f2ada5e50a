"""Reference implementation of the RULEBOOK (/work/shared/spec/RULEBOOK.md §1-§8 and the settled details
§10 D1-D44 that affect pay_lines.csv and managers.csv), written clean-room from the specs.

It reads month folders of plain CSV files with the canonical English headers of DATA.md, settles FIRST..LAST
in order and returns, per month, the pay lines (manager_id -> component -> amount) and the managers.csv
rows. State across months lives in plain Python objects (:class:`Person`, :class:`Reference`).

Arithmetic: every amount is a ``Decimal`` in a 60-digit context; products are formed before the one division
of a formula so that a value whose exact result terminates is exact, and rounding (half up) happens only
where D41 says: NR per manager, score_raw, every pay line, excess before the carry, each of A1-A4, F1's 5%,
the cumulative tax.

Readings taken where the RULEBOOK leaves room are marked ``READING`` in the code and listed, with the
alternatives that can be switched on, in :data:`READINGS`.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = ROOT / "rules" / "2024-01-default.yaml"

GRADES = ("trainee", "assistant", "manager", "senior", "chief")
RANK = {g: i for i, g in enumerate(GRADES)}
ZERO = Decimal(0)
ONE = Decimal(1)

COMPONENTS = (
    "fixed_pay", "commission", "account_bonus", "excess_mv_bonus", "fund_commission", "transport_allowance",
    "meal_allowance", "referral_bonus", "station_override", "station_allowance", "regional_override",
    "regional_allowance", "attendance_deduction", "gross_pay", "social_insurance", "income_tax",
    "risk_fund_withholding", "penalty", "management_fee", "deduction_carried_in", "held_income",
    "released_income", "risk_fund_refund", "retro_adjustment", "deduction_carried_out", "net_pay",
)
MANAGER_COLUMNS = ("month", "manager_id", "name", "position", "grade_in_effect", "grade_next", "grade_rule",
                   "avg_assets", "a3", "ea", "nmv", "net_revenue", "score_raw", "score_applied",
                   "management_score", "flags")

#: Where the RULEBOOK leaves room: point -> (the reading taken, {alternative: what it would do}, why).
#: `Reference(readings={point: alternative})` computes with an alternative; tests/test_reference_diff.py
#: checks, on a seed that exercises the point, that the alternative would disagree with cmsettle (so the
#: point is covered and cmsettle takes the reading chosen here).
READINGS: dict[str, tuple[str, dict[str, str], str]] = {
    "T4-team": ("current", {
        "skip": "months of M-2..M without a settled (ledger) month of the station are skipped",
        "fail": "a month without a settled month of the station has no direct reports, so the test fails",
        "first": "before the ledger, the direct reports of the first ledger month stand in",
    }, "T4/D25: for a settled month m of M-2..M the direct reports are D24's for m (settled in m with "
       "supervisor_id = the station manager) with their grade in effect and EA of m. A month before the "
       "ledger has no roster: D24's direct reports of M (the month being settled) stand in, with their history "
       "grade and ea of that month (no history row: not counted; blank grade: not >= assistant). The EA mean "
       "divides by the months in which the station manager or one of those reports has a record. The RULEBOOK "
       "is silent on teams before the ledger; history exists 'so the rules work from the first run' (DATA.md) "
       "and D25 speaks of 'the months with data'. First written as 'skip', then 'fail'; changed after "
       "comparing with cmsettle (see the report)."),
    "history-grade": ("literal", {
        "latest-known": "the latest history row that has a grade",
    }, "D2 'the roster grade, else the grade of the latest history month, else trainee': each step looks at one "
       "source, as the blank roster grade falls through; a blank grade in the latest history month falls "
       "through to trainee even if an earlier history month has a grade. First written as 'latest-known'; "
       "changed after comparing with cmsettle (see the report)."),
    "refund-row": ("ledger", {
        "in-effect": "the grade in effect during the last settled (leave) month",
    }, "D42 'a managers.csv row with last position and grade': grade_in_effect = grade_next = the grade decided "
       "at the close of the last settled month, which is D2's grade in effect for any later month (a leaver "
       "before the ledger: D2's roster / history / trainee); zero metrics including score_applied and "
       "management_score; no grade_rule. First written as 'in-effect'; changed after comparing with cmsettle."),
    "G5-fail-rule": ("empty", {
        "G5": "grade_rule G5 also when G5 keeps the trainee a trainee",
    }, "D18 grade_rule names the rule that set grade_next; a failed probation changes nothing (flag only)."),
    "P9-month": ("month", {
        "date": "paid only in months whose first day is on or after the referral date",
    }, "D23 'the first month, on or after the referral date': the month containing the date counts."),
    "T1-sum": ("rounded", {
        "unrounded": "5% of the sum of the reports' unrounded NR",
    }, "T1/T2 use NR, which M5 defines as the manager total rounded to 0.01 (D41)."),
    "refund-zero": ("skip", {
        "settle": "a refund-only row (gross 0, net 0) even when the balance is 0",
    }, "D1 settles from the ledger 'a leaver still owed a refund'; with a zero balance nothing is owed."),
    "hold-release-leaver": ("at-refund", {
        "never": "a release due after the person left is lost",
    }, "D32 releases in the first later month in which every causing client is normal; if the person is not "
       "settled then, D36 sets the release off against the refund when they are settled for it."),
    "G4-flag-override": ("before-override", {
        "after-override": "termination_right only when the grade after the override is trainee",
    }, "D17: an override replaces the grade only; G4-G6 flags are still raised, so G4's flag looks at the "
       "G2-G6 result (the lower of G3/G4), not at the override."),
    "A5-half": ("breaks", {
        "counts": "a half-day absence counts as an absent day of the run",
    }, "D30 'counts only full-day absences': a half day is not an absent day of the run, and the run of "
       "consecutive working days stops there."),
    "T3-blank": ("fails", {
        "passes": "a blank history grade counts as manager or higher",
    }, "D18 T3 needs the grade of each of M-2..M; a blank history grade is not a grade >= manager."),
    "D9-P5": ("include", {
        "exclude": "D9 clients are left out of P5's IPO/fund test",
    }, "P5's 'the M3 clients' are the clients counted in EA/NMV of M, D9 ones included."),
    "grade_rule-G7": ("always", {}, "grade_rule is G7 whenever an override is given, even to the grade in effect."),
    "T4-position": ("station_manager", {}, "T4 applies to position station_manager only (T5 judges a regional "
                                           "manager)."),
    "A3-history": ("existing", {}, "D4: a history month's A3 uses those of the two months before it that have a "
                                   "history row."),
}


# --- small helpers ----------------------------------------------------------------------------------------

def r2(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def r4(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def r1(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        y, m = text.strip().split("-")[:2]
        return cls(int(y), int(m))

    @classmethod
    def of(cls, d: date) -> "Month":
        return cls(d.year, d.month)

    def add(self, n: int) -> "Month":
        i = self.year * 12 + self.month - 1 + n
        return Month(i // 12, i % 12 + 1)

    def __sub__(self, other: "Month") -> int:
        return (self.year * 12 + self.month) - (other.year * 12 + other.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.add(1).first - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def months_between(first: Month, last: Month) -> list[Month]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = m.add(1)
    return out


# --- rules ------------------------------------------------------------------------------------------------

def _dec(v: Any) -> Decimal:
    return Decimal(str(v).strip())


class Rules:
    """The parameters of one rule set, every number a Decimal made from its YAML text."""

    def __init__(self, path: Path = DEFAULT_RULES):
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # text scalars
        self.raw = raw
        m = raw["metrics"]
        self.institution_weight = _dec(m["institution_weight"])
        self.effective_threshold = _dec(m["effective_threshold"])
        self.revenue_tax_rate = _dec(m["revenue_tax_rate"])
        self.regulatory_fee_rate = _dec(m["regulatory_fee_rate"])
        s = raw["score"]
        self.weights = {k: _dec(v) for k, v in s["weights"].items()}
        self.trainee_weights = {k: _dec(v) for k, v in s["trainee_weights"].items()}
        self.score_floor, self.score_cap = _dec(s["floor"]), _dec(s["cap"])
        ms = raw["management_score"]
        self.ms_full, self.ms_floor = _dec(ms["full"]), _dec(ms["floor"])
        self.ms_sick, self.ms_personal = _dec(ms["sick_leave_day"]), _dec(ms["personal_leave_day"])
        self.ms_late = _dec(ms["late_or_early"])
        self.ms_events = {k: _dec(v) for k, v in ms["events"].items()}
        self.grades: dict[str, dict[str, Any]] = {}
        for g in GRADES:
            gd = raw["grades"][g]
            self.grades[g] = {
                "threshold": _dec(gd["threshold"]),
                "fixed_standard": {int(k): _dec(v) for k, v in gd["fixed_standard"].items()},
                "base_rate": _dec(gd["base_rate"]), "ea_target": _dec(gd["ea_target"]),
                "nmv_target": _dec(gd["nmv_target"]), "nr_target": _dec(gd["nr_target"]),
                "transport": _dec(gd["transport"]),
            }
        gr = raw["grading"]
        self.demotion_score = _dec(gr["demotion_score"])
        self.probation_months = int(gr["probation_months"])
        self.probation_hire_day = int(gr["probation_hire_day"])
        self.conversion_mean = _dec(gr["conversion_mean"])
        self.early_conversion_mean = _dec(gr["early_conversion_mean"])
        self.low_activity_ea = _dec(gr["low_activity_ea"])
        self.low_activity_nmv = _dec(gr["low_activity_nmv"])
        e = raw["earnings"]
        self.qualification_factor = _dec(e["qualification_factor"])
        self.qualification_service_months = int(e["qualification_service_months"])
        self.account_bonus = _dec(e["account_bonus"])
        self.excess_mv_rate = _dec(e["excess_mv_rate"])
        self.excess_mv_cap = _dec(e["excess_mv_cap"])
        self.ipo_fund_share = _dec(e["ipo_fund_share"])
        self.fund_commission_rate = _dec(e["fund_commission_rate"])
        self.meal_allowance = _dec(e["meal_allowance"])
        self.referral_bonus = _dec(e["referral_bonus"])
        t = raw["teams"]
        self.station_override_rate = _dec(t["station_override_rate"])
        self.station_allowance = _dec(t["station_allowance"])
        self.regional_override_rate = _dec(t["regional_override_rate"])
        self.regional_allowance = _dec(t["regional_allowance"])
        self.station_candidate_assets = _dec(t["station_candidate_assets"])
        self.station_grace_months = int(t["station_grace_months"])
        self.station_min_reports = int(t["station_min_reports"])
        self.station_min_ea = _dec(t["station_min_ea"])
        self.regional_min_assets = _dec(t["regional_min_assets"])
        self.regional_min_stations = int(t["regional_min_stations"])
        a = raw["attendance"]
        self.late_fine = _dec(a["late_fine"])
        self.statutory_pay_days = _dec(a["statutory_pay_days"])
        self.personal_leave_cap_days = _dec(a["personal_leave_cap_days"])
        self.sick_free_days = _dec(a["sick_free_days"])
        self.absence_whole_fixed_days = _dec(a["absence_whole_fixed_days"])
        self.absence_full_day_rates = _dec(a["absence_full_day_rates"])
        self.absence_half_day_rates = _dec(a["absence_half_day_rates"])
        self.deemed_resignation_run = int(a["deemed_resignation_run"])
        self.deemed_resignation_year_days = _dec(a["deemed_resignation_year_days"])
        p = raw["penalties"]
        self.discretionary_first_fine = _dec(p["discretionary_first_fine"])
        self.malicious_general_fine = _dec(p["malicious_general_fine"])
        self.management_fee_rate = _dec(p["management_fee_rate"])
        rf = raw["risk_fund"]
        self.risk_rate = _dec(rf["rate"])
        self.risk_caps = {k: _dec(v) for k, v in rf["caps"].items()}
        self.refund_after_months = int(rf["refund_after_months"])
        si = raw["social_insurance"]
        self.si_equity_min = _dec(si["equity_assets_min"])
        self.si_clients_min = int(si["clients_min"])
        self.si_employee_rate = sum((_dec(v) for v in si["employee_rates"].values()), ZERO)
        tx = raw["tax"]
        self.monthly_deduction = _dec(tx["monthly_deduction"])
        self.agent_income_factor = _dec(tx["agent_income_factor"])
        self.agent_cost_share = _dec(tx["agent_cost_share"])
        self.brackets = []
        for b in tx["brackets"]:
            upto = b["upto"]
            self.brackets.append((None if upto in (None, "null", "~", "") else _dec(upto),
                                  _dec(b["rate"]), _dec(b["quick"])))
        self.calendar = raw.get("calendar") or {}
        self.effective_from = Month.parse(str(raw["effective_from"]))
        self.id = str(raw.get("id", ""))

    def annual_tax(self, base: Decimal) -> Decimal:
        base = max(ZERO, base)
        for upto, rate, quick in self.brackets:
            if upto is None or base <= upto:
                return base * rate - quick
        raise AssertionError("no bracket")


# --- working days -----------------------------------------------------------------------------------------

class Workdays:
    def __init__(self, rules: Rules):
        self.extra: dict[int, tuple[set[date], set[date]]] = {}
        for year, spec in (rules.calendar or {}).items():
            spec = spec or {}
            hol = {date.fromisoformat(str(d)) for d in spec.get("holidays", []) or []}
            work = {date.fromisoformat(str(d)) for d in spec.get("workdays", []) or []}
            self.extra[int(year)] = (hol, work)
        self._cache: dict[date, bool] = {}

    def is_workday(self, d: date) -> bool:
        if d not in self._cache:
            try:
                self._cache[d] = bool(chinese_calendar.is_workday(d))
            except NotImplementedError:
                if d.year in self.extra:
                    hol, work = self.extra[d.year]
                    self._cache[d] = d in work or (d.weekday() < 5 and d not in hol)
                else:
                    self._cache[d] = d.weekday() < 5
        return self._cache[d]

    def between(self, a: date, b: date) -> list[date]:
        out, d = [], a
        while d <= b:
            if self.is_workday(d):
                out.append(d)
            d += timedelta(days=1)
        return out

    def count(self, a: date, b: date) -> int:
        return len(self.between(a, b)) if a <= b else 0


# --- inputs -----------------------------------------------------------------------------------------------

def _read(folder: Path, name: str) -> list[dict[str, str]] | None:
    path = folder / f"{name}.csv"
    if not path.exists():
        return None
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def _date(s: str | None) -> date | None:
    if not s:
        return None
    return date.fromisoformat(s.replace("/", "-")[:10])


def _amt(s: str | None, default: Decimal | None = None) -> Decimal | None:
    if s is None or s == "":
        return default
    return Decimal(s.replace(",", ""))


_TRUE = {"true", "1", "是", "y", "yes"}
_FALSE = {"false", "0", "否", "n", "no"}


def _bool(s: str | None, default: bool) -> bool:
    if not s:
        return default
    t = s.strip().casefold()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"not a boolean: {s!r}")


@dataclass
class RosterRow:
    manager_id: str
    name: str
    position: str
    position_since: date | None
    supervisor_id: str | None
    hire_date: date
    leave_date: date | None
    leave_approved: bool
    qualification_date: date | None
    contract: str
    grade: str | None
    tier: int
    si_base: Decimal | None


@dataclass
class Client:
    client_id: str
    manager_id: str
    open_date: date
    kind: str
    status: str


@dataclass
class MonthInputs:
    roster: dict[str, RosterRow]
    clients: dict[str, Client]
    assets: dict[str, tuple[Decimal, Decimal, Decimal]]
    trades: list[dict[str, Any]]
    fund_sales: list[dict[str, Any]]
    attendance: list[dict[str, Any]]
    management: list[dict[str, Any]]
    penalties: list[dict[str, Any]]
    referrals: list[dict[str, Any]]
    deductions: dict[str, Decimal]
    overrides: dict[str, str]
    history: list[dict[str, Any]]
    opening: dict[str, dict[str, Any]]


def load_month(folder: Path) -> MonthInputs:
    folder = Path(folder)
    roster: dict[str, RosterRow] = {}
    for r in _read(folder, "roster") or []:
        roster[r["manager_id"]] = RosterRow(
            manager_id=r["manager_id"], name=r.get("name", ""), position=r["position"],
            position_since=_date(r.get("position_since")), supervisor_id=r.get("supervisor_id") or None,
            hire_date=_date(r["hire_date"]), leave_date=_date(r.get("leave_date")),  # type: ignore[arg-type]
            leave_approved=_bool(r.get("leave_approved"), True),
            qualification_date=_date(r.get("qualification_date")),
            contract=r.get("contract") or "employee", grade=r.get("grade") or None,
            tier=int(r.get("tier") or 1), si_base=_amt(r.get("si_base")))
    clients = {}
    for r in _read(folder, "clients") or []:
        clients[r["client_id"]] = Client(r["client_id"], r["manager_id"], _date(r["open_date"]),  # type: ignore
                                         r.get("kind") or "individual", r.get("status") or "normal")
    assets = {}
    for r in _read(folder, "assets") or []:
        if r["client_id"] not in clients:
            raise ValueError(f"assets: client {r['client_id']} not in clients (D5)")
        assets[r["client_id"]] = (_amt(r["avg_assets"]), _amt(r["end_assets"]),
                                  _amt(r.get("equity_assets"), ZERO))
    trades = [dict(date=_date(r["trade_date"]), client_id=r["client_id"], product=r["product"], side=r["side"],
                   turnover=_amt(r["turnover"]), rate=_amt(r["commission_rate"]))
              for r in _read(folder, "trades") or []]
    fund_sales = [dict(client_id=r["client_id"], date=_date(r["sale_date"]), amount=_amt(r["amount"]),
                       income=_amt(r["commission_income"])) for r in _read(folder, "fund_sales") or []]
    attendance = [dict(manager_id=r["manager_id"], date=_date(r["date"]), code=r["code"],
                       days=_amt(r.get("days"), ONE), proof=_bool(r.get("proof"), False))
                  for r in _read(folder, "attendance") or []]
    management = [dict(manager_id=r["manager_id"], date=_date(r["date"]), kind=r["kind"])
                  for r in _read(folder, "management") or []]
    penalties = [dict(manager_id=r["manager_id"], date=_date(r["date"]), kind=r["kind"],
                      amount=_amt(r.get("amount")), client_id=r.get("client_id") or None,
                      severity=r.get("severity") or None, row=i)
                 for i, r in enumerate(_read(folder, "penalties") or [])]
    referrals = [dict(referrer_id=r["referrer_id"], referred_id=r["referred_id"], date=_date(r["date"]))
                 for r in _read(folder, "referrals") or []]
    deductions = {r["manager_id"]: _amt(r["amount"]) for r in _read(folder, "deductions") or []}
    overrides: dict[str, str] = {}
    for r in _read(folder, "grade_overrides") or []:
        if r["manager_id"] in overrides:
            raise ValueError("two overrides for one manager (D17)")
        overrides[r["manager_id"]] = r["grade"]
    history = [dict(month=Month.parse(r["month"]), manager_id=r["manager_id"], grade=r.get("grade") or None,
                    avg_assets=_amt(r["avg_assets"]), ea=_amt(r["ea"]), nmv=_amt(r["nmv"]),
                    score_raw=_amt(r.get("score_raw")))
               for r in _read(folder, "history") or []]
    opening = {}
    for r in _read(folder, "opening") or []:
        opening[r["manager_id"]] = dict(
            risk_fund_balance=_amt(r.get("risk_fund_balance"), ZERO), excess_carry=_amt(r.get("excess_carry"), ZERO),
            ytd_taxable=_amt(r.get("ytd_taxable"), ZERO), ytd_tax=_amt(r.get("ytd_tax"), ZERO),
            personal_leave_days_ytd=_amt(r.get("personal_leave_days_ytd"), ZERO),
            absent_days_ytd=_amt(r.get("absent_days_ytd"), ZERO),
            discretionary_count=int(r.get("discretionary_count") or 0))
    return MonthInputs(roster, clients, assets, trades, fund_sales, attendance, management, penalties,
                       referrals, deductions, overrides, history, opening)


# --- state ------------------------------------------------------------------------------------------------

@dataclass
class Rec:
    """One month's figures of a person: from history (before the ledger) or from a settled month."""
    grade: str | None
    avg_assets: Decimal
    ea: Decimal
    nmv: Decimal
    score_raw: Decimal | None
    a3: Decimal | None = None
    position: str | None = None
    supervisor: str | None = None
    ledger: bool = False


@dataclass
class Hold:
    month: Month
    amount: Decimal
    clients: frozenset[str]


@dataclass
class Person:
    id: str
    name: str = ""
    recs: dict[Month, Rec] = field(default_factory=dict)
    grade_next: str | None = None          # decided at the close of the last settled month (the ledger's)
    last_position: str | None = None
    last_grade: str | None = None
    excess_carry: Decimal = ZERO
    balance: Decimal = ZERO
    tax_year: int | None = None
    ytd_taxable: Decimal = ZERO
    ytd_tax: Decimal = ZERO
    count_year: int | None = None
    personal_ytd: Decimal = ZERO
    absent_ytd: Decimal = ZERO
    discretionary: int = 0
    holds: list[Hold] = field(default_factory=list)
    carry: Decimal = ZERO                  # shortfall carried out, deducted when next settled
    pending_release: Decimal = ZERO        # released while not settled (D36)
    disputes: int = 0
    refund_month: Month | None = None
    refunded: bool = False
    leave_month: Month | None = None


@dataclass
class Referral:
    referrer: str
    referred: str
    date: date
    paid: bool = False


@dataclass
class MonthResult:
    month: str
    lines: dict[str, dict[str, Decimal]]            # manager -> component -> amount (zero lines included)
    managers: dict[str, dict[str, str]]             # manager -> managers.csv row (text as written)
    notes: dict[str, dict[str, str]]                # manager -> component -> the figures behind it

    def nonzero_lines(self) -> dict[tuple[str, str], Decimal]:
        out = {}
        for mid, comps in self.lines.items():
            for c, v in comps.items():
                if v != 0 or c in ("gross_pay", "net_pay"):
                    out[(mid, c)] = v
        return out


# --- the engine -------------------------------------------------------------------------------------------

class Reference:
    def __init__(self, rules_path: Path = DEFAULT_RULES, readings: dict[str, str] | None = None):
        self.reading = {k: v[0] for k, v in READINGS.items()}
        for k, v in (readings or {}).items():
            if k not in READINGS or (v != READINGS[k][0] and v not in READINGS[k][1]):
                raise ValueError(f"unknown reading {k}={v}")
            self.reading[k] = v
        path = Path(rules_path)
        files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
        self.rule_sets = sorted((Rules(f) for f in files), key=lambda r: r.effective_from)
        self.calendars = {id(r): Workdays(r) for r in self.rule_sets}
        self.R = self.rule_sets[0]
        self.cal = self.calendars[id(self.R)]
        self.people: dict[str, Person] = {}
        self.pending_d9: set[str] = set()
        self.referrals: dict[str, Referral] = {}
        self.first: Month | None = None

    # public ---------------------------------------------------------------------------------------------

    def run(self, data_dir: Path, first: str | Month, last: str | Month) -> dict[str, MonthResult]:
        first = first if isinstance(first, Month) else Month.parse(first)
        last = last if isinstance(last, Month) else Month.parse(last)
        self.first = first
        out = {}
        with localcontext() as ctx:
            ctx.prec = 60
            for m in months_between(first, last):
                out[str(m)] = self.settle(m, load_month(Path(data_dir) / str(m)))
        return out

    # helpers --------------------------------------------------------------------------------------------

    def person(self, mid: str) -> Person:
        if mid not in self.people:
            self.people[mid] = Person(mid)
        return self.people[mid]

    @staticmethod
    def a3_at(p: Person, m: Month) -> Decimal | None:
        """M2/D4: mean avg_assets over m-2..m of the months with data (ledger or history)."""
        if m not in p.recs:
            return None
        vals = [p.recs[k].avg_assets for k in (m.add(-2), m.add(-1), m) if k in p.recs]
        return sum(vals, ZERO) / len(vals)

    def threshold(self, g: str) -> Decimal:
        return self.R.grades[g]["threshold"]

    def grade_by_assets(self, a: Decimal) -> str:
        best = "trainee"
        for g in GRADES[1:]:
            if self.threshold(g) <= a:
                best = g
        return best

    def probation_month1(self, hire: date) -> Month:
        m = Month.of(hire)
        return m if hire.day <= self.R.probation_hire_day else m.add(1)

    # one month ------------------------------------------------------------------------------------------

    def rules_for(self, M: Month) -> Rules:
        """§9: the newest rule set whose effective_from <= M (D40: each month its own)."""
        usable = [r for r in self.rule_sets if r.effective_from <= M]
        if not usable:
            raise ValueError(f"no rule set in force for {M}")
        return usable[-1]

    def settle(self, M: Month, inp: MonthInputs) -> MonthResult:
        self.R = R = self.rules_for(M)
        self.cal = self.calendars[id(R)]
        is_first = M == self.first
        lines: dict[str, dict[str, Decimal]] = {}
        notes: dict[str, dict[str, str]] = defaultdict(dict)
        rows_out: dict[str, dict[str, str]] = {}

        if is_first:
            # D4: history only for months before the first ledger month
            for h in inp.history:
                if h["month"] < M:
                    p = self.person(h["manager_id"])
                    p.recs[h["month"]] = Rec(h["grade"], h["avg_assets"], h["ea"], h["nmv"], h["score_raw"])
            for mid, o in inp.opening.items():
                p = self.person(mid)
                p.balance = o["risk_fund_balance"]
                p.excess_carry = o["excess_carry"]
                p.tax_year = M.year
                p.ytd_taxable, p.ytd_tax = o["ytd_taxable"], o["ytd_tax"]
                p.count_year = M.year
                p.personal_ytd, p.absent_ytd = o["personal_leave_days_ytd"], o["absent_days_ytd"]
                p.discretionary = o["discretionary_count"]

        # D1: who is settled
        settled: dict[str, RosterRow] = {}
        for r in inp.roster.values():
            if r.hire_date > M.last:
                continue
            if r.leave_date is not None and r.leave_date < M.first:
                if is_first and r.leave_date < self.first.first:  # type: ignore[union-attr]
                    p = self.person(r.manager_id)
                    p.name = r.name
                    p.last_position = r.position
                    p.last_grade = r.grade or self._latest_history_grade(p) or "trainee"
                    p.leave_month = Month.of(r.leave_date)
                    if r.leave_approved:
                        p.refund_month = Month.of(r.leave_date).add(R.refund_after_months)
                    else:
                        p.balance = ZERO  # forfeited
                        p.refunded = True
                continue
            settled[r.manager_id] = r
        for mid, r in settled.items():
            self.person(mid).name = r.name

        # disputes (D6: they count for anyone, settled or not)
        for pen in inp.penalties:
            if pen["kind"] == "dispute":
                self.person(pen["manager_id"]).disputes += 1
            elif pen["kind"] == "dispute_closed":
                self.person(pen["manager_id"]).disputes -= 1

        # referrals are remembered from the month whose file lists them
        for ref in inp.referrals:
            self.referrals.setdefault(ref["referred_id"], Referral(ref["referrer_id"], ref["referred_id"],
                                                                   ref["date"]))

        # --- metrics M1-M5 (D5, D7, D8, D9) ---
        clients = inp.clients
        owned: dict[str, list[Client]] = defaultdict(list)
        for c in clients.values():
            owned[c.manager_id].append(c)

        def assets(cid: str) -> tuple[Decimal, Decimal, Decimal]:
            return inp.assets.get(cid, (ZERO, ZERO, ZERO))

        factor = ONE - R.revenue_tax_rate
        nr_raw: dict[str, Decimal] = defaultdict(Decimal)
        buys: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for t in inp.trades:
            owner = clients[t["client_id"]].manager_id
            nr_raw[owner] += t["turnover"] * (t["rate"] * factor - R.regulatory_fee_rate)
            if t["side"] == "buy":
                buys[t["client_id"]][t["product"]] += t["turnover"]

        def effective(c: Client) -> bool:
            b = buys.get(c.client_id, {})
            return (b.get("stock", ZERO) + b.get("fund_open", ZERO) > R.effective_threshold
                    or assets(c.client_id)[1] > R.effective_threshold)

        ea_clients: dict[str, list[Client]] = defaultdict(list)
        for c in clients.values():
            if Month.of(c.open_date) == M and c.status == "normal" and effective(c):
                ea_clients[c.manager_id].append(c)
        for cid in sorted(self.pending_d9):
            c = clients.get(cid)
            if c is None:
                continue
            if c.status == "normal":
                self.pending_d9.discard(cid)
                if effective(c):
                    ea_clients[c.manager_id].append(c)
                    notes[c.manager_id]["D9"] = notes[c.manager_id].get("D9", "") + f" {cid}"
            elif c.status == "malicious_confirmed":
                self.pending_d9.discard(cid)
        for c in clients.values():
            if Month.of(c.open_date) == M and c.status == "under_investigation":
                self.pending_d9.add(c.client_id)

        fund_income: dict[str, Decimal] = defaultdict(Decimal)
        for s in inp.fund_sales:
            fund_income[clients[s["client_id"]].manager_id] += s["income"]

        # --- grade in effect (D2) and the month's figures ---
        grade: dict[str, str] = {}
        for mid, r in settled.items():
            p = self.person(mid)
            if p.grade_next is not None:
                grade[mid] = p.grade_next
            elif r.grade:
                grade[mid] = r.grade
            else:
                grade[mid] = self._latest_history_grade(p) or "trainee"

        fig: dict[str, dict[str, Any]] = {}
        for mid, r in settled.items():
            g = grade[mid]
            gp = R.grades[g]
            mine = owned.get(mid, [])
            avg = sum((assets(c.client_id)[0] for c in mine), ZERO)
            equity = sum((assets(c.client_id)[2] for c in mine), ZERO)
            eacl = ea_clients.get(mid, [])
            ea = sum((R.institution_weight if c.kind == "institution" else ONE for c in eacl), ZERO)
            nmv = sum((assets(c.client_id)[1] for c in eacl), ZERO)
            nr = r2(nr_raw.get(mid, ZERO))
            if g == "trainee":
                w = R.trainee_weights
            else:
                w = R.weights
            ea_t, nmv_t, nr_t = gp["ea_target"], gp["nmv_target"], gp["nr_target"]
            num = (w["ea"] * ea * nmv_t * nr_t + w["nmv"] * nmv * ea_t * nr_t + w["nr"] * nr * ea_t * nmv_t)
            score_raw = r4(num / (ea_t * nmv_t * nr_t))
            score_applied = min(max(score_raw, R.score_floor), R.score_cap)
            fig[mid] = dict(grade=g, avg=avg, equity=equity, n_clients=len(mine), ea=ea, nmv=nmv, nr=nr,
                            ea_clients=eacl, score_raw=score_raw, score_applied=score_applied)

        # direct reports (D24)
        reports: dict[str, list[str]] = defaultdict(list)
        for mid, r in settled.items():
            if r.supervisor_id and r.supervisor_id in settled:
                reports[r.supervisor_id].append(mid)

        wd_total = self.cal.count(M.first, M.last)

        # --- releases of earlier holds (D32), for everyone with holds ---
        released: dict[str, Decimal] = defaultdict(Decimal)
        for p in self.people.values():
            keep = []
            for h in p.holds:
                st = [clients[c].status if c in clients else None for c in h.clients]
                if any(s == "malicious_confirmed" for s in st):
                    continue  # never released
                if all(s == "normal" for s in st):
                    if p.id in settled:
                        released[p.id] += h.amount
                    elif self.reading["hold-release-leaver"] == "at-refund":
                        p.pending_release += h.amount
                    continue
                keep.append(h)
            p.holds = keep

        # --- penalties of the month (X1-X4, F2) per settled manager ---
        pen_by: dict[str, list[dict]] = defaultdict(list)
        for pen in inp.penalties:
            pen_by[pen["manager_id"]].append(pen)

        # --- per settled manager ---
        flags: dict[str, set[str]] = defaultdict(set)
        for mid, r in settled.items():
            p = self.person(mid)
            f = fig[mid]
            g = f["grade"]
            gp = R.grades[g]
            L: dict[str, Decimal] = {c: ZERO for c in COMPONENTS}
            N = notes[mid]

            # yearly counters (D40)
            if p.count_year != M.year:
                p.count_year, p.personal_ytd, p.absent_ytd = M.year, ZERO, ZERO
            if p.tax_year != M.year:
                p.tax_year, p.ytd_taxable, p.ytd_tax = M.year, ZERO, ZERO

            # M7 and attendance figures (D12, D29)
            att = [a for a in inp.attendance if a["manager_id"] == mid]
            late = sum(1 for a in att if a["code"] in ("late", "early_leave"))
            sick_proof = sum((a["days"] for a in att if a["code"] == "sick_leave" and a["proof"]), ZERO)
            personal = sum((a["days"] for a in att if a["code"] == "personal_leave"
                            or (a["code"] == "sick_leave" and not a["proof"])), ZERO)
            absent_rows = [a for a in att if a["code"] == "absent"]
            absent_full = sum(1 for a in absent_rows if a["days"] == ONE)
            absent_half = sum(1 for a in absent_rows if a["days"] != ONE)
            absent_days = sum((a["days"] for a in absent_rows), ZERO)
            promo = sum((a["days"] for a in att if a["code"] == "promo_duty"), ZERO)
            events = sum((R.ms_events[e["kind"]] for e in inp.management if e["manager_id"] == mid), ZERO)
            S = R.ms_full - R.ms_sick * sick_proof - R.ms_personal * personal - R.ms_late * late - events
            S = max(S, R.ms_floor)
            f["S"] = S

            # P1/P2 (D3, D19)
            if r.tier not in gp["fixed_standard"]:
                raise ValueError(f"{mid}: tier {r.tier} has no fixed standard (D19)")
            std = gp["fixed_standard"][r.tier]
            start = max(r.hire_date, M.first)
            end = min(r.leave_date, M.last) if r.leave_date else M.last
            wd_emp = self.cal.count(start, end)
            L["fixed_pay"] = r2(std * wd_emp * S / (wd_total * 100))
            N["fixed_pay"] = f"{std} × {wd_emp}/{wd_total} × S {S}/100"
            p2 = L["fixed_pay"]

            # P3 (D10, D20)
            service = Month.of(r.hire_date).add(R.qualification_service_months) <= M
            qualified = r.qualification_date is not None and r.qualification_date <= M.last
            qf = R.qualification_factor if service and not qualified else ONE
            L["commission"] = r2(max(ZERO, f["nr"] * gp["base_rate"] * f["score_applied"] * qf))
            N["commission"] = f"NR {f['nr']} × {gp['base_rate']} × {f['score_applied']} × q {qf}"
            # P4
            L["account_bonus"] = r2(f["ea"] * R.account_bonus)
            # P5 (D21)
            leave_month = r.leave_date is not None and Month.of(r.leave_date) == M
            excess = r2(max(ZERO, f["nmv"] - gp["nmv_target"]) * R.excess_mv_rate)
            total_buy = ipo_fund = ZERO
            for c in f["ea_clients"]:
                if self.reading["D9-P5"] == "exclude" and Month.of(c.open_date) != M:
                    continue
                b = buys.get(c.client_id, {})
                total_buy += sum(b.values(), ZERO)
                ipo_fund += b.get("ipo_subscription", ZERO) + b.get("fund_open", ZERO)
            ipo_test = total_buy > 0 and ipo_fund > R.ipo_fund_share * total_buy
            if ipo_test:
                excess = ZERO
            avail = excess + p.excess_carry
            pay = avail if leave_month else min(R.excess_mv_cap, avail)
            L["excess_mv_bonus"] = pay
            N["excess_mv_bonus"] = (f"excess {excess} (ipo test {ipo_test}: {ipo_fund}/{total_buy}) + carry "
                                    f"{p.excess_carry}, carried out {avail - pay}")
            p.excess_carry = avail - pay
            # P6 (D22)
            L["fund_commission"] = r2(fund_income.get(mid, ZERO) * R.fund_commission_rate)
            # P7
            L["transport_allowance"] = r2(gp["transport"] * wd_emp / wd_total)
            # P8
            L["meal_allowance"] = r2(R.meal_allowance * promo)
            # P9 (D23)
            bonus = ZERO
            for ref in self.referrals.values():
                if ref.paid or ref.referrer != mid or ref.referred not in settled:
                    continue
                due = (Month.of(ref.date) <= M if self.reading["P9-month"] == "month" else ref.date <= M.first)
                if due and RANK[grade[ref.referred]] >= RANK["manager"]:
                    ref.paid = True
                    bonus += R.referral_bonus
                    N["referral_bonus"] = N.get("referral_bonus", "") + f" {ref.referred}"
            L["referral_bonus"] = bonus

            # T1/T2 (D10, D24)
            mkt = [x for x in reports.get(mid, []) if settled[x].position == "marketer"]
            stn = [x for x in reports.get(mid, []) if settled[x].position == "station_manager"]
            if r.position == "station_manager" or (r.position == "regional_manager" and mkt):
                s = sum((self._nr_for_team(fig, nr_raw, x) for x in mkt), ZERO)
                L["station_override"] = r2(max(ZERO, R.station_override_rate * s))
                N["station_override"] = f"0.05 × NR of {mkt} = {s}"
            if r.position == "station_manager":
                L["station_allowance"] = r2(R.station_allowance * wd_emp / wd_total)
            if r.position == "regional_manager":
                s = sum((self._nr_for_team(fig, nr_raw, x) for x in stn), ZERO)
                L["regional_override"] = r2(max(ZERO, R.regional_override_rate * s))
                N["regional_override"] = f"0.05 × NR of {stn} = {s}"
                L["regional_allowance"] = r2(R.regional_allowance * wd_emp / wd_total)

            # A1-A4 (D28, D29) and the cap
            a1 = r2(R.late_fine * late)
            a2 = r2(personal * std / R.statutory_pay_days)
            a3 = r2(sick_proof * std / R.statutory_pay_days) if sick_proof > R.sick_free_days else ZERO
            if absent_days >= R.absence_whole_fixed_days:
                a4 = p2
            else:
                a4 = r2((R.absence_full_day_rates * absent_full + R.absence_half_day_rates * absent_half)
                        * std / R.statutory_pay_days)
            L["attendance_deduction"] = -(a1 + min(a2 + a3 + a4, p2))
            N["attendance_deduction"] = f"A1 {a1} A2 {a2} ({personal}d) A3 {a3} ({sick_proof}d) A4 {a4} cap {p2}"

            earnings = ("fixed_pay", "commission", "account_bonus", "excess_mv_bonus", "fund_commission",
                        "transport_allowance", "meal_allowance", "referral_bonus", "station_override",
                        "station_allowance", "regional_override", "regional_allowance", "attendance_deduction")
            gross = sum((L[c] for c in earnings), ZERO)
            L["gross_pay"] = gross

            # TX1 (D27)
            si = ZERO
            if f["equity"] > R.si_equity_min and f["n_clients"] > R.si_clients_min and qualified:
                base = r.si_base if r.si_base is not None else std
                si = r2(base * R.si_employee_rate)
            L["social_insurance"] = -si

            # TX2/TX3 (D38, D39)
            taxable = gross - L["meal_allowance"]
            if r.contract == "agent":
                mbase = taxable * R.agent_income_factor * (ONE - R.agent_cost_share) - si - R.monthly_deduction
            else:
                mbase = taxable - si - inp.deductions.get(mid, ZERO) - R.monthly_deduction
            cum = p.ytd_taxable + mbase
            cum_tax = r2(R.annual_tax(cum))
            tax = max(ZERO, cum_tax - p.ytd_tax)
            N["income_tax"] = f"month base {mbase}; cum {cum}; cum tax {cum_tax}; withheld {p.ytd_tax}"
            p.ytd_taxable = cum
            p.ytd_tax += tax
            L["income_tax"] = -tax

            # F2 forfeits, then F1 (D35)
            forfeit_all = False
            for pen in pen_by.get(mid, []):
                if pen["kind"] == "risk_fund_forfeit":
                    if pen["amount"] is None:
                        p.balance = ZERO
                        forfeit_all = True
                    else:
                        p.balance = max(ZERO, p.balance - pen["amount"])
            cap = R.risk_caps[r.position]
            w = min(r2(R.risk_rate * gross), cap - p.balance)
            w = max(ZERO, w)
            N["risk_fund_withholding"] = f"min(5% × {gross}, {cap} − {p.balance}) forfeit_all={forfeit_all}"
            p.balance += w
            L["risk_fund_withholding"] = -w

            # X1-X4 (D31)
            fine = ZERO
            pens = sorted(pen_by.get(mid, []), key=lambda x: (x["date"], x["row"]))
            for pen in pens:
                k = pen["kind"]
                if k == "discretionary_trading":
                    p.discretionary += 1
                    if p.discretionary == 1:
                        fine += R.discretionary_first_fine
                    else:
                        flags[mid].add("dismissal")
                elif k == "malicious_account":
                    if pen["severity"] == "serious":
                        flags[mid].add("dismissal")
                    else:
                        fine += R.malicious_general_fine
                elif k in ("business_error", "loss_compensation"):
                    fine += pen["amount"]
            L["penalty"] = -r2(fine)
            # X6 (D34)
            L["management_fee"] = -r2(R.management_fee_rate * max(ZERO, gross))

            # carried deduction, holds and releases (D32, D37)
            L["deduction_carried_in"] = -p.carry
            p.carry = ZERO
            held = ZERO
            inv = frozenset(c.client_id for c in owned.get(mid, []) if c.status == "under_investigation")
            if inv:
                held = p2
                if p2 > 0:
                    p.holds.append(Hold(M, p2, inv))
            L["released_income"] = released.get(mid, ZERO) + p.pending_release
            p.pending_release = ZERO

            after = ("social_insurance", "income_tax", "risk_fund_withholding", "penalty", "management_fee",
                     "deduction_carried_in", "released_income", "risk_fund_refund", "retro_adjustment")
            net = gross + sum((L[c] for c in after), ZERO) - held
            # X5 (D33)
            if leave_month and not r.leave_approved:
                p.balance = ZERO
                p.refunded = True
                if net > 0:
                    held += net
                    net = ZERO
            L["held_income"] = -held
            if net < 0:
                L["deduction_carried_out"] = -net
                p.carry = -net
                net = ZERO
            L["net_pay"] = net
            lines[mid] = L

            # leaving (F3)
            if leave_month:
                p.leave_month = M
                if r.leave_approved:
                    p.refund_month = M.add(R.refund_after_months)

            # yearly attendance flags (A2, A5, D30)
            p.personal_ytd += personal
            p.absent_ytd += absent_days
            if p.personal_ytd > R.personal_leave_cap_days:
                flags[mid].add("personal_leave_over_cap")
            if p.absent_ytd >= R.deemed_resignation_year_days:
                flags[mid].add("deemed_resignation")
            full_dates = {a["date"] for a in absent_rows
                          if a["days"] == ONE or self.reading["A5-half"] == "counts"}
            run = best = 0
            for d in self.cal.between(M.first, M.last):
                run = run + 1 if d in full_dates else 0
                best = max(best, run)
            if best >= R.deemed_resignation_run:
                flags[mid].add("deemed_resignation")

            # the month's record
            p.recs[M] = Rec(g, f["avg"], f["ea"], f["nmv"], f["score_raw"], position=r.position,
                            supervisor=r.supervisor_id, ledger=True)
            p.recs[M].a3 = self.a3_at(p, M)
            p.last_position = r.position

        # --- refund-only leavers (F3, D1, D36, D42) ---
        for p in self.people.values():
            if p.id in settled or p.refunded or p.refund_month is None or M < p.refund_month:
                continue
            if p.disputes > 0 or (p.balance <= 0 and self.reading["refund-zero"] == "skip"):
                continue
            L = {c: ZERO for c in COMPONENTS}
            L["risk_fund_refund"] = p.balance
            L["deduction_carried_in"] = -p.carry
            L["released_income"] = p.pending_release
            net = p.balance - p.carry + p.pending_release
            p.balance = p.carry = p.pending_release = ZERO
            p.refunded = True
            if net < 0:
                L["deduction_carried_out"] = -net
                p.carry = -net
                net = ZERO
            L["net_pay"] = net
            lines[p.id] = L
            rows_out[p.id] = self._row(M, p.id, p.name, p.last_position or "", p.last_grade or "trainee",
                                       p.last_grade or "trainee", "", ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO,
                                       ZERO, set())

        # --- grades at the close of M (G2-G7, D13-D18) and team flags (T3-T5) ---
        for mid, r in settled.items():
            p = self.person(mid)
            f = fig[mid]
            g = f["grade"]
            new, rule = g, ""
            prev = M.add(-1)
            pr = p.recs.get(prev)
            prev_ok = pr is not None and (pr.grade == g or (pr.grade is None and not pr.ledger))
            m1 = self.probation_month1(r.hire_date)
            k = M - m1 + 1  # probation month index
            in_probation = g == "trainee" and 1 <= k <= R.probation_months
            in_probation_or_0 = g == "trainee" and k <= R.probation_months and M >= Month.of(r.hire_date)
            a3m = self.a3_at(p, M)
            a3p = self.a3_at(p, prev) if pr is not None else None
            g3 = g4 = g4_trainee = False
            if prev_ok and not in_probation_or_0:
                if g != "trainee":
                    g3 = a3m < self.threshold(g) and a3p < self.threshold(g)  # type: ignore[operator]
                    g4 = (f["score_raw"] < R.demotion_score and pr.score_raw is not None
                          and pr.score_raw < R.demotion_score)
                if g3 or g4:
                    cands = []
                    if g3:
                        cands.append(self.grade_by_assets(a3m))  # type: ignore[arg-type]
                    if g4:
                        cands.append(GRADES[RANK[g] - 1])
                    new = min(cands, key=lambda x: RANK[x])
                    rule = "G3+G4" if g3 and g4 else ("G3" if g3 else "G4")
                    if g4 and new == "trainee":
                        g4_trainee = True
                elif g != "chief":
                    nxt = GRADES[RANK[g] + 1]
                    if a3m >= self.threshold(nxt) and a3p >= self.threshold(nxt):  # type: ignore[operator]
                        new, rule = nxt, "G2"
            # G5
            if in_probation and k in (2, 3):
                scores = []
                for i in range(k):
                    rec = p.recs.get(m1.add(i))
                    if rec is not None and rec.score_raw is not None:
                        scores.append(rec.score_raw)
                mean = sum(scores, ZERO) / len(scores) if scores else None
                if k == 2 and mean is not None and mean >= R.early_conversion_mean:
                    flags[mid].add("early_conversion_candidate")
                if k == 3:
                    if mean is not None and mean >= R.conversion_mean:
                        new, rule = "assistant", "G5"
                    else:
                        flags[mid].add("termination_right")
                        if self.reading["G5-fail-rule"] == "G5":
                            rule = "G5"
            # G6 (D16)
            win = [p.recs.get(M.add(-i)) for i in (2, 1, 0)]
            if all(x is not None for x in win):
                mea = sum((x.ea for x in win), ZERO) / 3  # type: ignore[union-attr]
                mnmv = sum((x.nmv for x in win), ZERO) / 3  # type: ignore[union-attr]
                if mea < R.low_activity_ea and mnmv < R.low_activity_nmv:
                    flags[mid].add("termination_right")
            # G7
            if mid in inp.overrides:
                new, rule = inp.overrides[mid], "G7"
            if g4_trainee and (self.reading["G4-flag-override"] == "before-override" or new == "trainee"):
                flags[mid].add("termination_right")
            p.grade_next = new
            p.last_grade = new if self.reading["refund-row"] == "ledger" else g  # READING refund-row
            f["grade_next"], f["grade_rule"] = new, rule

            # T3 (D18)
            if r.position == "marketer":
                blank_ok = self.reading["T3-blank"] == "passes"
                ok = all((x is not None and ((x.grade is None and blank_ok)
                                             or (x.grade is not None and RANK[x.grade] >= RANK["manager"])))
                         for x in win)
                if ok and f["avg"] >= R.station_candidate_assets:
                    flags[mid].add("station_manager_candidate")

        # T4 (D25) then T5 (D26)
        for mid, r in settled.items():
            if r.position != "station_manager":
                continue
            if r.position_since is not None and M < Month.of(r.position_since).add(R.station_grace_months):
                continue
            ok_reports = True
            ea_months = []
            for m in (M.add(-2), M.add(-1), M):
                members = self.team_of(mid, m, M)  # READING T4-team
                n_ok = sum(1 for x in members if x.recs[m].grade is not None
                           and RANK[x.recs[m].grade] >= RANK["assistant"])
                own_settled = m in self.person(mid).recs and self.person(mid).recs[m].ledger
                if self.reading["T4-team"] == "skip" and not own_settled:
                    continue
                if n_ok < R.station_min_reports or (self.reading["T4-team"] == "fail" and not own_settled):
                    ok_reports = False
                have = [x.recs[m].ea for x in [self.person(mid), *members] if m in x.recs]
                if have:
                    ea_months.append(sum(have, ZERO))
            mean_ea = sum(ea_months, ZERO) / len(ea_months)
            notes[mid]["T4"] = f"reports ok {ok_reports}; station EA by month {ea_months}"
            if not ok_reports or mean_ea < R.station_min_ea:
                flags[mid].add("revoke_station_manager")
        for mid, r in settled.items():
            if r.position != "regional_manager":
                continue
            qualified = [x for x in reports.get(mid, []) if settled[x].position == "station_manager"
                         and "revoke_station_manager" not in flags[x]]
            if fig[mid]["avg"] < R.regional_min_assets or len(qualified) < R.regional_min_stations:
                flags[mid].add("revoke_regional_manager")

        for mid, r in settled.items():
            f = fig[mid]
            p = self.person(mid)
            rows_out[mid] = self._row(M, mid, r.name, r.position, f["grade"], f["grade_next"], f["grade_rule"],
                                      f["avg"], p.recs[M].a3, f["ea"], f["nmv"], f["nr"], f["score_raw"],
                                      f["score_applied"], f["S"], flags[mid])

        return MonthResult(str(M), lines, rows_out, dict(notes))

    def team_of(self, mid: str, m: Month, M: Month) -> list[Person]:
        """T4: the direct reports of month m that have a record for m.

        A settled month: D24 applied to that month (the people settled then with this supervisor). A month
        before the ledger has no roster: the direct reports of M (the month being settled) stand in for it."""
        if m >= self.first:  # type: ignore[operator]
            members = [x for x in self.people.values() if m in x.recs and x.recs[m].ledger
                       and x.recs[m].supervisor == mid]
        else:
            base = self.first if self.reading["T4-team"] == "first" else M
            members = [x for x in self.people.values() if base in x.recs and x.recs[base].ledger  # type: ignore
                       and x.recs[base].supervisor == mid and m in x.recs]  # type: ignore[index]
        return members

    def _nr_for_team(self, fig: dict, nr_raw: dict, x: str) -> Decimal:  # READING T1-sum
        return fig[x]["nr"] if self.reading["T1-sum"] == "rounded" else nr_raw.get(x, ZERO)

    def _latest_history_grade(self, p: Person) -> str | None:
        hist = sorted((m, rec) for m, rec in p.recs.items() if not rec.ledger)  # READING history-grade
        if self.reading["history-grade"] == "latest-known":
            hist = [(m, rec) for m, rec in hist if rec.grade]
        return hist[-1][1].grade if hist else None

    @staticmethod
    def _row(M: Month, mid: str, name: str, position: str, g: str, g_next: str, rule: str, avg: Decimal,
             a3: Decimal | None, ea: Decimal, nmv: Decimal, nr: Decimal, score_raw: Decimal,
             score_applied: Decimal, S: Decimal, flags: set[str]) -> dict[str, str]:
        return {
            "month": str(M), "manager_id": mid, "name": name, "position": position, "grade_in_effect": g,
            "grade_next": g_next, "grade_rule": rule, "avg_assets": str(r2(avg)), "a3": str(r2(a3 or ZERO)),
            "ea": str(int(ea)), "nmv": str(r2(nmv)), "net_revenue": str(r2(nr)), "score_raw": str(r4(score_raw)),
            "score_applied": str(r4(score_applied)), "management_score": str(r1(S)),
            "flags": ";".join(sorted(flags)),
        }


def run_reference(data_dir: Path, first: str, last: str, rules: Path = DEFAULT_RULES,
                  readings: dict[str, str] | None = None) -> dict[str, MonthResult]:
    return Reference(rules, readings).run(Path(data_dir), first, last)


if __name__ == "__main__":  # python -m tests.reference.rulebook DATA FIRST LAST
    import sys

    res = run_reference(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
    for month, mr in res.items():
        for (mid, comp), v in sorted(mr.nonzero_lines().items()):
            print(month, mid, comp, v)
        for row in mr.managers.values():
            print(",".join(row[c] for c in MANAGER_COLUMNS))
