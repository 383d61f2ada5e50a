"""The machine-readable outputs of DATA.md: pay_lines.csv, managers.csv, bank_transfer.csv, manifest.json.

Written byte-for-byte reproducibly: UTF-8 without BOM, ``\\n`` line ends, fixed column order, rows in
manager-id and component order, no timestamps from the clock.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from cmsettle.compute.settle import ManagerResult, MonthResult
from cmsettle.money import fmt2, round1, round4

PAY_LINE_COLUMNS = ["month", "manager_id", "component", "amount", "rule", "detail"]
MANAGER_COLUMNS = [
    "month", "manager_id", "name", "position", "grade_in_effect", "grade_next", "grade_rule", "avg_assets", "a3",
    "ea", "nmv", "net_revenue", "score_raw", "score_applied", "management_score", "flags",
]
BANK_COLUMNS = ["manager_id", "name", "bank_account", "net_pay"]
DRAFT_MARK = "# DRAFT: month not closed (RULEBOOK O1), not for payment"


def _csv(header: list[str], rows: list[list[str]], preamble: str | None = None) -> bytes:
    buf = io.StringIO()
    if preamble:
        buf.write(preamble + "\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def manager_row(month: str, m: ManagerResult) -> dict[str, str]:
    """One managers.csv row as text (D43 formats)."""
    return {
        "month": month, "manager_id": m.manager_id, "name": m.name, "position": m.position,
        "grade_in_effect": m.grade_in_effect, "grade_next": m.grade_next, "grade_rule": m.grade_rule,
        "avg_assets": fmt2(m.avg_assets), "a3": fmt2(m.a3), "ea": str(int(m.ea)), "nmv": fmt2(m.nmv),
        "net_revenue": fmt2(m.net_revenue), "score_raw": f"{round4(m.score_raw):.4f}",
        "score_applied": f"{round4(m.score_applied):.4f}", "management_score": f"{round1(m.management_score):.1f}",
        "flags": ";".join(sorted(m.flags)),
    }


def pay_lines_csv(result: MonthResult) -> bytes:
    month = str(result.month)
    return _csv(PAY_LINE_COLUMNS, [
        [month, ln.manager_id, ln.component, fmt2(ln.amount), ln.rule, ln.detail] for ln in result.lines
    ])


def managers_csv(result: MonthResult) -> bytes:
    month = str(result.month)
    return _csv(MANAGER_COLUMNS, [list(manager_row(month, m).values()) for m in result.managers])


def bank_csv(result: MonthResult, *, final: bool) -> bytes:
    net = {ln.manager_id: ln.amount for ln in result.lines if ln.component == "net_pay"}
    rows = [[m.manager_id, m.name, m.bank_account or "", fmt2(net.get(m.manager_id, 0))] for m in result.managers]
    return _csv(BANK_COLUMNS, rows, None if final else DRAFT_MARK)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
