"""The first step of reading a CSV file: its cells as text through pyarrow's reader, with nothing but pyarrow.

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
    """A large CSV file read with its amount-like and date-like columns typed by the reader itself (see
    :func:`typed_grid`): the header's cells, and the rows below it, those columns as ``decimal128(38, 2)``
    or ``date32``, the others as text."""

    header: list[str]
    body: pa.Table


#: Files from this size on are first tried with their amount and date columns typed by the reader.
TYPED_FROM = 1 << 24
_SAMPLE = 1 << 16  # bytes at the start whose rows decide which columns to type
_MONEY = re.compile(r"\d{1,15}\.\d\d")  # 1234.50: the fen of a CRM export
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")
MONEY = pa.decimal128(38, 2)


def typed_grid(data: bytes | mmap.mmap, sep: str) -> TypedGrid | None:
    """The file with the columns that look like amounts at fen or ISO dates typed by pyarrow's reader as it
    parses (``decimal128(38, 2)``, ``date32``): at ten million trades the turnover cast from text is about
    0.5 s of a core, the reader's own conversion a fraction of that, and the dates' text (180 MB) is never
    made. None (the file is then read as text) unless it is worth it and the typed values are exactly
    those the text would give (cmsettle.inputs.validate types a column from its text the same way):

    * a file of TYPED_FROM bytes or more, without any `"` (a row is then a line, and the header the first);
    * a column is typed when every value of the first rows (``_SAMPLE`` bytes) is ``1234.50`` or
      ``2024-05-03``; amount-like ones only when no byte after the header is ``e`` or ``E``, since the
      reader takes 1.5e3 as a number where the text's own rule (an exponent only when it cannot have been
      rounded) may refuse it;
    * every value below must then convert, or the whole typed reading fails and None is returned: pyarrow
      takes a number with a sign, leading zeros, up to two decimals or surrounding blanks, as the text path
      does after stripping, and refuses blanks, more decimals, thousands separators and anything else, which
      the text path then reports or types at its own scale.

    Problems need a cell's text: validate reads the file again as text (``RawTable.as_text``) for a typed
    column with any value the text path would report, or one that is not an amount or a date of a large
    table."""
    if len(data) < int(os.environ.get("CMSETTLE_TEST_TYPED_FROM") or TYPED_FROM) or data.find(b'"') >= 0:
        return None
    end = data.find(b"\n")
    head = bytes(data[:_SAMPLE])
    head = head[: head.rfind(b"\n") + 1]
    sample = _text_grid(head, sep) if end >= 0 and head.count(b"\n") >= 2 else None
    if not isinstance(sample, pa.Table) or sample.num_rows < 2:
        return None
    header = [str(v) for v in sample.slice(0, 1).to_pylist()[0].values()]
    rows = sample.slice(1)
    exponent = data.find(b"e", end) >= 0 or data.find(b"E", end) >= 0
    types: dict[str, pa.DataType] = {}
    for i in range(len(header)):
        values = rows.column(i).to_pylist()
        if not exponent and all(_MONEY.fullmatch(v) for v in values):
            types[f"f{i}"] = MONEY
        elif all(_ISO_DATE.fullmatch(v) for v in values):
            types[f"f{i}"] = pa.date32()
    if not types:
        return None
    names = [f"f{i}" for i in range(len(header))]
    try:
        body = pv.read_csv(
            pa.BufferReader(data),
            read_options=pv.ReadOptions(skip_rows=1, column_names=names, block_size=1 << 24),
            parse_options=pv.ParseOptions(delimiter=sep, ignore_empty_lines=False),
            convert_options=pv.ConvertOptions(
                column_types={n: types.get(n, pa.large_string()) for n in names},
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
