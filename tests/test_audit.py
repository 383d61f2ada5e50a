"""Issue 9: the audit log (hash chain in the ledger and in a JSON-lines file), `settle audit verify`, the log
file, the run lock, reproducible outputs and `settle purge` (RULEBOOK O5).

One office is built per module (April settled with a grade override and closed, May a draft) and copied
for each test that tampers with it; `audit verify` must exit 3 naming the first broken entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import time
from datetime import date
from pathlib import Path

import pytest
from branch_office import AUDIT_FILE, Office
from filelock import FileLock
from fixtures_months import write_month

from cmsettle import DEFAULT_RULES_DIR
from cmsettle.audit import GENESIS, canonical, chain_hash
from cmsettle.errors import InputError, RefusedError
from cmsettle.pipeline import Settings
from cmsettle.retention import latest_allowed, plan_purge


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Office:
    # keys first, then April: the entries are keys ×3, run, override, sign ×3, close, run (May)
    return Office.create(tmp_path_factory.mktemp("audit") / "office")


@pytest.fixture
def office(template: Office, tmp_path: Path) -> Office:
    return template.copy(tmp_path / "office")


def first_break(report: dict) -> tuple[int | None, str]:
    fb = report["first_break"]
    return fb["seq"], fb["what"]


# ---- what the log holds --------------------------------------------------------------------------

def test_every_change_is_one_entry_chained_in_the_ledger_and_the_file(office: Office) -> None:
    lines = office.audit_lines()
    assert [e["action"] for e in lines] == ["keys_create"] * 3 + ["run", "grade_override", "sign", "sign", "sign",
                                                                   "close", "run"]
    prev = GENESIS
    for seq, e in enumerate(lines, start=1):
        h = e.pop("hash")
        assert e["seq"] == seq and e["prev_hash"] == prev
        assert chain_hash(prev, canonical(e)) == h  # hash = sha256(previous hash + canonical JSON of the entry)
        prev = h
    with contextlib.closing(office.db()) as c:
        rows = c.execute("SELECT seq, body, prev_hash, hash FROM audit_entry ORDER BY seq").fetchall()
    assert [(s, h) for s, _, _, h in rows] == [(e["seq"], h) for e, h in
                                               zip(office.audit_lines(), [r[3] for r in rows], strict=True)]
    run = lines[3]
    assert run["month"] == "2024-04" and run["actor"]
    d = run["data"]
    assert d["revision"] == 1 and d["status"] == "draft" and d["rule_set"]["id"] == "default-2024"
    assert len(d["rule_set"]["sha256"]) == 64
    assert {i["table"] for i in d["inputs"]} >= {"roster", "clients", "assets", "trades", "grade_overrides"}
    assert all(len(i["sha256"]) == 64 for i in d["inputs"])
    assert {"pay_lines.csv", "managers.csv", "bank_transfer.csv", "manifest.json"} <= set(d["outputs"])
    manifest = office.root / "out" / "2024-04" / "manifest.json"
    assert d["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    override = lines[4]["data"]
    assert override == {"run_id": d["run_id"], "manager_id": "1003", "grade": "manager",
                        "approved_by": "zhang.jingli", "reason": "promoted by the board"}
    sign = lines[5]["data"]
    assert sign["role"] == "chief_accountant" and sign["signer"] == "alice" and sign["signature"]
    close = lines[8]["data"]
    closing = office.root / "out" / "2024-04" / "closing.json"
    assert close["closing_sha256"] == hashlib.sha256(closing.read_bytes()).hexdigest()


def test_verify_passes_on_an_untouched_office(office: Office) -> None:
    res = office.ok("audit", "verify")
    assert "audit log intact: 10 entries" in res.text and "3 signature(s) verified" in res.text
    report = office.verify()
    assert report["ok"] and report["exit"] == 0 and report["entries"] == report["file_entries"] == 10
    assert report["runs"] == 2 and report["output_files"] > 8


def test_a_dry_run_writes_no_entry_and_a_rule_set_change_and_a_reopen_are_entries(office: Office,
                                                                                   tmp_path: Path) -> None:
    office.ok("month", "2024-05", "--dry-run", "--quiet")
    assert len(office.audit_lines()) == 10
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    text = (rules / "2024-01-default.yaml").read_text(encoding="utf-8")
    text = text.replace("id: default-2024", "id: may-2024").replace("effective_from: 2024-01", "effective_from: 2024-05")
    (rules / "2024-05-may.yaml").write_text(text.replace("retention_years: 30", "retention_years: 31"),
                                            encoding="utf-8")
    office.ok("month", "2024-05", "--quiet", "--rules", str(rules))  # a draft re-run with another rule set
    office.ok("reopen", "2024-04", "--reason", "a trade was missing")
    lines = office.audit_lines()
    assert [e["action"] for e in lines[10:]] == ["run", "rule_set_change", "reopen"]
    change = lines[11]["data"]
    assert change["old"]["id"] == "default-2024" and change["new"]["id"] == "may-2024"
    assert change["old"]["sha256"] != change["new"]["sha256"]
    assert lines[10]["data"]["replaces"]["revision"] == 1
    reopen = lines[12]["data"]
    assert reopen["reason"] == "a trade was missing" and reopen["discarded"][0]["month"] == "2024-05"
    office.ok("month", "2024-04", "--quiet")  # revision 2
    assert office.verify()["ok"]


# ---- tampering is found ------------------------------------------------------------------------------

def _db(office: Office, sql: str, *args: object) -> None:
    with contextlib.closing(office.db()) as c:
        c.execute(sql, args)
        c.commit()


def test_an_entry_edited_in_the_ledger_is_named(office: Office) -> None:
    body = json.loads(dict(_rows(office))[5])
    body["data"]["approved_by"] = "nobody"
    _db(office, "UPDATE audit_entry SET body = ? WHERE seq = 5", canonical(body))
    report = office.verify()
    assert report["exit"] == 3
    seq, what = first_break(report)
    assert seq == 5 and "hash does not match" in " ".join(b["what"] for b in report["breaks"] if b["seq"] == 5)
    res = office.settle("audit", "verify")
    assert res.exit_code == 3 and "the first broken entry is 5" in res.text and "Traceback" not in res.output


def test_an_entry_edited_with_its_hash_recomputed_is_still_found(office: Office) -> None:
    rows = dict(_rows(office))
    body = json.loads(rows[4])
    body["actor"] = "mallory"
    text = canonical(body)
    _db(office, "UPDATE audit_entry SET body = ?, actor = 'mallory', hash = ? WHERE seq = 4", text,
        chain_hash(body["prev_hash"], text))
    report = office.verify()
    assert report["exit"] == 3 and first_break(report)[0] == 4
    whats = {(b["seq"], b["what"]) for b in report["breaks"]}
    assert any(s == 4 and "differ" in w for s, w in whats)  # the file still has the true entry
    assert any(s == 5 and "prev_hash" in w for s, w in whats)  # and the next entry no longer follows


def test_an_entry_deleted_from_the_ledger_is_named(office: Office) -> None:
    _db(office, "DELETE FROM audit_entry WHERE seq = 6")
    report = office.verify()
    assert report["exit"] == 3
    seq, what = first_break(report)
    assert seq == 6 and "missing" in what


def test_the_last_entry_deleted_from_the_ledger_is_found_by_the_file(office: Office) -> None:
    _db(office, "DELETE FROM audit_entry WHERE seq = 10")
    report = office.verify()
    assert report["exit"] == 3
    assert any(b["seq"] == 10 and "the ledger lacks entries 10" in b["what"] for b in report["breaks"])


def test_entries_reordered_in_the_ledger_are_found(office: Office) -> None:
    rows = {r[0]: r for r in _full_rows(office)}
    for seq, other in ((6, rows[7]), (7, rows[6])):
        _db(office, "UPDATE audit_entry SET at = ?, actor = ?, action = ?, month = ?, body = ?, prev_hash = ?, "
                    "hash = ? WHERE seq = ?", *other[1:], seq)
    report = office.verify()
    assert report["exit"] == 3 and first_break(report)[0] == 6


@pytest.mark.parametrize("how", ["edit", "delete", "reorder"])
def test_the_file_edited_deleted_or_reordered_is_found(office: Office, how: str) -> None:
    path = office.root / AUDIT_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if how == "edit":
        lines[2] = lines[2].replace('"name":"carol"', '"name":"carl"')
    elif how == "delete":
        del lines[2]
    else:
        lines[2], lines[3] = lines[3], lines[2]
    path.write_text("".join(lines), encoding="utf-8")
    report = office.verify()
    assert report["exit"] == 3 and first_break(report)[0] == 3, report["breaks"]


def test_one_byte_changed_in_an_output_file_is_named(office: Office) -> None:
    path = office.root / "out" / "2024-05" / "pay_lines.csv"
    data = bytearray(path.read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    report = office.verify()
    assert report["exit"] == 3
    seq, what = first_break(report)
    assert seq == 10 and "pay_lines.csv" in what and "changed since the run" in what


def test_the_final_bank_file_of_a_closed_month_is_checked_against_closing_json(office: Office) -> None:
    path = office.root / "out" / "2024-04" / "bank_transfer.csv"
    path.write_bytes(path.read_bytes().replace(b"1001", b"1009", 1))
    report = office.verify()
    assert report["exit"] == 3 and "bank_transfer.csv" in first_break(report)[1]
    assert "closing.json" in first_break(report)[1]


def test_a_forged_signature_or_a_rewritten_manifest_hash_in_the_ledger_is_found(office: Office) -> None:
    _db(office, "UPDATE signature SET signature = ? WHERE role = 'deputy_manager'", "QUJD" * 22)
    report = office.verify()
    assert report["exit"] == 3
    assert any("does not verify" in b["what"] for b in report["breaks"])
    _db(office, "UPDATE signature SET signature = (SELECT signature FROM signature WHERE role = 'chief_accountant')"
                " WHERE role = 'deputy_manager'")
    _db(office, "UPDATE month_run SET manifest_sha256 = ? WHERE month = '2024-05'", "0" * 64)
    report = office.verify()
    assert any("not the one recorded at the run" in b["what"] for b in report["breaks"])


def test_a_file_cut_short_after_a_commit_is_completed_by_the_next_command(office: Office) -> None:
    path = office.root / AUDIT_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:20])  # the last line half written
    report = office.verify()
    assert report["exit"] == 3 and any("cut short" in b["what"] for b in report["breaks"])
    office.ok("sign", "2024-05", "--role", "chief_accountant", "--signer", "alice")  # takes the lock: repairs
    assert office.actions()[-2:] == ["run", "sign"] and office.verify()["ok"]


def test_a_mismatch_while_another_command_holds_the_lock_is_not_called_a_break(office: Office) -> None:
    path = office.root / AUDIT_FILE
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:-1]))  # as during a run's commit
    with FileLock(str(office.root / "ledger.db.lock")):
        res = office.settle("audit", "verify")
    assert res.exit_code == 4 and "is running" in res.text
    assert office.settle("audit", "verify").exit_code == 3  # once it is over, and still so: a break


def test_no_ledger_and_no_file_is_an_empty_log(tmp_path: Path) -> None:
    office = Office(tmp_path)
    report = office.verify()
    assert report["ok"] and report["entries"] == 0


def _rows(office: Office) -> list[tuple[int, str]]:
    with contextlib.closing(office.db()) as c:
        return c.execute("SELECT seq, body FROM audit_entry ORDER BY seq").fetchall()


def _full_rows(office: Office) -> list[tuple]:
    with contextlib.closing(office.db()) as c:
        return c.execute("SELECT seq, at, actor, action, month, body, prev_hash, hash FROM audit_entry").fetchall()


# ---- the audit file's place; simulate leaves it alone ----------------------------------------------

def test_the_audit_file_follows_audit_option_and_env_and_simulate_never_writes_it(office: Office) -> None:
    office.ok("--audit", "elsewhere.jsonl", "month", "2024-05", "--quiet")
    # a new file starts with the ledger's whole chain, then follows it
    assert len((office.root / "elsewhere.jsonl").read_text(encoding="utf-8").splitlines()) == 11
    before = (office.root / AUDIT_FILE).read_bytes()
    env = {"CMSETTLE_AUDIT": "elsewhere.jsonl"}
    sim = (office.root / "elsewhere.jsonl").read_bytes()
    office.ok("simulate", "2024-04", "2024-05", "--out", "sim", "--quiet", env=env)
    assert (office.root / "elsewhere.jsonl").read_bytes() == sim
    assert (office.root / AUDIT_FILE).read_bytes() == before
    assert office.ok("audit", "verify", "--audit", "elsewhere.jsonl").exit_code == 0


# ---- cron: lock, quiet, log file -------------------------------------------------------------------

def test_a_second_run_of_the_same_ledger_is_refused_at_once(office: Office) -> None:
    with FileLock(str(office.root / "ledger.db.lock")):
        start = time.monotonic()
        res = office.settle("month", "2024-05", "--quiet")
        assert time.monotonic() - start < 5
    assert res.exit_code == 4 and "another cmsettle run holds the lock" in res.text
    assert office.settle("month", "2024-05", "--quiet").exit_code == 0


def test_quiet_prints_nothing_on_success(office: Office) -> None:
    res = office.ok("month", "2024-05", "--quiet")
    assert res.stdout == ""


def test_the_log_file_has_one_line_per_command_and_no_personal_data(office: Office) -> None:
    office.ok("--log", "logs/settle.log", "month", "2024-05", "--quiet")
    env = {"CMSETTLE_LOG": "logs/settle.log"}
    assert office.settle("month", "2024-04", "--quiet", env=env).exit_code == 4  # closed
    assert office.settle("month", "2024-07", "--quiet", env=env).exit_code == 5  # no such folder
    assert office.settle("month", "2024-5", env=env).exit_code == 2
    office.ok("audit", "verify", "--quiet", env=env)
    lines = (office.root / "logs" / "settle.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    pattern = re.compile(r'^\d{4}-\d\d-\d\dT[\d:]+\+00:00 user=\S+ command="([a-z ]+)" month=(\S+) '
                         r'exit=(\d) \(([a-z ]+)\) duration=\d+\.\d\ds pid=\d+$')
    parsed = [pattern.match(x).groups() for x in lines]  # type: ignore[union-attr]
    assert parsed == [("month", "2024-05", "0", "done"), ("month", "2024-04", "4", "refused"),
                      ("month", "2024-07", "5", "not ready"), ("month", "-", "2", "usage error"),
                      ("audit verify", "-", "0", "done")]


# ---- reproducible outputs -----------------------------------------------------------------------------

def test_same_inputs_and_rules_give_byte_identical_outputs_whatever_the_clock(tmp_path: Path, monkeypatch) -> None:
    trees = []
    real = time.time
    for i, shift in enumerate((0, 3 * 86400 + 7)):
        office = Office(tmp_path / f"o{i}")
        write_month(office.root / "data", "2024-04", opening=True)
        monkeypatch.setattr(time, "time", lambda: real() + shift)  # zip entries and "now" would differ
        monkeypatch.setenv("TZ", ("UTC", "Asia/Shanghai")[i])
        time.tzset()
        office.ok("month", "2024-04", "--quiet")
        trees.append(office.tree("out/2024-04"))
    monkeypatch.undo()
    time.tzset()
    assert "pay_report.xlsx" in trees[0] and any(n.startswith("payslips/") for n in trees[0])
    assert trees[0] == trees[1]


# ---- retention (RULEBOOK O5) ------------------------------------------------------------------------

def _old_rules(tmp_path: Path, years: int) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (DEFAULT_RULES_DIR / "2024-01-default.yaml").read_text(encoding="utf-8")
    text = text.replace("effective_from: 2024-01", "effective_from: 2015-01")
    (rules / "2015-01-default.yaml").write_text(text.replace("retention_years: 30", f"retention_years: {years}"),
                                                encoding="utf-8")
    return rules


def test_purge_refuses_anything_younger_than_retention_years(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "data", tmp_path / "out", _old_rules(tmp_path, 30), f"sqlite:///{tmp_path}/l.db")
    assert latest_allowed(30, date(2026, 1, 1)) == 1996
    with pytest.raises(RefusedError, match="latest allowed is --before 1996"):
        plan_purge(settings, 1997, date(2026, 12, 31))
    assert plan_purge(settings, 1996, date(2026, 1, 1)).runs == ()
    path = settings.rules_dir / "2015-01-default.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("retention_years: 30", "retention_years: 4"),
                    encoding="utf-8")
    with pytest.raises(InputError, match="retention_years"):  # never below 5: the rule set is refused
        plan_purge(settings, 1990, date(2026, 1, 1))


def test_purge_lists_by_default_deletes_with_yes_and_records_it(tmp_path: Path) -> None:
    office = Office(tmp_path)
    rules = _old_rules(tmp_path, 5)
    folder = write_month(office.root / "data", "2015-03", opening=True)
    for name in ("roster.csv", "clients.csv"):  # hires and accounts of 2010-2014, before the month
        text = (folder / name).read_text(encoding="utf-8")
        (folder / name).write_text(re.sub(r"\b20(19|2[0-3])-", lambda m: f"201{int(m.group(1)[-1]) % 5}-", text),
                                   encoding="utf-8")
    env = {"CMSETTLE_RULES": str(rules)}
    office.ok("month", "2015-03", "--quiet", env=env)
    refused = office.settle("purge", "--before", str(date.today().year), env=env)
    assert refused.exit_code == 4 and "RULEBOOK O5" in refused.text and "Nothing was deleted" in refused.text
    res = office.ok("purge", "--before", "2016", env=env)
    assert "would purge 1 run(s)" in res.text and "nothing was deleted" in res.text
    assert (office.root / "out" / "2015-03").is_dir() and len(office.runs()) == 1
    res = office.ok("purge", "--before", "2016", "--yes", env=env)
    assert "purged 1 run(s)" in res.text
    assert not (office.root / "out" / "2015-03").exists() and office.runs() == []
    assert office.actions() == ["run", "purge"]
    purge = office.audit_lines()[-1]["data"]
    assert purge["before"] == 2016 and purge["retention_years"] == 5 and purge["runs"][0]["month"] == "2015-03"
    assert office.verify()["ok"]
