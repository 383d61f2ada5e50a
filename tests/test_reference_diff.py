"""`settle simulate` against the clean-room reference implementation of the RULEBOOK (tests/reference/).

For a handful of seeds, tests/reference/scenario.py writes a small random branch (3-8 months, some across a
year end, some with other rule sets); `settle simulate FIRST LAST` settles it through the CLI (once per seed),
and every pay line (manager, component) and every compared managers.csv column must equal the reference's, to
the fen. A mismatch prints a diff with the reference's figures next to cmsettle's `rule` and `detail`.

Where the RULEBOOK leaves room, the reference takes one reading (tests/reference/rulebook.py READINGS);
test_alternative_reading_would_disagree shows, per alternative, a seed on which it would differ from cmsettle:
the point is exercised and cmsettle takes the chosen reading.

By hand: `.venv/bin/python -m tests.test_reference_diff SEED... [POINT=ALTERNATIVE...]` prints the diff and
keeps the folders.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmsettle.cli import app
from tests.reference.rulebook import DEFAULT_RULES, READINGS, run_reference
from tests.reference.scenario import generate

COMPARED = ("position", "grade_in_effect", "grade_next", "grade_rule", "avg_assets", "a3", "ea", "nmv",
            "net_revenue", "score_raw", "score_applied", "management_score", "flags")
NUMERIC = ("avg_assets", "a3", "ea", "nmv", "net_revenue", "score_raw", "score_applied", "management_score")

#: Seeds chosen so that together they cover the generator's variants (a year end with the January resets,
#: another rule set and a second one from inside the run, runs into 2027 without a PRC calendar, 8-month runs
#: that reach the F3 refund of a leaver of the first month, station managers checked by T4 from the first
#: month) and, through WITNESSES, every alternative reading of READINGS.
SEEDS = [1, 3, 9, 12, 13, 23, 40]
#: seeds whose disagreement was traced by hand to cmsettle (see the report); strict xfail keeps them honest
SUSPECTED: dict[int, str] = {}
#: (point, alternative reading) -> a seed of SEEDS on which that alternative would disagree with cmsettle
WITNESSES: dict[tuple[str, str], int] = {
    ("T4-team", "skip"): 1, ("T4-team", "fail"): 1, ("T4-team", "first"): 13,
    ("history-grade", "latest-known"): 12, ("refund-row", "in-effect"): 40, ("G5-fail-rule", "G5"): 1,
    ("P9-month", "date"): 1, ("T1-sum", "unrounded"): 9, ("refund-zero", "settle"): 3,
    ("hold-release-leaver", "never"): 12, ("G4-flag-override", "after-override"): 9, ("A5-half", "counts"): 1,
    ("T3-blank", "passes"): 13, ("D9-P5", "exclude"): 40,
}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def simulate(data: Path, out: Path, first: str, last: str, rules: Path | None = None) -> None:
    args = ["simulate", first, last, "--data", str(data), "--out", str(out), "--quiet"]
    if rules is not None:
        args += ["--rules", str(rules)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, f"settle simulate failed ({res.exit_code}):\n{res.output}\n{res.exception!r}"


def compare(ref: dict, out: Path) -> list[str]:
    """Every difference between the reference's months and cmsettle's output folder, one line each."""
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
    return problems


def diff_seed(seed: int, tmp: Path, readings: dict[str, str] | None = None) -> tuple[list[str], str]:
    """Generate, simulate, compute the reference; return the list of differences and a header."""
    data, out = tmp / "data", tmp / "out"
    sc = generate(seed, data)
    first, last = str(sc.first), str(sc.last)
    simulate(data, out, first, last, sc.rules_dir)
    ref = run_reference(data, first, last, sc.rules_dir or DEFAULT_RULES, readings)
    return compare(ref, out), "\n".join(sc.notes)


@dataclass
class Branch:
    data: Path
    out: Path
    first: str
    last: str
    rules: Path
    notes: str


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory):
    """seed -> the generated branch and cmsettle's outputs for it (simulated once per module)."""
    cache: dict[int, Branch] = {}

    def get(seed: int) -> Branch:
        if seed not in cache:
            tmp = tmp_path_factory.mktemp(f"seed{seed}")
            sc = generate(seed, tmp / "data")
            simulate(tmp / "data", tmp / "out", str(sc.first), str(sc.last), sc.rules_dir)
            cache[seed] = Branch(tmp / "data", tmp / "out", str(sc.first), str(sc.last),
                                 sc.rules_dir or DEFAULT_RULES, "\n".join(sc.notes))
        return cache[seed]
    return get


@pytest.mark.parametrize("seed", [pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=SUSPECTED[s]))
                                  if s in SUSPECTED else s for s in SEEDS])
def test_simulate_matches_reference(seed: int, branch) -> None:
    b = branch(seed)
    problems = compare(run_reference(b.data, b.first, b.last, b.rules), b.out)
    if problems:
        pytest.fail(f"{len(problems)} difference(s) between cmsettle and the reference:\n{b.notes}\n"
                    + "\n".join(problems[:80]), pytrace=False)


@pytest.mark.parametrize(("point", "alternative"), sorted(WITNESSES))
def test_alternative_reading_would_disagree(point: str, alternative: str, branch) -> None:
    """Each ambiguous point is exercised, and cmsettle takes the reading chosen in READINGS, not this one."""
    b = branch(WITNESSES[(point, alternative)])
    problems = compare(run_reference(b.data, b.first, b.last, b.rules, readings={point: alternative}), b.out)
    assert problems, (f"{point}={alternative} gives the same outputs as cmsettle on seed "
                      f"{WITNESSES[(point, alternative)]}: the seed no longer exercises the point")


def test_every_alternative_has_a_witness() -> None:
    alternatives = {(point, alt) for point, (_, alts, _) in READINGS.items() for alt in alts}
    assert alternatives == set(WITNESSES)
    assert set(WITNESSES.values()) <= set(SEEDS)


def test_compare_finds_one_fen(branch, tmp_path: Path) -> None:
    """The comparison itself: one fen changed in pay_lines.csv and one managers.csv value are both reported."""
    import shutil

    b = branch(SEEDS[0])
    out = tmp_path / "out"
    shutil.copytree(b.out, out)
    month = b.first
    lines = (out / month / "pay_lines.csv").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if ",fixed_pay," in line:
            cells = next(csv.reader([line]))
            cells[3] = str(Decimal(cells[3]) + Decimal("0.01"))
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(cells)
            lines[i] = buf.getvalue()
            break
    (out / month / "pay_lines.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = _read(out / month / "managers.csv")
    rows[0]["score_raw"] = str(Decimal(rows[0]["score_raw"]) + Decimal("0.0001"))
    with (out / month / "managers.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    problems = compare(run_reference(b.data, b.first, b.last, b.rules), out)
    assert len(problems) == 2, problems
    assert "fixed_pay" in problems[0] and "managers.score_raw" in problems[1]


if __name__ == "__main__":
    import tempfile

    chosen = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
    for arg in (a for a in sys.argv[1:] if "=" not in a):
        tmp = Path(tempfile.mkdtemp(prefix=f"refdiff-{arg}-"))
        probs, head = diff_seed(int(arg), tmp, chosen)
        print(head)
        print(f"--- {len(probs)} difference(s); folders in {tmp}")
        print("\n".join(probs))
