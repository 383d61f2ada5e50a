"""The `settle` command line (../shared/spec/CLI.md): thin adapters over cmsettle.pipeline.

Each command parses options, calls one core function, prints with rich and maps errors to the exit
codes of CLI.md: 0 done, 1 internal error, 2 usage, 3 bad input or rule set, 4 refused, 5 not ready.
"""

from __future__ import annotations

import gc
import json
import os
import re
import sys
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Callable, Iterator, NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table

from cmsettle import DEFAULT_RULES_DIR, __version__
from cmsettle.console import config_file, setting
from cmsettle.errors import CmsettleError, Exit, InputError, db_url_problem
from cmsettle.months import Month

app = typer.Typer(help="cmsettle: month-end pay settlement for account managers (客户经理).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True)

try:  # the rule-set commands (issue 4) live in their own module
    from cmsettle.cli_rules import rules_app

    app.add_typer(rules_app, name="rules")
except ImportError:  # pragma: no cover
    pass


_config_file, _setting = config_file, setting  # (cmsettle.console: the console script looks them up too)


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


DataOpt = Annotated[Optional[str], typer.Option("--data", help="input folder with one sub-folder per month [CMSETTLE_DATA, ./data]")]
OutOpt = Annotated[Optional[str], typer.Option("--out", help="output folder [CMSETTLE_OUT, ./out]")]
RulesOpt = Annotated[Optional[str], typer.Option("--rules", help="rule-set folder [CMSETTLE_RULES, packaged rules/]")]
DbOpt = Annotated[Optional[str], typer.Option("--db", help="ledger URL [CMSETTLE_DB, sqlite:///./cmsettle.db]")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable result on stdout")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="no progress display (cron)")]


_URL_START = re.compile(r"[\w+]+://")  # dialect[+driver]:// as SQLAlchemy's URLs begin; SQLAlchemy itself is
# imported only once the month's files are being read (cmsettle.pipeline)


def settings(data: Optional[str], out: Optional[str], rules: Optional[str], db: Optional[str]):  # noqa: ANN201
    from cmsettle.pipeline import Settings

    db_url = _setting(db, "CMSETTLE_DB", "db", "sqlite:///./cmsettle.db")
    if not _URL_START.match(db_url):  # the rest of the URL is checked when the ledger is opened (exit 2 too)
        raise typer.BadParameter(db_url_problem(db_url), param_hint="--db")
    from cmsettle.cli_audit import audit_file

    return Settings(
        data_dir=Path(_setting(data, "CMSETTLE_DATA", "data", "./data")),
        out_dir=Path(_setting(out, "CMSETTLE_OUT", "out", "./out")),
        rules_dir=Path(_setting(rules, "CMSETTLE_RULES", "rules", str(DEFAULT_RULES_DIR))),
        db_url=db_url,
        audit_file=audit_file(db_url),
    )


def run(action: Callable[[], object]) -> object:
    """Call the core; turn its errors into a message and the exit code of CLI.md."""
    try:
        return action()
    except InputError as exc:
        err_console.print(f"[bold red]{len(exc.problems)} problem(s) in the input; nothing was written:[/]")
        for p in exc.problems:
            err_console.print(f"  {p}", markup=False, highlight=False)
        raise typer.Exit(Exit.BAD_INPUT) from None
    except CmsettleError as exc:
        label = {Exit.REFUSED: "refused", Exit.NOT_READY: "not ready"}.get(exc.exit_code, "error")
        err_console.print(f"[bold red]{label}:[/] {exc}", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except (typer.Exit, typer.Abort, typer.BadParameter):
        raise
    except Exception as exc:  # a bug: say so, keep the traceback out of the clerk's way
        err_console.print(f"[bold red]internal error (a bug, please report it):[/] {type(exc).__name__}: {exc}")
        if os.environ.get("CMSETTLE_DEBUG"):
            raise
        raise typer.Exit(Exit.INTERNAL) from None


def _money(d: Decimal) -> str:
    return f"{d:,.2f}"


STAGE_TEXT = {"rules": "resolving the rule set", "ledger": "reading the ledger", "inputs": "reading the inputs",
              "compute": "computing pay", "outputs": "rendering the report and payslips", "save": "saving the ledger"}


@contextmanager
def _progress(enabled: bool, what: str) -> Iterator[Optional[Callable[[str], None]]]:
    """A progress bar over the run's stages (pipeline.STAGES) on stderr, gone when done; None when off."""
    if not enabled:
        yield None
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn)

    from cmsettle.pipeline import STAGES

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(what, total=len(STAGES))
        yield lambda stage: bar.update(task, completed=STAGES.index(stage),
                                       description=f"{what}: {STAGE_TEXT.get(stage, stage)}")


def _summary(outcome, *, as_json: bool, quiet: bool) -> None:  # noqa: ANN001
    res = outcome.result
    totals = {c: sum((ln.amount for ln in res.lines if ln.component == c), Decimal(0))
              for c in ("gross_pay", "income_tax", "net_pay")}
    flags: dict[str, int] = {}
    for m in res.managers:
        for f in m.flags:
            flags[f] = flags.get(f, 0) + 1
    if as_json:
        print(json.dumps({
            "month": str(outcome.month), "dry_run": outcome.dry_run, "revision": outcome.revision,
            "run_id": outcome.run_id, "people": len(res.managers), "rule_set": outcome.rule_set.id,
            "rule_set_sha256": outcome.rule_set.sha256, "totals": {k: f"{v:.2f}" for k, v in totals.items()},
            "flags": flags, "out_dir": str(outcome.out_dir) if outcome.out_dir else None,
            "outputs": outcome.outputs, "warnings": list(res.warnings), "pay_day": outcome.pay_day,
            "status": outcome.status,
        }, ensure_ascii=False, indent=2))
        return
    if quiet:
        return
    for w in res.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    state = "(dry run, nothing written)" if outcome.dry_run else outcome.status
    t = Table(title=f"{outcome.month} {state}")
    t.add_column("people", justify="right")
    t.add_column("gross", justify="right")
    t.add_column("income tax", justify="right")
    t.add_column("net", justify="right")
    t.add_column("flags")
    t.add_row(str(len(res.managers)), _money(totals["gross_pay"]), _money(-totals["income_tax"]),
              _money(totals["net_pay"]), "\n".join(f"{k} {v}" for k, v in sorted(flags.items())) or "-")
    console.print(t)
    console.print(f"rule set {outcome.rule_set.id} ({outcome.rule_set.sha256[:12]}), pay day {outcome.pay_day}")
    if outcome.out_dir:
        slips = sum(1 for n in outcome.outputs if n.startswith("payslips/") and n.endswith(".html"))
        console.print(f"outputs: [bold]{outcome.out_dir}[/]  (pay_report.xlsx, {slips} payslips in payslips/, "
                      f"bank_transfer.csv{' DRAFT' if outcome.status == 'draft' else ''}, pay_lines.csv, "
                      "managers.csv, manifest.json)", highlight=False)


def _grade_table(outcome) -> Table:  # noqa: ANN001
    t = Table(title=f"grades at the close of {outcome.month} (in effect from {outcome.month.next})")
    for c in ("manager", "name", "position", "in effect", "proposed", "rule", "A3", "score", "flags", "why"):
        t.add_column(c, overflow="fold")
    for m in outcome.result.managers:
        if m.refund_only:
            continue
        change = "" if m.grade_next == m.grade_in_effect else "bold"
        t.add_row(m.manager_id, m.name, m.position, m.grade_in_effect, f"[{change}]{m.grade_next}[/]" if change
                  else m.grade_next, m.grade_rule or "-", _money(m.a3), f"{m.score_raw:.4f}", ";".join(m.flags),
                  m.grade_reason)
    return t


@app.command()
def month(
    month: Annotated[str, typer.Argument(help="the month to settle, YYYY-MM")],
    data: DataOpt = None, out: OutOpt = None, rules: RulesOpt = None, db: DbOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="compute and show everything, write nothing anywhere")] = False,
    as_json: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Settle a month: validate inputs, compute, write the draft outputs and record the run."""
    from cmsettle.pipeline import settle_month

    m = _month(month)
    with _progress(not (quiet or as_json), f"settle {m}") as step:
        outcome = run(lambda: settle_month(m, settings(data, out, rules, db), dry_run=dry_run, progress=step))
    if dry_run and not as_json and not quiet:
        console.print(_grade_table(outcome))
    _summary(outcome, as_json=as_json, quiet=quiet)


@app.command()
def grades(
    month: Annotated[str, typer.Argument(help="the month whose close decides the grades, YYYY-MM")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="preview only (the only mode: writes nothing)")] = True,
    data: DataOpt = None, rules: RulesOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """HR preview (G8): grade in effect → proposed grade, the rule that fired and its figures."""
    from cmsettle.pipeline import settle_month

    m = _month(month)
    outcome = run(lambda: settle_month(m, settings(data, None, rules, db), dry_run=True))
    if as_json:
        print(json.dumps([{
            "manager_id": x.manager_id, "name": x.name, "grade_in_effect": x.grade_in_effect,
            "grade_next": x.grade_next, "grade_rule": x.grade_rule, "a3": f"{x.a3:.2f}",
            "score_raw": f"{x.score_raw:.4f}", "flags": list(x.flags), "reason": x.grade_reason,
        } for x in outcome.result.managers if not x.refund_only], ensure_ascii=False, indent=2))
        return
    console.print(_grade_table(outcome))
    changes = [x for x in outcome.result.managers if x.grade_next != x.grade_in_effect and not x.refund_only]
    console.print(f"{len(changes)} grade change(s) of {len(outcome.result.managers)} people; nothing was written.")


@app.command()
def explain(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    manager_id: Annotated[str, typer.Argument(help="the manager's id (工号)")],
    data: DataOpt = None, rules: RulesOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Every pay line of one person with its rule id and the formula with its figures."""
    from cmsettle.explain import explain_person

    m = _month(month)
    info = run(lambda: explain_person(m, manager_id, settings(data, None, rules, db)))
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]{info['manager_id']} {info['name']}[/] {info['month']} ({info['source']})")
    console.print(f"grade {info['grade_in_effect']} → {info['grade_next']} {info['grade_rule'] or ''}: "
                  f"{info['grade_reason']}", highlight=False)
    if info.get("score_detail"):
        console.print(info["score_detail"], highlight=False)
    t = Table()
    for c in ("component", "amount", "rule", "how"):
        t.add_column(c, overflow="fold", justify="right" if c == "amount" else "left")
    for ln in info["lines"]:
        t.add_row(ln["component"], ln["amount"], ln["rule"], ln["detail"])
    console.print(t)


@app.command()
def simulate(
    first: Annotated[str, typer.Argument(help="first month, YYYY-MM")],
    last: Annotated[str, typer.Argument(help="last month, YYYY-MM")],
    data: DataOpt = None, out: OutOpt = None, rules: RulesOpt = None,
    compare_with: Annotated[Optional[str], typer.Option("--compare-with", help="another run's output folder")] = None,
    as_json: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Settle FIRST..LAST in order in a scratch ledger and write each month's outputs under --out."""
    from cmsettle.simulate import compare_runs, simulate_months

    a, b = _month(first), _month(last)
    if b < a:
        raise typer.BadParameter(f"LAST {b} is before FIRST {a}")
    s = settings(data, out, rules, None)
    outcomes = run(lambda: simulate_months(a, b, s))
    if not as_json and not quiet:
        for o in outcomes:
            _summary(o, as_json=False, quiet=False)
    report = None
    if compare_with:
        report = run(lambda: compare_runs(s.out_dir, Path(compare_with), a, b))
        if not as_json:
            console.print(report.table())
    if as_json:
        print(json.dumps({"months": [str(o.month) for o in outcomes], "out_dir": str(s.out_dir),
                          "compare": report.as_dict() if report else None}, ensure_ascii=False, indent=2))


try:  # sign-off, keys, reopen (issue 7) register their commands here
    from cmsettle.cli_ledger import register as _register_ledger

    _register_ledger(app)
except ImportError:  # pragma: no cover
    pass

from cmsettle.cli_audit import register as _register_audit  # noqa: E402  audit verify, purge, the log file

_register_audit(app)


def _version(value: bool) -> None:
    if value:
        print(f"cmsettle {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print the version")] = False,
          log: Annotated[Optional[str], typer.Option("--log", help="append one line per command to FILE "
                                                     "[CMSETTLE_LOG]", metavar="FILE")] = None,
          audit: Annotated[Optional[str], typer.Option("--audit", help="the audit log's JSON-lines file "
                                                       "[CMSETTLE_AUDIT, <ledger>.audit.jsonl]", metavar="FILE")] = None,
          ) -> None:
    """cmsettle: month-end pay settlement for account managers (客户经理)."""
    from cmsettle.cli_audit import set_global_options

    set_global_options(log=log, audit=audit)


def main() -> None:
    """The console script (and ``python -m cmsettle``): run the command, then leave at once.

    The cycle collector stays off: a command is one short batch whose objects live to its end, and switched
    back on after a month was settled, its first collection would walk all of them (0.15 s at 1M trades).
    A command settling several months collects between them (cmsettle.simulate)."""
    gc.disable()
    try:
        app()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:  # pragma: no cover
        code = 130
    leave(code)


def leave(code: object) -> NoReturn:
    """End the process without tearing the interpreter down. A month of millions of rows leaves large
    objects behind whose freeing, and the final cycle collection, take a tenth of a second to seconds;
    by now every file, database connection and lock has been closed by its ``with`` block and the log
    line is written, so nothing is lost. Standard streams are flushed first."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more to say
            pass
    os._exit(code)
