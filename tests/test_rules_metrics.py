"""Hand-worked examples for RULEBOOK §1 monthly metrics (M1-M7) and the §10 points on them
(D4, D5, D7-D12, D41).

Every expected figure is derived from the RULEBOOK text; the arithmetic is in the comments.
Net revenue factor at commission rate r: r × (1 − 0.0565) − 0.0000687 = r × 0.9435 − 0.0000687, so
  r = 0.0003 → 0.00028305 − 0.0000687 = 0.00021435 per yuan of turnover.
2024-05 has 21 PRC working days, 2024-06 has 19.
"""

from decimal import Decimal

from tests.builders import MonthBuilder, line, row

D = Decimal


# ---- M1 ------------------------------------------------------------------------------------------


def test_m1_avg_assets_sums_clients_owned_at_month_end_d5():
    """M1, D5: the sum of avg_assets of the clients whose manager_id in M's clients file is the manager;
    a client with no assets row has zero assets."""
    b = MonthBuilder("2024-05")
    b.manager("M1").manager("M2")
    b.client("C1", "M1", avg_assets="1000000.50", end_assets="1000000")
    b.client("C2", "M1", opened="2024-05-08", avg_assets="250000", end_assets="0")
    b.client("C3", "M1", assets=False)  # D5: no assets row → 0
    b.client("C4", "M2", avg_assets="700000", end_assets="700000")
    res = b.settle()
    # M1: 1,000,000.50 + 250,000 + 0 = 1,250,000.50; M2: 700,000
    assert row(res, "M1").avg_assets == D("1250000.50")
    assert row(res, "M2").avg_assets == D("700000")


# ---- M2 / D4 -------------------------------------------------------------------------------------


def test_m2_d4_a3_first_ledger_month_uses_history_and_ignores_rows_of_m_or_later():
    """M2, D4: in the first ledger month A3 = mean of history M-2, M-1 and this month's M1;
    history rows for M or later are ignored."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    b.hist("2024-03", "M1", avg_assets="1000000")
    b.hist("2024-04", "M1", avg_assets="2000000")
    b.hist("2024-05", "M1", avg_assets="9000000")  # D4: ignored (the month itself)
    b.hist("2024-06", "M1", avg_assets="9000000")  # D4: ignored (later)
    b.client("C1", "M1", avg_assets="3000000")
    res = b.settle()
    m = row(res, "M1")
    # M1 from clients, not the history row of May: 3,000,000
    assert m.avg_assets == D("3000000")
    # A3 = (1,000,000 + 2,000,000 + 3,000,000) / 3 = 2,000,000
    assert m.a3 == D("2000000")


def test_m2_a3_fewer_than_three_months_then_rolling_over_ledger_months():
    """M2: fewer than 3 months → mean of those available; later months use history then earlier runs."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    b.manager("M2", hire="2024-05-06")  # hired in May: no earlier months
    b.hist("2024-04", "M1", avg_assets="1000000")
    b.client("C1", "M1", avg_assets="2000000")
    b.client("C2", "M2", avg_assets="600000")
    may = b.settle()
    # M1: (1,000,000 + 2,000,000) / 2 = 1,500,000; M2: only May: 600,000
    assert row(may, "M1").a3 == D("1500000")
    assert row(may, "M2").a3 == D("600000")

    jun = b.next(may)
    jun.client("C1", "M1", avg_assets="3000000")
    jun.client("C2", "M2", avg_assets="900000")
    jun_res = jun.settle()
    # M1: (Apr history 1,000,000 + May 2,000,000 + June 3,000,000) / 3 = 2,000,000
    assert row(jun_res, "M1").a3 == D("2000000")
    # M2: (600,000 + 900,000) / 2 = 750,000
    assert row(jun_res, "M2").a3 == D("750000")

    jul = jun.next(jun_res)
    jul.client("C1", "M1", avg_assets="7000000")
    jul.client("C2", "M2", avg_assets="1500000")
    jul_res = jul.settle()
    # M1: May, June, July: (2,000,000 + 3,000,000 + 7,000,000) / 3 = 4,000,000 (April has rolled out)
    assert row(jul_res, "M1").a3 == D("4000000")
    # M2: (600,000 + 900,000 + 1,500,000) / 3 = 1,000,000
    assert row(jul_res, "M2").a3 == D("1000000")


def test_m2_a3_uses_only_months_in_which_the_manager_was_employed():
    """M2: A3 uses 'only months in which the manager was employed and for which data exists': a history
    row for March of someone hired on 10 April (e.g. an earlier stint) is left out.
    A3 = (April 1,000,000 + May 2,000,000)/2 = 1,500,000 (not (9,000,000 + 1,000,000 + 2,000,000)/3)."""
    b = MonthBuilder("2024-05")
    b.manager("M1", hire="2024-04-10")
    b.hist("2024-03", "M1", avg_assets="9000000")
    b.hist("2024-04", "M1", avg_assets="1000000")
    b.client("C1", "M1", avg_assets="2000000")
    res = b.settle()
    assert row(res, "M1").a3 == D("1500000")


def test_m2_d4_a3_is_not_rounded():
    """D4: A3 is never rounded for comparisons (only managers.csv shows it to 0.01)."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    b.hist("2024-03", "M1", avg_assets="1000000")
    b.hist("2024-04", "M1", avg_assets="1000000")
    b.client("C1", "M1", avg_assets="2000000")
    res = b.settle()
    a3 = row(res, "M1").a3
    # (1,000,000 + 1,000,000 + 2,000,000) / 3 = 1,333,333.333…
    assert abs(a3 - D(4000000) / D(3)) < D("1e-20")
    assert a3 != D("1333333.33")


# ---- M3 / M4 / D8 --------------------------------------------------------------------------------


def test_m3_m4_effective_new_accounts_d8_thresholds_products_and_weights():
    """M3, M4, D8: opened in M, effective by stock + fund_open buy turnover > 5000 (added together) or
    end_assets > 5000 (strictly); sells, IPO, bond and fund_sales do not count; institution counts 3."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    b.client("A", "M1", opened="2024-05-06", end_assets="5000")      # = 5000: not effective
    b.client("B", "M1", opened="2024-05-06", end_assets="5000.01")   # > 5000: effective, NMV 5,000.01
    b.client("C", "M1", opened="2024-05-07", end_assets="100")       # 3,000 + 2,000.01 > 5000: effective
    b.trade("C", "stock", "buy", "3000")
    b.trade("C", "fund_open", "buy", "2000.01")
    b.client("D", "M1", opened="2024-05-07", end_assets="0")         # stock buy exactly 5,000: not
    b.trade("D", "stock", "buy", "5000")
    b.client("E", "M1", opened="2024-05-08", end_assets="0")         # sells do not count
    b.trade("E", "stock", "sell", "100000")
    b.client("F", "M1", opened="2024-05-08", end_assets="0")         # IPO subscription buys do not count
    b.trade("F", "ipo_subscription", "buy", "100000")
    b.client("G", "M1", opened="2024-05-09", end_assets="0")         # fund_sales do not count (D8)
    b.fund_sale("G", "100000", "500")
    b.client("K", "M1", opened="2024-05-09", end_assets="0")         # bond buys do not count
    b.trade("K", "bond", "buy", "100000")
    b.client("H", "M1", opened="2024-05-10", kind="institution", end_assets="20000")  # institution: 3
    b.client("H2", "M1", opened="2024-05-10", kind="institution", end_assets="4000")  # not effective: 0
    b.client("I", "M1", opened="2024-04-30", end_assets="1000000")   # opened in April: not counted in May
    b.client("J", "M1", opened="2024-05-31", end_assets="6000")      # last day of M: counted
    res = b.settle()
    m = row(res, "M1")
    # EA = B 1 + C 1 + H 3 + J 1 = 6
    assert m.ea == 6
    # NMV = 5,000.01 + 100 + 20,000 + 6,000 = 31,100.01
    assert m.nmv == D("31100.01")


# ---- D7 / D9 -------------------------------------------------------------------------------------


def test_d7_investigated_and_malicious_clients_excluded_only_from_ea_and_nmv():
    """D7: clients under_investigation / malicious_confirmed are out of M3/M4 (and so P4) only;
    M1 and M5 include every client owned."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    b.client("N", "M1", opened="2024-05-06", avg_assets="10000", end_assets="10000")
    b.client("U", "M1", opened="2024-05-06", status="under_investigation", avg_assets="20000",
             end_assets="20000")
    b.trade("U", "stock", "buy", "1000000", "0.0003")
    b.fund_sale("U", "100000", "300")
    b.client("X", "M1", opened="2024-05-06", status="malicious_confirmed", avg_assets="30000",
             end_assets="30000")
    res = b.settle()
    m = row(res, "M1")
    assert m.ea == 1                              # N only
    assert m.nmv == D("10000")
    assert m.avg_assets == D("60000")             # 10,000 + 20,000 + 30,000
    assert m.net_revenue == D("214.35")           # 1,000,000 × 0.00021435 = 214.35 (U's trade counts)
    assert line(res, "M1", "account_bonus") == D("50.00")  # P4: EA 1 × 50
    assert line(res, "M1", "fund_commission") == D("60.00")  # P6 (D22): 300 × 0.20, U's sale included


def test_d9_investigated_client_counts_once_in_first_normal_month_for_its_owner_then():
    """D9: a client excluded in its opening month as under_investigation counts once, in the first month it
    is normal again, for its owner at the end of that month, judged on that month's figures; not effective
    then → never counted; malicious_confirmed → never counted."""
    may = MonthBuilder("2024-05")
    may.manager("M1").manager("M2")
    for cid in ("U", "V", "W", "X"):
        may.client(cid, "M1", opened="2024-05-10", status="under_investigation", end_assets="50000")
    may_res = may.settle()
    assert row(may_res, "M1").ea == 0 and row(may_res, "M1").nmv == 0

    jun = may.next(may_res)
    jun.client("U", "M1", opened="2024-05-10", end_assets="20000")        # normal, effective: counts now
    jun.client("V", "M1", opened="2024-05-10", end_assets="3000")         # normal, not effective: never
    jun.client("W", "M1", opened="2024-05-10", status="under_investigation", end_assets="50000")
    jun.client("X", "M1", opened="2024-05-10", status="malicious_confirmed", end_assets="50000")
    jun_res = jun.settle()
    assert row(jun_res, "M1").ea == 1                  # U
    assert row(jun_res, "M1").nmv == D("20000")

    jul = jun.next(jun_res)
    jul.client("U", "M1", opened="2024-05-10", end_assets="20000")        # counted once already
    jul.client("V", "M1", opened="2024-05-10", end_assets="50000")        # was not effective when cleared
    jul.client("W", "M2", opened="2024-05-10", end_assets="40000")        # cleared now, owned by M2 at end
    jul.client("X", "M1", opened="2024-05-10", status="malicious_confirmed", end_assets="50000")
    jul_res = jul.settle()
    assert row(jul_res, "M1").ea == 0 and row(jul_res, "M1").nmv == 0
    assert row(jul_res, "M2").ea == 1                  # W, for its owner at the end of July
    assert row(jul_res, "M2").nmv == D("40000")


# ---- M5 / D10 ------------------------------------------------------------------------------------


def test_m5_net_revenue_all_trades_summed_unrounded_then_rounded_once():
    """M5, D41: every trade (buy and sell, any product) of the clients owned at the end of M; the manager
    total is rounded to 0.01 once, not per trade."""
    b = MonthBuilder("2024-05")
    b.manager("M1").manager("M2")
    b.client("C1", "M1")
    b.client("C2", "M2")
    for _ in range(10):  # 10 × 100 × 0.00021435 = 0.21435 (per-trade rounding would give 10 × 0.02 = 0.20)
        b.trade("C1", "stock", "buy", "100", "0.0003")
    # bond sell at 0.0001: 0.0001 × 0.9435 − 0.0000687 = 0.00002565; × 1,000,000 = 25.65
    b.trade("C1", "bond", "sell", "1000000", "0.0001")
    # IPO subscription at rate 0: −0.0000687 × 200,000 = −13.74
    b.trade("C1", "ipo_subscription", "buy", "200000", "0")
    b.trade("C2", "stock", "buy", "1000000", "0.0003")  # M2's client: 214.35 for M2 only
    res = b.settle()
    # M1: 0.21435 + 25.65 − 13.74 = 12.12435 → 12.12 (per-trade rounding would give 12.11)
    assert row(res, "M1").net_revenue == D("12.12")
    assert row(res, "M2").net_revenue == D("214.35")


def test_m5_d10_negative_net_revenue_reported_and_commission_floored():
    """D10: NR may be negative and is reported as computed; the P3 line is floored at 0.
    M6 score_raw is not floored (only score_applied is clamped)."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    b.client("C1", "M1")
    # 0.00005 × 0.9435 − 0.0000687 = 0.000047175 − 0.0000687 = −0.000021525; × 2,000,000 = −43.05
    b.trade("C1", "stock", "buy", "2000000", "0.00005")
    res = b.settle()
    m = row(res, "M1")
    assert m.net_revenue == D("-43.05")
    # score_raw = 0.2 × (−43.05) / 10,000 = −0.000861 → −0.0009; applied clamp → 0.50
    assert m.score_raw == D("-0.0009")
    assert m.score_applied == D("0.50")
    # P3: max(0, −43.05 × 0.20 × 0.50 × 1) = 0
    assert line(res, "M1", "commission") == 0


# ---- M6 ------------------------------------------------------------------------------------------


def test_m6_score_weights_for_manager_inside_the_clamp_and_p3_uses_it():
    """M6: score_raw = 0.4·EA/EA_t + 0.4·NMV/NMV_t + 0.2·NR/NR_t (manager targets 5 / 500,000 / 10,000)."""
    b = MonthBuilder("2024-05")
    b.manager("M1", grade="manager")
    for i in range(3):
        b.client(f"N{i}", "M1", opened="2024-05-06", end_assets="100000")
    b.client("OLD", "M1")
    b.trade("OLD", "stock", "buy", "10000000", "0.0003")  # 10,000,000 × 0.00021435 = 2,143.50
    res = b.settle()
    m = row(res, "M1")
    assert (m.ea, m.nmv, m.net_revenue) == (3, D("300000"), D("2143.50"))
    # 0.4 × 3/5 + 0.4 × 300,000/500,000 + 0.2 × 2,143.50/10,000 = 0.24 + 0.24 + 0.04287 = 0.52287 → 0.5229
    assert m.score_raw == D("0.5229")
    assert m.score_applied == D("0.5229")
    # P3: 2,143.50 × 0.20 × 0.5229 × 1 = 224.16723 → 224.17
    assert line(res, "M1", "commission") == D("224.17")


def test_m6_trainee_weights_ignore_nr_and_score_rounds_half_up():
    """M6: trainee score = 0.5·EA/2 + 0.5·NMV/100,000 (NR not used); 4 decimals half up (D41)."""
    b = MonthBuilder("2024-05")
    b.manager("T1", grade="trainee", hire="2020-01-06")  # long past probation
    b.client("N1", "T1", opened="2024-05-06", end_assets="10")
    b.trade("N1", "stock", "buy", "6000", "0.0003")  # effective by turnover 6,000 > 5,000
    res = b.settle()
    m = row(res, "T1")
    # NR 6,000 × 0.00021435 = 1.2861 → 1.29 (reported, not in the trainee score)
    assert m.net_revenue == D("1.29")
    # 0.5 × 1/2 + 0.5 × 10/100,000 = 0.25 + 0.00005 = 0.25005 → 0.2501 (half up; half-even would be 0.2500)
    assert m.score_raw == D("0.2501")
    assert m.score_applied == D("0.50")


def test_m6_score_clamped_at_both_ends():
    """M6: score_applied = clamp(score_raw, 0.50, 1.20); score_raw is kept as computed."""
    b = MonthBuilder("2024-05")
    b.manager("LOW").manager("HIGH").manager("NONE").manager("BIG")
    # LOW: one client end 524,875: 0.4 × 1/5 + 0.4 × 524,875/500,000 = 0.08 + 0.4199 = 0.4999 → applied 0.50
    b.client("L1", "LOW", opened="2024-05-06", end_assets="524875")
    # HIGH: 5 clients × 200,025: 0.4 × 5/5 + 0.4 × 1,000,125/500,000 = 0.4 + 0.8001 = 1.2001 → applied 1.20
    for i in range(5):
        b.client(f"H{i}", "HIGH", opened="2024-05-06", end_assets="200025")
    # BIG: 10 clients × 100,000: 0.4 × 10/5 + 0.4 × 1,000,000/500,000 = 0.8 + 0.8 = 1.6 → 1.20
    for i in range(10):
        b.client(f"B{i}", "BIG", opened="2024-05-06", end_assets="100000")
    # NONE: no clients at all: every metric 0, score 0 → applied 0.50
    res = b.settle()
    assert (row(res, "LOW").score_raw, row(res, "LOW").score_applied) == (D("0.4999"), D("0.50"))
    assert (row(res, "HIGH").score_raw, row(res, "HIGH").score_applied) == (D("1.2001"), D("1.20"))
    assert (row(res, "BIG").score_raw, row(res, "BIG").score_applied) == (D("1.6000"), D("1.20"))
    none = row(res, "NONE")
    assert (none.avg_assets, none.ea, none.nmv, none.net_revenue) == (0, 0, 0, 0)
    assert (none.score_raw, none.score_applied) == (D("0"), D("0.50"))
    # a manager with no clients still gets P2 in full and P7: 2,500 × 21/21 × 100/100; transport 200
    assert line(res, "NONE", "fixed_pay") == D("2500.00")
    assert line(res, "NONE", "transport_allowance") == D("200.00")
    assert line(res, "NONE", "commission") == 0


# ---- M7 / D12 ------------------------------------------------------------------------------------


def test_m7_management_score_half_days_unproven_sick_work_injury_and_absence_d12():
    """M7, D12, A6: 5 per sick day (with proof), 10 per personal day, a sick day without proof counts as
    personal; 5 per late / early leave row; half days count half; work injury and absence cost no points."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    b.attend("M1", "sick_leave", "2024-05-06", "1", proof=True)      # 5
    b.attend("M1", "sick_leave", "2024-05-07", "0.5", proof=True)    # 2.5
    b.attend("M1", "personal_leave", "2024-05-08", "0.5")            # 5
    b.attend("M1", "sick_leave", "2024-05-09")                       # no proof → personal: 10
    b.attend("M1", "late", "2024-05-10")                             # 5
    b.attend("M1", "late", "2024-05-13")                             # 5
    b.attend("M1", "early_leave", "2024-05-14")                      # 5
    b.attend("M1", "work_injury", "2024-05-15")                      # 0 (A6)
    b.attend("M1", "work_injury", "2024-05-16")                      # 0
    b.attend("M1", "absent", "2024-05-17", "0.5")                    # 0 (D12: A4 covers it)
    res = b.settle()
    # S = 100 − 5 − 2.5 − 5 − 10 − 5 − 5 − 5 = 62.5
    assert row(res, "M1").management_score == D("62.5")
    # P2 = 2,500 × 21/21 × 62.5/100 = 1,562.50
    assert line(res, "M1", "fixed_pay") == D("1562.50")


def test_m7_management_events_and_floor_at_zero():
    """M7: 10 per no_promotion / meeting_not_held / report_late / dress_code, 5 per left_post,
    20 per complaint; floor 0."""
    b = MonthBuilder("2024-05")
    b.manager("M2").manager("M3")
    for kind in ("no_promotion", "meeting_not_held", "report_late", "dress_code", "left_post", "complaint"):
        b.event("M2", kind)
    for _ in range(6):
        b.event("M3", "complaint")
    res = b.settle()
    # M2: 100 − 10 − 10 − 10 − 10 − 5 − 20 = 35; P2 = 2,500 × 35/100 = 875.00
    assert row(res, "M2").management_score == D("35")
    assert line(res, "M2", "fixed_pay") == D("875.00")
    # M3: 100 − 6 × 20 = −20 → floor 0; P2 = 0
    assert row(res, "M3").management_score == D("0")
    assert line(res, "M3", "fixed_pay") == 0
