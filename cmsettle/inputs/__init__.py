"""The input layer: read and validate one month folder (DATA.md) into an immutable ``MonthInputs``.

``MonthReader`` and ``load_month`` are imported from cmsettle.inputs.validate when first asked for, so that
cmsettle.inputs.prefetch (pyarrow only) can be imported before pandas is."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmsettle.inputs.validate import MonthReader, load_month

__all__ = ["MonthReader", "load_month"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from cmsettle.inputs import validate

        return getattr(validate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
