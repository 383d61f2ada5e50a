"""Guard (issue 4, item 6): no RULEBOOK default number is written as a literal in the computing code.

Every *param* of RULEBOOK lives in the rule set (rules/*.yaml). This test reads every number of the
packaged rule sets and fails, listing ``file:line: value``, when one of them appears in the computing
code (every .py file under cmsettle/compute/) as an int or float literal or as a numeric string
(``Decimal("0.0565")``, ``D("21.75")``). Values compare as numbers: ``0.80``, ``0.8`` and ``Decimal("0.8")``
are one value, and ``-5000`` is caught as ``5000``.

A few numbers must stay writable because code is made of them. They are allowed, and only they:

- 0 and 1: empty sums, identities, "no deduction", the first tier, ``max(0, x)``.
- 2 and 4: rounding places (``fen`` to 2 decimals, score_raw to 4 in M6) and halves (A4 half days).
- 3 and 12: month arithmetic: the three-month windows M-2..M of M2/G6/T3/T4, months in a year.
- 100: percent (``Decimal(100)``) and M7's 100-point scale as a percentage in P2.

Some of these equal RULEBOOK defaults (``institution_weight`` 3, ``absence_half_day_rates`` 2, the
trainee ``threshold`` 0, ``management_score.full`` 100, ``conversion_mean`` 1.00): the guard cannot tell
them from structure, so those parameters rely on the rule-set and scenario tests instead.
Everything else (5, 10, 20, 0.05, 0.8, 21.75, 5000, 36000, ...) must come from the rule set.
"""

from __future__ import annotations

import ast
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cmsettle import DEFAULT_RULES_DIR, PROJECT_ROOT
from cmsettle.ruleset.diff import parameters
from cmsettle.ruleset.loader import load_all

COMPUTE_DIR = PROJECT_ROOT / "cmsettle" / "compute"

#: structural numbers code may use although some equal a RULEBOOK default (see the module docstring)
ALLOWED = frozenset(Decimal(n) for n in (0, 1, 2, 3, 4, 12, 100))

#: RULEBOOK numbers derived from parameters, not stored themselves, that code might be tempted to write
DERIVED = {
    Decimal("0.175"): "TX1 employee social insurance 17.5% = pension + medical + unemployment + housing fund",
}

_NUMERIC_TEXT = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def rulebook_numbers() -> dict[Decimal, str]:
    """Every number of the packaged rule sets (calendar dates aside) → the first key path holding it."""
    out: dict[Decimal, str] = {}
    for rs in load_all(DEFAULT_RULES_DIR):
        for path, value in parameters(rs.rules).items():
            if path.startswith("calendar."):
                continue
            if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                out.setdefault(abs(Decimal(value)), path)
    for value, why in DERIVED.items():
        out.setdefault(value, why)
    return out


def numeric_literals(source: str) -> list[tuple[int, Decimal, str]]:
    """(line, value, as written) of every number literal and numeric string constant of a module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
            continue
        value = node.value
        if isinstance(value, (int, float)):
            found.append((node.lineno, abs(Decimal(repr(value))), repr(value)))
        elif isinstance(value, str) and _NUMERIC_TEXT.match(value):
            try:
                found.append((node.lineno, abs(Decimal(value.strip())), repr(value)))
            except InvalidOperation:
                pass
    return found


def offending(source: str, numbers: dict[Decimal, str]) -> list[tuple[int, str, str]]:
    return sorted((line, written, numbers[value]) for line, value, written in numeric_literals(source)
                  if value in numbers and value not in ALLOWED)


def compute_files() -> list[Path]:
    return sorted(COMPUTE_DIR.rglob("*.py"))


def test_compute_folder_is_there_and_not_empty() -> None:
    """The guard must not pass vacuously: the computing code it protects has to exist."""
    assert COMPUTE_DIR.is_dir(), f"{COMPUTE_DIR} is missing: the literal guard has nothing to check"
    modules = [p for p in compute_files() if p.name != "__init__.py"]
    assert modules, f"no computing module (*.py) under {COMPUTE_DIR}: the literal guard has nothing to check"


def test_no_rulebook_default_is_a_literal_in_the_computing_code() -> None:
    numbers = rulebook_numbers()
    files = compute_files()
    assert files, f"no .py file under {COMPUTE_DIR}"
    problems = []
    for path in files:
        for line, written, where in offending(path.read_text(encoding="utf-8"), numbers):
            problems.append(f"{path.relative_to(PROJECT_ROOT)}:{line}: {written} (the rule set's {where})")
    assert not problems, (
        "RULEBOOK defaults written as literals in the computing code; read them from the rule set:\n"
        + "\n".join(problems)
    )


# The guard itself ---------------------------------------------------------------------------------------

def test_the_rule_set_numbers_include_the_rulebook_defaults() -> None:
    numbers = rulebook_numbers()
    for text in ("0.0565", "0.0000687", "5000", "3000", "1500", "21.75", "0.05", "0.8", "36000", "181920",
                 "12000000", "0.175", "50", "10", "30"):
        assert Decimal(text) in numbers, text
    assert numbers[Decimal("0.0565")] == "metrics.revenue_tax_rate"
    assert numbers[Decimal("21.75")] == "attendance.statutory_pay_days"


def test_the_guard_finds_each_kind_of_literal_and_spares_the_structural_ones() -> None:
    source = '\n'.join([
        'from decimal import Decimal',
        'from cmsettle.money import D',
        'tax = Decimal("0.0565")',          # a Decimal from text
        'days = 21.75',                     # a float
        'threshold = 5000',                 # an int
        'fine = -50',                       # a negative int
        'q = D("0.80")',                    # written with a trailing zero, still 0.8
        'si = Decimal("0.175")',            # derived (TX1 17.5%)
        'pct = Decimal(100)',               # allowed: percent
        'r = round(x, 2) + round(y, 4)',    # allowed: rounding places
        'window = range(3)',                # allowed: M-2..M
        'months = 12 * years - 1',          # allowed: month arithmetic
        'zero = Decimal("0")',              # allowed
        'flag = True',                      # a bool is not a number
        'label = "P4 account bonus"',       # text that is not a number
    ])
    found = offending(source, rulebook_numbers())
    assert [(line, written) for line, written, _ in found] == [
        (3, "'0.0565'"), (4, "21.75"), (5, "5000"), (6, "50"), (7, "'0.80'"), (8, "'0.175'"),
    ]
    assert found[0][2] == "metrics.revenue_tax_rate"
