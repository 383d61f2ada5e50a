"""PRC working days (RULEBOOK P1, A5, O4, D3, D44).

The official calendar comes from ``chinese_calendar``; a year it does not cover may be given in the
rule set's ``calendar`` section (holidays and swapped workdays); a year covered by neither falls back
to Monday-Friday, and the fallback is reported as a warning on screen and in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar

from cmsettle.ruleset.schema import CalendarYear


@dataclass
class WorkCalendar:
    extra: dict[int, CalendarYear] = field(default_factory=dict)
    fallback_years: set[int] = field(default_factory=set)
    _known: dict[date, bool] = field(default_factory=dict, init=False, repr=False, compare=False)
    _spans: dict[tuple[date, date], tuple[date, ...]] = field(default_factory=dict, init=False, repr=False,
                                                             compare=False)

    def source(self, year: int) -> str:
        if year in self.extra:
            return "rule set calendar"
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
            return "PRC calendar (chinese_calendar)"
        except NotImplementedError:
            return "Monday-Friday fallback"

    def is_workday(self, day: date) -> bool:
        """Memoised per day: a month of thousands of managers asks about the same thirty days."""
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: date) -> bool:
        cal = self.extra.get(day.year)
        if cal is not None:
            if day in cal.workdays:
                return True
            if day in cal.holidays:
                return False
            return day.weekday() < 5
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            self.fallback_years.add(day.year)
            return day.weekday() < 5

    def workdays(self, first: date, last: date) -> list[date]:
        span = self._spans.get((first, last))
        if span is None:
            out = []
            d = first
            while d <= last:
                if self.is_workday(d):
                    out.append(d)
                d += timedelta(days=1)
            span = self._spans[(first, last)] = tuple(out)
        return list(span)

    def count(self, first: date, last: date) -> int:
        return len(self.workdays(first, last)) if first <= last else 0

    def next_workday_on_or_after(self, day: date) -> date:
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def warnings(self) -> list[str]:
        return [
            f"D44: no official calendar for {y}, neither in chinese_calendar nor in the rule set's calendar "
            f"section: working days of {y} fall back to Monday-Friday"
            for y in sorted(self.fallback_years)
        ]
