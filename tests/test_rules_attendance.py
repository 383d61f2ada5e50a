"""Worked examples for RULEBOOK §5 attendance: A1-A6 with D12, D28, D29, D30, D40 (and M7 where they meet).

Every figure is derived by hand from the RULEBOOK; the arithmetic is in the comments.

Common ground (unless a test says otherwise):
- month 2024-05: 21 PRC working days (1-5 May holiday, Saturday 11 May a swapped workday);
  working days 6,7,8,9,10,11,13,14,15,16,17,20,21,22,23,24,27,28,29,30,31 May.
- a `manager`-grade marketer hired 2015, no clients: EA 0, NMV 0, NR 0, so commission 0.
  P1 standard 2,500; P7 transport 200; daily_rate (A2) = 2,500 / 21.75 = 114.942528735632...
- gross below 5,000 a month: TX2 income_tax 0; F1 = 5% × gross (balance 0, cap 10,000).
- pay lines carry deductions as negative amounts (DATA.md), so attendance_deduction is negative.
"""

from decimal import Decimal

from tests.builders import MonthBuilder, line, row

D = Decimal


def comps(res, mid):  # noqa: ANN001, ANN201
    """{component: amount} of one person's pay lines."""
    return {ln.component: ln.amount for ln in res.lines_of(mid)}


def rule_of(res, mid, component):  # noqa: ANN001, ANN201
    return next(ln.rule for ln in res.lines_of(mid) if ln.component == component)


def may(*ids: str, **kw) -> MonthBuilder:  # noqa: ANN003
    b = MonthBuilder("2024-05")
    for mid in ids:
        b.manager(mid, grade="manager", **kw)
    return b


# ---- A3 sick leave ---------------------------------------------------------------------------------


def test_exactly_three_sick_days_with_proof_cost_no_pay_but_m7_points():
    # A3: sick days 3 ≤ 3 → no deduction.  M7: S = 100 − 3×5 = 85.
    b = may("M")
    for on in ("2024-05-06", "2024-05-07", "2024-05-08"):
        b.attend("M", "sick_leave", on, "1", proof=True)
    res = b.settle()
    assert row(res, "M").management_score == D("85")
    c = comps(res, "M")
    assert c["fixed_pay"] == D("2125.00")  # P2 2,500 × 85/100
    assert "attendance_deduction" not in c  # A3 nothing (zero lines are not written)
    assert c["gross_pay"] == D("2325.00")  # 2,125 + 200
    assert c["risk_fund_withholding"] == D("-116.25")  # F1 5% × 2,325
    assert c["net_pay"] == D("2208.75")


def test_three_and_a_half_sick_days_deduct_every_sick_day():
    # A3: 3.5 > 3 → all 3.5 days × daily_rate = 3.5 × 114.9425287… = 402.298… → 402.30
    # M7: S = 100 − 3.5×5 = 82.5 → P2 2,500 × 0.825 = 2,062.50; cap (D28) 2,062.50 not reached.
    b = may("M")
    for on in ("2024-05-06", "2024-05-07", "2024-05-08"):
        b.attend("M", "sick_leave", on, "1", proof=True)
    b.attend("M", "sick_leave", "2024-05-09", "0.5", proof=True)
    res = b.settle()
    assert row(res, "M").management_score == D("82.5")
    c = comps(res, "M")
    assert c["fixed_pay"] == D("2062.50")
    assert c["attendance_deduction"] == D("-402.30")
    assert rule_of(res, "M", "attendance_deduction") == "A3"
    assert c["gross_pay"] == D("1860.20")  # 2,062.50 + 200 − 402.30
    assert c["risk_fund_withholding"] == D("-93.01")  # 5% × 1,860.20
    assert c["net_pay"] == D("1767.19")


def test_sick_without_proof_is_personal_leave_before_the_three_day_test():
    # D12: 2 proven + 2 unproven sick days. The unproven 2 are personal leave:
    # A2 2 × 114.9425… = 229.885… → 229.89.
    # A3 tests only the 2 proven days: 2 ≤ 3 → 0. (Counting all 4 as sick would give 4 × rate = 459.77.)
    # M7: 2 × 5 (sick) + 2 × 10 (personal) = 30 → S 70 → P2 1,750.00.
    b = may("M")
    b.attend("M", "sick_leave", "2024-05-06", "1", proof=True)
    b.attend("M", "sick_leave", "2024-05-07", "1", proof=True)
    b.attend("M", "sick_leave", "2024-05-08", "1", proof=False)
    b.attend("M", "sick_leave", "2024-05-09", "1", proof=False)
    res = b.settle()
    assert row(res, "M").management_score == D("70")
    c = comps(res, "M")
    assert c["fixed_pay"] == D("1750.00")
    assert c["attendance_deduction"] == D("-229.89")
    assert rule_of(res, "M", "attendance_deduction") == "A2"
    assert c["gross_pay"] == D("1720.11")  # 1,750 + 200 − 229.89
    assert c["risk_fund_withholding"] == D("-86.01")  # 5% × 1,720.11 = 86.0055 → 86.01
    assert c["net_pay"] == D("1634.10")


def test_three_proven_plus_one_unproven_sick_day_stays_under_the_sick_threshold():
    # D12: 3 proven + 1 unproven. A3: 3 ≤ 3 → 0. A2: the unproven day 114.9425… → 114.94.
    # M7: 3×5 + 1×10 = 25 → S 75 → P2 1,875.00.
    b = may("M")
    for on in ("2024-05-06", "2024-05-07", "2024-05-08"):
        b.attend("M", "sick_leave", on, "1", proof=True)
    b.attend("M", "sick_leave", "2024-05-09", "1")  # proof left out: blank = no proof (D6)
    res = b.settle()
    c = comps(res, "M")
    assert row(res, "M").management_score == D("75")
    assert c["fixed_pay"] == D("1875.00")
    assert c["attendance_deduction"] == D("-114.94")
    assert c["gross_pay"] == D("1960.06")  # 1,875 + 200 − 114.94
    assert c["risk_fund_withholding"] == D("-98.00")  # 5% × 1,960.06 = 98.003 → 98.00
    assert c["net_pay"] == D("1862.06")


def test_unproven_sick_days_count_in_the_yearly_personal_leave_counter():
    # D12 + A2 cap: opening personal_leave_days_ytd 19; 1.5 unproven sick days in May → 20.5 > 20 → flag.
    # The other manager takes 1.5 proven sick days: ytd personal stays 19 → no flag.
    b = may("M", "P")
    b.open("M", personal_leave_days_ytd="19")
    b.open("P", personal_leave_days_ytd="19")
    b.attend("M", "sick_leave", "2024-05-06", "1")
    b.attend("M", "sick_leave", "2024-05-07", "0.5")
    b.attend("P", "sick_leave", "2024-05-06", "1", proof=True)
    b.attend("P", "sick_leave", "2024-05-07", "0.5", proof=True)
    res = b.settle()
    assert "personal_leave_over_cap" in row(res, "M").flags
    assert "personal_leave_over_cap" not in row(res, "P").flags
    # M: A2 1.5 × 114.9425… = 172.41379… → 172.41; P: A3 1.5 ≤ 3 → 0.
    assert line(res, "M", "attendance_deduction") == D("-172.41")
    assert line(res, "P", "attendance_deduction") == 0


# ---- A4 absence, D29 half days ---------------------------------------------------------------------


def test_absence_of_one_and_a_half_days():
    # A4/D29: one 1-day row (5 rates) + one 0.5-day row (2 rates), total 1.5 < 2:
    # 7 × 114.9425… = 804.5977… → 804.60. D12: absence costs no M7 points → S 100, P2 2,500.
    b = may("M")
    b.attend("M", "absent", "2024-05-13", "1")
    b.attend("M", "absent", "2024-05-15", "0.5")
    res = b.settle()
    c = comps(res, "M")
    assert row(res, "M").management_score == D("100")
    assert c["fixed_pay"] == D("2500.00")
    assert c["attendance_deduction"] == D("-804.60")
    assert rule_of(res, "M", "attendance_deduction") == "A4"
    assert c["gross_pay"] == D("1895.40")
    assert c["risk_fund_withholding"] == D("-94.77")  # 5% × 1,895.40
    assert c["net_pay"] == D("1800.63")
    assert row(res, "M").flags == ()


def test_absence_of_two_days_costs_the_whole_fixed_pay():
    # A4: two 1-day rows (not consecutive), total 2 ≥ 2 → the whole P2 line 2,500.00
    # (not 10 × daily rate = 1,149.43). D28 cap: min(2,500, 2,500) = 2,500.
    b = may("M")
    b.attend("M", "absent", "2024-05-13", "1")
    b.attend("M", "absent", "2024-05-15", "1")
    res = b.settle()
    c = comps(res, "M")
    assert c["fixed_pay"] == D("2500.00")
    assert c["attendance_deduction"] == D("-2500.00")
    assert c["gross_pay"] == D("200.00")  # 2,500 + 200 − 2,500
    assert c["risk_fund_withholding"] == D("-10.00")
    assert c["net_pay"] == D("190.00")
    # A5: no 3-day run, year total 2 < 5
    assert "deemed_resignation" not in row(res, "M").flags


def test_three_half_day_absence_rows_cost_two_rates_each():
    # D29: three 0.5-day rows = 1.5 days < 2 → 3 × 2 = 6 rates = 689.655… → 689.66.
    b = may("M")
    for on in ("2024-05-13", "2024-05-14", "2024-05-15"):
        b.attend("M", "absent", on, "0.5")
    res = b.settle()
    c = comps(res, "M")
    assert c["attendance_deduction"] == D("-689.66")
    assert c["gross_pay"] == D("2010.34")  # 2,700 − 689.66
    assert c["risk_fund_withholding"] == D("-100.52")  # 5% × 2,010.34 = 100.517
    assert c["net_pay"] == D("1909.82")


def test_four_half_day_absence_rows_make_two_days_and_cost_the_whole_fixed_pay():
    # A4 in half-day units: 4 × 0.5 = 2 days ≥ 2 → whole P2 2,500. D30: half days never make a run.
    b = may("M")
    for on in ("2024-05-13", "2024-05-14", "2024-05-15", "2024-05-16"):
        b.attend("M", "absent", on, "0.5")
    res = b.settle()
    assert line(res, "M", "attendance_deduction") == D("-2500.00")
    assert line(res, "M", "gross_pay") == D("200.00")
    assert "deemed_resignation" not in row(res, "M").flags


# ---- A5 deemed resignation, D30 -------------------------------------------------------------------------


def test_three_consecutive_absent_working_days_across_a_weekend():
    # A5/D30: Fri 17, Mon 20, Tue 21 May are consecutive working days (the weekend does not break the run)
    # → deemed_resignation. A4: 3 days ≥ 2 → whole P2.
    b = may("M")
    for on in ("2024-05-17", "2024-05-20", "2024-05-21"):
        b.attend("M", "absent", on, "1")
    res = b.settle()
    assert "deemed_resignation" in row(res, "M").flags
    assert line(res, "M", "attendance_deduction") == D("-2500.00")
    assert line(res, "M", "gross_pay") == D("200.00")


def test_run_follows_the_prc_calendar_swapped_saturday_workday():
    # D30/D44: Saturday 11 May 2024 is a PRC working day.
    # R: Fri 10, Sat 11, Mon 13 → 3 consecutive working days → flag.
    # N: Fri 10, Mon 13, Tue 14 → Sat 11 (a working day, attended) breaks it: runs of 1 and 2 → no flag.
    b = may("R", "N")
    for on in ("2024-05-10", "2024-05-11", "2024-05-13"):
        b.attend("R", "absent", on, "1")
    for on in ("2024-05-10", "2024-05-13", "2024-05-14"):
        b.attend("N", "absent", on, "1")
    res = b.settle()
    assert "deemed_resignation" in row(res, "R").flags
    assert "deemed_resignation" not in row(res, "N").flags  # 3 days in the year < 5


def test_half_day_in_the_middle_breaks_the_run():
    # D30: only full-day absences make the run: Fri 17 (1), Mon 20 (0.5), Tue 21 (1) → no run of 3.
    # Year total 2.5 < 5 → no flag. A4: 2.5 ≥ 2 → whole fixed pay.
    b = may("M")
    b.attend("M", "absent", "2024-05-17", "1")
    b.attend("M", "absent", "2024-05-20", "0.5")
    b.attend("M", "absent", "2024-05-21", "1")
    res = b.settle()
    assert "deemed_resignation" not in row(res, "M").flags
    assert line(res, "M", "attendance_deduction") == D("-2500.00")


def test_five_absent_days_in_the_year_flag_every_month_meeting_it():
    # A5/D30: opening absent_days_ytd 3.5 + May 1.5 (one full row + one half row) = 5 ≥ 5 → flag in May;
    # June has no absence, but the year-to-date total, including June, is still 5 → flag again.
    # N: opening 3 + 1.5 = 4.5 < 5 → no flag in either month.
    b = may("M", "N")
    b.open("M", absent_days_ytd="3.5")
    b.open("N", absent_days_ytd="3")
    for mid in ("M", "N"):
        b.attend(mid, "absent", "2024-05-13", "1")
        b.attend(mid, "absent", "2024-05-15", "0.5")
    may_res = b.settle()
    assert "deemed_resignation" in row(may_res, "M").flags
    assert "deemed_resignation" not in row(may_res, "N").flags
    june = b.next(may_res).settle()
    assert "deemed_resignation" in row(june, "M").flags
    assert "deemed_resignation" not in row(june, "N").flags
    # June: no attendance rows → no deduction, full fixed pay.
    assert line(june, "M", "fixed_pay") == D("2500.00")
    assert line(june, "M", "attendance_deduction") == 0


# ---- D28 cap and rounding ------------------------------------------------------------------------------


def test_a2_to_a4_capped_at_fixed_pay_but_a1_not():
    # 8 personal-leave days and 2 late arrivals.
    # M7: 100 − 8×10 − 2×5 = 10 → P2 2,500 × 10/100 = 250.00.
    # A2 8 × 114.9425… = 919.54 → capped at the P2 line 250.00 (D28). A1 2 × 50 = 100.00, not capped.
    # attendance_deduction = 100 + 250 = 350.00 (more than the fixed pay: A1 is outside the cap).
    b = may("M")
    for on in ("2024-05-06", "2024-05-07", "2024-05-08", "2024-05-09", "2024-05-10", "2024-05-13",
               "2024-05-14", "2024-05-15"):
        b.attend("M", "personal_leave", on, "1")
    b.attend("M", "late", "2024-05-20")
    b.attend("M", "late", "2024-05-21")
    res = b.settle()
    c = comps(res, "M")
    assert row(res, "M").management_score == D("10")
    assert c["fixed_pay"] == D("250.00")
    assert c["attendance_deduction"] == D("-350.00")
    assert rule_of(res, "M", "attendance_deduction") == "A1;A2"  # D42: rules joined with ';'
    assert c["gross_pay"] == D("100.00")  # 250 + 200 − 350
    assert c["risk_fund_withholding"] == D("-5.00")
    assert c["net_pay"] == D("95.00")
    assert "personal_leave_over_cap" not in row(res, "M").flags  # 8 ≤ 20


def test_each_of_a1_to_a4_is_rounded_separately():
    # D28/D41: A2 1 day = 114.9425… → 114.94; A4 one 1-day row = 5 × 114.9425… = 574.7126… → 574.71.
    # Line = 114.94 + 574.71 = 689.65 (rounding the 6-rate sum instead would give 689.66).
    # M7: personal 10 → S 90 → P2 2,250.00.
    b = may("M")
    b.attend("M", "personal_leave", "2024-05-06", "1")
    b.attend("M", "absent", "2024-05-13", "1")
    res = b.settle()
    c = comps(res, "M")
    assert c["fixed_pay"] == D("2250.00")
    assert c["attendance_deduction"] == D("-689.65")
    assert rule_of(res, "M", "attendance_deduction") == "A2;A4"
    assert c["gross_pay"] == D("1760.35")  # 2,250 + 200 − 689.65
    assert c["risk_fund_withholding"] == D("-88.02")  # 5% × 1,760.35 = 88.0175
    assert c["net_pay"] == D("1672.33")


def test_daily_rate_uses_the_unprorated_standard_in_a_partial_month():
    # Hired Thu 16 May: employed working days 16,17,20-24,27-31 = 12 of 21 (D3).
    # M7: 1 personal day → S 90. P2 = 2,500 × 12/21 × 0.90 = 1,285.714… → 1,285.71.
    # P7 200 × 12/21 = 114.2857… → 114.29. A2 uses the unprorated standard: 2,500/21.75 = 114.94.
    b = MonthBuilder("2024-05")
    b.manager("M", grade="manager", hire="2024-05-16")
    b.attend("M", "personal_leave", "2024-05-20", "1")
    res = b.settle()
    c = comps(res, "M")
    assert c["fixed_pay"] == D("1285.71")
    assert c["transport_allowance"] == D("114.29")
    assert c["attendance_deduction"] == D("-114.94")
    assert c["gross_pay"] == D("1285.06")  # 1,285.71 + 114.29 − 114.94
    assert c["risk_fund_withholding"] == D("-64.25")  # 5% × 1,285.06 = 64.253
    assert c["net_pay"] == D("1220.81")


def test_work_injury_costs_nothing_and_late_early_are_fined_per_row():
    # A6: 2 work-injury days: no deduction, no M7 points.
    # A1/D12: one late + one early_leave row = 2 × 50 = 100.
    # M7: 2 × 5 = 10 → S 90 → P2 2,250.00.
    b = may("M")
    b.attend("M", "work_injury", "2024-05-06", "1")
    b.attend("M", "work_injury", "2024-05-07", "1")
    b.attend("M", "late", "2024-05-08")
    b.attend("M", "early_leave", "2024-05-09")
    res = b.settle()
    c = comps(res, "M")
    assert row(res, "M").management_score == D("90")
    assert c["fixed_pay"] == D("2250.00")
    assert c["attendance_deduction"] == D("-100.00")
    assert rule_of(res, "M", "attendance_deduction") == "A1"
    assert c["gross_pay"] == D("2350.00")
    assert c["risk_fund_withholding"] == D("-117.50")
    assert c["net_pay"] == D("2232.50")


# ---- A2 yearly cap (D30), yearly reset (D40) --------------------------------------------------------------


def test_personal_leave_over_the_yearly_cap_flags_every_month_meeting_it():
    # A2/D30: "over 20 days" = more than 20.
    # M: opening 18 + May 2.5 = 20.5 > 20 → flag in May; June adds nothing but ytd 20.5 → flag again.
    # N: opening 18 + May 2 = 20 (not over) → no flag; June 0.5 more → 20.5 → flag.
    b = may("M", "N")
    b.open("M", personal_leave_days_ytd="18")
    b.open("N", personal_leave_days_ytd="18")
    b.attend("M", "personal_leave", "2024-05-06", "1")
    b.attend("M", "personal_leave", "2024-05-07", "1")
    b.attend("M", "personal_leave", "2024-05-08", "0.5")
    b.attend("N", "personal_leave", "2024-05-06", "1")
    b.attend("N", "personal_leave", "2024-05-07", "1")
    may_res = b.settle()
    assert "personal_leave_over_cap" in row(may_res, "M").flags
    assert "personal_leave_over_cap" not in row(may_res, "N").flags
    # M in May: A2 2.5 × 114.9425… = 287.356… → 287.36; S = 100 − 25 = 75 → P2 1,875.00
    assert line(may_res, "M", "fixed_pay") == D("1875.00")
    assert line(may_res, "M", "attendance_deduction") == D("-287.36")
    assert line(may_res, "M", "gross_pay") == D("1787.64")
    nb = b.next(may_res)
    nb.attend("N", "personal_leave", "2024-06-03", "0.5")
    june = nb.settle()
    assert "personal_leave_over_cap" in row(june, "M").flags
    assert "personal_leave_over_cap" in row(june, "N").flags
    # The flag is only a flag: June pay of M is untouched (S 100, no deduction).
    assert line(june, "M", "fixed_pay") == D("2500.00")
    assert line(june, "M", "attendance_deduction") == 0


def test_yearly_attendance_counters_reset_in_january():
    # D40: first ledger month 2024-12 with opening personal 21 days and absence 4.5 days.
    # Dec: personal ytd 21 > 20 → personal_leave_over_cap;
    #      a half-day absence → 4.5 + 0.5 = 5 → deemed_resignation.
    # Jan 2025: counters restart at 0: 1 personal day (ytd 1) and 1 absent day (ytd 1) → no flags
    # (without the reset: 22 > 20 and 6 ≥ 5 would flag both).
    b = MonthBuilder("2024-12")
    b.manager("M", grade="manager")
    b.open("M", personal_leave_days_ytd="21", absent_days_ytd="4.5")
    b.attend("M", "absent", "2024-12-03", "0.5")
    dec = b.settle()
    assert {"personal_leave_over_cap", "deemed_resignation"} <= set(row(dec, "M").flags)
    # Dec: A4 one half row = 2 × 114.9425… = 229.885… → 229.89
    assert line(dec, "M", "attendance_deduction") == D("-229.89")
    nb = b.next(dec)
    nb.attend("M", "personal_leave", "2025-01-06", "1")
    nb.attend("M", "absent", "2025-01-07", "1")
    jan = nb.settle()
    flags = set(row(jan, "M").flags)
    assert "personal_leave_over_cap" not in flags
    assert "deemed_resignation" not in flags
    # Jan: A2 114.94 + A4 574.71 = 689.65; S 90 → P2 2,250.00
    assert line(jan, "M", "fixed_pay") == D("2250.00")
    assert line(jan, "M", "attendance_deduction") == D("-689.65")


def test_a_run_across_two_months_does_not_count():
    # D30: only full-day absences inside M make the run. Thu 30 and Fri 31 May, then Mon 3 June are
    # consecutive working days, but May has a run of 2 and June a run of 1 → no flag; year total 3 < 5.
    # May: A4 2 days ≥ 2 → whole P2 2,500. June: one 1-day row → 5 × 114.9425… = 574.71.
    b = may("M")
    b.attend("M", "absent", "2024-05-30", "1")
    b.attend("M", "absent", "2024-05-31", "1")
    may_res = b.settle()
    assert "deemed_resignation" not in row(may_res, "M").flags
    assert line(may_res, "M", "attendance_deduction") == D("-2500.00")
    nb = b.next(may_res)
    nb.attend("M", "absent", "2024-06-03", "1")
    june = nb.settle()
    assert "deemed_resignation" not in row(june, "M").flags
    assert line(june, "M", "attendance_deduction") == D("-574.71")
