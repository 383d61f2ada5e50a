"""The first step of reading a CSV file: its cells as text through pyarrow's reader, with nothing but pyarrow.

Kept apart from readers.py (which needs pandas and the spreadsheet and charset libraries) so that
cmsettle.inputs.prefetch can start reading a month's largest file before those are imported. readers.py
takes the grid from here, whoever read it; the grid is the same either way.
"""

from __future__ import annotations

import codecs
import mmap

import pyarrow as pa
import pyarrow.csv as pv


def _fast_memory_pool() -> None:
    """pyarrow's jemalloc pool where the wheel has it: reading ten million rows with the default (mimalloc)
    spends as much time in the kernel, faulting in fresh pages, as in parsing; jemalloc reuses them."""
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, AttributeError, pa.ArrowException):
        pass


_fast_memory_pool()

MAX_COLUMNS = 1024
NOT_UTF8 = object()  # the grid of a file that is not UTF-8 (a GBK export): decoded first, then read


def layout(raw: bytes | mmap.mmap) -> tuple[str, str] | None:
    """The encoding as pyarrow reads the file ("utf-8" or "utf-8-sig") and the delimiter, from the first
    line; None for a UTF-16 file (not one for pyarrow)."""
    head = bytes(raw[:4096])
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    first_line = head.decode(encoding, errors="ignore").split("\n", 1)[0]
    return encoding, "\t" if "\t" in first_line and "," not in first_line else ","


def first_grid(raw: bytes | mmap.mmap, encoding: str, sep: str) -> pa.Table | object | None:
    """The grid of a file of that :func:`layout`: NOT_UTF8 at once when its first megabyte is not UTF-8
    (not parsed in vain first), else :func:`arrow_grid`."""
    if encoding == "utf-8" and not utf8_start(raw):
        return NOT_UTF8
    return arrow_grid(raw, sep)


def utf8_start(data: bytes | mmap.mmap, size: int = 1 << 20) -> bool:
    """Whether the file's first ``size`` bytes (cut back to a line end) are UTF-8."""
    head = bytes(data[:size])
    if len(data) > size and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def arrow_grid(data: bytes | mmap.mmap, sep: str, cells: pa.DataType | None = None) -> pa.Table | object | None:
    """Every cell as text (or as ``cells``: large_binary for bytes), the header row included; NOT_UTF8, or
    None when pyarrow cannot read it."""
    try:
        return pv.read_csv(
            pa.BufferReader(data),
            read_options=pv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
            parse_options=pv.ParseOptions(delimiter=sep, ignore_empty_lines=False,
                                          newlines_in_values=data.find(b'"') >= 0),
            convert_options=pv.ConvertOptions(
                column_types={f"f{i}": cells or pa.large_string() for i in range(MAX_COLUMNS)},
                strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[]),
        )
    except pa.ArrowInvalid as exc:
        return NOT_UTF8 if "UTF8" in str(exc) or "UTF-8" in str(exc) else None
