"""Errors as values, and the exit codes of ../shared/spec/CLI.md."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    BAD_INPUT = 3
    REFUSED = 4
    NOT_READY = 5


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file or rule set; all are collected and reported together."""

    file: str
    message: str
    row: int | None = None  # the row number as a spreadsheet shows it (header = 1)
    column: str | None = None
    value: str | None = None
    expected: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f":{self.row}"
        if self.column:
            where += f" [{self.column}]"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f": got {self.value!r}"
        if self.expected:
            text += f", expected {self.expected}"
        return text


class CmsettleError(Exception):
    exit_code: Exit = Exit.INTERNAL


class InputError(CmsettleError):
    """Bad input data or a bad rule set: every problem listed, nothing written (exit 3)."""

    exit_code = Exit.BAD_INPUT

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the input")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class RefusedError(CmsettleError):
    """Refused: closed month, wrong sign-off order or signer, lock held (exit 4)."""

    exit_code = Exit.REFUSED


class NotReadyError(CmsettleError):
    """Not ready: a required input missing, the previous month not closed (exit 5)."""

    exit_code = Exit.NOT_READY


class UsageError(CmsettleError):
    """A malformed option found past the command line's own checks, e.g. a ledger URL (exit 2)."""

    exit_code = Exit.USAGE


def db_url_problem(url: str) -> str:
    return f"{url!r} is not a database URL (e.g. sqlite:///./cmsettle.db or postgresql://user@host/db)"
