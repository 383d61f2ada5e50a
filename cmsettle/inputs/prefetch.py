"""The month's largest file read from the first moment of ``settle month``, before the heavy imports.

Starting the command imports pandas, SQLAlchemy, pydantic, Typer and the rest: about half a second on one
core, with the other idle, before the month's files begin to be read (cmsettle.inputs.MonthReader). The
console script (cmsettle.console) therefore starts, with nothing but pyarrow imported, one thread that reads
the largest of the month folder's large tables (trades, at scale) into its grid of text, its ISO dates typed
(cmsettle.inputs.grid), exactly as readers.py would; readers.py then takes that grid (:func:`claim`) instead
of reading the file again, if it is the same file unchanged since (inode, size and modification time).
Anything else (another folder given after all, a file changed, a GBK file, a read that failed) and the file is
read the usual way; the grid read ahead is dropped when the month's reading ends (:func:`discard`). Only
pyarrow is needed here.
"""

from __future__ import annotations

import mmap
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cmsettle.inputs.grid import first_grid, layout

Stamp = tuple[int, int, int]


def file_stamp(path: Path) -> Stamp:
    """What tells a file changed: its inode, size and modification time (ns)."""
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


@dataclass(frozen=True)
class Read:
    """A file's grid (cmsettle.inputs.grid.first_grid) as read ahead, and the file's stamp before reading."""

    path: Path
    stamp: Stamp
    grid: object


class _Ahead:
    def __init__(self, path: Path):
        self.path = path
        self.read: Read | None = None
        self.thread = threading.Thread(target=self._run, name="cmsettle-prefetch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            stamp = file_stamp(self.path)
            with open(self.path, "rb") as fh:
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                try:
                    found = layout(mm)
                    if found is not None:
                        self.read = Read(self.path, stamp, first_grid(mm, *found))
                finally:
                    try:
                        mm.close()
                    except BufferError:  # a view still held somewhere: closed when it goes
                        pass
        except Exception:  # noqa: BLE001  anything (unreadable, empty, ...): read and reported the usual way
            self.read = None


_ahead: _Ahead | None = None
_lock = threading.Lock()

#: Files from this size on are worth reading ahead (below, the thread costs more than it saves).
AHEAD_FROM = 1 << 26


#: The input files that can be large (the tables of cmsettle.model.FRAME_SCHEMA), as named in a month folder.
LARGE = ("clients.csv", "assets.csv", "trades.csv", "fund_sales.csv")


def start(folder: Path) -> Path | None:
    """Begin reading the largest of a month folder's LARGE files in the background; the file, or None when
    there is nothing worth it (no folder, no such file of AHEAD_FROM bytes or more)."""
    global _ahead
    try:
        files = [(p.stat().st_size, p) for p in folder.iterdir() if p.name.casefold() in LARGE and p.is_file()]
    except OSError:
        return None
    if not files:
        return None
    size, path = max(files)
    if size < int(os.environ.get("CMSETTLE_TEST_AHEAD_FROM") or AHEAD_FROM):  # test-only, as FORK_FROM
        return None
    with _lock:
        _ahead = _Ahead(path)
    return path


def claim(path: Path) -> Read | None:
    """The grid read ahead for this file (waiting for it), once, if it is this file unchanged since; else None."""
    global _ahead
    with _lock:
        ahead = _ahead
        if ahead is None or not _same(ahead.path, path):
            return None
        _ahead = None
    ahead.thread.join()
    read = ahead.read
    if read is None or read.grid is None:
        return None
    try:
        return read if file_stamp(path) == read.stamp else None
    except OSError:
        return None


def discard() -> None:
    """Drop a grid read ahead and not claimed (its thread left to end; a daemon)."""
    global _ahead
    with _lock:
        _ahead = None


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
