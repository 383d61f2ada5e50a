"""Client-level facts aggregated per manager: RULEBOOK M1, M3, M4, M5 and the inputs of P5, P6, TX1, X2.

Vectorised with pandas over the large tables; amounts stay exact ``Decimal`` objects, so every sum
is exact. M5 is linear in turnover, so it is computed from the turnover summed per
(manager, commission_rate): the same figure as the row-by-row sum, without rounding in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from cmsettle.model import MonthInputs
from cmsettle.money import ZERO, fen
from cmsettle.ruleset.schema import RuleSet

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
    client_status: dict[str, str] = field(default_factory=dict)

    def of(self, manager_id: str) -> ClientFacts:
        return self.by_manager.get(manager_id, ClientFacts())


def _sum_by(df: pd.DataFrame, by: str | list[str], col: str) -> dict:
    if df.empty:
        return {}
    return df.groupby(by, sort=False)[col].sum().to_dict()


def compute_client_facts(inputs: MonthInputs, rules: RuleSet, pending: frozenset[str]) -> MonthFacts:
    month = inputs.month
    m = rules.metrics
    clients = inputs.clients[["client_id", "manager_id", "open_date", "kind", "status"]]
    owner = dict(zip(clients["client_id"], clients["manager_id"]))
    status = dict(zip(clients["client_id"], clients["status"]))

    assets = inputs.assets.set_index("client_id")
    avg = assets["avg_assets"].to_dict() if not assets.empty else {}
    end = assets["end_assets"].to_dict() if not assets.empty else {}
    equity = assets["equity_assets"].to_dict() if not assets.empty else {}

    cl = clients.assign(
        avg_assets=[avg.get(c, ZERO) for c in clients["client_id"]],
        end_assets=[end.get(c, ZERO) for c in clients["client_id"]],
        equity_assets=[equity.get(c, ZERO) for c in clients["client_id"]],
    )

    trades = inputs.trades
    tr = trades.assign(manager_id=trades["client_id"].map(owner))
    # M5: sum turnover per (manager, commission rate), then apply the linear formula exactly.
    factor_cache: dict[Decimal, Decimal] = {}
    nr: dict[str, Decimal] = {}
    turnover: dict[str, Decimal] = {}
    for (mid, rate), total in _sum_by(tr, ["manager_id", "commission_rate"], "turnover").items():
        f = factor_cache.get(rate)
        if f is None:
            f = factor_cache[rate] = rate * (1 - m.revenue_tax_rate) - m.regulatory_fee_rate
        nr[mid] = nr.get(mid, ZERO) + total * f
        turnover[mid] = turnover.get(mid, ZERO) + total

    buys = tr[tr["side"] == "buy"]
    buy_eff = _sum_by(buys[buys["product"].isin(EFFECTIVE_PRODUCTS)], "client_id", "turnover")
    buy_ipo = _sum_by(buys[buys["product"].isin(IPO_FUND_PRODUCTS)], "client_id", "turnover")
    buy_all = _sum_by(buys, "client_id", "turnover")

    def effective(cid: str) -> bool:  # M3/D8: strictly greater
        return buy_eff.get(cid, ZERO) > m.effective_threshold or end.get(cid, ZERO) > m.effective_threshold

    opened = cl[(cl["open_date"] >= month.first_day) & (cl["open_date"] <= month.last_day)]
    counted: list[tuple[str, bool]] = []  # (client_id, late per D9)
    new_pending = set(pending)
    for cid, st in zip(opened["client_id"], opened["status"]):
        if st == "normal":
            if effective(cid):
                counted.append((cid, False))
        elif st == "under_investigation":
            new_pending.add(cid)  # D9: may count later, once
    for cid in sorted(pending):
        st = status.get(cid)
        if st == "normal":
            new_pending.discard(cid)
            if effective(cid):
                counted.append((cid, True))
        elif st == "malicious_confirmed":
            new_pending.discard(cid)

    weight = {"institution": Decimal(m.institution_weight)}
    kinds = dict(zip(cl["client_id"], cl["kind"]))
    per: dict[str, dict] = {}

    def slot(mid: str) -> dict:
        s = per.get(mid)
        if s is None:
            s = per[mid] = {"ea": ZERO, "nmv": ZERO, "buy": ZERO, "ipo": ZERO, "counted": [], "late": [], "inv": []}
        return s

    for cid, late in counted:
        s = slot(owner[cid])
        s["ea"] += weight.get(kinds[cid], Decimal(1))
        s["nmv"] += end.get(cid, ZERO)
        s["buy"] += buy_all.get(cid, ZERO)
        s["ipo"] += buy_ipo.get(cid, ZERO)
        (s["late"] if late else s["counted"]).append(cid)
    inv = cl[cl["status"] == "under_investigation"]
    for cid, mid in zip(inv["client_id"], inv["manager_id"]):
        slot(mid)["inv"].append(cid)

    avg_sum = _sum_by(cl, "manager_id", "avg_assets")
    eq_sum = _sum_by(cl, "manager_id", "equity_assets")
    counts = cl.groupby("manager_id", sort=False).size().to_dict() if not cl.empty else {}
    fs = inputs.fund_sales
    fund = _sum_by(fs.assign(manager_id=fs["client_id"].map(owner)), "manager_id", "commission_income")

    by_manager: dict[str, ClientFacts] = {}
    for mid in set(avg_sum) | set(per) | set(nr) | set(fund) | set(counts):
        s = per.get(mid, {})
        raw_nr = nr.get(mid, ZERO)
        by_manager[mid] = ClientFacts(
            avg_assets=avg_sum.get(mid, ZERO),
            ea=s.get("ea", ZERO),
            nmv=s.get("nmv", ZERO),
            net_revenue=fen(raw_nr),
            net_revenue_unrounded=raw_nr,
            equity_assets=eq_sum.get(mid, ZERO),
            client_count=int(counts.get(mid, 0)),
            fund_commission_income=fund.get(mid, ZERO),
            new_buy_total=s.get("buy", ZERO),
            new_buy_ipo_fund=s.get("ipo", ZERO),
            counted_clients=tuple(sorted(s.get("counted", ()))),
            late_counted_clients=tuple(sorted(s.get("late", ()))),
            investigated_clients=tuple(sorted(s.get("inv", ()))),
            turnover=turnover.get(mid, ZERO),
        )
    return MonthFacts(by_manager=by_manager, pending_clients=frozenset(new_pending), client_status=status)
