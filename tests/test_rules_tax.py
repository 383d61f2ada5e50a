"""Worked examples for RULEBOOK §7 social insurance and tax: TX1-TX3 with D27, D32, D38, D39, D40.

Every figure is derived by hand from the RULEBOOK; the arithmetic is in the comments.

Annual table (TX2): ≤36,000 3% − 0; ≤144,000 10% − 2,520; ≤300,000 20% − 16,920; ...
Cumulative tax is computed on max(0, base) and rounded to 0.01 (D38); month's tax = max(0, cumulative tax −
tax withheld this year).

Common ground (unless a test says otherwise):
- `trainee` grade marketer hired 2015, never regraded (no assets): P2 1,500 + P7 120 = 1,620; income is
  added with P6 fund commission = 0.20 × commission income of fund sales of its client.
- `manager` grade: P2 2,500 + P7 200 = 2,700.
"""

import re
from decimal import Decimal

from tests.builders import MonthBuilder, d, line, rules_with

D = Decimal


def comps(res, mid):  # noqa: ANN001, ANN201
    return {ln.component: ln.amount for ln in res.lines_of(mid)}


def rule_of(res, mid, component):  # noqa: ANN001, ANN201
    return next(ln.rule for ln in res.lines_of(mid) if ln.component == component)


def with_fund(b: MonthBuilder, mid: str, income: str | None) -> MonthBuilder:
    """A client of `mid` and (when income is given) a fund sale with that commission income."""
    b.client(f"F{mid}", mid)
    if income:
        b.fund_sale(f"F{mid}", "1000000", income)
    return b


def many_clients(b: MonthBuilder, mid: str, n: int, equity_each: str, status: str = "normal") -> MonthBuilder:
    for i in range(n):
        b.client(f"{mid}-{status[:3]}-{i}", mid, equity_assets=equity_each, status=status)
    return b


# ---- TX1 social insurance (D27) ---------------------------------------------------------------------------


def test_social_insurance_eligibility():
    # TX1/D27: equity of the clients > 6,000,000 and clients > 60 and qualification_date ≤ 31 May 2024.
    # Employee part = round(si_base × 17.5%) with si_base default = the grade's standard 2,500 → 437.50.
    b = MonthBuilder("2024-05")
    # Y: 61 clients × 100,000 = 6,100,000 → eligible. net 2,700 − 437.50 − F1 135 = 2,127.50 (tax 0).
    b.manager("Y", grade="manager")
    many_clients(b, "Y", 61, "100000")
    # C60: 60 clients × 110,000 = 6,600,000 but only 60 clients (not > 60) → not eligible.
    b.manager("C60", grade="manager")
    many_clients(b, "C60", 60, "110000")
    # EQ: 61 clients, 60 × 100,000 + 1 × 0 = 6,000,000 (not > 6,000,000) → not eligible.
    b.manager("EQ", grade="manager")
    many_clients(b, "EQ", 60, "100000")
    b.client("EQ-zero", "EQ", equity_assets="0")
    # QL: qualified 1 June 2024, after the end of May → not eligible; QN: never qualified → not eligible.
    b.manager("QL", grade="manager", qualified="2024-06-01")
    many_clients(b, "QL", 61, "100000")
    b.manager("QN", grade="manager", qualified=None)
    many_clients(b, "QN", 61, "100000")
    # QD: qualified on 31 May 2024 (on or before the end of M) → eligible.
    b.manager("QD", grade="manager", qualified="2024-05-31")
    many_clients(b, "QD", 61, "100000")
    # AG: an agent: the contract type does not matter (D27) → eligible.
    b.manager("AG", grade="manager", contract="agent")
    many_clients(b, "AG", 61, "100000")
    # MC: 60 normal clients + 1 malicious_confirmed, all 100,000: every client owned counts (D27, D7) → 61.
    b.manager("MC", grade="manager")
    many_clients(b, "MC", 60, "100000")
    many_clients(b, "MC", 1, "100000", status="malicious_confirmed")
    # NA: 60 clients × 102,000 = 6,120,000 and one client with no assets row (zero assets, D5):
    #     61 owned → eligible.
    b.manager("NA", grade="manager")
    many_clients(b, "NA", 60, "102000")
    b.client("NA-noassets", "NA", assets=False)
    res = b.settle()
    for mid in ("Y", "QD", "AG", "MC", "NA"):
        assert line(res, mid, "social_insurance") == D("-437.50"), mid
        assert rule_of(res, mid, "social_insurance") == "TX1"
        assert line(res, mid, "net_pay") == D("2127.50"), mid
    for mid in ("C60", "EQ", "QL", "QN"):
        assert "social_insurance" not in comps(res, mid), mid
        assert line(res, mid, "net_pay") == D("2565.00"), mid


def test_social_insurance_base_from_roster_default_and_rounding():
    # D27: R has si_base 3,003 on the roster: 3,003 × 0.175 = 525.525 → 525.53 (half up).
    # P hired Thu 16 May (12 of 21 working days): default si_base is the unprorated standard 2,500 → 437.50.
    # S is `senior`: default si_base 3,500 × 0.175 = 612.50.
    b = MonthBuilder("2024-05")
    b.manager("R", grade="manager", si_base="3003")
    b.manager("P", grade="manager", hire="2024-05-16")
    b.manager("S", grade="senior")
    for mid in ("R", "P", "S"):
        many_clients(b, mid, 61, "100000")
    res = b.settle()
    assert line(res, "R", "social_insurance") == D("-525.53")
    assert line(res, "P", "social_insurance") == D("-437.50")
    assert line(res, "S", "social_insurance") == D("-612.50")
    # P: P2 2,500 × 12/21 = 1,428.57, P7 114.29 → gross 1,542.86; F1 77.14;
    # net 1,542.86 − 437.50 − 77.14 = 1,028.22.
    assert line(res, "P", "net_pay") == D("1028.22")


def test_social_insurance_is_deducted_before_tax():
    # TX1 + TX2: M eligible, fund commission 0.20 × 50,000 = 10,000 → gross 12,700.
    # base 12,700 − 437.50 − 5,000 = 7,262.50 → 3% = 217.875 → 217.88.
    # F1 5% × 12,700 = 635.00 (on gross alone). net 12,700 − 437.50 − 217.88 − 635 = 11,409.62.
    b = MonthBuilder("2024-05").manager("M", grade="manager")
    many_clients(b, "M", 61, "100000")
    with_fund(b, "M", "50000")
    res = b.settle()
    c = comps(res, "M")
    assert c["gross_pay"] == D("12700.00")
    assert c["social_insurance"] == D("-437.50")
    assert c["income_tax"] == D("-217.88")
    assert rule_of(res, "M", "income_tax") == "TX2"
    assert c["risk_fund_withholding"] == D("-635.00")
    assert c["net_pay"] == D("11409.62")


# ---- TX2 cumulative withholding (D38, D40) -----------------------------------------------------------------


def test_cumulative_withholding_from_opening_values_through_december_and_january_reset():
    # First ledger month 2024-10, opening ytd_taxable 100,000 and ytd_tax 7,480 (= 100,000 × 10% − 2,520).
    # Oct: P6 0.20 × 100,000 = 20,000 → gross 21,620; base 16,620; cumulative 116,620
    #      → 11,662 − 2,520 = 9,142.00; tax 9,142 − 7,480 = 1,662.00. F1 1,081.00. net 18,877.00.
    # Nov: gross 1,620; base −3,380; cumulative 113,240 → 8,804.00; 8,804 − 9,142 < 0 → tax 0 (no refund).
    #      F1 81.00; net 1,539.00.
    # Dec: P6 10,000 → gross 11,620; base 6,620; cumulative 119,860 → 11,986 − 2,520 = 9,466.00;
    #      tax 9,466 − 9,142 = 324.00 (the November dip is caught up). F1 581.00; net 10,715.00.
    # Jan 2025: reset (D40): base 6,620 → 198.60. F1 581.00; net 10,840.40.
    b = MonthBuilder("2024-10").manager("T", grade="trainee")
    b.open("T", ytd_taxable="100000", ytd_tax="7480", ytd_months="9")
    with_fund(b, "T", "100000")
    oct_ = b.settle()
    c = comps(oct_, "T")
    assert c["gross_pay"] == D("21620.00")
    assert c["income_tax"] == D("-1662.00")
    assert c["risk_fund_withholding"] == D("-1081.00")
    assert c["net_pay"] == D("18877.00")

    nb = with_fund(b.next(oct_), "T", None)
    nov = nb.settle()
    c = comps(nov, "T")
    assert c["gross_pay"] == D("1620.00")
    assert "income_tax" not in c
    assert c["net_pay"] == D("1539.00")

    nb = with_fund(nb.next(nov), "T", "50000")
    dec = nb.settle()
    c = comps(dec, "T")
    assert c["gross_pay"] == D("11620.00")
    assert c["income_tax"] == D("-324.00")
    assert c["net_pay"] == D("10715.00")
    assert dec.state.persons["T"].ytd_tax == D("9466.00")  # 7,480 + 1,662 + 0 + 324
    assert dec.state.persons["T"].ytd_taxable == D("119860")

    nb = with_fund(nb.next(dec), "T", "50000")
    jan = nb.settle()
    c = comps(jan, "T")
    assert c["income_tax"] == D("-198.60")
    assert c["net_pay"] == D("10840.40")


def test_cumulative_withholding_across_brackets():
    # First ledger month 2024-01; P6 0.20 × 300,000 = 60,000 each month → gross 61,620; base 56,620.
    # Jan: 56,620 → 10% − 2,520 = 3,142.00.
    # Feb: 113,240 → 11,324 − 2,520 = 8,804.00 → 8,804 − 3,142 = 5,662.00.
    # Mar: 169,860 → 20% − 16,920 = 33,972 − 16,920 = 17,052.00 → 17,052 − 8,804 = 8,248.00.
    b = with_fund(MonthBuilder("2024-01").manager("T", grade="trainee"), "T", "300000")
    jan = b.settle()
    assert line(jan, "T", "gross_pay") == D("61620.00")
    assert line(jan, "T", "income_tax") == D("-3142.00")
    nb = with_fund(b.next(jan), "T", "300000")
    feb = nb.settle()
    assert line(feb, "T", "income_tax") == D("-5662.00")
    nb = with_fund(nb.next(feb), "T", "300000")
    mar = nb.settle()
    assert line(mar, "T", "income_tax") == D("-8248.00")
    assert mar.state.persons["T"].ytd_tax == D("17052.00")


def test_special_deductions_and_meal_allowance():
    # Jan 2024: P6 20,000, 2 promo-duty days → P8 meal 2 × 20 = 40 (not taxable); gross 1,500 + 120 + 20,000
    # + 40 = 21,660; special additional deductions 3,000.
    # base 21,660 − 40 − 3,000 − 5,000 = 13,620 → 3% = 408.60. F1 5% × 21,660 = 1,083.00.
    # net 21,660 − 408.60 − 1,083 = 20,168.40.
    # Feb: gross 21,620, no deductions row: base 16,620; cumulative 30,240 → 907.20;
    #      907.20 − 408.60 = 498.60.
    b = with_fund(MonthBuilder("2024-01").manager("T", grade="trainee"), "T", "100000")
    b.attend("T", "promo_duty", "2024-01-01", "1")
    b.attend("T", "promo_duty", "2024-01-06", "1")
    b.deduct("T", "3000")
    jan = b.settle()
    c = comps(jan, "T")
    assert c["meal_allowance"] == D("40.00")
    assert c["gross_pay"] == D("21660.00")
    assert c["income_tax"] == D("-408.60")
    assert c["net_pay"] == D("20168.40")
    feb = with_fund(b.next(jan), "T", "100000").settle()
    assert line(feb, "T", "income_tax") == D("-498.60")


def test_month_with_zero_gross_still_deducts_5000():
    # D38: Z is hired Sun 30 June 2024: no working day in June → P2 0, P7 0, gross 0.00, yet the settled
    # month deducts 5,000: cumulative base −5,000 (tax on max(0, base) = 0).
    # July: P6 20,000 → gross 2,500 + 200 + 20,000 = 22,700; base 17,700; cumulative 12,700 → 3% = 381.00
    # (without June's 5,000 it would be 531.00).
    b = MonthBuilder("2024-06").manager("Z", grade="manager", hire="2024-06-30")
    june = b.settle()
    assert comps(june, "Z") == {"gross_pay": D("0.00"), "net_pay": D("0.00")}
    jul = with_fund(b.next(june), "Z", "100000").settle()
    assert line(jul, "Z", "gross_pay") == D("22700.00")
    assert line(jul, "Z", "income_tax") == D("-381.00")


def test_held_pay_taxed_in_its_month_and_not_on_release():
    # D32: May: C1 investigated → P2 2,500 held; P6 10,000 → gross 12,700 (the hold is after tax).
    # tax (12,700 − 5,000) × 3% = 231.00; F1 635.00; net 12,700 − 231 − 635 − 2,500 = 9,334.00.
    # June: C1 normal → release 2,500 (not taxed); gross 2,700; cumulative 7,700 − 2,300 = 5,400 → 162.00
    # < 231 withheld → tax 0. F1 135.00; net 2,700 − 135 + 2,500 = 5,065.00.
    b = MonthBuilder("2024-05").manager("M", grade="manager")
    b.client("C1", "M", status="under_investigation")
    with_fund(b, "M", "50000")
    may = b.settle()
    c = comps(may, "M")
    assert c["gross_pay"] == D("12700.00")
    assert c["income_tax"] == D("-231.00")
    assert c["held_income"] == D("-2500.00")
    assert c["net_pay"] == D("9334.00")
    nb = b.next(may)
    nb.client("C1", "M", status="normal")
    june = nb.settle()
    c = comps(june, "M")
    assert c["released_income"] == D("2500.00")
    assert "income_tax" not in c
    assert c["net_pay"] == D("5065.00")
    assert june.state.persons["M"].ytd_tax == D("231.00")


def test_cumulative_figures_carry_across_rule_sets():
    # D40: January under the default rules: gross 21,620, base 16,620 → 498.60.
    # February under a rule set with monthly_deduction 6,000: base 21,620 − 6,000 = 15,620;
    # cumulative 32,240 → 967.20 → 967.20 − 498.60 = 468.60.
    b = with_fund(MonthBuilder("2024-01").manager("T", grade="trainee"), "T", "100000")
    jan = b.settle()
    assert line(jan, "T", "income_tax") == D("-498.60")
    feb_b = MonthBuilder("2024-02", prior=jan.state, rules=rules_with(tax={"monthly_deduction": d("6000")}))
    feb_b.roster = list(b.roster)
    with_fund(feb_b, "T", "100000")
    feb = feb_b.settle()
    assert line(feb, "T", "income_tax") == D("-468.60")


# ---- TX3 agents (D39) --------------------------------------------------------------------------------------


def test_agent_tax_base_and_ignored_deductions():
    # TX3/D39: A (agent): gross 21,620 (P6 20,000), deductions row 2,000 ignored with a warning:
    #   base 21,620 × 0.8 × 0.75 − 5,000 = 12,972 − 5,000 = 7,972 → 3% = 239.16.
    # A2 (agent, 2 promo days): gross 21,660, meal 40 excluded: (21,660 − 40) × 0.6 − 5,000 = 7,972 → 239.16.
    # E (employee, same gross and deductions 2,000): 21,620 − 2,000 − 5,000 = 14,620 → 438.60.
    b = MonthBuilder("2024-05")
    b.manager("A", grade="trainee", contract="agent")
    b.manager("A2", grade="trainee", contract="agent")
    b.manager("E", grade="trainee")
    for mid in ("A", "A2", "E"):
        with_fund(b, mid, "100000")
    b.attend("A2", "promo_duty", "2024-05-01", "1")
    b.attend("A2", "promo_duty", "2024-05-04", "1")
    b.deduct("A", "2000")
    b.deduct("E", "2000")
    may = b.settle()
    assert line(may, "A", "income_tax") == D("-239.16")
    assert rule_of(may, "A", "income_tax") == "TX3"
    assert line(may, "A2", "gross_pay") == D("21660.00")
    assert line(may, "A2", "income_tax") == D("-239.16")
    assert line(may, "E", "income_tax") == D("-438.60")
    # the warning names the agent, not the employee
    ignored = [w for w in may.warnings if "deduction" in w.lower()]
    assert any(re.search(r"\bA\b", w) for w in ignored)
    assert not any(re.search(r"\bE\b", w) for w in ignored)
    # June, same income: cumulative 2 × 7,972 = 15,944 → 478.32 → 478.32 − 239.16 = 239.16.
    nb = b.next(may)
    with_fund(nb, "A", "100000")
    with_fund(nb, "A2", None)
    with_fund(nb, "E", None)
    june = nb.settle()
    assert line(june, "A", "income_tax") == D("-239.16")


def test_agent_with_social_insurance():
    # TX1 (contract irrelevant) + TX3: gross 2,500 + 200 + P6 10,000 = 12,700; SI 437.50;
    # base 12,700 × 0.6 − 437.50 − 5,000 = 7,620 − 5,437.50 = 2,182.50 → 3% = 65.475 → 65.48 (half up).
    # F1 635.00; net 12,700 − 437.50 − 65.48 − 635 = 11,562.02.
    b = MonthBuilder("2024-05").manager("G", grade="manager", contract="agent")
    many_clients(b, "G", 61, "100000")
    with_fund(b, "G", "50000")
    res = b.settle()
    c = comps(res, "G")
    assert c["social_insurance"] == D("-437.50")
    assert c["income_tax"] == D("-65.48")
    assert c["net_pay"] == D("11562.02")
