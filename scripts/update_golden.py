"""Regenerate tests/golden/: the sample months' pay_lines.csv and managers.csv, settled by `settle simulate`.

Run after a deliberate change of results, then review `git diff tests/golden` line by line before committing:
every changed figure must be explained by the change.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
MONTHS = ("2024-03", "2024-05")  # first and last sample month


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "cmsettle", "simulate", *MONTHS, "--data", str(ROOT / "sample_data"),
                        "--out", tmp, "--quiet"], check=True, cwd=ROOT)
        for month in sorted(p.name for p in Path(tmp).iterdir() if p.is_dir() and not p.name.startswith(".")):
            (GOLDEN / month).mkdir(parents=True, exist_ok=True)
            for name in ("pay_lines.csv", "managers.csv"):
                shutil.copyfile(Path(tmp) / month / name, GOLDEN / month / name)
    print(f"golden files written under {GOLDEN}")


if __name__ == "__main__":
    main()
