"""One month's settlement as a pure function (RULEBOOK §1-§8, §10).

``settle(inputs, rules, calendar, prior)`` → ``MonthResult``: the pay lines (N4-rounded, each with
rule and formula), one row per manager for managers.csv, and the ledger state the close of the month
leaves for the next. Reading files, the database and writing outputs happen elsewhere
(cmsettle.pipeline); this module only computes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from decimal import Decimal

from cmsettle.compute import attendance as att
from cmsettle.compute.grades import GradeDecision, a3_of, at_least, decide_grade, probation_start
from cmsettle.compute.lines import AFTER_TAX, ORDER, PayLine
from cmsettle.compute.metrics import ClientFacts, MonthFacts, compute_client_facts
from cmsettle.compute.state import RECORD_MONTHS, Hold, LedgerState, MonthRecord, Person, Referral
from cmsettle.compute.tax import TaxResult, income_tax
from cmsettle.errors import InputError, Problem
from cmsettle.model import GRADES, MonthInputs, RosterRow
from cmsettle.money import ZERO, fen, fmt_money, fmt_num, round4
from cmsettle.months import Month, add_months
from cmsettle.ruleset.schema import RuleSet
from cmsettle.workdays import WorkCalendar

MANAGER_FLAGS = (
    "termination_right", "early_conversion_candidate", "station_manager_candidate", "revoke_station_manager",
    "revoke_regional_manager", "personal_leave_over_cap", "deemed_resignation", "dismissal",
)


@dataclass(frozen=True)
class ManagerResult:
    """One managers.csv row, plus what the report and payslip show beside it."""

    manager_id: str
    name: str
    position: str
    grade_in_effect: str
    grade_next: str
    grade_rule: str
    avg_assets: Decimal
    a3: Decimal
    ea: Decimal
    nmv: Decimal
    net_revenue: Decimal
    score_raw: Decimal
    score_applied: Decimal
    management_score: Decimal
    flags: tuple[str, ...]
    grade_reason: str = ""
    score_detail: str = ""
    management_detail: str = ""
    contract: str = "employee"
    project: str | None = None
    station: str | None = None
    bank_account: str | None = None
    id_number: str | None = None
    refund_only: bool = False
    employer_social_insurance: Decimal = ZERO
    accident_insurance: Decimal = ZERO


@dataclass(frozen=True)
class MonthResult:
    month: Month
    lines: tuple[PayLine, ...]
    managers: tuple[ManagerResult, ...]
    state: LedgerState
    warnings: tuple[str, ...] = ()
    decisions: dict[str, GradeDecision] = field(default_factory=dict)

    @functools.cached_property
    def _lines_by_manager(self) -> dict[str, list[PayLine]]:
        """The lines per manager, in order, built once (a report or payslip per person of 5,000 would
        otherwise scan every line of everyone for each)."""
        by: dict[str, list[PayLine]] = {}
        for ln in self.lines:
            by.setdefault(ln.manager_id, []).append(ln)
        return by

    def lines_of(self, manager_id: str) -> list[PayLine]:
        return list(self._lines_by_manager.get(manager_id, ()))

    def amount(self, manager_id: str, component: str) -> Decimal:
        return sum((ln.amount for ln in self._lines_by_manager.get(manager_id, ()) if ln.component == component),
                   ZERO)


class _Lines:
    """Collects one person's lines: non-zero ones, plus gross_pay and net_pay always (DATA.md)."""

    def __init__(self, manager_id: str):
        self.manager_id = manager_id
        self.items: dict[str, PayLine] = {}

    def add(self, component: str, amount: Decimal, rule: str, detail: str, *, always: bool = False) -> Decimal:
        amount = fen(amount)
        if amount or always:
            self.items[component] = PayLine(self.manager_id, component, amount, rule, detail)
        return amount

    def get(self, component: str) -> Decimal:
        ln = self.items.get(component)
        return ln.amount if ln else ZERO

    def sorted(self) -> list[PayLine]:
        return sorted(self.items.values(), key=lambda ln: ORDER[ln.component])


def _join(*rules_and_amounts: tuple[str, Decimal]) -> str:
    return ";".join(r for r, a in rules_and_amounts if a)


# --------------------------------------------------------------------------------------------------
# First ledger month: history and opening become the prior state (D1, D2, D4, D40).


def initial_state(inputs: MonthInputs, rules: RuleSet) -> LedgerState:
    month = inputs.month
    records: dict[tuple[str, Month], MonthRecord] = {}
    for h in inputs.history:
        if h.month < month and h.month >= month.add(-RECORD_MONTHS):
            records[(h.manager_id, h.month)] = MonthRecord(
                month=h.month, manager_id=h.manager_id, grade=h.grade, avg_assets=h.avg_assets, ea=h.ea,
                nmv=h.nmv, score_raw=h.score_raw, source="history",
            )
    roster = {r.manager_id: r for r in inputs.roster}
    persons: dict[str, Person] = {}
    for o in inputs.opening:
        r = roster.get(o.manager_id)
        listed = {} if r is None else {"name": r.name, "position": r.position, "contract": r.contract,
                                       "hire_date": r.hire_date}
        p = Person(
            manager_id=o.manager_id, excess_carry=o.excess_carry, risk_fund_balance=o.risk_fund_balance,
            tax_year=month.year, ytd_taxable=o.ytd_taxable, ytd_tax=o.ytd_tax, counter_year=month.year,
            personal_leave_days_ytd=o.personal_leave_days_ytd, absent_days_ytd=o.absent_days_ytd,
            discretionary_count=o.discretionary_count, **listed,
        )
        if r is not None:
            if r.leave_date is not None and r.leave_date < month.first_day:
                # D1: left before the ledger began: approved → refund at leave month + 6, else forfeited.
                leave = Month.of(r.leave_date)
                p = replace(p, leave_month=leave, leave_approved=r.leave_approved, grade_next=r.grade,
                            last_month=leave)
                if r.leave_approved and p.risk_fund_balance > 0:
                    p = replace(p, refund_due=leave.add(rules.risk_fund.refund_after_months))
                else:
                    p = replace(p, risk_fund_balance=ZERO)
        persons[o.manager_id] = p
    return LedgerState(first_month=None, last_month=None, persons=persons, records=records)


# --------------------------------------------------------------------------------------------------


def is_settled(r: RosterRow, month: Month) -> bool:
    """D1: hired on or before the last day, not left before the 1st."""
    return r.hire_date <= month.last_day and not (r.leave_date is not None and r.leave_date < month.first_day)


def settle(
    inputs: MonthInputs,
    rules: RuleSet,
    cal: WorkCalendar,
    prior: LedgerState,
    retro: dict[str, Decimal] | None = None,
) -> MonthResult:
    month = inputs.month
    retro = retro or {}
    warnings: list[str] = list(inputs.warnings)
    problems: list[Problem] = []
    first_ledger_month = prior.first_month is None
    if first_ledger_month:
        prior = initial_state(inputs, rules)

    roster = [r for r in inputs.roster if is_settled(r, month)]
    roster_by_id = {r.manager_id: r for r in roster}
    facts: MonthFacts = compute_client_facts(inputs, rules, prior.pending_clients)
    attendance = att.summarise(inputs.attendance, inputs.management)
    overrides = {o.manager_id: o for o in inputs.overrides}
    deductions = {d.manager_id: d.amount for d in inputs.deductions}
    month_days = cal.count(month.first_day, month.last_day)

    # ---- grade in effect (D2) and tier (D19) -------------------------------------------------------
    # D2: "the grade of the latest history month" (history is read in the first ledger month only)
    latest_history: dict[str, tuple[Month, str | None]] = {}
    if first_ledger_month:
        for h in inputs.history:
            if h.month < month and (h.manager_id not in latest_history or h.month > latest_history[h.manager_id][0]):
                latest_history[h.manager_id] = (h.month, h.grade)
    grade: dict[str, str] = {}
    for r in roster:
        person = prior.persons.get(r.manager_id)
        if person is not None and person.grade_next:
            g = person.grade_next
            if r.grade and r.grade != g:
                warnings.append(f"D2: roster grade {r.grade} of {r.manager_id} differs from the ledger's {g}: "
                                f"ledger grade used")
        elif r.grade:
            g = r.grade
        elif r.manager_id in latest_history and latest_history[r.manager_id][1]:
            g = latest_history[r.manager_id][1]
        else:
            g = GRADES[0]
        grade[r.manager_id] = g
        if r.tier not in rules.grades.row(g).fixed_standard:
            src = r.src
            problems.append(Problem(
                src.file if src else "roster", "no fixed standard for this tier and grade in the rule set (D19)",
                row=src.row if src else None, column="tier", value=str(r.tier),
                expected=f"one of {sorted(rules.grades.row(g).fixed_standard)} for grade {g}",
            ))
    # ---- referrals (P9, D23) -----------------------------------------------------------------------
    referrals = dict(prior.referrals)
    for ref in inputs.referrals:
        if ref.referred_id in prior.paid_referrals:
            continue
        known = referrals.get(ref.referred_id)
        if known is not None and known.referrer_id != ref.referrer_id:
            problems.append(Problem(
                ref.src.file if ref.src else "referrals", "a second referrer for one referred person (D23)",
                row=ref.src.row if ref.src else None, column="referrer_id", value=ref.referrer_id,
                expected=f"{known.referrer_id} (already recorded)",
            ))
            continue
        referrals[ref.referred_id] = Referral(ref.referred_id, ref.referrer_id, ref.date)
    if problems:
        raise InputError(problems)

    # ---- metrics M1-M7 -----------------------------------------------------------------------------
    records = dict(prior.records)
    score_raw: dict[str, Decimal] = {}
    score_applied: dict[str, Decimal] = {}
    score_text: dict[str, str] = {}
    for r in roster:
        mid, g = r.manager_id, grade[r.manager_id]
        f = facts.of(mid)
        row = rules.grades.row(g)
        sc = rules.score
        w = sc.trainee_weights if g == GRADES[0] else sc.weights
        raw = w.ea * f.ea / row.ea_target + w.nmv * f.nmv / row.nmv_target + w.nr * f.net_revenue / row.nr_target
        score_raw[mid] = round4(raw)
        score_applied[mid] = min(sc.cap, max(sc.floor, score_raw[mid]))
        parts = [f"{fmt_num(w.ea)}×{fmt_num(f.ea)}/{fmt_num(row.ea_target)}",
                 f"{fmt_num(w.nmv)}×{fmt_money(f.nmv)}/{fmt_money(row.nmv_target)}"]
        if w.nr:
            parts.append(f"{fmt_num(w.nr)}×{fmt_money(f.net_revenue)}/{fmt_money(row.nr_target)}")
        score_text[mid] = (f"M6 ({g}) {' + '.join(parts)} = {fmt_num(score_raw[mid])}, applied "
                           f"{fmt_num(score_applied[mid])} (clamp {fmt_num(sc.floor)}..{fmt_num(sc.cap)})")
        records[(mid, month)] = MonthRecord(
            month=month, manager_id=mid, grade=g, avg_assets=f.avg_assets, ea=f.ea, nmv=f.nmv,
            score_raw=score_raw[mid], position=r.position, supervisor_id=r.supervisor_id,
        )

    hired = {r.manager_id: Month.of(r.hire_date) for r in roster}

    # Indexes over the complete records (in their order), so each manager's look-up is not a scan of all.
    records_of: dict[str, list[tuple[Month, MonthRecord]]] = {}
    team_of: dict[tuple[Month, str | None], list[MonthRecord]] = {}
    for (i, m), rec in records.items():
        records_of.setdefault(i, []).append((m, rec))
        team_of.setdefault((m, rec.supervisor_id), []).append(rec)

    def history_of(mid: str) -> dict[Month, MonthRecord]:
        """The manager's records of months in which they were employed (M2: not before the hire month)."""
        return {m: rec for m, rec in records_of.get(mid, ()) if m >= hired[mid]}

    reports: dict[str, list[RosterRow]] = {}
    for r in roster:  # D24: direct reports are the managers settled in M with this supervisor
        if r.supervisor_id:
            reports.setdefault(r.supervisor_id, []).append(r)

    # ---- grades (G1-G7) and team conditions (T3-T5) ------------------------------------------------
    decisions: dict[str, GradeDecision] = {}
    flags: dict[str, set[str]] = {}
    a3: dict[str, Decimal] = {}
    for r in roster:
        mid = r.manager_id
        hist = history_of(mid)
        a3[mid] = a3_of(hist, month) or ZERO
        decisions[mid] = decide_grade(month=month, g=grade[mid], hire_date=r.hire_date, records=hist,
                                      override=overrides.get(mid), rules=rules)
        flags[mid] = set(decisions[mid].flags)
    team_notes: dict[str, list[str]] = {}
    qualified_station: dict[str, bool] = {}
    t = rules.teams
    for r in roster:
        mid = r.manager_id
        if r.position == "marketer":  # T3 (D18: history grades count, all three months needed)
            own = history_of(mid)
            recs = [own.get(month.add(-i)) for i in (2, 1, 0)]
            if (all(x is not None and at_least(x.grade, "manager") for x in recs)
                    and facts.of(mid).avg_assets >= t.station_candidate_assets):
                flags[mid].add("station_manager_candidate")
        if r.position == "station_manager":  # T4 (D25)
            ok, note = _station_conditions(r, month, records, reports.get(mid, []), rules, team_of)
            qualified_station[mid] = ok
            if not ok:
                flags[mid].add("revoke_station_manager")
            if note:
                team_notes.setdefault(mid, []).append(note)
    for r in roster:
        mid = r.manager_id
        if r.position == "regional_manager":  # T5 (D26)
            n_ok = sum(1 for x in reports.get(mid, []) if x.position == "station_manager"
                       and qualified_station.get(x.manager_id, False))
            avg = facts.of(mid).avg_assets
            if not (avg >= t.regional_min_assets and n_ok >= t.regional_min_stations):
                flags[mid].add("revoke_regional_manager")
                team_notes.setdefault(mid, []).append(
                    f"T5 avg_assets {fmt_money(avg)} (needs ≥ {fmt_money(t.regional_min_assets)}), "
                    f"{n_ok} qualified station managers (needs ≥ {t.regional_min_stations})")

    # ---- pay -----------------------------------------------------------------------------------------
    all_lines: list[PayLine] = []
    results: list[ManagerResult] = []
    persons = dict(prior.persons)
    new_holds: list[Hold] = []
    remaining_holds = list(prior.holds)
    paid_referrals = set(prior.paid_referrals)

    # disputes (F3, D36) count for everyone named, in the ledger or on the roster
    disputes: dict[str, int] = {}
    for p in inputs.penalties:
        if p.kind == "dispute":
            disputes[p.manager_id] = disputes.get(p.manager_id, 0) + 1
        elif p.kind == "dispute_closed":
            disputes[p.manager_id] = disputes.get(p.manager_id, 0) - 1

    referral_pay: dict[str, list[tuple[Referral, str]]] = {}
    for ref in sorted(referrals.values(), key=lambda x: (x.date, x.referred_id)):
        if (ref.referred_id in grade and at_least(grade[ref.referred_id], "manager")
                and ref.referrer_id in roster_by_id and month >= Month.of(ref.date)):
            referral_pay.setdefault(ref.referrer_id, []).append((ref, grade[ref.referred_id]))
            paid_referrals.add(ref.referred_id)
            del referrals[ref.referred_id]

    for r in roster:
        mid = r.manager_id
        g = grade[mid]
        row = rules.grades.row(g)
        f: ClientFacts = facts.of(mid)
        a = attendance.get(mid, att.AttendanceSummary())
        person = persons.get(mid) or Person(manager_id=mid)
        if person.tax_year != month.year:
            person = replace(person, tax_year=month.year, ytd_taxable=ZERO, ytd_tax=ZERO)
        if person.counter_year != month.year:
            person = replace(person, counter_year=month.year, personal_leave_days_ytd=ZERO, absent_days_ytd=ZERO)
        # D36: open = disputes minus dispute_closed, counted over time (not floored at 0)
        if mid in disputes:
            person = replace(person, open_disputes=person.open_disputes + disputes[mid])
        lines = _Lines(mid)
        leaving = r.leave_date is not None and month.contains(r.leave_date)

        # P1/P2 fixed pay: prorated standard × S / 100 (D3: hire and leave days are days of employment)
        standard = row.fixed_standard[r.tier]
        first = max(r.hire_date, month.first_day)
        last = min(r.leave_date, month.last_day) if r.leave_date else month.last_day
        worked = cal.count(first, last)
        proration = Decimal(worked) / Decimal(month_days)
        prorated = standard * proration
        s_score, s_text = att.management_score(a, rules)
        fixed_pay = lines.add("fixed_pay", prorated * s_score / 100, "P1;P2",
                              f"{fmt_money(standard)} ({g} tier {r.tier}) × {worked}/{month_days} working days × "
                              f"S {fmt_num(s_score)}/100 [S: {s_text}]")

        # P3 commission
        q = Decimal(1)
        served = add_months(r.hire_date, rules.earnings.qualification_service_months) <= month.last_day
        qualified = r.qualification_date is not None and r.qualification_date <= month.last_day
        if served and not qualified:
            q = rules.earnings.qualification_factor
        commission = max(ZERO, f.net_revenue * row.base_rate * score_applied[mid] * q)
        lines.add("commission", commission, "P3",
                  f"NR {fmt_money(f.net_revenue)} × {fmt_num(row.base_rate)} × score {fmt_num(score_applied[mid])}"
                  f" × q {fmt_num(q)}" + (" (floored at 0, D10)" if commission == 0 and f.net_revenue < 0 else ""))

        # P4 account bonus
        lines.add("account_bonus", f.ea * rules.earnings.account_bonus, "P4",
                  f"EA {fmt_num(f.ea)} × {fmt_money(rules.earnings.account_bonus)}")

        # P5 excess market-value bonus with carry (D21)
        e = rules.earnings
        excess = fen(max(ZERO, f.nmv - row.nmv_target) * e.excess_mv_rate)
        ipo_note = ""
        if f.new_buy_total > 0 and f.new_buy_ipo_fund > e.ipo_fund_share * f.new_buy_total:
            ipo_note = (f"; IPO/fund buys {fmt_money(f.new_buy_ipo_fund)} > {fmt_num(e.ipo_fund_share)} × "
                        f"{fmt_money(f.new_buy_total)}: this month's excess is 0")
            excess = ZERO
        carry_in = person.excess_carry
        if leaving:
            payable = excess + carry_in
        else:
            payable = min(e.excess_mv_cap, excess + carry_in)
        carry_out = excess + carry_in - payable
        lines.add("excess_mv_bonus", payable, "P5",
                  f"max(0, NMV {fmt_money(f.nmv)} − {fmt_money(row.nmv_target)}) × {fmt_num(e.excess_mv_rate)} = "
                  f"{fmt_money(excess)} + carry {fmt_money(carry_in)}"
                  + (", leave month: no cap" if leaving else f", capped at {fmt_money(e.excess_mv_cap)}")
                  + f"; carried out {fmt_money(carry_out)}" + ipo_note)

        # P6 fund commission, P7 transport, P8 meals, P9 referral
        lines.add("fund_commission", f.fund_commission_income * e.fund_commission_rate, "P6",
                  f"fund commission income {fmt_money(f.fund_commission_income)} × {fmt_num(e.fund_commission_rate)}")
        lines.add("transport_allowance", row.transport * proration, "P7",
                  f"{fmt_money(row.transport)} ({g}) × {worked}/{month_days}")
        lines.add("meal_allowance", a.promo_days * e.meal_allowance, "P8",
                  f"{fmt_num(a.promo_days)} promo duty days × {fmt_money(e.meal_allowance)}")
        refs = referral_pay.get(mid, [])
        lines.add("referral_bonus", len(refs) * e.referral_bonus, "P9",
                  "; ".join(f"{ref.referred_id} ({gr}) referred {ref.date}: {fmt_money(e.referral_bonus)}"
                            for ref, gr in refs))

        # T1, T2 team overrides and allowances (D10 floors, D24)
        mine = reports.get(mid, [])
        if r.position in ("station_manager", "regional_manager"):
            mk = [x for x in mine if x.position == "marketer"]
            nr_sum = sum((facts.of(x.manager_id).net_revenue for x in mk), ZERO)
            lines.add("station_override", max(ZERO, nr_sum * t.station_override_rate), "T1",
                      f"{fmt_num(t.station_override_rate)} × NR of {len(mk)} marketers {fmt_money(nr_sum)}")
        if r.position == "station_manager":
            lines.add("station_allowance", t.station_allowance * proration, "T1",
                      f"{fmt_money(t.station_allowance)} × {worked}/{month_days}")
        if r.position == "regional_manager":
            sm = [x for x in mine if x.position == "station_manager"]
            nr_sum = sum((facts.of(x.manager_id).net_revenue for x in sm), ZERO)
            lines.add("regional_override", max(ZERO, nr_sum * t.regional_override_rate), "T2",
                      f"{fmt_num(t.regional_override_rate)} × personal NR of {len(sm)} station managers {fmt_money(nr_sum)}")
            lines.add("regional_allowance", t.regional_allowance * proration, "T2",
                      f"{fmt_money(t.regional_allowance)} × {worked}/{month_days}")

        # A1-A4 attendance (D28): one line, A2-A4 capped at the fixed pay line
        daily_rate = standard / rules.attendance.statutory_pay_days
        ad = att.attendance_deduction(a, daily_rate, fixed_pay, rules)
        lines.add("attendance_deduction", -ad.total, ad.rules, ad.detail)
        pl_ytd = person.personal_leave_days_ytd + a.personal_days
        ab_ytd = person.absent_days_ytd + a.absent_days
        if pl_ytd > rules.attendance.personal_leave_cap_days:
            flags[mid].add("personal_leave_over_cap")
        run = att.longest_absent_run(a.absent_full_dates, cal, month.first_day, month.last_day)
        if run >= rules.attendance.deemed_resignation_run or ab_ytd >= rules.attendance.deemed_resignation_year_days:
            flags[mid].add("deemed_resignation")

        # N1 gross pay
        earned = [ln.amount for c, ln in lines.items.items() if c != "attendance_deduction"]
        gross = lines.add("gross_pay", sum(earned, ZERO) + lines.get("attendance_deduction"), "N1",
                          "sum of P2-P9, T1, T2 minus A1-A4", always=True)

        # TX1 social insurance (D27)
        si = rules.social_insurance
        si_base = r.si_base if r.si_base is not None else standard
        eligible = f.equity_assets > si.equity_assets_min and f.client_count > si.clients_min and qualified
        social = fen(si_base * si.employee_rates.total) if eligible else ZERO
        lines.add("social_insurance", -social, "TX1",
                  f"si_base {fmt_money(si_base)} × {fmt_num(si.employee_rates.total)} (equity assets "
                  f"{fmt_money(f.equity_assets)}, {f.client_count} clients, qualified)")
        employer_si = fen(si_base * si.employer_rates.total) if eligible else ZERO
        accident = si.accident_insurance_per_year if at_least(g, "assistant") else ZERO

        # TX2 / TX3 income tax
        special = deductions.get(mid, ZERO)
        if r.contract == "agent" and mid in deductions:
            warnings.append(f"D39: {mid} has an agent contract: the deductions row is ignored")
        tx: TaxResult = income_tax(
            contract=r.contract, gross_pay=gross, meal_allowance=lines.get("meal_allowance"),
            social_insurance=social, special_deductions=special, ytd_taxable=person.ytd_taxable,
            ytd_tax=person.ytd_tax, rules=rules,
        )
        lines.add("income_tax", -tx.income_tax, tx.rule, tx.detail)

        # F2 forfeits, then F1 withholding (D35)
        rf = rules.risk_fund
        cap = rf.caps[r.position]
        balance = person.risk_fund_balance
        my_pen = sorted((p for p in inputs.penalties if p.manager_id == mid),
                        key=lambda p: (p.date, p.src.row if p.src else 0))
        for p in my_pen:
            if p.kind == "risk_fund_forfeit":
                balance = max(ZERO, balance - (p.amount if p.amount is not None else balance))
        f5 = fen(gross * rf.rate)
        withhold = max(ZERO, min(f5, cap - balance))
        lines.add("risk_fund_withholding", -withhold, "F1",
                  f"min({fmt_num(rf.rate)} × gross {fmt_money(gross)} = {fmt_money(f5)}, cap {fmt_money(cap)} − "
                  f"balance {fmt_money(balance)})")
        balance += withhold

        # X1-X4 penalties
        fines: list[tuple[str, Decimal, str]] = []
        dcount = person.discretionary_count
        for p in my_pen:
            if p.kind == "discretionary_trading":
                dcount += 1
                if dcount == 1:
                    fines.append(("X1", rules.penalties.discretionary_first_fine, f"X1 first discretionary trading {p.date}"))
                else:
                    flags[mid].add("dismissal")
            elif p.kind == "malicious_account":
                if p.severity == "serious":
                    flags[mid].add("dismissal")
                else:
                    fines.append(("X2", rules.penalties.malicious_general_fine, f"X2 malicious account {p.client_id}"))
            elif p.kind == "business_error":
                fines.append(("X3", p.amount or ZERO, f"X3 business error {p.date}"))
            elif p.kind == "loss_compensation":
                fines.append(("X4", p.amount or ZERO, f"X4 loss compensation {p.date}"))
        fine_total = sum((x[1] for x in fines), ZERO)
        lines.add("penalty", -fine_total, ";".join(sorted({x[0] for x in fines})),
                  "; ".join(f"{txt}: {fmt_money(v)}" for _, v, txt in fines))

        # X6 management fee (D34)
        rate = rules.penalties.management_fee_rate
        lines.add("management_fee", -(rate * max(ZERO, gross)), "X6", f"{fmt_num(rate)} × gross {fmt_money(gross)}")

        # N3 carried in
        lines.add("deduction_carried_in", -person.deduction_carry, "N3",
                  f"shortfall carried from an earlier month {fmt_money(person.deduction_carry)}")

        # X2 holds and releases (D32)
        held = ZERO
        held_rules: list[str] = []
        held_text: list[str] = []
        if f.investigated_clients and fixed_pay:
            held = fixed_pay
            held_rules.append("X2")
            held_text.append(f"X2 fixed pay {fmt_money(fixed_pay)} held: clients under investigation "
                             f"{', '.join(f.investigated_clients)}")
            new_holds.append(Hold(mid, month, "X2", fixed_pay, f.investigated_clients))
        released, remaining_holds, rel_text = _release(mid, remaining_holds, facts.client_status)
        lines.add("released_income", released, "X2", rel_text)

        # O2 retro adjustment
        adj = retro.get(mid, ZERO)
        lines.add("retro_adjustment", adj, "O2", "difference in net pay of a reopened month's new revision")

        # N2: gross + every after-tax line so far (each already rounded), minus the X2 hold
        net = gross + sum((lines.get(c) for c in AFTER_TAX), ZERO) - held
        # X5 unapproved leaver (D33): balance forfeited, the net pay left held
        if leaving and not r.leave_approved:
            balance = ZERO
            if net > 0:
                held_rules.append("X5")
                held_text.append(f"X5 left without approval: net pay {fmt_money(net)} held, risk fund forfeited")
                held += net
                net = ZERO
        lines.add("held_income", -held, ";".join(held_rules), "; ".join(held_text))
        carry = ZERO
        if net < 0:
            carry = -net
            lines.add("deduction_carried_out", carry, "N3", f"net pay {fmt_money(net)} below zero: carried to next month")
            net = ZERO
        lines.add("net_pay", net, "N2", "gross pay + after-tax lines", always=True)

        refund_due = None
        if leaving:
            if r.leave_approved and balance > 0:
                refund_due = month.add(rf.refund_after_months)
        persons[mid] = replace(
            person, name=r.name, position=r.position, contract=r.contract, grade_next=decisions[mid].grade_next,
            last_month=month, excess_carry=ZERO if leaving else carry_out, risk_fund_balance=balance,
            ytd_taxable=tx.ytd_taxable, ytd_tax=tx.ytd_tax, personal_leave_days_ytd=pl_ytd, absent_days_ytd=ab_ytd,
            discretionary_count=dcount, deduction_carry=carry, leave_month=Month.of(r.leave_date) if leaving else None,
            leave_approved=r.leave_approved, refund_due=refund_due, hire_date=r.hire_date,
        )
        all_lines.extend(lines.sorted())
        d = decisions[mid]
        reason = d.reason + ("; " + "; ".join(team_notes[mid]) if mid in team_notes else "")
        results.append(ManagerResult(
            manager_id=mid, name=r.name, position=r.position, grade_in_effect=g, grade_next=d.grade_next,
            grade_rule=d.rule, avg_assets=f.avg_assets, a3=a3[mid], ea=f.ea, nmv=f.nmv, net_revenue=f.net_revenue,
            score_raw=score_raw[mid], score_applied=score_applied[mid], management_score=s_score,
            flags=tuple(sorted(flags[mid])), grade_reason=reason, score_detail=score_text[mid],
            management_detail=s_text, contract=r.contract, project=r.project, station=r.station,
            bank_account=r.bank_account, id_number=r.id_number, employer_social_insurance=employer_si,
            accident_insurance=accident,
        ))

    # ---- leavers settled from the ledger for their refund (F3, D36, D42) ----------------------------
    for mid in sorted(persons):
        p = persons[mid]
        if mid in roster_by_id:
            continue
        if disputes.get(mid):
            p = persons[mid] = replace(p, open_disputes=p.open_disputes + disputes[mid])
        if p.refund_due is None or p.refund_due > month or p.open_disputes > 0 or p.risk_fund_balance <= 0:
            continue
        lines = _Lines(mid)
        lines.add("gross_pay", ZERO, "N1", "left: settled from the ledger for the risk fund refund", always=True)
        lines.add("deduction_carried_in", -p.deduction_carry, "N3",
                  f"shortfall carried from an earlier month {fmt_money(p.deduction_carry)}")
        released, remaining_holds, rel_text = _release(mid, remaining_holds, facts.client_status)
        lines.add("released_income", released, "X2", rel_text)
        refund = p.risk_fund_balance
        lines.add("risk_fund_refund", refund, "F3",
                  f"risk fund balance refunded in month {fmt_num(Decimal(month - p.leave_month))} after leaving "
                  f"({p.leave_month})")
        net = refund + released - p.deduction_carry
        carry = ZERO
        if net < 0:
            carry = -net
            lines.add("deduction_carried_out", carry, "N3", "net pay below zero: carried")
            net = ZERO
        lines.add("net_pay", net, "N2", "refund after set-offs (D36)", always=True)
        all_lines.extend(lines.sorted())
        persons[mid] = replace(p, risk_fund_balance=ZERO, refund_due=None, deduction_carry=carry)
        last = p.grade_next or GRADES[0]
        results.append(ManagerResult(
            manager_id=mid, name=p.name, position=p.position, grade_in_effect=last, grade_next=last, grade_rule="",
            avg_assets=ZERO, a3=ZERO, ea=ZERO, nmv=ZERO, net_revenue=ZERO, score_raw=ZERO, score_applied=ZERO,
            management_score=ZERO, flags=(), grade_reason="left: refund only", contract=p.contract, refund_only=True,
        ))

    keep_from = month.add(-(RECORD_MONTHS - 1))
    state = LedgerState(
        first_month=prior.first_month or month,
        last_month=month,
        persons=persons,
        records={k: v for k, v in records.items() if k[1] >= keep_from},
        holds=tuple(remaining_holds + new_holds),
        pending_clients=facts.pending_clients,
        referrals=referrals,
        paid_referrals=frozenset(paid_referrals),
    )
    order = {mid: i for i, mid in enumerate(sorted(x.manager_id for x in results))}
    all_lines.sort(key=lambda ln: (order[ln.manager_id], ORDER[ln.component]))
    results.sort(key=lambda x: x.manager_id)
    warnings.extend(cal.warnings())
    return MonthResult(month=month, lines=tuple(all_lines), managers=tuple(results), state=state,
                       warnings=tuple(dict.fromkeys(warnings)), decisions=decisions)


def _release(mid: str, holds: list[Hold], status: dict[str, str]) -> tuple[Decimal, list[Hold], str]:
    """D32: release a person's X2 holds whose clients are all normal; drop those a confirmed client caused."""
    released = ZERO
    texts: list[str] = []
    keep: list[Hold] = []
    for h in holds:
        if h.manager_id != mid or h.kind != "X2":
            keep.append(h)
            continue
        st = [status.get(c) for c in h.clients]
        if any(s == "malicious_confirmed" for s in st):
            continue  # never released
        if all(s == "normal" for s in st):
            released += h.amount
            texts.append(f"fixed pay of {h.month} {fmt_money(h.amount)} released: {', '.join(h.clients)} cleared")
        else:
            keep.append(h)
    return released, keep, "; ".join(texts)


def _station_conditions(r: RosterRow, month: Month, records: dict, mine: list[RosterRow], rules: RuleSet,
                        team_of: dict[tuple[Month, str | None], list[MonthRecord]]) -> tuple[bool, str]:
    """T4/D25: from position_since + 3 (always when blank), on the last three months.

    ``team_of``: the records by (month, supervisor_id), built once in ``settle``.
    """
    t = rules.teams
    if r.position_since is not None and month < Month.of(r.position_since).add(t.station_grace_months):
        return True, f"T4 grace period until {Month.of(r.position_since).add(t.station_grace_months)}"
    months = [month.add(-i) for i in (2, 1, 0)]
    mid = r.manager_id
    counts = []
    ea_total = ZERO
    n_months = 0
    for m in months:
        own = records.get((mid, m))
        # direct reports of that month: as recorded then (ledger months), or the current team (history months)
        team = list(team_of.get((m, mid), ())) if (
            own is not None and own.source == "ledger") else [
            records[(x.manager_id, m)] for x in mine if (x.manager_id, m) in records]
        counts.append(sum(1 for rec in team if at_least(rec.grade, "assistant")))
        if own is not None or team:
            n_months += 1
            ea_total += (own.ea if own else ZERO) + sum((rec.ea for rec in team), ZERO)
    mean_ea = ea_total / n_months if n_months else ZERO
    ok = all(c >= t.station_min_reports for c in counts) and mean_ea >= t.station_min_ea
    note = "" if ok else (f"T4 reports ≥ assistant per month {counts} (needs ≥ {t.station_min_reports} each), "
                          f"station mean EA {fmt_num(fen(mean_ea))} (needs ≥ {fmt_num(t.station_min_ea)})")
    return ok, note
