"""Grades and team conditions: RULEBOOK G1-G7, T3-T5 (with D13-D18, D25, D26).

``decide_grade`` is called at the close of M with the grade in effect g and the manager's metric
records of M and the months before (ledger or history); it returns the grade for M+1, the rule that
decided it, the flags raised, and a sentence with the figures, for the payslip, explain and dry-run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cmsettle.compute.state import MonthRecord
from cmsettle.model import GRADES, OverrideRow
from cmsettle.money import fen, fmt_money, fmt_num, round4
from cmsettle.months import Month
from cmsettle.ruleset.schema import RuleSet

RANK = {g: i for i, g in enumerate(GRADES)}


def grade_by_assets(a: Decimal, rules: RuleSet) -> str:
    """G1: the highest grade whose threshold ≤ A; below the assistant threshold: trainee."""
    best = GRADES[0]
    for g in GRADES:
        if rules.grades.row(g).threshold <= a:
            best = g
    return best


def a3_of(records: dict[Month, MonthRecord], month: Month) -> Decimal | None:
    """M2/D4: mean avg_assets over month-2..month, of the months with a record. Never rounded."""
    vals = [records[m].avg_assets for m in (month.add(-2), month.add(-1), month) if m in records]
    if month not in records or not vals:
        return None
    return sum(vals, Decimal(0)) / len(vals)


def probation_start(hire: date, rules: RuleSet) -> Month:
    """G5: probation month 1 is the hire month when hired on or before the 15th, else the next month."""
    hm = Month.of(hire)
    return hm if hire.day <= rules.grading.probation_hire_day else hm.next


@dataclass(frozen=True)
class GradeDecision:
    grade_in_effect: str
    grade_next: str
    rule: str  # "G2", "G3", "G4", "G3+G4", "G5", "G7" or "" (D18)
    flags: frozenset[str]
    reason: str


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def decide_grade(
    *,
    month: Month,
    g: str,
    hire_date: date,
    records: dict[Month, MonthRecord],  # this manager's records, M included
    override: OverrideRow | None,
    rules: RuleSet,
) -> GradeDecision:
    gr = rules.grading
    thr = lambda grade: rules.grades.row(grade).threshold  # noqa: E731
    rec = records[month]
    flags: set[str] = set()
    reasons: list[str] = []
    nxt, rule = g, ""

    a3_m = a3_of(records, month)
    prev = records.get(month.prev)
    # D13: the two-month conditions use M-1 only when M-1's grade in effect equals M's
    # (a blank history grade counts as equal).
    prev_usable = prev is not None and (prev.grade is None or prev.grade == g)
    a3_p = a3_of(records, month.prev) if prev_usable else None

    p1 = probation_start(hire_date, rules)
    k = month - p1 + 1  # probation month number (0: hire month of a late hire)
    in_probation = g == GRADES[0] and k <= gr.probation_months

    if in_probation:
        scores = [records[p1.add(i)].score_raw for i in range(min(k, gr.probation_months))
                  if p1.add(i) in records and records[p1.add(i)].score_raw is not None]
        if k == gr.probation_months:
            mean = _mean(scores) if scores else None
            if mean is not None and mean >= gr.conversion_mean:
                nxt, rule = GRADES[1], "G5"
                reasons.append(f"G5 probation month {k}: mean score {fmt_num(round4(mean))} ≥ "
                               f"{fmt_num(gr.conversion_mean)} → {GRADES[1]}")
            else:
                flags.add("termination_right")
                shown = "none" if mean is None else fmt_num(round4(mean))
                reasons.append(f"G5 probation month {k}: mean score {shown} < {fmt_num(gr.conversion_mean)}: "
                               f"stays {g}, termination right")
        elif k == gr.probation_months - 1 and scores:
            mean = _mean(scores)
            if mean >= gr.early_conversion_mean:
                flags.add("early_conversion_candidate")
                reasons.append(f"G5 probation month {k}: mean score {fmt_num(round4(mean))} ≥ "
                               f"{fmt_num(gr.early_conversion_mean)}: early conversion candidate (HR decides)")
        if not reasons:
            reasons.append(f"G5 in probation (month {k} of {gr.probation_months}): no grade change")
    elif a3_m is not None:
        g3 = g4 = None
        if a3_p is not None and a3_m < thr(g) and a3_p < thr(g):
            g3 = grade_by_assets(a3_m, rules)
            reasons.append(f"G3 A3 {fmt_money(a3_m)} and {fmt_money(a3_p)} below {g} threshold "
                           f"{fmt_money(thr(g))} → {g3}")
        if (g != GRADES[0] and prev_usable and rec.score_raw is not None and prev.score_raw is not None
                and rec.score_raw < gr.demotion_score and prev.score_raw < gr.demotion_score):
            g4 = GRADES[RANK[g] - 1]
            reasons.append(f"G4 score {fmt_num(rec.score_raw)} and {fmt_num(prev.score_raw)} below "
                           f"{fmt_num(gr.demotion_score)} → {g4}")
        if g3 or g4:
            candidates = [x for x in (g3, g4) if x]
            nxt = min(candidates, key=RANK.__getitem__)
            rule = "G3+G4" if g3 and g4 else ("G3" if g3 else "G4")
            if g4 and nxt == GRADES[0]:
                flags.add("termination_right")
                reasons.append("G4 ends at trainee: termination right")
        elif g != GRADES[-1] and a3_p is not None:
            up = GRADES[RANK[g] + 1]
            if a3_m >= thr(up) and a3_p >= thr(up):
                nxt, rule = up, "G2"
                reasons.append(f"G2 A3 {fmt_money(a3_m)} and {fmt_money(a3_p)} ≥ {up} threshold "
                               f"{fmt_money(thr(up))} → {up}")
        if not rule:
            reasons.append(f"no change: A3 {fmt_money(a3_m)}" + ("" if a3_p is not None else
                           " (no comparable M-1: two-month rules wait, D13)"))

    # G6 low activity (D16): needs metrics for each of M-2, M-1, M.
    three = [records.get(month.add(-i)) for i in (2, 1, 0)]
    if all(r is not None for r in three):
        ea_mean = _mean([r.ea for r in three])
        nmv_mean = _mean([r.nmv for r in three])
        if ea_mean < gr.low_activity_ea and nmv_mean < gr.low_activity_nmv:
            flags.add("termination_right")
            reasons.append(f"G6 mean EA {fmt_num(fen(ea_mean))} < {fmt_num(gr.low_activity_ea)} and "
                           f"mean NMV {fmt_money(nmv_mean)} < {fmt_money(gr.low_activity_nmv)}: termination right")

    if override is not None:  # G7 wins over G2-G6 for the grade; flags stay (D17)
        nxt, rule = override.grade, "G7"
        reasons.append(f"G7 override to {override.grade} approved by {override.approved_by}: {override.reason}")
    return GradeDecision(grade_in_effect=g, grade_next=nxt, rule=rule, flags=frozenset(flags), reason="; ".join(reasons))


def at_least(grade: str | None, floor: str) -> bool:
    return grade is not None and RANK[grade] >= RANK[floor]
