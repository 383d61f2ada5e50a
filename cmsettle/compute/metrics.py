"""Client-level facts aggregated per manager: RULEBOOK M1, M3, M4, M5 and the inputs of P5, P6, TX1, X2.

Vectorised over the large tables in the dtypes of :mod:`cmsettle.model` (ids and codes as category codes,
amounts as exact scaled integers), with no Python step per trade or per client.

Where exactness is kept: every amount column arrives as int64 unscaled values (amount x 10**s, exact:
validation parsed the text digit by digit, no float). Sums per client, per manager or per (manager,
commission rate) are int64 sums of those integers (``np.add.at``), exact as long as they cannot overflow,
which is checked before (else the same sums run on Python integers). Only the per-manager (or per-client)
totals become ``Decimal``, as ``Decimal(total).scaleb(-s)``: the exact sum. M5 is linear in turnover, so
it is computed from the turnover summed per (manager, commission_rate) times the exact factor of that rate,
``rate x (1 - revenue tax) - regulatory fee``: the same figure as the row-by-row sum of Decimals, rounded
once at the end. A column that does not fit int64 (the ``object`` fallback of the model) is summed as
Decimals, per group, exactly the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cmsettle import model
from cmsettle.model import MonthInputs
from cmsettle.money import ZERO, fen
from cmsettle.months import Month
from cmsettle.ruleset.schema import Metrics, RuleSet

EFFECTIVE_PRODUCTS = ("stock", "fund_open")  # M3/D8
IPO_FUND_PRODUCTS = ("ipo_subscription", "fund_open")  # P5


@dataclass(frozen=True)
class ClientFacts:
    """What one manager's clients add up to in month M (owner = clients.manager_id at the end of M, D5)."""

    avg_assets: Decimal = ZERO  # M1
    ea: Decimal = ZERO  # M3 (weighted)
    nmv: Decimal = ZERO  # M4
    net_revenue: Decimal = ZERO  # M5, rounded to 0.01
    net_revenue_unrounded: Decimal = ZERO
    equity_assets: Decimal = ZERO  # TX1
    client_count: int = 0  # TX1, D27
    fund_commission_income: Decimal = ZERO  # P6
    new_buy_total: Decimal = ZERO  # P5: buy turnover of the counted (M3) clients
    new_buy_ipo_fund: Decimal = ZERO  # P5: of which ipo_subscription + fund_open
    counted_clients: tuple[str, ...] = ()  # M3
    late_counted_clients: tuple[str, ...] = ()  # D9
    investigated_clients: tuple[str, ...] = ()  # X2: under_investigation at the end of M
    turnover: Decimal = ZERO


@dataclass(frozen=True)
class MonthFacts:
    by_manager: dict[str, ClientFacts]
    pending_clients: frozenset[str]  # D9 after this month
    client_status: Mapping[str, str] = field(default_factory=dict)

    def of(self, manager_id: str) -> ClientFacts:
        return self.by_manager.get(manager_id, _NO_CLIENTS)


_NO_CLIENTS = ClientFacts()  # a manager without clients (frozen: one instance serves all)


# --- exact sums of amount columns -----------------------------------------------------------------------

_LIMIT = 2**63 - 1


class _Amounts:
    """Amounts: exact unscaled integers and their scale (int64, or Python ints in an object array when a sum
    could overflow), or, the model's fallback, Decimal objects."""

    def __init__(self, ints: np.ndarray | None, scale: int = 0, objects: np.ndarray | None = None):
        self.ints, self.scale, self.objects = ints, scale, objects

    @classmethod
    def of(cls, column: pd.Series) -> "_Amounts":
        parts = model.scaled(column)
        if parts is not None:
            return cls(parts[0], parts[1])
        return cls(None, 0, np.array([ZERO if v is None or v is pd.NA else v for v in column.tolist()],
                                     dtype=object))

    def decimal(self, unscaled: int) -> Decimal:
        return Decimal(unscaled).scaleb(-self.scale) if unscaled else ZERO

    def take(self, positions: np.ndarray) -> "_Amounts":
        return _Amounts(self.ints[positions] if self.ints is not None else None, self.scale,
                        self.objects[positions] if self.objects is not None else None)

    def values(self) -> list[Decimal]:
        if self.ints is not None:
            return [self.decimal(int(u)) for u in self.ints]
        return list(self.objects)  # type: ignore[arg-type]

    def sum_by(self, groups: np.ndarray, n: int) -> "_Amounts":
        """Exact sums per group 0..n-1; rows of group -1 are left out: they are added into one slot past the
        last (an index of -1 is that slot), which is dropped, so no row is copied to leave them out."""
        if len(groups) and int(groups.min()) < -1:
            raise ValueError("a group below -1")  # it would be added to another group
        if self.ints is not None:
            ints = self.ints
            if ints.dtype != object and (max(int(ints.max()), -int(ints.min())) * len(ints) if len(ints) else 0) \
                    <= _LIMIT:
                out = np.zeros(n + 1, dtype=np.int64)  # no partial sum can overflow int64
            else:
                out = np.zeros(n + 1, dtype=object)  # Python integers: exact, slower
                out[:] = 0
                ints = ints.astype(object)
            np.add.at(out, groups, ints)
            return _Amounts(out[:n], self.scale)
        acc = np.zeros(n + 1, dtype=object)
        acc[:] = ZERO
        np.add.at(acc, groups, self.objects)
        return _Amounts(None, 0, acc[:n])

    def sums(self, groups: np.ndarray, n: int) -> list[Decimal]:
        return self.sum_by(groups, n).values()

    def above(self, threshold: Decimal) -> np.ndarray:
        """value > threshold, element-wise."""
        if self.ints is not None:  # x > t <=> x > floor(t) for an integer x
            limit = int(threshold.scaleb(self.scale).to_integral_value(rounding=ROUND_FLOOR))
            if self.ints.dtype == object or not -_LIMIT <= limit <= _LIMIT:
                return np.array([int(x) > limit for x in self.ints], dtype=bool)
            return self.ints > limit
        return np.array([v > threshold for v in self.objects], dtype=bool)  # type: ignore[union-attr]


def _codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Category codes (-1 where missing; as stored, int8 to int32) and the categories of an id or code column."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype("category")
    return column.cat.codes.to_numpy(), column.cat.categories


def _lookup(table: np.ndarray, codes: np.ndarray, missing: object) -> np.ndarray:
    """table[codes], and ``missing`` where a code is -1 (a sentinel appended to the table, no masking)."""
    return np.append(table, np.array([missing], dtype=table.dtype))[codes]


def _code_of(column: pd.Series, wanted: tuple[str, ...]) -> np.ndarray:
    """A boolean mask: the column's value is one of ``wanted``."""
    codes, cats = _codes(column)
    return _lookup(np.asarray(cats.isin(list(wanted)), dtype=bool), codes, False)


def _in_month(column: pd.Series, first, last) -> np.ndarray:
    data = model.arrow(column) if isinstance(column.dtype, pd.ArrowDtype) else pa.chunked_array(
        [pa.array(column.tolist(), type=pa.date32())])
    mask = pc.and_(pc.greater_equal(data, pa.scalar(first, pa.date32())),
                   pc.less_equal(data, pa.scalar(last, pa.date32())))
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


class _Clients:
    """The clients table as positions 0..n-1 (its rows), found by id through its category codes."""

    def __init__(self, clients: pd.DataFrame):
        self.codes, self.ids = _codes(clients["client_id"])  # ids: the distinct client ids
        self.lookup = model.IdIndex.of(self.ids)  # the input checks' look-up of the same ids, if they made it
        self.n = len(self.codes)
        self.at = np.full(len(self.ids), -1, dtype=np.int64)  # position of each distinct id (a repeat: the last)
        valid = self.codes >= 0
        self.at[self.codes[valid]] = np.flatnonzero(valid)
        self.owner, self.managers = _codes(clients["manager_id"])  # manager code per position

    def id(self, pos: int) -> str:
        return str(self.ids[self.codes[pos]])

    def ids_at(self, positions: np.ndarray) -> list[str]:
        """The client ids at some positions, fetched at once."""
        if not len(positions):
            return []
        return [str(x) for x in self.ids.take(self.codes[positions]).tolist()]

    def positions_of(self, column: pd.Series) -> np.ndarray:
        """For each row of another table's client_id column, the client's position (-1: not a client)."""
        codes, cats = _codes(column)
        return _lookup(self.category_positions(cats), codes, -1)

    def category_positions(self, cats: pd.Index) -> np.ndarray:
        """The position of each distinct id of another table's client_id column (-1: not a client)."""
        if cats is self.ids or (len(cats) == len(self.ids) and cats.equals(self.ids)):
            return self.at  # the same categories (ids read against clients): no hashing at all
        return _lookup(self.at, self.lookup.find(cats), -1)

    def position(self, cid: str) -> int:
        i = self.ids.get_indexer([cid])[0] if len(self.ids) else -1
        return int(self.at[i]) if i >= 0 else -1

    def owner_of(self, pos: np.ndarray) -> np.ndarray:
        return _lookup(self.owner.astype(np.int64), pos, -1)


class _ClientStatus(Mapping[str, str]):
    """client_id -> status of every client, looked up on demand (a million clients need no dict)."""

    def __init__(self, clients: _Clients, status: pd.Series):
        self._clients = clients
        self._codes, self._cats = _codes(status)

    def __getitem__(self, cid: str) -> str:
        pos = self._clients.position(cid)
        if pos < 0 or self._codes[pos] < 0:
            raise KeyError(cid)
        return str(self._cats[self._codes[pos]])

    def __iter__(self) -> Iterator[str]:
        return (str(self._clients.ids[k]) for k in np.flatnonzero(self._clients.at >= 0))

    def __len__(self) -> int:
        return int((self._clients.at >= 0).sum())


# --- the facts ------------------------------------------------------------------------------------------

@dataclass
class _Candidates:
    """M3/D8/D9: the clients who may count this month (opened in M, or pending from earlier months) and their
    buy turnover in M (P5, D8): only the candidates' trade rows are looked at."""

    normal: np.ndarray
    investigated: np.ndarray
    malicious: np.ndarray
    opened: np.ndarray
    pending_at: list[tuple[str, int]]
    slot: np.ndarray
    buy_all: "_Amounts"
    buy_ipo: "_Amounts"
    end_c: "_Amounts"
    effective: np.ndarray


def _candidates(cl: "_Clients", clients: pd.DataFrame, trades: pd.DataFrame, t_codes: np.ndarray,
                t_cat_pos: np.ndarray, turnover: "_Amounts", end_assets: "_Amounts", pending: frozenset[str],
                month: Month, m: Metrics) -> _Candidates:
    # M3/D8/D9: who may count this month: the clients opened in M and those pending from earlier months.
    normal = _code_of(clients["status"], ("normal",))
    investigated = _code_of(clients["status"], ("under_investigation",))
    malicious = _code_of(clients["status"], ("malicious_confirmed",))
    opened = np.flatnonzero(_in_month(clients["open_date"], month.first_day, month.last_day))
    pending_at = [(cid, cl.position(cid)) for cid in sorted(pending)]
    candidates = np.union1d(opened, [p for _, p in pending_at if p >= 0]).astype(np.int64)
    slot = np.full(cl.n, -1, dtype=np.int64)
    slot[candidates] = np.arange(len(candidates))
    # their buy turnover (P5, D8): only the candidates' trade rows are looked at
    t_slot = _lookup(_lookup(slot.astype(np.int32), t_cat_pos, -1), t_codes, -1)
    rows = np.flatnonzero(_code_of(trades["side"], ("buy",)) & (t_slot >= 0))
    bought, b_slot = turnover.take(rows), t_slot[rows]
    n_cand = len(candidates)
    buy_all = bought.sum_by(b_slot, n_cand)
    buy_eff = bought.sum_by(np.where(_code_of(trades["product"], EFFECTIVE_PRODUCTS)[rows], b_slot, -1), n_cand)
    buy_ipo = bought.sum_by(np.where(_code_of(trades["product"], IPO_FUND_PRODUCTS)[rows], b_slot, -1), n_cand)
    end_c = end_assets.take(candidates)
    effective = np.zeros(cl.n, dtype=bool)  # M3/D8: strictly greater
    effective[candidates] = end_c.above(m.effective_threshold) | buy_eff.above(m.effective_threshold)
    return _Candidates(normal, investigated, malicious, opened, pending_at, slot, buy_all, buy_ipo, end_c,
                       effective)


def compute_client_facts(inputs: MonthInputs, rules: RuleSet, pending: frozenset[str]) -> MonthFacts:
    month = inputs.month
    m = rules.metrics
    clients = inputs.clients
    cl = _Clients(clients)
    n_mgr = len(cl.managers)
    manager_ids = [str(x) for x in cl.managers]

    # Assets per client position (a client without an assets row has 0).
    assets = inputs.assets
    a_pos = cl.positions_of(assets["client_id"])
    a_rows = np.flatnonzero(a_pos >= 0)
    book: dict[str, _Amounts] = {}
    for col in ("avg_assets", "end_assets", "equity_assets"):
        a = _Amounts.of(assets[col]).take(a_rows)
        if a.ints is not None:
            full = np.zeros(cl.n, dtype=np.int64)
            full[a_pos[a_rows]] = a.ints
            a.ints = full
        else:
            obj = np.empty(cl.n, dtype=object)
            obj[:] = ZERO
            obj[a_pos[a_rows]] = a.objects
            a.objects = obj
        book[col] = a

    # Trades: the owner (clients.manager_id at the end of M, D5) and the commission rate of each row. Owner
    # and candidate slot (below) are looked up per distinct client id, then spread to the rows by its code:
    # one gather of ten million rows each, in int32.
    trades = inputs.trades
    t_codes, t_cats = _codes(trades["client_id"])
    t_cat_pos = cl.category_positions(t_cats)
    t_owner = _lookup(cl.owner_of(t_cat_pos).astype(np.int32), t_codes, -1)
    turnover = _Amounts.of(trades["turnover"])
    # The candidates' buys (numpy: no lock Python needs is held) beside the revenue per key.
    with ThreadPoolExecutor(1) as side:
        cands = side.submit(_candidates, cl, clients, trades, t_codes, t_cat_pos, turnover, book["end_assets"],
                            pending, month, m)
        rate = _Amounts.of(trades["commission_rate"])
        known = model.coded(trades["commission_rate"])
        if rate.ints is not None:
            if known is not None:  # the checks' codes of the few rates, their values made distinct
                by_text, rate_uniques = pd.factorize(known[1])
                rate_codes = by_text[known[0]]
            else:
                rate_codes, rate_uniques = pd.factorize(rate.ints)
            rates = [rate.decimal(int(u)) for u in rate_uniques]
        else:
            rate_codes, rate_uniques = pd.factorize(pd.Series(rate.objects, dtype=object))
            rates = list(rate_uniques)
        n_rates = max(len(rates), 1)

        # M5: turnover summed per (manager, commission rate), then the linear formula applied exactly.
        wide = n_mgr * n_rates >= 2**31  # keys beyond int32: int64
        key = t_owner.astype(np.int64) if wide else t_owner.copy()
        key *= n_rates
        key += rate_codes.astype(key.dtype, copy=False)
        key[t_owner < 0] = -1
        by_key = turnover.sums(key, n_mgr * n_rates)
        traded = np.zeros(n_mgr * n_rates + 1, dtype=bool)  # the keys with trades; -1 (no owner): the last
        traded[key] = True
        nr: dict[str, Decimal] = {}
        turnover_of: dict[str, Decimal] = {}
        for k in np.flatnonzero(traded[:-1]):
            total, r = by_key[k], rates[k % n_rates]
            mid = manager_ids[k // n_rates]
            nr[mid] = nr.get(mid, ZERO) + total * (r * (1 - m.revenue_tax_rate) - m.regulatory_fee_rate)
            turnover_of[mid] = turnover_of.get(mid, ZERO) + total
        c = cands.result()
    normal, investigated, malicious, opened = c.normal, c.investigated, c.malicious, c.opened
    pending_at, slot, buy_all, buy_ipo, end_c, effective = c.pending_at, c.slot, c.buy_all, c.buy_ipo, c.end_c, \
        c.effective

    new_pending = set(pending)
    counted = opened[normal[opened] & effective[opened]]  # M3: opened in M, normal and effective
    new_pending.update(cl.ids_at(opened[investigated[opened]]))  # D9: may count later, once
    late = []
    for cid, p in pending_at:
        if p < 0:
            continue
        if normal[p]:
            new_pending.discard(cid)
            if effective[p]:
                late.append(p)
        elif malicious[p]:
            new_pending.discard(cid)
    counted_all = np.concatenate([counted, np.array(late, dtype=np.int64)]).astype(np.int64)
    is_late = np.arange(len(counted_all)) >= len(counted)
    owned = cl.owner[counted_all] >= 0
    counted_all, is_late = counted_all[owned], is_late[owned]

    # per manager: EA (institutions weigh more), NMV, and the new clients' buy turnover (P5)
    owner_c = cl.owner[counted_all]
    kind_codes, kind_cats = _codes(clients["kind"])
    inst = np.asarray(kind_cats.isin(["institution"]), dtype=bool) if len(kind_cats) else np.zeros(0, dtype=bool)
    k = kind_codes[counted_all]
    institution = _lookup(inst, k, False)
    n_inst = np.bincount(owner_c[institution], minlength=n_mgr)
    n_other = np.bincount(owner_c[~institution], minlength=n_mgr)
    c_slot = slot[counted_all]
    nmv = end_c.take(c_slot).sums(owner_c, n_mgr)
    buy = buy_all.take(c_slot).sums(owner_c, n_mgr)
    ipo = buy_ipo.take(c_slot).sums(owner_c, n_mgr)
    weight = Decimal(m.institution_weight)
    counted_of: dict[int, tuple[list[str], list[str]]] = {}
    for o, cid, lt in zip(owner_c.tolist(), cl.ids_at(counted_all), is_late.tolist()):
        counted_of.setdefault(o, ([], []))[1 if lt else 0].append(cid)
    inv_pos = np.flatnonzero(investigated & (cl.owner >= 0))  # X2
    inv_of: dict[int, list[str]] = {}
    for o, cid in zip(cl.owner[inv_pos].tolist(), cl.ids_at(inv_pos)):
        inv_of.setdefault(o, []).append(cid)

    # M1, TX1, D27, P6: sums and counts per manager.
    avg_sum = book["avg_assets"].sums(cl.owner, n_mgr)
    eq_sum = book["equity_assets"].sums(cl.owner, n_mgr)
    counts = np.bincount(cl.owner[cl.owner >= 0], minlength=n_mgr)
    fs = inputs.fund_sales
    f_owner = cl.owner_of(cl.positions_of(fs["client_id"]))
    fund = _Amounts.of(fs["commission_income"]).sums(f_owner, n_mgr)
    fund_of = {manager_ids[k]: fund[k] for k in np.unique(f_owner[f_owner >= 0])}

    by_manager: dict[str, ClientFacts] = {}
    for k in np.flatnonzero(counts).tolist():
        mid = manager_ids[k]
        raw_nr = nr.get(mid, ZERO)
        on_time, later = counted_of.get(k, ((), ()))
        by_manager[mid] = ClientFacts(
            avg_assets=avg_sum[k],
            ea=Decimal(int(n_other[k])) + (weight * int(n_inst[k]) if n_inst[k] else ZERO),
            nmv=nmv[k],
            net_revenue=fen(raw_nr),
            net_revenue_unrounded=raw_nr,
            equity_assets=eq_sum[k],
            client_count=int(counts[k]),
            fund_commission_income=fund_of.get(mid, ZERO),
            new_buy_total=buy[k],
            new_buy_ipo_fund=ipo[k],
            counted_clients=tuple(sorted(on_time)),
            late_counted_clients=tuple(sorted(later)),
            investigated_clients=tuple(sorted(inv_of.get(k, ()))),
            turnover=turnover_of.get(mid, ZERO),
        )
    return MonthFacts(by_manager=by_manager, pending_clients=frozenset(new_pending),
                      client_status=_ClientStatus(cl, clients["status"]))
