"""The ledger: month-to-month state in SQLite (default) or PostgreSQL, through SQLAlchemy.

``Ledger.open(url)`` applies pending Alembic migrations, then offers the month life-cycle queries
and the one-transaction save of a settled month (state, pay lines, manager rows).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, create_engine, delete, event, inspect, insert, make_url, select, update
from sqlalchemy.exc import ArgumentError, OperationalError

from cmsettle.compute.lines import PayLine
from cmsettle.compute.state import Hold, LedgerState, MonthRecord, Person, Referral
from cmsettle.errors import NotReadyError, UsageError, db_url_problem
from cmsettle.ledger import tables as T
from cmsettle.months import Month

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
#: The newest migration in cmsettle/migrations/versions (tests/test_lifecycle.py checks it against Alembic's
#: own head): a ledger already there is opened without importing Alembic at all.
HEAD_REVISION = "0001"
VERSION_TABLE = "alembic_version"


def _month(text: str | None) -> Month | None:
    return Month.parse(text) if text else None


def _s(m: Month | None) -> str | None:
    return str(m) if m is not None else None


def utc(dt: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime: SQLite gives it back naive (stored as UTC), PostgreSQL
    in the session's time zone."""
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


@dataclass(frozen=True)
class RunInfo:
    id: int
    month: Month
    revision: int
    status: str
    mode: str
    rule_set_id: str
    rule_set_sha256: str
    manifest_sha256: str | None
    run_id: str
    created_at: datetime
    closed_at: datetime | None
    reopen_reason: str | None
    output_dir: str | None


@dataclass(frozen=True)
class SignatureInfo:
    run_id: int
    role: str
    signer: str
    signed_at: datetime
    manifest_sha256: str
    signature: str  # base64
    public_key: str  # PEM
    fingerprint: str


@dataclass(frozen=True)
class SignerKey:
    name: str
    public_key: str  # PEM
    fingerprint: str
    created_at: datetime


def sqlite_url_for(path: Path) -> str:
    return f"sqlite:///{path}"


def engine_for(url: str) -> Engine:
    """The engine of a ledger URL. ``postgresql://`` and ``postgres://`` use psycopg 3 (the `postgres` extra)
    whatever SQLAlchemy's default driver; SQLite gets its foreign keys switched on."""
    try:
        u = make_url(url)
    except (ArgumentError, ValueError):
        raise UsageError(f"--db: {db_url_problem(url)}") from None
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    engine = create_engine(u, future=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _fk_on(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def _insert_many(conn: Connection, table: Table, rows: list[dict]) -> None:
    """Insert many rows in one executemany straight to the driver: the statement is compiled once by
    SQLAlchemy for the connection's dialect (its parameter style), each value is bound as the column's type
    would (DecimalText: exact decimal text, a non-Decimal refused), and SQLAlchemy's per-row parameter
    processing, most of the time of a month of 50,000 pay lines, is skipped."""
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=keys)
    positional = compiled.positiontup is not None  # qmark / format: tuples in the statement's order
    order = list(compiled.positiontup) if positional else keys
    amount = [isinstance(table.c[k].type, T.DecimalText) for k in order]
    values = [tuple(T.decimal_text(r[k]) if a else r[k] for k, a in zip(order, amount)) for r in rows]
    conn.exec_driver_sql(str(compiled), values if positional else [dict(zip(order, v)) for v in values])


class Ledger:
    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> "Ledger":
        ledger = cls(engine_for(url))
        ledger.migrate()
        return ledger

    def _connect(self) -> Connection:
        """The first connection of a command: a ledger that cannot be reached is "not ready" (exit 5, cron
        may retry), with the URL (no password) and the driver's first line."""
        try:
            return self.engine.connect()
        except OperationalError as exc:
            url = self.engine.url.render_as_string(hide_password=True)
            why = str(exc.orig or exc).strip().splitlines()[0]
            raise NotReadyError(f"cannot open the ledger {url}: {why}") from None

    # ---- schema ------------------------------------------------------------------------------------
    def head_revision(self) -> str:
        return HEAD_REVISION

    def migrate(self) -> None:
        """Apply the pending Alembic migrations (Alembic is imported only when there are some). An empty
        database gets the head schema at once, as Alembic's documentation advises for a new database
        (create_all, then stamp the head): tables.py is the head schema, which tests/test_lifecycle.py
        checks against the migrations, on SQLite and PostgreSQL."""
        current = self.schema_revision()
        if current == HEAD_REVISION:
            return
        if current is None:
            with self.engine.begin() as conn:
                if not inspect(conn).get_table_names():
                    T.metadata.create_all(conn)
                    conn.exec_driver_sql(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
                                         f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))")
                    conn.exec_driver_sql(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES ('{HEAD_REVISION}')")
                    return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (its version table), None for an empty database."""
        with self._connect() as conn:
            if not inspect(conn).has_table(VERSION_TABLE):
                return None
            return conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()

    def dispose(self) -> None:
        self.engine.dispose()

    # ---- runs --------------------------------------------------------------------------------------
    def runs(self, month: Month | None = None) -> list[RunInfo]:
        q = select(T.month_run).order_by(T.month_run.c.month, T.month_run.c.revision)
        if month is not None:
            q = q.where(T.month_run.c.month == str(month))
        with self.engine.connect() as conn:
            return [self._info(r) for r in conn.execute(q).mappings()]

    @staticmethod
    def _info(r) -> RunInfo:  # noqa: ANN001
        return RunInfo(
            id=r["id"], month=Month.parse(r["month"]), revision=r["revision"], status=r["status"], mode=r["mode"],
            rule_set_id=r["rule_set_id"], rule_set_sha256=r["rule_set_sha256"], manifest_sha256=r["manifest_sha256"],
            run_id=r["run_id"], created_at=utc(r["created_at"]), closed_at=utc(r["closed_at"]),
            reopen_reason=r["reopen_reason"], output_dir=r["output_dir"],
        )

    def latest(self, month: Month) -> RunInfo | None:
        runs = [r for r in self.runs(month) if r.status != "superseded"]
        return runs[-1] if runs else None

    def first_month(self) -> Month | None:
        runs = self.runs()
        return min((r.month for r in runs), default=None)

    # ---- state -------------------------------------------------------------------------------------
    def load_state(self, run: RunInfo | None) -> LedgerState:
        """The state the close of ``run`` left (empty state when None: the first ledger month)."""
        if run is None:
            return LedgerState()
        rid = run.id
        with self.engine.connect() as conn:
            persons = {}
            for r in conn.execute(select(T.person_state).where(T.person_state.c.run_id == rid)).mappings():
                persons[r["manager_id"]] = Person(
                    manager_id=r["manager_id"], name=r["name"], position=r["position"], contract=r["contract"],
                    grade_next=r["grade_next"], last_month=_month(r["last_month"]), excess_carry=r["excess_carry"],
                    risk_fund_balance=r["risk_fund_balance"], tax_year=r["tax_year"], ytd_taxable=r["ytd_taxable"],
                    ytd_tax=r["ytd_tax"], counter_year=r["counter_year"],
                    personal_leave_days_ytd=r["personal_leave_days_ytd"], absent_days_ytd=r["absent_days_ytd"],
                    discretionary_count=r["discretionary_count"], deduction_carry=r["deduction_carry"],
                    open_disputes=r["open_disputes"], leave_month=_month(r["leave_month"]),
                    leave_approved=r["leave_approved"], refund_due=_month(r["refund_due"]),
                    hire_date=date.fromisoformat(r["hire_date"]) if r["hire_date"] else None,
                )
            records = {}
            for r in conn.execute(select(T.metric_record).where(T.metric_record.c.run_id == rid)).mappings():
                m = Month.parse(r["month"])
                records[(r["manager_id"], m)] = MonthRecord(
                    month=m, manager_id=r["manager_id"], grade=r["grade"], avg_assets=r["avg_assets"], ea=r["ea"],
                    nmv=r["nmv"], score_raw=r["score_raw"], position=r["position"],
                    supervisor_id=r["supervisor_id"], source=r["source"],
                )
            holds = tuple(
                Hold(r["manager_id"], Month.parse(r["month"]), r["kind"], r["amount"],
                     tuple(c for c in r["clients"].split(",") if c))
                for r in conn.execute(select(T.hold).where(T.hold.c.run_id == rid)).mappings()
            )
            pending = frozenset(conn.execute(
                select(T.pending_client.c.client_id).where(T.pending_client.c.run_id == rid)).scalars())
            referrals, paid = {}, set()
            for r in conn.execute(select(T.referral).where(T.referral.c.run_id == rid)).mappings():
                if r["paid"]:
                    paid.add(r["referred_id"])
                else:
                    referrals[r["referred_id"]] = Referral(r["referred_id"], r["referrer_id"],
                                                           date.fromisoformat(r["date"]))
        return LedgerState(
            first_month=self.first_month(), last_month=run.month, persons=persons, records=records, holds=holds,
            pending_clients=pending, referrals=referrals, paid_referrals=frozenset(paid),
        )

    def save_run(
        self,
        *,
        month: Month,
        state: LedgerState,
        lines: list[PayLine],
        manager_rows: list[dict],
        rule_set_id: str,
        rule_set_sha256: str,
        manifest_sha256: str | Callable[[], str],
        run_id: str,
        created_at: datetime,
        output_dir: str,
        mode: str = "month",
        status: str = "draft",
        replace_run: int | None = None,
        revision: int = 1,
        reopen_reason: str | None = None,
        on_commit=None,  # noqa: ANN001  called inside the transaction, last (outputs, audit)
    ) -> int:
        """Store one settled month in one transaction; a draft re-run replaces its own rows.

        ``manifest_sha256``: the hash, or a function giving it, asked just before ``on_commit`` (the outputs
        may still be being written while the rows are inserted: cmsettle.pipeline.StagedOutputs)."""
        with self.engine.begin() as conn:
            if replace_run is not None:
                conn.execute(delete(T.month_run).where(T.month_run.c.id == replace_run))
                for table in (T.person_state, T.metric_record, T.hold, T.pending_client, T.referral, T.pay_line,
                              T.manager_row, T.signature):
                    conn.execute(delete(table).where(table.c.run_id == replace_run))
            rid = conn.execute(insert(T.month_run).values(
                month=str(month), revision=revision, status=status, mode=mode, rule_set_id=rule_set_id,
                rule_set_sha256=rule_set_sha256,
                manifest_sha256=None if callable(manifest_sha256) else manifest_sha256, run_id=run_id,
                created_at=created_at, closed_at=created_at if status == "closed" else None,
                reopen_reason=reopen_reason, output_dir=output_dir,
            )).inserted_primary_key[0]
            rows = [dict(
                run_id=rid, manager_id=p.manager_id, name=p.name, position=p.position, contract=p.contract,
                grade_next=p.grade_next, last_month=_s(p.last_month), excess_carry=p.excess_carry,
                risk_fund_balance=p.risk_fund_balance, tax_year=p.tax_year, ytd_taxable=p.ytd_taxable,
                ytd_tax=p.ytd_tax, counter_year=p.counter_year, personal_leave_days_ytd=p.personal_leave_days_ytd,
                absent_days_ytd=p.absent_days_ytd, discretionary_count=p.discretionary_count,
                deduction_carry=p.deduction_carry, open_disputes=p.open_disputes, leave_month=_s(p.leave_month),
                leave_approved=p.leave_approved, refund_due=_s(p.refund_due),
                hire_date=p.hire_date.isoformat() if p.hire_date else None,
            ) for p in state.persons.values()]
            if rows:
                _insert_many(conn, T.person_state, rows)
            rows = [dict(
                run_id=rid, manager_id=r.manager_id, month=str(r.month), grade=r.grade, avg_assets=r.avg_assets,
                ea=r.ea, nmv=r.nmv, score_raw=r.score_raw, position=r.position, supervisor_id=r.supervisor_id,
                source=r.source,
            ) for r in state.records.values()]
            if rows:
                _insert_many(conn, T.metric_record, rows)
            rows = [dict(run_id=rid, manager_id=h.manager_id, month=str(h.month), kind=h.kind, amount=h.amount,
                         clients=",".join(h.clients)) for h in state.holds]
            if rows:
                _insert_many(conn, T.hold, rows)
            rows = [dict(run_id=rid, client_id=c) for c in sorted(state.pending_clients)]
            if rows:
                _insert_many(conn, T.pending_client, rows)
            rows = [dict(run_id=rid, referred_id=r.referred_id, referrer_id=r.referrer_id, date=r.date.isoformat(),
                         paid=False) for r in state.referrals.values()]
            rows += [dict(run_id=rid, referred_id=x, referrer_id="", date=None, paid=True)
                     for x in sorted(state.paid_referrals)]
            if rows:
                _insert_many(conn, T.referral, rows)
            rows = [dict(run_id=rid, seq=i, manager_id=ln.manager_id, component=ln.component, amount=ln.amount,
                         rule=ln.rule, detail=ln.detail) for i, ln in enumerate(lines)]
            if rows:
                _insert_many(conn, T.pay_line, rows)
            rows = [dict(run_id=rid, manager_id=m["manager_id"], data=json.dumps(m, ensure_ascii=False, sort_keys=True))
                    for m in manager_rows]
            if rows:
                _insert_many(conn, T.manager_row, rows)
            if callable(manifest_sha256):
                conn.execute(update(T.month_run).where(T.month_run.c.id == rid)
                             .values(manifest_sha256=manifest_sha256()))
            if on_commit is not None:
                on_commit(conn, rid)
            return rid

    def set_status(self, run_id: int, status: str, *, closed_at: datetime | None = None, conn=None) -> None:  # noqa: ANN001
        stmt = update(T.month_run).where(T.month_run.c.id == run_id).values(status=status, closed_at=closed_at)
        if conn is not None:
            conn.execute(stmt)
        else:
            with self.engine.begin() as c:
                c.execute(stmt)

    def pay_lines(self, run_id: int) -> list[PayLine]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(T.pay_line).where(T.pay_line.c.run_id == run_id).order_by(T.pay_line.c.seq))
            return [PayLine(r.manager_id, r.component, r.amount, r.rule, r.detail) for r in rows]

    def manager_rows(self, run_id: int) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(T.manager_row.c.data).where(T.manager_row.c.run_id == run_id))
            return [json.loads(r[0]) for r in rows]

    def net_pay(self, run_id: int) -> dict[str, Decimal]:
        return {ln.manager_id: ln.amount for ln in self.pay_lines(run_id) if ln.component == "net_pay"}

    # ---- sign-off and the month's life (cmsettle.lifecycle) ---------------------------------------
    def runs_for_update(self, conn: Connection, month: Month) -> list[RunInfo]:
        """The month's runs inside ``conn``'s transaction, their rows locked on PostgreSQL (one signer at a
        time); SQLite serialises writers itself."""
        q = (select(T.month_run).where(T.month_run.c.month == str(month)).order_by(T.month_run.c.revision)
             .with_for_update())
        return [self._info(r) for r in conn.execute(q).mappings()]

    def signatures(self, run_id: int | None = None, conn: Connection | None = None) -> list[SignatureInfo]:
        """Signatures of one run (every run's when None), in the order they were given."""
        q = select(T.signature).order_by(T.signature.c.run_id, T.signature.c.id)
        if run_id is not None:
            q = q.where(T.signature.c.run_id == run_id)

        def read(c: Connection) -> list[SignatureInfo]:
            return [SignatureInfo(
                run_id=r["run_id"], role=r["role"], signer=r["signer"], signed_at=utc(r["signed_at"]),
                manifest_sha256=r["manifest_sha256"], signature=r["signature"], public_key=r["public_key"],
                fingerprint=r["fingerprint"],
            ) for r in c.execute(q).mappings()]

        if conn is not None:
            return read(conn)
        with self.engine.connect() as c:
            return read(c)

    def add_signature(self, conn: Connection, sig: SignatureInfo) -> None:
        conn.execute(insert(T.signature).values(
            run_id=sig.run_id, role=sig.role, signer=sig.signer, signed_at=sig.signed_at,
            manifest_sha256=sig.manifest_sha256, signature=sig.signature, public_key=sig.public_key,
            fingerprint=sig.fingerprint,
        ))

    def signer_key(self, name: str) -> SignerKey | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(T.signer_key).where(T.signer_key.c.name == name)).mappings().first()
        if r is None:
            return None
        return SignerKey(r["name"], r["public_key"], r["fingerprint"], utc(r["created_at"]))

    def add_signer_key(self, key: SignerKey, conn: Connection | None = None) -> None:
        """Register a signer's public key, in ``conn``'s transaction when given (with its audit entry)."""
        stmt = insert(T.signer_key).values(
            name=key.name, public_key=key.public_key, fingerprint=key.fingerprint, created_at=key.created_at)
        if conn is not None:
            conn.execute(stmt)
            return
        with self.engine.begin() as c:
            c.execute(stmt)

    def mark_reopened(self, conn: Connection, run_id: int, reason: str, output_dir: str | None) -> None:
        """A closed run becomes ``reopened``: it stays in the ledger with its closing time, the reason and
        where its outputs were kept; the next run of the month is revision n+1 (pipeline.plan_run)."""
        conn.execute(update(T.month_run).where(T.month_run.c.id == run_id).values(
            status="reopened", reopen_reason=reason, output_dir=output_dir))

    def discard_draft(self, conn: Connection, run_id: int) -> None:
        """Delete a draft run and its rows, as a draft re-run does (save_run ``replace_run``)."""
        for table in (T.person_state, T.metric_record, T.hold, T.pending_client, T.referral, T.pay_line,
                      T.manager_row, T.signature):
            conn.execute(delete(table).where(table.c.run_id == run_id))
        conn.execute(delete(T.month_run).where(T.month_run.c.id == run_id))
