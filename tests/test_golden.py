"""Golden outputs: the sample months settled in order must reproduce tests/golden/ byte for byte.

The golden files were reviewed against the sample's designed cases (sample_data/README.md): e.g.
800008 senior → manager by G3 at the close of 2024-03, 800018 assistant → trainee by G4 with
termination_right, 800032 converted by G5, 800021 made senior by G7, 800026 promoted by G2 at the close
of 2024-04, 800025's fixed pay held in 2024-03 (X2) and released in 2024-04, 800029's never released.
Regenerate with `python scripts/update_golden.py` only for a deliberate change, and review the diff.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmsettle import PROJECT_ROOT
from cmsettle.cli import app
from tests.contract import AFTER_TAX

GOLDEN = Path(__file__).parent / "golden"
MONTHS = ["2024-03", "2024-04", "2024-05"]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden-run")
    r = CliRunner().invoke(app, ["simulate", MONTHS[0], MONTHS[-1], "--data", str(PROJECT_ROOT / "sample_data"),
                                 "--out", str(out), "--quiet"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("month", MONTHS)
@pytest.mark.parametrize("name", ["pay_lines.csv", "managers.csv"])
def test_sample_month_matches_golden(simulated: Path, month: str, name: str) -> None:
    got = (simulated / month / name).read_text(encoding="utf-8").splitlines()
    want = (GOLDEN / month / name).read_text(encoding="utf-8").splitlines()
    assert got == want


def _rows(month: str, name: str) -> list[dict[str, str]]:
    with (GOLDEN / month / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_golden_designed_cases_are_there() -> None:
    """The figures the sample was designed to show (so a regenerated golden file cannot hide a regression)."""
    m3 = {r["manager_id"]: r for r in _rows("2024-03", "managers.csv")}
    assert (m3["800008"]["grade_next"], m3["800008"]["grade_rule"]) == ("manager", "G3")
    assert (m3["800018"]["grade_next"], m3["800018"]["grade_rule"]) == ("trainee", "G4")
    assert "termination_right" in m3["800018"]["flags"]
    assert (m3["800032"]["grade_next"], m3["800032"]["grade_rule"]) == ("assistant", "G5")
    assert "early_conversion_candidate" in m3["800033"]["flags"]
    m4 = {r["manager_id"]: r for r in _rows("2024-04", "managers.csv")}
    assert (m4["800021"]["grade_next"], m4["800021"]["grade_rule"]) == ("senior", "G7")
    assert (m4["800026"]["grade_next"], m4["800026"]["grade_rule"]) == ("senior", "G2")
    assert "deemed_resignation" in m4["800017"]["flags"]
    lines = {(r["month"], r["manager_id"], r["component"]): r["amount"]
             for m in MONTHS for r in _rows(m, "pay_lines.csv")}
    assert lines[("2024-03", "800025", "held_income")] == "-1900.00"
    assert lines[("2024-04", "800025", "released_income")] == "1900.00"
    assert ("2024-05", "800029", "released_income") not in lines
    # every person: net_pay = gross_pay + the after-tax lines (D42), never negative (N3)
    for month in MONTHS:
        people = {r["manager_id"] for r in _rows(month, "managers.csv")}
        for mid in people:
            mine = {c: a for (m, i, c), a in lines.items() if m == month and i == mid}
            after = sum(Decimal(a) for c, a in mine.items() if c in AFTER_TAX)
            assert Decimal(mine["net_pay"]) == Decimal(mine["gross_pay"]) + after >= 0
