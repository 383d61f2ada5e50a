"""The input tables of DATA.md as data: which files, which columns, their types, codes and defaults.

Nothing here reads files or checks values; :mod:`cmsettle.inputs.validate` interprets these specs.
Header and value aliases (the Chinese names) live in ``cmsettle/config/aliases.yaml``, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cmsettle import model

# Value types a column can have (see validate._PARSERS).
ID = "id"            # text that identifies something: leading zeros kept, 1001.0 from a spreadsheet -> "1001"
TEXT = "text"        # free text
CODE = "code"        # one of a fixed list of codes, with value aliases of `codes`
DATE = "date"
AMOUNT = "amount"    # Decimal
BOOL = "bool"
INT = "int"
DAYS = "days"        # Decimal 1 or 0.5
MONTH = "month"      # a Month (history)

# Sign constraints on amounts.
NONNEG = "nonneg"    # >= 0
POSITIVE = "positive"  # > 0
RATE = "rate"        # 0 <= x < 1

# Date range checks against the month being settled.
IN_MONTH = "in_month"
NOT_AFTER_MONTH = "not_after_month"


@dataclass(frozen=True)
class Col:
    name: str
    type: str
    header: bool = True       # the column must be in the file
    value: bool = True        # every row needs a value (a blank takes `default` when False)
    default: object = None
    codes: str | None = None  # CODE: the value-alias kind in aliases.yaml, and a key of CODES
    sign: str | None = None   # AMOUNT/INT: NONNEG, POSITIVE or RATE
    dates: str | None = None  # DATE: IN_MONTH or NOT_AFTER_MONTH


def opt(name: str, type_: str, default: object = None, **kw: object) -> Col:
    """A column that may be absent from the file; a blank value takes the default."""
    return Col(name, type_, header=False, value=False, default=default, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    columns: tuple[Col, ...]
    unique: str | None = None        # a column whose values must not repeat
    first_ledger_month_only: bool = False

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


# The allowed codes of each CODE kind; the tuples come from the model.
CODES: dict[str, tuple[str, ...]] = {
    "position": model.POSITIONS,
    "contract": model.CONTRACTS,
    "grade": model.GRADES,
    "client_kind": model.CLIENT_KINDS,
    "client_status": model.CLIENT_STATUSES,
    "product": model.PRODUCTS,
    "side": model.SIDES,
    "attendance_code": model.ATTENDANCE_CODES,
    "management_kind": model.MANAGEMENT_KINDS,
    "penalty_kind": model.PENALTY_KINDS,
    "severity": model.SEVERITIES,
}

_0 = Decimal(0)

TABLES: tuple[Table, ...] = (
    Table("roster", True, (
        Col("manager_id", ID),
        Col("name", TEXT),
        Col("position", CODE, codes="position"),
        opt("position_since", DATE),
        opt("supervisor_id", ID),
        opt("project", TEXT),
        opt("station", TEXT),
        Col("hire_date", DATE),  # D1: a later hire is not settled yet, not an error
        opt("leave_date", DATE),
        opt("leave_approved", BOOL, True),
        opt("qualification_date", DATE),
        opt("contract", CODE, "employee", codes="contract"),
        opt("grade", CODE, codes="grade"),
        opt("tier", INT, 1, sign=POSITIVE),
        opt("si_base", AMOUNT, sign=NONNEG),
        opt("bank_account", ID),
        opt("id_number", ID),
    ), unique="manager_id"),
    Table("clients", True, (
        Col("client_id", ID),
        Col("manager_id", ID),
        Col("open_date", DATE, dates=NOT_AFTER_MONTH),
        opt("kind", CODE, "individual", codes="client_kind"),
        opt("status", CODE, "normal", codes="client_status"),
    ), unique="client_id"),
    Table("assets", True, (
        Col("client_id", ID),
        Col("avg_assets", AMOUNT, sign=NONNEG),
        Col("end_assets", AMOUNT, sign=NONNEG),
        opt("equity_assets", AMOUNT, _0, sign=NONNEG),
    ), unique="client_id"),
    Table("trades", True, (
        Col("trade_date", DATE, dates=IN_MONTH),
        Col("client_id", ID),
        Col("product", CODE, codes="product"),
        Col("side", CODE, codes="side"),
        Col("turnover", AMOUNT, sign=NONNEG),
        Col("commission_rate", AMOUNT, sign=RATE),
    )),
    Table("fund_sales", False, (
        Col("client_id", ID),
        Col("sale_date", DATE, dates=IN_MONTH),
        Col("product_code", ID),
        Col("amount", AMOUNT, sign=NONNEG),
        Col("commission_income", AMOUNT, sign=NONNEG),
    )),
    Table("attendance", False, (
        Col("manager_id", ID),
        Col("date", DATE, dates=IN_MONTH),
        Col("code", CODE, codes="attendance_code"),
        Col("days", DAYS, value=False),  # blank allowed for late / early_leave only (checked per row)
        opt("proof", BOOL, False),
    )),
    Table("management", False, (
        Col("manager_id", ID),
        Col("date", DATE, dates=IN_MONTH),
        Col("kind", CODE, codes="management_kind"),
        opt("note", TEXT),
    )),
    Table("penalties", False, (
        Col("manager_id", ID),
        Col("date", DATE, dates=IN_MONTH),
        Col("kind", CODE, codes="penalty_kind"),
        opt("amount", AMOUNT, sign=NONNEG),  # per-kind rules in validate
        opt("client_id", ID),
        opt("severity", CODE, codes="severity"),
        opt("note", TEXT),
    )),
    Table("referrals", False, (
        Col("referrer_id", ID),
        Col("referred_id", ID),
        Col("date", DATE),
    )),
    Table("deductions", False, (
        Col("manager_id", ID),
        Col("amount", AMOUNT, sign=NONNEG),
    ), unique="manager_id"),
    Table("grade_overrides", False, (
        Col("manager_id", ID),
        Col("grade", CODE, codes="grade"),
        Col("approved_by", TEXT),
        Col("reason", TEXT),
    )),
    Table("history", False, (
        Col("month", MONTH),
        Col("manager_id", ID),
        Col("grade", CODE, value=False, codes="grade"),
        Col("avg_assets", AMOUNT, sign=NONNEG),
        Col("ea", AMOUNT, sign=NONNEG),
        Col("nmv", AMOUNT, sign=NONNEG),
        Col("score_raw", AMOUNT, value=False),  # may be negative: NR may be (D10)
    ), first_ledger_month_only=True),
    Table("opening", False, (
        Col("manager_id", ID),
        opt("risk_fund_balance", AMOUNT, _0, sign=NONNEG),
        opt("excess_carry", AMOUNT, _0, sign=NONNEG),
        opt("ytd_taxable", AMOUNT, _0),  # may be negative (D38)
        opt("ytd_tax", AMOUNT, _0, sign=NONNEG),
        opt("ytd_months", INT, 0, sign=NONNEG),
        opt("personal_leave_days_ytd", AMOUNT, _0, sign=NONNEG),
        opt("absent_days_ytd", AMOUNT, _0, sign=NONNEG),
        opt("discretionary_count", INT, 0, sign=NONNEG),
    ), unique="manager_id", first_ledger_month_only=True),
)

TABLE_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

# The four large tables stay DataFrames; their columns are the model's.
FRAME_COLUMNS: dict[str, list[str]] = {
    "clients": model.CLIENT_COLUMNS,
    "assets": model.ASSET_COLUMNS,
    "trades": model.TRADE_COLUMNS,
    "fund_sales": model.FUND_SALE_COLUMNS,
}
