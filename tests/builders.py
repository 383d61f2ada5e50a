"""Build months in Python for worked-example tests: no files, every figure visible in the test.

    b = MonthBuilder("2024-05")
    b.manager("M1", grade="manager", hire="2020-01-01")
    b.client("C1", "M1", opened="2024-05-06", end_assets="8000", avg_assets="6000")
    b.trade("C1", "stock", "buy", "10000", "0.0003")
    res = b.settle()                    # first ledger month
    nxt = MonthBuilder("2024-06", prior=res.state) ...
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd

from cmsettle import DEFAULT_RULES_DIR
from cmsettle.compute.settle import MonthResult, settle
from cmsettle.compute.state import LedgerState
from cmsettle.model import (
    ASSET_COLUMNS, CLIENT_COLUMNS, FUND_SALE_COLUMNS, TRADE_COLUMNS, AttendanceRow, DeductionRow, HistoryRow,
    ManagementRow, MonthInputs, OpeningRow, OverrideRow, PenaltyRow, ReferralRow, RosterRow, typed_frame,
)
from cmsettle.months import Month
from cmsettle.ruleset.loader import parse_ruleset
from cmsettle.ruleset.schema import RuleSet
from cmsettle.workdays import WorkCalendar

DEFAULT_RULES = parse_ruleset(sorted(Path(DEFAULT_RULES_DIR).glob("*.yaml"))[0]).rules


def d(text: str | int) -> Decimal:
    return Decimal(str(text))


def day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def rules_with(**changes: dict) -> RuleSet:
    """The default rules with some sections changed: rules_with(earnings={"account_bonus": d(60)})."""
    data = DEFAULT_RULES.model_dump()
    for section, values in changes.items():
        data[section] = {**data[section], **values} if isinstance(values, dict) else values
    return RuleSet.model_validate(data)


class MonthBuilder:
    def __init__(self, month: str, prior: LedgerState | None = None, rules: RuleSet | None = None):
        self.month = Month.parse(month)
        self.prior = prior or LedgerState()
        self.rules = rules or DEFAULT_RULES
        self.roster: list[RosterRow] = []
        self.clients: list[dict] = []
        self.assets: list[dict] = []
        self.trades: list[dict] = []
        self.fund_sales: list[dict] = []
        self.attendance: list[AttendanceRow] = []
        self.management: list[ManagementRow] = []
        self.penalties: list[PenaltyRow] = []
        self.referrals: list[ReferralRow] = []
        self.deductions: list[DeductionRow] = []
        self.overrides: list[OverrideRow] = []
        self.history: list[HistoryRow] = []
        self.opening: list[OpeningRow] = []
        self.retro: dict[str, Decimal] = {}

    # ---- people ----------------------------------------------------------------------------------
    def manager(self, mid: str, *, grade: str | None = "manager", position: str = "marketer",
                hire: str = "2015-01-05", leave: str | None = None, leave_approved: bool = True,
                qualified: str | None = "2015-06-01", supervisor: str | None = None, contract: str = "employee",
                tier: int = 1, si_base: str | None = None, position_since: str | None = None,
                name: str | None = None) -> "MonthBuilder":
        self.roster.append(RosterRow(
            manager_id=mid, name=name or f"name-{mid}", position=position, hire_date=day(hire),
            position_since=day(position_since), supervisor_id=supervisor, leave_date=day(leave),
            leave_approved=leave_approved, qualification_date=day(qualified), contract=contract, grade=grade,
            tier=tier, si_base=d(si_base) if si_base is not None else None, bank_account="6222020000000000001",
        ))
        return self

    # ---- clients and trades ----------------------------------------------------------------------
    def client(self, cid: str, manager: str, *, opened: str = "2020-01-01", kind: str = "individual",
               status: str = "normal", avg_assets: str = "0", end_assets: str = "0", equity_assets: str = "0",
               assets: bool = True) -> "MonthBuilder":
        self.clients.append(dict(client_id=cid, manager_id=manager, open_date=day(opened), kind=kind, status=status))
        if assets:
            self.assets.append(dict(client_id=cid, avg_assets=d(avg_assets), end_assets=d(end_assets),
                                    equity_assets=d(equity_assets)))
        return self

    def trade(self, cid: str, product: str, side: str, turnover: str, rate: str = "0.0003",
              on: str | None = None) -> "MonthBuilder":
        self.trades.append(dict(trade_date=day(on) or self.month.first_day, client_id=cid, product=product,
                                side=side, turnover=d(turnover), commission_rate=d(rate)))
        return self

    def fund_sale(self, cid: str, amount: str, commission_income: str) -> "MonthBuilder":
        self.fund_sales.append(dict(client_id=cid, sale_date=self.month.first_day, product_code="000001",
                                    amount=d(amount), commission_income=d(commission_income)))
        return self

    # ---- month events ------------------------------------------------------------------------------
    def attend(self, mid: str, code: str, on: str, days: str = "1", proof: bool = False) -> "MonthBuilder":
        self.attendance.append(AttendanceRow(mid, day(on), code, d(days), proof))
        return self

    def event(self, mid: str, kind: str, on: str | None = None) -> "MonthBuilder":
        self.management.append(ManagementRow(mid, day(on) or self.month.first_day, kind))
        return self

    def penalty(self, mid: str, kind: str, *, amount: str | None = None, client: str | None = None,
                severity: str | None = None, on: str | None = None) -> "MonthBuilder":
        self.penalties.append(PenaltyRow(mid, day(on) or self.month.first_day, kind,
                                         d(amount) if amount is not None else None, client, severity))
        return self

    def refer(self, referrer: str, referred: str, on: str) -> "MonthBuilder":
        self.referrals.append(ReferralRow(referrer, referred, day(on)))
        return self

    def deduct(self, mid: str, amount: str) -> "MonthBuilder":
        self.deductions.append(DeductionRow(mid, d(amount)))
        return self

    def override(self, mid: str, grade: str) -> "MonthBuilder":
        self.overrides.append(OverrideRow(mid, grade, "HR head", "test override"))
        return self

    def hist(self, month: str, mid: str, *, grade: str | None = "manager", avg_assets: str = "0", ea: str = "0",
             nmv: str = "0", score_raw: str | None = "1") -> "MonthBuilder":
        self.history.append(HistoryRow(Month.parse(month), mid, grade, d(avg_assets), d(ea), d(nmv),
                                       d(score_raw) if score_raw is not None else None))
        return self

    def open(self, mid: str, **values: str) -> "MonthBuilder":
        conv = {k: (int(v) if k in ("ytd_months", "discretionary_count") else d(v)) for k, v in values.items()}
        self.opening.append(OpeningRow(mid, **conv))
        return self

    # ---- run ----------------------------------------------------------------------------------------
    def inputs(self) -> MonthInputs:
        def frame(table: str, rows: list[dict], cols: list[str]) -> pd.DataFrame:
            """The large tables in the dtypes validation gives them (cmsettle.model.FRAME_SCHEMA)."""
            return typed_frame(table, {c: [r[c] for r in rows] for c in cols})

        return MonthInputs(
            month=self.month, roster=tuple(self.roster), clients=frame("clients", self.clients, CLIENT_COLUMNS),
            assets=frame("assets", self.assets, ASSET_COLUMNS), trades=frame("trades", self.trades, TRADE_COLUMNS),
            fund_sales=frame("fund_sales", self.fund_sales, FUND_SALE_COLUMNS), attendance=tuple(self.attendance),
            management=tuple(self.management), penalties=tuple(self.penalties), referrals=tuple(self.referrals),
            deductions=tuple(self.deductions), overrides=tuple(self.overrides), history=tuple(self.history),
            opening=tuple(self.opening),
        )

    def settle(self) -> MonthResult:
        cal = WorkCalendar(dict(self.rules.calendar))
        return settle(self.inputs(), self.rules, cal, self.prior, self.retro)

    def next(self, result: MonthResult, month: str | None = None) -> "MonthBuilder":
        """A builder for the following month, starting from this result's state, same roster."""
        nb = MonthBuilder(month or str(self.month.next), prior=result.state, rules=self.rules)
        nb.roster = [replace(r) for r in self.roster]
        return nb


def line(res: MonthResult, mid: str, component: str) -> Decimal:
    return res.amount(mid, component)


def row(res: MonthResult, mid: str):  # noqa: ANN201
    return next(m for m in res.managers if m.manager_id == mid)
