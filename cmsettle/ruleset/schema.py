"""The rule-set schema (pydantic): every RULEBOOK *param* and §9 table, strictly typed.

Unknown keys are rejected (``extra="forbid"``), numbers are ``Decimal`` (the YAML loader never makes
floats), and the cross-field checks of issue 4 live in validators that name what was expected.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cmsettle.model import GRADES, MANAGEMENT_KINDS, POSITIONS
from cmsettle.months import Month

Rate = Annotated[Decimal, Field(ge=0, le=1)]
Amount = Annotated[Decimal, Field(ge=0)]
Positive = Annotated[Decimal, Field(gt=0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metrics(Strict):
    institution_weight: Annotated[int, Field(ge=1)]
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
            raise ValueError(f"score floor {self.floor} is above its cap {self.cap}; expected floor <= cap")
        return self


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
        unknown = sorted(set(v) - set(MANAGEMENT_KINDS))
        missing = sorted(set(MANAGEMENT_KINDS) - set(v))
        if unknown:
            raise ValueError(f"unknown management event(s) {unknown}; expected one of {list(MANAGEMENT_KINDS)}")
        if missing:
            raise ValueError(f"missing management event(s) {missing}")
        return v

    @model_validator(mode="after")
    def _floor_below_full(self) -> "ManagementScore":
        if self.floor > self.full:
            raise ValueError(f"management score floor {self.floor} is above full marks {self.full}")
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
            raise ValueError("a grade needs at least one tier's fixed standard")
        return v


class Grades(Strict):
    trainee: GradeRow
    assistant: GradeRow
    manager: GradeRow
    senior: GradeRow
    chief: GradeRow

    @model_validator(mode="after")
    def _increasing(self) -> "Grades":
        previous = None
        for g in GRADES:
            t = getattr(self, g).threshold
            if previous is not None and t <= previous[1]:
                raise ValueError(
                    f"grade thresholds must increase with grade: {g} {t} is not above {previous[0]} {previous[1]}"
                )
            previous = (g, t)
        return self

    def row(self, grade: str) -> GradeRow:
        return getattr(self, grade)


class Grading(Strict):
    demotion_score: Amount
    probation_months: Annotated[int, Field(ge=1)]
    probation_hire_day: Annotated[int, Field(ge=1, le=31)]
    conversion_mean: Amount
    early_conversion_mean: Amount
    low_activity_ea: Amount
    low_activity_nmv: Amount


class Earnings(Strict):
    qualification_factor: Rate
    qualification_service_months: Annotated[int, Field(ge=0)]
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
    station_grace_months: Annotated[int, Field(ge=0)]
    station_min_reports: Annotated[int, Field(ge=0)]
    station_min_ea: Amount
    regional_min_assets: Amount
    regional_min_stations: Annotated[int, Field(ge=0)]


class Attendance(Strict):
    late_fine: Amount
    statutory_pay_days: Positive
    personal_leave_cap_days: Amount
    sick_free_days: Amount
    absence_whole_fixed_days: Amount
    absence_full_day_rates: Amount
    absence_half_day_rates: Amount
    deemed_resignation_run: Annotated[int, Field(ge=1)]
    deemed_resignation_year_days: Amount


class Penalties(Strict):
    discretionary_first_fine: Amount
    malicious_general_fine: Amount
    business_error_min: Amount
    business_error_max: Amount
    management_fee_rate: Annotated[Decimal, Field(ge=0, le=Decimal("0.05"))]

    @model_validator(mode="after")
    def _range(self) -> "Penalties":
        if self.business_error_min > self.business_error_max:
            raise ValueError("business_error_min is above business_error_max")
        return self


class RiskFund(Strict):
    rate: Rate
    caps: dict[str, Amount]
    refund_after_months: Annotated[int, Field(ge=0)]

    @field_validator("caps")
    @classmethod
    def _positions(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        unknown = sorted(set(v) - set(POSITIONS))
        missing = sorted(set(POSITIONS) - set(v))
        if unknown:
            raise ValueError(f"unknown position(s) {unknown}; expected {list(POSITIONS)}")
        if missing:
            raise ValueError(f"missing cap for position(s) {missing}")
        return v


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
    clients_min: Annotated[int, Field(ge=0)]
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
        if not v or v[-1].upto is not None:
            raise ValueError("the last tax bracket must have upto: null (no upper bound)")
        bounds = [b.upto for b in v[:-1]]
        if any(b is None for b in bounds) or bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError("tax brackets must have increasing upper bounds")
        return v


class Payday(Strict):
    day: Annotated[int, Field(ge=1, le=28)]


class Records(Strict):
    retention_years: Annotated[int, Field(ge=5)]


class CalendarYear(Strict):
    holidays: list[date] = []
    workdays: list[date] = []


class RuleSet(Strict):
    id: Annotated[str, Field(min_length=1)]
    effective_from: str
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
            raise ValueError(f"effective_from {v!r} is not a month; expected YYYY-MM") from None

    @model_validator(mode="after")
    def _calendar_years(self) -> "RuleSet":
        for year, cal in self.calendar.items():
            for d in [*cal.holidays, *cal.workdays]:
                if d.year != year:
                    raise ValueError(f"calendar {year}: date {d} belongs to another year")
        return self

    @property
    def month(self) -> Month:
        return Month.parse(self.effective_from)
