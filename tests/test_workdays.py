"""PRC working days (RULEBOOK P1, A5, O4, D44): chinese_calendar, the rule set's calendar, Mon-Fri."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import chinese_calendar
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/ruleset_cases.py

from ruleset_cases import build, variant  # noqa: E402

from cmsettle.errors import InputError  # noqa: E402
from cmsettle.months import Month  # noqa: E402
from cmsettle.ruleset.loader import parse_ruleset  # noqa: E402
from cmsettle.workdays import WorkCalendar  # noqa: E402

MAY_2024 = Month(2024, 5)
APR_2027, MAY_2027 = Month(2027, 4), Month(2027, 5)

#: one holiday (Monday 2027-05-03) and one swapped Sunday workday (2027-04-25)
CALENDAR_2027 = "calendar:\n  2027:\n    holidays: [2027-05-03]\n    workdays: [2027-04-25]\n"


def count(cal: WorkCalendar, m: Month) -> int:
    return cal.count(m.first_day, m.last_day)


def test_may_2024_has_21_prc_working_days() -> None:
    # 23 weekdays; Labour Day off Wed 1 - Fri 3 May (-3); Saturday 11 May is a swapped workday (+1)
    cal = WorkCalendar()
    assert count(cal, MAY_2024) == 21
    assert count(cal, MAY_2024) == len(chinese_calendar.get_workdays(MAY_2024.first_day, MAY_2024.last_day))
    assert not cal.is_workday(date(2024, 5, 1)) and cal.is_workday(date(2024, 5, 11))
    assert cal.warnings() == [] and cal.source(2024) == "PRC calendar (chinese_calendar)"


def test_pay_day_moves_to_the_next_working_day() -> None:
    # O4: the 10th of February 2024 is a Saturday inside the Spring Festival (10-17 Feb); Sunday 18 Feb is
    # a swapped workday, so January's pay day is 2024-02-18.
    assert WorkCalendar().next_workday_on_or_after(date(2024, 2, 10)) == date(2024, 2, 18)


def test_2027_is_not_covered_by_the_library_yet() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 5, 3))


def test_a_year_covered_by_neither_falls_back_to_monday_friday_with_a_warning() -> None:
    cal = WorkCalendar()
    assert count(cal, MAY_2027) == 21  # the weekdays of May 2027 (1 May is a Saturday)
    assert count(cal, APR_2027) == 22
    assert cal.is_workday(date(2027, 5, 3)) and not cal.is_workday(date(2027, 4, 25))
    assert cal.source(2027) == "Monday-Friday fallback"
    [warning] = cal.warnings()
    assert "2027" in warning and "D44" in warning and "Monday-Friday" in warning


def test_the_rule_set_calendar_changes_the_count(tmp_path: Path) -> None:
    rs = parse_ruleset(variant(tmp_path, "with-2027.yaml", CALENDAR_2027))
    assert rs.rules.calendar[2027].holidays == [date(2027, 5, 3)]
    cal = WorkCalendar(extra=dict(rs.rules.calendar))
    assert count(cal, MAY_2027) == 21 - 1  # Monday 3 May is a holiday
    assert count(cal, APR_2027) == 22 + 1  # Sunday 25 April is a workday
    assert not cal.is_workday(date(2027, 5, 3)) and cal.is_workday(date(2027, 4, 25))
    assert cal.is_workday(date(2027, 5, 4)) and not cal.is_workday(date(2027, 5, 1))  # other days: Mon-Fri
    assert cal.next_workday_on_or_after(date(2027, 5, 1)) == date(2027, 5, 4)
    assert cal.warnings() == [] and cal.source(2027) == "rule set calendar"


def test_a_calendar_date_outside_its_year_is_rejected(tmp_path: Path) -> None:
    path = build("calendar_date_outside_year.yaml", tmp_path)
    with pytest.raises(InputError) as info:
        parse_ruleset(path)
    [problem] = info.value.problems
    assert str(problem) == (f"{path}:4 calendar.2027.holidays.1: calendar 2027: date 2026-12-31 belongs to "
                            "another year: got 2026-12-31, expected a date in 2027")


def test_a_calendar_date_that_is_no_date_is_rejected(tmp_path: Path) -> None:
    path = variant(tmp_path, "bad-date.yaml", "calendar:\n  2027:\n    holidays: [2027-02-30]\n")
    with pytest.raises(InputError) as info:
        parse_ruleset(path)
    [problem] = info.value.problems
    assert (problem.line, problem.key_path, problem.value, problem.expected) == (
        3, "calendar.2027.holidays.0", "'2027-02-30'", "a date YYYY-MM-DD")
