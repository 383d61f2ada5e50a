"""Worked examples for RULEBOOK §6 risk fund: F1-F3 with D1 (leavers), D6, D35, D36, D42.

Every figure is derived by hand from the RULEBOOK; the arithmetic is in the comments.

Common ground (unless a test says otherwise):
- `manager` grade marketer hired 2015, no clients: P2 2,500 + P7 200 = gross 2,700.00, no tax,
  F1 5% × 2,700 = 135.00 while the balance is at least 135 below the cap.
- A leaver leaving Mon 20 May 2024: employed working days 6-11, 13-17, 20 May = 12 of 21 (D3):
  P2 2,500 × 12/21 = 1,428.57; P7 200 × 12/21 = 114.29; gross 1,542.86; F1 5% = 77.143 → 77.14.
  The refund is due in leave month + 6 = 2024-11 (F3).
"""

from decimal import Decimal

from tests.builders import MonthBuilder, line, row

D = Decimal


def comps(res, mid):  # noqa: ANN001, ANN201
    return {ln.component: ln.amount for ln in res.lines_of(mid)}


def balance(res, mid):  # noqa: ANN001, ANN201
    return res.state.persons[mid].risk_fund_balance


def run_until(b: MonthBuilder, res, last: str, setup=None):  # noqa: ANN001, ANN201
    """Settle month after month up to `last` (same roster); setup(builder) adds that month's inputs."""
    out = {}
    while str(b.month) != last:
        b = b.next(res)
        if setup:
            setup(b)
        res = b.settle()
        out[str(b.month)] = res
    return out


# ---- F1 withholding and caps -------------------------------------------------------------------------------


def test_withholding_crosses_the_marketer_cap_within_a_month():
    # F1: opening balance 9,900; min(5% × 2,700 = 135.00, 10,000 − 9,900 = 100) = 100.00.
    # net 2,700 − 100 = 2,600.00. June: balance 10,000 = cap → min(135, 0) = 0: no line, net 2,700.00.
    b = MonthBuilder("2024-05").manager("M", grade="manager")
    b.open("M", risk_fund_balance="9900")
    may = b.settle()
    assert line(may, "M", "risk_fund_withholding") == D("-100.00")
    assert line(may, "M", "net_pay") == D("2600.00")
    assert balance(may, "M") == D("10000")
    june = b.next(may).settle()
    assert "risk_fund_withholding" not in comps(june, "M")
    assert line(june, "M", "net_pay") == D("2700.00")
    assert balance(june, "M") == D("10000")


def test_caps_by_position():
    # S station manager (no reports): P2 2,500 + P7 200 + station_allowance 300 = 3,000; 5% = 150.00;
    #   opening 19,950 → min(150, 20,000 − 19,950 = 50) = 50.00.
    # R regional manager (no reports): 2,500 + 200 + regional_allowance 900 = 3,600; 5% = 180.00;
    #   opening 29,900 → min(180, 30,000 − 29,900 = 100) = 100.00.
    # S2 station manager with opening 0 → 150.00 (well below the cap).
    b = MonthBuilder("2024-05")
    b.manager("S", grade="manager", position="station_manager")
    b.manager("R", grade="manager", position="regional_manager")
    b.manager("S2", grade="manager", position="station_manager")
    b.open("S", risk_fund_balance="19950")
    b.open("R", risk_fund_balance="29900")
    res = b.settle()
    assert line(res, "S", "gross_pay") == D("3000.00")
    assert line(res, "S", "risk_fund_withholding") == D("-50.00")
    assert line(res, "R", "gross_pay") == D("3600.00")
    assert line(res, "R", "risk_fund_withholding") == D("-100.00")
    assert line(res, "S2", "risk_fund_withholding") == D("-150.00")
    assert balance(res, "S") == D("20000") and balance(res, "R") == D("30000")


def test_five_percent_rounded_half_up_before_the_cap():
    # D35/D41: gross 2,700.10 (P6 fund commission 0.20 × 0.50 = 0.10): 5% = 135.005 → 135.01 (half up).
    # N: same gross, opening 9,865 → min(135.01, 135.00) = 135.00.
    b = MonthBuilder("2024-05")
    for mid in ("M", "N"):
        b.manager(mid, grade="manager")
        b.client(f"C{mid}", mid)
        b.fund_sale(f"C{mid}", "10", "0.50")
    b.open("N", risk_fund_balance="9865")
    res = b.settle()
    assert line(res, "M", "gross_pay") == D("2700.10")
    assert line(res, "M", "risk_fund_withholding") == D("-135.01")
    assert line(res, "N", "risk_fund_withholding") == D("-135.00")


def test_withholding_taken_even_when_it_makes_net_negative():
    # D35: three business errors of 1,000: 2,700 − 135 − 3,000 = −435 → F1 still 135.00,
    # net 0 and 435.00 carried out (N3).
    b = MonthBuilder("2024-05").manager("M", grade="manager")
    for _ in range(3):
        b.penalty("M", "business_error", amount="1000")
    res = b.settle()
    c = comps(res, "M")
    assert c["risk_fund_withholding"] == D("-135.00")
    assert c["penalty"] == D("-3000.00")
    assert c["deduction_carried_out"] == D("435.00")
    assert c["net_pay"] == D("0.00")
    assert balance(res, "M") == D("135.00")


# ---- F2 forfeits (D35) -------------------------------------------------------------------------------------


def test_forfeit_of_an_amount_and_of_the_whole_balance_then_withholding():
    # F2/D35: forfeits reduce the balance before the month's withholding.
    # A: 5,000 − 1,200 = 3,800, then + 135 → 3,935.
    # W: forfeit without amount → the whole 5,000 → 0, then + 135 → 135.
    # O: 200 − 300 → not below 0 → 0, then + 135 → 135.
    # Forfeits are not pay lines: net stays 2,700 − 135 = 2,565.00 for each.
    b = MonthBuilder("2024-05")
    for mid in ("A", "W", "O"):
        b.manager(mid, grade="manager")
    b.open("A", risk_fund_balance="5000")
    b.open("W", risk_fund_balance="5000")
    b.open("O", risk_fund_balance="200")
    b.penalty("A", "risk_fund_forfeit", amount="1200")
    b.penalty("W", "risk_fund_forfeit")
    b.penalty("O", "risk_fund_forfeit", amount="300")
    res = b.settle()
    assert balance(res, "A") == D("3935.00")
    assert balance(res, "W") == D("135.00")
    assert balance(res, "O") == D("135.00")
    for mid in ("A", "W", "O"):
        assert line(res, mid, "risk_fund_withholding") == D("-135.00")
        assert line(res, mid, "net_pay") == D("2565.00")


def test_withholding_resumes_after_a_forfeit_until_the_cap_again():
    # F2: both at the cap (10,000). M: no forfeit → withholding 0.
    # N: forfeit 50 → 9,950 → min(135, 50) = 50.00 → back at 10,000; June: 0 again.
    b = MonthBuilder("2024-05")
    b.manager("M", grade="manager").manager("N", grade="manager")
    b.open("M", risk_fund_balance="10000")
    b.open("N", risk_fund_balance="10000")
    b.penalty("N", "risk_fund_forfeit", amount="50")
    may = b.settle()
    assert "risk_fund_withholding" not in comps(may, "M")
    assert line(may, "N", "risk_fund_withholding") == D("-50.00")
    assert line(may, "N", "net_pay") == D("2650.00")
    assert balance(may, "N") == D("10000.00")
    june = b.next(may).settle()
    assert "risk_fund_withholding" not in comps(june, "N")
    # A forfeit in June of 1,000: 9,000 → min(135, 1,000) = 135 → 9,135.
    nb = b.next(may)
    nb.penalty("N", "risk_fund_forfeit", amount="1000")
    june2 = nb.settle()
    assert line(june2, "N", "risk_fund_withholding") == D("-135.00")
    assert balance(june2, "N") == D("9135.00")


# ---- F3 refunds (D36, D42, D1, D6) -------------------------------------------------------------------------


def _leaver(approved: bool = True, opening: str = "1000") -> MonthBuilder:
    b = MonthBuilder("2024-05")
    b.manager("K", grade="manager")
    b.manager("L", grade="manager", leave="2024-05-20", leave_approved=approved)
    if opening:
        b.open("L", risk_fund_balance=opening)
    return b


def test_refund_in_leave_month_plus_six_settled_from_the_ledger():
    # May: gross 1,542.86, F1 77.14, net 1,465.72; balance 1,000 + 77.14 = 1,077.14.
    # June..October: nothing for L. November (May + 6): risk_fund_refund 1,077.14 although L is no longer
    # on the roster (dropped from November); D42: gross_pay 0.00, net_pay 1,077.14, managers row with the
    # last position and grade, zero metrics, no flags. December: nothing.
    b = _leaver()
    may = b.settle()
    c = comps(may, "L")
    assert c["gross_pay"] == D("1542.86")
    assert c["risk_fund_withholding"] == D("-77.14")
    assert c["net_pay"] == D("1465.72")
    assert balance(may, "L") == D("1077.14")
    months = run_until(b, may, "2024-10")
    for m, res in months.items():
        assert res.lines_of("L") == [], m
        assert all(x.manager_id != "L" for x in res.managers), m
    nov_b = MonthBuilder("2024-11", prior=months["2024-10"].state)
    nov_b.manager("K", grade="manager")  # L no longer on the roster
    nov = nov_b.settle()
    c = comps(nov, "L")
    assert c == {"gross_pay": D("0.00"), "risk_fund_refund": D("1077.14"), "net_pay": D("1077.14")}
    m = row(nov, "L")
    assert m.position == "marketer" and m.grade_in_effect == "manager"
    assert (m.avg_assets, m.a3, m.ea, m.nmv, m.net_revenue, m.score_raw, m.score_applied) == (0,) * 7
    assert m.management_score == 0
    assert m.flags == ()
    assert balance(nov, "L") == 0
    dec_b = nov_b.next(nov)
    dec = dec_b.settle()
    assert dec.lines_of("L") == []


def test_refund_postponed_while_a_dispute_is_open_and_other_penalties_ignored_for_leavers():
    # D36: two disputes filed in August (after L left; D6 allows them), one closed in November → one open:
    # no refund in November; the second closed in December → refund in December.
    # D6: a business_error and a risk_fund_forfeit naming L in August have no effect (only dispute and
    # dispute_closed act on someone who has left): the refund is the full 1,077.14, net 1,077.14.
    b = _leaver()
    may = b.settle()

    def setup(nb: MonthBuilder) -> None:
        if str(nb.month) == "2024-08":
            nb.penalty("L", "dispute", on="2024-08-05")
            nb.penalty("L", "dispute", on="2024-08-06")
            nb.penalty("L", "business_error", amount="500", on="2024-08-07")
            nb.penalty("L", "risk_fund_forfeit", on="2024-08-08")
        if str(nb.month) == "2024-11":
            nb.penalty("L", "dispute_closed", on="2024-11-05")
        if str(nb.month) == "2024-12":
            nb.penalty("L", "dispute_closed", on="2024-12-05")

    months = run_until(b, may, "2025-01", setup=setup)
    for m in ("2024-06", "2024-07", "2024-08", "2024-09", "2024-10", "2024-11"):
        assert months[m].lines_of("L") == [], m
    c = comps(months["2024-12"], "L")
    assert c == {"gross_pay": D("0.00"), "risk_fund_refund": D("1077.14"), "net_pay": D("1077.14")}
    assert months["2025-01"].lines_of("L") == []


def test_carried_deduction_is_set_off_against_the_refund():
    # D36: May: opening 2,000; loss_compensation 2,000: 1,542.86 − 77.14 − 2,000 = −534.28 → net 0,
    # carried out 534.28; balance 2,077.14.
    # November: refund 2,077.14, deduction_carried_in −534.28, net 2,077.14 − 534.28 = 1,542.86.
    b = _leaver(opening="2000")
    b.penalty("L", "loss_compensation", amount="2000")
    may = b.settle()
    assert line(may, "L", "deduction_carried_out") == D("534.28")
    assert balance(may, "L") == D("2077.14")
    months = run_until(b, may, "2024-11")
    c = comps(months["2024-11"], "L")
    assert c == {"gross_pay": D("0.00"), "deduction_carried_in": D("-534.28"),
                 "risk_fund_refund": D("2077.14"), "net_pay": D("1542.86")}


def test_carried_deduction_larger_than_the_refund_is_carried_again():
    # No opening balance: May balance 77.14; loss_compensation 2,000 → carried out 534.28.
    # November: 0 + 77.14 − 534.28 = −457.14 → net 0, carried out 457.14
    # (D42: 0 = 0 + 77.14 − 534.28 + 457.14).
    b = _leaver(opening="")
    b.penalty("L", "loss_compensation", amount="2000")
    may = b.settle()
    assert balance(may, "L") == D("77.14")
    months = run_until(b, may, "2024-11")
    c = comps(months["2024-11"], "L")
    assert c == {"gross_pay": D("0.00"), "deduction_carried_in": D("-534.28"), "risk_fund_refund": D("77.14"),
                 "deduction_carried_out": D("457.14"), "net_pay": D("0.00")}


def test_release_paid_with_the_refund():
    # D36: L's client C1 is under investigation at the end of May → May's P2 1,428.57 held:
    # net 1,542.86 − 77.14 − 1,428.57 = 37.15. C1 passes to K and stays investigated until November, when it
    # is normal (first later month with every causing client normal, D32) → released 1,428.57 with the refund
    # 1,077.14: net 2,505.71. (K's own June-October fixed pay is held too, and released in November.)
    b = _leaver()
    b.client("C1", "L", status="under_investigation")
    may = b.settle()
    c = comps(may, "L")
    assert c["held_income"] == D("-1428.57")
    assert c["net_pay"] == D("37.15")

    def setup(nb: MonthBuilder) -> None:
        nb.client("C1", "K", status="normal" if str(nb.month) == "2024-11" else "under_investigation")

    months = run_until(b, may, "2024-11", setup=setup)
    c = comps(months["2024-11"], "L")
    assert c == {"gross_pay": D("0.00"), "released_income": D("1428.57"), "risk_fund_refund": D("1077.14"),
                 "net_pay": D("2505.71")}


def test_unapproved_leaver_never_gets_a_refund():
    # X5/D33: balance forfeited in the leave month → nothing in November.
    b = _leaver(approved=False)
    may = b.settle()
    assert balance(may, "L") == 0
    months = run_until(b, may, "2024-12")
    assert all(res.lines_of("L") == [] for res in months.values())


def test_leavers_before_the_first_ledger_month():
    # D1: first ledger month 2024-05.
    # A left 15 Jan 2024, approved, opening balance 3,000 → refund at 2024-07 (January + 6): 3,000.00.
    # U left 15 Jan 2024, not approved, opening 3,000 → forfeited, never refunded.
    # E left 20 Nov 2023, approved, opening 500 → refund due 2024-05, the first ledger month itself.
    # None of them is settled for pay (leave_date before the 1st of M).
    b = MonthBuilder("2024-05")
    b.manager("K", grade="manager")
    b.manager("A", grade="senior", leave="2024-01-15", leave_approved=True)
    b.manager("U", grade="manager", leave="2024-01-15", leave_approved=False)
    b.manager("E", grade="manager", position="station_manager", leave="2023-11-20", leave_approved=True)
    b.open("A", risk_fund_balance="3000")
    b.open("U", risk_fund_balance="3000")
    b.open("E", risk_fund_balance="500")
    may = b.settle()
    assert comps(may, "E") == {"gross_pay": D("0.00"), "risk_fund_refund": D("500.00"),
                               "net_pay": D("500.00")}
    e = row(may, "E")
    assert e.position == "station_manager" and e.grade_in_effect == "manager" and e.flags == ()
    assert may.lines_of("A") == [] and may.lines_of("U") == []
    months = run_until(b, may, "2024-12")
    assert months["2024-06"].lines_of("A") == []
    assert comps(months["2024-07"], "A") == {"gross_pay": D("0.00"), "risk_fund_refund": D("3000.00"),
                                             "net_pay": D("3000.00")}
    assert row(months["2024-07"], "A").grade_in_effect == "senior"
    for res in months.values():
        assert res.lines_of("U") == []
        assert res.lines_of("E") == []
    for m, res in months.items():
        if m != "2024-07":
            assert res.lines_of("A") == [], m


def test_dispute_filed_before_leaving_postpones_the_refund():
    # D36: a dispute recorded in May (while L is still on the roster) is open in November → no refund;
    # closed in December → refund 1,077.14 in December.
    b = _leaver()
    b.penalty("L", "dispute", on="2024-05-15")
    may = b.settle()
    assert line(may, "L", "net_pay") == D("1465.72")  # a dispute is not a pay line

    def setup(nb: MonthBuilder) -> None:
        if str(nb.month) == "2024-12":
            nb.penalty("L", "dispute_closed", on="2024-12-02")

    months = run_until(b, may, "2024-12", setup=setup)
    assert months["2024-11"].lines_of("L") == []
    assert comps(months["2024-12"], "L") == {"gross_pay": D("0.00"), "risk_fund_refund": D("1077.14"),
                                             "net_pay": D("1077.14")}
