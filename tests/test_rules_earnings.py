"""Hand-worked examples for RULEBOOK §3 earnings (P1-P9) and D3, D10, D19-D23.

PRC working days 2024 (chinese_calendar): May 21 (1-5 May holiday, Saturday 11 May a workday), June 19,
July 23. Fixed standards (tier 1): trainee 1,500, assistant 2,000, manager 2,500, senior 3,500, chief 5,000.
Transport: 120, 120, 200, 300, 300. NR factor at rate 0.0003: 0.0003 × 0.9435 − 0.0000687 = 0.00021435.
"""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from cmsettle.errors import InputError
from tests.builders import DEFAULT_RULES, MonthBuilder, line, row, rules_with

D = Decimal


# ---- P1, P2, P7, P8, D3, D19, D22 ----------------------------------------------------------------


def test_p1_p2_p7_proration_on_prc_working_days_d3_both_days_inclusive():
    """P1, P2, P7, D3: standard × employed working days / working days of M (21 in May 2024), hire and
    leave days both inclusive; holidays and weekends are not working days, the swapped Saturday 11 May is."""
    b = MonthBuilder("2024-05")
    b.manager("H15", hire="2024-05-15")                      # 15-17, 20-24, 27-31: 13 days
    b.manager("H16", hire="2024-05-16")                      # 16-17, 20-24, 27-31: 12 days
    b.manager("HL", hire="2024-05-15", leave="2024-05-24")   # 15-17, 20-24: 8 days
    b.manager("HOL", hire="2024-05-01")                      # 1 May is a holiday: all 21 days
    b.manager("SUN", hire="2024-05-12")                      # Sunday 12 May: 13-17, 20-24, 27-31 = 15 days
    b.manager("LSAT", leave="2024-05-11")                    # 6-10 May + Saturday 11 May = 6 days
    b.manager("T15", grade="trainee", hire="2024-05-15")     # 13 days
    b.manager("L01", leave="2024-05-01")                     # D1: settled (no leave before the 1st); 0 days
    b.manager("H31", hire="2024-05-31")                      # Friday 31 May: 1 day
    res = b.settle()
    # P2 = standard × days/21 × S/100 (S = 100); P7 = transport × days/21
    assert line(res, "H15", "fixed_pay") == D("1547.62")           # 2,500 × 13/21 = 1,547.619…
    assert line(res, "H15", "transport_allowance") == D("123.81")  # 200 × 13/21 = 123.809…
    assert line(res, "H16", "fixed_pay") == D("1428.57")           # 2,500 × 12/21 = 1,428.571…
    assert line(res, "H16", "transport_allowance") == D("114.29")  # 200 × 12/21 = 114.285…
    assert line(res, "HL", "fixed_pay") == D("952.38")             # 2,500 × 8/21 = 952.380…
    assert line(res, "HL", "transport_allowance") == D("76.19")    # 200 × 8/21 = 76.190…
    assert line(res, "HOL", "fixed_pay") == D("2500.00")
    assert line(res, "HOL", "transport_allowance") == D("200.00")
    assert line(res, "SUN", "fixed_pay") == D("1785.71")           # 2,500 × 15/21 = 1,785.714…
    assert line(res, "SUN", "transport_allowance") == D("142.86")  # 200 × 15/21 = 142.857…
    assert line(res, "LSAT", "fixed_pay") == D("714.29")           # 2,500 × 6/21 = 714.285…
    assert line(res, "LSAT", "transport_allowance") == D("57.14")  # 200 × 6/21 = 57.142…
    assert line(res, "T15", "fixed_pay") == D("928.57")            # 1,500 × 13/21 = 928.571…
    assert line(res, "T15", "transport_allowance") == D("74.29")   # 120 × 13/21 = 74.285…
    assert "L01" in {m.manager_id for m in res.managers}
    assert line(res, "L01", "fixed_pay") == 0                      # 2,500 × 0/21 (1 May is a holiday)
    assert line(res, "L01", "transport_allowance") == 0
    assert line(res, "H31", "fixed_pay") == D("119.05")            # 2,500 × 1/21 = 119.047…
    assert line(res, "H31", "transport_allowance") == D("9.52")    # 200 × 1/21 = 9.523…


def test_p2_d19_prorated_standard_not_rounded_before_the_score_and_other_tiers():
    """P1, P2, D19: a tier the rule set defines is used; the prorated standard is not rounded, only the
    pay line: 2,800 × 13/21 × 95/100 = 1,646.666… → 1,646.67 (rounding 1,733.33 first would give 1,646.66)."""
    manager_row = DEFAULT_RULES.model_dump()["grades"]["manager"]
    rules = rules_with(grades={"manager": {**manager_row, "fixed_standard": {1: D(2500), 2: D(2800)}}})
    b = MonthBuilder("2024-05", rules=rules)
    b.manager("T2", hire="2024-05-15", tier=2)
    b.manager("T2F", tier=2)
    b.event("T2", "left_post")  # M7: 100 − 5 = 95
    res = b.settle()
    assert row(res, "T2").management_score == D("95")
    assert line(res, "T2", "fixed_pay") == D("1646.67")
    assert line(res, "T2F", "fixed_pay") == D("2800.00")  # 2,800 × 21/21 × 100/100


def test_d19_tier_without_fixed_standard_is_an_input_error():
    """D19: a tier without a fixed standard in the rule set is an input error."""
    b = MonthBuilder("2024-05")
    b.manager("M1", tier=2)
    with pytest.raises(InputError):
        b.settle()


def test_p8_meal_allowance_not_prorated_d22():
    """P8, D22: 20 × promo_duty days, not prorated (a partial month does not reduce it); half days count."""
    b = MonthBuilder("2024-05")
    b.manager("H16", hire="2024-05-16")
    b.attend("H16", "promo_duty", "2024-05-18")
    b.attend("H16", "promo_duty", "2024-05-19")
    b.attend("H16", "promo_duty", "2024-05-25", "0.5")
    res = b.settle()
    # 20 × 2.5 = 50.00 (not × 12/21)
    assert line(res, "H16", "meal_allowance") == D("50.00")


def test_p7_transport_by_grade_full_month():
    """P7: trainee 120, assistant 120, manager 200, senior 300, chief 300."""
    b = MonthBuilder("2024-05")
    for g in ("trainee", "assistant", "manager", "senior", "chief"):
        b.manager(g.upper(), grade=g)
    res = b.settle()
    grades = ("trainee", "assistant", "manager", "senior", "chief")
    got = {g: line(res, g.upper(), "transport_allowance") for g in grades}
    assert got == {"trainee": D("120.00"), "assistant": D("120.00"), "manager": D("200.00"),
                   "senior": D("300.00"), "chief": D("300.00")}
    # P2 full month, S 100: the standards themselves
    assert [line(res, g.upper(), "fixed_pay") for g in grades] == [
        D("1500.00"), D("2000.00"), D("2500.00"), D("3500.00"), D("5000.00")]


# ---- P3, D20 -------------------------------------------------------------------------------------


def test_p3_qualification_factor_after_24_months_d20_edges():
    """P3, D20: q = 0.80 when hire_date + 24 calendar months ≤ the last day of M and there is no
    qualification_date on or before the end of M; otherwise q = 1.
    NR = 10,000,000 × 0.00021435 = 2,143.50; score_raw 0.2 × 2,143.50/10,000 = 0.04287 → 0.0429 → 0.50.
    P3 = 2,143.50 × 0.20 × 0.50 × q: q 1 → 214.35; q 0.8 → 171.48."""
    b = MonthBuilder("2024-05")
    b.manager("Q1", hire="2022-05-31", qualified=None)   # 2024-05-31 ≤ 2024-05-31: served, unqualified
    b.manager("Q2", hire="2022-06-01", qualified=None)   # 2024-06-01 > 2024-05-31: not yet 24 months
    b.manager("Q3", hire="2020-01-06", qualified="2024-05-31")  # qualified by the end of M
    b.manager("Q4", hire="2020-01-06", qualified="2024-06-01")  # qualified only after M
    for mid in ("Q1", "Q2", "Q3", "Q4"):
        b.client(f"C-{mid}", mid)
        b.trade(f"C-{mid}", "stock", "buy", "10000000", "0.0003")
    res = b.settle()
    assert row(res, "Q1").net_revenue == D("2143.50")
    assert row(res, "Q1").score_applied == D("0.50")
    assert line(res, "Q1", "commission") == D("171.48")
    assert line(res, "Q2", "commission") == D("214.35")
    assert line(res, "Q3", "commission") == D("214.35")
    assert line(res, "Q4", "commission") == D("171.48")


def test_p3_base_rate_by_grade_and_score_cap():
    """P3: NR × base_rate(g) × score_applied × q; senior base 25%, score clamped at 1.20.
    Senior: 12 new clients × 100,000: 0.4 × 12/6 + 0.4 × 1,200,000/1,000,000 + 0.2 × 2,143.50/20,000
    = 0.8 + 0.48 + 0.021435 = 1.301435 → 1.3014 → applied 1.20; P3 = 2,143.50 × 0.25 × 1.20 = 643.05."""
    b = MonthBuilder("2024-05")
    b.manager("S1", grade="senior")
    for i in range(12):
        b.client(f"N{i}", "S1", opened="2024-05-06", end_assets="100000")
    b.client("OLD", "S1")
    b.trade("OLD", "stock", "buy", "10000000", "0.0003")
    res = b.settle()
    assert row(res, "S1").score_raw == D("1.3014")
    assert line(res, "S1", "commission") == D("643.05")


# ---- P4 ------------------------------------------------------------------------------------------


def test_p4_account_bonus_uses_weighted_ea():
    """P4, M3, D8: EA × 50, an institution counting 3: (1 + 3) × 50 = 200."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    b.client("I", "M1", opened="2024-05-06", end_assets="8000")
    b.client("J", "M1", opened="2024-05-06", kind="institution", end_assets="8000")
    res = b.settle()
    assert row(res, "M1").ea == 4
    assert line(res, "M1", "account_bonus") == D("200.00")


# ---- P5, D21 -------------------------------------------------------------------------------------


def test_p5_excess_above_the_cap_is_carried_over_two_months_d21():
    """P5: excess = max(0, NMV − NMV_t) × 0.0001; payable = min(3,000, excess + carry_in); rest carried.
    No buy turnover: the IPO/fund test does not apply (D21)."""
    may = MonthBuilder("2024-05")
    may.manager("E")
    may.client("BIG", "E", opened="2024-05-06", end_assets="70500000")
    may_res = may.settle()
    # May: (70,500,000 − 500,000) × 0.0001 = 7,000.00 → pay 3,000, carry 4,000
    assert line(may_res, "E", "excess_mv_bonus") == D("3000.00")
    jun = may.next(may_res)
    jun_res = jun.settle()
    # June: excess 0 + carry 4,000 → pay 3,000, carry 1,000
    assert line(jun_res, "E", "excess_mv_bonus") == D("3000.00")
    jul = jun.next(jun_res)
    jul_res = jul.settle()
    # July: 0 + 1,000 → pay 1,000, carry 0
    assert line(jul_res, "E", "excess_mv_bonus") == D("1000.00")
    aug = jul.next(jul_res)
    assert line(aug.settle(), "E", "excess_mv_bonus") == 0


def test_p5_d21_leave_month_pays_excess_and_carry_without_cap():
    """D21: in the leave month the whole of excess + carry is paid, without the 3,000 cap."""
    may = MonthBuilder("2024-05")
    may.manager("L")
    may.client("BIG", "L", opened="2024-05-06", end_assets="70500000")
    may_res = may.settle()
    assert line(may_res, "L", "excess_mv_bonus") == D("3000.00")  # carry 4,000
    jun = may.next(may_res)
    jun.roster = [replace(r, leave_date=date(2024, 6, 20)) for r in jun.roster]
    jun.client("NEW", "L", opened="2024-06-03", end_assets="1500000")
    jun_res = jun.settle()
    # June (leave 20 June): excess (1,500,000 − 500,000) × 0.0001 = 100.00; 100 + 4,000 = 4,100, no cap
    assert line(jun_res, "L", "excess_mv_bonus") == D("4100.00")


def test_p5_ipo_fund_share_exactly_half_pays_just_above_zeroes_this_months_excess_only():
    """P5, D21: buy turnover of the M3 clients in ipo_subscription + fund_open > 50% of their total buy
    turnover → this month's excess is 0 (the carry is still paid); exactly 50% is not > 50%; only trades
    count; only the M3 clients' buys count; sells are not buy turnover.
    Each manager's new client has end_assets 1,500,000 → excess (1,500,000 − 500,000) × 0.0001 = 100.00."""
    b = MonthBuilder("2024-05")
    for mid in ("HALF", "ABOVE", "FUND", "OLDIPO", "SALES", "SELLS"):
        b.manager(mid)
        b.client(f"N-{mid}", mid, opened="2024-05-06", end_assets="1500000")
    # HALF: 10,000 IPO of 20,000 buys = 50%: not above → 100.00 paid
    b.trade("N-HALF", "stock", "buy", "10000")
    b.trade("N-HALF", "ipo_subscription", "buy", "10000")
    # ABOVE: 10,000.01 of 20,000.01 > 50% → excess 0; opening carry 800 still paid
    b.trade("N-ABOVE", "stock", "buy", "10000")
    b.trade("N-ABOVE", "ipo_subscription", "buy", "10000.01")
    b.open("ABOVE", excess_carry="800")
    # FUND: open-end fund buys count with IPO: 10,000.01 fund_open vs 10,000 stock → excess 0
    b.trade("N-FUND", "stock", "buy", "10000")
    b.trade("N-FUND", "fund_open", "buy", "10000.01")
    # OLDIPO: an older client's IPO buys are not M3 buys: the M3 client bought only stock → 100.00
    b.trade("N-OLDIPO", "stock", "buy", "10000")
    b.client("O-OLDIPO", "OLDIPO", opened="2019-01-02")
    b.trade("O-OLDIPO", "ipo_subscription", "buy", "1000000")
    # SALES: fund_sales are not trades: no buy turnover at all → the test does not apply → 100.00
    b.fund_sale("N-SALES", "1000000", "100")
    # SELLS: 100,000 stock sold, 10,000 IPO bought: IPO is 100% of the buys → excess 0
    b.trade("N-SELLS", "stock", "sell", "100000")
    b.trade("N-SELLS", "ipo_subscription", "buy", "10000")
    res = b.settle()
    assert line(res, "HALF", "excess_mv_bonus") == D("100.00")
    assert line(res, "ABOVE", "excess_mv_bonus") == D("800.00")
    assert line(res, "FUND", "excess_mv_bonus") == 0
    assert line(res, "OLDIPO", "excess_mv_bonus") == D("100.00")
    assert line(res, "SALES", "excess_mv_bonus") == D("100.00")
    assert line(res, "SELLS", "excess_mv_bonus") == 0


def test_p5_d21_excess_rounded_to_the_fen_before_the_carry():
    """D21, D41: excess is rounded to 0.01 before the carry is added.
    Opening carry 3,000; May NMV 500,040 → excess 40 × 0.0001 = 0.004 → 0.00: payable min(3,000, 3,000) =
    3,000, nothing carried; June (excess 0.004 → 0.00 again) pays 0. Unrounded, 0.004 + 0.004 = 0.008
    would have been carried and June would show 0.01."""
    may = MonthBuilder("2024-05")
    may.manager("R")
    may.open("R", excess_carry="3000")
    may.client("N1", "R", opened="2024-05-06", end_assets="500040")
    may_res = may.settle()
    assert line(may_res, "R", "excess_mv_bonus") == D("3000.00")
    jun = may.next(may_res)
    jun.client("N2", "R", opened="2024-06-03", end_assets="500040")
    jun_res = jun.settle()
    assert line(jun_res, "R", "excess_mv_bonus") == 0
    # plain rounding: NMV 500,123.45 → 123.45 × 0.0001 = 0.012345 → 0.01
    b = MonthBuilder("2024-05")
    b.manager("P")
    b.client("N1", "P", opened="2024-05-06", end_assets="500123.45")
    assert line(b.settle(), "P", "excess_mv_bonus") == D("0.01")


# ---- P6, D22 -------------------------------------------------------------------------------------


def test_p6_fund_commission_all_fund_sales_of_clients_owned_at_month_end_d22():
    """P6, D22: 20% of the commission income of M's fund sales to the clients owned at the end of M."""
    b = MonthBuilder("2024-05")
    b.manager("M1").manager("M2")
    b.client("C1", "M1")
    b.client("C2", "M1", opened="2024-05-06")
    b.client("C3", "M2")
    b.fund_sale("C1", "500000", "1234.56")
    b.fund_sale("C2", "10000", "100.01")
    b.fund_sale("C3", "10000", "50")
    res = b.settle()
    # M1: (1,234.56 + 100.01) × 0.20 = 266.914 → 266.91; M2: 50 × 0.20 = 10.00
    assert line(res, "M1", "fund_commission") == D("266.91")
    assert line(res, "M2", "fund_commission") == D("10.00")


# ---- P9, D23 -------------------------------------------------------------------------------------


def test_p9_d23_referral_paid_once_in_first_month_with_grade_manager_and_referrer_settled():
    """P9, D23: 200 to the referrer in the first month, on or after the referral date, in which the
    referred person's grade in effect is manager or higher and the referrer is settled; once only."""
    may = MonthBuilder("2024-05")
    may.manager("RF")
    may.manager("X1", grade="manager")          # manager already in May → paid in May
    may.manager("X2", grade="assistant")        # promoted at the close of May (G2) → paid in June
    may.manager("X3", grade="assistant")        # stays assistant → never paid
    may.manager("RJ", hire="2024-06-03")        # referrer hired in June: not settled in May (D1)
    may.manager("X4", grade="senior")           # paid to RJ in June, when RJ is first settled
    # X2: A3 3,500,000 in April and May (≥ manager threshold 3,000,000), good score
    for m in ("2024-03", "2024-04"):
        may.hist(m, "X2", grade="assistant", avg_assets="3500000", ea="3", nmv="300000")
    may.client("X2-OLD", "X2", avg_assets="3500000")
    for i in range(3):  # assistant: 0.4 × 3/3 + 0.4 × 300,000/300,000 = 0.8
        may.client(f"X2-N{i}", "X2", opened="2024-05-06", end_assets="100000")
    may.refer("RF", "X1", "2024-05-03")
    may.refer("RF", "X2", "2024-05-03")
    may.refer("RF", "X3", "2024-05-03")
    may.refer("RJ", "X4", "2024-05-10")
    may_res = may.settle()
    assert row(may_res, "X2").grade_next == "manager"
    assert line(may_res, "RF", "referral_bonus") == D("200.00")   # X1
    assert "RJ" not in {m.manager_id for m in may_res.managers}

    jun = may.next(may_res)
    jun.client("X2-OLD", "X2", avg_assets="3500000")
    jun.refer("RF", "X1", "2024-05-03")   # the same referral listed again: still paid once
    jun_res = jun.settle()
    assert row(jun_res, "X2").grade_in_effect == "manager"
    assert line(jun_res, "RF", "referral_bonus") == D("200.00")   # X2 only
    assert line(jun_res, "RJ", "referral_bonus") == D("200.00")   # X4

    jul = jun.next(jun_res)
    jul.client("X2-OLD", "X2", avg_assets="3500000")
    jul_res = jul.settle()
    assert line(jul_res, "RF", "referral_bonus") == 0
    assert line(jul_res, "RJ", "referral_bonus") == 0


def test_d23_a_second_referrer_for_one_referred_person_is_an_input_error():
    """D23: one referrer per referred person; a second is an input error."""
    b = MonthBuilder("2024-05")
    b.manager("A").manager("B").manager("X", grade="assistant")
    b.refer("A", "X", "2024-05-03")
    b.refer("B", "X", "2024-05-04")
    with pytest.raises(InputError):
        b.settle()


# ---- D27 (TX1 on the P1 standard) ----------------------------------------------------------------


def test_d27_social_insurance_on_the_unprorated_standard_qualified_by_end_of_month():
    """TX1, D27: eligible when equity_assets of the clients owned > 6,000,000, the client count > 60 and a
    qualification_date on or before the end of M; employee part = round(si_base × 17.5%), si_base default =
    the unprorated fixed standard of the grade in effect; the contract type does not matter."""
    b = MonthBuilder("2024-05")
    b.manager("OK", hire="2024-05-15", qualified="2024-05-31")      # partial month: base still 2,500
    b.manager("AG", contract="agent", qualified="2024-05-31")
    b.manager("SB", si_base="3333.33")
    b.manager("EQ")                                                   # equity exactly 6,000,000: not >
    b.manager("N60")                                                  # 60 clients: not > 60
    b.manager("LATE", qualified="2024-06-01")                         # qualified after M
    for mid, n, equity in (("OK", 61, "6000000.01"), ("AG", 61, "6000000.01"), ("SB", 61, "6000000.01"),
                           ("EQ", 61, "6000000"), ("N60", 60, "6000000.01"), ("LATE", 61, "6000000.01")):
        b.client(f"{mid}-0", mid, equity_assets=equity)
        for i in range(1, n):
            b.client(f"{mid}-{i}", mid)
    res = b.settle()
    # 2,500 × 0.175 = 437.50 (not 2,500 × 13/21)
    assert line(res, "OK", "social_insurance") == D("-437.50")
    assert line(res, "AG", "social_insurance") == D("-437.50")
    # 3,333.33 × 0.175 = 583.33275 → 583.33
    assert line(res, "SB", "social_insurance") == D("-583.33")
    for mid in ("EQ", "N60", "LATE"):
        assert line(res, mid, "social_insurance") == 0, mid
