#!/usr/bin/env python3
r"""Generate realistic branch data (DATA.md month folders) with the deterministic generator cmsettle.synth.

    python scripts/gen_sample.py --out sample_data
    python scripts/gen_sample.py --out /tmp/bench --managers 5000 --clients 1000000 --trades 10000000 \
        --no-readme

Same arguments, same bytes. The defaults make the committed sample_data/ (with its README.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cmsettle.synth import generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--out", required=True, type=Path, help="folder that receives one <YYYY-MM>/ folder per month"
    )
    ap.add_argument("--seed", type=int, default=2024, help="random seed (default 2024)")
    ap.add_argument(
        "--managers",
        type=int,
        default=34,
        help="people on the first month's roster, at least 34 (default 34)",
    )
    ap.add_argument(
        "--clients", type=int, default=1500, help="clients at the end of the first month (default 1500)"
    )
    ap.add_argument("--trades", type=int, default=30_000, help="random trades per month (default 30000)")
    ap.add_argument(
        "--months",
        default="2024-03,2024-04,2024-05",
        help="consecutive months, comma-separated (default 2024-03,2024-04,2024-05)",
    )
    ap.add_argument(
        "--plain-amounts", action="store_true", help="write the trades' turnover without thousands separators"
    )
    ap.add_argument("--no-readme", action="store_true", help="do not write <out>/README.md")
    a = ap.parse_args(argv)
    months = [m.strip() for m in a.months.split(",") if m.strip()]
    t0 = time.perf_counter()
    try:
        summary = generate(
            a.out,
            months,
            seed=a.seed,
            managers=a.managers,
            clients=a.clients,
            trades_per_month=a.trades,
            thousands=not a.plain_amounts,
            readme=not a.no_readme,
        )
    except ValueError as exc:
        print(f"gen_sample: {exc}", file=sys.stderr)
        return 2
    for m, rows in summary.rows.items():
        print(f"{a.out}/{m}: " + ", ".join(f"{k} {n:,}" for k, n in rows.items()))
    print(f"done in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
