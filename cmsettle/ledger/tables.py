"""The ledger's tables (SQLAlchemy Core). Schema changes go through Alembic (cmsettle/migrations).

Amounts are stored as exact decimal text (``DecimalText``): SQLite has no exact decimal type, and a
float must never touch an amount. Every state table is keyed by the run that produced it, so each
month revision keeps its full closing state and a draft re-run replaces exactly its own rows.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    Boolean, Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


def decimal_text(value: Decimal | None) -> str | None:
    """How an amount is stored: its exact decimal text; anything but a Decimal (a float!) is refused."""
    if value is None:
        return None
    if not isinstance(value, Decimal):
        raise TypeError(f"amount {value!r} must be a Decimal")
    return format(value, "f")


class DecimalText(TypeDecorator):
    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        return decimal_text(value)

    def process_result_value(self, value, dialect):  # noqa: ANN001
        return None if value is None else Decimal(value)


metadata = MetaData()


def _run_fk() -> Column:
    return Column("run_id", Integer, ForeignKey("month_run.id", ondelete="CASCADE"), nullable=False, index=True)


month_run = Table(
    "month_run", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("month", String(7), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # draft, closed, superseded
    Column("mode", String(16), nullable=False, default="month"),  # month or simulate
    Column("rule_set_id", String(200), nullable=False),
    Column("rule_set_sha256", String(64), nullable=False),
    Column("manifest_sha256", String(64)),
    Column("run_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("reopen_reason", Text),
    Column("output_dir", Text),
    UniqueConstraint("month", "revision", name="uq_month_revision"),
)

signature = Table(
    "signature", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("role", String(32), nullable=False),
    Column("signer", String(200), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("signature", Text, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    UniqueConstraint("run_id", "role", name="uq_run_role"),
)

signer_key = Table(
    "signer_key", metadata,
    Column("name", String(200), primary_key=True),
    Column("public_key", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

person_state = Table(
    "person_state", metadata,
    _run_fk(),
    Column("manager_id", String(64), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("position", String(32), nullable=False),
    Column("contract", String(16), nullable=False),
    Column("grade_next", String(16)),
    Column("last_month", String(7)),
    Column("excess_carry", DecimalText, nullable=False),
    Column("risk_fund_balance", DecimalText, nullable=False),
    Column("tax_year", Integer),
    Column("ytd_taxable", DecimalText, nullable=False),
    Column("ytd_tax", DecimalText, nullable=False),
    Column("counter_year", Integer),
    Column("personal_leave_days_ytd", DecimalText, nullable=False),
    Column("absent_days_ytd", DecimalText, nullable=False),
    Column("discretionary_count", Integer, nullable=False),
    Column("deduction_carry", DecimalText, nullable=False),
    Column("open_disputes", Integer, nullable=False),
    Column("leave_month", String(7)),
    Column("leave_approved", Boolean, nullable=False),
    Column("refund_due", String(7)),
    Column("hire_date", String(10)),
)

metric_record = Table(
    "metric_record", metadata,
    _run_fk(),
    Column("manager_id", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("grade", String(16)),
    Column("avg_assets", DecimalText, nullable=False),
    Column("ea", DecimalText, nullable=False),
    Column("nmv", DecimalText, nullable=False),
    Column("score_raw", DecimalText),
    Column("position", String(32)),
    Column("supervisor_id", String(64)),
    Column("source", String(16), nullable=False),
)

hold = Table(
    "hold", metadata,
    _run_fk(),
    Column("manager_id", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("amount", DecimalText, nullable=False),
    Column("clients", Text, nullable=False),  # client ids joined by ","
)

pending_client = Table(
    "pending_client", metadata,
    _run_fk(),
    Column("client_id", String(64), nullable=False),
)

referral = Table(
    "referral", metadata,
    _run_fk(),
    Column("referred_id", String(64), nullable=False),
    Column("referrer_id", String(64), nullable=False),
    Column("date", String(10)),
    Column("paid", Boolean, nullable=False),
)

pay_line = Table(
    "pay_line", metadata,
    _run_fk(),
    Column("seq", Integer, nullable=False),
    Column("manager_id", String(64), nullable=False),
    Column("component", String(32), nullable=False),
    Column("amount", DecimalText, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("detail", Text, nullable=False),
)

manager_row = Table(
    "manager_row", metadata,
    _run_fk(),
    Column("manager_id", String(64), nullable=False),
    Column("data", Text, nullable=False),  # the managers.csv row and its reasons, canonical JSON
)

audit_entry = Table(
    "audit_entry", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("month", String(7)),
    Column("body", Text, nullable=False),  # canonical JSON of the entry
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
