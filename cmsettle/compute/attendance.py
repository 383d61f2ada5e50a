"""Attendance and daily management: RULEBOOK M7, A1-A6 (with D12, D28, D29, D30)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from cmsettle.model import AttendanceRow, ManagementRow
from cmsettle.money import ZERO, fen, fmt_money, fmt_num
from cmsettle.ruleset.schema import RuleSet
from cmsettle.workdays import WorkCalendar


@dataclass(frozen=True)
class AttendanceSummary:
    """One manager's month of attendance rows, counted as the rules need them."""

    late_early: int = 0  # A1, D12: each row one occurrence
    personal_days: Decimal = ZERO  # A2: personal leave + sick leave without proof (D12)
    sick_days: Decimal = ZERO  # A3: sick leave with proof
    sick_unproven_days: Decimal = ZERO
    absent_days: Decimal = ZERO  # A4 total
    absent_full_rows: int = 0  # D29
    absent_half_rows: int = 0
    absent_full_dates: tuple[date, ...] = ()  # A5/D30
    promo_days: Decimal = ZERO  # P8
    injury_days: Decimal = ZERO  # A6
    events: dict[str, int] = field(default_factory=dict)  # M7 management events


def summarise(attendance: tuple[AttendanceRow, ...], management: tuple[ManagementRow, ...]) -> dict[str, AttendanceSummary]:
    acc: dict[str, dict] = {}

    def slot(mid: str) -> dict:
        return acc.setdefault(mid, {
            "late_early": 0, "personal": ZERO, "sick": ZERO, "sick_unproven": ZERO, "absent": ZERO,
            "full": 0, "half": 0, "full_dates": [], "promo": ZERO, "injury": ZERO, "events": {},
        })

    for r in attendance:
        s = slot(r.manager_id)
        if r.code in ("late", "early_leave"):
            s["late_early"] += 1
        elif r.code == "personal_leave":
            s["personal"] += r.days
        elif r.code == "sick_leave":
            if r.proof:
                s["sick"] += r.days
            else:
                s["sick_unproven"] += r.days
                s["personal"] += r.days
        elif r.code == "absent":
            s["absent"] += r.days
            if r.days == 1:
                s["full"] += 1
                s["full_dates"].append(r.date)
            else:
                s["half"] += 1
        elif r.code == "promo_duty":
            s["promo"] += r.days
        elif r.code == "work_injury":
            s["injury"] += r.days
    for e in management:
        ev = slot(e.manager_id)["events"]
        ev[e.kind] = ev.get(e.kind, 0) + 1
    return {
        mid: AttendanceSummary(
            late_early=s["late_early"], personal_days=s["personal"], sick_days=s["sick"],
            sick_unproven_days=s["sick_unproven"], absent_days=s["absent"], absent_full_rows=s["full"],
            absent_half_rows=s["half"], absent_full_dates=tuple(sorted(s["full_dates"])), promo_days=s["promo"],
            injury_days=s["injury"], events=dict(sorted(s["events"].items())),
        )
        for mid, s in acc.items()
    }


def management_score(a: AttendanceSummary, rules: RuleSet) -> tuple[Decimal, str]:
    """M7: full marks minus points, floored; returns the score and its arithmetic."""
    ms = rules.management_score
    parts: list[tuple[str, Decimal]] = []
    if a.sick_days:
        parts.append((f"sick {fmt_num(a.sick_days)}d×{fmt_num(ms.sick_leave_day)}", a.sick_days * ms.sick_leave_day))
    if a.personal_days:
        parts.append((f"personal {fmt_num(a.personal_days)}d×{fmt_num(ms.personal_leave_day)}",
                      a.personal_days * ms.personal_leave_day))
    if a.late_early:
        parts.append((f"late/early {a.late_early}×{fmt_num(ms.late_or_early)}", a.late_early * ms.late_or_early))
    for kind, n in a.events.items():
        pts = ms.events.get(kind, ZERO)
        parts.append((f"{kind} {n}×{fmt_num(pts)}", n * pts))
    lost = sum((p for _, p in parts), ZERO)
    score = max(ms.floor, ms.full - lost)
    text = f"{fmt_num(ms.full)}" + "".join(f" − {label}" for label, _ in parts)
    if parts:
        text += f" = {fmt_num(ms.full - lost)}"
        if score != ms.full - lost:
            text += f", floored at {fmt_num(ms.floor)}"
    return score, text


@dataclass(frozen=True)
class AttendanceDeduction:
    a1: Decimal
    a2: Decimal
    a3: Decimal
    a4: Decimal
    capped: Decimal  # min(A2 + A3 + A4, fixed_pay)
    total: Decimal  # A1 + capped (positive: the amount deducted)
    rules: str
    detail: str


def attendance_deduction(a: AttendanceSummary, daily_rate: Decimal, fixed_pay: Decimal, rules: RuleSet) -> AttendanceDeduction:
    """A1-A4 with D28 (each rounded; A2-A4 capped at the P2 line) and D29 (half-day rows)."""
    at = rules.attendance
    a1 = fen(a.late_early * at.late_fine)
    a2 = fen(a.personal_days * daily_rate)
    a3 = fen(a.sick_days * daily_rate) if a.sick_days > at.sick_free_days else ZERO
    if a.absent_days >= at.absence_whole_fixed_days:
        a4 = fixed_pay
        a4_text = f"A4 absent {fmt_num(a.absent_days)}d ≥ {fmt_num(at.absence_whole_fixed_days)}: all fixed pay {fmt_money(fixed_pay)}"
    else:
        units = a.absent_full_rows * at.absence_full_day_rates + a.absent_half_rows * at.absence_half_day_rates
        a4 = fen(units * daily_rate)
        a4_text = (f"A4 ({a.absent_full_rows}×{fmt_num(at.absence_full_day_rates)} + {a.absent_half_rows}×"
                   f"{fmt_num(at.absence_half_day_rates)}) × {fmt_money(daily_rate)} = {fmt_money(a4)}")
    capped = min(a2 + a3 + a4, max(fixed_pay, ZERO))
    used = [("A1", a1), ("A2", a2), ("A3", a3), ("A4", a4)]
    texts = []
    if a1:
        texts.append(f"A1 {a.late_early}×{fmt_money(at.late_fine)} = {fmt_money(a1)}")
    if a2:
        texts.append(f"A2 {fmt_num(a.personal_days)}d × {fmt_money(daily_rate)} = {fmt_money(a2)}")
    if a3:
        texts.append(f"A3 {fmt_num(a.sick_days)} sick days > {fmt_num(at.sick_free_days)}: "
                     f"{fmt_num(a.sick_days)} × {fmt_money(daily_rate)} = {fmt_money(a3)}")
    if a4:
        texts.append(a4_text)
    if capped != a2 + a3 + a4:
        texts.append(f"A2+A3+A4 capped at fixed pay {fmt_money(fixed_pay)}")
    return AttendanceDeduction(
        a1=a1, a2=a2, a3=a3, a4=a4, capped=capped, total=a1 + capped,
        rules=";".join(r for r, v in used if v), detail="; ".join(texts),
    )


def longest_absent_run(dates: tuple[date, ...], cal: WorkCalendar, first: date, last: date) -> int:
    """A5/D30: longest run of consecutive PRC working days with a full-day absence inside the month."""
    absent = set(dates)
    best = run = 0
    for d in cal.workdays(first, last):
        run = run + 1 if d in absent else 0
        best = max(best, run)
    return best
