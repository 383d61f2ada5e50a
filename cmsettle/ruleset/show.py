"""The rule set in force, readable (``settle rules show YYYY-MM``).

Heading: id, effective_from, description, file, sha256, and where the month's working days come from
(D44). Then the grades table laid out like RULEBOOK §9, and every other section as a table of
parameter, value, RULEBOOK id and the comment's Chinese term. :func:`as_json` gives the same content
for ``--json``: numbers as exact strings, never floats.
"""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from cmsettle.model import GRADES
from cmsettle.months import Month
from cmsettle.ruleset.diff import IDENTITY, flatten, parameters, show_value
from cmsettle.ruleset.ids import RuleIds, packaged
from cmsettle.ruleset.loader import LoadedRuleSet
from cmsettle.workdays import WorkCalendar

#: the §9 columns: (key in a grade row, heading)
GRADE_COLUMNS = (
    ("threshold", "threshold (A3)"),
    ("fixed_standard", "fixed standard"),
    ("base_rate", "base_rate"),
    ("ea_target", "EA_t"),
    ("nmv_target", "NMV_t"),
    ("nr_target", "NR_t"),
    ("transport", "transport"),
)


def plain(d: Decimal | int) -> str:
    """A number without exponent or trailing zeros: Decimal("1.20") → "1.2", Decimal("1E+1") → "10"."""
    return format(Decimal(d).normalize(), "f")


def amount(d: Decimal | int) -> str:
    return f"{Decimal(d):,}"


def percent(rate: Decimal) -> str:
    return plain(rate * 100) + "%"


def calendar_note(loaded: LoadedRuleSet, month: Month) -> str:
    """Where the month's working days come from: the PRC calendar, the rule set's calendar, or Mon-Fri."""
    source = WorkCalendar(extra=dict(loaded.rules.calendar)).source(month.year)
    warning = " (warning: no official calendar for this year)" if source.startswith("Monday") else ""
    return f"working days of {month.year}: {source}{warning}"


def _heading(loaded: LoadedRuleSet, month: Month | None) -> Text:
    r = loaded.rules
    text = Text()
    text.append(f"Rule set {r.id}", style="bold")
    if month is not None:
        text.append(f" in force for {month}")
    text.append(f"\n  effective_from {r.effective_from}")
    if r.description:
        text.append(f"\n  {r.description}")
    text.append(f"\n  file {loaded.path}\n  sha256 {loaded.sha256}")
    if month is not None:
        text.append(f"\n  {calendar_note(loaded, month)}")
    return text


def _ids(ids: RuleIds, path: str) -> str:
    return ", ".join(ids.ids(path)) or "-"


def _title(ids: RuleIds, path: str, rest: str = "") -> str:
    own = ", ".join(ids.ids(path))
    return f"{path} ({own}){rest}" if own else f"{path}{rest}"


def grades_table(loaded: LoadedRuleSet, ids: RuleIds) -> Table:
    """Grades like RULEBOOK §9, one row per grade, low to high; each column headed by its RULEBOOK id."""
    table = Table(title=_title(ids, "grades"), title_justify="left")
    table.add_column("grade")
    for key, heading in GRADE_COLUMNS:
        table.add_column(f"{heading}\n{_ids(ids, f'grades.trainee.{key}')}", justify="right")
    for g in GRADES:
        row = loaded.rules.grades.row(g)
        tiers = ", ".join(f"{amount(v)}" if len(row.fixed_standard) == 1 else f"tier {t}: {amount(v)}"
                          for t, v in row.fixed_standard.items())
        table.add_row(
            f"{g} {ids.ref(f'grades.{g}').note}".strip(), amount(row.threshold), tiers,
            percent(row.base_rate), plain(row.ea_target), amount(row.nmv_target), amount(row.nr_target),
            amount(row.transport),
        )
    return table


def brackets_table(loaded: LoadedRuleSet, ids: RuleIds) -> Table:
    table = Table(title=_title(ids, "tax.brackets"), title_justify="left")
    for heading in ("cumulative taxable up to", "rate", "quick deduction"):
        table.add_column(heading, justify="right")
    for b in loaded.rules.tax.brackets:
        table.add_row("above" if b.upto is None else amount(b.upto), percent(b.rate), amount(b.quick))
    return table


def section_table(loaded: LoadedRuleSet, section: str, ids: RuleIds) -> Table:
    """One section's parameters: dotted key under the section, value, RULEBOOK ids, the comment's note."""
    data = getattr(loaded.rules, section).model_dump(mode="python")
    if section == "tax":
        data.pop("brackets")
    table = Table(title=_title(ids, section), title_justify="left")
    for heading in ("parameter", "value", "RULEBOOK", "term"):
        table.add_column(heading, justify="right" if heading == "value" else "left")
    for key, value in flatten(data).items():
        path = f"{section}.{key}"
        table.add_row(key, show_value(value), _ids(ids, path), ids.ref(path).note)
    return table


def calendar_table(loaded: LoadedRuleSet, ids: RuleIds) -> Table:
    table = Table(title=_title(ids, "calendar", ": years the PRC calendar library does not cover"),
                  title_justify="left")
    for heading in ("year", "holidays", "swapped workdays"):
        table.add_column(heading)
    for year, cal in sorted(loaded.rules.calendar.items()):
        table.add_row(str(year), show_value(cal.holidays), show_value(cal.workdays))
    if not loaded.rules.calendar:
        table.add_row("(none)", "", "")
    return table


def renderable(loaded: LoadedRuleSet, month: Month | None = None,
               ids: RuleIds | None = None) -> RenderableType:
    ids = ids or packaged()
    parts: list[RenderableType] = [_heading(loaded, month), grades_table(loaded, ids)]
    for section in type(loaded.rules).model_fields:
        if section in IDENTITY or section in ("grades", "calendar"):
            continue
        parts.append(section_table(loaded, section, ids))
        if section == "tax":
            parts.append(brackets_table(loaded, ids))
    parts.append(calendar_table(loaded, ids))
    return Group(*parts)


def render(loaded: LoadedRuleSet, console: Console, month: Month | None = None) -> None:
    console.print(renderable(loaded, month))


def as_json(loaded: LoadedRuleSet, month: Month | None = None,
            ids: RuleIds | None = None) -> dict[str, object]:
    """The rule set with its provenance; ``parameters`` maps each key path to its value and RULEBOOK ids."""
    ids = ids or packaged()
    r = loaded.rules
    params = parameters(r)
    out: dict[str, object] = {
        "id": r.id, "effective_from": r.effective_from, "description": r.description,
        "file": str(loaded.path), "sha256": loaded.sha256,
    }
    if month is not None:
        out["month"] = str(month)
        out["calendar_source"] = WorkCalendar(extra=dict(r.calendar)).source(month.year)
    out["parameters"] = {k: {"value": show_value(v), "rulebook": list(ids.ids(k))} for k, v in params.items()}
    return out
