"""The settlement month ``YYYY-MM`` as a value."""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import date

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        m = _MONTH_RE.match(str(text).strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"{text!r} is not a month (expected YYYY-MM, e.g. 2024-05)")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> "Month":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def index(self) -> int:
        return self.year * 12 + self.month - 1

    def add(self, n: int) -> "Month":
        return _month_at(self.index + n)

    @property
    def prev(self) -> "Month":
        return self.add(-1)

    @property
    def next(self) -> "Month":
        return self.add(1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return _last_day(self.year, self.month)

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def __sub__(self, other: "Month") -> int:
        return self.index - other.index


@functools.lru_cache(maxsize=4096)
def _month_at(index: int) -> Month:
    """The month of an index (year * 12 + month - 1), made once: a settlement asks for the same few months
    a hundred thousand times (each person's three-month windows)."""
    return Month(index // 12, index % 12 + 1)


@functools.lru_cache(maxsize=4096)
def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: date, n: int) -> date:
    """The same day n calendar months later, clipped to the month's end (D20)."""
    m = Month.of(day).add(n)
    return date(m.year, m.month, min(day.day, m.last_day.day))
