"""Immutable input records of one month (DATA.md), each knowing where it came from.

Small tables become tuples of frozen records; the large ones (clients, assets, trades, fund_sales)
stay pandas DataFrames with validated, typed columns: amounts as ``Decimal`` objects, dates as
``datetime.date``, ids and codes as ``str``. Every DataFrame row keeps its spreadsheet row in ``_row``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pandas as pd

from cmsettle.months import Month

GRADES = ("trainee", "assistant", "manager", "senior", "chief")
POSITIONS = ("marketer", "station_manager", "regional_manager")
CONTRACTS = ("employee", "agent")
CLIENT_KINDS = ("individual", "institution")
CLIENT_STATUSES = ("normal", "under_investigation", "malicious_confirmed")
PRODUCTS = ("stock", "fund_open", "fund_closed", "bond", "ipo_subscription", "other")
SIDES = ("buy", "sell")
ATTENDANCE_CODES = ("late", "early_leave", "personal_leave", "sick_leave", "absent", "work_injury", "promo_duty")
MANAGEMENT_KINDS = ("no_promotion", "meeting_not_held", "report_late", "dress_code", "left_post", "complaint")
PENALTY_KINDS = (
    "discretionary_trading", "malicious_account", "business_error", "loss_compensation",
    "risk_fund_forfeit", "dispute", "dispute_closed",
)
SEVERITIES = ("general", "serious")


@dataclass(frozen=True)
class Source:
    file: str
    row: int  # as a spreadsheet shows it: the header is row 1


@dataclass(frozen=True)
class RosterRow:
    manager_id: str
    name: str
    position: str
    hire_date: date
    position_since: date | None = None
    supervisor_id: str | None = None
    project: str | None = None
    station: str | None = None
    leave_date: date | None = None
    leave_approved: bool = True
    qualification_date: date | None = None
    contract: str = "employee"
    grade: str | None = None
    tier: int = 1
    si_base: Decimal | None = None
    bank_account: str | None = None
    id_number: str | None = None
    src: Source | None = None


@dataclass(frozen=True)
class AttendanceRow:
    manager_id: str
    date: date
    code: str
    days: Decimal
    proof: bool = False
    src: Source | None = None


@dataclass(frozen=True)
class ManagementRow:
    manager_id: str
    date: date
    kind: str
    note: str | None = None
    src: Source | None = None


@dataclass(frozen=True)
class PenaltyRow:
    manager_id: str
    date: date
    kind: str
    amount: Decimal | None = None
    client_id: str | None = None
    severity: str | None = None
    note: str | None = None
    src: Source | None = None


@dataclass(frozen=True)
class ReferralRow:
    referrer_id: str
    referred_id: str
    date: date
    src: Source | None = None


@dataclass(frozen=True)
class DeductionRow:
    manager_id: str
    amount: Decimal
    src: Source | None = None


@dataclass(frozen=True)
class OverrideRow:
    manager_id: str
    grade: str
    approved_by: str
    reason: str
    src: Source | None = None


@dataclass(frozen=True)
class HistoryRow:
    month: Month
    manager_id: str
    grade: str | None
    avg_assets: Decimal
    ea: Decimal
    nmv: Decimal
    score_raw: Decimal | None
    src: Source | None = None


@dataclass(frozen=True)
class OpeningRow:
    manager_id: str
    risk_fund_balance: Decimal = Decimal(0)
    excess_carry: Decimal = Decimal(0)
    ytd_taxable: Decimal = Decimal(0)
    ytd_tax: Decimal = Decimal(0)
    ytd_months: int = 0
    personal_leave_days_ytd: Decimal = Decimal(0)
    absent_days_ytd: Decimal = Decimal(0)
    discretionary_count: int = 0
    src: Source | None = None


@dataclass(frozen=True)
class InputFile:
    """One file read for the month: its table name, path, rows and sha256 (manifest, report)."""

    table: str
    path: str
    rows: int
    sha256: str
    encoding: str | None = None


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


CLIENT_COLUMNS = ["client_id", "manager_id", "open_date", "kind", "status"]
ASSET_COLUMNS = ["client_id", "avg_assets", "end_assets", "equity_assets"]
TRADE_COLUMNS = ["trade_date", "client_id", "product", "side", "turnover", "commission_rate"]
FUND_SALE_COLUMNS = ["client_id", "sale_date", "product_code", "amount", "commission_income"]


@dataclass(frozen=True)
class MonthInputs:
    """Everything one month folder holds, validated. Optional tables are empty when absent."""

    month: Month
    roster: tuple[RosterRow, ...]
    clients: pd.DataFrame = field(default_factory=lambda: _empty(CLIENT_COLUMNS))
    assets: pd.DataFrame = field(default_factory=lambda: _empty(ASSET_COLUMNS))
    trades: pd.DataFrame = field(default_factory=lambda: _empty(TRADE_COLUMNS))
    fund_sales: pd.DataFrame = field(default_factory=lambda: _empty(FUND_SALE_COLUMNS))
    attendance: tuple[AttendanceRow, ...] = ()
    management: tuple[ManagementRow, ...] = ()
    penalties: tuple[PenaltyRow, ...] = ()
    referrals: tuple[ReferralRow, ...] = ()
    deductions: tuple[DeductionRow, ...] = ()
    overrides: tuple[OverrideRow, ...] = ()
    history: tuple[HistoryRow, ...] = ()
    opening: tuple[OpeningRow, ...] = ()
    files: tuple[InputFile, ...] = ()
    warnings: tuple[str, ...] = ()
