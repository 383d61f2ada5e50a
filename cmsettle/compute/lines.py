"""Pay lines: every amount with the rule that made it and the formula with its figures."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# DATA.md component names, in the order lines are written.
COMPONENTS = (
    "fixed_pay", "commission", "account_bonus", "excess_mv_bonus", "fund_commission", "transport_allowance",
    "meal_allowance", "referral_bonus", "station_override", "station_allowance", "regional_override",
    "regional_allowance", "attendance_deduction", "gross_pay", "social_insurance", "income_tax",
    "risk_fund_withholding", "penalty", "management_fee", "deduction_carried_in", "held_income",
    "released_income", "risk_fund_refund", "retro_adjustment", "deduction_carried_out", "net_pay",
)
ORDER = {c: i for i, c in enumerate(COMPONENTS)}

# Components that make up gross pay (N1) and those taken after tax (N2).
EARNINGS = COMPONENTS[: COMPONENTS.index("gross_pay")]
AFTER_TAX = COMPONENTS[COMPONENTS.index("gross_pay") + 1 : COMPONENTS.index("net_pay")]


@dataclass(frozen=True)
class PayLine:
    manager_id: str
    component: str
    amount: Decimal  # rounded to the fen; deductions negative
    rule: str
    detail: str

    def __post_init__(self) -> None:
        if self.component not in ORDER:
            raise ValueError(f"unknown pay component {self.component!r}")
