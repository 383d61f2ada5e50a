"""Issue 4: a rule set effective 2024-05 that raises the `manager` commission base (P3) from 20% to 22%.

The sample run's 2024-05 lines change exactly where that parameter applies (the commission of people whose
grade in effect is `manager`, and what follows from it: gross pay, income tax, risk fund withholding, net
pay) and nowhere else; managers.csv is unchanged; 2024-03 and 2024-04 are unchanged.
"""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmsettle import PROJECT_ROOT
from cmsettle.cli import app

DOWNSTREAM_OF_P3 = {"commission", "gross_pay", "income_tax", "risk_fund_withholding", "net_pay",
                    "deduction_carried_out", "management_fee"}


def lines(folder: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (folder / "pay_lines.csv").open(encoding="utf-8") as fh:
        return {(r["manager_id"], r["component"]): r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("rule-change")
    rules = tmp / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    text = (rules / "2024-01-default.yaml").read_text(encoding="utf-8")
    old = "  manager:                         # 营销经理\n    threshold: 3000000\n    fixed_standard: {1: 2500}\n    base_rate: 0.20"
    assert old in text
    text = text.replace(old, old.replace("base_rate: 0.20", "base_rate: 0.22"))
    text = text.replace("id: default-2024", "id: manager-base-22").replace("effective_from: 2024-01",
                                                                            "effective_from: 2024-05")
    (rules / "2024-05-manager-base.yaml").write_text(text, encoding="utf-8")
    base, changed = tmp / "base", tmp / "changed"
    runner = CliRunner()
    for out, extra in ((base, []), (changed, ["--rules", str(rules)])):
        r = runner.invoke(app, ["simulate", "2024-03", "2024-05", "--data", str(PROJECT_ROOT / "sample_data"),
                                "--out", str(out), "--quiet", *extra], catch_exceptions=False)
        assert r.exit_code == 0, r.output
    return base, changed


@pytest.mark.parametrize("month", ["2024-03", "2024-04"])
def test_months_before_the_rule_set_are_unchanged(runs: tuple[Path, Path], month: str) -> None:
    base, changed = runs
    for name in ("pay_lines.csv", "managers.csv"):
        assert (base / month / name).read_bytes() == (changed / month / name).read_bytes()


def test_2024_05_changes_exactly_where_p3_applies(runs: tuple[Path, Path]) -> None:
    base, changed = runs
    assert (base / "2024-05" / "managers.csv").read_bytes() == (changed / "2024-05" / "managers.csv").read_bytes()
    with (base / "2024-05" / "managers.csv").open(encoding="utf-8") as fh:
        grade = {r["manager_id"]: r["grade_in_effect"] for r in csv.DictReader(fh)}
    a, b = lines(base / "2024-05"), lines(changed / "2024-05")
    assert set(a) == set(b)
    changed_keys = {k for k in a if a[k]["amount"] != b[k]["amount"]}
    assert changed_keys, "the new base rate must change some lines"
    assert {k[1] for k in changed_keys} <= DOWNSTREAM_OF_P3
    touched = {k[0] for k in changed_keys}
    assert all(grade[mid] == "manager" for mid in touched)
    for mid, g in grade.items():
        key = (mid, "commission")
        if g != "manager":
            assert mid not in touched
        elif key in a:
            # P3 = NR × base_rate × score × q: the commission scales by 22/20 before rounding to the fen
            old, new = Decimal(a[key]["amount"]), Decimal(b[key]["amount"])
            assert abs(new - old * Decimal("1.1")) <= Decimal("0.01")
            assert "× 0.22 ×" in b[key]["detail"]
