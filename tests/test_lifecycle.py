"""The month's life through the CLI (issue 7; RULEBOOK O1-O4; CLI.md exit codes), on SQLite and PostgreSQL.

Every test runs once per ledger backend: SQLite in tmp_path, and PostgreSQL in a fresh schema of the
database named by CMSETTLE_TEST_PG_URL (`.ci/run` starts a server and sets it); without that variable the
PostgreSQL cases are skipped with the reason shown in the summary.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import stat
import uuid
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
from filelock import FileLock
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cmsettle import DEFAULT_RULES_DIR
from cmsettle.cli import app
from cmsettle.ledger.db import Ledger
from cmsettle.lifecycle import verify_signature
from cmsettle.months import Month
from cmsettle.outputs.tables import DRAFT_MARK, sha256
from cmsettle.pipeline import Settings, pay_day
from cmsettle.ruleset.loader import resolve
from cmsettle.workdays import WorkCalendar
from fixtures_months import write_month

SIGNERS = (("chief_accountant", "alice"), ("deputy_manager", "bob"), ("branch_manager", "carol"))
SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
PG_URL = os.environ.get("CMSETTLE_TEST_PG_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database(request.param, tmp_path / "ledger.db") as url:
        yield url


@contextmanager
def empty_database(kind: str, sqlite_file: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, or a fresh schema of the PostgreSQL test server."""
    if kind == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not available: set CMSETTLE_TEST_PG_URL")
    schema = f"cmsettle_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Office:
    """One branch office: input folders, outputs, key store and ledger, driven through `settle`."""

    def __init__(self, root: Path, db_url: str):
        self.root, self.db_url = root, db_url
        self.data, self.out, self.keys = root / "data", root / "out", root / "keys"
        self.env = {"CMSETTLE_DATA": str(self.data), "CMSETTLE_OUT": str(self.out), "CMSETTLE_DB": db_url,
                    "CMSETTLE_KEYS": str(self.keys), "CMSETTLE_RULES": str(DEFAULT_RULES_DIR),
                    # a server ledger's audit file defaults to ./cmsettle.audit.jsonl: keep it in the test's folder
                    "CMSETTLE_AUDIT": str(root / "audit.jsonl"), "COLUMNS": "200"}
        self.runner = CliRunner()

    def settle(self, *args: str):  # noqa: ANN201
        result = self.runner.invoke(app, list(args), env=self.env)
        result.text = " ".join(result.output.split())  # rich wraps long lines; compare words
        return result

    def ok(self, *args: str):  # noqa: ANN201
        result = self.settle(*args)
        assert result.exit_code == 0, result.output
        return result

    def keys_for_everyone(self) -> None:
        for _, name in SIGNERS:
            self.ok("keys", "create", name)

    def sign_off(self, month: str, signers=SIGNERS) -> None:  # noqa: ANN001
        for role, name in signers:
            self.ok("sign", month, "--role", role, "--signer", name)

    def status(self, month: str | None = None) -> list[dict]:
        return json.loads(self.ok("status", *([month] if month else []), "--json").stdout)

    def ledger(self) -> Ledger:
        return Ledger.open(self.db_url)

    def settings(self) -> Settings:
        return Settings(self.data, self.out, Path(DEFAULT_RULES_DIR), self.db_url, keys_dir=self.keys)


@pytest.fixture
def office(tmp_path: Path, db_url: str) -> Office:
    o = Office(tmp_path, db_url)
    write_month(o.data, "2024-04", opening=True)
    write_month(o.data, "2024-05")
    write_month(o.data, "2024-06")
    return o


@pytest.fixture
def april_closed(office: Office) -> Office:
    office.keys_for_everyone()
    office.ok("month", "2024-04", "--quiet")
    office.sign_off("2024-04")
    return office


def net_pay(path: Path) -> dict[str, Decimal]:
    rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    return {r[1]: Decimal(r[3]) for r in rows if r[2] == "net_pay"}


# ---- the ledger on each backend --------------------------------------------------------------------

def test_head_revision_constant_is_alembics_head() -> None:
    """db.HEAD_REVISION lets a ledger at the head open without importing Alembic: it must be Alembic's head."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from cmsettle.ledger import db

    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == db.HEAD_REVISION


def _schema(url: str) -> dict:
    """Everything reflection sees of a ledger's schema: tables, columns, keys, indexes, constraints."""
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        out = {}
        for t in sorted(insp.get_table_names()):
            out[t] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement"))
                            for c in insp.get_columns(t)],
                "pk": insp.get_pk_constraint(t)["constrained_columns"],
                "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]),
                               tuple(sorted(f.get("options", {}).items()))) for f in insp.get_foreign_keys(t)),
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                  for i in insp.get_indexes(t)),
                "unique": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(t)),
            }
        with engine.connect() as conn:
            out["version"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        return out
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_new_ledger_gets_the_schema_the_migrations_build(kind: str, tmp_path: Path) -> None:
    """Ledger.open on an empty database creates tables.py's schema and stamps the head without Alembic; the
    same database built by running every Alembic migration is the same, table by table."""
    from alembic import command
    from alembic.config import Config

    from cmsettle.ledger import db

    with empty_database(kind, tmp_path / "direct.db") as direct, \
            empty_database(kind, tmp_path / "migrated.db") as migrated:
        Ledger.open(direct).dispose()
        engine = create_engine(migrated)
        cfg = Config()
        cfg.set_main_option("script_location", str(db.MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        engine.dispose()
        assert _schema(direct) == _schema(migrated)
        assert _schema(direct)["version"] == db.HEAD_REVISION


def test_ledger_migrates_on_open_and_records_the_revision(office: Office) -> None:
    ledger = office.ledger()
    try:
        head = ledger.schema_revision()
        assert head is not None
        names = set(inspect(ledger.engine).get_table_names())
        assert {"alembic_version", "month_run", "signature", "signer_key", "audit_entry"} <= names
        with ledger.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        ledger.migrate()  # a second open is a no-op
        assert ledger.schema_revision() == head
    finally:
        ledger.dispose()


def test_amounts_times_and_flags_round_trip(office: Office) -> None:
    office.ok("month", "2024-04", "--quiet")
    ledger = office.ledger()
    try:
        (run,) = ledger.runs()
        lines = ledger.pay_lines(run.id)
        assert all(type(ln.amount) is Decimal for ln in lines)
        assert net_pay(office.out / "2024-04" / "pay_lines.csv") == ledger.net_pay(run.id)
        assert run.created_at.tzinfo is not None and run.created_at.utcoffset().total_seconds() == 0
        state = ledger.load_state(run)
        assert state.persons["1002"].risk_fund_balance >= Decimal(2000)  # opening balance carried in
        assert all(p.leave_approved is True for p in state.persons.values())
    finally:
        ledger.dispose()


# ---- settling in order, sign-off, close ------------------------------------------------------------

def test_months_settle_in_order_with_three_signers_each(office: Office) -> None:
    office.keys_for_everyone()
    for month in ("2024-04", "2024-05", "2024-06"):
        res = office.ok("month", month, "--json")
        assert json.loads(res.stdout)["revision"] == 1
        folder = office.out / month
        draft = (folder / "bank_transfer.csv").read_bytes()
        assert draft.startswith((DRAFT_MARK + "\n").encode())
        assert office.status(month)[0]["state"] == "draft"

        states = []
        for role, name in SIGNERS:
            res = office.ok("sign", month, "--role", role, "--signer", name, "--json")
            states.append(office.status(month)[0]["state"])
        assert states == ["signed 1 of 3", "signed 2 of 3", "closed"]
        signed = json.loads(res.stdout)
        assert signed["closed"] is True and signed["signatures"] == 3

        final = (folder / "bank_transfer.csv").read_bytes()
        assert final == draft[len(DRAFT_MARK) + 1:]  # the same rows, no DRAFT line
        assert signed["bank_sha256"] == sha256(final)
        manifest = json.loads((folder / "manifest.json").read_bytes())
        assert manifest["outputs"]["bank_transfer.csv"] == sha256(draft)  # what the signatures cover
        closing = json.loads((folder / "closing.json").read_bytes())
        assert closing["outputs"]["bank_transfer.csv"] == sha256(final)
        assert closing["manifest_sha256"] == sha256((folder / "manifest.json").read_bytes())
        assert [s["role"] for s in closing["signatures"]] == [r for r, _ in SIGNERS]

    rows = office.status()
    assert [(r["month"], r["revision"], r["state"]) for r in rows] == [
        ("2024-04", 1, "closed"), ("2024-05", 1, "closed"), ("2024-06", 1, "closed")]
    april = rows[0]
    assert [(s["role"], s["signer"]) for s in april["signatures"]] == list(SIGNERS)
    assert all(s["signed_at"] and len(s["fingerprint"]) == 64 for s in april["signatures"])
    assert april["closed_at"] and april["pay_day"] == "2024-05-10"
    assert rows[2]["pay_day"] == "2024-07-10"

    ledger = office.ledger()  # every stored signature verifies against the run's manifest hash
    try:
        for run in ledger.runs():
            sigs = ledger.signatures(run.id)
            assert len(sigs) == 3 and all(verify_signature(run, s) is None for s in sigs)
    finally:
        ledger.dispose()


def test_status_table_shows_signers_times_fingerprints_and_pay_day(april_closed: Office) -> None:
    overview = april_closed.ok("status").text
    assert re.search(r"2024-04 1 closed alice 2024-05-10 \d{4}-\d\d-\d\d \d\d:\d\d [0-9a-f]{12} bob carol", overview)
    month = april_closed.ok("status", "2024-04").text
    assert "2024-04 signatures" in month and "signed at (UTC)" in month
    for role, name in SIGNERS:
        assert re.search(rf"1 {role} {name} \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d SHA256:[0-9a-f]{{16}}", month)


def test_status_of_an_empty_ledger(office: Office) -> None:
    assert office.ok("status").text == "the ledger is empty"
    assert office.status() == []
    if office.db_url.startswith("sqlite"):
        assert not (office.root / "ledger.db").exists()  # status creates nothing


def test_a_closed_month_refuses_to_recompute(april_closed: Office) -> None:
    before = (april_closed.out / "2024-04" / "bank_transfer.csv").read_bytes()
    res = april_closed.settle("month", "2024-04")
    assert res.exit_code == 4
    assert "2024-04 is closed (revision 1)" in res.text and "settle reopen 2024-04" in res.text
    assert (april_closed.out / "2024-04" / "bank_transfer.csv").read_bytes() == before


def test_the_next_month_needs_the_previous_one_closed(office: Office) -> None:
    office.keys_for_everyone()
    office.ok("month", "2024-04", "--quiet")
    res = office.settle("month", "2024-05")
    assert res.exit_code == 5 and "2024-04 is not closed" in res.text
    office.sign_off("2024-04", SIGNERS[:2])
    assert office.settle("month", "2024-05").exit_code == 5
    res = office.settle("month", "2024-06")
    assert res.exit_code == 5 and "2024-05 is not in the ledger" in res.text
    office.sign_off("2024-04", SIGNERS[2:])
    office.ok("month", "2024-05", "--quiet")
    assert [r["month"] for r in office.status()] == ["2024-04", "2024-05"]


def test_the_first_ledger_month_needs_no_previous_month(office: Office) -> None:
    office.ok("month", "2024-05", "--quiet")
    assert office.status()[0]["month"] == "2024-05"
    res = office.settle("month", "2024-04")
    assert res.exit_code == 4 and "later months are already in the ledger (2024-05)" in res.text


def managers(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["manager_id"]: r for r in csv.DictReader(fh)}


def test_opening_and_history_are_read_in_the_first_ledger_month_only(office: Office) -> None:
    write_month(office.data, "2024-04", opening=True, history=True)
    office.keys_for_everyone()
    res = json.loads(office.ok("month", "2024-04", "--json").stdout)
    assert not any("ignored" in w for w in res["warnings"])
    m1001 = managers(office.out / "2024-04" / "managers.csv")["1001"]
    assert Decimal(m1001["a3"]) > Decimal(m1001["avg_assets"])  # A3 reaches back into history.csv
    office.sign_off("2024-04")

    write_month(office.data, "2024-05", opening=True, history=True)
    res = json.loads(office.ok("month", "2024-05", "--json").stdout)
    for table in ("opening", "history"):
        assert f"2024-05/{table}.csv: ignored (read only in the first ledger month)" in res["warnings"]
    assert [f["table"] for f in json.loads((office.out / "2024-05" / "manifest.json").read_bytes())["inputs"]] \
        == ["roster", "clients", "assets", "trades"]  # the ledger is the truth from the second month on


@pytest.mark.slow
@pytest.mark.skipif(not (SAMPLE / "2024-03").is_dir(), reason="sample_data/ not generated (make sample)")
def test_the_sample_months_settle_in_order_and_every_refusal_holds(tmp_path: Path, db_url: str) -> None:
    o = Office(tmp_path, db_url)
    o.env["CMSETTLE_DATA"] = str(SAMPLE)
    months = sorted(p.name for p in SAMPLE.iterdir() if p.is_dir() and p.name[:2] == "20")
    o.keys_for_everyone()
    first, second = months[0], months[1]
    o.ok("month", first, "--quiet")
    assert o.settle("month", second).exit_code == 5  # the previous month is not closed
    assert o.settle("sign", first, "--role", "deputy_manager", "--signer", "bob").exit_code == 4  # order
    o.sign_off(first, SIGNERS[:1])
    assert o.settle("sign", first, "--role", "deputy_manager", "--signer", "alice").exit_code == 4  # same person
    o.sign_off(first, SIGNERS[1:])
    assert o.settle("month", first).exit_code == 4  # closed: never recomputed in place
    for month in months[1:]:
        o.ok("month", month, "--quiet")
        o.sign_off(month)
    rows = o.status()
    assert [(r["month"], r["state"], len(r["signatures"])) for r in rows] == [(m, "closed", 3) for m in months]
    for m in months:
        assert not (o.out / m / "bank_transfer.csv").read_text(encoding="utf-8").startswith("# DRAFT")


# ---- drafts -----------------------------------------------------------------------------------------

def test_a_draft_rerun_replaces_the_draft(office: Office) -> None:
    office.keys_for_everyone()
    first = json.loads(office.ok("month", "2024-04", "--json").stdout)
    files = {p.name: p.read_bytes() for p in (office.out / "2024-04").rglob("*") if p.is_file()}
    office.sign_off("2024-04", SIGNERS[:1])
    again = json.loads(office.ok("month", "2024-04", "--json").stdout)
    assert (again["revision"], again["run_id"], again["outputs"]) == (first["revision"], first["run_id"],
                                                                      first["outputs"])
    again_files = {p.name: p.read_bytes() for p in (office.out / "2024-04").rglob("*") if p.is_file()}
    assert again_files == files  # byte-identical (payslips/ included)
    (row,) = office.status()
    assert row["state"] == "draft" and row["signatures"] == []  # the new draft is signed from the start
    ledger = office.ledger()
    try:
        (run,) = ledger.runs()
        assert len(ledger.pay_lines(run.id)) == len((office.out / "2024-04" / "pay_lines.csv")
                                                    .read_text().splitlines()) - 1
    finally:
        ledger.dispose()


# ---- sign-off refusals ------------------------------------------------------------------------------

def test_signing_out_of_order_is_refused(office: Office) -> None:
    office.keys_for_everyone()
    office.ok("month", "2024-04", "--quiet")
    res = office.settle("sign", "2024-04", "--role", "deputy_manager", "--signer", "bob")
    assert res.exit_code == 4
    assert "wrong sign-off order: 2024-04 revision 1 needs the chief_accountant signature next" in res.text
    office.sign_off("2024-04", SIGNERS[:1])
    res = office.settle("sign", "2024-04", "--role", "branch_manager", "--signer", "carol")
    assert res.exit_code == 4 and "needs the deputy_manager signature next, not branch_manager" in res.text
    res = office.settle("sign", "2024-04", "--role", "chief_accountant", "--signer", "bob")
    assert res.exit_code == 4 and "already signed as chief_accountant by alice" in res.text
    assert office.status()[0]["state"] == "signed 1 of 3"


def test_one_person_cannot_sign_two_roles(office: Office) -> None:
    office.keys_for_everyone()
    office.ok("month", "2024-04", "--quiet")
    office.sign_off("2024-04", SIGNERS[:1])
    res = office.settle("sign", "2024-04", "--role", "deputy_manager", "--signer", "alice")
    assert res.exit_code == 4
    assert "alice already signed 2024-04 revision 1 as chief_accountant; one person signs one role" in res.text
    office.sign_off("2024-04", SIGNERS[1:2])
    assert office.settle("sign", "2024-04", "--role", "branch_manager", "--signer", "bob").exit_code == 4
    assert office.status()[0]["state"] == "signed 2 of 3"


@pytest.mark.parametrize("victim", ["pay_lines.csv", "bank_transfer.csv", "manifest.json"])
def test_a_signature_over_changed_outputs_is_refused(office: Office, victim: str) -> None:
    office.keys_for_everyone()
    office.ok("month", "2024-04", "--quiet")
    office.sign_off("2024-04", SIGNERS[:1])
    path = office.out / "2024-04" / victim
    path.write_bytes(path.read_bytes() + b"\n")
    res = office.settle("sign", "2024-04", "--role", "deputy_manager", "--signer", "bob")
    assert res.exit_code == 4
    assert "changed since the run" in res.text and "nothing was signed" in res.text
    if victim != "manifest.json":
        assert f"{victim} has sha256" in res.text
    assert office.status()[0]["state"] == "signed 1 of 3"
    office.ok("month", "2024-04", "--quiet")  # a draft re-run writes the outputs afresh
    office.sign_off("2024-04")
    assert office.status()[0]["state"] == "closed"


def test_signing_with_missing_outputs_is_refused(office: Office) -> None:
    office.keys_for_everyone()
    office.ok("month", "2024-04", "--quiet")
    (office.out / "2024-04" / "managers.csv").unlink()
    res = office.settle("sign", "2024-04", "--role", "chief_accountant", "--signer", "alice")
    assert res.exit_code == 4 and "managers.csv is missing" in res.text
    office.ok("month", "2024-04", "--quiet")
    elsewhere = str(office.root / "elsewhere")
    office.ok("sign", "2024-04", "--role", "chief_accountant", "--signer", "alice", "--out", elsewhere)  # ledger's
    (office.out / "2024-04").rename(office.root / "2024-04")
    res = office.settle("sign", "2024-04", "--role", "deputy_manager", "--signer", "bob")
    assert res.exit_code == 4 and "the outputs of 2024-04 revision 1 are not there" in res.text
    office.ok("sign", "2024-04", "--role", "deputy_manager", "--signer", "bob", "--out", str(office.root))
    assert office.status()[0]["state"] == "signed 2 of 3"


def test_signing_states_refused(office: Office) -> None:
    office.keys_for_everyone()
    res = office.settle("sign", "2024-04", "--role", "chief_accountant", "--signer", "alice")
    assert res.exit_code == 5 and "2024-04 is not in the ledger" in res.text
    office.ok("month", "2024-04", "--quiet")
    office.sign_off("2024-04")
    res = office.settle("sign", "2024-04", "--role", "branch_manager", "--signer", "carol")
    assert res.exit_code == 4 and "2024-04 revision 1 is already closed" in res.text
    office.ok("reopen", "2024-04", "--reason", "wrong turnover")
    res = office.settle("sign", "2024-04", "--role", "chief_accountant", "--signer", "alice")
    assert res.exit_code == 4 and "is reopened: settle it again" in res.text


def test_bad_role_and_signer_name_are_usage_errors(office: Office) -> None:
    office.ok("month", "2024-04", "--quiet")
    assert office.settle("sign", "2024-04", "--role", "cashier", "--signer", "alice").exit_code == 2
    assert office.settle("sign", "2024-04", "--role", "chief_accountant", "--signer", "../x").exit_code == 2
    assert office.settle("sign", "2024-04", "--role", "chief_accountant").exit_code == 2
    assert office.settle("reopen", "2024-04", "--reason", "  ").exit_code == 2


def test_signing_while_another_run_holds_the_lock_is_refused(office: Office) -> None:
    if not office.db_url.startswith("sqlite"):
        target = office.out / ".cmsettle.lock"
    else:
        target = Path(str(office.root / "ledger.db") + ".lock")
    office.keys_for_everyone()
    office.ok("month", "2024-04", "--quiet")
    with FileLock(str(target)):
        res = office.settle("sign", "2024-04", "--role", "chief_accountant", "--signer", "alice")
    assert res.exit_code == 4 and "holds the lock" in res.text


# ---- keys -------------------------------------------------------------------------------------------

def test_keys_create_writes_a_private_key_for_its_owner_only(office: Office) -> None:
    res = office.ok("keys", "create", "alice", "--json")
    made = json.loads(res.stdout)
    assert "PRIVATE" not in res.output and made["created"] is True
    priv, pub = Path(made["private_key"]), Path(made["public_key"])
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert stat.S_IMODE(office.keys.stat().st_mode) == 0o700
    assert priv.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    ledger = office.ledger()
    try:
        key = ledger.signer_key("alice")
        assert key is not None and key.fingerprint == made["fingerprint"]
        assert key.public_key.strip() == pub.read_text().strip()
    finally:
        ledger.dispose()
    res = office.settle("keys", "create", "alice")
    assert res.exit_code == 4 and "already has a key in the ledger" in res.text
    assert office.settle("keys", "create", "a/b").exit_code == 2


def test_keys_create_registers_an_existing_key_pair_in_a_new_ledger(office: Office, tmp_path: Path) -> None:
    office.ok("keys", "create", "王会计")
    other = Office(office.root, f"sqlite:///{tmp_path / 'other.db'}")
    res = other.ok("keys", "create", "王会计", "--json")
    assert json.loads(res.stdout)["created"] is False


def test_a_key_file_that_does_not_match_the_ledger_is_refused(office: Office) -> None:
    office.keys_for_everyone()
    office.ok("month", "2024-04", "--quiet")
    registered = (office.keys / "alice.key").read_bytes()
    (office.keys / "alice.key").unlink()
    (office.keys / "alice.pub").unlink()
    Office(office.root, f"sqlite:///{office.root / 'scratch.db'}").ok("keys", "create", "alice")  # a new pair
    res = office.settle("sign", "2024-04", "--role", "chief_accountant", "--signer", "alice")
    assert res.exit_code == 4 and "does not match the public key registered in the ledger" in res.text
    (office.keys / "alice.key").write_bytes(registered)
    os.chmod(office.keys / "alice.key", 0o644)
    res = office.settle("sign", "2024-04", "--role", "chief_accountant", "--signer", "alice")
    assert res.exit_code == 4 and "is readable by others (mode 0644)" in res.text
    os.chmod(office.keys / "alice.key", 0o600)
    office.ok("sign", "2024-04", "--role", "chief_accountant", "--signer", "alice")


def test_a_signer_without_a_key_is_refused(office: Office) -> None:
    office.ok("month", "2024-04", "--quiet")
    res = office.settle("sign", "2024-04", "--role", "chief_accountant", "--signer", "dave")
    assert res.exit_code == 4 and "settle keys create dave" in res.text
    office.ok("keys", "create", "dave")
    (office.keys / "dave.key").unlink()
    res = office.settle("sign", "2024-04", "--role", "chief_accountant", "--signer", "dave")
    assert res.exit_code == 4 and "no private key for signer dave" in res.text


def test_a_tampered_signature_does_not_verify(april_closed: Office) -> None:
    ledger = april_closed.ledger()
    try:
        (run,) = ledger.runs()
        sig = ledger.signatures(run.id)[0]
        assert verify_signature(run, sig) is None
        bad = replace(sig, signature=base64.b64encode(b"\0" * 64).decode())
        assert "does not verify" in verify_signature(run, bad)
        assert "does not verify" in verify_signature(run, replace(sig, signer="mallory"))
        assert verify_signature(replace(run, manifest_sha256="0" * 64), sig) is not None
    finally:
        ledger.dispose()


# ---- reopen -----------------------------------------------------------------------------------------

def test_reopen_makes_a_new_revision_and_the_difference_lands_next_month(april_closed: Office) -> None:
    o = april_closed
    paid = net_pay(o.out / "2024-04" / "pay_lines.csv")
    res = o.ok("reopen", "2024-04", "--reason", "C1 trade of 2024-04-20 was missing", "--json")
    reopened = json.loads(res.stdout)
    assert (reopened["reopened_revision"], reopened["next_revision"]) == (1, 2)
    kept = Path(reopened["kept_at"])
    assert kept.name == "2024-04.r1" and (kept / "closing.json").exists()
    assert not (o.out / "2024-04").exists()
    (row,) = o.status()
    assert (row["state"], row["reopen_reason"]) == ("reopened", "C1 trade of 2024-04-20 was missing")
    assert row["output_dir"] == str(kept)

    write_month(o.data, "2024-04", opening=True, extra_trades=[[20, "C1", "stock", "buy", "1000000", "0.0003"]])
    assert json.loads(o.ok("month", "2024-04", "--json").stdout)["revision"] == 2
    assert o.settle("month", "2024-05").exit_code == 5  # revision 2 is not closed yet
    o.sign_off("2024-04")
    rows = o.status("2024-04")
    assert [(r["revision"], r["state"]) for r in rows] == [(1, "reopened"), (2, "closed")]
    assert len(rows[0]["signatures"]) == 3 and len(rows[1]["signatures"]) == 3
    assert rows[1]["reopen_reason"] == "C1 trade of 2024-04-20 was missing"
    ledger = o.ledger()
    try:
        r1, r2 = ledger.runs(Month(2024, 4))
        assert ledger.net_pay(r1.id) == paid  # the paid revision's rows stay in the ledger
        assert all(verify_signature(r1, s) is None for s in ledger.signatures(r1.id))
    finally:
        ledger.dispose()
    revised = net_pay(o.out / "2024-04" / "pay_lines.csv")
    expected = {m: revised[m] - paid[m] for m in paid if revised[m] != paid[m]}
    assert expected and all(v > 0 for v in expected.values())

    o.ok("month", "2024-05", "--quiet")
    lines = [ln.split(",") for ln in (o.out / "2024-05" / "pay_lines.csv").read_text().splitlines()[1:]]
    retro = {r[1]: Decimal(r[3]) for r in lines if r[2] == "retro_adjustment"}
    assert retro == expected  # RULEBOOK O2: after tax, in the next month
    assert all(r[4] == "O2" for r in lines if r[2] == "retro_adjustment")


def test_reopen_refusals(office: Office) -> None:
    res = office.settle("reopen", "2024-04", "--reason", "x")
    assert res.exit_code == 4 and "not in the ledger" in res.text
    office.keys_for_everyone()
    office.ok("month", "2024-04", "--quiet")
    res = office.settle("reopen", "2024-04", "--reason", "x")
    assert res.exit_code == 4 and "2024-04 revision 1 is draft, not closed" in res.text
    office.sign_off("2024-04")
    office.ok("month", "2024-05", "--quiet")
    office.sign_off("2024-05")
    res = office.settle("reopen", "2024-04", "--reason", "x")
    assert res.exit_code == 4 and "only the latest closed month can be reopened" in res.text
    assert "2024-05 is closed" in res.text
    office.ok("reopen", "2024-05", "--reason", "x")
    res = office.settle("reopen", "2024-05", "--reason", "again")
    assert res.exit_code == 4 and "is reopened, not closed" in res.text
    res = office.settle("reopen", "2024-04", "--reason", "x")
    assert res.exit_code == 4 and "2024-05 is reopened" in res.text


def test_reopen_discards_a_later_draft(april_closed: Office) -> None:
    o = april_closed
    o.ok("month", "2024-05", "--quiet")
    o.sign_off("2024-05", SIGNERS[:1])
    res = o.ok("reopen", "2024-04", "--reason", "late correction")
    assert "discarded the draft 2024-05 revision 1 (draft, 1 signature(s))" in res.text
    assert [(r["month"], r["state"]) for r in o.status()] == [("2024-04", "reopened")]
    assert not (o.out / "2024-05").exists()
    assert o.settle("month", "2024-05").exit_code == 5  # 2024-04 must be closed again first
    o.ok("month", "2024-04", "--quiet")
    o.sign_off("2024-04")
    o.ok("month", "2024-05", "--quiet")
    assert [(r["month"], r["revision"], r["state"]) for r in o.status()] == [
        ("2024-04", 1, "reopened"), ("2024-04", 2, "closed"), ("2024-05", 1, "draft")]


def test_reopen_the_first_ledger_month(april_closed: Office) -> None:
    april_closed.ok("reopen", "2024-04", "--reason", "opening balances corrected")
    res = april_closed.ok("month", "2024-04", "--json")  # opening.csv is read again: still the first month
    assert json.loads(res.stdout)["revision"] == 2
    assert not any("ignored" in w for w in json.loads(res.stdout)["warnings"])


# ---- pay day (O4) -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("month", "day"), [
    ("2024-04", "2024-05-10"),  # a Friday
    ("2024-07", "2024-08-12"),  # the 10th is a Saturday
    ("2024-01", "2024-02-18"),  # Spring Festival holiday to the 17th; the 18th is a working Sunday (PRC)
    ("2024-09", "2024-10-10"),  # after the National Day week
], ids=lambda v: str(v))
def test_pay_day_is_the_10th_or_the_next_prc_working_day(month: str, day: str) -> None:
    m = Month.parse(month)
    rules = resolve(Path(DEFAULT_RULES_DIR), m)
    assert pay_day(m, rules, WorkCalendar(dict(rules.rules.calendar))) == day



# ---- ledger URLs ------------------------------------------------------------------------------------

def test_plain_postgresql_urls_use_psycopg() -> None:
    from cmsettle.ledger.db import engine_for

    for url in ("postgresql://u@localhost/ledger", "postgres://u@localhost/ledger"):
        engine = engine_for(url)
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
        engine.dispose()


def test_an_unreachable_ledger_is_not_ready_and_hides_the_password(tmp_path: Path) -> None:
    o = Office(tmp_path, "postgresql://clerk:secret@127.0.0.1:1/ledger")
    for args in (("status",), ("keys", "create", "alice"), ("month", "2024-04")):
        write_month(o.data, "2024-04")
        res = o.settle(*args)
        assert res.exit_code == 5, res.output
        assert "cannot open the ledger postgresql+psycopg://clerk:***@127.0.0.1:1/ledger" in res.text
        assert "secret" not in res.output


def test_bulk_inserts_store_exact_amounts_and_refuse_floats(tmp_path: Path) -> None:
    """save_run's driver-level executemany binds amounts as DecimalText does: exact text, floats refused."""
    from cmsettle.compute.lines import PayLine
    from cmsettle.compute.state import LedgerState
    from cmsettle.ledger.db import _insert_many
    from cmsettle.ledger import tables as T

    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        rid = ledger.save_run(month=Month(2024, 5), state=LedgerState(), manager_rows=[],
                              lines=[PayLine("M1", "gross_pay", Decimal("12345678901234.56"), "P1", "a"),
                                     PayLine("M1", "net_pay", Decimal("-0.10"), "F1", "b")],
                              rule_set_id="r", rule_set_sha256="0" * 64, manifest_sha256="0" * 64, run_id="x",
                              created_at=datetime(2024, 6, 1, tzinfo=timezone.utc), output_dir="o")
        assert [ln.amount for ln in ledger.pay_lines(rid)] == [Decimal("12345678901234.56"), Decimal("-0.10")]
        with ledger.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT amount FROM pay_line ORDER BY seq").scalars().all()
        assert stored == ["12345678901234.56", "-0.10"]
        with ledger.engine.begin() as conn, pytest.raises(TypeError, match="must be a Decimal"):
            _insert_many(conn, T.pay_line, [dict(run_id=rid, seq=9, manager_id="M1", component="x", amount=1.5,
                                                 rule="r", detail="d")])
    finally:
        ledger.dispose()
