"""Retention (RULEBOOK O5): nothing is ever deleted by default; `settle purge --before YEAR` deletes the
months of the years before YEAR, ledger runs and their output folders, and only when every one of those
years ended at least ``retention_years`` (rule set in force today; never below 5) before this year.

Records of year Y are kept to the end of Y + retention_years: with 30, in 2026 the latest allowed is
``--before 1996`` (the months of 1995 and earlier). The audit log is never purged: its entries hold
hashes, not personal data, and the purge itself is an entry.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from cmsettle import audit
from cmsettle.errors import RefusedError
from cmsettle.ledger.db import RunInfo
from cmsettle.months import Month
from cmsettle.pipeline import Settings, open_ledger, run_lock
from cmsettle.ruleset.loader import resolve


@dataclass(frozen=True)
class PurgePlan:
    before: int
    retention_years: int
    rule_set_id: str
    latest_allowed: int  # the latest --before allowed today
    runs: tuple[RunInfo, ...]
    folders: tuple[Path, ...]
    deleted: bool = False

    def as_dict(self) -> dict:
        return {
            "before": self.before, "retention_years": self.retention_years, "rule_set": self.rule_set_id,
            "latest_allowed": self.latest_allowed, "deleted": self.deleted,
            "runs": [{"month": str(r.month), "revision": r.revision, "status": r.status, "run_id": r.run_id}
                     for r in self.runs],
            "folders": [str(f) for f in self.folders],
        }


def latest_allowed(retention_years: int, today: date) -> int:
    """The latest YEAR for `purge --before YEAR`: every year before it ended retention_years ago or more."""
    return today.year - retention_years


def plan_purge(settings: Settings, before: int, today: date) -> PurgePlan:
    """What `purge --before` would delete; RefusedError (exit 4) when it would touch records still kept."""
    rule_set = resolve(settings.rules_dir, Month.of(today))
    years = rule_set.rules.records.retention_years
    allowed = latest_allowed(years, today)
    if before > allowed:
        raise RefusedError(
            f"purge --before {before} refused: records are kept {years} years after the end of their year "
            f"(RULEBOOK O5, retention_years of rule set {rule_set.id}); today the latest allowed is "
            f"--before {allowed} (the months of {allowed - 1} and earlier). Nothing was deleted")
    ledger = open_ledger(settings, read_only=True)
    runs: list[RunInfo] = []
    if ledger is not None:
        try:
            runs = [r for r in ledger.runs() if r.month.year < before]
        finally:
            ledger.dispose()
    from cmsettle.lifecycle import manifest_run_id

    folders: list[Path] = []
    for r in runs:
        places = [settings.out_dir / str(r.month), *([Path(r.output_dir)] if r.output_dir else [])]
        for c in dict.fromkeys(places):
            if c.is_dir() and manifest_run_id(c) == r.run_id and c not in folders:
                folders.append(c)
    return PurgePlan(before, years, rule_set.id, allowed, tuple(runs), tuple(folders))


def purge(settings: Settings, before: int, *, today: date | None = None, yes: bool = False) -> PurgePlan:
    """Delete what ``plan_purge`` lists when ``yes``; otherwise only say what would go."""
    today = today or date.today()
    with run_lock(settings):
        plan = plan_purge(settings, before, today)
        if not yes or not plan.runs:
            return plan
        ledger = open_ledger(settings, read_only=False)
        assert ledger is not None
        try:
            with ledger.engine.begin() as conn:
                for r in plan.runs:
                    ledger.discard_draft(conn, r.id)  # the run and every row keyed by it
                audit.append(conn, "purge", month=None, actor=settings.actor, at=datetime.now(timezone.utc),
                             data={**plan.as_dict(), "deleted": True})
            audit.after_commit(settings, ledger.engine)
        finally:
            ledger.dispose()
    for f in plan.folders:  # after the commit: a folder left by a crash here is of no run any more
        shutil.rmtree(f, ignore_errors=True)
    return PurgePlan(**{**plan.__dict__, "deleted": True})
