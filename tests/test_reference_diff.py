"""`settle simulate` against the clean-room reference implementation of the RULEBOOK (tests/reference/).

For a handful of seeds, tests/reference/scenario.py writes a small random branch (3-6 months, sometimes across a
year end); `settle simulate FIRST LAST` settles it through the CLI, and every pay line (manager, component) and
every compared managers.csv column must equal the reference's, to the fen. A mismatch prints a diff with the
reference's figures next to cmsettle's `rule` and `detail`.

Run one seed by hand: `.venv/bin/python -m tests.test_reference_diff SEED` (prints the diff, keeps the folders).
"""

from __future__ import annotations

import csv
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmsettle.cli import app
from tests.reference.rulebook import run_reference
from tests.reference.scenario import generate

COMPARED = ("position", "grade_in_effect", "grade_next", "grade_rule", "avg_assets", "a3", "ea", "nmv",
            "net_revenue", "score_raw", "score_applied", "management_score", "flags")
NUMERIC = ("avg_assets", "a3", "ea", "nmv", "net_revenue", "score_raw", "score_applied", "management_score")

SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]
#: seeds whose disagreement was traced by hand to cmsettle (see the report); strict xfail keeps them honest
SUSPECTED: dict[int, str] = {}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def simulate(data: Path, out: Path, first: str, last: str, rules: Path | None = None) -> None:
    args = ["simulate", first, last, "--data", str(data), "--out", str(out), "--quiet"]
    if rules is not None:
        args += ["--rules", str(rules)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, f"settle simulate failed ({res.exit_code}):\n{res.output}\n{res.exception!r}"


def diff_seed(seed: int, tmp: Path) -> tuple[list[str], str]:
    """Generate, simulate, compute the reference; return the list of differences and a header."""
    data, out = tmp / "data", tmp / "out"
    sc = generate(seed, data)
    first, last = str(sc.first), str(sc.last)
    simulate(data, out, first, last, sc.rules_dir)
    ref = run_reference(data, first, last, *([sc.rules_dir] if sc.rules_dir else []))
    problems: list[str] = []
    for month, mr in ref.items():
        theirs_rows = _read(out / month / "pay_lines.csv")
        theirs = {(r["manager_id"], r["component"]): Decimal(r["amount"]) for r in theirs_rows}
        why = {(r["manager_id"], r["component"]): f"{r['rule']}: {r['detail']}" for r in theirs_rows}
        ours = mr.nonzero_lines()
        ours_people = {m for m, _ in ours}
        theirs_people = {m for m, _ in theirs}
        for mid in sorted(ours_people ^ theirs_people):
            problems.append(f"{month} {mid}: settled by {'reference only' if mid in ours_people else 'cmsettle only'}")
        for key in sorted(set(ours) | set(theirs)):
            if key[0] not in ours_people & theirs_people:
                continue
            a, b = ours.get(key, Decimal(0)), theirs.get(key, Decimal(0))
            if a != b:
                note = mr.notes.get(key[0], {}).get(key[1], "")
                problems.append(f"{month} {key[0]} {key[1]}: reference {a} cmsettle {b} (Δ {b - a})"
                                f"\n      reference: {note}\n      cmsettle: {why.get(key, '')}")
        theirs_m = {r["manager_id"]: r for r in _read(out / month / "managers.csv")}
        for mid in sorted(set(mr.managers) ^ set(theirs_m)):
            problems.append(f"{month} {mid}: managers.csv row only in {'reference' if mid in mr.managers else 'cmsettle'}")
        for mid in sorted(set(mr.managers) & set(theirs_m)):
            o, t = mr.managers[mid], theirs_m[mid]
            for col in COMPARED:
                if col in NUMERIC:
                    same = Decimal(o[col] or 0) == Decimal(t[col] or 0)
                elif col == "flags":
                    same = set(filter(None, o[col].split(";"))) == set(filter(None, t[col].split(";")))
                else:
                    same = o[col] == t[col]
                if not same:
                    extra = mr.notes.get(mid, {}).get("T4", "") if "station" in o[col] + t[col] else ""
                    problems.append(f"{month} {mid} managers.{col}: reference {o[col]!r} cmsettle {t[col]!r} {extra}")
    header = "\n".join(sc.notes)
    return problems, header


@pytest.mark.parametrize("seed", [pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=SUSPECTED[s]))
                                  if s in SUSPECTED else s for s in SEEDS])
def test_simulate_matches_reference(seed: int, tmp_path: Path) -> None:
    problems, header = diff_seed(seed, tmp_path)
    if problems:
        pytest.fail(f"{len(problems)} difference(s) between cmsettle and the reference:\n{header}\n"
                    + "\n".join(problems[:80]), pytrace=False)


if __name__ == "__main__":
    import tempfile

    for arg in sys.argv[1:]:
        tmp = Path(tempfile.mkdtemp(prefix=f"refdiff-{arg}-"))
        probs, head = diff_seed(int(arg), tmp)
        print(head)
        print(f"--- {len(probs)} difference(s); folders in {tmp}")
        print("\n".join(probs))
