"""Immutable input records of one month (DATA.md), each knowing where it came from.

Small tables become tuples of frozen records. The large ones (clients, assets, trades, fund_sales) stay
pandas DataFrames of validated columns in compact, pyarrow-backed dtypes (:data:`FRAME_SCHEMA`), so that a
month of ten million trades is a few hundred megabytes and is aggregated with vectorised code:

* ids: ``pd.Categorical`` of ``str`` (codes int32; the categories are the distinct ids);
* codes (product, side, kind, status): ``pd.Categorical`` whose categories are this module's tuple
  (``PRODUCTS`` ...), so ``codes`` index it;
* dates: ``pd.ArrowDtype(pa.date32())``; ``.tolist()`` gives ``datetime.date``;
* amounts: exact scaled integers, ``pd.ArrowDtype(pa.decimal128(38, s))`` where ``s`` is the largest
  number of decimals in the column and every unscaled value (amount x 10**s) fits in int64; ``.tolist()``
  gives ``Decimal``, :func:`scaled` the int64 unscaled values without a copy. A column with a value
  that does not fit (more than 18 significant digits at the column's scale) stays ``object`` holding
  ``Decimal`` instead: exact too, only slower. Either way no float ever holds an amount.

Every DataFrame row keeps its spreadsheet row in ``_row`` (int64). :func:`typed_frame` builds such a frame
from Python values (tests, absent tables).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cmsettle.months import Month

GRADES = ("trainee", "assistant", "manager", "senior", "chief")
POSITIONS = ("marketer", "station_manager", "regional_manager")
CONTRACTS = ("employee", "agent")
CLIENT_KINDS = ("individual", "institution")
CLIENT_STATUSES = ("normal", "under_investigation", "malicious_confirmed")
PRODUCTS = ("stock", "fund_open", "fund_closed", "bond", "ipo_subscription", "other")
SIDES = ("buy", "sell")
ATTENDANCE_CODES = ("late", "early_leave", "personal_leave", "sick_leave", "absent", "work_injury", "promo_duty")
MANAGEMENT_KINDS = ("no_promotion", "meeting_not_held", "report_late", "dress_code", "left_post", "complaint")
PENALTY_KINDS = (
    "discretionary_trading", "malicious_account", "business_error", "loss_compensation",
    "risk_fund_forfeit", "dispute", "dispute_closed",
)
SEVERITIES = ("general", "serious")


@dataclass(frozen=True)
class Source:
    file: str
    row: int  # as a spreadsheet shows it: the header is row 1


@dataclass(frozen=True)
class RosterRow:
    manager_id: str
    name: str
    position: str
    hire_date: date
    position_since: date | None = None
    supervisor_id: str | None = None
    project: str | None = None
    station: str | None = None
    leave_date: date | None = None
    leave_approved: bool = True
    qualification_date: date | None = None
    contract: str = "employee"
    grade: str | None = None
    tier: int = 1
    si_base: Decimal | None = None
    bank_account: str | None = None
    id_number: str | None = None
    src: Source | None = None


@dataclass(frozen=True)
class AttendanceRow:
    manager_id: str
    date: date
    code: str
    days: Decimal
    proof: bool = False
    src: Source | None = None


@dataclass(frozen=True)
class ManagementRow:
    manager_id: str
    date: date
    kind: str
    note: str | None = None
    src: Source | None = None


@dataclass(frozen=True)
class PenaltyRow:
    manager_id: str
    date: date
    kind: str
    amount: Decimal | None = None
    client_id: str | None = None
    severity: str | None = None
    note: str | None = None
    src: Source | None = None


@dataclass(frozen=True)
class ReferralRow:
    referrer_id: str
    referred_id: str
    date: date
    src: Source | None = None


@dataclass(frozen=True)
class DeductionRow:
    manager_id: str
    amount: Decimal
    src: Source | None = None


@dataclass(frozen=True)
class OverrideRow:
    manager_id: str
    grade: str
    approved_by: str
    reason: str
    src: Source | None = None


@dataclass(frozen=True)
class HistoryRow:
    month: Month
    manager_id: str
    grade: str | None
    avg_assets: Decimal
    ea: Decimal
    nmv: Decimal
    score_raw: Decimal | None
    src: Source | None = None


@dataclass(frozen=True)
class OpeningRow:
    manager_id: str
    risk_fund_balance: Decimal = Decimal(0)
    excess_carry: Decimal = Decimal(0)
    ytd_taxable: Decimal = Decimal(0)
    ytd_tax: Decimal = Decimal(0)
    ytd_months: int = 0
    personal_leave_days_ytd: Decimal = Decimal(0)
    absent_days_ytd: Decimal = Decimal(0)
    discretionary_count: int = 0
    src: Source | None = None


@dataclass(frozen=True)
class InputFile:
    """One file read for the month: its table name, path, rows and sha256 (manifest, report)."""

    table: str
    path: str
    rows: int
    sha256: str
    encoding: str | None = None


CLIENT_COLUMNS = ["client_id", "manager_id", "open_date", "kind", "status"]
ASSET_COLUMNS = ["client_id", "avg_assets", "end_assets", "equity_assets"]
TRADE_COLUMNS = ["trade_date", "client_id", "product", "side", "turnover", "commission_rate"]
FUND_SALE_COLUMNS = ["client_id", "sale_date", "product_code", "amount", "commission_income"]

# --- the large tables' column types ------------------------------------------------------------------------

ID, DATE, AMOUNT = "id", "date", "amount"  # and a tuple of codes for a code column

FRAME_SCHEMA: dict[str, dict[str, str | tuple[str, ...]]] = {
    "clients": {"client_id": ID, "manager_id": ID, "open_date": DATE, "kind": CLIENT_KINDS,
                "status": CLIENT_STATUSES},
    "assets": {"client_id": ID, "avg_assets": AMOUNT, "end_assets": AMOUNT, "equity_assets": AMOUNT},
    "trades": {"trade_date": DATE, "client_id": ID, "product": PRODUCTS, "side": SIDES, "turnover": AMOUNT,
               "commission_rate": AMOUNT},
    "fund_sales": {"client_id": ID, "sale_date": DATE, "product_code": ID, "amount": AMOUNT,
                   "commission_income": AMOUNT},
}

_INT64_MAX = 2**63 - 1
_PRECISION = 38  # decimal128: the unscaled values are int64 anyway


def id_array(values: Sequence[str | None]) -> pd.Categorical:
    """Ids as a Categorical of str (None is missing)."""
    return pd.Categorical(list(values))


def code_array(values: Sequence[str | None], codes: tuple[str, ...]) -> pd.Categorical:
    """Codes as a Categorical over all the codes of their kind, in the model's order."""
    return pd.Categorical(list(values), categories=list(codes))


def date_array(values: Sequence[date | None]) -> pd.api.extensions.ExtensionArray:
    return pd.array(pa.array(list(values), type=pa.date32()), dtype=pd.ArrowDtype(pa.date32()))


def scaled_array(unscaled: np.ndarray, scale: int, valid: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """An amount column from its int64 unscaled values (amount x 10**scale), without a per-value step."""
    unscaled = np.ascontiguousarray(unscaled, dtype=np.int64)
    n = len(unscaled)
    words = np.empty((n, 2), dtype=np.int64)  # decimal128: little-endian low word, then the sign extension
    words[:, 0] = unscaled
    words[:, 1] = unscaled >> 63
    bitmap = None
    if valid is not None and not valid.all():
        bitmap = pa.array(np.asarray(valid, dtype=bool)).buffers()[1]
    arr = pa.Array.from_buffers(pa.decimal128(_PRECISION, scale), n, [bitmap, pa.py_buffer(words)])
    return pd.array(arr, dtype=pd.ArrowDtype(arr.type))


def decimals_of(value: Decimal) -> int:
    exp = value.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def amount_array(values: Sequence[Decimal | None]) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Decimals as an amount column: scaled integers, or object Decimals when a value does not fit int64."""
    values = list(values)
    scale = max((decimals_of(v) for v in values if v is not None), default=0)
    unscaled = [0 if v is None else int(v.scaleb(scale)) for v in values]
    if any(abs(u) > _INT64_MAX for u in unscaled):
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    valid = np.array([v is not None for v in values], dtype=bool)
    return scaled_array(np.array(unscaled, dtype=np.int64), scale, valid)


#: What is known already of decimal128 columns (see known_unscaled): by the id of the column's pyarrow
#: array, each entry removed when that array goes.
_Known = tuple[weakref.ref, np.ndarray, "tuple[np.ndarray, np.ndarray] | None"]  # the array, unscaled, coded
_UNSCALED: dict[int, _Known] = {}


def known_unscaled(decimals: pa.ChunkedArray, unscaled: np.ndarray,
                   coded: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Tell :func:`scaled` the unscaled values of these decimals (every value valid and within int64), which
    the input checks compute anyway: the metrics then do not derive them again (0.1-0.2 s for a column of ten
    million trades, most of it in fresh memory). ``coded``: the column as codes per row and the unscaled
    value of each code (a column of few distinct values, such as commission rates; see :func:`coded`).
    Kept, read-only, as long as ``decimals`` lives."""
    key = id(decimals)
    unscaled.flags.writeable = False
    _UNSCALED[key] = (weakref.ref(decimals, lambda _: _UNSCALED.pop(key, None)), unscaled, coded)


def coded(column: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """A column of few distinct amounts as the input checks saw it: per row a code (int32, no -1) and per
    code the unscaled value, at :func:`scaled`'s scale (two codes may have one value: "0.0003", "0.00030");
    None when not known."""
    if not isinstance(column.dtype, pd.ArrowDtype):
        return None
    known = _known(arrow(column))
    return known[2] if known is not None else None


def _known(chunked: pa.ChunkedArray) -> _Known | None:
    """What known_unscaled was told of this very array (not of another one since given its id), or None."""
    known = _UNSCALED.get(id(chunked))
    return known if known is not None and known[0]() is chunked else None


def scaled(column: pd.Series | pd.api.extensions.ExtensionArray) -> tuple[np.ndarray, int] | None:
    """The exact int64 unscaled values and the scale of an amount column (missing values as 0); None for an
    ``object`` column of Decimals (or a decimal128 one whose values do not fit int64)."""
    dtype = column.dtype
    if not (isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype)):
        return None
    chunked = arrow(column)
    known = _known(chunked)
    if known is not None:
        return known[1], chunked.type.scale
    if pa.types.is_decimal256(chunked.type):
        return None
    lows = []
    for arr in chunked.chunks:
        if not len(arr):
            continue
        words = np.frombuffer(arr.buffers()[1], dtype=np.int64).reshape(-1, 2)[arr.offset: arr.offset + len(arr)]
        low, high = words[:, 0], words[:, 1]
        if not np.array_equal(high, low >> 63):
            return None
        if arr.null_count:
            low = np.where(np.asarray(arr.is_valid()), low, 0)
        lows.append(low)
    if len(lows) == 1:
        return lows[0], chunked.type.scale
    return (np.concatenate(lows) if lows else np.zeros(0, dtype=np.int64)), chunked.type.scale


def arrow(column: pd.Series | pd.Index | pd.api.extensions.ExtensionArray) -> pa.ChunkedArray:
    """The pyarrow data behind a pyarrow-backed column or index (no copy)."""
    data = column.array if isinstance(column, (pd.Series, pd.Index)) else column
    out = data.__arrow_array__()
    return out if isinstance(out, pa.ChunkedArray) else pa.chunked_array([out])


class IdIndex:
    """Distinct ids to look others up in: ``find(values)`` gives each value's position here, -1 if absent.

    Ids that are all plain whole numbers (client numbers: no sign, no leading zero, so text and number are
    one to one) are hashed as int64, once, which is many times faster than hashing text; others by pyarrow."""

    def __init__(self, ids: pd.Index):
        self.ids = ids
        self._numbers = _numbers_of(ids)
        self._index = pd.Index(self._numbers) if self._numbers is not None else None
        self._text: pa.Array | None = None
        self._found: dict[int, tuple[pd.Index, np.ndarray]] = {}

    _last: ClassVar["IdIndex | None"] = None

    @classmethod
    def of(cls, ids: pd.Index) -> "IdIndex":
        """The look-up of these very ids (the same Index object), made once: the input checks look the client
        ids of assets and trades up among the clients', and so does the computation after them, with the
        same Index objects (the frames' categories); only the last one made is kept."""
        last = cls._last
        if last is None or last.ids is not ids:
            last = cls._last = cls(ids)
        return last

    def find(self, values: pd.Index) -> np.ndarray:
        """Each value's position among the ids, -1 if absent (read-only; asked again for the same Index
        object: the same array, not looked up again)."""
        hit = self._found.get(id(values))
        if hit is not None and hit[0] is values:
            return hit[1]
        found = self._find(values)
        found.flags.writeable = False
        self._found[id(values)] = (values, found)
        return found

    def _find(self, values: pd.Index) -> np.ndarray:
        if not len(values) or not len(self.ids):
            return np.full(len(values), -1, dtype=np.int64)
        if self._index is not None:
            numbers = _numbers_of(values)
            if numbers is not None:
                return self._index.get_indexer(numbers)
        if isinstance(values.dtype, pd.StringDtype) and isinstance(self.ids.dtype, pd.StringDtype):
            if self._text is None:
                self._text = arrow(self.ids).combine_chunks()
            found = pc.index_in(arrow(values), value_set=self._text)
            return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        return self.ids.get_indexer(values)


def _numbers_of(ids: pd.Index) -> np.ndarray | None:
    """The ids as int64 when each is a plain whole number written without sign or leading zero, else None."""
    if not isinstance(ids.dtype, pd.StringDtype) or not len(ids):
        return None
    text = arrow(ids)
    try:  # fails on anything but an optional sign and digits
        numbers = pc.cast(text, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if any(pc.any(pc.starts_with(text, x)).as_py() for x in ("0", "+", "-")):  # "007" is not "7"
        return None
    return np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.int64)


def typed_frame(table: str, columns: Mapping[str, Sequence] | None = None, rows: Sequence[int] | None = None
                ) -> pd.DataFrame:
    """A large table in the dtypes above from Python values (ids/codes str, dates date, amounts Decimal)."""
    columns = columns or {}
    n = len(next(iter(columns.values()))) if columns else 0
    data: dict[str, object] = {}
    for name, kind in FRAME_SCHEMA[table].items():
        values = list(columns.get(name, [None] * n))
        if kind == ID:
            data[name] = id_array(values)
        elif kind == DATE:
            data[name] = date_array(values)
        elif kind == AMOUNT:
            data[name] = amount_array(values)
        else:
            data[name] = code_array(values, kind)  # type: ignore[arg-type]
    data["_row"] = np.asarray(rows if rows is not None else np.arange(2, n + 2), dtype=np.int64)
    return pd.DataFrame(data)


def _empty(table: str) -> pd.DataFrame:
    return typed_frame(table)


@dataclass(frozen=True)
class MonthInputs:
    """Everything one month folder holds, validated. Optional tables are empty when absent."""

    month: Month
    roster: tuple[RosterRow, ...]
    clients: pd.DataFrame = field(default_factory=lambda: _empty("clients"))
    assets: pd.DataFrame = field(default_factory=lambda: _empty("assets"))
    trades: pd.DataFrame = field(default_factory=lambda: _empty("trades"))
    fund_sales: pd.DataFrame = field(default_factory=lambda: _empty("fund_sales"))
    attendance: tuple[AttendanceRow, ...] = ()
    management: tuple[ManagementRow, ...] = ()
    penalties: tuple[PenaltyRow, ...] = ()
    referrals: tuple[ReferralRow, ...] = ()
    deductions: tuple[DeductionRow, ...] = ()
    overrides: tuple[OverrideRow, ...] = ()
    history: tuple[HistoryRow, ...] = ()
    opening: tuple[OpeningRow, ...] = ()
    files: tuple[InputFile, ...] = ()
    warnings: tuple[str, ...] = ()
