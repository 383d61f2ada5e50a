"""Worked examples for RULEBOOK §6 penalties and holds: X1-X6 with D31, D32, D33, D34, D37.

Every figure is derived by hand from the RULEBOOK; the arithmetic is in the comments.

Common ground (unless a test says otherwise):
- `manager` grade marketer hired 2015, no clients of note: P2 2,500 + P7 200 = gross 2,700.00, no tax
  (2,700 − 5,000 < 0), F1 5% × 2,700 = 135.00, so net before penalties 2,565.00.
- `trainee` grade (used where three months run, since a trainee hired in 2015 with no assets is never
  regraded: G3 threshold 0, G4 not for trainees, G2 needs A3 ≥ 500,000): P2 1,500 + P7 120 = 1,620.00,
  F1 81.00, net before holds 1,539.00.
- deductions are negative pay lines; released_income is positive.
"""

from decimal import Decimal

from tests.builders import MonthBuilder, d, line, row, rules_with

D = Decimal


def comps(res, mid):  # noqa: ANN001, ANN201
    return {ln.component: ln.amount for ln in res.lines_of(mid)}


def rule_of(res, mid, component):  # noqa: ANN001, ANN201
    return next(ln.rule for ln in res.lines_of(mid) if ln.component == component)


def month_of(month: str, *ids: str, grade: str = "manager", **kw) -> MonthBuilder:  # noqa: ANN003
    b = MonthBuilder(month, **kw)
    for mid in ids:
        b.manager(mid, grade=grade)
    return b


# ---- X1 discretionary trading (D31) ------------------------------------------------------------------


def test_first_discretionary_trading_fined_then_dismissal_flag():
    # X1: first occurrence ever → 1,000; net 2,700 − 135 − 1,000 = 1,565.00, no flag.
    b = month_of("2024-05", "M")
    b.penalty("M", "discretionary_trading", on="2024-05-10")
    may = b.settle()
    c = comps(may, "M")
    assert c["penalty"] == D("-1000.00")
    assert rule_of(may, "M", "penalty") == "X1"
    assert c["net_pay"] == D("1565.00")
    assert "dismissal" not in row(may, "M").flags
    # June: a later occurrence → no fine, flag dismissal; net 2,565.00.
    nb = b.next(may)
    nb.penalty("M", "discretionary_trading", on="2024-06-12")
    june = nb.settle()
    assert "penalty" not in comps(june, "M")
    assert "dismissal" in row(june, "M").flags
    assert line(june, "M", "net_pay") == D("2565.00")


def test_opening_discretionary_count_makes_the_first_ledger_record_a_later_one():
    # D31: opening.discretionary_count 1 → this month's record is the second ever: no fine, dismissal.
    b = month_of("2024-05", "M", "N")
    b.open("M", discretionary_count="1")
    b.penalty("M", "discretionary_trading", on="2024-05-10")
    b.penalty("N", "discretionary_trading", on="2024-05-10")  # N: count 0 → first ever → fined
    res = b.settle()
    assert "penalty" not in comps(res, "M")
    assert "dismissal" in row(res, "M").flags
    assert line(res, "M", "net_pay") == D("2565.00")
    assert line(res, "N", "penalty") == D("-1000.00")
    assert "dismissal" not in row(res, "N").flags


def test_two_discretionary_records_in_one_month():
    # D31: in date order, the first is fined 1,000, the second flags dismissal (no second fine).
    b = month_of("2024-05", "M")
    b.penalty("M", "discretionary_trading", on="2024-05-20")
    b.penalty("M", "discretionary_trading", on="2024-05-08")
    res = b.settle()
    assert line(res, "M", "penalty") == D("-1000.00")
    assert "dismissal" in row(res, "M").flags
    assert line(res, "M", "net_pay") == D("1565.00")


# ---- X2 malicious accounts: holds and releases (D32) -----------------------------------------------------


def test_fixed_pay_held_while_a_client_is_investigated_and_released_when_cleared():
    # Trainee T owns C1 (opened 2020), under investigation at the end of May and of June, normal in July.
    # May: held_income = the P2 line 1,500.00; net 1,620 − 81 − 1,500 = 39.00.
    # June: still investigated → June's P2 held too; May's hold stays (C1 not normal); net 39.00.
    # July: C1 normal → both holds released: 1,500 + 1,500 = 3,000.00; net 1,620 − 81 + 3,000 = 4,539.00.
    b = month_of("2024-05", "T", grade="trainee")
    b.client("C1", "T", status="under_investigation")
    may = b.settle()
    c = comps(may, "T")
    assert c["fixed_pay"] == D("1500.00")
    assert c["held_income"] == D("-1500.00")
    assert rule_of(may, "T", "held_income") == "X2"
    assert c["gross_pay"] == D("1620.00")  # the hold is after tax: gross unchanged
    assert c["risk_fund_withholding"] == D("-81.00")  # F1 on gross (D35)
    assert c["net_pay"] == D("39.00")
    nb = b.next(may)
    nb.client("C1", "T", status="under_investigation")
    june = nb.settle()
    c = comps(june, "T")
    assert c["held_income"] == D("-1500.00")
    assert "released_income" not in c
    assert c["net_pay"] == D("39.00")
    nb = nb.next(june)
    nb.client("C1", "T", status="normal")
    july = nb.settle()
    c = comps(july, "T")
    assert "held_income" not in c
    assert c["released_income"] == D("3000.00")
    assert c["net_pay"] == D("4539.00")


def test_hold_released_only_when_every_client_that_caused_it_is_normal():
    # May: C1 and C2 investigated → May's P2 1,500 held (once, not per client).
    # June: C1 normal, C2 still investigated → May's hold stays; June's P2 held (caused by C2).
    # July: both normal → 3,000.00 released.
    b = month_of("2024-05", "T", grade="trainee")
    b.client("C1", "T", status="under_investigation")
    b.client("C2", "T", status="under_investigation")
    may = b.settle()
    assert line(may, "T", "held_income") == D("-1500.00")
    nb = b.next(may)
    nb.client("C1", "T", status="normal")
    nb.client("C2", "T", status="under_investigation")
    june = nb.settle()
    assert line(june, "T", "held_income") == D("-1500.00")
    assert line(june, "T", "released_income") == 0
    nb = nb.next(june)
    nb.client("C1", "T")
    nb.client("C2", "T")
    july = nb.settle()
    assert line(july, "T", "released_income") == D("3000.00")
    assert line(july, "T", "net_pay") == D("4539.00")


def test_hold_never_released_when_the_client_is_confirmed_malicious_general_fine():
    # May: C1 investigated → hold 1,500; net 39.00.
    # June: C1 malicious_confirmed, penalties record malicious_account severity general → X2 fine 500;
    #   C1 is no longer under investigation → no June hold; May's hold is never released.
    #   net 1,620 − 81 − 500 = 1,039.00.
    # July: nothing released; net 1,539.00.
    b = month_of("2024-05", "T", grade="trainee")
    b.client("C1", "T", status="under_investigation")
    may = b.settle()
    assert line(may, "T", "net_pay") == D("39.00")
    nb = b.next(may)
    nb.client("C1", "T", status="malicious_confirmed")
    nb.penalty("T", "malicious_account", client="C1", severity="general", on="2024-06-14")
    june = nb.settle()
    c = comps(june, "T")
    assert c["penalty"] == D("-500.00")
    assert rule_of(june, "T", "penalty") == "X2"
    assert "held_income" not in c and "released_income" not in c
    assert c["net_pay"] == D("1039.00")
    assert "dismissal" not in row(june, "T").flags
    nb = nb.next(june)
    nb.client("C1", "T", status="malicious_confirmed")
    july = nb.settle()
    assert line(july, "T", "released_income") == 0
    assert line(july, "T", "net_pay") == D("1539.00")


def test_malicious_account_general_is_500_per_account_and_serious_is_dismissal():
    # X2: G has two general records (C1, C2) → 2 × 500 = 1,000.00; net 2,565 − 1,000 = 1,565.00.
    # S has one serious record → no fine, flag dismissal; net 2,565.00.
    b = month_of("2024-05", "G", "S")
    b.client("C1", "G", status="malicious_confirmed")
    b.client("C2", "G", status="malicious_confirmed")
    b.client("C3", "S", status="malicious_confirmed")
    b.penalty("G", "malicious_account", client="C1", severity="general")
    b.penalty("G", "malicious_account", client="C2", severity="general")
    b.penalty("S", "malicious_account", client="C3", severity="serious")
    res = b.settle()
    assert line(res, "G", "penalty") == D("-1000.00")
    assert line(res, "G", "net_pay") == D("1565.00")
    assert "dismissal" not in row(res, "G").flags
    assert line(res, "S", "penalty") == 0
    assert "dismissal" in row(res, "S").flags
    assert line(res, "S", "net_pay") == D("2565.00")
    # Confirmed clients are not under investigation: nothing held.
    assert line(res, "G", "held_income") == 0 and line(res, "S", "held_income") == 0


def test_investigated_new_client_is_excluded_from_ea_and_its_owner_fixed_pay_held():
    # X2/D7: C1 opened 6 May with end assets 8,000 (> 5,000, would be effective) but under investigation:
    # EA 0, NMV 0, no account bonus; P2 2,500 held. net 2,700 − 135 − 2,500 = 65.00.
    b = month_of("2024-05", "M")
    b.client("C1", "M", opened="2024-05-06", status="under_investigation", end_assets="8000")
    res = b.settle()
    assert row(res, "M").ea == 0 and row(res, "M").nmv == 0
    c = comps(res, "M")
    assert "account_bonus" not in c
    assert c["held_income"] == D("-2500.00")
    assert c["net_pay"] == D("65.00")


def test_hold_makes_net_negative_and_the_shortfall_is_carried():
    # D37: May: X1 fine 1,000 and the X2 hold of the full P2 2,500:
    #   2,700 − 135 − 1,000 − 2,500 = −935 → net 0, deduction_carried_out +935.00 (D42 sign);
    #   the hold stays the full 2,500.
    # June: C1 normal → released 2,500; carried in −935:
    #   2,700 − 135 − 935 + 2,500 = 4,130.00.
    b = month_of("2024-05", "M")
    b.client("C1", "M", status="under_investigation")
    b.penalty("M", "discretionary_trading")
    may = b.settle()
    c = comps(may, "M")
    assert c["held_income"] == D("-2500.00")
    assert c["penalty"] == D("-1000.00")
    assert c["deduction_carried_out"] == D("935.00")
    assert c["net_pay"] == D("0.00")
    nb = b.next(may)
    nb.client("C1", "M", status="normal")
    june = nb.settle()
    c = comps(june, "M")
    assert c["deduction_carried_in"] == D("-935.00")
    assert c["released_income"] == D("2500.00")
    assert c["net_pay"] == D("4130.00")


# ---- X3 business errors, X4 loss compensation --------------------------------------------------------------


def test_business_errors_at_both_ends_of_the_range():
    # X3: 100 and 1,000 are inside 100..1,000 (inclusive) and are taken as given: penalty 1,100.00.
    # net 2,565 − 1,100 = 1,465.00.
    b = month_of("2024-05", "M")
    b.penalty("M", "business_error", amount="100", on="2024-05-07")
    b.penalty("M", "business_error", amount="1000", on="2024-05-21")
    res = b.settle()
    assert line(res, "M", "penalty") == D("-1100.00")
    assert rule_of(res, "M", "penalty") == "X3"
    assert line(res, "M", "net_pay") == D("1465.00")


def test_loss_compensation_and_business_error_share_one_penalty_line():
    # X4 345.67 + X3 100 = 445.67, one `penalty` line with rule "X3;X4" (D42).
    # net 2,565 − 445.67 = 2,119.33.
    b = month_of("2024-05", "M")
    b.penalty("M", "loss_compensation", amount="345.67")
    b.penalty("M", "business_error", amount="100")
    res = b.settle()
    assert line(res, "M", "penalty") == D("-445.67")
    assert rule_of(res, "M", "penalty") == "X3;X4"
    assert line(res, "M", "net_pay") == D("2119.33")
    assert sum(1 for ln in res.lines_of("M") if ln.component == "penalty") == 1


# ---- X5 unapproved leaver (D33) ----------------------------------------------------------------------------


def _leaver_may(approved: bool) -> MonthBuilder:
    # M leaves Mon 20 May 2024. Employed working days 6-11, 13-17, 20 May = 12 of 21 (D3).
    # P2 2,500 × 12/21 = 1,428.571… → 1,428.57; P7 200 × 12/21 = 114.2857… → 114.29; gross 1,542.86.
    # F1 5% × 1,542.86 = 77.143 → 77.14.
    b = MonthBuilder("2024-05")
    b.manager("K", grade="manager")
    b.manager("M", grade="manager", leave="2024-05-20", leave_approved=approved)
    b.open("M", risk_fund_balance="1000")
    return b


def test_unapproved_leaver_withheld_then_forfeited_and_net_held():
    # X5/D33: F1 77.14 withheld as usual, then the whole balance (1,000 + 77.14) forfeited;
    # the net left 1,542.86 − 77.14 = 1,465.72 is held; net 0.
    b = _leaver_may(approved=False)
    may = b.settle()
    c = comps(may, "M")
    assert c["fixed_pay"] == D("1428.57")
    assert c["transport_allowance"] == D("114.29")
    assert c["gross_pay"] == D("1542.86")
    assert c["risk_fund_withholding"] == D("-77.14")
    assert c["held_income"] == D("-1465.72")
    assert rule_of(may, "M", "held_income") == "X5"
    assert c["net_pay"] == D("0.00")
    assert may.state.persons["M"].risk_fund_balance == 0
    # Never released, never refunded: nothing for M in June..December (leave month + 6 = November).
    res, nb = may, b
    for _ in range(7):
        nb = nb.next(res)
        res = nb.settle()
        assert res.lines_of("M") == []
        assert all(m.manager_id != "M" for m in res.managers)


def test_unapproved_leaver_with_negative_net_has_nothing_to_hold():
    # D33 "the net pay left (if positive) is held": two business errors of 1,000:
    # 1,542.86 − 77.14 − 2,000 = −534.28 → no hold, carried out 534.28, net 0; balance still forfeited.
    b = _leaver_may(approved=False)
    b.penalty("M", "business_error", amount="1000")
    b.penalty("M", "business_error", amount="1000")
    res = b.settle()
    c = comps(res, "M")
    assert "held_income" not in c
    assert c["risk_fund_withholding"] == D("-77.14")
    assert c["deduction_carried_out"] == D("534.28")
    assert c["net_pay"] == D("0.00")
    assert res.state.persons["M"].risk_fund_balance == 0


# ---- X6 management fee (D34) -------------------------------------------------------------------------------


def test_management_fee_on_positive_gross():
    # X6 with rate 0.035 (≤ 0.05): 0.035 × 2,700 = 94.50; net 2,700 − 135 − 94.50 = 2,470.50.
    rules = rules_with(penalties={"management_fee_rate": d("0.035")})
    b = month_of("2024-05", "M", rules=rules)
    res = b.settle()
    assert line(res, "M", "management_fee") == D("-94.50")
    assert rule_of(res, "M", "management_fee") == "X6"
    assert line(res, "M", "net_pay") == D("2470.50")


def test_management_fee_is_zero_on_negative_gross():
    # D34: rate × max(0, gross). N is late on 20 working days: M7 100 − 20×5 = 0 → P2 0;
    # A1 20 × 50 = 1,000 (not capped) → gross 0 + 200 − 1,000 = −800.00.
    # Fee 0.05 × max(0, −800) = 0; F1 max(0, 5% × −800) = 0; tax 0; net −800 → 0, carried out 800.00.
    rules = rules_with(penalties={"management_fee_rate": d("0.05")})
    b = month_of("2024-05", "N", rules=rules)
    days = ["2024-05-06", "2024-05-07", "2024-05-08", "2024-05-09", "2024-05-10", "2024-05-11", "2024-05-13",
            "2024-05-14", "2024-05-15", "2024-05-16", "2024-05-17", "2024-05-20", "2024-05-21", "2024-05-22",
            "2024-05-23", "2024-05-24", "2024-05-27", "2024-05-28", "2024-05-29", "2024-05-30"]
    for on in days:
        b.attend("N", "late", on)
    res = b.settle()
    c = comps(res, "N")
    assert c["gross_pay"] == D("-800.00")
    assert "management_fee" not in c
    assert "risk_fund_withholding" not in c
    assert "income_tax" not in c
    assert c["deduction_carried_out"] == D("800.00")
    assert c["net_pay"] == D("0.00")


def test_unapproved_leaver_with_an_investigated_client_has_both_holds_on_one_line():
    # X2 + X5 (D33, D42): gross 1,542.86, F1 77.14; X2 holds the P2 line 1,428.57 → 37.15 left;
    # X5 holds that 37.15 too: held_income = 1,428.57 + 37.15 = 1,465.72, rule "X2;X5"; net 0.
    b = _leaver_may(approved=False)
    b.client("C1", "M", status="under_investigation")
    res = b.settle()
    c = comps(res, "M")
    assert c["held_income"] == D("-1465.72")
    assert rule_of(res, "M", "held_income") == "X2;X5"
    assert c["net_pay"] == D("0.00")
    assert res.state.persons["M"].risk_fund_balance == 0


def test_hold_with_one_client_cleared_and_the_other_confirmed_is_never_released():
    # D32: May's hold (P2 1,500) was caused by C1 and C2. June: C1 normal, C2 malicious_confirmed →
    # a hold caused by a client confirmed malicious is never released: no release in June or July.
    # June: no client under investigation → no new hold; net 1,620 − 81 = 1,539.00.
    b = month_of("2024-05", "T", grade="trainee")
    b.client("C1", "T", status="under_investigation")
    b.client("C2", "T", status="under_investigation")
    may = b.settle()
    assert line(may, "T", "held_income") == D("-1500.00")
    nb = b.next(may)
    nb.client("C1", "T", status="normal")
    nb.client("C2", "T", status="malicious_confirmed")
    june = nb.settle()
    assert "released_income" not in comps(june, "T")
    assert "held_income" not in comps(june, "T")
    assert line(june, "T", "net_pay") == D("1539.00")
    nb = nb.next(june)
    nb.client("C1", "T", status="normal")
    nb.client("C2", "T", status="normal")  # even if the status file later shows it normal again
    july = nb.settle()
    assert "released_income" not in comps(july, "T")
