"""cmsettle: month-end pay settlement for the account managers of a securities brokerage branch."""

from pathlib import Path

__version__ = "0.1.0"

#: The repository root holds the packaged rule sets and templates next to the package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES_DIR = PROJECT_ROOT / "rules"
TEMPLATES_DIR = PROJECT_ROOT / "templates"
