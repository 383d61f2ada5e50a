"""Worked examples for RULEBOOK §8 net pay: N1-N4 with D1 (who is settled), D3, D37, D41, D42.

Every figure is derived by hand from the RULEBOOK; the arithmetic is in the comments.

Common ground (unless a test says otherwise): month 2024-05 (21 PRC working days), `manager` grade
marketer hired 2015: P2 2,500 + P7 200 = 2,700; F1 5% of gross; no tax below 5,000 a month.
"""

from decimal import Decimal

from tests.builders import MonthBuilder, d, line, row, rules_with
from tests.contract import AFTER_TAX, EARNINGS, NEGATIVE

D = Decimal

POSITIVE = ("released_income", "risk_fund_refund", "deduction_carried_out")


def comps(res, mid):  # noqa: ANN001, ANN201
    return {ln.component: ln.amount for ln in res.lines_of(mid)}


def check_d42(res) -> None:  # noqa: ANN001
    """D42/N2: for every person net_pay = gross_pay + the sum of every after-tax line; signs as D42 says."""
    for m in res.managers:
        c = comps(res, m.manager_id)
        assert c["net_pay"] == c["gross_pay"] + sum(c.get(k, D(0)) for k in AFTER_TAX), m.manager_id
        for k in NEGATIVE:
            assert c.get(k, D(0)) <= 0, (m.manager_id, k)
        for k in POSITIVE:
            assert c.get(k, D(0)) >= 0, (m.manager_id, k)


# ---- N1 gross ----------------------------------------------------------------------------------------------


def test_gross_is_earnings_minus_attendance():
    # M3: C1 opened 6 May, end assets 8,000 > 5,000 → EA 1, NMV 8,000.
    # M5: C2 buys 1,000,000 at 0.0003: 1,000,000 × (0.0003 × 0.9435 − 0.0000687) = 214.35.
    # M6: 0.4×1/5 + 0.4×8,000/500,000 + 0.2×214.35/10,000 = 0.090687 → 0.0907 → applied 0.50.
    # M7: one late → S 95 → P2 2,500 × 0.95 = 2,375.00.
    # P3 214.35 × 0.20 × 0.50 = 21.435 → 21.44; P4 50; P7 200; P8 1 promo day × 20 = 20; A1 50.
    # N1 gross = 2,375 + 21.44 + 50 + 200 + 20 − 50 = 2,616.44.
    # TX2 (2,616.44 − 20 − 5,000 < 0) → 0. F1 5% × 2,616.44 = 130.822 → 130.82. net 2,485.62.
    b = MonthBuilder("2024-05").manager("M", grade="manager")
    b.client("C1", "M", opened="2024-05-06", avg_assets="6000", end_assets="8000")
    b.client("C2", "M", opened="2019-01-01", avg_assets="3000000", end_assets="3000000")
    b.trade("C2", "stock", "buy", "1000000", "0.0003")
    b.attend("M", "late", "2024-05-07")
    b.attend("M", "promo_duty", "2024-05-04", "1")
    res = b.settle()
    c = comps(res, "M")
    assert c["fixed_pay"] == D("2375.00")
    assert c["commission"] == D("21.44")
    assert c["account_bonus"] == D("50.00")
    assert c["transport_allowance"] == D("200.00")
    assert c["meal_allowance"] == D("20.00")
    assert c["attendance_deduction"] == D("-50.00")
    assert c["gross_pay"] == D("2616.44")
    assert c["gross_pay"] == sum(c.get(k, D(0)) for k in EARNINGS) + c["attendance_deduction"]
    assert c["risk_fund_withholding"] == D("-130.82")
    assert c["net_pay"] == D("2485.62")
    check_d42(res)


def test_totals_are_sums_of_rounded_lines():
    # N4: hired Sat 18 May → employed working days 20-24, 27-31 May = 10 of 21.
    # P2 2,500 × 10/21 = 1,190.476… → 1,190.48; P7 200 × 10/21 = 95.238… → 95.24;
    # gross = 1,190.48 + 95.24 = 1,285.72 (rounding the unrounded sum 1,285.714… would give 1,285.71).
    # F1 5% × 1,285.72 = 64.286 → 64.29; net 1,221.43.
    b = MonthBuilder("2024-05").manager("M", grade="manager", hire="2024-05-18")
    res = b.settle()
    c = comps(res, "M")
    assert c["fixed_pay"] == D("1190.48")
    assert c["transport_allowance"] == D("95.24")
    assert c["gross_pay"] == D("1285.72")
    assert c["risk_fund_withholding"] == D("-64.29")
    assert c["net_pay"] == D("1221.43")


# ---- N2 every after-tax line ------------------------------------------------------------------------------


def test_net_pay_with_every_kind_of_after_tax_line():
    # TX1: 61 clients × 100,000 equity + one investigated client (equity 0) + a fund client: 63 clients,
    #   equity 6,100,000 → SI 2,500 × 17.5% = 437.50.
    # P6 0.20 × 50,000 = 10,000 → gross 12,700.00.
    # TX2 base 12,700 − 437.50 − 5,000 = 7,262.50 → 217.875 → 217.88.
    # F1 635.00; X3 business error 250.00; X6 rate 0.02 × 12,700 = 254.00; X2 hold of P2 2,500.00.
    # N2 net = 12,700 − 437.50 − 217.88 − 635 − 250 − 254 − 2,500 = 8,405.62.
    rules = rules_with(penalties={"management_fee_rate": d("0.02")})
    b = MonthBuilder("2024-05", rules=rules).manager("M", grade="manager")
    for i in range(61):
        b.client(f"E{i}", "M", equity_assets="100000")
    b.client("INV", "M", status="under_investigation")
    b.client("F", "M")
    b.fund_sale("F", "1000000", "50000")
    b.penalty("M", "business_error", amount="250")
    res = b.settle()
    c = comps(res, "M")
    assert c == {
        "fixed_pay": D("2500.00"), "fund_commission": D("10000.00"), "transport_allowance": D("200.00"),
        "gross_pay": D("12700.00"), "social_insurance": D("-437.50"), "income_tax": D("-217.88"),
        "risk_fund_withholding": D("-635.00"), "penalty": D("-250.00"), "management_fee": D("-254.00"),
        "held_income": D("-2500.00"), "net_pay": D("8405.62"),
    }
    check_d42(res)


# ---- N3 negative net carried (D37, D42) --------------------------------------------------------------------


def test_negative_net_is_carried_out_and_in():
    # May. M: three business errors of 1,000: 2,700 − 135 − 3,000 = −435 → net 0, carried out +435.00.
    #      G: late on 20 working days: S 0 → P2 0; A1 1,000 → gross 200 − 1,000 = −800.00; F1 and tax 0;
    #         net −800 → 0, carried out +800.00.
    #      H: like M in May.
    # June. M: carried in −435.00: 2,700 − 135 − 435 = 2,130.00.
    #       G: carried in −800.00: 2,700 − 135 − 800 = 1,765.00.
    #       H: three more business errors: 2,700 − 135 − 3,000 − 435 = −870 → carried in −435.00 and
    #          carried out +870.00 on the same month, net 0.
    b = MonthBuilder("2024-05")
    for mid in ("M", "G", "H"):
        b.manager(mid, grade="manager")
    for mid in ("M", "H"):
        for _ in range(3):
            b.penalty(mid, "business_error", amount="1000")
    for on in ("2024-05-06", "2024-05-07", "2024-05-08", "2024-05-09", "2024-05-10", "2024-05-11",
               "2024-05-13", "2024-05-14", "2024-05-15", "2024-05-16", "2024-05-17", "2024-05-20",
               "2024-05-21", "2024-05-22", "2024-05-23", "2024-05-24", "2024-05-27", "2024-05-28",
               "2024-05-29", "2024-05-30"):
        b.attend("G", "late", on)
    may = b.settle()
    assert comps(may, "M")["deduction_carried_out"] == D("435.00")
    assert comps(may, "M")["net_pay"] == D("0.00")
    g = comps(may, "G")
    assert g["gross_pay"] == D("-800.00")
    assert g["attendance_deduction"] == D("-1000.00")
    assert g["deduction_carried_out"] == D("800.00")
    assert g["net_pay"] == D("0.00")
    check_d42(may)
    nb = b.next(may)
    for _ in range(3):
        nb.penalty("H", "business_error", amount="1000")
    june = nb.settle()
    m = comps(june, "M")
    assert m["deduction_carried_in"] == D("-435.00")
    assert m["net_pay"] == D("2130.00")
    assert "deduction_carried_out" not in m
    g = comps(june, "G")
    assert g["deduction_carried_in"] == D("-800.00")
    assert g["net_pay"] == D("1765.00")
    h = comps(june, "H")
    assert h["deduction_carried_in"] == D("-435.00")
    assert h["deduction_carried_out"] == D("870.00")
    assert h["net_pay"] == D("0.00")
    check_d42(june)
    # July: H's carry is the 870 of June only (not 870 + 435 again).
    july = nb.next(june).settle()
    assert line(july, "H", "deduction_carried_in") == D("-870.00")
    # H is `trainee` in July: at the close of June A3 was 0 in May and June (< 3,000,000: G3 → trainee) and
    # score_raw 0 < 0.60 twice (G4 → assistant); the lower wins (G3+G4). P2 1,500 + P7 120 = 1,620;
    # F1 81.00; net 1,620 − 81 − 870 = 669.00.
    assert row(july, "H").grade_in_effect == "trainee"
    assert line(july, "H", "net_pay") == D("669.00")


# ---- D1 who is settled, D3 days ----------------------------------------------------------------------------


def test_who_is_settled_in_a_month():
    # D1: H hired 3 June (after the last day of May) → not settled in May, settled in June.
    #     L left 30 April (before 1 May) → not settled.
    #     F leaves 1 May (a holiday): settled, 0 working days → P2 0, P7 0; gross 0.00, net 0.00.
    #     O leaves Mon 6 May (first working day; D3 both ends inclusive): 1 of 21 days:
    #       P2 2,500/21 = 119.047… → 119.05; P7 200/21 = 9.5238… → 9.52; gross 128.57;
    #       F1 5% = 6.4285 → 6.43; net 122.14.
    b = MonthBuilder("2024-05")
    b.manager("K", grade="manager")
    b.manager("H", grade="manager", hire="2024-06-03")
    b.manager("L", grade="manager", leave="2024-04-30")
    b.manager("F", grade="manager", leave="2024-05-01")
    b.manager("O", grade="manager", leave="2024-05-06")
    may = b.settle()
    ids = {m.manager_id for m in may.managers}
    assert ids == {"K", "F", "O"}
    assert may.lines_of("H") == [] and may.lines_of("L") == []
    assert comps(may, "F") == {"gross_pay": D("0.00"), "net_pay": D("0.00")}
    assert comps(may, "O") == {"fixed_pay": D("119.05"), "transport_allowance": D("9.52"),
                               "gross_pay": D("128.57"), "risk_fund_withholding": D("-6.43"),
                               "net_pay": D("122.14")}
    check_d42(may)
    june = b.next(may).settle()
    assert {m.manager_id for m in june.managers} == {"K", "H"}
    # H: hired Mon 3 June, the first working day of June: 19 of 19 → the full 2,500.
    assert line(june, "H", "fixed_pay") == D("2500.00")
    assert row(june, "H").grade_in_effect == "manager"
