"""Random but valid small multi-month branches as month folders of plain CSV files (DATA.md, canonical English
headers), deterministic from a seed.

    generate(seed, out_dir) -> Scenario(first, last, people, notes)

One branch: a regional manager, 2-3 station managers with marketers, a few marketers under the regional
manager (a regional manager who runs a station), an agent, trainees hired inside the run (some on the 15th
and the 16th), an existing trainee still in probation (history scores), leavers (approved and not), people who
left before the ledger began (refund at leave month + 6, forfeited, a dispute that postpones the refund),
clients incl. institutions, investigated / cleared / malicious clients (D9, X2), trades over every product and
both sides (low-rate trades make a negative NR), fund sales, attendance (half days, sick with and without
proof, late, absences incl. three consecutive working days), management events, penalties of every kind,
referrals, special deductions, a grade override, history (1-3 months) and opening balances.

Every amount is generated as whole fen (integers), written as a plain decimal text; nothing is a float.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from tests.reference.rulebook import GRADES, RANK, Month, Rules, Workdays, months_between

THRESH = {"trainee": 0, "assistant": 500_000, "manager": 3_000_000, "senior": 6_000_000, "chief": 12_000_000}
PRODUCTS = ("stock", "fund_open", "fund_closed", "bond", "ipo_subscription", "other")
RATES = ("0.0003", "0.0005", "0.0008", "0.001", "0.0012", "0.0015", "0.002", "0.0025")
LOW_RATE = "0.00005"

_CAL = Workdays(Rules())


def money(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def grade_of(book_yuan: int) -> str:
    g = "trainee"
    for x in GRADES:
        if THRESH[x] <= book_yuan:
            g = x
    return g


@dataclass
class Person:
    id: str
    name: str
    position: str
    supervisor: str | None
    hire: date
    grade: str | None                  # roster grade (first month; kept stale in later rosters)
    book: int                          # base book in yuan
    drift: int                         # book change per month in percent
    leave: date | None = None
    approved: bool = True
    qual: date | None = None
    qual_from: Month | None = None     # qualification_date appears in the roster from this month on
    contract: str = "employee"
    positions: dict = field(default_factory=dict)   # Month -> (position, position_since) from that month on
    si_base: int | None = None         # fen
    position_since: date | None = None
    activity: int = 2                  # new accounts per month, roughly
    low_rate: bool = False             # trades at a rate that makes NR negative
    role: str = ""
    pre_ledger: bool = False           # left before the ledger began
    listed_from: Month | None = None   # first roster month (a future hire is listed a month early)


@dataclass
class ClientSpec:
    id: str
    owner: dict                        # Month -> manager id (owner per month; carried forward)
    open_date: date
    kind: str
    weight: int                        # share of the owner's book (old clients) or own size (new clients)
    kind_new: str = "old"              # old, eff, small, buy_eff, exact, ipo, big_inst
    status: dict = field(default_factory=dict)  # Month -> status (default normal)
    si_client: bool = False


@dataclass
class Scenario:
    seed: int
    first: Month
    last: Month
    people: dict[str, Person]
    notes: list[str]
    rules_dir: Path | None = None      # None: the packaged rule set


def _wdays(m: Month, start: date | None = None, end: date | None = None) -> list[date]:
    a = max(m.first, start) if start else m.first
    b = min(m.last, end) if end else m.last
    return _CAL.between(a, b) if a <= b else []


def _nonwork(m: Month) -> list[date]:
    d, out = m.first, []
    while d <= m.last:
        if not _CAL.is_workday(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def _write(folder: Path, name: str, header: list[str], rows: list[list[str]]) -> None:
    with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


ALT_A = [  # (pattern, replacement) on the packaged YAML text
    (r"^id: .*$", "id: alt-a"),
    (r"institution_weight: 3\b", "institution_weight: 2"),
    (r"effective_threshold: 5000\b", "effective_threshold: 8000"),
    (r"revenue_tax_rate: 0.0565", "revenue_tax_rate: 0.06"),
    (r"weights: \{ea: 0.4, nmv: 0.4, nr: 0.2\}", "weights: {ea: 0.5, nmv: 0.3, nr: 0.2}"),
    (r"management_fee_rate: 0\b", "management_fee_rate: 0.03"),
    (r"^(\s+)rate: 0.05\b", r"\1rate: 0.04"),
    (r"marketer: 10000\b", "marketer: 8000"),
    (r"late_fine: 50\b", "late_fine: 60"),
    (r"statutory_pay_days: 21.75", "statutory_pay_days: 21.5"),
    (r"excess_mv_cap: 3000\b", "excess_mv_cap: 2000"),
    (r"sick_free_days: 3\b", "sick_free_days: 2"),
    (r"^calendar: \{\}", "calendar:\n  2027:\n    holidays: [2027-01-01, 2027-02-08, 2027-02-09, 2027-02-10]\n"
                          "    workdays: [2027-02-06]"),
]
ALT_B = [
    (r"^id: .*$", "id: alt-b"),
    (r"account_bonus: 50\b", "account_bonus: 80"),
    (r"referral_bonus: 200\b", "referral_bonus: 300"),
    (r"threshold: 3000000\b", "threshold: 3500000"),
    (r"demotion_score: 0.60", "demotion_score: 0.55"),
    (r"meal_allowance: 20\b", "meal_allowance: 25"),
    (r"personal_leave_day: 10\b", "personal_leave_day: 8"),
]


def write_rule_sets(folder: Path, change: Month) -> None:
    import re

    text = (Path(__file__).resolve().parents[2] / "rules" / "2024-01-default.yaml").read_text(encoding="utf-8")
    text = re.sub(r"fixed_standard: \{1: (\d+)\}", lambda m: f"fixed_standard: {{1: {m[1]}, 2: {int(m[1]) + 300}}}",
                  text)
    for pat, rep in ALT_A:
        text, n = re.subn(pat, rep, text, flags=re.M)
        assert n >= 1, pat
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "2024-01-alt-a.yaml").write_text(text, encoding="utf-8")
    for pat, rep in ALT_B:
        text, n = re.subn(pat, rep, text, flags=re.M)
        assert n >= 1, pat
    text = re.sub(r"^effective_from: .*$", f"effective_from: {change}", text, flags=re.M)
    (folder / f"{change}-alt-b.yaml").write_text(text, encoding="utf-8")


def generate(seed: int, out_dir: Path) -> Scenario:
    rng = random.Random(seed)
    out_dir = Path(out_dir)
    n_months = rng.randint(3, 6)
    long_run = seed % 7 == 5  # 8 months: a leaver of the first month reaches the refund (F3, D36 set-offs)
    if long_run:
        n_months = 8
    if seed % 3 == 0:  # cross a year end: the January resets
        first = Month(rng.choice([2024, 2025, 2026]), rng.choice([10, 11]))  # 2027: no PRC calendar (D44)
        first = first if first.add(n_months - 1).year > first.year else Month(first.year, 12 - n_months + 2)
    else:
        first = Month(rng.choice([2024, 2025]), rng.randint(1, 9))
    last = first.add(n_months - 1)
    months = months_between(first, last)
    notes: list[str] = [f"seed {seed}: {first}..{last}"]
    people: dict[str, Person] = {}
    ids = iter(f"9{n:05d}" for n in range(1, 1000))
    names = iter(f"经理{n:02d}" for n in range(1, 1000))

    def old_hire(years_lo: int, years_hi: int) -> date:
        y = first.year - rng.randint(years_lo, years_hi)
        return date(y, rng.randint(1, 12), rng.randint(1, 28))

    def add(position: str, supervisor: str | None, book: int, **kw) -> Person:
        g = kw.pop("grade", grade_of(book))
        p = Person(next(ids), next(names), position, supervisor, kw.pop("hire", None) or old_hire(3, 12), g,
                   book, kw.pop("drift", rng.choice([-8, -3, 0, 0, 3, 8])), **kw)
        if p.qual is None and rng.random() < 0.85 and not p.pre_ledger:
            p.qual = p.hire + timedelta(days=rng.randint(-400, 300))
            if p.qual > first.last:
                p.qual_from = Month.of(p.qual)
        people[p.id] = p
        return p

    # --- the people ---
    rm_book = rng.choice([7_500_000, 14_000_000, 25_000_000])
    rm = add("regional_manager", None, rm_book, position_since=date(2019, 3, 1), activity=3, role="RM")
    if rng.random() < 0.5:
        rm.si_base = 800000
    n_sm = rng.choice([2, 3, 3])
    sms = []
    for i in range(n_sm):
        ps = first.add(-1).first if i != 1 else first.add(rng.choice([-1, 0, 1])).first
        if i == 0 and seed % 4 in (1, 3):  # T4 checked from FIRST, when M-2 and M-1 are before the ledger
            ps = None if seed % 4 == 1 else first.add(-rng.randint(3, 30)).first
        sms.append(add("station_manager", rm.id, rng.choice([3_500_000, 6_500_000, 9_000_000]),
                       position_since=ps, activity=rng.choice([2, 3, 4]), role=f"SM{i + 1}"))
    busy = sms[0]
    busy.activity = 6
    leaders = [rm, *sms]
    n_mkt = rng.randint(3, 7)
    marketers = []
    plan = [busy, busy, busy] + [s for s in sms[1:] for _ in range(rng.randint(1, 2))]
    for i in range(n_mkt):
        sup = plan[i] if i < len(plan) else rm
        book = rng.choice([700_000, 1_800_000, 3_300_000, 4_500_000, 6_300_000, 8_000_000, 13_000_000])
        p = add("marketer", sup.id, book, activity=rng.choice([1, 2, 3, 4] + ([6] if sup is busy else [])))
        marketers.append(p)
    # a marketer of the regional manager's own group (T1 for a regional manager running a station)
    if not any(p.supervisor == rm.id for p in marketers):
        marketers.append(add("marketer", rm.id, 2_200_000, activity=2))
    # designed edge cases among the marketers
    rng.shuffle(marketers)
    edge = iter(marketers)
    slacker = next(edge)  # G4: two months below 0.60, negative NR
    slacker.activity, slacker.low_rate, slacker.role = 0, True, "G4"
    slacker.grade = rng.choice(["assistant", "manager"])
    slacker.book = THRESH[slacker.grade] + 400_000
    slacker.drift = 0
    mover = next(edge)  # G2 or G3 at the first close
    if rng.random() < 0.5:
        mover.role, mover.grade, mover.book, mover.drift = "G2", "assistant", 3_400_000, 5
    else:
        mover.role, mover.grade, mover.book, mover.drift = "G3", "senior", 5_600_000, -4
    agent = next(edge)
    agent.contract, agent.role = "agent", agent.role or "AGENT"
    noqual = next(edge, None)
    if noqual is not None:  # P3 q: 24 months of service and no qualification
        noqual.role = "NOQUAL"
        if rng.random() < 0.5:
            noqual.hire, noqual.qual, noqual.qual_from = old_hire(3, 5), None, None
        else:  # crosses 24 months inside the run, qualifies later
            noqual.hire = first.add(-23).first + timedelta(days=rng.randint(0, 20))
            noqual.qual = months[-1].first + timedelta(days=3) if len(months) > 3 else None
            noqual.qual_from = months[-1] if noqual.qual else None
    # SI: a big book with many clients (TX1)
    si_person = rng.choice([rm, agent, mover, slacker])
    si_person.book = max(si_person.book, 16_000_000)
    si_person.grade = grade_of(si_person.book) if si_person is not slacker else si_person.grade
    si_person.role += " SI"
    if si_person.qual is None or si_person.qual > first.first:
        si_person.qual, si_person.qual_from = date(2015, 5, 5), None
    # trainees
    trainees = []
    k_a = rng.randint(0, max(0, n_months - 3))
    ta = add("marketer", busy.id, 0, grade=rng.choice(["trainee", None]), hire=months[k_a].first.replace(day=15),
             activity=rng.choice([2, 3]), drift=0, role="TRAINEE15")
    trainees.append(ta)
    k_b = rng.randint(0, n_months - 2)
    tb = add("marketer", sms[-1].id, 0, grade="trainee", hire=months[k_b].first.replace(day=16),
             activity=rng.choice([0, 1, 2]), drift=0, role="TRAINEE16")
    trainees.append(tb)
    if rng.random() < 0.6:  # listed one month before the hire (D1: not settled yet)
        tb.listed_from = months[k_b].add(-1) if k_b > 0 else None
    tc = add("marketer", sms[0].id, 0, grade="trainee", hire=first.add(-2).first.replace(day=rng.randint(3, 15)),
             activity=rng.choice([1, 3]), drift=0, role="TRAINEE_HIST")
    trainees.append(tc)
    if rng.random() < 0.5:
        td = add("marketer", sms[1 % len(sms)].id, 0, grade="trainee",
                 hire=months[rng.randint(0, n_months - 1)].first + timedelta(days=rng.randint(0, 25)),
                 activity=rng.choice([1, 2]), drift=0, role="TRAINEE_RANDOM")
        trainees.append(td)
    for t in trainees:
        t.book = rng.choice([0, 0, 120_000])
        t.qual = None if rng.random() < 0.5 else t.hire + timedelta(days=rng.randint(0, 90))
        t.qual_from = Month.of(t.qual) if t.qual and t.qual > first.last else None
    # leavers inside the run
    stayers = [p for p in marketers if p not in (slacker, mover, si_person, agent)]
    leaver = rng.choice(stayers) if stayers else None
    if leaver is not None:
        lm = months[0] if long_run else months[rng.randint(0, n_months - 2)]
        leaver.leave = lm.first + timedelta(days=rng.randint(5, 24))
        leaver.approved = long_run or rng.random() < 0.6
        leaver.role += " LEAVER" + ("" if leaver.approved else "_UNAPPROVED")
        others = [p for p in stayers if p is not leaver]
        if others and rng.random() < 0.7:
            bad = rng.choice(others)
            bad.leave = months[rng.randint(0, n_months - 1)].first + timedelta(days=rng.randint(2, 26))
            bad.approved = not leaver.approved
            bad.role += " LEAVER" + ("" if bad.approved else "_UNAPPROVED")
    # hired and gone inside one month; a leaver on the last day of a month (D3, D21)
    if rng.random() < 0.5:
        k = rng.randint(0, n_months - 1)
        add("marketer", busy.id, 0, grade="trainee", hire=months[k].first + timedelta(days=rng.randint(2, 8)),
            leave=months[k].first + timedelta(days=rng.randint(12, 22)), approved=rng.random() < 0.7,
            activity=1, drift=0, role="BLIP")
    rest = [p for p in stayers if p.leave is None]
    if rest and rng.random() < 0.5:
        p = rng.choice(rest)
        p.leave = months[rng.randint(0, n_months - 2)].last if rng.random() < 0.7 else months[-1].first
        p.role += " LEAVER_EDGE_DAY"
    # left before the ledger (D1)
    j = rng.randint(0, n_months - 1)
    pre = add("marketer", busy.id, 0, grade=rng.choice(["manager", "assistant", None]),
              leave=first.add(-(6 - j)).first + timedelta(days=rng.randint(0, 20)), approved=True,
              pre_ledger=True, role="PRE_LEAVER")
    pre.hire = old_hire(2, 6)
    pre_bad = add("marketer", sms[-1].id, 0, grade="assistant", leave=first.add(-2).first + timedelta(days=9),
                  approved=False, pre_ledger=True, role="PRE_LEAVER_UNAPPROVED") if rng.random() < 0.5 else None
    if pre_bad:
        pre_bad.hire = old_hire(2, 6)
    if rng.random() < 0.5:  # left before the ledger with a zero balance: nothing is owed (refund-zero)
        j0 = rng.randint(0, n_months - 1)
        pre0 = add("marketer", busy.id, 0, grade="manager", leave=first.add(-(6 - j0)).first + timedelta(days=3),
                   approved=True, pre_ledger=True, role="PRE_LEAVER_ZERO")
        pre0.hire = old_hire(2, 6)
    # position changes inside the run (F1 caps, T1, T4 grace from a new position_since)
    plain = [p for p in marketers if p.leave is None and p not in (slacker, mover, agent, si_person)]
    if plain and rng.random() < 0.6:
        up = rng.choice(plain)
        k = rng.randint(1, n_months - 1)
        up.positions[months[k]] = ("station_manager", months[k].first)
        up.role += " TO_STATION"
    if len(sms) == 3 and rng.random() < 0.5:
        down = sms[2]
        down.positions[months[rng.randint(1, n_months - 1)]] = ("marketer", None)
        down.role += " TO_MARKETER"

    active = [p for p in people.values() if not p.pre_ledger]

    def employed(p: Person, m: Month) -> bool:
        return p.hire <= m.last and (p.leave is None or p.leave >= m.first) and not p.pre_ledger

    def station_of(p: Person) -> Person:
        return people[p.supervisor] if p.supervisor else p

    # --- clients ---
    clients: dict[str, ClientSpec] = {}
    cid = iter(range(1, 100000))

    def new_client(owner: Person, m: Month, open_date: date, kind_new: str, weight: int,
                   kind: str = "individual") -> ClientSpec:
        c = ClientSpec(f"31{next(cid):08d}", {m: owner.id}, open_date, kind, weight, kind_new)
        clients[c.id] = c
        return c

    for p in active:
        if p.book <= 0:
            continue
        n = rng.randint(3, 9)
        if p is si_person:
            n = rng.randint(60, 66)  # 60 is not above 60 (TX1) until a new account arrives
        start = first.add(-1) if p.hire < first.first else Month.of(p.hire)
        for _ in range(n):
            od = p.hire + timedelta(days=rng.randint(0, max(0, (first.first - p.hire).days - 40)))
            c = new_client(p, start, od, "old", rng.randint(1, 20),
                           "institution" if rng.random() < 0.1 else "individual")
            c.si_client = p is si_person

    # new accounts per month
    inv_plan: list[tuple[ClientSpec, Month]] = []
    for m in months:
        for p in active:
            if not employed(p, m):
                continue
            n_new = max(0, p.activity + rng.randint(-1, 1)) if p.activity else rng.choice([0, 0, 1])
            if p.leave and Month.of(p.leave) == m:
                n_new = min(n_new, 1)
            days = [d for d in (m.first + timedelta(days=i) for i in range((m.last - m.first).days + 1))
                    if d >= p.hire and (p.leave is None or d <= p.leave)]
            for _ in range(n_new):
                kind_new = rng.choice(["eff", "eff", "eff", "small", "buy_eff", "exact", "ipo"])
                if p.low_rate:
                    kind_new = rng.choice(["small", "exact", "small"])
                kind = "institution" if rng.random() < 0.12 else "individual"
                c = new_client(p, m, rng.choice(days), kind_new, rng.randint(1, 20), kind)
                if p.activity and rng.random() < 0.03 and p.role != "RM":
                    c.kind_new, c.kind = "big_inst", "institution"
        # investigated new clients (D9, X2): never for leavers
        if rng.random() < 0.8:
            cand = [p for p in active if employed(p, m) and p.leave is None and p.book > 0]
            if cand:
                owner = rng.choice(cand)
                c = new_client(owner, m, m.first + timedelta(days=rng.randint(0, 20)),
                               rng.choice(["eff", "eff", "buy_eff", "small"]), rng.randint(5, 20))
                inv_plan.append((c, m))
    # investigation paths
    for c, m in inv_plan:
        path = rng.choice(["clear1", "clear1", "clear2", "malicious", "clear_ineff", "stay"])
        c.status[m] = "under_investigation"
        nxt = m.add(1)
        if path == "clear1":
            c.status[nxt] = "normal"
            heirs = [p for p in active if p.leave is None and employed(p, nxt) and p.id != c.owner[m]]
            if heirs and rng.random() < 0.3:
                c.owner[nxt] = rng.choice(heirs).id  # D9: counted for the owner at the end of the clearing month
                c.kind_new = "eff"
        elif path == "clear2":
            c.status[nxt] = "under_investigation"
            c.status[nxt.add(1)] = "normal"
        elif path == "malicious":
            c.status[nxt] = "malicious_confirmed"
            c.kind_new = c.kind_new + "+malicious"
        elif path == "clear_ineff":
            c.status[nxt] = "normal"
            c.kind_new = "clear_ineff"
        else:
            for k in range(1, 7):
                c.status[m.add(k)] = "under_investigation"
    # an old client under investigation for a month or two (a hold without D9)
    old = [c for c in clients.values() if c.kind_new == "old" and not c.si_client
           and people[c.owner[min(c.owner)]].leave is None]
    if old:
        c = rng.choice(old)
        i = rng.randint(0, n_months - 1)
        c.status[months[i]] = "under_investigation"
        end = rng.choice(["normal", "normal", "malicious_confirmed", "under_investigation"])
        if i + 1 < n_months:
            c.status[months[i + 1]] = end
            if end != "normal":
                for k in range(i + 2, n_months):
                    c.status[months[k]] = end
    # a leaver's client under investigation in the leave month, cleared after the leaving (release while gone)
    gone = [p for p in active if p.leave is not None and p.approved and Month.of(p.leave) < last]
    if gone and (long_run or rng.random() < 0.6):
        p = rng.choice(gone)
        mine = [c for c in clients.values() if c.kind_new == "old" and c.owner[min(c.owner)] == p.id]
        if mine:
            c = rng.choice(mine)
            lm = Month.of(p.leave)
            c.status[lm] = "under_investigation"
            c.status[lm.add(1)] = "normal"
            notes.append(f"hold-then-leave: {p.id} client {c.id} under investigation in {lm}, cleared {lm.add(1)}")
    # an old client confirmed malicious without an investigation first
    if len(old) > 3 and rng.random() < 0.4:
        c = rng.choice(old)
        i = rng.randint(0, n_months - 1)
        for k in range(i, n_months):
            c.status[months[k]] = "malicious_confirmed"

    def status(c: ClientSpec, m: Month) -> str:
        s = "normal"
        for k in sorted(c.status):
            if k <= m:
                s = c.status[k]
        return s

    # owners per month: a leaver's clients go to a colleague after the leave month
    def owner(c: ClientSpec, m: Month) -> str | None:
        o = None
        for k in sorted(c.owner):
            if k <= m:
                o = c.owner[k]
        if o is None:
            return None
        p = people[o]
        if p.leave is not None and Month.of(p.leave) < m:
            heirs = [q for q in active if q is not p and q.supervisor == p.supervisor and employed(q, m)
                     and q.leave is None] or [station_of(p)]
            heir = heirs[int(c.id) % len(heirs)]
            c.owner[m] = heir.id
            return heir.id
        return o

    # book multipliers (percent) per person and month, history included
    mult: dict[tuple[str, Month], int] = {}
    for p in active:
        v = 100
        for k in range(-3, n_months):
            m = first.add(k)
            mult[(p.id, m)] = max(5, v)
            v += p.drift + rng.randint(-3, 3)

    # history: who has which months; no roster grade (D2: the history grade), a gap, a blank latest grade
    hist_months = {p.id: rng.randint(1, 3) for p in active}
    plain_old = [p for p in active if p.role == "" and p.hire < first.add(-3).first and p.leave is None]
    gap_id = blank_id = None
    if plain_old and rng.random() < 0.6:
        gp = rng.choice(plain_old)
        gap_id = gp.id
        hist_months[gp.id] = 3
    if plain_old and rng.random() < 0.5:
        bp = rng.choice(plain_old)
        blank_id, bp.grade = bp.id, None
        hist_months[bp.id] = max(2, hist_months[bp.id])
    for p in active:
        if p.grade is not None and p.role == "" and p.hire < first.first and rng.random() < 0.15:
            p.grade = None  # D2: the grade of the latest history month
            hist_months[p.id] = max(1, hist_months[p.id])

    # another rule set (every parameter read from the YAML) and a second one from inside the run (D40)
    rules_dir = None
    tier2: set[str] = set()
    if seed % 5 == 3:
        rules_dir = out_dir.with_name(out_dir.name + "-rules")
        change = months[rng.randint(1, n_months - 1)]
        write_rule_sets(rules_dir, change)
        tier2 = {p.id for p in rng.sample(active, 2)}
        notes.append(f"rule sets: alt-a from 2024-01, alt-b from {change}; tier 2: {sorted(tier2)}")

    # --- write the months ---
    referred_first: list[list[str]] = []
    all_refs: list[list[str]] = []
    over_probation = rng.random() < 0.4
    override_g4 = rng.random() < 0.4
    carry_absent: dict[Month, list[str]] = {}
    for mi, m in enumerate(months):
        folder = out_dir / str(m)
        folder.mkdir(parents=True, exist_ok=True)
        wd = _wdays(m)

        # roster
        roster_rows = []
        for p in people.values():
            listed = p.listed_from if p.listed_from is not None else Month.of(p.hire)
            if p.pre_ledger:
                if mi != 0:
                    continue
            elif not (listed <= m and (p.leave is None or Month.of(p.leave) >= m)):
                continue
            qual = p.qual if (p.qual and (p.qual_from is None or p.qual_from <= m)) else None
            position, since = p.position, p.position_since
            for k in sorted(p.positions):
                if k <= m:
                    position, since = p.positions[k]
            approved = "" if p.leave is None else ("false" if not p.approved else ("" if int(p.id) % 2 else "true"))
            roster_rows.append([
                p.id, p.name, position, str(since or ""), p.supervisor or "", "项目部", "网点",
                str(p.hire), str(p.leave or ""), approved,
                str(qual or ""), p.contract, p.grade or "", "2" if p.id in tier2 else rng.choice(["", "1"]),
                money(p.si_base) if p.si_base else "", f"62220{p.id}", ""])
        _write(folder, "roster", ["manager_id", "name", "position", "position_since", "supervisor_id", "project",
                                  "station", "hire_date", "leave_date", "leave_approved", "qualification_date",
                                  "contract", "grade", "tier", "si_base", "bank_account", "id_number"], roster_rows)
        on_roster = {r[0] for r in roster_rows}

        # clients, assets, trades, fund sales
        c_rows, a_rows, t_rows, f_rows = [], [], [], []
        for c in clients.values():
            if c.open_date > m.last:
                continue
            o = owner(c, m)
            if o is None or o not in on_roster:
                continue
            st = status(c, m)
            c_rows.append([c.id, o, str(c.open_date), c.kind, st])
            opening = Month.of(c.open_date) == m
            op = people[c.owner[min(c.owner)]]
            buys: list[tuple[str, str, int]] = []   # product, side, fen
            kn = c.kind_new.split("+")[0]
            if kn == "old":
                base = max(op.book, 100_000)
                tot_w = sum(x.weight for x in clients.values() if x.kind_new == "old"
                            and x.owner[min(x.owner)] == op.id) or 1
                avg = base * 100 * c.weight // tot_w * mult.get((op.id, m), 100) // 100
                avg += rng.randint(-avg // 20 - 1, avg // 20 + 1)
                avg = max(0, avg)
                end = max(0, avg + rng.randint(-avg // 10 - 1, avg // 10 + 1))
                if rng.random() < 0.7:
                    for _ in range(rng.randint(1, 3)):
                        buys.append((rng.choice(PRODUCTS), rng.choice(["buy", "sell"]),
                                     max(10000, avg * rng.randint(10, 150) // 100)))
            else:
                size = {"eff": rng.randint(5_000_000, 300_000_000), "small": rng.randint(0, 500_000),
                        "buy_eff": rng.randint(0, 400_000), "exact": 500_000,
                        "ipo": rng.randint(3_000_000, 40_000_000), "big_inst": rng.randint(3_000_000_000, 4_000_000_000),
                        "clear_ineff": rng.randint(600_000, 20_000_000)}[kn]
                if kn == "clear_ineff" and st == "normal" and status(c, m.add(-1)) != "normal":
                    size = rng.randint(0, 500_000)  # not effective in its clearing month: never counted
                end = size
                avg = size * rng.randint(30, 100) // 100
                if kn == "buy_eff" and opening:
                    buys.append(("stock", "buy", 500_001 + rng.randint(0, 2_000_000)))
                elif kn == "exact" and opening:
                    buys.append(("stock", "buy", 300_000))
                    buys.append(("fund_open", "buy", 200_000))  # 5000.00 together: not above
                    buys.append(("bond", "buy", 900_000))
                elif kn == "ipo" and opening:
                    buys.append(("ipo_subscription", "buy", size * rng.randint(60, 200) // 100))
                    buys.append(("stock", "buy", size * rng.randint(5, 80) // 100))
                    buys.append(("fund_open", "sell", size * rng.randint(5, 30) // 100))
                elif kn == "small" and opening and rng.random() < 0.5:
                    buys.append(("stock", "buy", rng.choice([100_000, 450_000, 500_000])))
                    buys.append(("fund_closed", "buy", 800_000))
                elif rng.random() < 0.6:
                    for _ in range(rng.randint(1, 3)):
                        buys.append((rng.choice(PRODUCTS), rng.choice(["buy", "sell"]),
                                     max(10000, max(end, 1_000_000) * rng.randint(5, 80) // 100)))
            eq = end * rng.randint(30, 90) // 100
            if rng.random() < 0.05 and not c.si_client:
                pass  # no assets row: zero assets (D5)
            else:
                a_rows.append([c.id, money(avg), money(end), money(eq) if rng.random() < 0.95 else ""])
            for prod, side, fen in buys:
                rate = LOW_RATE if people[o].low_rate else rng.choice(RATES)
                t_rows.append([str(rng.choice(wd)), c.id, prod, side, money(fen), rate])
            if rng.random() < 0.06:
                amt = rng.randint(100_000, 10_000_000)
                f_rows.append([c.id, str(rng.choice(wd)), f"{rng.randint(0, 999999):06d}", money(amt),
                               money(amt * rng.randint(2, 15) // 1000)])
        _write(folder, "clients", ["client_id", "manager_id", "open_date", "kind", "status"], c_rows)
        _write(folder, "assets", ["client_id", "avg_assets", "end_assets", "equity_assets"], a_rows)
        t_rows.sort()
        _write(folder, "trades", ["trade_date", "client_id", "product", "side", "turnover", "commission_rate"],
               t_rows)
        if f_rows:
            _write(folder, "fund_sales", ["client_id", "sale_date", "product_code", "amount",
                                          "commission_income"], f_rows)

        settled = [p for p in active if employed(p, m)]
        # attendance
        att = []
        for p in settled:
            days = _wdays(m, p.hire, p.leave)
            rng.shuffle(days)
            pool = iter(days)

            def day() -> str | None:
                d = next(pool, None)
                return str(d) if d else None

            r = rng.random()
            if r < 0.25 and (d := day()):
                att.append([p.id, d, rng.choice(["late", "early_leave"]), rng.choice(["", "1"]), ""])
            if rng.random() < 0.2 and (d := day()):
                att.append([p.id, d, "personal_leave", rng.choice(["1", "0.5"]), ""])
            if rng.random() < 0.15:
                n_sick = rng.choice([1, 2, 4, 5])
                proof = rng.random() < 0.6
                for _ in range(n_sick):
                    if d := day():
                        att.append([p.id, d, "sick_leave", rng.choice(["1", "1", "0.5"]),
                                    "true" if proof or rng.random() < 0.2 else rng.choice(["", "false"])])
            if rng.random() < 0.08 and (d := day()):
                att.append([p.id, d, "absent", rng.choice(["1", "0.5"]), ""])
            if rng.random() < 0.05 and (d := day()):
                att.append([p.id, d, "work_injury", "1", ""])
            if rng.random() < 0.2:
                nw = [x for x in _nonwork(m) if x >= p.hire and (p.leave is None or x <= p.leave)]
                if nw:
                    att.append([p.id, str(rng.choice(nw)), "promo_duty", rng.choice(["1", "0.5"]), ""])
        # designed: three consecutive working days absent (A5, A4 >= 2 days)
        absentees = [x for x in settled if x.leave is None and x.hire <= m.first]
        if rng.random() < 0.5 and absentees:
            p = rng.choice(absentees)
            used = {(a[0], a[1]) for a in att}
            wds = _wdays(m)
            s = rng.randint(0, len(wds) - 4)
            run = wds[s:s + 3]
            if all((p.id, str(d)) not in used for d in run):
                att.extend([p.id, str(d), "absent", "1", ""] for d in run)
        # a run broken by a half day; a run across the month end (D30: only inside M)
        wds = _wdays(m)
        for pid in carry_absent.pop(m, []):
            if any(a[0] == pid for a in att) or pid not in {x.id for x in settled}:
                continue
            att.append([pid, str(wds[0]), "absent", "1", ""])
        absentees = [x for x in settled if x.leave is None and x.hire <= m.first
                     and not any(a[0] == x.id for a in att)]
        if absentees and rng.random() < 0.4:
            p = absentees.pop(rng.randrange(len(absentees)))
            s0 = rng.randint(0, len(wds) - 4)
            att += [[p.id, str(wds[s0]), "absent", "1", ""], [p.id, str(wds[s0 + 1]), "absent", "0.5", ""],
                    [p.id, str(wds[s0 + 2]), "absent", "1", ""]]
        if absentees and rng.random() < 0.4 and mi < n_months - 1:
            p = absentees.pop(rng.randrange(len(absentees)))
            if p.leave is None:
                att += [[p.id, str(wds[-2]), "absent", "1", ""], [p.id, str(wds[-1]), "absent", "1", ""]]
                carry_absent.setdefault(m.add(1), []).append(p.id)
        # designed attendance edge cases (D12, D28, D29)
        quiet = [x for x in settled if x.leave is None and x.hire <= m.first
                 and not any(a[0] == x.id for a in att)]
        rng.shuffle(quiet)
        for case in ("two_halves", "late_half", "one_and_halves", "sick3", "zero_score"):
            if not quiet or rng.random() < 0.5:
                continue
            p = quiet.pop()
            ds = [str(d) for d in rng.sample(_wdays(m), 5)]
            if case == "two_halves":  # 1.0 day in two rows: 2 + 2 daily rates, below the whole-P2 line
                att += [[p.id, ds[0], "absent", "0.5", ""], [p.id, ds[1], "absent", "0.5", ""]]
            elif case == "late_half":  # a late row is one occurrence whatever its days
                att += [[p.id, ds[0], "late", "0.5", ""], [p.id, ds[1], "early_leave", "1", ""]]
            elif case == "one_and_halves":  # 2.0 days: the whole P2
                att += [[p.id, ds[0], "absent", "1", ""], [p.id, ds[1], "absent", "0.5", ""],
                        [p.id, ds[2], "absent", "0.5", ""]]
            elif case == "sick3":  # three proven days (free) and one without proof (personal leave)
                att += [[p.id, d, "sick_leave", "1", "true"] for d in ds[:3]]
                att.append([p.id, ds[3], "sick_leave", "1", "false"])
            else:  # management score floored at 0, A1 not capped: gross may go negative
                att += [[p.id, d, "late", "", ""] for d in ds]
                notes.append(f"zero score: {p.id} in {m}")
        # designed: personal leave over the year cap, absences near the yearly count
        att.sort(key=lambda a: (a[0], a[1]))
        if att:
            _write(folder, "attendance", ["manager_id", "date", "code", "days", "proof"], att)

        # management
        mg = []
        for p in settled:
            for _ in range(rng.choice([0, 0, 0, 1, 2])):
                mg.append([p.id, str(rng.choice(wd)), rng.choice(["no_promotion", "meeting_not_held", "report_late",
                                                                  "dress_code", "left_post", "complaint"]), ""])
        for note in notes:
            if note.startswith("zero score: ") and note.endswith(f" in {m}"):
                pid = note.split()[2]
                mg += [[pid, str(d), "complaint", ""] for d in rng.sample(wd, 6)]
        if mg:
            _write(folder, "management", ["manager_id", "date", "kind", "note"], mg)

        # penalties
        pens = []
        for p in settled:
            r = rng.random()
            d = str(rng.choice(wd))
            if long_run and p is leaver and p.leave and Month.of(p.leave) == m:  # a shortfall carried to the refund
                pens.append([p.id, d, "loss_compensation", money(rng.randint(400_000, 900_000)), "", "", ""])
            if r < 0.06:
                pens.append([p.id, d, "discretionary_trading", "", "", "", ""])
            elif r < 0.12:
                pens.append([p.id, d, "business_error", money(rng.choice([10000, 100000, 35000, 77777])), "", "", ""])
            elif r < 0.16:
                pens.append([p.id, d, "loss_compensation", money(rng.randint(1, 300000)), "", "", ""])
            elif r < 0.19:
                pens.append([p.id, d, "risk_fund_forfeit", rng.choice(["", money(rng.randint(1000, 800000))]), "",
                             "", ""])
            elif r < 0.21:
                pens.append([p.id, d, "dispute", "", "", "", ""])
        for p in active:  # D6: for someone who has left only dispute / dispute_closed count
            if p.leave is not None and Month.of(p.leave) < m and rng.random() < 0.3:
                pens.append([p.id, str(rng.choice(wd)), rng.choice(["business_error", "risk_fund_forfeit"]), "500.00",
                             "", "", "after leaving"])
        for c in clients.values():  # confirmed malicious: the fine or the dismissal (X2)
            if status(c, m) == "malicious_confirmed" and status(c, m.add(-1)) != "malicious_confirmed":
                o = owner(c, m)
                if o in on_roster and employed(people[o], m):
                    pens.append([o, str(rng.choice(wd)), "malicious_account", "", c.id,
                                 rng.choice(["general", "general", "serious"]), ""])
        if mi == 0 and rng.random() < 0.5:  # discretionary: the first ever and a later one
            p = rng.choice(settled)
            pens.append([p.id, str(wd[0]), "discretionary_trading", "", "", "", ""])
            pens.append([p.id, str(wd[-1]), "discretionary_trading", "", "", "", ""])
        # disputes of the leaver before the ledger: postpone the refund
        if pre.id and j > 0 and seed % 2 == 0:
            if mi == max(0, j - 1):
                pens.append([pre.id, str(wd[1]), "dispute", "", "", "", "refund disputed"])
            if mi == j + 1:
                pens.append([pre.id, str(wd[2]), "dispute_closed", "", "", "", ""])
        if pens:
            _write(folder, "penalties", ["manager_id", "date", "kind", "amount", "client_id", "severity", "note"],
                   pens)

        # referrals
        refs = []
        if mi == 0:
            mgrs = [p for p in marketers if employed(p, m) and p.grade and RANK[p.grade] >= RANK["manager"]]
            if mgrs:
                refs.append([sms[0].id, mgrs[0].id, str(first.add(-rng.randint(3, 20)).first)])
            if employed(mover, m) and mover.grade == "assistant":
                refs.append([rm.id, mover.id, str(first.add(-4).first.replace(day=11))])
        if mi == 1:
            tt = [t for t in trainees if employed(t, m)]
            if tt:
                refs.append([busy.id, tt[0].id, str(m.first)])
            if referred_first and rng.random() < 0.5:  # listed again: paid once
                refs.append(referred_first[0])
        if mi == n_months - 1 or (mi == 1 and rng.random() < 0.5):  # dated inside the month (P9-month)
            taken = {r[1] for r in all_refs} | {r[1] for r in refs}
            cand = [p for p in marketers if employed(p, m) and p.id not in taken and p.grade
                    and RANK[p.grade] >= RANK["manager"] and p.leave is None]
            if cand:
                refs.append([sms[-1].id, cand[0].id, str(m.first + timedelta(days=rng.randint(1, 25)))])
        refs = [r for r in refs if r[0] in on_roster and r[1] in on_roster]
        if mi == 0:
            referred_first.extend(refs[:1])
        all_refs.extend(refs)
        if refs:
            _write(folder, "referrals", ["referrer_id", "referred_id", "date"], refs)

        # deductions
        ded = [[p.id, money(rng.choice([100000, 200000, 300000, 450000]))] for p in settled if rng.random() < 0.4]
        if ded:
            _write(folder, "deductions", ["manager_id", "amount"], ded)

        # grade overrides
        ovr = []
        if mi == n_months // 2 and rng.random() < 0.7:
            cand = [p for p in settled if p.leave is None]
            p = rng.choice(cand)
            ovr.append([p.id, rng.choice(GRADES[1:]), "branch manager", "approved exception"])
        if override_g4 and mi == 0 and all(o[0] != slacker.id for o in ovr):  # D17: flags still raised
            ovr.append([slacker.id, "manager", "branch manager", "kept despite the scores"])
        if over_probation and ta in settled and Month.of(ta.hire).add(1) == m and all(o[0] != ta.id for o in ovr):
            ovr.append([ta.id, "assistant", "branch manager", "early conversion approved"])
        if ovr:
            _write(folder, "grade_overrides", ["manager_id", "grade", "approved_by", "reason"], ovr)

        if mi == 0:
            # history
            hrows = []

            for p in active:
                if p.hire > first.first:
                    continue
                for k in range(hist_months[p.id], 0, -1):
                    hm = first.add(-k)
                    if Month.of(p.hire) > hm:
                        continue
                    if p.id == gap_id and k == 2:
                        continue  # a gap in the history (D4: the months before it that exist)
                    hist_book = max(p.book, 0) * mult[(p.id, hm)] // 100
                    if p.role == "G2":
                        hist_book = 3_150_000
                    elif p.role == "G3":
                        hist_book = 5_700_000
                    score = rng.randint(3000, 14000)
                    if p.role == "G4":
                        score = rng.randint(1000, 5900)
                    if p.grade == "trainee" and p.role == "TRAINEE_HIST":
                        score = rng.choice([rng.randint(9000, 16000), rng.randint(3000, 9000)])
                    hg = p.grade if rng.random() < 0.85 else rng.choice(["", *GRADES])
                    if k == 1 and p.role in ("G2", "G3", "G4"):
                        hg = p.grade
                    if p.id == blank_id:
                        hg = "" if k == 1 else "manager"  # D2 with no roster grade: the latest history month's
                    hrows.append([str(hm), p.id, hg or "", money(hist_book * 100 + rng.randint(0, 99)),
                                  str(rng.randint(0, 8)), money(rng.randint(0, 300_000_000)),
                                  "" if rng.random() < 0.08 and p.role not in ("G4", "TRAINEE_HIST")
                                  else f"{score // 10000}.{score % 10000:04d}"])
            # a history row for the settled month or later: ignored (D4)
            hrows.append([str(first), rm.id, "trainee", "1.00", "0", "0.00", "0.0100"])
            _write(folder, "history", ["month", "manager_id", "grade", "avg_assets", "ea", "nmv", "score_raw"], hrows)
            # opening
            orows = []
            for p in people.values():
                if p.hire > first.first and not p.pre_ledger:
                    continue
                cap = {"marketer": 1_000_000, "station_manager": 2_000_000, "regional_manager": 3_000_000}[p.position]
                bal = rng.choice([cap, cap - rng.randint(1, 50_000), rng.randint(0, cap), 0])
                if p.pre_ledger:
                    bal = 0 if p.role == "PRE_LEAVER_ZERO" else rng.randint(100_000, 900_000)
                carry = rng.choice([0, 0, 0, 185_040, 432_000, rng.randint(1, 50_000)])
                months_before = first.month - 1
                ytd_taxable = sum(rng.randint(-300_000, 2_500_000) for _ in range(months_before))
                ytd_tax = 0
                if ytd_taxable > 0:
                    ytd_tax = ytd_taxable * 3 // 100 if ytd_taxable <= 3_600_000 else ytd_taxable // 10 - 252_000
                pl = rng.choice([0, 0, 100, 1800, 2000, 1950])
                ab = rng.choice([0, 0, 0, 350, 400, 100])
                dc = rng.choice([0, 0, 0, 1])
                orows.append([p.id, money(bal), money(carry), money(ytd_taxable), money(ytd_tax), str(months_before),
                              money(pl), money(ab), str(dc)])
            _write(folder, "opening", ["manager_id", "risk_fund_balance", "excess_carry", "ytd_taxable", "ytd_tax",
                                       "ytd_months", "personal_leave_days_ytd", "absent_days_ytd",
                                       "discretionary_count"], orows)

    for p in people.values():
        notes.append(f"{p.id} {p.position} sup={p.supervisor} grade={p.grade} hire={p.hire} leave={p.leave} "
                     f"approved={p.approved} contract={p.contract} role={p.role}")
    return Scenario(seed, first, last, people, notes, rules_dir)


if __name__ == "__main__":  # python -m tests.reference.scenario SEED OUT
    import sys

    sc = generate(int(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(sc.notes))
