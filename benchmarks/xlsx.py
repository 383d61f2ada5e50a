#!/usr/bin/env python3
"""Reading a trades export of a million rows as .xlsx (python-calamine), timed as a whole process.

    python benchmarks/xlsx.py [--trades 1000000]

Takes the generated month of benchmarks/.data/<trades>/ (made by bench.py), writes its trades as
trades.xlsx (first sheet; dates as date cells, amounts and rates as numbers, as a CRM export has them) into
benchmarks/.data/<trades>-xlsx/ once, then times a process that reads and validates that month
(cmsettle.inputs.load_month: every table, the trades from the workbook) and prints wall seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402

READ = """
import sys
from pathlib import Path
from cmsettle import DEFAULT_RULES_DIR
from cmsettle.inputs import load_month
from cmsettle.months import Month
from cmsettle.ruleset.loader import resolve
month = Month.parse(sys.argv[2])
inputs = load_month(Path(sys.argv[1]), month, resolve(Path(DEFAULT_RULES_DIR), month).rules, first_ledger_month=True)
trades = next(f for f in inputs.files if f.table == "trades")
print(f"{trades.path}: {len(inputs.trades):,} trades read and validated")
"""


def xlsx_month(trades: int) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pv
    from openpyxl import Workbook

    src = bench.month_folder(trades)
    dst = bench.DATA / f"{trades}-xlsx" / bench.MONTH
    stamp = dst.parent / "stamp.txt"
    key = (src.parent / "stamp.json").read_text()
    if stamp.exists() and stamp.read_text() == key:
        return dst
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        if p.name != "trades.csv":
            (dst / p.name).write_bytes(p.read_bytes())
    print(f"writing {dst / 'trades.xlsx'} ...", flush=True)
    t0 = time.perf_counter()
    table = pv.read_csv(src / "trades.csv", convert_options=pv.ConvertOptions(column_types={"客户号": pa.string()}))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("成交明细")
    ws.append(table.column_names)
    for day, *rest in zip(*(table.column(i).to_pylist() for i in range(table.num_columns))):
        ws.append([datetime.datetime(day.year, day.month, day.day), *rest])
    wb.save(dst / "trades.xlsx")
    print(f"  {(dst / 'trades.xlsx').stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.0f}s", flush=True)
    stamp.write_text(key)
    return dst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS") or 3))
    a = ap.parse_args(argv)
    folder = xlsx_month(a.trades)
    cmd = [sys.executable, "-c", READ, str(folder.parent), bench.MONTH]
    print(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip())  # warm-up
    runs = [bench.run(cmd, folder) for _ in range(a.runs)]
    for k, r in enumerate(runs, 1):
        print(f"  run {k}: {r.wall:6.2f}s {bench.gib(r.peak)}")
    walls = sorted(r.wall for r in runs)
    print(f"xlsx read: {walls[len(walls) // 2]:.2f} s wall (median), peak RSS {bench.gib(max(r.peak for r in runs))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
