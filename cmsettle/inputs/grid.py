"""The first step of reading a CSV file: its cells as text through pyarrow's reader (a large file's ISO
dates as dates: :func:`typed_grid`), with nothing but pyarrow.

Kept apart from readers.py (which needs pandas and the spreadsheet and charset libraries) so that
cmsettle.inputs.prefetch can start reading a month's largest file before those are imported. readers.py
takes the grid from here, whoever read it; the grid is the same either way.
"""

from __future__ import annotations

import codecs
import mmap
import os
import re
from dataclasses import dataclass

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


def first_grid(raw: bytes | mmap.mmap, encoding: str, sep: str, *, typed: bool = True
               ) -> pa.Table | TypedGrid | object | None:
    """The grid of a file of that :func:`layout`: NOT_UTF8 at once when its first megabyte is not UTF-8
    (not parsed in vain first), else :func:`arrow_grid` (``typed``: a :class:`TypedGrid` when there is
    one)."""
    if encoding == "utf-8" and not utf8_start(raw):
        return NOT_UTF8
    return arrow_grid(raw, sep, typed=typed)


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


@dataclass(frozen=True)
class TypedGrid:
    """A large CSV file read with its date columns typed by the reader itself (see :func:`typed_grid`): the
    header's cells, and the rows below it, those columns as ``date32``, the others as text."""

    header: list[str]
    body: pa.Table


#: Files from this size on are first tried with their date columns typed by the reader.
TYPED_FROM = 1 << 24
_SAMPLE = 1 << 16  # bytes at the start whose rows decide which columns to type
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def typed_grid(data: bytes | mmap.mmap, sep: str) -> TypedGrid | None:
    """The file with its ISO date columns typed by pyarrow's reader as it parses (``date32``): at ten million
    trades the dates' text (10 bytes a cell and 8 of offset: 180 MB of fresh memory) is never made, nor cast
    to dates after (paired whole runs 0.92). None (the file is then read as text) unless it is worth it and
    the dates are exactly those the text would give (cmsettle.inputs.validate types an ISO date column
    from its text by the same strict conversion):

    * a file of TYPED_FROM bytes or more, without any `"` (a row is then a line, and the header the first);
    * a column is typed when every value of the first rows (``_SAMPLE`` bytes) is ``2024-05-03``;
    * every value below must then be such a date too (pyarrow takes blanks around it, which the text path
      strips), or the whole typed reading fails and None is returned: a blank, another form, an impossible
      date are left to the text path, which types them its own way or reports them.

    Problems need a cell's text: validate reads the file again as text (``RawTable.as_text``) when a typed
    column has a date out of its range, or is not a date column of a large table.

    Amounts were typed this way too (``decimal128(38, 2)`` for values at fen) and measured: no gain at ten
    million trades (paired 0.99-1.0), and an ``e`` in the file (pyarrow takes 1.5e3 as a number, the text
    path has its own rule for exponents) would need a scan of the file that cost more (1.08). So were the
    columns of a few words (product, side) read as dictionaries and their codes taken from the blocks'
    dictionaries made one, instead of hashing every cell: 0.98 and 1.01 (6 and 8 pairs), no gain either."""
    if len(data) < int(os.environ.get("CMSETTLE_TEST_TYPED_FROM") or TYPED_FROM) or data.find(b'"') >= 0:
        return None
    head = bytes(data[:_SAMPLE])
    head = head[: head.rfind(b"\n") + 1]
    sample = _text_grid(head, sep) if head.count(b"\n") >= 2 else None
    if not isinstance(sample, pa.Table) or sample.num_rows < 2:
        return None
    header = [str(v) for v in sample.slice(0, 1).to_pylist()[0].values()]
    rows = sample.slice(1)
    names = [f"f{i}" for i in range(len(header))]
    dates = [n for i, n in enumerate(names) if all(_ISO_DATE.fullmatch(v) for v in rows.column(i).to_pylist())]
    if not dates:
        return None
    try:
        body = pv.read_csv(
            pa.BufferReader(data),
            read_options=pv.ReadOptions(skip_rows=1, column_names=names, block_size=1 << 24),
            parse_options=pv.ParseOptions(delimiter=sep, ignore_empty_lines=False),
            convert_options=pv.ConvertOptions(
                column_types={n: pa.date32() if n in dates else pa.large_string() for n in names},
                strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[]),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a value that does not convert, a ragged row, ...
        return None
    return TypedGrid(header, body)


def arrow_grid(data: bytes | mmap.mmap, sep: str, cells: pa.DataType | None = None, *,
               typed: bool = False) -> pa.Table | TypedGrid | object | None:
    """Every cell as text (or as ``cells``: large_binary for bytes), the header row included; NOT_UTF8, or
    None when pyarrow cannot read it. ``typed``: a :func:`typed_grid` when there is one."""
    if typed and cells is None and (grid := typed_grid(data, sep)) is not None:
        return grid
    return _text_grid(data, sep, cells)


def _text_grid(data: bytes | mmap.mmap, sep: str, cells: pa.DataType | None = None
               ) -> pa.Table | object | None:
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
