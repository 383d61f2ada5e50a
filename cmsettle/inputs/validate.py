"""Typed parsing and every check of one month's input files (DATA.md; RULEBOOK D4-D6, D17, D23, D29).

The flow of :func:`load_month`: find the files -> read each into text (readers.py) -> map headers through
the aliases -> type every column -> check rows, duplicates and references across tables -> build the
immutable ``MonthInputs``. Problems are collected, never raised one by one: one run reports every problem
of every file in a single ``InputError`` (at most ``CAP`` per file and column, then a count).

Columns are typed per distinct value (pyarrow's dictionary encoding), so a 10M-row table with a few
thousand distinct dates, codes or ids costs a few thousand parses, and Problems are built only for failing
rows. The large tables (clients, assets, trades, fund_sales) come out in the compact dtypes of
:mod:`cmsettle.model`:
ids and codes as categories, dates as arrow dates, and amounts parsed by pyarrow straight from the text
into exact scaled integers (:func:`parse_amount_column`; no float, no Decimal object per row).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from cmsettle import model
from cmsettle.errors import InputError, NotReadyError, Problem
from cmsettle.inputs import tables as T
from cmsettle.inputs import prefetch
from cmsettle.inputs.prefetch import file_stamp
from cmsettle.inputs.readers import RawTable, chunk_bytes, file_sha256, read_table
from cmsettle.money import D
from cmsettle.months import Month
from cmsettle.ruleset.schema import RuleSet
from cmsettle.yaml_loaders import BaseLoader

ALIASES_FILE = Path(__file__).resolve().parent.parent / "config" / "aliases.yaml"
CAP = 50  # problems listed per file and column; the rest are counted
_THREADS = min(4, os.cpu_count() or 1)
_PARALLEL_FROM = 100_000  # rows from which a large table's columns are typed in threads

_RECORDS: dict[str, type] = {
    "roster": model.RosterRow, "attendance": model.AttendanceRow, "management": model.ManagementRow,
    "penalties": model.PenaltyRow, "referrals": model.ReferralRow, "deductions": model.DeductionRow,
    "grade_overrides": model.OverrideRow, "history": model.HistoryRow, "opening": model.OpeningRow,
}
_COUNT_ONCE = ("late", "early_leave")  # attendance codes that count one occurrence each; `days` may be blank


# --- aliases ---------------------------------------------------------------------------------------------

_UNIT = re.compile(r"\s*[(（][^()（）]*[)）]$")


def norm_header(text: str) -> str:
    """A header as matched against the aliases: no case, no `*`, no trailing unit, `_` for spaces."""
    t = text.replace("\ufeff", "").strip().strip("*＊").strip()
    t = _UNIT.sub("", t)
    return re.sub(r"[\s\-]+", "_", t.casefold())


@dataclass(frozen=True)
class Aliases:
    headers: dict[str, dict[str, str]]  # table -> normalised header -> column
    values: dict[str, dict[str, str]]   # code kind -> casefolded word -> code
    shown: dict[str, dict[str, str]]    # code kind -> code -> its first alias (for "expected" texts)
    booleans: dict[str, bool]


def load_aliases(path: Path = ALIASES_FILE) -> Aliases:
    """Read aliases.yaml; a mistake in it is a bug of the package and raises ValueError."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=BaseLoader)  # all scalars stay text
    errors: list[str] = []
    header_data: dict = data.get("headers", {})
    for section in header_data:
        if section != "any" and section not in T.TABLE_BY_NAME:
            errors.append(f"headers.{section}: not a table")
    all_columns = {c.name for t in T.TABLES for c in t.columns}
    errors += [f"headers.any.{c}: not a column of any table" for c in header_data.get("any", {})
               if c not in all_columns]
    headers: dict[str, dict[str, str]] = {}
    for spec in T.TABLES:
        names = set(spec.names)
        found: dict[str, str] = {norm_header(n): n for n in names}
        for col, words in header_data.get(spec.name, {}).items():
            if col not in names:
                errors.append(f"headers.{spec.name}.{col}: not a column of {spec.name}")
            for w in words:
                key = norm_header(w)
                if found.setdefault(key, col) != col:
                    errors.append(f"headers.{spec.name}: '{w}' means both {found[key]} and {col}")
        for col, words in header_data.get("any", {}).items():
            if col in names:
                for w in words:
                    found.setdefault(norm_header(w), col)  # a table's own section wins
        headers[spec.name] = found
    values: dict[str, dict[str, str]] = {}
    shown: dict[str, dict[str, str]] = {}
    value_data: dict = data.get("values", {})
    for kind, codes in T.CODES.items():
        words_of = value_data.get(kind, {})
        found = {c.casefold(): c for c in codes}
        shown[kind] = {}
        for code, words in words_of.items():
            if code not in codes:
                errors.append(f"values.{kind}.{code}: not a code of {kind}; codes are {', '.join(codes)}")
            if words:
                shown[kind][code] = words[0]
            for w in words:
                if found.setdefault(w.casefold(), code) != code:
                    errors.append(f"values.{kind}: '{w}' means both {found[w.casefold()]} and {code}")
        values[kind] = found
    errors += [f"values.{k}: not a code kind" for k in value_data if k not in T.CODES and k != "bool"]
    booleans: dict[str, bool] = {}
    for flag, words in value_data.get("bool", {}).items():
        if flag not in ("true", "false"):
            errors.append(f"values.bool.{flag}: expected true or false")
        for w in words:
            booleans[w.casefold()] = flag == "true"
    if errors:
        raise ValueError(f"{path}: " + "; ".join(errors))
    return Aliases(headers, values, shown, booleans)


@functools.cache
def aliases() -> Aliases:
    return load_aliases()


# --- typing one value (applied once per distinct value of a column) ----------------------------------------

class _Bad(Exception):
    def __init__(self, message: str, expected: str):
        super().__init__(message)
        self.message, self.expected = message, expected


_DATE_EXPECTED = "a date as YYYY-MM-DD or YYYY/MM/DD, e.g. 2024-05-31"
_AMOUNT_EXPECTED = "a number such as 1234.50 or 1,234.50"
_DATE_RE = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DATE8_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL_RE = re.compile(r"\d+(?:\.\d+)?")
_PLAIN_RE = r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)"
_EXP_RE = re.compile(r"[+-]?(\d+(?:\.\d*)?|\.\d+)[eE][+-]?\d+")
_INT_RE = re.compile(r"[+-]?\d+")
_EXCEL_EPOCH = date(1899, 12, 30)
# No amount reaches 10^15 (a thousand trillion yuan); bigger is a broken cell, and would overflow the
# 28 digits of Decimal arithmetic in the computation (issue 9: hostile input is exit 3, never a crash).
AMOUNT_LIMIT = Decimal(10) ** 15
_TOO_LARGE = ("number too large for an amount", "at most 15 digits before the decimal point")
_EXCEL_LAST = (date(9999, 12, 31) - _EXCEL_EPOCH).days


def parse_date(text: str, excel: bool = False) -> date:
    """YYYY-MM-DD or YYYY/MM/DD (also YYYY.MM.DD, YYYYMMDD, a trailing time); in an xlsx a serial number."""
    m = _DATE_RE.fullmatch(text)
    parts = (m.group(1), m.group(3), m.group(4)) if m else None
    if parts is None and (m8 := _DATE8_RE.fullmatch(text)):
        parts = m8.groups()
    if parts is not None:
        try:
            return date(*map(int, parts))
        except ValueError:
            raise _Bad("no such date", _DATE_EXPECTED) from None
    if excel and _SERIAL_RE.fullmatch(text):
        serial = int(text.split(".")[0])  # a fraction is the time of day
        if 1 <= serial <= _EXCEL_LAST:
            return _EXCEL_EPOCH + timedelta(days=serial)
    raise _Bad("not a date", _DATE_EXPECTED)


def parse_month(text: str, excel: bool = False) -> Month:
    """YYYY-MM or YYYY/MM; a date (a spreadsheet may have turned 2024-04 into 2024-04-01) gives its month."""
    try:
        return Month.parse(text.replace("/", "-"))
    except ValueError:
        pass
    try:
        return Month.of(parse_date(text, excel))
    except _Bad:
        raise _Bad("not a month", "a month as YYYY-MM, e.g. 2024-04") from None


def parse_exponent(text: str) -> Decimal:
    """A number in scientific notation, accepted only when it cannot have been rounded by an export.

    Excel's General format shows at most 6 significant digits in scientific notation (1.23457E+11), so a
    mantissa with 6 or more significant digits may have lost digits; fewer (1.5E+3, 3E-4) means exact.
    """
    m = _EXP_RE.fullmatch(text)
    if not m:
        raise _Bad("not a number", _AMOUNT_EXPECTED)
    digits = m.group(1).replace(".", "").strip("0")
    if len(digits) >= 6:
        raise _Bad("a number in scientific notation may have been rounded by the export",
                   "the full number without an exponent, e.g. 123456789012.00")
    value = D(text)
    if abs(value) >= AMOUNT_LIMIT:
        raise _Bad(*_TOO_LARGE)
    return value


def parse_amounts(texts: pd.Series) -> tuple[np.ndarray, dict[int, _Bad]]:
    """Many distinct amount texts at once: a vectorised pattern match, then Decimal for the valid ones.

    Returns the values (None where bad or blank) and the errors by position. Blanks are left to the caller.
    """
    texts = pd.Series(texts, dtype="str")
    values = _filled(len(texts), None)
    errors: dict[int, _Bad] = {}
    plain = texts.str.fullmatch(_PLAIN_RE).to_numpy(dtype=bool, na_value=False)
    values[plain] = list(map(D, texts[plain].tolist()))
    for i in np.flatnonzero(plain & (texts.str.len() >= 16).to_numpy(dtype=bool, na_value=False)):
        if abs(values[i]) >= AMOUNT_LIMIT:  # only a text of 16 characters or more can be that large
            values[i] = None
            errors[int(i)] = _Bad(*_TOO_LARGE)
    for i in np.flatnonzero(~plain & (texts != "").to_numpy(dtype=bool)):
        try:
            values[i] = parse_exponent(texts.iat[i])
        except _Bad as bad:
            errors[int(i)] = bad
    return values, errors


_PLAIN_ASCII = f"^(?:{_PLAIN_RE})$"  # in pyarrow (RE2) \d is an ASCII digit; other digits go the Python way
_INT64_DIGITS = 18  # any number of at most 18 digits fits int64
_LIMIT_DIGITS = len(str(AMOUNT_LIMIT)) - 1  # an integer part of at most 15 characters is below AMOUNT_LIMIT
_EPOCH = date(1970, 1, 1)
_FIRST_DATE = date(1, 1, 1)  # pyarrow reads year 0; a Python date (and parse_date) starts at year 1


def arrow_text(texts: pd.Series | pd.Index) -> pa.ChunkedArray:
    """The pyarrow strings behind a text column (no copy when it is arrow-backed already)."""
    data = texts.array
    if hasattr(data, "__arrow_array__"):
        out = data.__arrow_array__()
        if pa.types.is_string(out.type) or pa.types.is_large_string(out.type):
            return out if isinstance(out, pa.ChunkedArray) else pa.chunked_array([out])
    return pa.chunked_array([pa.array([str(t) for t in texts.tolist()], type=pa.string())])


def factorize(texts: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes per row (int32) and the distinct texts (a ``str`` Series), in order of first appearance."""
    arr = arrow_text(texts)
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int32), pd.Series([], dtype=_TEXT)
    codes, uniques = _dictionary_codes(arr)
    return codes, pd.Series(uniques, dtype=_TEXT)


def _dictionary_codes(arr: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """pyarrow's dictionary encoding of a non-empty column (no GIL held while it hashes): the codes per row
    (int32, -1 where null) and the distinct values in order of first appearance. The chunks of a chunked
    column share one growing dictionary, so the last chunk's is the whole of it."""
    enc = arr.dictionary_encode()
    chunks = enc.chunks
    uniques = chunks[-1].dictionary
    if not all(len(c.dictionary) == len(uniques) or c.dictionary.equals(uniques.slice(0, len(c.dictionary)))
               for c in chunks[:-1]):  # not the case in any pyarrow seen so far: then unify
        enc = enc.unify_dictionaries()
        chunks, uniques = enc.chunks, enc.chunks[0].dictionary
    codes = np.concatenate([np.asarray(c.indices.fill_null(-1)) for c in chunks])
    return codes, uniques


_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str" with pyarrow


def _factorize_numeric(texts: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """:func:`factorize` for a long column of ids that are plain whole numbers (client numbers): hashed as
    int64, three times faster than as text. Text and number are one to one only without a sign or a
    leading zero, so any of those (or anything not a number) gives None, and the ids are hashed as text."""
    arr = arrow_text(texts)
    if len(arr) < _FEW_FROM or _has_bytes(arr, b"+-") or pc.any(pc.starts_with(arr, "0")).as_py():
        return None
    try:
        numbers = pc.cast(arr, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    codes, uniques = _dictionary_codes(numbers)  # no nulls: they failed the cast
    return codes, pd.Series(uniques.cast(pa.large_string()), dtype=_TEXT)


def _categorical(codes: np.ndarray, distinct: pd.Index) -> pd.Categorical:
    """The categorical of a factorization: ``distinct`` is known to hold each value once (a hash table's
    uniques), so pandas' check that it does, which hashes every category again (0.15-0.2 s for a million
    client ids), is skipped where pandas has the way to (its dtype's fast path); checked otherwise."""
    if _FAST_DTYPE is None:
        return pd.Categorical.from_codes(codes, categories=distinct, validate=False)
    return pd.Categorical.from_codes(codes, dtype=_FAST_DTYPE(distinct, False), validate=False)


_FAST_DTYPE = getattr(pd.CategoricalDtype, "_from_fastpath", None)  # (categories, ordered) in pandas 3.1


def _mask(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


@dataclass
class AmountColumn:
    """A parsed amount column: value = unscaled / 10**scale exactly, for every row not blank nor in ``errors``."""

    unscaled: np.ndarray            # int64; 0 where blank or bad
    scale: int
    errors: dict[int, _Bad]         # row position -> problem
    blank: np.ndarray               # bool per row
    decimals: pa.ChunkedArray | None = None  # the same values as decimal128(38, scale) when no row is blank or bad
    coded: tuple[np.ndarray, np.ndarray] | None = None  # few distinct values: codes per row, unscaled per code


def parse_amount_column(texts: pd.Series) -> AmountColumn | None:
    """A whole amount column at once: exact int64 unscaled values at one scale, and the errors by row.

    Plain numbers ("1234.5", "1,234.50", "-3", ".5") are cast by pyarrow from text to decimal128: digit by
    digit, exact, no float; at scale 2 (fen) when no value has more decimals, else at the largest number of
    decimals found. What is not plain (scientific notation, other digits, garbage, 16 characters or more
    before the point) is typed per distinct value by :func:`parse_amounts`. The scaled integers are exactly
    the Decimals the text denotes, x 10**scale. Blank rows are 0, left to the caller. A value of 10^15 or
    more is an error, as in :func:`parse_amounts`. None when a value does not fit int64 at the scale.
    """
    arr = arrow_text(texts)
    if len(arr) > _FEW_FROM and len(arr.slice(0, _SAMPLE).unique()) <= _SAMPLE // 64:
        # few distinct values (commission rates): parse each once, then spread them by code
        codes, uniques = factorize(texts)
        if len(uniques) <= len(arr) // 64:
            each = parse_amount_column(uniques)
            if each is None:
                return None
            errors: dict[int, _Bad] = {}
            if each.errors:
                failed = np.zeros(len(uniques), dtype=bool)
                failed[list(each.errors)] = True
                errors = {int(i): each.errors[int(codes[i])] for i in np.flatnonzero(failed[codes])}
            decimals = None
            if each.decimals is not None and not errors:  # every row valid: the column is a take of the few
                decimals = pa.chunked_array([_combined(each.decimals).take(pa.array(codes))])
            return AmountColumn(each.unscaled[codes], each.scale, errors, each.blank[codes], decimals,
                                (codes, each.unscaled))
    blank = _mask(pc.equal(arr, ""))
    if (not blank.any() and not _has_bytes(arr, b",eE")
            and (pc.max(pc.binary_length(arr)).as_py() or 0) <= _FAST_CHARS):  # the usual export: fen for all
        try:
            fen = pc.cast(arr, pa.decimal128(38, 2))
        except pa.ArrowInvalid:  # more decimals, or not plain: looked at closely below
            pass
        else:
            unscaled, too_large = _low_words(fen, 2)
            if not too_large.any():
                return AmountColumn(unscaled, 2, {}, blank, fen)
    plain = _mask(pc.match_substring_regex(arr, _PLAIN_ASCII))
    text = pc.replace_substring(arr, ",", "") if _has_bytes(arr, b",") else arr
    dot = pc.find_substring(text, ".")
    length = pc.binary_length(text)
    has_dot = pc.greater_equal(dot, 0)
    whole_len = _ints(pc.if_else(has_dot, dot, length))  # the integer part, with its sign
    plain &= whole_len <= _LIMIT_DIGITS  # a longer one may be 10^15 or more: typed the Python way
    errors = {}
    other: dict[int, Decimal] = {}
    other_rows = np.flatnonzero(~plain & ~blank)
    if len(other_rows):
        codes, uniques = factorize(texts.iloc[other_rows].reset_index(drop=True))
        values, bad = parse_amounts(uniques)
        for i, c in zip(other_rows.tolist(), codes.tolist()):
            if c in bad:
                errors[i] = bad[c]
            elif values[c] is not None:
                other[i] = values[c]
    frac = _ints(pc.if_else(has_dot, pc.subtract(pc.subtract(length, dot), 1), 0))
    scale = max([int(np.max(frac, where=plain, initial=0)), *(model.decimals_of(v) for v in other.values())])
    if int(np.max(whole_len, where=plain, initial=0)) + scale > _INT64_DIGITS:
        return None
    every = bool(plain.all())
    decimals = pc.cast(text if every else pc.if_else(pa.array(plain), _combined(text), "0"),
                       pa.decimal128(38, scale))
    unscaled, _ = _low_words(decimals, scale)
    if other:
        unscaled = unscaled.copy()
        for i, v in other.items():
            u = int(v.scaleb(scale))
            if abs(u) > 2**63 - 1:
                return None
            unscaled[i] = u
    if not every:
        unscaled = np.where(blank, 0, unscaled)
    return AmountColumn(unscaled, scale, errors, blank, decimals if every and not errors else None)


_FEW_FROM, _SAMPLE = 1 << 16, 1 << 12  # columns longer than this are first sampled for few distinct values
_FAST_CHARS = 30  # pyarrow's decimal128 holds 38 digits; longer texts could overflow it unnoticed


def _has_bytes(arr: pa.ChunkedArray, wanted: bytes) -> bool:
    """Whether any value of a string column contains one of the bytes ``wanted`` (memchr over the data)."""
    return any(data.find(bytes([w])) >= 0 for data in chunk_bytes(arr) for w in wanted)


def _combined(values: pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _ints(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)


def _low_words(decimals: pa.ChunkedArray | pa.Array, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The int64 unscaled values of a decimal128 array (the low 64 bits, little-endian), and where a value
    is AMOUNT_LIMIT or more (then it may not fit: its unscaled value is not to be used)."""
    chunks = decimals.chunks if isinstance(decimals, pa.ChunkedArray) else [decimals]
    words = [np.frombuffer(c.buffers()[1], dtype=np.int64).reshape(-1, 2)[c.offset: c.offset + len(c)]
             for c in chunks if len(c)]
    if not words:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    low = np.concatenate([w[:, 0] for w in words]) if len(words) > 1 else words[0][:, 0]
    high = np.concatenate([w[:, 1] for w in words]) if len(words) > 1 else words[0][:, 1]
    too_large = high != (low >> 63)
    limit = 10 ** (_LIMIT_DIGITS + scale)
    if limit <= 2**63 - 1:
        too_large |= (low >= limit) | (low <= -limit)
    return low, too_large


def _parse_bool(text: str) -> bool:
    flag = aliases().booleans.get(text.casefold())
    if flag is None:
        raise _Bad("not a yes/no value", "true/false, 1/0, 是/否 or Y/N")
    return flag


def _parse_int(text: str) -> int:
    if not _INT_RE.fullmatch(text):
        raise _Bad("not a whole number", "a whole number, e.g. 1")
    return int(text)


_DAYS = {D(1): D(1), D("0.5"): D("0.5")}  # 1.0 and .5 are read as 1 and 0.5


def _parse_days(text: str) -> Decimal:
    days = _DAYS.get(D(text)) if re.fullmatch(_PLAIN_RE, text) else None
    if days is None:
        raise _Bad("days must be 1 or 0.5", "1 or 0.5")
    return days


def codes_expected(kind: str) -> str:
    shown = aliases().shown[kind]
    return "one of " + ", ".join(f"{c} ({shown[c]})" if c in shown else c for c in T.CODES[kind])


def _parse_code(kind: str) -> Callable[[str], str]:
    table = aliases().values[kind]

    def parse(text: str) -> str:
        code = table.get(text.casefold())
        if code is None:
            raise _Bad("unknown code", codes_expected(kind))
        return code
    return parse


def _unwrap_id(text: str) -> str:
    # ="0012" is how spreadsheets are told to keep leading zeros in a CSV.
    if text.startswith('="') and text.endswith('"') and len(text) >= 3:
        return text[2:-1].strip()
    return text


def _one_parser(col: T.Col, excel: bool) -> Callable[[str], object]:
    if col.type == T.ID:
        return _unwrap_id
    if col.type == T.TEXT:
        return str
    if col.type == T.CODE:
        return _parse_code(col.codes or "")
    if col.type == T.DATE:
        return lambda t: parse_date(t, excel)
    if col.type == T.MONTH:
        return lambda t: parse_month(t, excel)
    if col.type == T.BOOL:
        return _parse_bool
    if col.type == T.INT:
        return _parse_int
    if col.type == T.DAYS:
        return _parse_days
    raise AssertionError(f"no parser for type {col.type}")


_TYPE_EXPECTED = {
    T.ID: "an id", T.TEXT: "some text", T.DATE: _DATE_EXPECTED, T.AMOUNT: _AMOUNT_EXPECTED,
    T.BOOL: "true/false, 1/0, 是/否 or Y/N", T.INT: "a whole number", T.DAYS: "1 or 0.5",
    T.MONTH: "a month as YYYY-MM",
}


def _expected(col: T.Col) -> str:
    return codes_expected(col.codes) if col.type == T.CODE and col.codes else _TYPE_EXPECTED[col.type]


# --- the problem list ------------------------------------------------------------------------------------

class _Problems:
    """Problems in order, at most CAP per (file, column); the rest counted in one closing Problem."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.listed: Counter[tuple[str, str | None]] = Counter()
        self.more: Counter[tuple[str, str | None]] = Counter()

    def room(self, file: str, column: str | None) -> int:
        return max(0, CAP - self.listed[(file, column)])

    def add(self, p: Problem) -> None:
        key = (p.file, p.column)
        if self.listed[key] < CAP:
            self.items.append(p)
            self.listed[key] += 1
        else:
            self.more[key] += 1

    def skip(self, file: str, column: str | None, n: int) -> None:
        if n > 0:
            self.more[(file, column)] += n

    def merge(self, other: "_Problems") -> None:
        """Add another list's problems after these (as if they had been added here)."""
        for p in other.items:
            self.add(p)
        for (file, column), n in other.more.items():
            self.skip(file, column, n)

    def all(self) -> list[Problem]:
        last = {(p.file, p.column): i for i, p in enumerate(self.items)}
        out: list[Problem] = []
        for i, p in enumerate(self.items):
            out.append(p)
            key = (p.file, p.column)
            if last[key] == i and self.more[key]:
                out.append(Problem(p.file, f"... and {self.more[key]} more problem(s) in this column",
                                   column=p.column))
        return out


# --- one table -------------------------------------------------------------------------------------------

@dataclass
class _Parsed:
    spec: T.Table
    raw: RawTable
    frame: pd.DataFrame           # every spec column (typed; None where blank or bad) + "_row"
    text: dict[str, pd.Series]    # the text as found, per column present in the file
    shown: dict[str, str]         # column -> name used in problems, with the header as found if aliased

    @property
    def file(self) -> str:
        return self.raw.file

    def ids(self, column: str) -> set[str] | pd.Index:
        """The ids found in a column: a set, or for a large table the Index of its categories."""
        s = self.frame[column]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            used = np.zeros(len(s.cat.categories), dtype=bool)
            used[codes[codes >= 0]] = True
            # all used (as read): the categories themselves, so that their look-up is shared (IdIndex.of)
            return s.cat.categories if used.all() else s.cat.categories[used]
        return set(s.dropna())


def _letter(i: int) -> str:
    s, i = "", i + 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


class _Run:
    """One validation run over a month folder: the problems, warnings and parsed tables."""

    def __init__(self, month: Month, rules: RuleSet, known_manager_ids: frozenset[str]):
        self.month = month
        self.rules = rules
        self.known = known_manager_ids
        self.problems = _Problems()
        self.warnings: list[str] = []
        self.tables: dict[str, _Parsed] = {}
        self._local = threading.local()

    # Reporting ----------------------------------------------------------------------------------------

    def rows(self, pt: _Parsed, positions: Iterable[int], column: str, message: str | Callable[[int], str],
             expected: str | None) -> None:
        """A Problem for each row position (up to the cap), naming file, row, column and the text found."""
        positions = list(positions)
        shown = pt.shown.get(column, column)
        room = self.problems.room(pt.file, shown)
        text = pt.text.get(column)
        for i in positions[:room]:
            self.problems.add(Problem(pt.file, message(i) if callable(message) else message,
                                      row=int(pt.raw.rows[i]), column=shown,
                                      value=None if text is None else str(text.iat[i]), expected=expected))
        self.problems.skip(pt.file, shown, len(positions) - room)

    # Parsing ------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lists_of_table(self, problems: _Problems, warnings: list[str]) -> Iterator[None]:
        """A table's own lists of problems and warnings in place of the run's while it is parsed (load_month
        puts them in the tables' order afterwards)."""
        listed, noted = self.problems, self.warnings
        self.problems, self.warnings = problems, warnings
        try:
            yield
        finally:
            self.problems, self.warnings = listed, noted

    def parse(self, raw: RawTable, pool: ThreadPoolExecutor | None) -> Callable[[], _Parsed | None]:
        """A table parsed in two steps: its header and small columns now, a large table's columns typed in
        ``pool`` (shared by the large tables, so that one's columns fill the cores while another's last
        column is still being typed; None: here, one after the other); the call returned waits for them
        and gives the table (the problems of its columns added then, in column order)."""
        spec = T.TABLE_BY_NAME[raw.table]
        if raw.as_text is not None and spec.name not in model.FRAME_SCHEMA:
            raw = raw.as_text()  # a small table's columns are typed from their text only
        where = self._columns(raw, spec)
        if where is None:
            return lambda: None
        if spec.name == "history":  # D4: rows of the settled month or later are ignored
            raw = self._history_before_month(raw, where)
        shown = {c: c if raw.header[i] == c else f"{c} (header '{raw.header[i]}')" for c, i in where.items()}
        text: dict[str, pd.Series] = {c.name: raw.cells[where[c.name]] for c in spec.columns if c.name in where}
        if spec.name in model.FRAME_SCHEMA:  # a large table
            typed = self._typed_columns(raw, spec, text, shown, pool,
                                        lambda name: raw.as_text().cells[where[name]])
            return lambda: self._frame(raw, spec, where, text, shown, typed())
        return lambda: self._frame(raw, spec, where, text, shown, {})

    def _frame(self, raw: RawTable, spec: T.Table, where: dict[str, int], text: dict[str, pd.Series],
               shown: dict[str, str], typed: dict[str, object]) -> _Parsed:
        n = len(raw.cells)
        large = spec.name in model.FRAME_SCHEMA
        frame: dict[str, object] = {"_row": raw.rows.astype(np.int64), **typed}
        for col in spec.columns:
            if col.name in where:
                if not large:
                    frame[col.name] = self._column(raw, col, text[col.name], shown[col.name])
            elif large:
                frame[col.name] = _typed_default(spec.name, col, n)
            else:
                frame[col.name] = _filled(n, col.default)
        if large:
            columns = {k: frame[k] for k in [*spec.names, "_row"]}
            return _Parsed(spec, raw, pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False), text, shown)
        # Explicit object dtype: pandas would otherwise infer `str` for text and turn None into NaN.
        return _Parsed(spec, raw, pd.DataFrame({k: pd.Series(v, dtype=None if k == "_row" else object)
                                                for k, v in frame.items()}), text, shown)

    def _columns(self, raw: RawTable, spec: T.Table) -> dict[str, int] | None:
        """Map the header to columns: column -> position. None when the table cannot be read further."""
        known = aliases().headers[spec.name]
        where: dict[str, int] = {}
        usable = True
        for i, h in enumerate(raw.header):
            if not h:
                self._headerless(raw, i)
                continue
            col = known.get(norm_header(h))
            if col is None:
                self.warnings.append(f"{raw.file}: column '{h}' ({_letter(i)}) is not a column of "
                                     f"{spec.name}; ignored")
            elif col in where:
                j = where[col]
                both = f"'{raw.header[j]}' ({_letter(j)}) and '{h}' ({_letter(i)})"
                self.problems.add(Problem(raw.file, f"two columns mean {col}: {both}", row=raw.header_row,
                                          column=col, expected=f"one column {col}"))
                usable = False
            else:
                where[col] = i
        required = [c.name for c in spec.columns if c.header]
        optional = [c.name for c in spec.columns if not c.header]
        expected = f"the columns {', '.join(required)}"
        if optional:
            expected += f" (optional: {', '.join(optional)})"
        found = ", ".join(h for h in raw.header if h)
        for name in (n for n in required if n not in where):
            self.problems.add(Problem(raw.file, f"required column '{name}' is missing (header: {found})",
                                      row=raw.header_row, column=name, expected=expected))
            usable = False
        return where if usable else None

    def _headerless(self, raw: RawTable, i: int) -> None:
        filled = np.flatnonzero(raw.cells[i].to_numpy(dtype=object) != "") if len(raw.cells) else []
        if not len(filled):
            return
        if raw.excel:
            self.warnings.append(f"{raw.file}: column {_letter(i)} has values but no header; ignored")
            return
        column = f"column {_letter(i)}"
        room = self.problems.room(raw.file, column)
        quotes = 'quotes around values that contain a comma ("1,234.50")'
        for k in filled[:room]:
            self.problems.add(Problem(raw.file, "more values than the header has columns",
                                      row=int(raw.rows[k]), column=column, value=str(raw.cells[i].iat[k]),
                                      expected=quotes))
        self.problems.skip(raw.file, column, len(filled) - room)

    def _history_before_month(self, raw: RawTable, where: dict[str, int]) -> RawTable:
        texts = raw.cells[where["month"]].tolist()
        keep = []
        for t in texts:
            try:
                keep.append(parse_month(t, raw.excel) < self.month)
            except _Bad:
                keep.append(True)  # reported as a bad month when the column is typed
        keep_arr = np.array(keep, dtype=bool)
        if not keep_arr.all():
            self.warnings.append(f"{raw.file}: {int((~keep_arr).sum())} row(s) for {self.month} or later "
                                 "ignored (history is for the months before the first ledger month)")
        return RawTable(raw.table, raw.file, raw.header, raw.header_row,
                        raw.cells[keep_arr].reset_index(drop=True), raw.rows[keep_arr], raw.excel,
                        raw.encoding, raw.sha256)

    def _column(self, raw: RawTable, col: T.Col, text: pd.Series, shown: str) -> np.ndarray:
        """Type one column once per distinct value; report failing rows; None where blank or bad."""
        codes, values, failed = self._distinct(raw, col, text, shown)
        out = values[codes] if len(codes) else _filled(0, None)
        if failed is not None:
            out[failed[codes]] = None
        return out

    def _distinct(self, raw: RawTable, col: T.Col, text: pd.Series, shown: str
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The column's codes per row, the typed distinct values, and which distinct values failed (None:
        none); the failing rows are reported."""
        codes, distinct = factorize(text)
        values, errors = _filled(len(distinct), None), {}
        if col.type == T.AMOUNT:
            values, errors = parse_amounts(distinct)
        elif col.type == T.ID and len(distinct) > 1000:  # a million ids: only the ="..." ones need Python
            wrapped = np.flatnonzero(distinct.str.startswith('="').to_numpy(dtype=bool))
            values[:] = distinct.to_numpy(dtype=object)
            for k in wrapped:
                values[k] = _unwrap_id(distinct.iat[k])
        else:
            parse = _one_parser(col, raw.excel)
            for k, t in enumerate(distinct.tolist()):
                if t:
                    try:
                        values[k] = parse(t)
                    except _Bad as bad:
                        errors[k] = bad
        blank = (distinct == "").to_numpy(dtype=bool)
        for k in np.flatnonzero(blank):  # at most one
            values[k] = col.default
            if col.value:
                errors[int(k)] = _Bad("a value is required", _expected(col))
        if col.sign or col.dates:
            typed = np.array([v is not None for v in values], dtype=bool)  # errors are None
            typed[blank] = False  # a default is not checked
            errors.update(self._out_of_range(col, values, np.flatnonzero(typed)))
        if not errors:
            return codes, values, None
        failed = np.zeros(len(distinct), dtype=bool)
        failed[list(errors)] = True
        bad_rows = np.flatnonzero(failed[codes])
        self._report(raw, shown, text, bad_rows, lambda i: errors[int(codes[i])])
        return codes, values, failed

    def _report(self, raw: RawTable, shown: str, text: pd.Series, bad_rows: np.ndarray,
                error_of: Callable[[int], _Bad]) -> None:
        problems = getattr(self._local, "problems", None) or self.problems  # a column's own list in a thread
        room = problems.room(raw.file, shown)
        for i in bad_rows[:room]:
            e = error_of(int(i))
            problems.add(Problem(raw.file, e.message, row=int(raw.rows[i]), column=shown,
                                 value=str(text.iat[i]), expected=e.expected))
        problems.skip(raw.file, shown, len(bad_rows) - room)

    def _typed_columns(self, raw: RawTable, spec: T.Table, text: dict[str, pd.Series], shown: dict[str, str],
                       pool: ThreadPoolExecutor | None, text_of: Callable[[str], pd.Series]
                       ) -> Callable[[], dict[str, object]]:
        """The columns of a large table, typed side by side on the machine's cores in ``pool`` (the work is
        in pyarrow, which runs without the GIL), else one after the other; the call returned waits for them
        and lists their problems in column order, as one by one. A column the reader typed already is
        taken as it is when the text would have given it without a problem, else typed from ``text_of`` it."""
        cols = [c for c in spec.columns if c.name in text]

        def one(col: T.Col) -> tuple[object, _Problems]:
            self._local.problems = _Problems()
            try:
                cells = text[col.name]
                if not pd.api.types.is_string_dtype(cells.dtype):
                    done = self._as_typed(col, cells)
                    if done is not None:
                        return done, self._local.problems
                    cells = text_of(col.name)
                return self._typed_column(raw, col, cells, shown[col.name]), self._local.problems
            finally:
                self._local.problems = None

        if pool is not None and len(raw.cells) >= _PARALLEL_FROM and len(cols) > 1:
            first = sorted(cols, key=lambda c: c.type != T.ID)  # the costly hashing of ids first
            futures = {c.name: pool.submit(one, c) for c in first}
            return lambda: self._merged(cols, {name: f.result() for name, f in futures.items()})
        out = self._merged(cols, {c.name: one(c) for c in cols})
        return lambda: out

    def _merged(self, cols: list[T.Col], done: dict[str, tuple[object, _Problems]]) -> dict[str, object]:
        out: dict[str, object] = {}
        for col in cols:
            out[col.name], problems = done[col.name]
            self.problems.merge(problems)
        return out

    def _typed_column(self, raw: RawTable, col: T.Col, text: pd.Series, shown: str) -> object:
        """A column of a large table in the dtype of cmsettle.model.FRAME_SCHEMA; missing where bad."""
        if col.type == T.AMOUNT:
            return self._amount_column(raw, col, text, shown)
        if col.type == T.ID:
            codes, distinct = _factorize_numeric(text) or factorize(text)
            plain = arrow_text(distinct)
            if not (pc.any(pc.starts_with(plain, '="')).as_py() or pc.any(pc.equal(plain, "")).as_py()):
                # every distinct text is an id as it stands: the dictionary is the categories
                return _categorical(codes, pd.Index(distinct))
        if col.type == T.DATE and (days := self._iso_dates(raw, col, text)) is not None:
            return pd.array(days, dtype=pd.ArrowDtype(pa.date32()))
        codes, values, failed = self._distinct(raw, col, text, shown)
        ok = np.array([v is not None for v in values], dtype=bool)
        if failed is not None:
            ok &= ~failed
        everywhere = bool(ok.all())
        if col.type == T.ID:  # ="0042" and 0042 are one id; blank or bad ones are missing
            ids_codes, ids_uniques = pd.factorize(pd.Series(values, dtype=object).where(ok, None))
            row_codes = ids_codes[codes] if len(codes) else codes
            return pd.Categorical.from_codes(row_codes, categories=pd.Index(ids_uniques, dtype="str"))
        if col.type == T.CODE:
            order = T.CODES[col.codes or ""]
            where = np.array([order.index(v) if ok[k] else -1 for k, v in enumerate(values)], dtype=np.int8)
            return pd.Categorical.from_codes(where[codes], categories=list(order), validate=False)
        if col.type == T.DATE:
            days = np.array([(v - _EPOCH).days if ok[k] else 0 for k, v in enumerate(values)], dtype=np.int32)
            mask = None if everywhere else ~ok[codes]
            arr = pa.array(days[codes], type=pa.int32(), mask=mask).view(pa.date32())
            return pd.array(arr, dtype=pd.ArrowDtype(pa.date32()))
        raise AssertionError(f"no large-table type for {col.type}")

    def _as_typed(self, col: T.Col, cells: pd.Series) -> object:
        """A column the reader typed (cmsettle.inputs.grid.typed_grid: ISO dates as date32), as
        :meth:`_typed_column` gives it from the text (:meth:`_iso_dates`); None when the text gives a
        problem (a date out of the column's range): then the text is typed, which reports it."""
        days = model.arrow(cells)
        if col.type == T.DATE and pa.types.is_date32(days.type) and self._dates_within(col, days):
            return pd.array(days, dtype=pd.ArrowDtype(pa.date32()))
        return None

    def _dates_within(self, col: T.Col, days: pa.ChunkedArray) -> bool:
        """Whether every date of a date32 column is a Python date (year 1 on) within the column's range."""
        lo, hi = (v.as_py() for v in pc.min_max(days.cast(pa.int32())).values())
        if lo is None or lo < (_FIRST_DATE - _EPOCH).days:
            return False
        earliest, latest = self._date_bounds(col)
        return not ((earliest is not None and _EPOCH + timedelta(days=lo) < earliest) or
                    (latest is not None and _EPOCH + timedelta(days=hi) > latest))

    def _iso_dates(self, raw: RawTable, col: T.Col, text: pd.Series) -> pa.ChunkedArray | None:
        """A CSV date column whose every value is YYYY-MM-DD, in range: pyarrow's strict cast, no per-value
        step. None when any value is anything else (blank, another format, out of range, year 0): then
        the column is typed per distinct value, which reports the problems."""
        if raw.excel or not len(text):
            return None
        try:
            days = pc.cast(arrow_text(text), pa.date32())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        return days if self._dates_within(col, days) else None

    def _date_bounds(self, col: T.Col) -> tuple[date | None, date | None]:
        """The first and last date a column's range rule allows (None: no bound)."""
        m = self.month
        if col.dates == T.IN_MONTH:
            return m.first_day, m.last_day
        if col.dates == T.NOT_AFTER_MONTH:
            return None, m.last_day
        return None, None

    def _amount_column(self, raw: RawTable, col: T.Col, text: pd.Series, shown: str) -> object:
        """An amount column as exact scaled integers; the Decimal column of the model when they do not fit."""
        parsed = parse_amount_column(text)
        if parsed is None:  # does not fit int64: typed per distinct value, as Decimal objects
            return self._column(raw, col, text, shown)
        unscaled, scale, errors, blank = parsed.unscaled, parsed.scale, parsed.errors, parsed.blank
        valid = ~blank
        for i in errors:
            valid[i] = False
        default_ok = col.default is not None
        if blank.any():
            if col.value:
                need = _Bad("a value is required", _expected(col))
                errors.update((int(i), need) for i in np.flatnonzero(blank))
            elif default_ok:
                d_unscaled = int(D(col.default).scaleb(scale))
                unscaled = np.where(blank, d_unscaled, unscaled)
        sign = None
        if col.sign == T.NONNEG:
            sign = unscaled < 0, _Bad("must not be negative", "0 or more")
        elif col.sign == T.POSITIVE:
            sign = unscaled <= 0, _Bad("must be more than 0", "more than 0")
        elif col.sign == T.RATE:
            sign = (unscaled < 0) | (unscaled >= 10 ** scale), _Bad(
                "a rate must be at least 0 and below 1", "a rate such as 0.0003 (0 <= rate < 1)")
        if sign is not None:
            for i in np.flatnonzero(sign[0] & valid):
                errors.setdefault(int(i), sign[1])
        if errors:
            bad_rows = np.array(sorted(errors), dtype=np.int64)
            self._report(raw, shown, text, bad_rows, lambda i: errors[i])
            valid[bad_rows] = False
        if not col.value and default_ok:
            valid |= blank & ~np.isin(np.arange(len(blank)), list(errors))
        if parsed.decimals is not None and valid.all():  # the cast itself is the column
            if not blank.any():  # its unscaled values as they are, for the metrics (model.scaled)
                model.known_unscaled(parsed.decimals, unscaled, parsed.coded)
            return pd.array(parsed.decimals, dtype=pd.ArrowDtype(parsed.decimals.type))
        return model.scaled_array(unscaled, scale, valid)

    def _out_of_range(self, col: T.Col, values: np.ndarray, at: np.ndarray) -> dict[int, _Bad]:
        """Sign and date-range errors of the typed distinct values at positions `at` (vectorised compare)."""
        v = values[at]
        zero = Decimal(0)
        checks: list[tuple[np.ndarray, _Bad]] = []
        if col.sign == T.NONNEG:
            checks.append((v < zero, _Bad("must not be negative", "0 or more")))
        elif col.sign == T.POSITIVE:
            checks.append((v <= zero, _Bad("must be more than 0", "more than 0")))
        elif col.sign == T.RATE:
            checks.append(((v < zero) | (v >= Decimal(1)), _Bad("a rate must be at least 0 and below 1",
                                                              "a rate such as 0.0003 (0 <= rate < 1)")))
        m = self.month
        earliest, latest = self._date_bounds(col)
        if earliest is not None and latest is not None:
            checks.append(((v < earliest) | (v > latest),
                           _Bad(f"date outside {m}", f"a date from {earliest} to {latest}")))
        elif latest is not None:
            checks.append((v > latest, _Bad(f"date after the end of {m}", f"a date on or before {latest}")))
        errors: dict[int, _Bad] = {}
        for mask, bad in checks:
            for k in at[np.asarray(mask, dtype=bool)]:
                errors.setdefault(int(k), bad)
        return errors

    # Checks across rows and tables --------------------------------------------------------------------

    def repeats(self, pt: _Parsed, keys: list[str], column: str, message: str, expected: str,
                where: np.ndarray | None = None) -> None:
        """Rows whose keys repeat an earlier row's (rows with a blank key are not compared)."""
        f = pt.frame
        if len(keys) == 1 and where is None and isinstance(f[keys[0]].dtype, pd.CategoricalDtype):
            codes = f[keys[0]].cat.codes.to_numpy()
            if len(f[keys[0]].cat.categories) == len(codes) and (codes >= 0).all():
                return  # as many distinct ids as rows: none repeats (the categories are the distinct ids)
        ok = f[keys].notna().all(axis=1).to_numpy(copy=True)
        if where is not None:
            ok &= where
        sub = f[ok]
        dup = sub.duplicated(keys, keep="first").to_numpy()
        if not dup.any():
            return
        first = sub.groupby(keys, sort=False)["_row"].transform("first").to_numpy()
        positions = np.flatnonzero(ok)
        first_of = dict(zip(positions[dup], first[dup], strict=True))
        self.rows(pt, positions[dup], column, lambda i: f"{message} (first on row {first_of[i]})", expected)

    def refs(self, pt: _Parsed | None, column: str, known: set[str] | pd.Index | None, message: str,
             expected: str) -> None:
        """Rows whose id is not among the known ones (skipped when the other table could not be read)."""
        if pt is None or known is None:
            return
        s = pt.frame[column]
        if isinstance(s.dtype, pd.CategoricalDtype):  # once per distinct id, then by code
            lookup = model.IdIndex.of(known) if isinstance(known, pd.Index) else None
            unknown = lookup.find(s.cat.categories) < 0 if lookup is not None else ~isin(s.cat.categories, known)
            if not unknown.any():  # every distinct id is known: no row to look at (10M trades: 0.15 s)
                return
            codes = s.cat.codes.to_numpy()
            bad = (codes >= 0) & unknown[np.maximum(codes, 0)]
        else:
            bad = (s.notna() & ~s.isin(list(known))).to_numpy()
        self.rows(pt, np.flatnonzero(bad), column, message, expected)

    def check(self) -> None:
        t = self.tables
        roster, clients = t.get("roster"), t.get("clients")
        staff = roster.ids("manager_id") if roster else None
        customers = clients.ids("client_id") if clients else None
        roster_file = roster.file if roster else "roster"
        clients_file = clients.file if clients else "clients"
        in_roster = f"a manager_id listed in {roster_file}"

        for pt in t.values():
            if pt.spec.unique:
                u = pt.spec.unique
                self.repeats(pt, [u], u, f"duplicate {u}", f"each {u} once in {pt.spec.name}")
        for name in ("clients", "attendance", "management", "deductions", "grade_overrides", "opening"):
            self.refs(t.get(name), "manager_id", staff, "manager not in the roster", in_roster)
        for name in ("assets", "trades", "fund_sales"):
            self.refs(t.get(name), "client_id", customers, "client not in clients",
                      f"a client_id listed in {clients_file}")
        if roster:
            self._roster(roster, staff or set())
        if pt := t.get("attendance"):
            self._attendance(pt)
        if pt := t.get("penalties"):
            known = None if staff is None else set(staff) | set(self.known)
            self.refs(pt, "manager_id", known, "manager not in the roster nor in the ledger",
                      f"{in_roster}, or someone who left and is still in the ledger")
            self._penalties(pt)
        if pt := t.get("referrals"):
            self.refs(pt, "referrer_id", staff, "referrer not in the roster", in_roster)
            self.refs(pt, "referred_id", staff, "referred person not in the roster", in_roster)
            self.repeats(pt, ["referred_id"], "referred_id", "a second referrer for this person",
                         "one referrer per referred person (D23)")
            f = pt.frame
            own = (f.referrer_id.notna() & (f.referrer_id == f.referred_id)).to_numpy()
            self.rows(pt, np.flatnonzero(own), "referred_id", "a person cannot refer themselves",
                      "a referred_id other than referrer_id")
        if pt := t.get("grade_overrides"):
            self.repeats(pt, ["manager_id"], "manager_id", "a second grade override for this manager",
                         "at most one grade override per manager and month (D17)")
        if pt := t.get("history"):
            self.repeats(pt, ["month", "manager_id"], "manager_id", "a second history row for this manager "
                         "and month", "one history row per manager and month")

    def _roster(self, pt: _Parsed, staff: set[str]) -> None:
        f = pt.frame
        before = [i for i, (hired, left) in enumerate(zip(f.hire_date, f.leave_date, strict=True))
                  if hired is not None and left is not None and left < hired]
        self.rows(pt, before, "leave_date", lambda i: f"leave date before the hire date {f.hire_date.iat[i]}",
                  "a leave_date on or after the hire_date")
        self.refs(pt, "supervisor_id", staff, "supervisor not in the roster",
                  f"a manager_id listed in {pt.file}")
        own = np.flatnonzero((f.supervisor_id.notna() & (f.supervisor_id == f.manager_id)).to_numpy())
        self.rows(pt, own, "supervisor_id", "a manager cannot be their own supervisor", "another manager_id")

    def _attendance(self, pt: _Parsed) -> None:
        f = pt.frame
        blank_days = (pt.text["days"] == "").to_numpy(dtype=bool)
        need = [i for i, (code, blank) in enumerate(zip(f.code, blank_days, strict=True))
                if blank and code is not None and code not in _COUNT_ONCE]
        self.rows(pt, need, "days", lambda i: f"days required for {f.code.iat[i]}",
                  "1 or 0.5 (blank only for late and early_leave, which count 1 each)")
        once = f.code.isin(_COUNT_ONCE).to_numpy() & blank_days
        f.loc[once, "days"] = Decimal(1)
        half = np.array([code == "absent" and days == Decimal("0.5") for code, days in zip(f.code, f.days)],
                        dtype=bool)
        self.repeats(pt, ["manager_id", "date"], "date", "a second half-day absent row for this manager on this date",
                     "at most one 0.5-day absent row per manager and date; a whole day is one row of 1 (D29)",
                     where=half)

    def _penalties(self, pt: _Parsed) -> None:
        f = pt.frame
        lo, hi = self.rules.penalties.business_error_min, self.rules.penalties.business_error_max

        def blank(column: str) -> list[bool]:  # blank, not merely untyped: a bad value is reported already
            return (pt.text[column] == "").tolist() if column in pt.text else [True] * len(f)

        by_rule: dict[tuple[str, str, str], list[int]] = {}
        rows = zip(f.kind, f.amount, blank("amount"), blank("client_id"), blank("severity"), strict=True)
        for i, (kind, amount, no_amount, no_client, no_severity) in enumerate(rows):
            if amount is None and not no_amount:
                continue
            found: list[tuple[str, str, str]] = []
            if kind == "business_error":
                if amount is None:
                    found.append(("amount", "an amount is required for business_error", f"{lo} to {hi}"))
                elif not lo <= amount <= hi:
                    found.append(("amount", f"business_error amount outside {lo}..{hi}", f"{lo} to {hi}"))
            elif kind == "loss_compensation" and (amount is None or amount <= 0):
                found.append(("amount", "loss_compensation needs an amount above 0", "more than 0"))
            elif kind == "risk_fund_forfeit" and amount is not None and amount <= 0:
                found.append(("amount", "risk_fund_forfeit amount must be above 0",
                              "more than 0, or blank to forfeit the whole balance"))
            elif kind == "malicious_account":
                if no_client:
                    found.append(("client_id", "malicious_account needs the client", "the client_id"))
                if no_severity:
                    found.append(("severity", "malicious_account needs a severity",
                                  codes_expected("severity")))
            for key in found:
                by_rule.setdefault(key, []).append(i)
        for (column, message, expected), positions in by_rule.items():
            self.rows(pt, positions, column, message, expected)

    # Results ------------------------------------------------------------------------------------------

    def records(self, name: str) -> tuple:
        pt = self.tables.get(name)
        if pt is None:
            return ()
        cls, cols = _RECORDS[name], pt.spec.names
        f = pt.frame
        return tuple(
            cls(**dict(zip(cols, values, strict=True)), src=model.Source(pt.file, row))
            for *values, row in zip(*(f[c].tolist() for c in cols), f["_row"].tolist(), strict=True)
        )

    def frame(self, name: str) -> pd.DataFrame:
        """A large table with the model's columns and `_row`; an absent table is empty, same columns."""
        columns = T.FRAME_COLUMNS[name]
        pt = self.tables.get(name)
        if pt is None:
            return model.typed_frame(name)
        return pt.frame[[*columns, "_row"]].reset_index(drop=True)


def isin(values: pd.Index, known: set[str] | pd.Index) -> np.ndarray:
    """values.isin(known) as a boolean array; hashed by pyarrow (pandas' isin on arrow strings loops)."""
    if not isinstance(known, pd.Index):
        known = pd.Index(pd.Series(sorted(known), dtype=_TEXT))
    return model.IdIndex(known).find(values) >= 0


def _typed_default(table: str, col: T.Col, n: int) -> object:
    """An optional column absent from a large table's file: its default on every row, in the model's dtype."""
    kind = model.FRAME_SCHEMA[table][col.name]
    if col.default is None:
        return model.typed_frame(table, {col.name: [None] * n})[col.name].array
    if kind == model.AMOUNT:
        value = D(col.default)
        scale = model.decimals_of(value)
        return model.scaled_array(np.full(n, int(value.scaleb(scale)), dtype=np.int64), scale)
    if isinstance(kind, tuple):
        return pd.Categorical.from_codes(np.full(n, kind.index(col.default), dtype=np.int8), categories=list(kind))
    return model.typed_frame(table, {col.name: [col.default] * n})[col.name].array


def _filled(n: int, value: object) -> np.ndarray:
    arr = np.empty(n, dtype=object)
    arr[:] = [value] * n if n else []
    return arr


# --- finding the files -----------------------------------------------------------------------------------

def _find_files(folder: Path, file_prefix: str) -> tuple[dict[str, Path], list[Problem], list[str]]:
    """table -> file; problems (a table given twice); missing required files (as paths)."""
    by_name = {p.name.casefold(): p for p in folder.iterdir() if p.is_file()}
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    missing: list[str] = []
    for spec in T.TABLES:
        csv, xlsx = by_name.get(f"{spec.name}.csv"), by_name.get(f"{spec.name}.xlsx")
        if csv and xlsx:
            problems.append(Problem(f"{file_prefix}/{csv.name}",
                                    f"{spec.name} is given twice: {csv.name} and {xlsx.name}",
                                    expected=f"one file for {spec.name}, .csv or .xlsx"))
        elif csv or xlsx:
            found[spec.name] = csv or xlsx  # type: ignore[assignment]
        elif spec.required:
            other = sorted(p.name for k, p in by_name.items() if k.startswith(f"{spec.name}."))
            hint = f" (found {', '.join(other)}: only .csv and .xlsx are read)" if other else ""
            missing.append(f"{folder / spec.name}.csv or .xlsx{hint}")
    return found, problems, missing


# --- reading the files ahead ---------------------------------------------------------------------------

class MonthReader:
    """The month folder's files read one after the other in a background thread, from the moment it is made.

    Reading is pyarrow's and holds no lock, so the caller meanwhile opens the ledger (the pipeline) or types
    the tables already read (:func:`load_month`). Nothing is raised here: a missing folder or file is raised
    by :meth:`found` when the caller gets to it, in the order a reading on the spot would have raised it.
    Each table is handed over once (:meth:`take`) and not kept. ``close()`` (or the ``with`` block) waits
    for a read under way and drops the ones not started.
    """

    def __init__(self, data_dir: Path, month: Month, *, hash_later: bool = False):
        self.month = month
        self.folder = Path(data_dir) / str(month)
        self._error: Exception | None = None
        self._futures: dict[str, object] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._hash_later = hash_later
        self._stamps: dict[str, tuple[int, int, int]] = {}  # the large files left to hash, as read
        self._hashes: dict[str, Future] = {}
        self._stop_hashing = threading.Event()  # set by close(): a hashing under way is not waited for
        self._hashing = threading.Lock()  # start_hashing is called from a typing thread, then the main one
        self.order: list[str] = []
        self.paths: dict[str, Path] = {}
        self.problems: list[Problem] = []
        if not self.folder.is_dir():
            self._error = NotReadyError(f"month folder {self.folder} not found")
            return
        self.paths, self.problems, missing = _find_files(self.folder, str(month))
        if missing:
            self._error = NotReadyError("required input file(s) missing: " + "; ".join(missing))
            return
        # The largest file first: its parsing, the longest, then goes on beside the reading of the others
        # (read last, ten million trades would be parsed after everything else, one core mostly idle).
        size = {t: p.stat().st_size for t, p in self.paths.items()}
        self.order = sorted((s.name for s in T.TABLES if s.name in self.paths), key=lambda t: -size[t])
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="cmsettle-read")
        for table in self.order:  # the order load_month takes them in
            self._futures[table] = self._pool.submit(self._read, table)

    def _read(self, table: str) -> RawTable:
        path = self.paths[table]
        stamp = file_stamp(path) if self._hash_later else None
        raw = read_table(path, table, self.file(table), hash_later=self._hash_later)
        if not raw.sha256:
            self._stamps[table] = stamp  # type: ignore[assignment]
        return raw

    def start_hashing(self) -> None:
        """Hash the large files read without their hash (``hash_later``), one after the other in the
        reading thread, from now on: ten million trades are 0.35 s of hashing (0.7-0.8 s on a busy machine)
        that would otherwise slow the reading. :func:`load_month` calls this when its typing threads run out
        of columns (one core then idle while the tables are finished and checked), cmsettle.pipeline again
        as it starts computing (without typing threads, on one core, the hashing starts there); once is
        enough. A file read after this call (one load_month ignores, still being read: the reader's thread
        reads, then hashes, in turn) is hashed by the next call."""
        with self._hashing:
            for table in list(self._stamps):  # the reading thread may be adding one
                if table not in self._hashes:
                    self._hashes[table] = self._pool.submit(file_sha256, self.paths[table],
                                                            stop=self._stop_hashing)

    def with_hashes(self, files: tuple[model.InputFile, ...]) -> tuple[model.InputFile, ...]:
        """``files`` with the sha256 of those read without it. A file changed since it was read (another
        inode, size or modification time) is an input problem: its hash would not be of what was settled."""
        self.start_hashing()
        out, problems = [], []
        for f in files:
            if f.sha256 or f.table not in self._stamps:
                out.append(f)
                continue
            sha = self._hashes[f.table].result()
            if file_stamp(self.paths[f.table]) != self._stamps[f.table]:
                problems.append(Problem(f.path, "the file changed while the month was being settled",
                                        expected="the month's files left as they are until the run ends"))
            out.append(replace(f, sha256=sha))
        if problems:
            raise InputError(problems)
        return tuple(out)

    def file(self, table: str) -> str:
        return f"{self.month}/{self.paths[table].name}"

    def found(self) -> dict[str, Path]:
        """table -> file; raises NotReadyError when the folder or a required file is missing."""
        if self._error is not None:
            raise self._error
        return self.paths

    def take(self, table: str) -> RawTable:
        """The table's text, once read (InputError when the file cannot be read at all), handed over: the
        reader keeps no reference to it, and it is asked once. The text of the large tables then goes back
        to pyarrow's allocator as soon as load_month has typed it, not when the run ends: at ten million
        trades about a gigabyte of cells, whose pages jemalloc's own thread returns to the system while the
        month is computed on the other core, rather than the run's exit (peak RSS 2.6 -> 2.3 GiB; paired
        runs 0.92 and 0.96, 6 pairs each)."""
        return self._futures.pop(table).result()  # type: ignore[attr-defined]

    def close(self) -> None:
        """Wait for a read under way, drop the ones not started; a hashing under way (a run that failed
        after load_month started it) stops at its next piece."""
        self._stop_hashing.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        prefetch.discard()  # a file read ahead and not claimed (cmsettle.console) is not wanted any more

    def __enter__(self) -> "MonthReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the entry point -------------------------------------------------------------------------------------

def _parse_table(run: _Run, reader: MonthReader, spec: T.Table, first_ledger_month: bool,
                 pool: ThreadPoolExecutor | None) -> tuple[model.InputFile | None, Callable[[], None]]:
    """Start parsing one table the reader has read into ``run`` (its large columns typed in ``pool``): its
    file entry (None: ignored or unreadable) and the call that finishes it."""
    file = reader.file(spec.name)
    if spec.first_ledger_month_only and not first_ledger_month:
        run.warnings.append(f"{file}: ignored (read only in the first ledger month)")
        return None, lambda: None
    try:
        raw = reader.take(spec.name)
    except InputError as exc:
        for p in exc.problems:
            run.problems.add(p)
        return None, lambda: None
    later = run.parse(raw, pool)

    def finish() -> None:
        parsed = later()
        if parsed is not None:
            run.tables[spec.name] = parsed

    return model.InputFile(spec.name, file, len(raw.cells), raw.sha256, raw.encoding), finish


def load_month(data_dir: Path, month: Month, rules: RuleSet, *, first_ledger_month: bool,
               known_manager_ids: frozenset[str] = frozenset(), reader: MonthReader | None = None
               ) -> model.MonthInputs:
    """Read and validate ``<data_dir>/<YYYY-MM>/``.

    Raises NotReadyError (exit 5) when the month folder or a required file is missing, InputError (exit 3)
    listing every problem of every file otherwise. ``known_manager_ids``: people who left and are still in
    the ledger, whom `penalties` may name (D6). ``reader``: the folder's files already being read (made
    for ``data_dir`` and ``month``); else they are read here, each table typed as soon as its file is read.
    """
    if reader is None:
        with MonthReader(data_dir, month) as own:
            return load_month(data_dir, month, rules, first_ledger_month=first_ledger_month,
                              known_manager_ids=known_manager_ids, reader=own)
    reader.found()
    run = _Run(month, rules, known_manager_ids)
    for p in reader.problems:
        run.problems.add(p)
    # Each table as soon as the reader has it (the largest first), the large ones' columns typed in one pool
    # while the next tables are parsed, then each finished in turn; its problems, warnings and file entry
    # are then put in the tables' own order, as if they had been parsed in that order.
    done: dict[str, tuple[_Problems, list[str], model.InputFile | None]] = {}
    pool = ThreadPoolExecutor(_THREADS) if _THREADS > 1 else None  # the large tables' columns
    try:
        finishing: list[tuple[str, Callable[[], None]]] = []
        for name in reader.order:
            problems, warnings = _Problems(), []
            with run.lists_of_table(problems, warnings):
                entry, finish = _parse_table(run, reader, T.TABLE_BY_NAME[name], first_ledger_month, pool)
            done[name] = (problems, warnings, entry)
            finishing.append((name, finish))
        if pool is not None:
            # Queued behind the columns: the large files' hashing (the reader's thread, idle by now) starts
            # as soon as a typing thread finds nothing left to type, on the core the finishing below leaves
            # idle, rather than beside the computing's two threads (cmsettle.pipeline starts it otherwise).
            pool.submit(reader.start_hashing)
        for name, finish in finishing:
            problems, warnings, _ = done[name]
            with run.lists_of_table(problems, warnings):
                finish()
    finally:
        if pool is not None:  # after an error: the columns still queued are not wanted any more
            pool.shutdown(cancel_futures=True)
    files: list[model.InputFile] = []
    for spec in T.TABLES:
        if spec.name in done:
            problems, warnings, entry = done[spec.name]
            run.problems.merge(problems)
            run.warnings.extend(warnings)
            if entry is not None:
                files.append(entry)
    run.check()
    if run.problems.items:
        raise InputError(run.problems.all())
    return model.MonthInputs(
        month=month,
        roster=run.records("roster"),
        clients=run.frame("clients"),
        assets=run.frame("assets"),
        trades=run.frame("trades"),
        fund_sales=run.frame("fund_sales"),
        attendance=run.records("attendance"),
        management=run.records("management"),
        penalties=run.records("penalties"),
        referrals=run.records("referrals"),
        deductions=run.records("deductions"),
        overrides=run.records("grade_overrides"),
        history=run.records("history"),
        opening=run.records("opening"),
        files=tuple(files),
        warnings=tuple(run.warnings),
    )
