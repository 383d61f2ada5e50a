"""Month-to-month state (the ledger's content), as immutable values.

``LedgerState`` is what the close of one month leaves for the next: per-person balances and
counters, the last months' metric records (A3, the two-month grade rules, probation, G6, T3, T4),
open holds (X2, X5), clients waiting to count (D9) and referrals not yet paid (P9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from cmsettle.money import ZERO
from cmsettle.months import Month

#: How many months of metric records a state keeps: A3 of M-1 reaches back to M-3.
RECORD_MONTHS = 3


@dataclass(frozen=True)
class MonthRecord:
    """One manager's metrics in one month: from `history` (before the ledger) or a settled month."""

    month: Month
    manager_id: str
    grade: str | None  # grade in effect that month (history: may be blank)
    avg_assets: Decimal
    ea: Decimal
    nmv: Decimal
    score_raw: Decimal | None
    position: str | None = None
    supervisor_id: str | None = None
    source: str = "ledger"  # "ledger" or "history"


@dataclass(frozen=True)
class Hold:
    """Income held (X2: a month's fixed pay while a client is investigated; X5: an unapproved leaver)."""

    manager_id: str
    month: Month
    kind: str  # "X2" or "X5"
    amount: Decimal
    clients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Referral:
    referred_id: str
    referrer_id: str
    date: date


@dataclass(frozen=True)
class Person:
    """Balances and counters of one person after the latest month they were settled in."""

    manager_id: str
    name: str = ""
    position: str = "marketer"
    contract: str = "employee"
    grade_next: str | None = None  # decided at the close of last_month (D2)
    last_month: Month | None = None
    excess_carry: Decimal = ZERO  # P5
    risk_fund_balance: Decimal = ZERO  # F1-F3
    tax_year: int | None = None  # TX2/TX3, D40
    ytd_taxable: Decimal = ZERO
    ytd_tax: Decimal = ZERO
    counter_year: int | None = None  # A2 cap, A5, D30, D40
    personal_leave_days_ytd: Decimal = ZERO
    absent_days_ytd: Decimal = ZERO
    discretionary_count: int = 0  # X1, D31
    deduction_carry: Decimal = ZERO  # N3 (positive: owed by the person)
    open_disputes: int = 0  # F3, D36
    leave_month: Month | None = None
    leave_approved: bool = True
    refund_due: Month | None = None  # F3: leave month + 6 while a balance is owed
    hire_date: date | None = None


@dataclass(frozen=True)
class LedgerState:
    first_month: Month | None = None
    last_month: Month | None = None
    persons: dict[str, Person] = field(default_factory=dict)
    records: dict[tuple[str, Month], MonthRecord] = field(default_factory=dict)
    holds: tuple[Hold, ...] = ()
    pending_clients: frozenset[str] = frozenset()  # D9: excluded in their opening month, not yet counted
    referrals: dict[str, Referral] = field(default_factory=dict)  # unpaid, by referred id
    paid_referrals: frozenset[str] = frozenset()  # referred ids already paid (P9: once)

    def record(self, manager_id: str, month: Month) -> MonthRecord | None:
        return self.records.get((manager_id, month))
