"""Initial ledger schema: runs, signatures, signer keys, per-run state, pay lines, audit chain.

Frozen as explicit DDL: later schema changes are new revisions with op.* calls, never edits here.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from cmsettle.ledger.tables import DecimalText

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column('seq', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('at', sa.String(40), nullable=False),
        sa.Column('actor', sa.String(200), nullable=False),
        sa.Column('action', sa.String(40), nullable=False),
        sa.Column('month', sa.String(7)),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('prev_hash', sa.String(64), nullable=False),
        sa.Column('hash', sa.String(64), nullable=False),
    )
    op.create_table(
        "month_run",
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('month', sa.String(7), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('mode', sa.String(16), nullable=False),
        sa.Column('rule_set_id', sa.String(200), nullable=False),
        sa.Column('rule_set_sha256', sa.String(64), nullable=False),
        sa.Column('manifest_sha256', sa.String(64)),
        sa.Column('run_id', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True)),
        sa.Column('reopen_reason', sa.Text()),
        sa.Column('output_dir', sa.Text()),
        sa.UniqueConstraint('month', 'revision', name="uq_month_revision"),
    )
    op.create_table(
        "signer_key",
        sa.Column('name', sa.String(200), primary_key=True),
        sa.Column('public_key', sa.Text(), nullable=False),
        sa.Column('fingerprint', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "hold",
        sa.Column('run_id', sa.Integer(), sa.ForeignKey("month_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column('manager_id', sa.String(64), nullable=False),
        sa.Column('month', sa.String(7), nullable=False),
        sa.Column('kind', sa.String(8), nullable=False),
        sa.Column('amount', DecimalText(), nullable=False),
        sa.Column('clients', sa.Text(), nullable=False),
    )
    op.create_index("ix_hold_run_id", "hold", ['run_id'])
    op.create_table(
        "manager_row",
        sa.Column('run_id', sa.Integer(), sa.ForeignKey("month_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column('manager_id', sa.String(64), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
    )
    op.create_index("ix_manager_row_run_id", "manager_row", ['run_id'])
    op.create_table(
        "metric_record",
        sa.Column('run_id', sa.Integer(), sa.ForeignKey("month_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column('manager_id', sa.String(64), nullable=False),
        sa.Column('month', sa.String(7), nullable=False),
        sa.Column('grade', sa.String(16)),
        sa.Column('avg_assets', DecimalText(), nullable=False),
        sa.Column('ea', DecimalText(), nullable=False),
        sa.Column('nmv', DecimalText(), nullable=False),
        sa.Column('score_raw', DecimalText()),
        sa.Column('position', sa.String(32)),
        sa.Column('supervisor_id', sa.String(64)),
        sa.Column('source', sa.String(16), nullable=False),
    )
    op.create_index("ix_metric_record_run_id", "metric_record", ['run_id'])
    op.create_table(
        "pay_line",
        sa.Column('run_id', sa.Integer(), sa.ForeignKey("month_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('manager_id', sa.String(64), nullable=False),
        sa.Column('component', sa.String(32), nullable=False),
        sa.Column('amount', DecimalText(), nullable=False),
        sa.Column('rule', sa.String(64), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
    )
    op.create_index("ix_pay_line_run_id", "pay_line", ['run_id'])
    op.create_table(
        "pending_client",
        sa.Column('run_id', sa.Integer(), sa.ForeignKey("month_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column('client_id', sa.String(64), nullable=False),
    )
    op.create_index("ix_pending_client_run_id", "pending_client", ['run_id'])
    op.create_table(
        "person_state",
        sa.Column('run_id', sa.Integer(), sa.ForeignKey("month_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column('manager_id', sa.String(64), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('position', sa.String(32), nullable=False),
        sa.Column('contract', sa.String(16), nullable=False),
        sa.Column('grade_next', sa.String(16)),
        sa.Column('last_month', sa.String(7)),
        sa.Column('excess_carry', DecimalText(), nullable=False),
        sa.Column('risk_fund_balance', DecimalText(), nullable=False),
        sa.Column('tax_year', sa.Integer()),
        sa.Column('ytd_taxable', DecimalText(), nullable=False),
        sa.Column('ytd_tax', DecimalText(), nullable=False),
        sa.Column('counter_year', sa.Integer()),
        sa.Column('personal_leave_days_ytd', DecimalText(), nullable=False),
        sa.Column('absent_days_ytd', DecimalText(), nullable=False),
        sa.Column('discretionary_count', sa.Integer(), nullable=False),
        sa.Column('deduction_carry', DecimalText(), nullable=False),
        sa.Column('open_disputes', sa.Integer(), nullable=False),
        sa.Column('leave_month', sa.String(7)),
        sa.Column('leave_approved', sa.Boolean(), nullable=False),
        sa.Column('refund_due', sa.String(7)),
        sa.Column('hire_date', sa.String(10)),
    )
    op.create_index("ix_person_state_run_id", "person_state", ['run_id'])
    op.create_table(
        "referral",
        sa.Column('run_id', sa.Integer(), sa.ForeignKey("month_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column('referred_id', sa.String(64), nullable=False),
        sa.Column('referrer_id', sa.String(64), nullable=False),
        sa.Column('date', sa.String(10)),
        sa.Column('paid', sa.Boolean(), nullable=False),
    )
    op.create_index("ix_referral_run_id", "referral", ['run_id'])
    op.create_table(
        "signature",
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('run_id', sa.Integer(), sa.ForeignKey("month_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column('role', sa.String(32), nullable=False),
        sa.Column('signer', sa.String(200), nullable=False),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('manifest_sha256', sa.String(64), nullable=False),
        sa.Column('signature', sa.Text(), nullable=False),
        sa.Column('public_key', sa.Text(), nullable=False),
        sa.Column('fingerprint', sa.String(64), nullable=False),
        sa.UniqueConstraint('run_id', 'role', name="uq_run_role"),
    )
    op.create_index("ix_signature_run_id", "signature", ['run_id'])


def downgrade() -> None:
    op.drop_table("signature")
    op.drop_table("referral")
    op.drop_table("person_state")
    op.drop_table("pending_client")
    op.drop_table("pay_line")
    op.drop_table("metric_record")
    op.drop_table("manager_row")
    op.drop_table("hold")
    op.drop_table("signer_key")
    op.drop_table("month_run")
    op.drop_table("audit_entry")
