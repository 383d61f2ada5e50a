"""Alembic environment: migrations run on the connection cmsettle hands over (cmsettle.ledger.db)."""

from alembic import context

from cmsettle.ledger.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
