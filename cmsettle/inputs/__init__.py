"""The input layer: read and validate one month folder (DATA.md) into an immutable ``MonthInputs``."""

from cmsettle.inputs.validate import load_month

__all__ = ["load_month"]
