"""Hand-worked examples for RULEBOOK §2 grades (G1-G7) and D2, D4, D11, D13-D18.

Thresholds on A3 (G1): assistant 500,000; manager 3,000,000; senior 6,000,000; chief 12,000,000.
Score targets (M6, §9): trainee 2 / 100,000 (weights 0.5 / 0.5); assistant 3 / 300,000 / 5,000;
manager 5 / 500,000 / 10,000; senior 6 / 1,000,000 / 20,000 (weights 0.4 / 0.4 / 0.2).
The first ledger month is 2024-05; `hist` rows give 2024-02..2024-04.
Unless a test says otherwise, history months carry ea 5 and nmv 500,000 so that G6 stays quiet.
"""

from dataclasses import replace
from decimal import Decimal

from tests.builders import MonthBuilder, row

D = Decimal


def new_clients(b: MonthBuilder, mid: str, ends: list[str], *, opened: str | None = None,
                prefix: str = "") -> None:
    """New clients opened in the builder's month, effective by end_assets (each > 5,000) or, when the
    end_assets is 0, by a stock buy of 6,000 (> 5,000)."""
    opened = opened or f"{b.month}-06"
    for i, end in enumerate(ends):
        cid = f"{prefix or mid}-{b.month}-N{i}"
        b.client(cid, mid, opened=opened, end_assets=end)
        if D(end) == 0:
            b.trade(cid, "stock", "buy", "6000")


def old_client(b: MonthBuilder, mid: str, avg: str, cid: str | None = None) -> None:
    b.client(cid or f"{mid}-OLD", mid, opened="2019-01-02", avg_assets=avg, end_assets=avg)


def hist(b: MonthBuilder, mid: str, grade: str | None, avgs: dict[str, str],
         scores: dict[str, str] | None = None, ea: str = "5", nmv: str = "500000") -> None:
    for m, avg in avgs.items():
        b.hist(m, mid, grade=grade, avg_assets=avg, ea=ea, nmv=nmv, score_raw=(scores or {}).get(m, "1"))


def good_manager_month(b: MonthBuilder, mid: str) -> None:
    # manager: 5 new clients × 100,000: 0.4 × 5/5 + 0.4 × 500,000/500,000 = 0.80 ≥ 0.60
    new_clients(b, mid, ["100000"] * 5)


def flags(res, mid: str) -> tuple[str, ...]:  # noqa: ANN001
    return row(res, mid).flags


# ---- G1, G3 --------------------------------------------------------------------------------------


def test_g3_g1_demotion_on_assets_can_drop_several_levels_without_flag_d14_d18():
    """G3 + G1: A3(M) and A3(M-1) below the threshold of g → grade_by_assets(A3(M)), here senior → trainee;
    D14: a G3-only demotion raises no flag; D18 grade_rule G3."""
    b = MonthBuilder("2024-05")
    b.manager("S1", grade="senior")
    hist(b, "S1", "senior", {"2024-03": "400000", "2024-04": "400000"})
    old_client(b, "S1", "400000")
    # score: senior, 6 new clients × 200,000: 0.4 × 6/6 + 0.4 × 1,200,000/1,000,000 = 0.88 (no G4)
    new_clients(b, "S1", ["200000"] * 6)
    res = b.settle()
    m = row(res, "S1")
    # A3(May) = (400,000 + 400,000 + 400,000)/3 = 400,000; A3(Apr) = (400,000 + 400,000)/2 = 400,000;
    # both < 6,000,000 → grade_by_assets(400,000) = trainee (below the assistant threshold 500,000)
    assert m.score_raw == D("0.8800")
    assert (m.grade_in_effect, m.grade_next, m.grade_rule) == ("senior", "trainee", "G3")
    assert "termination_right" not in m.flags


def test_g3_needs_both_months_and_threshold_itself_is_not_below():
    """G3: both A3(M) and A3(M-1) must be < threshold(g); A3 equal to the threshold is not below."""
    b = MonthBuilder("2024-05")
    b.manager("ONE").manager("EQ")
    # ONE: A3(Apr) = (3,600,000 + 3,600,000)/2 = 3,600,000 ≥ 3,000,000; A3(May) = (3.6M + 3.6M + 0)/3 = 2.4M
    hist(b, "ONE", "manager", {"2024-03": "3600000", "2024-04": "3600000"})
    good_manager_month(b, "ONE")
    # EQ: A3 = 3,000,000 in both months: not below the manager threshold
    hist(b, "EQ", "manager", {"2024-03": "3000000", "2024-04": "3000000"})
    old_client(b, "EQ", "3000000")
    good_manager_month(b, "EQ")
    res = b.settle()
    assert row(res, "ONE").a3 == D("2400000")
    assert (row(res, "ONE").grade_next, row(res, "ONE").grade_rule) == ("manager", "")
    assert (row(res, "EQ").grade_next, row(res, "EQ").grade_rule) == ("manager", "")


def test_g3_d4_a3_not_rounded_for_the_comparison():
    """D4: A3 is never rounded for comparisons: 2,999,999.9966… is below 3,000,000 although it shows
    as 3,000,000.00."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    hist(b, "M1", "manager", {"2024-02": "2999999.99", "2024-03": "3000000", "2024-04": "3000000"})
    old_client(b, "M1", "2999999.99")
    good_manager_month(b, "M1")
    res = b.settle()
    m = row(res, "M1")
    # A3(Apr) = (2,999,999.99 + 3,000,000 + 3,000,000)/3 = 2,999,999.99666… < 3,000,000
    # A3(May) = (3,000,000 + 3,000,000 + 2,999,999.99)/3 = 2,999,999.99666… < 3,000,000
    # → G3 → grade_by_assets(2,999,999.99666…) = assistant
    assert (m.grade_next, m.grade_rule) == ("assistant", "G3")


def test_g3_d4_history_a3_of_m_minus_1_uses_the_two_history_months_before_it():
    """D4: A3 of a history month = mean of the history avg_assets of that month and the two before it."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    hist(b, "M1", "manager", {"2024-02": "2400000", "2024-03": "3200000", "2024-04": "3200000"})
    old_client(b, "M1", "2500000")
    good_manager_month(b, "M1")
    res = b.settle()
    m = row(res, "M1")
    # A3(Apr) = (2,400,000 + 3,200,000 + 3,200,000)/3 = 2,933,333.33 < 3,000,000
    #   (without February it would be 3,200,000 and G3 would not fire)
    # A3(May) = (3,200,000 + 3,200,000 + 2,500,000)/3 = 2,966,666.67 < 3,000,000 → assistant
    assert abs(m.a3 - D(8900000) / 3) < D("1e-20")
    assert (m.grade_next, m.grade_rule) == ("assistant", "G3")


# ---- G2 ------------------------------------------------------------------------------------------


def test_g2_promotion_one_level_only_and_at_the_threshold():
    """G2: A3(M) and A3(M-1) ≥ threshold(g+1) → g+1, one level only even when A3 ≥ the chief threshold;
    equality promotes; one month above is not enough."""
    b = MonthBuilder("2024-05")
    b.manager("HI").manager("EQ").manager("ONE")
    # HI: A3 13,000,000 both months (≥ chief 12,000,000) → senior only
    hist(b, "HI", "manager", {"2024-03": "13000000", "2024-04": "13000000"})
    old_client(b, "HI", "13000000")
    good_manager_month(b, "HI")
    # EQ: A3 exactly 6,000,000 both months → senior
    hist(b, "EQ", "manager", {"2024-03": "6000000", "2024-04": "6000000"})
    old_client(b, "EQ", "6000000")
    good_manager_month(b, "EQ")
    # ONE: A3(Apr) = 5,000,000 < 6,000,000; A3(May) = (5M + 5M + 9M)/3 = 6,333,333.33 → no promotion
    hist(b, "ONE", "manager", {"2024-03": "5000000", "2024-04": "5000000"})
    old_client(b, "ONE", "9000000")
    good_manager_month(b, "ONE")
    res = b.settle()
    assert (row(res, "HI").grade_next, row(res, "HI").grade_rule) == ("senior", "G2")
    assert (row(res, "EQ").grade_next, row(res, "EQ").grade_rule) == ("senior", "G2")
    assert (row(res, "ONE").grade_next, row(res, "ONE").grade_rule) == ("manager", "")


def test_g2_trainee_after_probation_is_promoted():
    """G2 applies to a trainee past probation (hired 2020): A3 ≥ 500,000 in M and M-1 → assistant."""
    b = MonthBuilder("2024-05")
    b.manager("T1", grade="trainee", hire="2020-03-02")
    hist(b, "T1", "trainee", {"2024-03": "500000", "2024-04": "600000"}, ea="2", nmv="100000")
    old_client(b, "T1", "700000")
    res = b.settle()
    # A3(Apr) = 550,000; A3(May) = 600,000: both ≥ 500,000 → assistant
    assert (row(res, "T1").grade_next, row(res, "T1").grade_rule) == ("assistant", "G2")


# ---- G4, D11, D14 --------------------------------------------------------------------------------


def test_g4_d11_uses_score_raw_after_rounding():
    """D11: G4 compares score_raw after its 4-decimal rounding: 0.59995 → 0.6000 is not < 0.60;
    0.59985 → 0.5999 is."""
    b = MonthBuilder("2024-05")
    b.manager("EDGE").manager("LOW")
    for mid in ("EDGE", "LOW"):
        hist(b, mid, "manager", {"2024-03": "4000000", "2024-04": "4000000"}, {"2024-04": "0.5999"})
        old_client(b, mid, "4000000")
    # EDGE: 0.4 × 1/5 + 0.4 × 649,937.50/500,000 = 0.08 + 0.51995 = 0.59995 → 0.6000
    b.client("E1", "EDGE", opened="2024-05-06", end_assets="649937.50")
    # LOW: 0.08 + 0.4 × 649,812.50/500,000 = 0.08 + 0.51985 = 0.59985 → 0.5999
    b.client("L1", "LOW", opened="2024-05-06", end_assets="649812.50")
    res = b.settle()
    assert row(res, "EDGE").score_raw == D("0.6000")
    assert (row(res, "EDGE").grade_next, row(res, "EDGE").grade_rule) == ("manager", "")
    assert row(res, "LOW").score_raw == D("0.5999")
    assert (row(res, "LOW").grade_next, row(res, "LOW").grade_rule) == ("assistant", "G4")
    assert "termination_right" not in flags(res, "LOW")


def test_g4_needs_both_months_below():
    """G4: score_raw(M) < 0.60 and score_raw(M-1) < 0.60; one low month is not enough."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    hist(b, "M1", "manager", {"2024-03": "4000000", "2024-04": "4000000"}, {"2024-04": "0.60"})
    old_client(b, "M1", "4000000")
    res = b.settle()  # May score 0
    assert row(res, "M1").score_raw == 0
    assert (row(res, "M1").grade_next, row(res, "M1").grade_rule) == ("manager", "")


def test_g4_d14_blocks_g2():
    """D14: if G4 fires, G2 does not apply: A3 ≥ 6,000,000 both months but two low scores → assistant."""
    b = MonthBuilder("2024-05")
    b.manager("M1")
    hist(b, "M1", "manager", {"2024-03": "7000000", "2024-04": "7000000"}, {"2024-04": "0.30"})
    old_client(b, "M1", "7000000")
    res = b.settle()  # May score 0 < 0.60
    assert (row(res, "M1").grade_next, row(res, "M1").grade_rule) == ("assistant", "G4")


def test_g4_to_trainee_raises_termination_right():
    """G4, D14: an assistant with two scores < 0.60 goes one level down to trainee → termination_right."""
    b = MonthBuilder("2024-05")
    b.manager("A1", grade="assistant")
    hist(b, "A1", "assistant", {"2024-03": "1000000", "2024-04": "1000000"}, {"2024-04": "0.30"})
    old_client(b, "A1", "1000000")
    res = b.settle()
    # G6 quiet: mean EA (5 + 5 + 0)/3 = 3.33 ≥ 2
    m = row(res, "A1")
    assert (m.grade_next, m.grade_rule) == ("trainee", "G4")
    assert m.flags == ("termination_right",)


def test_g4_d14_does_not_apply_to_a_trainee():
    """D14: G4 does not apply to a trainee (past probation): two low scores, no change and no flag."""
    b = MonthBuilder("2024-05")
    b.manager("T1", grade="trainee", hire="2020-03-02")
    hist(b, "T1", "trainee", {"2024-03": "100000", "2024-04": "100000"}, {"2024-04": "0.55"},
         ea="2", nmv="10002")
    old_client(b, "T1", "100000")
    # two new clients end 5,001: EA 2, NMV 10,002: 0.5 × 2/2 + 0.5 × 10,002/100,000 = 0.55001 → 0.5500
    new_clients(b, "T1", ["5001", "5001"])
    res = b.settle()
    m = row(res, "T1")
    assert m.score_raw == D("0.5500")
    # G6: mean EA (2 + 2 + 2)/3 = 2, not < 2 → no flag
    assert (m.grade_next, m.grade_rule, m.flags) == ("trainee", "", ())


def test_g3_g4_together_lower_grade_wins():
    """G3 + G4: both fire → the lower grade wins; rule 'G3+G4' (D18). termination_right only when
    G4 fired and the result is trainee (D14)."""
    b = MonthBuilder("2024-05")
    b.manager("S1", grade="senior").manager("M1", grade="manager")
    # S1: A3 2,000,000 both months < 6,000,000 → G3 → assistant; G4 → manager; lower: assistant
    hist(b, "S1", "senior", {"2024-03": "2000000", "2024-04": "2000000"}, {"2024-04": "0.10"})
    old_client(b, "S1", "2000000")
    # M1: A3 400,000 both months < 3,000,000 → G3 → trainee; G4 → assistant; lower: trainee → flag
    hist(b, "M1", "manager", {"2024-03": "400000", "2024-04": "400000"}, {"2024-04": "0.10"})
    old_client(b, "M1", "400000")
    res = b.settle()  # May scores 0
    s1, m1 = row(res, "S1"), row(res, "M1")
    assert (s1.grade_next, s1.grade_rule) == ("assistant", "G3+G4")
    assert "termination_right" not in s1.flags
    assert (m1.grade_next, m1.grade_rule) == ("trainee", "G3+G4")
    assert "termination_right" in m1.flags


# ---- G5, D15 -------------------------------------------------------------------------------------


def test_g5_d15_probation_hire_15th_vs_16th_conversion_early_candidate_and_failure():
    """G5, D15: probation month 1 = hire month if hired on or before the 15th, else the next month
    (month 0 has no part in the mean). Close of month 3: mean score_raw ≥ 1.00 → assistant (rule G5),
    else termination_right. Close of month 2 only: mean ≥ 1.20 → early_conversion_candidate.
    A trainee in probation is not moved by G2-G4.
    Trainee score = 0.5 × EA/2 + 0.5 × NMV/100,000."""
    may = MonthBuilder("2024-05")
    may.manager("P12", grade="trainee", hire="2024-05-02")  # month 1 = May: fails plainly
    may.manager("P13", grade="trainee", hire="2024-05-02")  # month 1 = May: fails by 0.0001
    may.manager("P14", grade="trainee", hire="2024-05-02")  # month 1 = May: high scores, A3 ≥ 500,000
    may.manager("P15", grade="trainee", hire="2024-05-15")  # hired on the 15th: month 1 = May
    may.manager("P16", grade="trainee", hire="2024-05-16")  # hired on the 16th: May is month 0
    # May: P12, P13, P15: 2 clients × 50,000 → 0.5 + 0.5 = 1.0
    for mid in ("P12", "P13", "P15"):
        new_clients(may, mid, ["50000", "50000"], opened="2024-05-16")
    # P14: 4 clients × 50,000 → 0.5 × 4/2 + 0.5 × 200,000/100,000 = 2.0; an old client with avg 1,000,000
    new_clients(may, "P14", ["50000"] * 4, opened="2024-05-16")
    old_client(may, "P14", "1000000")
    # P16: nothing in May → score 0 (month 0, not in the mean)
    may_res = may.settle()
    for mid in ("P12", "P13", "P14", "P15", "P16"):
        assert (row(may_res, mid).grade_next, row(may_res, mid).flags) == ("trainee", ()), mid
    # P14 month 1 mean 2.0 ≥ 1.20 but month 1 is not month 2: no early flag (checked above)
    assert row(may_res, "P14").score_raw == D("2.0000")

    jun = may.next(may_res)
    for mid in ("P12", "P13", "P15"):  # 1.0 again
        new_clients(jun, mid, ["50000", "50000"])
    # P14: 2 clients × 50,000 → 1.0; old client still 1,000,000
    new_clients(jun, "P14", ["50000", "50000"])
    old_client(jun, "P14", "1000000")
    # P16 (month 1): 3 clients × 50,000 → 0.5 × 3/2 + 0.5 × 150,000/100,000 = 0.75 + 0.75 = 1.5
    new_clients(jun, "P16", ["50000"] * 3)
    jun_res = jun.settle()
    # P14 month 2: mean (2.0 + 1.0)/2 = 1.5 ≥ 1.20 → early_conversion_candidate, still trainee;
    # A3(June) = A3(May) = 1,000,000 ≥ 500,000, but G2 does not move a trainee in probation (D15)
    p14 = row(jun_res, "P14")
    assert (p14.grade_next, p14.grade_rule, p14.flags) == ("trainee", "", ("early_conversion_candidate",))
    # P15 month 2: mean (1.0 + 1.0)/2 = 1.0 < 1.20 → no flag
    assert (row(jun_res, "P15").grade_next, row(jun_res, "P15").flags) == ("trainee", ())
    # P16 month 1: 1.5, but month 1 → no flag
    assert (row(jun_res, "P16").grade_next, row(jun_res, "P16").flags) == ("trainee", ())

    jul = jun.next(jun_res)
    # P12 month 3: 2 clients effective by turnover, end_assets 0: EA 2, NMV 0 → 0.5
    new_clients(jul, "P12", ["0", "0"])
    # P13 month 3: 2 clients × 49,990: 0.5 + 0.5 × 99,980/100,000 = 0.5 + 0.4999 = 0.9999
    new_clients(jul, "P13", ["49990", "49990"])
    new_clients(jul, "P14", ["50000", "50000"])  # 1.0
    old_client(jul, "P14", "1000000")
    new_clients(jul, "P15", ["50000", "50000"])  # 1.0
    # P16 month 2: 3 clients × 10,000 → 0.5 × 3/2 + 0.5 × 30,000/100,000 = 0.75 + 0.15 = 0.9
    #   (G6 quiet: mean EA over May-July (0 + 3 + 3)/3 = 2, not < 2)
    new_clients(jul, "P16", ["10000"] * 3)
    jul_res = jul.settle()
    # P12: mean (1.0 + 1.0 + 0.5)/3 = 0.8333 < 1.00 → stays trainee, termination_right
    #      (G6 quiet: mean EA (2 + 2 + 2)/3 = 2, not < 2)
    assert (row(jul_res, "P12").grade_next, row(jul_res, "P12").flags) == ("trainee", ("termination_right",))
    # P13: mean (1.0 + 1.0 + 0.9999)/3 = 0.99996… < 1.00 (the mean is not rounded, D41)
    assert row(jul_res, "P13").score_raw == D("0.9999")
    assert (row(jul_res, "P13").grade_next, row(jul_res, "P13").flags) == ("trainee", ("termination_right",))
    # P14: mean (2.0 + 1.0 + 1.0)/3 = 1.333 ≥ 1.00 → assistant; ≥ 1.20 but month 3: no early flag
    assert (row(jul_res, "P14").grade_next, row(jul_res, "P14").grade_rule, row(jul_res, "P14").flags) == (
        "assistant", "G5", ())
    # P15 (hired the 15th, May = month 1): mean (1.0 + 1.0 + 1.0)/3 = 1.00 ≥ 1.00 → assistant from August
    assert (row(jul_res, "P15").grade_next, row(jul_res, "P15").grade_rule, row(jul_res, "P15").flags) == (
        "assistant", "G5", ())
    # P16 (hired the 16th, July = month 2): mean (1.5 + 0.9)/2 = 1.20 ≥ 1.20 → early_conversion_candidate
    #      (with May's 0 it would be 0.8: month 0 is not a probation month)
    assert (row(jul_res, "P16").grade_next, row(jul_res, "P16").grade_rule, row(jul_res, "P16").flags) == (
        "trainee", "", ("early_conversion_candidate",))


# ---- G6, D16 -------------------------------------------------------------------------------------


def test_g6_low_activity_three_months_weighted_ea_every_position_d16():
    """G6, D16: mean EA over M-2..M < 2 and mean NMV < 100,000 (three months available) → termination_right;
    applies to every position; EA is the weighted count (institution 3)."""
    b = MonthBuilder("2024-05")
    b.manager("LOW").manager("TWO").manager("INST").manager("NMV").manager("STN", position="station_manager")
    for mid in ("LOW", "TWO", "INST", "NMV", "STN"):
        old_client(b, mid, "4000000")  # no G3 / G2
    # LOW: EA 1, 1, 1; NMV 50,000 × 3 → means 1 < 2 and 50,000 < 100,000 → flag
    hist(b, "LOW", "manager", {"2024-03": "4000000", "2024-04": "4000000"}, ea="1", nmv="50000")
    b.client("L1", "LOW", opened="2024-05-06", end_assets="50000")
    # STN: the same figures as a station manager → flag too (D16: every position)
    hist(b, "STN", "manager", {"2024-03": "4000000", "2024-04": "4000000"}, ea="1", nmv="50000")
    b.client("S1", "STN", opened="2024-05-06", end_assets="50000")
    # TWO: only April in history → M-2 missing → G6 not evaluated
    hist(b, "TWO", "manager", {"2024-04": "4000000"}, ea="1", nmv="50000")
    b.client("T1", "TWO", opened="2024-05-06", end_assets="50000")
    # INST: EA 0, 3, then one institution in May = 3 → mean (0 + 3 + 3)/3 = 2, not < 2 → no flag
    #       (counting the institution as 1 would give 1.33 and a flag)
    b.hist("2024-03", "INST", grade="manager", avg_assets="4000000", ea="0", nmv="0")
    b.hist("2024-04", "INST", grade="manager", avg_assets="4000000", ea="3", nmv="20000")
    b.client("I1", "INST", opened="2024-05-06", kind="institution", end_assets="20000")
    # NMV: EA 1 each month but NMV exactly 100,000 on average → not < 100,000 → no flag
    hist(b, "NMV", "manager", {"2024-03": "4000000", "2024-04": "4000000"}, ea="1", nmv="100000")
    b.client("V1", "NMV", opened="2024-05-06", end_assets="100000")
    res = b.settle()
    # (these managers are also T3 station_manager_candidate: manager 3 months, avg_assets 4,000,000)
    assert "termination_right" in row(res, "LOW").flags
    assert row(res, "LOW").grade_next == "manager"  # G6 is a flag only
    assert "termination_right" in row(res, "STN").flags
    assert "termination_right" not in row(res, "TWO").flags
    assert row(res, "INST").ea == 3
    assert "termination_right" not in row(res, "INST").flags
    assert "termination_right" not in row(res, "NMV").flags


# ---- G7, D17 -------------------------------------------------------------------------------------


def test_g7_override_wins_and_flags_are_still_raised_d17():
    """G7, D17: an approved override sets the grade for M+1 over G2-G6 (rule G7); G4-G6 flags stay."""
    b = MonthBuilder("2024-05")
    b.manager("A1", grade="assistant").manager("M1").manager("UP").manager("G6")
    # A1: G4 would take the assistant to trainee with termination_right; override keeps assistant
    hist(b, "A1", "assistant", {"2024-03": "1000000", "2024-04": "1000000"}, {"2024-04": "0.30"})
    old_client(b, "A1", "1000000")
    b.override("A1", "assistant")
    # M1: G4 would give assistant; override to senior
    hist(b, "M1", "manager", {"2024-03": "4000000", "2024-04": "4000000"}, {"2024-04": "0.30"})
    old_client(b, "M1", "4000000")
    b.override("M1", "senior")
    # UP: G2 would give senior (A3 13,000,000); override skips a level to chief
    hist(b, "UP", "manager", {"2024-03": "13000000", "2024-04": "13000000"})
    old_client(b, "UP", "13000000")
    good_manager_month(b, "UP")
    b.override("UP", "chief")
    # G6: low activity (EA 1 / NMV 50,000 each month) → flag kept under an override
    hist(b, "G6", "manager", {"2024-03": "4000000", "2024-04": "4000000"}, ea="1", nmv="50000")
    old_client(b, "G6", "4000000")
    b.client("G6N", "G6", opened="2024-05-06", end_assets="50000")
    b.override("G6", "senior")
    res = b.settle()
    assert (row(res, "A1").grade_next, row(res, "A1").grade_rule) == ("assistant", "G7")
    assert row(res, "A1").flags == ("termination_right",)
    assert (row(res, "M1").grade_next, row(res, "M1").grade_rule) == ("senior", "G7")
    assert (row(res, "UP").grade_next, row(res, "UP").grade_rule) == ("chief", "G7")
    assert (row(res, "G6").grade_next, row(res, "G6").grade_rule) == ("senior", "G7")
    assert "termination_right" in row(res, "G6").flags


# ---- D13 -----------------------------------------------------------------------------------------


def test_d13_after_a_g2_change_the_next_change_waits_until_m_plus_2():
    """D13: at the close of M the two-month rules use M-1 only when M-1's grade in effect equals M's.
    May: manager → senior (G2); June (senior, May was manager): no G2 although A3 ≥ 12,000,000;
    July: senior → chief."""
    may = MonthBuilder("2024-05")
    may.manager("X")
    hist(may, "X", "manager", {"2024-03": "13000000", "2024-04": "13000000"})
    old_client(may, "X", "13000000")
    good_manager_month(may, "X")
    may_res = may.settle()
    assert (row(may_res, "X").grade_next, row(may_res, "X").grade_rule) == ("senior", "G2")

    jun = may.next(may_res)
    old_client(jun, "X", "13000000")
    new_clients(jun, "X", ["200000"] * 6)  # senior: 0.4 × 6/6 + 0.4 × 1.2 = 0.88
    jun_res = jun.settle()
    assert row(jun_res, "X").grade_in_effect == "senior"
    assert (row(jun_res, "X").grade_next, row(jun_res, "X").grade_rule) == ("senior", "")

    jul = jun.next(jun_res)
    old_client(jul, "X", "13000000")
    new_clients(jul, "X", ["200000"] * 6)
    jul_res = jul.settle()
    # A3(July) = A3(June) = 13,000,000 ≥ 12,000,000 and June's grade equals July's → chief
    assert (row(jul_res, "X").grade_next, row(jul_res, "X").grade_rule) == ("chief", "G2")


def test_d13_after_an_override_g3_waits_until_m_plus_2():
    """D13 (change by G7): overridden to senior at the close of May with A3 4,000,000 < 6,000,000;
    June: no G3 (May's grade was manager); July: G3 → grade_by_assets(4,000,000) = manager."""
    may = MonthBuilder("2024-05")
    may.manager("Y")
    hist(may, "Y", "manager", {"2024-03": "4000000", "2024-04": "4000000"})
    old_client(may, "Y", "4000000")
    good_manager_month(may, "Y")
    may.override("Y", "senior")
    may_res = may.settle()
    assert (row(may_res, "Y").grade_next, row(may_res, "Y").grade_rule) == ("senior", "G7")

    jun = may.next(may_res)
    old_client(jun, "Y", "4000000")
    new_clients(jun, "Y", ["200000"] * 6)
    jun_res = jun.settle()
    y = row(jun_res, "Y")
    assert (y.grade_in_effect, y.grade_next, y.grade_rule) == ("senior", "senior", "")

    jul = jun.next(jun_res)
    old_client(jul, "Y", "4000000")
    new_clients(jul, "Y", ["200000"] * 6)
    jul_res = jul.settle()
    assert (row(jul_res, "Y").grade_next, row(jul_res, "Y").grade_rule) == ("manager", "G3")


def test_d13_history_grade_blank_counts_as_equal_and_a_different_one_blocks():
    """D13: for a history month M-1, its history grade is compared; a blank one counts as equal."""
    b = MonthBuilder("2024-05")
    b.manager("BLANK").manager("DIFF")
    # BLANK: history grade blank, A3 1,000,000 → G3 fires at the close of May → assistant
    hist(b, "BLANK", None, {"2024-03": "1000000", "2024-04": "1000000"})
    old_client(b, "BLANK", "1000000")
    good_manager_month(b, "BLANK")
    # DIFF: history grade senior ≠ May's manager (roster) → no two-month rule in May (G3 and G4 both wait)
    hist(b, "DIFF", "senior", {"2024-03": "1000000", "2024-04": "1000000"}, {"2024-04": "0.10"})
    old_client(b, "DIFF", "1000000")
    res = b.settle()
    assert row(res, "BLANK").grade_in_effect == "manager"
    assert (row(res, "BLANK").grade_next, row(res, "BLANK").grade_rule) == ("assistant", "G3")
    assert row(res, "DIFF").grade_in_effect == "manager"  # D2: roster grade in the first ledger month
    assert (row(res, "DIFF").grade_next, row(res, "DIFF").grade_rule) == ("manager", "")


# ---- D2 ------------------------------------------------------------------------------------------


def test_d2_grade_in_effect_roster_then_history_then_trainee_and_ledger_wins_later():
    """D2: first ledger month: roster grade, else the latest history month's grade, else trainee;
    later the grade decided at the previous close; a differing roster grade is ignored with a warning."""
    may = MonthBuilder("2024-05")
    may.manager("R", grade="senior")
    may.manager("H", grade=None)
    may.manager("N", grade=None)
    may.hist("2024-03", "H", grade="manager", avg_assets="6500000")
    may.hist("2024-04", "H", grade="senior", avg_assets="6500000")
    for mid in ("R", "H", "N"):
        old_client(may, mid, "6500000")
    may_res = may.settle()
    assert row(may_res, "R").grade_in_effect == "senior"
    assert row(may_res, "H").grade_in_effect == "senior"   # April, the latest history month
    assert row(may_res, "N").grade_in_effect == "trainee"

    jun = may.next(may_res)
    jun.roster = [replace(r, grade="chief") if r.manager_id == "R" else r for r in jun.roster]
    for mid in ("R", "H", "N"):
        old_client(jun, mid, "6500000")
    jun_res = jun.settle()
    # the ledger's grade (decided at the close of May: senior, no change) wins over the roster's chief
    assert row(jun_res, "R").grade_in_effect == row(may_res, "R").grade_next == "senior"
    assert any("D2" in w and "R" in w for w in jun_res.warnings)


def test_g3_m2_a3_of_m_minus_1_over_ledger_months_reaches_back_to_m_minus_3():
    """M2, G3 over four ledger months (history March/April 3,500,000): avg_assets May 2,400,000,
    June 3,200,000, July 3,200,000, August 2,500,000.
    May:  A3 = (3.5M + 3.5M + 2.4M)/3 = 3,133,333.33 ≥ 3M → no G3
    June: A3 = (3.5M + 2.4M + 3.2M)/3 = 3,033,333.33 ≥ 3M → no G3
    July: A3 = (2.4M + 3.2M + 3.2M)/3 = 2,933,333.33 < 3M, but A3(June) ≥ 3M → no G3
    Aug:  A3 = (3.2M + 3.2M + 2.5M)/3 = 2,966,666.67 < 3M and A3(July) = 2,933,333.33 < 3M → assistant
    (A3(July) needs May's record: without it it would be 3,200,000 and G3 would not fire)."""
    b = MonthBuilder("2024-05")
    b.manager("Z")
    hist(b, "Z", "manager", {"2024-03": "3500000", "2024-04": "3500000"})
    res = None
    for avg, expected in (("2400000", ("manager", "")), ("3200000", ("manager", "")),
                          ("3200000", ("manager", "")), ("2500000", ("assistant", "G3"))):
        if res is not None:
            b = b.next(res)
        old_client(b, "Z", avg)
        good_manager_month(b, "Z")
        res = b.settle()
        assert (row(res, "Z").grade_next, row(res, "Z").grade_rule) == expected, str(b.month)
    assert abs(row(res, "Z").a3 - D(8900000) / 3) < D("1e-20")


def test_g5_d15_probation_mean_uses_only_months_with_a_score():
    """D15: the probation mean uses the months that have a score: a history month 1 with a blank
    score_raw is left out (not counted as 0).
    Hired 2 April: April = month 1 (history, score blank), May = month 2, June = month 3.
    May: 3 clients × 50,000 → 0.75 + 0.75 = 1.5: mean 1.5 ≥ 1.20 → early_conversion_candidate
         (with April as 0 it would be 0.75).
    June: 2 clients × 10,000 → 0.5 + 0.1 = 0.6: mean (1.5 + 0.6)/2 = 1.05 ≥ 1.00 → assistant
         (with April as 0 it would be 0.7 and a failure)."""
    may = MonthBuilder("2024-05")
    may.manager("PB", grade="trainee", hire="2024-04-02")
    may.hist("2024-04", "PB", grade="trainee", avg_assets="0", ea="2", nmv="100000", score_raw=None)
    new_clients(may, "PB", ["50000"] * 3)
    may_res = may.settle()
    assert row(may_res, "PB").score_raw == D("1.5000")
    assert row(may_res, "PB").grade_next == "trainee"
    assert row(may_res, "PB").flags == ("early_conversion_candidate",)
    jun = may.next(may_res)
    new_clients(jun, "PB", ["10000", "10000"])
    jun_res = jun.settle()
    assert row(jun_res, "PB").score_raw == D("0.6000")
    assert (row(jun_res, "PB").grade_next, row(jun_res, "PB").grade_rule, row(jun_res, "PB").flags) == (
        "assistant", "G5", ())


def test_g8_preview_decision_carries_grade_in_effect_proposed_grade_rule_and_figures():
    """G8 (compute side): the decision behind the preview names the grade in effect, the proposed grade,
    the rule that fired and the A3 figures. (That --dry-run writes nothing is a CLI/pipeline test.)"""
    b = MonthBuilder("2024-05")
    b.manager("HI")
    hist(b, "HI", "manager", {"2024-03": "13000000", "2024-04": "13000000"})
    old_client(b, "HI", "13000000")
    good_manager_month(b, "HI")
    res = b.settle()
    dec = res.decisions["HI"]
    assert (dec.grade_in_effect, dec.grade_next, dec.rule) == ("manager", "senior", "G2")
    assert "G2" in dec.reason and ("13,000,000" in dec.reason or "13000000" in dec.reason)


def test_d2_grade_from_the_latest_history_month_even_an_older_one():
    """D2: with no ledger grade and a blank roster grade, the grade in effect is the grade of the latest
    `history` month. D4 ignores only history rows of M or later, so a January row is a valid latest month
    for a first ledger month of May (nothing in the RULEBOOK limits the look-back to three months)."""
    b = MonthBuilder("2024-05")
    b.manager("OLDH", grade=None)
    b.hist("2024-01", "OLDH", grade="senior", avg_assets="7000000")
    old_client(b, "OLDH", "7000000")
    res = b.settle()
    assert row(res, "OLDH").grade_in_effect == "senior"
