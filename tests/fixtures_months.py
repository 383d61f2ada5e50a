"""Write tiny month folders (DATA.md, canonical English headers) for CLI and life-cycle tests.

    data = tmp_path / "data"
    write_month(data, "2024-04", opening=True)           # first ledger month: opening balances too
    write_month(data, "2024-05", extra_trades=[...])      # a later month (opening/history would be ignored)

Three marketers under one station manager, each with a client or two and a few trades, so every month
has non-zero net pay for everybody. ``extra_trades`` changes one month's inputs (e.g. before re-settling a
reopened month) so that net pay moves.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from cmsettle.months import Month

ROSTER = [
    ["manager_id", "name", "position", "hire_date", "supervisor_id", "grade", "bank_account"],
    ["1001", "张三", "marketer", "2022-01-10", "2001", "manager", "6222020000000001001"],
    ["1002", "李四", "marketer", "2021-06-01", "2001", "senior", "6222020000000001002"],
    ["1003", "王五", "marketer", "2023-03-15", "2001", "assistant", "6222020000000001003"],
    ["2001", "赵六", "station_manager", "2019-02-01", "", "senior", "6222020000000002001"],
]

CLIENTS = [
    ["client_id", "manager_id", "open_date", "kind", "status"],
    ["C1", "1001", "2023-02-01", "individual", "normal"],
    ["C2", "1001", "2023-05-01", "individual", "normal"],
    ["C3", "1002", "2022-09-01", "individual", "normal"],
    ["C4", "1003", "2023-04-01", "individual", "normal"],
]

ASSETS = [
    ["client_id", "avg_assets", "end_assets", "equity_assets"],
    ["C1", "800000", "820000", "300000"],
    ["C2", "400000", "410000", "100000"],
    ["C3", "1500000", "1520000", "600000"],
    ["C4", "250000", "260000", "50000"],
]

OPENING = [
    ["manager_id", "risk_fund_balance", "excess_carry", "ytd_taxable", "ytd_tax", "ytd_months"],
    ["1001", "1000", "0", "0", "0", "0"],
    ["1002", "2000", "0", "0", "0", "0"],
]



def _history(month: Month) -> list[list[str]]:
    """Two earlier months of metrics for 1001 (far larger books than now), so A3 shows they were read."""
    rows = [["month", "manager_id", "grade", "avg_assets", "ea", "nmv", "score_raw"]]
    for back in (2, 1):
        rows.append([str(month.add(-back)), "1001", "manager", "3000000", "6", "400000", "1.0"])
    return rows


def _trades(month: Month) -> list[list[str]]:
    day = lambda d: f"{month}-{d:02d}"  # noqa: E731
    return [
        ["trade_date", "client_id", "product", "side", "turnover", "commission_rate"],
        [day(3), "C1", "stock", "buy", "2000000", "0.0003"],
        [day(10), "C2", "stock", "sell", "1000000", "0.0003"],
        [day(12), "C3", "stock", "buy", "5000000", "0.00025"],
        [day(17), "C4", "fund_open", "buy", "300000", "0.001"],
    ]


def csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def write_month(data: Path, month: str | Month, *, opening: bool = False, history: bool = False,
                extra_trades: list[list[str]] | None = None) -> Path:
    """Write ``<data>/<month>/`` and return the folder. ``opening``/``history``: add those first-ledger-month
    tables; ``extra_trades``: rows [day, client, product, side, turnover, rate] appended to the trades (day
    as a number within the month)."""
    m = Month.parse(str(month))
    folder = Path(data) / str(m)
    folder.mkdir(parents=True, exist_ok=True)
    trades = _trades(m) + [[f"{m}-{int(r[0]):02d}", *r[1:]] for r in (extra_trades or [])]
    tables = {"roster": ROSTER, "clients": CLIENTS, "assets": ASSETS, "trades": trades}
    if opening:
        tables["opening"] = OPENING
    if history:
        tables["history"] = _history(m)
    for name, rows in tables.items():
        (folder / f"{name}.csv").write_bytes(csv_bytes(rows))
    return folder
