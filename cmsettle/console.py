"""The console script ``settle`` (and ``python -m cmsettle``): read ahead, then the command line.

Importing the command line (Typer, rich, pandas, pydantic, SQLAlchemy, ...) takes about half a second on one
core. For ``settle month`` the month's largest file is meanwhile read on the other one
(cmsettle.inputs.prefetch), with only pyarrow imported: the options are looked at here just enough to find
the month folder, the way the command line will (the option, its environment variable, cmsettle.toml, the
default). A wrong guess costs nothing but that thread's work: the command reads what it is given.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Optional

#: The options of the command line that take a value (the rest are flags), before and after the command.
_VALUED = {"--log", "--audit", "--data", "--out", "--rules", "--db"}
_MONTH = re.compile(r"\d{4}-\d{2}")


def config_file() -> dict:
    """cmsettle.toml of the working folder (empty when there is none)."""
    path = Path("cmsettle.toml")
    if path.exists():
        with path.open("rb") as fh:
            return tomllib.load(fh)
    return {}


def setting(value: Optional[str], env: str, key: str, default: str) -> str:
    """An option, else its environment variable, else cmsettle.toml, else the default (CLI.md)."""
    if value:
        return value
    if os.environ.get(env):
        return os.environ[env]
    return str(config_file().get(key, default))


def month_folder(argv: list[str]) -> Path | None:
    """The month folder ``settle month YYYY-MM [--data D]`` will read; None for any other command."""
    words: list[str] = []
    options: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            words.extend(argv[i + 1:])
            break
        name, eq, value = arg.partition("=")
        if name in _VALUED:
            if not eq:
                i += 1
                value = argv[i] if i < len(argv) else ""
            options[name] = value
        elif not arg.startswith("-"):
            words.append(arg)
        i += 1
    if len(words) < 2 or words[0] != "month" or not _MONTH.fullmatch(words[1]):
        return None
    try:
        return Path(setting(options.get("--data"), "CMSETTLE_DATA", "data", "./data")) / words[1]
    except (OSError, ValueError, tomllib.TOMLDecodeError):  # the command line reports a bad cmsettle.toml
        return None


def numpy_settings() -> None:
    """numpy's settings that are read from the environment when it is loaded (so set before), unless the
    environment says otherwise:

    - one thread for its OpenBLAS: cmsettle does no linear algebra, and a pool of BLAS threads only competes
      for the cores with pyarrow's and the run's own threads (a 10,000,000-trade month: 2-4% faster, paired);
    - no transparent huge pages for its arrays (``NUMPY_MADVISE_HUGEPAGE=0``): a run's arrays are mostly
      made once and dropped, so each huge page is a fresh 2 MB the kernel zeroes as it is first touched; on
      this virtual machine that zeroing took 1.4-2.1 s of a 10,000,000-trade run's CPU time against 0.4-0.7 s
      for the same arrays in 4 KB pages (perf: ``clear_page_erms`` under ``do_huge_pmd_anonymous_page``)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


def read_ahead() -> None:
    """What comes before the command line's imports: numpy's settings, and for ``settle month`` the month's
    largest file read in the background."""
    numpy_settings()
    folder = month_folder(sys.argv[1:])
    if folder is not None:
        from cmsettle.inputs import prefetch

        prefetch.start(folder)


def main() -> None:
    read_ahead()
    from cmsettle.cli import main as command_line

    command_line()
