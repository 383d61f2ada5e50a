"""Initial ledger schema: runs, signatures, signer keys, per-run state, pay lines, audit chain.

Revision ID: 0001
Revises:
"""

from alembic import op

from cmsettle.ledger.tables import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The first revision creates the tables exactly as cmsettle.ledger.tables declares them;
    # later revisions alter them step by step with op.* calls.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
