"""Income tax by the cumulative withholding method: RULEBOOK TX2 (employee), TX3 (agent), D38-D40."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cmsettle.money import ZERO, fen, fmt_money, fmt_num
from cmsettle.ruleset.schema import RuleSet, Tax


def cumulative_tax(base: Decimal, tax: Tax) -> tuple[Decimal, str]:
    """Tax on a cumulative base from the annual table, on max(0, base), rounded to 0.01 (D38, D41)."""
    b = max(ZERO, base)
    for br in tax.brackets:
        if br.upto is None or b <= br.upto:
            value = fen(b * br.rate - br.quick)
            return max(ZERO, value), f"{fmt_money(b)} × {fmt_num(br.rate)} − {fmt_money(br.quick)} = {fmt_money(value)}"
    raise AssertionError("validated tax table has an open last bracket")


@dataclass(frozen=True)
class TaxResult:
    month_base: Decimal  # this month's contribution to the cumulative base (not rounded)
    ytd_taxable: Decimal  # cumulative base after this month
    cumulative_tax: Decimal
    income_tax: Decimal  # withheld this month
    ytd_tax: Decimal  # withheld this year after this month
    rule: str
    detail: str


def income_tax(
    *,
    contract: str,
    gross_pay: Decimal,
    meal_allowance: Decimal,
    social_insurance: Decimal,
    special_deductions: Decimal,
    ytd_taxable: Decimal,
    ytd_tax: Decimal,
    rules: RuleSet,
) -> TaxResult:
    t = rules.tax
    taxable = gross_pay - meal_allowance
    if contract == "agent":  # TX3/D39: income × 0.8 × (1 − 25%); special deductions not applied
        share = t.agent_income_factor * (1 - t.agent_cost_share)
        base = taxable * share - social_insurance - t.monthly_deduction
        rule = "TX3"
        text = (f"({fmt_money(gross_pay)} − meal {fmt_money(meal_allowance)}) × {fmt_num(t.agent_income_factor)} × "
                f"{fmt_num(1 - t.agent_cost_share)} − SI {fmt_money(social_insurance)} − {fmt_money(t.monthly_deduction)}")
    else:  # TX2
        base = taxable - social_insurance - special_deductions - t.monthly_deduction
        rule = "TX2"
        text = (f"{fmt_money(gross_pay)} − meal {fmt_money(meal_allowance)} − SI {fmt_money(social_insurance)} − "
                f"special {fmt_money(special_deductions)} − {fmt_money(t.monthly_deduction)}")
    cum_base = ytd_taxable + base
    cum_tax, cum_text = cumulative_tax(cum_base, t)
    this = max(ZERO, cum_tax - ytd_tax)
    detail = (f"month base {text} = {fmt_money(base)}; cumulative base {fmt_money(cum_base)}; "
              f"cumulative tax {cum_text}; − withheld {fmt_money(ytd_tax)} = {fmt_money(cum_tax - ytd_tax)}")
    if this != cum_tax - ytd_tax:
        detail += " → 0 (no refund during the year)"
    return TaxResult(base, cum_base, cum_tax, this, ytd_tax + this, rule, detail)
