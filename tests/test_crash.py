"""Issue 9 item 2: a run killed with SIGKILL at any point leaves the previous state intact, and the next run
succeeds (no lock left held, no half folder, no half transaction).

The child process is `python -m cmsettle month 2024-05` with CMSETTLE_TEST_CRASH_AT naming the point where it
kills itself (cmsettle.pipeline.crash_point): after reading the inputs, after computing, halfway through writing
the staged outputs, inside the ledger transaction (after the audit entries, before the commit), and just after
the commit (before the outputs are moved into place and the audit file is written: the next command under the
lock completes both).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from branch_office import AUDIT_FILE, Office
from fixtures_months import write_month

BEFORE_COMMIT = ("inputs", "compute", "outputs", "ledger")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Office:
    return Office.create(tmp_path_factory.mktemp("crash") / "office")  # April closed, May a draft


@pytest.fixture
def office(template: Office, tmp_path: Path) -> Office:
    office = template.copy(tmp_path / "office")
    write_month(office.root / "data", "2024-05", extra_trades=[["20", "C1", "stock", "buy", "3000000", "0.0003"]])
    return office  # May's inputs changed since its draft: a re-run makes different outputs


def snapshot(office: Office) -> tuple:
    return (office.runs(), office.tree("out"), (office.root / AUDIT_FILE).read_bytes(),
            _audit_rows(office))


def _audit_rows(office: Office) -> list:
    with office.db() as c:
        return c.execute("SELECT * FROM audit_entry ORDER BY seq").fetchall()


def killed(office: Office, stage: str, env: dict | None = None) -> None:
    res = office.subprocess("month", "2024-05", "--quiet", env={"CMSETTLE_TEST_CRASH_AT": stage, **(env or {})})
    assert res.returncode == -signal.SIGKILL, (res.returncode, res.stderr)


@pytest.mark.parametrize("stage, env", [*((s, None) for s in BEFORE_COMMIT),
                                        ("outputs", {"CMSETTLE_TEST_FORK_FROM": "0"})],
                         ids=[*BEFORE_COMMIT, "outputs-forked"])
def test_a_run_killed_before_its_commit_leaves_everything_as_it_was(office: Office, stage: str,
                                                                    env: dict | None) -> None:
    before = snapshot(office)
    killed(office, stage, env)  # outputs-forked: the forked process dies too (cmsettle.pipeline.OutputJobs)
    assert office.runs() == before[0]
    assert office.tree("out") == before[1]  # hidden staging folders are not in the month folders
    assert (office.root / AUDIT_FILE).read_bytes() == before[2] and _audit_rows(office) == before[3]
    assert office.verify()["ok"]
    assert (office.root / "ledger.db.lock").exists()  # the lock file stays; its fcntl lock died with the process
    office.ok("month", "2024-05", "--quiet")  # so the next run is not blocked, and succeeds
    after = office.runs()
    assert after[-1][0] == "2024-05" and after[-1][3] != before[0][-1][3]  # a new run id: the new inputs
    assert not [p for p in (office.root / "out").iterdir() if p.name.startswith(".2024-05.")]  # staging cleared
    assert office.verify()["ok"]


def test_a_run_killed_just_after_its_commit_is_completed_by_the_next_command(office: Office) -> None:
    old_runs, old_out = office.runs(), office.tree("out")
    entries = len(office.audit_lines())
    killed(office, "commit")
    new_runs = office.runs()
    assert new_runs != old_runs and new_runs[-1][0] == "2024-05"  # committed: the ledger has the new draft
    assert office.tree("out") == old_out  # but the outputs are still the old ones, staged beside them
    assert len(office.audit_lines()) == entries  # and the audit file is one entry behind
    report = office.verify()
    assert not report["ok"] and any("lacks entries" in b["what"] for b in report["breaks"])
    # signing takes the lock, which first moves the committed outputs into place and completes the file;
    # the signature then finds the outputs exactly as the ledger recorded them
    office.ok("sign", "2024-05", "--role", "chief_accountant", "--signer", "alice")
    assert office.tree("out")["2024-05/manifest.json"] != old_out["2024-05/manifest.json"]
    assert office.actions()[-2:] == ["run", "sign"]
    assert office.verify()["ok"]


def test_a_first_run_killed_in_its_transaction_leaves_no_run(tmp_path: Path) -> None:
    office = Office(tmp_path)
    write_month(office.root / "data", "2024-04", opening=True)
    killed_res = office.subprocess("month", "2024-04", "--quiet", env={"CMSETTLE_TEST_CRASH_AT": "ledger"})
    assert killed_res.returncode == -signal.SIGKILL
    assert office.runs() == [] and not (office.root / "out" / "2024-04").exists()
    office.ok("month", "2024-04", "--quiet")
    assert len(office.runs()) == 1 and office.verify()["ok"]


def test_a_close_killed_before_its_commit_is_undone_and_can_be_signed_again(tmp_path: Path) -> None:
    office = Office.create(tmp_path / "office", close_april=False, settle_may=False)
    office.ok("sign", "2024-04", "--role", "chief_accountant", "--signer", "alice")
    office.ok("sign", "2024-04", "--role", "deputy_manager", "--signer", "bob")
    drafts, runs, entries = office.tree("out/2024-04"), office.runs(), _audit_rows(office)
    res = office.subprocess("sign", "2024-04", "--role", "branch_manager", "--signer", "carol",
                            env={"CMSETTLE_TEST_CRASH_AT": "close"})
    assert res.returncode == -signal.SIGKILL, res.stderr
    assert office.runs() == runs and _audit_rows(office) == entries  # the ledger: still a draft, 2 signatures
    folder = office.root / "out" / "2024-04"
    assert (folder / "closing.json").exists()  # the files were final already
    assert not (folder / "bank_transfer.csv").read_text(encoding="utf-8").startswith("# DRAFT")
    office.ok("status")  # does not take the lock: nothing is repaired yet
    office.ok("sign", "2024-04", "--role", "branch_manager", "--signer", "carol")  # the lock repairs, then closes
    assert office.runs()[0][2] == "closed" and office.actions()[-2:] == ["sign", "close"]
    after = office.tree("out/2024-04")
    assert after["manifest.json"] == drafts["manifest.json"] and "closing.json" in after
    assert not [p for p in folder.iterdir() if p.name.endswith(".draft")]
    assert office.verify()["ok"]


def test_the_drafts_kept_by_a_close_go_once_it_commits(template: Office) -> None:
    folder = template.root / "out" / "2024-04"  # closed in the template
    assert (folder / "closing.json").exists() and not [p for p in folder.iterdir() if p.name.endswith(".draft")]
