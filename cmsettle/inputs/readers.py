"""Read one input file (CSV or the first sheet of an XLSX) into rows of text.

Every cell becomes stripped text ("" when blank) and every row keeps its number as a spreadsheet shows it
(the header row is 1 in a normal file). No value is interpreted here beyond turning spreadsheet cells into
the text a person would type: 1001.0 -> "1001", a date cell -> "2024-05-03". Typing is validate.py's job.

A CSV file is read with pyarrow's multithreaded reader, every column as text (arrow-backed ``str``
columns, no copy into Python objects); a file that reader refuses (rows of different widths, ...) is read
again the slower way, with the same result. Stripping is skipped when the file has no byte that can start
a whitespace character inside a row, which is what a machine export looks like.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import math
import mmap
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import charset_normalizer
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from python_calamine import CalamineError, CalamineWorkbook, PasswordError, XmlError, ZipError

from cmsettle.errors import InputError, Problem
from cmsettle.inputs import prefetch
from cmsettle.inputs.grid import MAX_COLUMNS as _MAX_COLUMNS
from cmsettle.inputs.grid import NOT_UTF8 as _NOT_UTF8
from cmsettle.inputs.grid import arrow_grid as _arrow_grid
from cmsettle.inputs.grid import TypedGrid, first_grid, layout

# Encodings a Chinese export comes in. GB18030 is a superset of GBK and GB2312.
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "hz"}
_SAMPLE = 1 << 18  # bytes given to charset detection


@dataclass(frozen=True)
class RawTable:
    """The text of one input file."""

    table: str
    file: str              # the name shown in problems: relative to the data folder, e.g. 2024-05/trades.csv
    header: list[str]      # as found (stripped); "" where a column has no header
    header_row: int
    cells: pd.DataFrame    # columns 0..len(header)-1, text; only rows with some value
    rows: np.ndarray       # the spreadsheet row number of each row of `cells`
    excel: bool            # from an .xlsx: numbers in date columns are Excel serial dates
    encoding: str | None
    sha256: str            # "" when read with ``hash_later`` (see read_table): hashed by file_sha256 later
    # A large CSV file whose date columns the reader typed (cmsettle.inputs.grid.typed_grid): those
    # columns of `cells` hold date32 values, and this gives the same table all as text (read again, once);
    # None when every column is text.
    as_text: Callable[[], RawTable] | None = None


def read_table(path: Path, table: str, file: str, *, hash_later: bool = False,
               typed: bool = True) -> RawTable:
    """Read a .csv or .xlsx; raise InputError with one Problem when the file cannot be read at all.

    ``hash_later``: a large CSV file read the usual way is not hashed here (its ``sha256`` is ""): the
    caller hashes it with :func:`file_sha256` when a core is free (cmsettle.pipeline: while computing).
    ``typed``: a large CSV file's date columns may come typed (``RawTable.as_text``)."""
    if path.suffix.lower() == ".xlsx":
        raw = path.read_bytes()
        sha = hashlib.sha256(raw).hexdigest()
        grid, encoding, excel = _xlsx_grid(raw, file), None, True
    else:
        with _mapped(path) as mapped:
            later = hash_later and isinstance(mapped, mmap.mmap)
            with ThreadPoolExecutor(1) as side:  # the hash (no GIL held) beside pyarrow's parsing
                hashed = None if later else side.submit(lambda: hashlib.sha256(mapped).hexdigest())
                fast = _csv_arrow(mapped, table, file, hashed or "", side, path, typed=typed)
                sha = hashed.result() if hashed else ""
            if fast is not None:
                return fast
            if not sha:
                sha = hashlib.sha256(mapped).hexdigest()
            raw = bytes(mapped)
        encoding = detect_encoding(raw, file)
        grid, excel = _csv_grid(raw, encoding, file), False
    return _with_header(grid, table, file, excel, encoding, sha)


_MAP_FROM = 1 << 24  # files from 16 MB are mapped, not copied into memory


def file_sha256(path: Path, chunk: int = 1 << 24, stop: threading.Event | None = None) -> str | None:
    """The sha256 of a file's bytes, read in large pieces into one buffer: no lock Python needs is held while
    reading or hashing, and the few switches back to Python cost the thread running beside nothing to speak
    of (mapping the file instead would fault its pages in one by one, against that thread's own faults).
    None if ``stop`` is set before the end (a run given up: its hash is not wanted)."""
    h = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            if stop is not None and stop.is_set():
                return None
            h.update(view[:n])
    return h.hexdigest()


@contextlib.contextmanager
def _mapped(path: Path) -> Iterator[bytes | mmap.mmap]:
    """The bytes of a file: read for a small one, memory-mapped (no copy) for a large one."""
    if path.stat().st_size < _MAP_FROM:
        yield path.read_bytes()
        return
    with open(path, "rb") as fh:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield mm
        finally:
            try:
                mm.close()
            except BufferError:  # a view still held somewhere: closed when it goes
                pass


# Bytes that start a whitespace character (str.isspace) other than the line ends and the delimiter: a file
# without any of them after its header line has nothing to strip. \xc2, \xe1, \xe2, \xe3 lead the UTF-8
# forms of U+0085, U+00A0, U+1680, U+2000-U+205F and U+3000 (and of other characters: then we strip).
_WS_LEADS = (b" ", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\x1f", b"\xc2", b"\xe1", b"\xe2", b"\xe3")


def _csv_arrow(raw: bytes | mmap.mmap, table: str, file: str, sha: str | Future,
               side: ThreadPoolExecutor | None = None, ahead: Path | None = None, *,
               typed: bool = False) -> RawTable | None:
    """The usual CSV file through pyarrow; None when it is not one (then pandas and the csv module read it).
    ``ahead``: the file of these very bytes, whose grid may be being read already (cmsettle.inputs.prefetch):
    claimed once the strip scan has started beside it (the scan then runs while the grid is finished, not
    after: at ten million trades 0.3 s off the time the run waits for its largest table). ``typed``: its
    date columns may be typed by the reader (a large file; ``ahead`` is then its path)."""
    found = layout(raw)
    if found is None:
        return None
    encoding, sep = found
    data = raw
    scan = side.submit(_needs_strip, data, sep) if side is not None else None  # beside the parsing too
    typed = typed and ahead is not None
    read = prefetch.claim(ahead) if typed else None  # not when read again as text: that grid may be typed
    grid = read.grid if read is not None else first_grid(data, encoding, sep, typed=typed)
    if isinstance(grid, TypedGrid):
        strip = scan.result() if scan is not None else _needs_strip(data, sep)
        return _typed_table(grid, table, file, encoding, sha, strip, ahead)
    in_cells = False  # whether the strip check below looks at the cells (they are not the bytes of `data`)
    if grid is _NOT_UTF8:  # GBK and friends
        gb = _gb_grid(raw, sep)
        if gb is not None:  # read as bytes, each distinct non-ASCII value decoded
            (encoding, grid), scan, in_cells = gb, None, True
        else:  # decoded once, given to pyarrow as UTF-8
            encoding, text = _detect(bytes(raw), file)
            data = text.encode("utf-8")
            del text
            grid, scan = _arrow_grid(data, sep), None
    if not isinstance(grid, pa.Table) or grid.num_rows == 0 or grid.num_columns > _MAX_COLUMNS:
        return None
    header = [str(v).strip() for v in grid.slice(0, 1).to_pylist()[0].values()]
    if not any(header):  # a blank first row: the header is further down
        return None
    body = grid.slice(1)
    columns = [body.column(i) for i in range(body.num_columns)]
    strip = scan.result() if scan is not None else _cells_need_strip(columns, sep) if in_cells \
        else _needs_strip(data, sep)
    if not strip and data.find(b'"', data.find(b"\n") + 1) >= 0:  # a quoted value may hold a line end
        strip = any(pc.any(pc.match_substring_regex(c, "[\r\n]")).as_py() for c in columns)
    if strip:
        columns = [pc.utf8_trim_whitespace(c) for c in columns]  # the characters of str.strip()
    # A row is blank when all its cells are; only rows with a blank first cell can be.
    maybe = np.flatnonzero(np.asarray(pc.equal(columns[0], "").to_numpy(zero_copy_only=False), dtype=bool)) \
        if columns else np.zeros(0, dtype=np.int64)
    blank = np.ones(len(maybe), dtype=bool)
    if len(maybe):
        at = pa.array(maybe)
        for c in columns[1:]:
            blank &= np.asarray(pc.equal(c.take(at), "").to_numpy(zero_copy_only=False), dtype=bool)
    filled = np.ones(body.num_rows, dtype=bool)
    filled[maybe[blank]] = False
    keep = np.flatnonzero(filled)
    if len(keep) < body.num_rows:
        take = pa.array(keep)
        columns = [c.take(take) for c in columns]
    cells = pd.DataFrame({i: pd.Series(c, dtype=_TEXT, copy=False) for i, c in enumerate(columns)},
                         columns=pd.RangeIndex(len(columns)), copy=False)
    if not len(columns):
        cells = pd.DataFrame(index=pd.RangeIndex(len(keep)))
    return RawTable(table=table, file=file, header=header, header_row=1, cells=cells, rows=keep + 2,
                    excel=False, encoding=encoding, sha256=sha if isinstance(sha, str) else sha.result())


def _typed_table(grid: TypedGrid, table: str, file: str, encoding: str, sha: str | Future, strip: bool,
                 path: Path) -> RawTable:
    """The RawTable of a typed grid: as :func:`_csv_arrow` makes it of text, but without the blank rows'
    search (a date is never blank, so no row is) and stripping only the text columns (the reader took the
    dates with their blanks around, as the text's are stripped before typing)."""
    series = {}
    for i, c in enumerate(grid.body.columns):
        if pa.types.is_date32(c.type):
            series[i] = pd.Series(c, dtype=pd.ArrowDtype(c.type), copy=False)
        else:
            series[i] = pd.Series(pc.utf8_trim_whitespace(c) if strip else c, dtype=_TEXT, copy=False)
    cells = pd.DataFrame(series, columns=pd.RangeIndex(len(series)), copy=False)
    sha256 = sha if isinstance(sha, str) else sha.result()
    return RawTable(table=table, file=file, header=[h.strip() for h in grid.header], header_row=1,
                    cells=cells, rows=np.arange(2, grid.body.num_rows + 2), excel=False, encoding=encoding,
                    sha256=sha256, as_text=_AsText(path, table, file, sha256))


class _AsText:
    """A typed table's file read again, all as text (once, whichever thread asks first)."""

    def __init__(self, path: Path, table: str, file: str, sha256: str):
        self._args = path, table, file, sha256
        self._lock = threading.Lock()
        self._raw: RawTable | None = None

    def __call__(self) -> RawTable:
        with self._lock:
            if self._raw is None:
                path, table, file, sha256 = self._args
                again = read_table(path, table, file, hash_later=True, typed=False)
                self._raw = replace(again, sha256=sha256)
            return self._raw


def _needs_strip(data: bytes, sep: str) -> bool:
    """Whether a value may start or end with whitespace: a byte of _WS_LEADS after the header line."""
    start = data.find(b"\n") + 1
    return any(data.find(b, start) >= 0 for b in _WS_LEADS) or (sep != "\t" and data.find(b"\t", start) >= 0)


def _cells_need_strip(columns: list[pa.ChunkedArray], sep: str) -> bool:
    """:func:`_needs_strip` on the cells below the header: the bytes of _WS_LEADS can only be in them."""
    leads = _WS_LEADS + ((b"\t",) if sep != "\t" else ())
    return any(any(data.find(b) >= 0 for b in leads) for c in columns for data in chunk_bytes(c))


def chunk_bytes(column: pa.ChunkedArray) -> Iterator[bytes]:
    """The bytes of each chunk of a (large) string or binary column, its values one after the other."""
    for chunk in column.chunks:
        if len(chunk) == 0 or chunk.buffers()[2] is None:
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type) \
            else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], dtype=width)
        start, end = int(offsets[chunk.offset]), int(offsets[chunk.offset + len(chunk)])
        yield memoryview(chunk.buffers()[2])[start:end].tobytes()


# Encodings in which every byte of a multi-byte character is 0x40 or more (GB18030's four-byte ones also
# take 0x30-0x39): a delimiter, quote or line end is never part of a character, so a file in one of them
# has the rows and cells of its decoded text, and decodes if and only if each of its cells does.
_CELLWISE = {"gb2312", "gbk", "gb18030", "cp936"}


def _gb_grid(raw: bytes | mmap.mmap, sep: str) -> tuple[str, pa.Table] | None:
    """The grid of a GBK-family file without decoding the whole file (a million clients: 0.1 s, not 0.4 s of
    decoding that holds Python's lock): pyarrow reads the cells as bytes; the header and each distinct
    value that is not plain ASCII are decoded with the encoding :func:`_detect` would choose (the first of
    its candidates that decodes them all). The same grid as decoding the file and reading the UTF-8 text.
    None when the candidates are not all of _CELLWISE or pyarrow cannot read the file: then that way."""
    if bytes(raw[:3]) == codecs.BOM_UTF8:  # not UTF-8 after all: _detect says what is wrong
        return None
    candidates = _candidates(raw)
    if not all(c.lower().replace("_", "").replace("-", "") in _CELLWISE for c in candidates):
        return None
    grid = _arrow_grid(raw, sep, pa.large_binary())
    if not isinstance(grid, pa.Table) or grid.num_rows == 0:
        return None
    columns = [grid.column(i) for i in range(grid.num_columns)]
    for encoding in candidates:
        try:
            return encoding, pa.table([_decoded(c, encoding) for c in columns], names=grid.column_names)
        except UnicodeDecodeError:
            continue
    return None  # (the whole file is decoded, and cannot be: that error)


def _decoded(column: pa.ChunkedArray, encoding: str) -> pa.ChunkedArray:
    """A column of bytes as text: the header cell decoded, the cells below as they are when all ASCII, else
    each distinct value decoded once."""
    head = pa.array([column[0].as_py().decode(encoding)], type=pa.large_string())
    body = column.slice(1)
    if all(data.isascii() for data in chunk_bytes(body)):
        return pa.chunked_array([head, *body.cast(pa.large_string()).chunks], type=pa.large_string())
    codes = body.dictionary_encode().unify_dictionaries()
    distinct = codes.chunks[0].dictionary.to_pylist() if codes.num_chunks else []
    if any(b"\0" in v for v in distinct):
        texts = [v.decode(encoding) for v in distinct]
    else:  # one decoding for all (no character of these encodings has a NUL byte)
        texts = b"\0".join(distinct).decode(encoding).split("\0") if distinct else []
    values = pa.array(texts, type=pa.large_string())
    return pa.chunked_array([head, *(values.take(c.indices) for c in codes.chunks)], type=pa.large_string())


_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str" with pyarrow


def detect_encoding(raw: bytes, file: str) -> str:
    """UTF-8 (with or without BOM) first, then charset-normalizer's guess if Chinese, then GB18030."""
    return _detect(raw, file)[0]


def _detect(raw: bytes, file: str) -> tuple[str, str]:
    """detect_encoding, and the text decoded with it."""
    if raw.startswith(codecs.BOM_UTF8):
        return _first_decoding(raw, file, ["utf-8-sig"])
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _first_decoding(raw, file, ["utf-16"])
    try:
        return "utf-8", raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _first_decoding(raw, file, _candidates(raw))


def _candidates(raw: bytes | mmap.mmap) -> list[str]:
    """The encodings to try, in order, for a file that is not UTF-8."""
    # Detect on a sample cut at a line end (the whole file would take seconds); _first_decoding then
    # checks the candidates against every byte.
    sample = bytes(raw[:_SAMPLE])
    if len(raw) > _SAMPLE and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    best = charset_normalizer.from_bytes(sample).best()
    guess = best.encoding if best is not None else None
    chinese = guess is not None and guess.lower().replace("_", "") in _GB_FAMILY
    # A guess outside the GB family is tried last: short GBK texts are often taken for Big5 or a code page.
    candidates = [guess] if chinese else []
    candidates.append("gb18030")
    if guess and not chinese:
        candidates.append(guess)
    return candidates  # type: ignore[return-value]


def _first_decoding(raw: bytes, file: str, candidates: list[str]) -> tuple[str, str]:
    for enc in candidates:
        try:
            return enc, raw.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    raise InputError([Problem(file, "cannot decode the file", expected="CSV text in UTF-8, GBK or GB18030")])


def _csv_grid(raw: bytes, encoding: str, file: str) -> pd.DataFrame:
    first_line = raw[:4096].decode(encoding, errors="ignore").split("\n", 1)[0]
    sep = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        return pd.read_csv(
            io.BytesIO(raw), header=None, dtype=str, sep=sep, encoding=encoding, keep_default_na=False,
            na_filter=False, skip_blank_lines=False, engine="c",
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError:
        # Some row has more fields than the first one: read with the csv module, pad the short rows.
        try:
            records = list(csv.reader(io.StringIO(raw.decode(encoding), newline=""), delimiter=sep))
        except csv.Error as exc:
            raise InputError([Problem(file, f"not a readable CSV file: {exc}")]) from None
        width = max((len(r) for r in records), default=0)
        return pd.DataFrame([r + [""] * (width - len(r)) for r in records], dtype=str)


def _xlsx_grid(raw: bytes, file: str) -> pd.DataFrame:
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(raw)).get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except (CalamineError, PasswordError, XmlError, ZipError, OSError, ValueError) as exc:
        raise InputError([Problem(file, f"not a readable .xlsx workbook: {exc}")]) from None
    width = max((len(r) for r in rows), default=0)
    if any(len(r) != width for r in rows):
        rows = [list(r) + [None] * (width - len(r)) for r in rows]
    # column by column, each distinct (type, value) turned into text once: dates, codes, rates and ids repeat
    columns = {}
    for i, cells in enumerate(zip(*rows)) if rows else ():
        memo: dict[tuple[type, object], str] = {}
        texts = []
        for c in cells:
            key = (type(c), c)
            t = memo.get(key)
            if t is None:
                t = memo[key] = cell_text(c)
            texts.append(t)
        columns[i] = pd.Series(texts, dtype=str)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)), columns=pd.RangeIndex(width))


def cell_text(cell: object) -> str:
    """A spreadsheet cell as the text a person would type: 1001.0 -> "1001", a date -> "2024-05-03"."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        if not math.isfinite(cell):
            return repr(cell)
        if cell.is_integer():
            return str(int(cell))
        # Excel keeps 15 significant digits: 0.1+0.2 is 0.3 there, not 0.30000000000000004.
        return format(Decimal(format(cell, ".15g")), "f")
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == time() else cell.isoformat(sep=" ")
    if isinstance(cell, (date, time, timedelta)):
        return cell.isoformat() if not isinstance(cell, timedelta) else str(cell)
    return str(cell)


def _with_header(grid: pd.DataFrame, table: str, file: str, excel: bool, encoding: str | None,
                 sha: str) -> RawTable:
    grid = grid.fillna("")
    for c in grid.columns:
        grid[c] = grid[c].astype(str).str.strip()
    filled = (grid != "").any(axis=1).to_numpy() if len(grid.columns) else np.zeros(len(grid), bool)
    nonblank = np.flatnonzero(filled)
    if len(nonblank) == 0:
        raise InputError([Problem(file, "the file is empty",
                                  expected="a header row, then one row per record")])
    h = int(nonblank[0])
    header = list(grid.iloc[h])
    keep = nonblank[1:]
    if len(keep) and keep[-1] - keep[0] == len(keep) - 1:  # no blank row in between: a slice, no copy
        cells = grid.iloc[keep[0]: keep[-1] + 1].reset_index(drop=True)
    else:
        cells = grid.iloc[keep].reset_index(drop=True)
    cells.columns = range(len(header))
    return RawTable(table=table, file=file, header=header, header_row=h + 1, cells=cells,
                    rows=keep + 1, excel=excel, encoding=encoding, sha256=sha)
