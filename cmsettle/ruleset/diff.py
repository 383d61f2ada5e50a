"""Compare two rule sets parameter by parameter (``settle rules diff A B``).

Both rule sets are flattened to their leaves (``grades.senior.base_rate``, ``tax.brackets.3.rate``,
``calendar.2027.holidays``); a list of plain values (a calendar year's dates) is one leaf. Numbers
compare by value, so ``0.10`` and ``0.1`` are the same rate. The identity of a rule set (``id``,
``effective_from``, ``description``) is not a parameter: it heads the comparison instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cmsettle.ruleset.ids import RuleIds, packaged
from cmsettle.ruleset.schema import RuleSet

#: the identity of a rule set, shown in the heading, not listed as a change
IDENTITY = ("id", "effective_from", "description")

ABSENT = object()


@dataclass(frozen=True)
class Change:
    path: str
    old: object  # ABSENT when the key is added
    new: object  # ABSENT when the key is removed
    ids: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "added" if self.old is ABSENT else "removed" if self.new is ABSENT else "changed"

    def to_dict(self) -> dict[str, object]:
        return {"key": self.path, "kind": self.kind, "old": show_value(self.old), "new": show_value(self.new),
                "rulebook": list(self.ids)}

    def __str__(self) -> str:
        ids = ", ".join(self.ids) or "-"
        tail = "" if self.kind == "changed" else f", {self.kind}"
        return f"{self.path}: {show_value(self.old)} → {show_value(self.new)}  ({ids}{tail})"


def show_value(value: object) -> str:
    if value is ABSENT:
        return "(absent)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    """Leaves by dotted key path, in the rule set's own order."""
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}.{i}"))
        return out
    return {prefix: tuple(value) if isinstance(value, list) else value}


def parameters(rules: RuleSet) -> dict[str, object]:
    """Every parameter of a rule set as ``{dotted key path: value}`` (Decimals, ints, dates)."""
    data = rules.model_dump(mode="python", exclude=set(IDENTITY))
    return flatten(data)


def _same(a: object, b: object) -> bool:
    if isinstance(a, (int, Decimal)) and isinstance(b, (int, Decimal)) and not isinstance(a, bool):
        return Decimal(a) == Decimal(b)
    return a == b


def diff(a: RuleSet, b: RuleSet, ids: RuleIds | None = None) -> list[Change]:
    """Each parameter that differs between ``a`` and ``b``, in ``a``'s order, then the ones only ``b`` has."""
    ids = ids or packaged()
    pa, pb = parameters(a), parameters(b)
    changes = []
    for path in [*pa, *(p for p in pb if p not in pa)]:
        old, new = pa.get(path, ABSENT), pb.get(path, ABSENT)
        if old is ABSENT or new is ABSENT or not _same(old, new):
            changes.append(Change(path, old, new, ids.ids(path)))
    return changes
