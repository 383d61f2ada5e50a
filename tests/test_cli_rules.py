"""``settle rules validate | show | diff`` through Typer's CliRunner: exact output and exit codes (CLI.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))  # tests/ruleset_cases.py

from ruleset_cases import PACKAGED, build, variant  # noqa: E402

from cmsettle.cli_rules import rules_app  # noqa: E402
from cmsettle.ruleset.loader import parse_ruleset  # noqa: E402

app = typer.Typer()
app.add_typer(rules_app, name="rules")

runner = CliRunner()
SHA = parse_ruleset(PACKAGED).sha256

BRANCH = "\n".join([
    "id: branch-2024-05",
    "effective_from: 2024-05",
    "description: the branch raises the account bonus and the senior base rate",
    "calendar: {2027: {holidays: [2027-05-03], workdays: [2027-04-25]}}",
    "",
])


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, ["rules", *args], env=env)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """rules/ with the packaged defaults (2024-01) and a branch rule set effective 2024-05."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "2024-01-default.yaml").write_text(PACKAGED.read_text(encoding="utf-8"), encoding="utf-8")
    text = (variant(folder, "2024-05-branch.yaml", BRANCH).read_text(encoding="utf-8")
            .replace("  account_bonus: 50 ", "  account_bonus: 60 ")
            .replace("base_rate: 0.25", "base_rate: 0.27"))
    (folder / "2024-05-branch.yaml").write_text(text, encoding="utf-8")
    return folder


# validate ---------------------------------------------------------------------------------------------

def test_validate_the_packaged_rules_by_default() -> None:
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"OK {PACKAGED}: default-2024, effective_from 2024-01, sha256 {SHA}\n"
    assert result.stderr == ""


def test_validate_a_folder_one_line_per_file(rules_dir: Path) -> None:
    result = run("validate", str(rules_dir))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    default, branch = rules_dir / "2024-01-default.yaml", rules_dir / "2024-05-branch.yaml"
    assert lines[0] == f"OK {default}: default-2024, effective_from 2024-01, sha256 {SHA}"
    assert lines[1].startswith(f"OK {branch}: branch-2024-05, effective_from 2024-05, sha256 ")


def test_validate_a_bad_file_lists_every_problem_and_exits_3(tmp_path: Path) -> None:
    path = build("two_errors.yaml", tmp_path)
    result = run("validate", str(path))
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:6 grades.senior.base_rate: out of range: got 1.5, expected a rate from 0 to 1 (0.05 is 5%)",
        f"{path}:8 commission_bonus: unknown key, expected one of the keys id, effective_from, description, "
        "metrics, score, management_score, grades, grading, earnings, teams, attendance, penalties, "
        "risk_fund, social_insurance, tax, payday, records, calendar",
        "2 problem(s) in the rule set(s)",
    ]


def test_validate_json(tmp_path: Path) -> None:
    path = build("management_fee_above_cap.yaml", tmp_path)
    result = run("validate", str(path), "--json")
    assert result.exit_code == 3
    assert json.loads(result.stdout) == {"ok": False, "files": [], "problems": [{
        "file": str(path), "line": 7, "key": "penalties.management_fee_rate", "message": "out of range",
        "value": "0.06", "expected": "a rate from 0 to 0.05 (X6: at most 5%)",
    }]}
    ok = json.loads(run("validate", str(PACKAGED), "--json").stdout)
    assert ok == {"ok": True, "problems": [], "files": [
        {"file": str(PACKAGED), "id": "default-2024", "effective_from": "2024-01", "sha256": SHA}]}


def test_validate_a_folder_with_two_rule_sets_for_one_month(rules_dir: Path) -> None:
    variant(rules_dir, "2024-05-copy.yaml", "id: copy\neffective_from: 2024-05\n")
    result = run("validate", str(rules_dir))
    assert result.exit_code == 3
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        f"OK {rules_dir / '2024-01-default.yaml'}", f"OK {rules_dir / '2024-05-branch.yaml'}"]
    first, last = result.stderr.splitlines()
    copy, branch = rules_dir / "2024-05-copy.yaml", rules_dir / "2024-05-branch.yaml"
    assert first == (f"{copy}:2 effective_from: effective_from 2024-05 is also used by {branch}, "
                     "expected one rule set per effective_from month")
    assert last == "1 problem(s) in the rule set(s)"


def test_validate_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert run("validate", str(tmp_path / "nope")).exit_code == 2


# show -------------------------------------------------------------------------------------------------

def test_show_the_rule_set_in_force() -> None:
    result = run("show", "2024-05")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Rule set default-2024 in force for 2024-05\n  effective_from 2024-01\n")
    assert f"  file {PACKAGED}\n  sha256 {SHA}\n" in out
    assert "\n  working days of 2024: PRC calendar (chinese_calendar)\n" in out
    # §9 grades table, one row per grade with its Chinese term
    assert "grades (G1, §9)" in out
    chief = next(line for line in out.splitlines() if "chief" in line)
    for cell in ("首席营销经理", "12,000,000", "5,000", "30%", "8", "2,000,000", "40,000", "300"):
        assert cell in chief
    # every section, each parameter with its RULEBOOK id and term
    for title in ("metrics", "score (M6)", "management_score (M7)", "grading", "earnings", "teams",
                  "attendance", "penalties", "risk_fund", "social_insurance (TX1)", "tax (TX2, TX3)",
                  "tax.brackets (TX2)", "payday", "records", "calendar (D44)"):
        assert f"\n{title}" in out, title
    rate = next(line for line in out.splitlines() if "revenue_tax_rate" in line)
    assert "0.0565" in rate and "M5" in rate and "营业税率及附加" in rate
    days = next(line for line in out.splitlines() if "statutory_pay_days" in line)
    assert "21.75" in days and "A2" in days


def test_show_json_and_the_rules_option(rules_dir: Path) -> None:
    result = run("show", "2024-05", "--rules", str(rules_dir), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["id"], data["effective_from"], data["file"]) == (
        "branch-2024-05", "2024-05", str(rules_dir / "2024-05-branch.yaml"))
    assert data["parameters"]["earnings.account_bonus"] == {"value": "60", "rulebook": ["P4"]}
    assert data["parameters"]["calendar.2027.holidays"] == {"value": "[2027-05-03]", "rulebook": ["D44"]}
    earlier = json.loads(run("show", "2024-04", "--json", env={"CMSETTLE_RULES": str(rules_dir)}).stdout)
    assert earlier["id"] == "default-2024"
    assert earlier["parameters"]["earnings.account_bonus"]["value"] == "50"


def test_show_says_where_working_days_come_from(rules_dir: Path) -> None:
    own = run("show", "2027-05", "--rules", str(rules_dir)).stdout
    assert "working days of 2027: rule set calendar\n" in own
    fallback = run("show", "2027-05").stdout
    assert ("working days of 2027: Monday-Friday fallback (warning: no official calendar for this year)"
            in fallback)


def test_show_errors(rules_dir: Path, tmp_path: Path) -> None:
    bad_month = run("show", "2024-13")
    assert bad_month.exit_code == 2 and "'2024-13' is not a month" in bad_month.output
    too_early = run("show", "2023-12", "--rules", str(rules_dir))
    assert too_early.exit_code == 3
    assert too_early.stderr.splitlines()[0] == (
        f"{rules_dir}: no rule set in force for 2023-12, expected a rule set with effective_from <= 2023-12")
    build("cap_negative.yaml", rules_dir)
    broken = run("show", "2024-05", "--rules", str(rules_dir))
    assert broken.exit_code == 3
    assert f"{rules_dir / 'cap_negative.yaml'}:5 risk_fund.caps.marketer" in broken.stderr


# diff -------------------------------------------------------------------------------------------------

def test_diff_two_months(rules_dir: Path) -> None:
    result = run("diff", "2024-04", "2024-05", "--rules", str(rules_dir))
    assert result.exit_code == 0, result.output
    branch = parse_ruleset(rules_dir / "2024-05-branch.yaml")
    assert result.stdout.splitlines() == [
        f"A: default-2024 (effective_from 2024-01) {rules_dir / '2024-01-default.yaml'} sha256 {SHA}",
        f"B: branch-2024-05 (effective_from 2024-05) {branch.path} sha256 {branch.sha256}",
        "4 parameter(s) differ:",
        "  grades.senior.base_rate: 0.25 → 0.27  (P3)",
        "  earnings.account_bonus: 50 → 60  (P4)",
        "  calendar.2027.holidays: (absent) → [2027-05-03]  (D44, added)",
        "  calendar.2027.workdays: (absent) → [2027-04-25]  (D44, added)",
    ]


def test_diff_files_json_and_reverse(rules_dir: Path) -> None:
    result = run("diff", str(rules_dir / "2024-05-branch.yaml"), str(PACKAGED), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["a"]["id"], data["b"]["id"], data["b"]["sha256"]) == ("branch-2024-05", "default-2024", SHA)
    assert data["changes"] == [
        {"key": "grades.senior.base_rate", "kind": "changed", "old": "0.27", "new": "0.25",
         "rulebook": ["P3"]},
        {"key": "earnings.account_bonus", "kind": "changed", "old": "60", "new": "50", "rulebook": ["P4"]},
        {"key": "calendar.2027.holidays", "kind": "removed", "old": "[2027-05-03]", "new": "(absent)",
         "rulebook": ["D44"]},
        {"key": "calendar.2027.workdays", "kind": "removed", "old": "[2027-04-25]", "new": "(absent)",
         "rulebook": ["D44"]},
    ]


def test_diff_a_file_against_a_month_with_no_difference(rules_dir: Path) -> None:
    result = run("diff", str(PACKAGED), "2024-02", "--rules", str(rules_dir))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "no parameter differs"


def test_diff_errors(tmp_path: Path) -> None:
    neither = run("diff", "foo", "2024-05")
    assert neither.exit_code == 2 and "'foo' is neither a rule-set file nor a month YYYY-MM" in neither.output
    bad = build("score_floor_above_cap.yaml", tmp_path)
    result = run("diff", str(PACKAGED), str(bad))
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == (
        f"{bad}:5 score.floor: score floor 1.30 is above its cap 1.20, expected floor <= cap (M6 clamp), "
        "here at most 1.20")


def test_every_rules_command_has_help() -> None:
    for command in ("validate", "show", "diff"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "--json" in result.output
    assert "Check, show and compare" in run("--help").output
