"""`settle explain`: why is this person's pay this number? Lines with rule ids and formulas."""

from __future__ import annotations

from cmsettle.errors import InputError, Problem
from cmsettle.money import fmt2
from cmsettle.months import Month
from cmsettle.pipeline import Settings, open_ledger, settle_month


def explain_person(month: Month, manager_id: str, settings: Settings) -> dict:
    """From the ledger when the month was settled (latest revision), else computed now (nothing written)."""
    ledger = open_ledger(settings, read_only=True)
    try:
        run = ledger.latest(month) if ledger is not None else None
        if run is not None:
            rows = {r["manager_id"]: r for r in ledger.manager_rows(run.id)}
            lines = [ln for ln in ledger.pay_lines(run.id) if ln.manager_id == manager_id]
            row = rows.get(manager_id)
            source = f"ledger, revision {run.revision} ({run.status})"
            score_detail = ""
        else:
            outcome = settle_month(month, settings, dry_run=True)
            lines = list(outcome.result.lines_of(manager_id))
            found = [m for m in outcome.result.managers if m.manager_id == manager_id]
            from cmsettle.outputs.tables import manager_row

            row = dict(manager_row(str(month), found[0]), grade_reason=found[0].grade_reason) if found else None
            score_detail = found[0].score_detail if found else ""
            source = "computed now from the inputs (not settled yet; nothing written)"
    finally:
        if ledger is not None:
            ledger.dispose()
    if row is None:
        raise InputError([Problem("roster", f"{manager_id} is not settled in {month}", column="manager_id",
                                  value=manager_id, expected="a manager settled that month")])
    return {
        "month": str(month), "manager_id": manager_id, "name": row["name"], "source": source,
        "grade_in_effect": row["grade_in_effect"], "grade_next": row["grade_next"], "grade_rule": row["grade_rule"],
        "grade_reason": row.get("grade_reason", ""), "score_detail": score_detail, "managers_row": row,
        "lines": [{"component": ln.component, "amount": fmt2(ln.amount), "rule": ln.rule, "detail": ln.detail}
                  for ln in lines],
    }
