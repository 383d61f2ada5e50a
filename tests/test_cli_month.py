"""`settle month`, `grades --dry-run`, `explain`, `simulate` through Typer's runner on the sample branch.

Covers: DATA.md columns of the outputs, a dry run leaving every file and the ledger byte-identical (G8),
bad input (a negative turnover) exiting 3 with no output folder and no ledger (issue 3), a draft re-run
giving byte-identical outputs (O2), and the exit codes of CLI.md.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmsettle import PROJECT_ROOT
from cmsettle.cli import app
from cmsettle.outputs.tables import BANK_COLUMNS, MANAGER_COLUMNS, PAY_LINE_COLUMNS

SAMPLE = PROJECT_ROOT / "sample_data"
runner = CliRunner()


def invoke(*args: str):  # noqa: ANN201
    return runner.invoke(app, list(args), catch_exceptions=False)


def tree_digest(*roots: Path) -> dict[str, str]:
    """sha256 of every file under the roots (missing roots give nothing)."""
    out = {}
    for root in roots:
        if root.is_file():
            out[str(root)] = hashlib.sha256(root.read_bytes()).hexdigest()
        elif root.exists():
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    return {"data": str(SAMPLE), "out": str(tmp_path / "out"), "db": f"sqlite:///{tmp_path / 'ledger.db'}",
            "tmp": str(tmp_path)}


def opts(env: dict[str, str], *names: str) -> list[str]:
    return [x for n in names for x in (f"--{n}", env[n])]


def test_month_writes_the_data_md_outputs(env: dict[str, str]) -> None:
    r = invoke("month", "2024-03", *opts(env, "data", "out", "db"), "--quiet")
    assert r.exit_code == 0, r.output
    folder = Path(env["out"]) / "2024-03"
    with (folder / "pay_lines.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == PAY_LINE_COLUMNS == ["month", "manager_id", "component", "amount", "rule", "detail"]
    with (folder / "managers.csv").open(encoding="utf-8") as fh:
        mrows = list(csv.DictReader(fh))
    assert list(mrows[0]) == MANAGER_COLUMNS
    people = {m["manager_id"] for m in mrows}
    # every person settled has exactly one gross_pay and one net_pay line (DATA.md)
    for comp in ("gross_pay", "net_pay"):
        assert sorted(r[1] for r in rows[1:] if r[2] == comp) == sorted(people)
    # amounts with 2 decimals; every rule column names a RULEBOOK id
    assert all(len(r[3].split(".")[1]) == 2 for r in rows[1:])
    assert all(r[4] for r in rows[1:])
    bank = (folder / "bank_transfer.csv").read_text(encoding="utf-8").splitlines()
    assert bank[0].startswith("# DRAFT") and bank[1].split(",") == BANK_COLUMNS


def test_bad_input_exits_3_and_writes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SAMPLE / "2024-03", data / "2024-03")
    trades = next((data / "2024-03").glob("trades.*"))
    raw = trades.read_bytes()
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    header = next(csv.reader([lines[0]]))
    cells = next(csv.reader([lines[1]]))
    col = next(i for i, h in enumerate(header) if h in ("turnover", "成交金额", "成交金额(元)"))
    cells[col] = "-1000.00"
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    lines[1] = buf.getvalue().rstrip("\n")
    trades.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["month", "2024-03", "--data", str(data), "--out", env["out"], "--db", env["db"]])
    assert r.exit_code == 3, r.output
    assert "trades" in r.output and "turnover" in r.output and "-1000.00" in r.output and ":2" in r.output
    assert not Path(env["out"]).joinpath("2024-03").exists()
    assert not (tmp_path / "ledger.db").exists()


@pytest.mark.parametrize("url", ["not a url", "ledger.db", "postgresql://user@host:port/db"])
def test_a_malformed_ledger_url_is_a_usage_error_and_writes_nothing(env: dict[str, str], tmp_path: Path,
                                                                     url: str) -> None:
    """Exit 2 with the URL named, whether the command line's own check (no scheme) or SQLAlchemy's parse
    (a port that is not a number) finds it; no month folder and no staging folder are written."""
    r = runner.invoke(app, ["month", "2024-03", "--data", str(SAMPLE), "--out", env["out"], "--db", url])
    assert r.exit_code == 2, r.output
    assert "not a database URL" in r.output and url in r.output
    assert not Path(env["out"]).joinpath("2024-03").exists()
    assert not list(Path(env["out"]).glob("2024-03*")) and not list(Path(env["out"]).glob(".2024-03*"))


def test_dry_run_changes_nothing_anywhere(env: dict[str, str], tmp_path: Path) -> None:
    """G8: month --dry-run and grades --dry-run leave the outputs and the ledger byte-identical."""
    assert invoke("month", "2024-03", *opts(env, "data", "out", "db"), "--quiet").exit_code == 0
    before = tree_digest(tmp_path)
    r1 = invoke("month", "2024-03", *opts(env, "data", "out", "db"), "--dry-run")
    r2 = invoke("grades", "2024-03", "--dry-run", *opts(env, "data", "db"))
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    assert "nothing was written" in r2.output and "grade change(s)" in r2.output
    assert tree_digest(tmp_path) == before


def test_dry_run_on_a_fresh_ledger_creates_nothing(env: dict[str, str], tmp_path: Path) -> None:
    r = invoke("month", "2024-03", *opts(env, "data", "out", "db"), "--dry-run", "--quiet")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_draft_rerun_is_byte_identical(env: dict[str, str]) -> None:
    """O2: same inputs, same rules → byte-identical outputs."""
    assert invoke("month", "2024-03", *opts(env, "data", "out", "db"), "--quiet").exit_code == 0
    first = tree_digest(Path(env["out"]))
    assert invoke("month", "2024-03", *opts(env, "data", "out", "db"), "--quiet").exit_code == 0
    assert tree_digest(Path(env["out"])) == first


def test_next_month_needs_the_previous_closed(env: dict[str, str]) -> None:
    assert invoke("month", "2024-03", *opts(env, "data", "out", "db"), "--quiet").exit_code == 0
    r = runner.invoke(app, ["month", "2024-04", *opts(env, "data", "out", "db")])
    assert r.exit_code == 5 and "2024-03 is not closed" in r.output


def test_usage_errors_exit_2(env: dict[str, str]) -> None:
    assert runner.invoke(app, ["month", "2024-13"]).exit_code == 2
    assert runner.invoke(app, ["month", "2024-03", "--no-such-option"]).exit_code == 2


def test_missing_month_folder_exits_5(env: dict[str, str]) -> None:
    r = runner.invoke(app, ["month", "2031-01", *opts(env, "data", "out", "db")])
    assert r.exit_code == 5, r.output


def test_explain_lists_every_line_with_rule_and_formula(env: dict[str, str]) -> None:
    assert invoke("month", "2024-03", *opts(env, "data", "out", "db"), "--quiet").exit_code == 0
    with (Path(env["out"]) / "2024-03" / "pay_lines.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh)]
    mid = rows[0]["manager_id"]
    mine = [r for r in rows if r["manager_id"] == mid]
    r = invoke("explain", "2024-03", mid, *opts(env, "data", "db"), "--json")
    assert r.exit_code == 0, r.output
    import json

    info = json.loads(r.output)
    assert [(x["component"], x["amount"], x["rule"], x["detail"]) for x in info["lines"]] == [
        (x["component"], x["amount"], x["rule"], x["detail"]) for x in mine]
    assert info["grade_in_effect"] and "grade_reason" in info


def test_simulate_writes_each_month_and_compares(env: dict[str, str], tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("simulate", "2024-03", "2024-04", "--data", env["data"], "--out", str(a), "--quiet").exit_code == 0
    assert (a / "2024-03" / "pay_lines.csv").exists() and (a / "2024-04" / "managers.csv").exists()
    assert not Path(env["db"].removeprefix("sqlite:///")).exists()  # the real ledger is never touched
    # a rule change: account bonus 50 → 60 from 2024-04 (P4)
    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    text = (rules / "2024-01-default.yaml").read_text(encoding="utf-8")
    text = text.replace("id: default-2024", "id: bonus-60").replace("effective_from: 2024-01", "effective_from: 2024-04")
    text = text.replace("account_bonus: 50 ", "account_bonus: 60 ")
    (rules / "2024-04-bonus.yaml").write_text(text, encoding="utf-8")
    r = invoke("simulate", "2024-03", "2024-04", "--data", env["data"], "--out", str(b), "--rules", str(rules),
               "--compare-with", str(a), "--json")
    assert r.exit_code == 0, r.output
    import json

    diffs = json.loads(r.output)["compare"]["differences"]
    assert diffs, "the bonus change must show"
    assert {d["month"] for d in diffs} == {"2024-04"}
    for d in diffs:
        if d["component"] == "account_bonus":
            # P4: EA × 60 vs EA × 50: the difference is EA × 10
            assert Decimal(d["this"]) / 60 == Decimal(d["other"]) / 50
