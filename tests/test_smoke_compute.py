"""A first worked example through the whole computation (RULEBOOK M1-M7, P1-P4, N1, N2, N4)."""

from decimal import Decimal

from tests.builders import MonthBuilder, line, row


def test_one_manager_one_month_worked_example():
    # 2024-05 has 21 PRC working days (May Day holiday 1-5 May, 11 May a swapped Saturday workday).
    b = MonthBuilder("2024-05")
    b.manager("M1", grade="manager")
    # M3: a new individual client with end assets 8,000 > 5,000: effective; EA 1, NMV 8,000.
    b.client("C1", "M1", opened="2024-05-06", avg_assets="6000", end_assets="8000")
    # An older client with 3,000,000 average assets.
    b.client("C2", "M1", opened="2019-01-01", avg_assets="3000000", end_assets="3000000")
    # M5: turnover 1,000,000 at 0.0003: 1,000,000 × (0.0003 × (1 − 0.0565) − 0.0000687) = 214.35
    b.trade("C2", "stock", "buy", "1000000", "0.0003")
    res = b.settle()
    m = row(res, "M1")
    assert m.avg_assets == Decimal("3006000")
    assert m.ea == 1 and m.nmv == Decimal("8000")
    assert m.net_revenue == Decimal("214.35")
    # M6 manager targets 5 / 500,000 / 10,000:
    # 0.4×1/5 + 0.4×8000/500000 + 0.2×214.35/10000 = 0.08 + 0.0064 + 0.004287 = 0.090687 → 0.0907
    assert m.score_raw == Decimal("0.0907")
    assert m.score_applied == Decimal("0.50")
    # P2: 2,500 × 21/21 × 100/100 = 2,500.00
    assert line(res, "M1", "fixed_pay") == Decimal("2500.00")
    # P3: 214.35 × 0.20 × 0.50 × 1 = 21.435 → 21.44 (half up)
    assert line(res, "M1", "commission") == Decimal("21.44")
    # P4: 1 × 50
    assert line(res, "M1", "account_bonus") == Decimal("50.00")
    # P7 manager transport 200
    assert line(res, "M1", "transport_allowance") == Decimal("200.00")
    gross = Decimal("2500.00") + Decimal("21.44") + Decimal("50.00") + Decimal("200.00")
    assert line(res, "M1", "gross_pay") == gross == Decimal("2771.44")
    # TX2: 2,771.44 − 5,000 < 0 → no tax; F1: 5% × 2,771.44 = 138.572 → 138.57
    assert line(res, "M1", "income_tax") == 0
    assert line(res, "M1", "risk_fund_withholding") == Decimal("-138.57")
    assert line(res, "M1", "net_pay") == Decimal("2632.87")
