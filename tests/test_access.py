"""Issue 9 item 6: payslips, bank file (draft and final) and private keys readable by their owner only; id and
bank numbers never in the log file nor in the audit log; a signer whose key file is not the registered one is
refused (exit 4) and nothing is signed."""

from __future__ import annotations

import contextlib
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
from branch_office import AUDIT_FILE, BANK_NUMBERS, ID_NUMBERS, Office
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cmsettle import audit
from cmsettle.ledger.db import Ledger


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Office:
    return Office.create(tmp_path_factory.mktemp("access") / "office")  # April closed, May a draft


@pytest.fixture
def office(template: Office, tmp_path: Path) -> Office:
    return template.copy(tmp_path / "office")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_payslips_bank_files_and_private_keys_are_for_their_owner_only(template: Office) -> None:
    root = template.root
    for month in ("2024-04", "2024-05"):  # closed (final bank file) and draft
        folder = root / "out" / month
        assert mode(folder / "bank_transfer.csv") == 0o600
        slips = sorted((folder / "payslips").glob("*.html"))
        assert len(slips) == 4 and all(mode(p) == 0o600 for p in slips)
        assert mode(folder / "payslips") == 0o700 and mode(folder) & 0o077 == 0
    assert (root / "out" / "2024-05" / "bank_transfer.csv").read_text(encoding="utf-8").startswith("# DRAFT")
    assert not (root / "out" / "2024-04" / "bank_transfer.csv").read_text(encoding="utf-8").startswith("# DRAFT")
    keys = sorted((root / "keys").glob("*.key"))
    assert len(keys) == 3 and all(mode(k) == 0o600 for k in keys)


def test_id_and_bank_numbers_never_reach_the_audit_log_nor_the_log_file(office: Office) -> None:
    env = {"CMSETTLE_LOG": "settle.log"}
    office.ok("month", "2024-05", "--quiet", env=env)
    office.ok("sign", "2024-05", "--role", "chief_accountant", "--signer", "alice", env=env)
    office.ok("reopen", "2024-04", "--reason", "recheck", env=env)
    office.ok("month", "2024-04", "--quiet", env=env)
    office.ok("explain", "2024-04", "1001", env=env)
    office.ok("audit", "verify", env=env)
    bank = office.root / "out" / "2024-04" / "bank_transfer.csv"
    assert BANK_NUMBERS[0] in bank.read_text(encoding="utf-8")  # the numbers are in the inputs and the bank file
    with contextlib.closing(office.db()) as c:
        bodies = "\n".join(r[0] for r in c.execute("SELECT body FROM audit_entry"))
    texts = {"audit file": (office.root / AUDIT_FILE).read_text(encoding="utf-8"), "ledger audit": bodies,
             "log file": (office.root / "settle.log").read_text(encoding="utf-8")}
    assert len(texts["log file"].splitlines()) == 6
    for where, text in texts.items():
        for number in ID_NUMBERS + BANK_NUMBERS:
            assert number not in text, f"{number} in the {where}"
        assert "id_number" not in text and "bank_account" not in text, where


def test_an_audit_entry_with_personal_data_is_refused(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        with ledger.engine.begin() as conn, pytest.raises(ValueError, match="personal data"):
            audit.append(conn, "run", month="2024-05", actor="x", at=datetime.now(timezone.utc),
                         data={"people": [{"manager_id": "1001", "bank_account": "6222"}]})
    finally:
        ledger.dispose()


def test_a_key_file_that_is_not_the_registered_key_is_refused(office: Office) -> None:
    key = office.root / "keys" / "alice.key"
    os.chmod(key, 0o600)
    other = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption())
    key.write_bytes(other)
    entries = len(office.audit_lines())
    res = office.settle("sign", "2024-05", "--role", "chief_accountant", "--signer", "alice")
    assert res.exit_code == 4
    assert "does not match the public key registered in the ledger" in res.text and "nothing was signed" in res.text
    assert len(office.audit_lines()) == entries
    with contextlib.closing(office.db()) as c:
        assert c.execute("SELECT count(*) FROM signature s JOIN month_run r ON r.id = s.run_id "
                         "WHERE r.month = '2024-05'").fetchone()[0] == 0
    os.chmod(key, 0o644)
    res = office.settle("sign", "2024-05", "--role", "chief_accountant", "--signer", "alice")
    assert res.exit_code == 4 and "readable by others" in res.text



def test_the_sample_months_id_and_bank_numbers_stay_out_of_the_audit_log_and_the_log(tmp_path: Path) -> None:
    """The sample branch's roster (sample_data/2024-03, Chinese headers 银行账号 and 身份证号) settled and signed."""
    import csv

    from cmsettle import PROJECT_ROOT

    with open(PROJECT_ROOT / "sample_data" / "2024-03" / "roster.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    numbers = {r["银行账号"] for r in rows if r["银行账号"]} | {r["身份证号"] for r in rows if r["身份证号"]}
    assert len(numbers) > 40
    office = Office(tmp_path)
    env = {"CMSETTLE_DATA": str(PROJECT_ROOT / "sample_data"), "CMSETTLE_LOG": "settle.log"}
    office.ok("keys", "create", "alice", env=env)
    office.ok("month", "2024-03", "--quiet", env=env)
    office.ok("sign", "2024-03", "--role", "chief_accountant", "--signer", "alice", env=env)
    bank = (tmp_path / "out" / "2024-03" / "bank_transfer.csv").read_text(encoding="utf-8")
    assert sum(n in bank for n in numbers) > 20  # the bank file has them
    for name in (AUDIT_FILE, "settle.log"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert not [n for n in numbers if n in text], name
