"""The input layer: read and validate one month folder (DATA.md) into an immutable ``MonthInputs``."""

from cmsettle.inputs.validate import MonthReader, load_month

__all__ = ["MonthReader", "load_month"]
