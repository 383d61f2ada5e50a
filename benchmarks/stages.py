#!/usr/bin/env python3
"""Where the time of a `settle month` run goes, stage by stage, in one process (wall and CPU seconds).

    python benchmarks/stages.py benchmarks/.data/1000000/2024-05 [--skip payslips]

The same library calls as cmsettle.pipeline.settle_month, timed one by one: reading and validating the
inputs, computing the month, rendering each output, and last the whole settle_month (into a temporary
folder and a fresh SQLite ledger) whose remainder is the ledger transaction, the audit entry and the
writing of the files. `make bench` gives the whole-process figures; this says which stage to look at.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cmsettle import DEFAULT_RULES_DIR  # noqa: E402
from cmsettle import pipeline  # noqa: E402
from cmsettle.compute.settle import settle  # noqa: E402
from cmsettle.compute.state import LedgerState  # noqa: E402
from cmsettle.inputs import load_month  # noqa: E402
from cmsettle.months import Month  # noqa: E402
from cmsettle.outputs import tables as out  # noqa: E402
from cmsettle.outputs.payslip import payslips  # noqa: E402
from cmsettle.outputs.report import pay_report  # noqa: E402
from cmsettle.ruleset.loader import resolve  # noqa: E402
from cmsettle.workdays import WorkCalendar  # noqa: E402

ROWS: list[tuple[str, float, float]] = []


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextmanager
def stage(name: str) -> Iterator[None]:
    re.purge()  # each stage compiles its own patterns, as in a fresh process
    w, c = time.perf_counter(), _cpu()
    yield
    ROWS.append((name, time.perf_counter() - w, _cpu() - c))
    print(f"  {name:34s} {ROWS[-1][1]:7.2f} s wall {ROWS[-1][2]:7.2f} s cpu", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="a month folder, e.g. benchmarks/.data/1000000/2024-05")
    ap.add_argument("--skip", action="append", default=[], choices=["report", "payslips", "whole"],
                    help="leave a stage out (repeatable)")
    a = ap.parse_args(argv)
    month = Month.parse(a.folder.name)
    data = a.folder.parent
    with stage("rules"):
        rule_set = resolve(Path(DEFAULT_RULES_DIR), month)
        cal = WorkCalendar(dict(rule_set.rules.calendar))
    with stage("read and validate (load_month)"):
        inputs = load_month(data, month, rule_set.rules, first_ledger_month=True)
    with stage("compute (settle)"):
        result = settle(inputs, rule_set.rules, cal, LedgerState(), {})
    with stage("pay_lines, managers, bank csv"):
        out.pay_lines_csv(result)
        out.managers_csv(result)
        out.bank_csv(result, final=False)
    if "report" not in a.skip:
        with stage("pay_report.xlsx"):
            pay_report(result, rule_set, inputs.files, run_id="x", revision=1, status="draft", pay_day="x")
    if "payslips" not in a.skip:
        with stage(f"payslips ({len(result.managers):,})"):
            payslips(result, rule_set, run_id="x", pay_day="x")
    if "whole" not in a.skip:
        with tempfile.TemporaryDirectory(prefix="cmsettle-stages-") as tmp:
            settings = pipeline.Settings(data_dir=data, out_dir=Path(tmp) / "out", rules_dir=Path(DEFAULT_RULES_DIR),
                                         db_url=f"sqlite:///{Path(tmp) / 'ledger.db'}")
            with stage("whole settle_month"):
                pipeline.settle_month(month, settings)
        whole = ROWS[-1]
        parts = [r for r in ROWS[1:-1]]
        print(f"  {'ledger, audit, files (the rest)':34s} {whole[1] - sum(r[1] for r in parts):7.2f} s wall")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
