"""`make demo`: settle the sample months in order, the way a finance clerk does it.

For each month: `settle month` writes the draft, then the three sign-offs of RULEBOOK O1 close it
(chief accountant → deputy manager → branch manager), so the next month may follow (O3).
Everything lands in demo_out/: the ledger (SQLite), the signers' keys and one folder per month.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "demo_out"
MONTHS = ["2024-03", "2024-04", "2024-05"]
SIGNERS = [("chief_accountant", "wang.kuaiji"), ("deputy_manager", "li.fujingli"), ("branch_manager", "zhang.jingli")]


def settle(*args: str) -> None:
    cmd = [sys.executable, "-m", "cmsettle", *args]
    print("$ settle " + " ".join(args), flush=True)
    done = subprocess.run(cmd, cwd=ROOT, env=ENV)
    if done.returncode != 0:
        sys.exit(f"demo stopped: `settle {' '.join(args)}` exited {done.returncode}")


ENV = {
    **os.environ,
    "CMSETTLE_DATA": str(ROOT / "sample_data"),
    "CMSETTLE_OUT": str(OUT / "out"),
    "CMSETTLE_DB": f"sqlite:///{OUT / 'cmsettle.db'}",
    "CMSETTLE_KEYS": str(OUT / "keys"),
}


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    for _, signer in SIGNERS:
        settle("keys", "create", signer)
    for month in MONTHS:
        settle("month", month)
        for role, signer in SIGNERS:
            settle("sign", month, "--role", role, "--signer", signer)
    settle("status")
    print(f"\nThe sample months are settled and closed. Outputs: {OUT / 'out'}/<month>/")
    print(f"  pay report: {OUT / 'out' / MONTHS[-1] / 'pay_report.xlsx'}")
    print(f"  pay lines:  {OUT / 'out' / MONTHS[-1] / 'pay_lines.csv'}")
    print(f"  ledger:     {OUT / 'cmsettle.db'}")
    print(f"Try: .venv/bin/settle explain {MONTHS[-1]} <manager_id> --db sqlite:///{OUT / 'cmsettle.db'}")


if __name__ == "__main__":
    main()
