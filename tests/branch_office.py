"""A branch office in one folder for the audit, crash and access tests (issue 9), driven through `settle`.

Every path is relative to the office's folder (commands run with it as the working folder), so a whole
office, ledger, outputs, keys, audit file and all, can be copied and tampered with in a test:

    office = Office.create(tmp_path)          # April (first month, with a grade override) settled and closed,
                                              # May settled as a draft
    with office.inside():
        office.ok("audit", "verify")

The roster carries id and bank numbers (ID_NUMBERS, BANK_NUMBERS) that must never reach the audit log nor
the log file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from fixtures_months import ROSTER, csv_bytes, write_month
from typer.testing import CliRunner

from cmsettle import DEFAULT_RULES_DIR
from cmsettle.cli import app

SIGNERS = (("chief_accountant", "alice"), ("deputy_manager", "bob"), ("branch_manager", "carol"))
ID_NUMBERS = ("110101199001011234", "110101198506152345", "11010119920303345X", "110101197812124567")
BANK_NUMBERS = tuple(r[-1] for r in ROSTER[1:])
ENV = {"CMSETTLE_DATA": "data", "CMSETTLE_OUT": "out", "CMSETTLE_DB": "sqlite:///ledger.db", "CMSETTLE_KEYS": "keys",
       "CMSETTLE_RULES": str(DEFAULT_RULES_DIR), "CMSETTLE_AUDIT": None, "CMSETTLE_LOG": None, "COLUMNS": "200",
       "CMSETTLE_TEST_CRASH_AT": None, "CMSETTLE_TEST_FORK_FROM": None, "CMSETTLE_TEST_AHEAD_FROM": None}
AUDIT_FILE = "ledger.audit.jsonl"


def roster_with_ids() -> bytes:
    rows = [ROSTER[0] + ["id_number"]] + [r + [i] for r, i in zip(ROSTER[1:], ID_NUMBERS, strict=True)]
    return csv_bytes(rows)


def write_months(data: Path) -> None:
    for month, first in (("2024-04", True), ("2024-05", False), ("2024-06", False)):
        folder = write_month(data, month, opening=first)
        (folder / "roster.csv").write_bytes(roster_with_ids())
    (data / "2024-04" / "grade_overrides.csv").write_bytes(csv_bytes([
        ["manager_id", "grade", "approved_by", "reason"], ["1003", "manager", "zhang.jingli", "promoted by the board"]]))


class Office:
    def __init__(self, root: Path):
        self.root = root
        self.runner = CliRunner()

    @classmethod
    def create(cls, root: Path, *, close_april: bool = True, settle_may: bool = True) -> "Office":
        root.mkdir(parents=True, exist_ok=True)
        office = cls(root)
        write_months(root / "data")
        with office.inside():
            for _, name in SIGNERS:
                office.ok("keys", "create", name)
            office.ok("month", "2024-04", "--quiet")
            if close_april:
                office.sign_off("2024-04")
            if settle_may:
                office.ok("month", "2024-05", "--quiet")
        return office

    def copy(self, root: Path) -> "Office":
        shutil.copytree(self.root, root, symlinks=True)
        return Office(root)

    @contextlib.contextmanager
    def inside(self) -> Iterator["Office"]:
        here = os.getcwd()
        os.chdir(self.root)
        try:
            yield self
        finally:
            os.chdir(here)

    def settle(self, *args: str, env: dict | None = None):  # noqa: ANN201
        with self.inside():
            result = self.runner.invoke(app, list(args), env={**ENV, **(env or {})})
        result.text = " ".join(result.output.split())
        return result

    def ok(self, *args: str, env: dict | None = None):  # noqa: ANN201
        result = self.settle(*args, env=env)
        assert result.exit_code == 0, result.output
        return result

    def sign_off(self, month: str) -> None:
        for role, name in SIGNERS:
            self.ok("sign", month, "--role", role, "--signer", name)

    def verify(self) -> dict:
        """`settle audit verify --json`: the report, with the exit code under "exit"."""
        res = self.settle("audit", "verify", "--json")
        report = json.loads(res.stdout)
        report["exit"] = res.exit_code
        return report

    def subprocess(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """`python -m cmsettle ARGS` in a child process (for SIGKILL tests)."""
        full = {k: v for k, v in os.environ.items() if not k.startswith("CMSETTLE_")}
        full.update({k: v for k, v in {**ENV, **(env or {})}.items() if v is not None})
        return subprocess.run([sys.executable, "-m", "cmsettle", *args], cwd=self.root, env=full,
                              capture_output=True, text=True, timeout=120)

    # ---- direct looks at the evidence --------------------------------------------------------------
    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "ledger.db")

    def audit_lines(self) -> list[dict]:
        return [json.loads(x) for x in (self.root / AUDIT_FILE).read_text(encoding="utf-8").splitlines()]

    def actions(self) -> list[str]:
        return [e["action"] for e in self.audit_lines()]

    def runs(self) -> list[tuple]:
        with contextlib.closing(self.db()) as c:
            return c.execute("SELECT month, revision, status, run_id, manifest_sha256 FROM month_run "
                             "ORDER BY month, revision").fetchall()

    def tree(self, folder: str) -> dict[str, bytes]:
        """Every file under ``folder`` (relative names) with its bytes; hidden entries (staging) left out."""
        base = self.root / folder
        files = (p.relative_to(base) for p in sorted(base.rglob("*")) if p.is_file())
        return {str(p): (base / p).read_bytes() for p in files if not p.parts[0].startswith(".")}
