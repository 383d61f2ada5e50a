"""What-if runs (CLI `settle simulate`): settle FIRST..LAST in a scratch ledger, compare two runs.

The scratch ledger is a temporary SQLite file deleted afterwards; the real ledger, keys and audit
log are never opened. Each simulated month is closed at once (no sign-off), so the next can follow.
"""

from __future__ import annotations

import csv
import gc
import tempfile
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from rich.table import Table

from cmsettle.errors import InputError, Problem
from cmsettle.months import Month
from cmsettle.pipeline import RunOutcome, Settings, settle_month


def simulate_months(first: Month, last: Month, settings: Settings) -> list[RunOutcome]:
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="cmsettle-sim-") as tmp:
        scratch = replace(settings, db_url=f"sqlite:///{Path(tmp) / 'scratch.db'}")
        m = first
        while m <= last:
            outcomes.append(settle_month(m, scratch, simulate=True))
            gc.collect()  # the month's few reference cycles, also where the command line keeps the collector off
            m = m.next
    return outcomes


def read_pay_lines(path: Path) -> dict[tuple[str, str], Decimal]:
    """(manager_id, component) → amount of one pay_lines.csv."""
    if not path.exists():
        raise InputError([Problem(str(path), "pay_lines.csv not found", expected="an output folder of cmsettle")])
    with path.open(encoding="utf-8", newline="") as fh:
        return {(r["manager_id"], r["component"]): Decimal(r["amount"]) for r in csv.DictReader(fh)}


@dataclass(frozen=True)
class Difference:
    month: str
    manager_id: str
    component: str
    ours: Decimal
    theirs: Decimal

    @property
    def delta(self) -> Decimal:
        return self.ours - self.theirs


@dataclass(frozen=True)
class Comparison:
    ours: Path
    theirs: Path
    differences: tuple[Difference, ...]

    @property
    def net_total(self) -> Decimal:
        return sum((d.delta for d in self.differences if d.component == "net_pay"), Decimal(0))

    def table(self) -> Table:
        t = Table(title=f"{self.ours} − {self.theirs}: differences per person, month and component")
        for c in ("month", "manager", "component", "this run", "other run", "difference"):
            t.add_column(c, justify="right" if c in ("this run", "other run", "difference") else "left")
        for d in self.differences:
            t.add_row(d.month, d.manager_id, d.component, f"{d.ours:,.2f}", f"{d.theirs:,.2f}", f"{d.delta:+,.2f}")
        t.add_row("total", "", "net_pay", "", "", f"{self.net_total:+,.2f}", style="bold")
        return t

    def as_dict(self) -> dict:
        return {"differences": [{"month": d.month, "manager_id": d.manager_id, "component": d.component,
                                 "this": f"{d.ours:.2f}", "other": f"{d.theirs:.2f}", "difference": f"{d.delta:.2f}"}
                                for d in self.differences],
                "net_total": f"{self.net_total:.2f}"}


def compare_runs(ours: Path, theirs: Path, first: Month, last: Month) -> Comparison:
    diffs: list[Difference] = []
    m = first
    while m <= last:
        a = read_pay_lines(ours / str(m) / "pay_lines.csv")
        b = read_pay_lines(theirs / str(m) / "pay_lines.csv")
        for key in sorted(set(a) | set(b)):
            x, y = a.get(key, Decimal(0)), b.get(key, Decimal(0))
            if x != y:
                diffs.append(Difference(str(m), key[0], key[1], x, y))
        m = m.next
    return Comparison(ours, theirs, tuple(diffs))
