"""Money through one door (RULEBOOK N4, D41).

Every amount is a ``Decimal`` built by :func:`D` from text or an integer; floats are refused.
Rounding is always half up: :func:`fen` to 0.01 for pay lines, :func:`round4` for score_raw.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal

# Enough precision that no intermediate product of the rulebook is ever rounded implicitly.
CONTEXT = decimal.Context(prec=60, rounding=ROUND_HALF_UP, traps=[decimal.InvalidOperation, decimal.DivisionByZero])
decimal.setcontext(CONTEXT)
decimal.DefaultContext.prec = 60
decimal.DefaultContext.rounding = ROUND_HALF_UP

ZERO = Decimal(0)
FEN = Decimal("0.01")
_Q4 = Decimal("0.0001")
_Q1 = Decimal("0.1")


def D(value: object) -> Decimal:
    """Build a Decimal from text, int or Decimal. A float is a bug and raises TypeError."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        raise TypeError(f"float {value!r} near money: build amounts from text")
    if isinstance(value, str):
        return Decimal(value.strip().replace(",", ""))
    raise TypeError(f"cannot make an amount from {type(value).__name__}")


# The rounding is passed by position: as a keyword, each call costs twice as much (a month calls fen a few
# hundred thousand times); it is the same argument.
def fen(value: Decimal) -> Decimal:
    """Round to 0.01, half up (RULEBOOK N4)."""
    return value.quantize(FEN, ROUND_HALF_UP)


def round4(value: Decimal) -> Decimal:
    """Round to 4 decimals, half up (score_raw, RULEBOOK M6)."""
    return value.quantize(_Q4, ROUND_HALF_UP)


def round1(value: Decimal) -> Decimal:
    return value.quantize(_Q1, ROUND_HALF_UP)


def fmt2(value: Decimal) -> str:
    """Text with exactly two decimals, no thousands separator (CSV outputs)."""
    return f"{fen(value):.2f}"


def fmt_money(value: Decimal) -> str:
    """Human text with thousands separators, for explanations."""
    return f"{fen(value):,.2f}"


def fmt_num(value: Decimal) -> str:
    """A factor or figure in a formula, without trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
