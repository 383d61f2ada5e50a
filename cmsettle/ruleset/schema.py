"""The rule-set schema (pydantic): every RULEBOOK *param* and §9 table, strictly typed.

Unknown keys are rejected (``extra="forbid"``), numbers are ``Decimal`` (the YAML loader never makes
floats, and a float, a quoted number or a boolean given where a number belongs is refused), and the
cross-field checks of issue 4 live in validators. A validator reports through :class:`RuleValueError`,
which carries, per problem, the key path below the validated node, the message and what was expected,
so the loader can point at the exact line (``grades.senior.threshold``, not just ``grades``).
:func:`expected_at` and :func:`keys_at` describe what a key path accepts, for every other error.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.fields import FieldInfo

from cmsettle.model import GRADES, MANAGEMENT_KINDS, POSITIONS
from cmsettle.months import Month


@dataclass(frozen=True)
class RuleIssue:
    """One problem found by a validator: ``at`` is the key path below the node being validated."""

    message: str
    at: tuple[str | int, ...] = ()
    expected: str | None = None
    value: object = None


class RuleValueError(ValueError):
    """Raised by the validators below; pydantic keeps it in ``ctx["error"]`` for the loader to unpack."""

    def __init__(self, *issues: RuleIssue):
        self.issues = issues
        super().__init__("; ".join(i.message for i in issues))

    @classmethod
    def one(cls, message: str, *, at: tuple[str | int, ...] = (), expected: str | None = None,
            value: object = None) -> "RuleValueError":
        return cls(RuleIssue(message, at, expected, value))


def _number(value: object) -> object:
    """Numbers come from the YAML loader as int or Decimal; text, booleans and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        if isinstance(value, str):
            raise RuleValueError.one("wrong type: text, not a number (write numbers without quotes)",
                                     value=value)
        raise RuleValueError.one(f"wrong type: {type(value).__name__}, not an exact number", value=value)
    return value


Number = Annotated[Decimal, BeforeValidator(_number)]
Rate = Annotated[Number, Field(ge=0, le=1, description="a rate from 0 to 1 (0.05 is 5%)")]
Amount = Annotated[Number, Field(ge=0)]
Positive = Annotated[Number, Field(gt=0)]
Count = Annotated[int, Field(strict=True, ge=0)]
CountFrom1 = Annotated[int, Field(strict=True, ge=1)]


def _listing(names: typing.Iterable[object]) -> str:
    return ", ".join(str(n) for n in names)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metrics(Strict):
    institution_weight: CountFrom1
    effective_threshold: Amount
    revenue_tax_rate: Rate
    regulatory_fee_rate: Rate


class Weights(Strict):
    ea: Rate
    nmv: Rate
    nr: Rate


class Score(Strict):
    weights: Weights
    trainee_weights: Weights
    floor: Amount
    cap: Amount

    @model_validator(mode="after")
    def _floor_below_cap(self) -> "Score":
        if self.floor > self.cap:
            raise RuleValueError.one(f"score floor {self.floor} is above its cap {self.cap}", at=("floor",),
                                     expected=f"floor <= cap (M6 clamp), here at most {self.cap}")
        return self


def _closed_table(v: dict[str, Decimal], names: tuple[str, ...], what: str) -> dict[str, Decimal]:
    """A table keyed by a closed set of names: every name once, nothing else."""
    issues = [RuleIssue(f"unknown {what} {k!r}", (k,), f"one of: {_listing(names)}")
              for k in v if k not in names]
    missing = [n for n in names if n not in v]
    if missing:
        issues.append(RuleIssue(f"missing {what}(s): {_listing(missing)}", (),
                                f"an entry for each of: {_listing(names)}"))
    if issues:
        raise RuleValueError(*issues)
    return v


class ManagementScore(Strict):
    full: Amount
    floor: Amount
    sick_leave_day: Amount
    personal_leave_day: Amount
    late_or_early: Amount
    events: dict[str, Amount]

    @field_validator("events")
    @classmethod
    def _all_kinds(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        return _closed_table(v, MANAGEMENT_KINDS, "management event")

    @model_validator(mode="after")
    def _floor_below_full(self) -> "ManagementScore":
        if self.floor > self.full:
            raise RuleValueError.one(f"management score floor {self.floor} is above full marks {self.full}",
                                     at=("floor",), expected=f"floor <= full (M7), here at most {self.full}")
        return self


class GradeRow(Strict):
    threshold: Amount
    fixed_standard: dict[int, Amount]
    base_rate: Rate
    ea_target: Positive  # D11 targets > 0
    nmv_target: Positive
    nr_target: Positive
    transport: Amount

    @field_validator("fixed_standard")
    @classmethod
    def _has_tier(cls, v: dict[int, Decimal]) -> dict[int, Decimal]:
        if not v:
            raise RuleValueError.one("no tier",
                                     expected="at least one tier's fixed standard, e.g. {1: 1500} (P1)")
        bad = [RuleIssue(f"tier {t} is not a tier number", (t,), "tiers numbered 1, 2, ...", t)
               for t in v if t < 1]
        if bad:
            raise RuleValueError(*bad)
        return v


class Grades(Strict):
    trainee: GradeRow
    assistant: GradeRow
    manager: GradeRow
    senior: GradeRow
    chief: GradeRow

    @model_validator(mode="after")
    def _increasing(self) -> "Grades":
        issues = []
        for lower, higher in zip(GRADES, GRADES[1:]):
            t0, t1 = getattr(self, lower).threshold, getattr(self, higher).threshold
            if t1 <= t0:
                issues.append(RuleIssue(
                    f"grade thresholds must increase with grade: {higher} {t1} is not above {lower} {t0}",
                    (higher, "threshold"), f"a threshold above {t0} (G1: {' < '.join(GRADES)})", t1,
                ))
        if issues:
            raise RuleValueError(*issues)
        return self

    def row(self, grade: str) -> GradeRow:
        return getattr(self, grade)


class Grading(Strict):
    demotion_score: Amount
    probation_months: CountFrom1
    probation_hire_day: Annotated[int, Field(strict=True, ge=1, le=31)]
    conversion_mean: Amount
    early_conversion_mean: Amount
    low_activity_ea: Amount
    low_activity_nmv: Amount


class Earnings(Strict):
    qualification_factor: Rate
    qualification_service_months: Count
    account_bonus: Amount
    excess_mv_rate: Rate
    excess_mv_cap: Amount
    ipo_fund_share: Rate
    fund_commission_rate: Rate
    meal_allowance: Amount
    referral_bonus: Amount


class Teams(Strict):
    station_override_rate: Rate
    station_allowance: Amount
    regional_override_rate: Rate
    regional_allowance: Amount
    station_candidate_assets: Amount
    station_grace_months: Count
    station_min_reports: Count
    station_min_ea: Amount
    regional_min_assets: Amount
    regional_min_stations: Count


class Attendance(Strict):
    late_fine: Amount
    statutory_pay_days: Positive
    personal_leave_cap_days: Amount
    sick_free_days: Amount
    absence_whole_fixed_days: Amount
    absence_full_day_rates: Amount
    absence_half_day_rates: Amount
    deemed_resignation_run: CountFrom1
    deemed_resignation_year_days: Amount


class Penalties(Strict):
    discretionary_first_fine: Amount
    malicious_general_fine: Amount
    business_error_min: Amount
    business_error_max: Amount
    management_fee_rate: Annotated[Number, Field(ge=0, le=Decimal("0.05"),
                                                 description="a rate from 0 to 0.05 (X6: at most 5%)")]

    @model_validator(mode="after")
    def _range(self) -> "Penalties":
        if self.business_error_min > self.business_error_max:
            raise RuleValueError.one(
                f"business_error_min {self.business_error_min} is above business_error_max "
                f"{self.business_error_max}", at=("business_error_min",),
                expected=f"business_error_min <= business_error_max (X3), "
                         f"here at most {self.business_error_max}",
            )
        return self


class RiskFund(Strict):
    rate: Rate
    caps: dict[str, Amount]
    refund_after_months: Count

    @field_validator("caps")
    @classmethod
    def _positions(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        return _closed_table(v, POSITIONS, "position")


class SiRates(Strict):
    pension: Rate
    medical: Rate
    unemployment: Rate
    housing_fund: Rate

    @property
    def total(self) -> Decimal:
        return self.pension + self.medical + self.unemployment + self.housing_fund


class SocialInsurance(Strict):
    equity_assets_min: Amount
    clients_min: Count
    employee_rates: SiRates
    employer_rates: SiRates
    accident_insurance_per_year: Amount


class Bracket(Strict):
    upto: Amount | None
    rate: Rate
    quick: Amount


class Tax(Strict):
    monthly_deduction: Amount
    agent_income_factor: Rate
    agent_cost_share: Rate
    brackets: list[Bracket]

    @field_validator("brackets")
    @classmethod
    def _ordered(cls, v: list[Bracket]) -> list[Bracket]:
        if not v:
            raise RuleValueError.one("no tax bracket",
                                     expected="the TX2 annual table, the last with upto: null")
        issues = []
        if v[-1].upto is not None:
            issues.append(RuleIssue("the last tax bracket has an upper bound", (len(v) - 1, "upto"),
                                    "upto: null (no upper bound) in the last bracket", v[-1].upto))
        previous = None
        for i, b in enumerate(v[:-1]):
            if b.upto is None:
                issues.append(RuleIssue("only the last tax bracket may be unbounded", (i, "upto"),
                                        "an upper bound (a number)"))
                continue
            if previous is not None and b.upto <= previous:
                issues.append(RuleIssue(
                    f"tax bracket upper bound {b.upto} is not above the previous {previous}",
                    (i, "upto"), f"increasing upper bounds, here above {previous}", b.upto,
                ))
            previous = b.upto
        if issues:
            raise RuleValueError(*issues)
        return v


class Payday(Strict):
    day: Annotated[int, Field(strict=True, ge=1, le=28)]


class Records(Strict):
    retention_years: Annotated[int, Field(strict=True, ge=5)]  # O5: never below 5


class CalendarYear(Strict):
    holidays: list[Annotated[date, Field(strict=True)]] = []
    workdays: list[Annotated[date, Field(strict=True)]] = []


class RuleSet(Strict):
    id: Annotated[str, Field(min_length=1)]
    effective_from: Annotated[str, Field(description="a month YYYY-MM, e.g. 2024-05")]
    description: str = ""
    metrics: Metrics
    score: Score
    management_score: ManagementScore
    grades: Grades
    grading: Grading
    earnings: Earnings
    teams: Teams
    attendance: Attendance
    penalties: Penalties
    risk_fund: RiskFund
    social_insurance: SocialInsurance
    tax: Tax
    payday: Payday
    records: Records
    calendar: dict[int, CalendarYear] = {}

    @field_validator("effective_from", mode="before")
    @classmethod
    def _month(cls, v: object) -> str:
        try:
            return str(Month.parse(str(v)))
        except ValueError:
            raise RuleValueError.one("not a month", expected="a month YYYY-MM, e.g. 2024-05",
                                     value=v) from None

    @field_validator("calendar")
    @classmethod
    def _calendar_years(cls, v: dict[int, CalendarYear]) -> dict[int, CalendarYear]:
        """D44: each year lists its own dates, and no date is both a holiday and a workday."""
        issues = []
        for year, cal in v.items():
            for part in ("holidays", "workdays"):
                for i, d in enumerate(getattr(cal, part)):
                    if d.year != year:
                        issues.append(RuleIssue(f"calendar {year}: date {d} belongs to another year",
                                                (year, part, i), f"a date in {year}", d))
            for d in sorted(set(cal.holidays) & set(cal.workdays)):
                issues.append(RuleIssue(
                    f"calendar {year}: {d} is both a holiday and a workday",
                    (year, "workdays", cal.workdays.index(d)), "each date in one list only", d,
                ))
        if issues:
            raise RuleValueError(*issues)
        return v

    @property
    def month(self) -> Month:
        return Month.parse(self.effective_from)


# What a key path accepts, for error messages (the loader) ---------------------------------------------------

def _unwrap(tp: object, meta: list[object]) -> tuple[object, list[object]]:
    """Strip ``Annotated`` and ``X | None`` (nullability is described by the caller)."""
    meta = list(meta)
    while get_origin(tp) is Annotated:
        base, *extra = get_args(tp)
        for m in extra:
            meta.extend(m.metadata if isinstance(m, FieldInfo) else [m])
            if isinstance(m, FieldInfo) and m.description:
                meta.append(m)
        tp = base
    return tp, meta


def _non_null(tp: object) -> tuple[object, bool]:
    if get_origin(tp) in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return members[0], True
    return tp, False


def _step(tp: object, meta: list[object], segment: str | int) -> tuple[object, list[object]] | None:
    tp, _ = _non_null(_unwrap(tp, meta)[0])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        info = tp.model_fields.get(str(segment))
        if info is None:
            return None
        return info.annotation, [*info.metadata, *([info] if info.description else [])]
    origin, args = get_origin(tp), get_args(tp)
    if origin is dict:
        return (args[0], []) if segment == "[key]" else (args[1], [])
    if origin is list:
        return args[0], []
    return None


def _type_at(loc: tuple) -> tuple[object, list[object]] | None:
    here: tuple[object, list[object]] | None = (RuleSet, [])
    for segment in loc:
        if here is None:
            return None
        here = _step(*here, segment)
    return here


def _range(meta: list[object]) -> str:
    bounds = {}
    for m in meta:
        for name in ("ge", "gt", "le", "lt"):
            if isinstance(m, getattr(annotated_types, name.capitalize())):
                bounds[name] = getattr(m, name)
    if "ge" in bounds and "le" in bounds:
        return f" from {bounds['ge']} to {bounds['le']}"
    symbols = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
    parts = [f"{sym} {bounds[k]}" for k, sym in symbols if k in bounds]
    return " " + " and ".join(parts) if parts else ""


def _describe(tp: object, meta: list[object]) -> str:
    tp, meta = _unwrap(tp, meta)
    for m in meta:
        if isinstance(m, FieldInfo) and m.description:
            return m.description
    tp, nullable = _non_null(tp)
    if nullable:
        return _describe(tp, meta) + ", or null"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"a mapping with the keys {_listing(tp.model_fields)}"
    origin, args = get_origin(tp), get_args(tp)
    if origin is dict:
        keys = "whole numbers" if args[0] is int else "names"
        return f"a mapping from {keys} to values, each {_describe(args[1], [])}"
    if origin is list:
        return f"a list, each item {_describe(args[0], [])}"
    if tp is Decimal:
        return "a number" + _range(meta)
    if tp is int:
        return "a whole number" + _range(meta)
    if tp is date:
        return "a date YYYY-MM-DD"
    if tp is str:
        return "text" + (" (not empty)" if any(isinstance(m, annotated_types.MinLen) for m in meta) else "")
    return getattr(tp, "__name__", str(tp))


def expected_at(loc: tuple) -> str | None:
    """What the rule set accepts at a key path, in words (``None`` for a path the schema does not know).

    pydantic reports a bad mapping key as ``(..., key, "[key]")``: that describes the key's type.
    """
    loc = tuple(loc)
    if loc[-1:] == ("[key]",):
        loc = (*loc[:-2], "[key]")
    here = _type_at(loc)
    return None if here is None else _describe(*here)


def keys_at(loc: tuple) -> list[str] | None:
    """The keys allowed in the mapping at a key path, when that mapping is a schema section."""
    here = _type_at(tuple(loc))
    if here is None:
        return None
    tp, _ = _non_null(_unwrap(*here)[0])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return None
