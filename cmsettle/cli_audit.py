"""The audit and reliability side of the command line (issue 9): `settle audit verify`, `settle purge`,
the global options ``--log FILE`` and ``--audit FILE``, and the log file (one line per command).

Mounted on the `settle` app by ``register(app)`` (cli.py calls it); like cli_ledger.py, it does not import
cmsettle.cli at import time. The log line holds the time, user, command, month(s), exit code and duration:
never an argument's other values nor a message, so no id or bank number can reach it.
"""

from __future__ import annotations

import os
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Optional, Sequence

import typer
from typer.core import TyperGroup

from cmsettle.errors import Exit

# ---- global options and the log file ---------------------------------------------------------------

_GLOBAL: dict[str, Optional[str]] = {"log": None, "audit": None}
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_GROUPS = ("audit", "keys", "rules")
_MEANING = {0: "done", 1: "internal error", 2: "usage error", 3: "bad input", 4: "refused", 5: "not ready"}


def set_global_options(*, log: Optional[str], audit: Optional[str]) -> None:
    """Called by the app's callback with ``settle --log FILE --audit FILE COMMAND ...``."""
    if log:
        _GLOBAL["log"] = log
    if audit:
        _GLOBAL["audit"] = audit


def _configured(option: Optional[str], env: str, key: str) -> Optional[str]:
    if option:
        return option
    if os.environ.get(env):
        return os.environ[env]
    from cmsettle.cli import _config_file

    value = _config_file().get(key)
    return str(value) if value else None


def audit_file(db_url: str, option: Optional[str] = None) -> Path:
    """The audit log's JSON-lines file: ``--audit`` (here or global), CMSETTLE_AUDIT, cmsettle.toml
    ``audit``, else beside a SQLite ledger (cmsettle.db → cmsettle.audit.jsonl)."""
    from cmsettle.pipeline import default_audit_file

    given = _configured(option or _GLOBAL["audit"], "CMSETTLE_AUDIT", "audit")
    return Path(given) if given else default_audit_file(db_url)


def log_line(argv: Sequence[str], code: int, seconds: float) -> str:
    """One line: time, user, command, month(s), exit code and its meaning, duration; nothing else."""
    words: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--log", "--audit"):
            skip = True
            continue
        words.append(a)
    command: list[str] = []
    for a in words:
        if a.startswith("-"):
            break
        command.append(a)
        if len(command) == 2 or a not in _GROUPS:
            break
    months = [a for a in words if _MONTH.match(a)]
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    from cmsettle.pipeline import _login

    user = os.environ.get("USER") or _login()
    return (f"{when} user={user} command=\"{' '.join(command) or '-'}\" month={','.join(months) or '-'} "
            f"exit={code} ({_MEANING.get(code, 'other')}) duration={seconds:.2f}s pid={os.getpid()}\n")


def _write_log(path: str, line: str) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))  # one write per line: concurrent runs do not interleave
        finally:
            os.close(fd)
    except OSError as exc:
        print(f"warning: cannot write the log file {path}: {exc}", file=sys.stderr)


class LoggedGroup(TyperGroup):
    """The `settle` group: appends one line per command to the log file (``--log`` / CMSETTLE_LOG)."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        _GLOBAL.update(log=None, audit=None)
        start = time.monotonic()
        code = 0
        try:
            return super().main(args, *rest, **kwargs)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            raise
        except BaseException as exc:
            code = getattr(exc, "exit_code", Exit.INTERNAL)
            raise
        finally:
            try:
                path = _configured(_GLOBAL["log"], "CMSETTLE_LOG", "log")
            except Exception:  # noqa: BLE001  a broken cmsettle.toml is reported by the command itself
                path = None
            if path and argv and not any(a in ("--help", "--version") for a in argv):
                _write_log(path, log_line(argv, int(code), time.monotonic() - start))


# ---- commands ---------------------------------------------------------------------------------------

audit_app = typer.Typer(help="The audit log: a hash chain of every run, signature, close, reopen, purge.",
                        no_args_is_help=True)

OutOpt = Annotated[Optional[str], typer.Option("--out", help="output folder [CMSETTLE_OUT, ./out]")]
RulesOpt = Annotated[Optional[str], typer.Option("--rules",
                                                 help="rule-set folder [CMSETTLE_RULES, packaged rules/]")]
DbOpt = Annotated[Optional[str], typer.Option("--db", help="ledger URL [CMSETTLE_DB, sqlite:///./cmsettle.db]")]
AuditOpt = Annotated[Optional[str], typer.Option(
    "--audit", help="the audit log's JSON-lines file [CMSETTLE_AUDIT, <ledger>.audit.jsonl]")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable result on stdout")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="print nothing when all is well (cron)")]


def _settings(out: Optional[str], rules: Optional[str], db: Optional[str],
              audit: Optional[str]):  # noqa: ANN202
    from dataclasses import replace

    from cmsettle.cli import settings

    s = settings(None, out, rules, db)
    return replace(s, audit_file=audit_file(s.db_url, audit))


@audit_app.command("verify")
def verify(out: OutOpt = None, db: DbOpt = None, audit: AuditOpt = None, as_json: JsonOpt = False,
           quiet: QuietOpt = False) -> None:
    """Re-walk the audit chain (ledger and file), every signature and every run's output files.

    Exit 0 when all holds; exit 3 on any break, naming the first broken entry (a broken chain is bad data).
    """
    import json

    from cmsettle.audit import verify as verify_chain
    from cmsettle.cli import console, err_console, run

    s = _settings(out, None, db, audit)
    report = run(lambda: verify_chain(s))
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    elif report.ok:
        if not quiet:
            file = f" and in {report.file} ({report.file_entries})" if report.file else ""
            entries = f"{report.entries} entr{'y' if report.entries == 1 else 'ies'}"
            console.print(f"audit log intact: {entries} in the ledger{file}; {report.signatures} "
                          f"signature(s) verified; {report.runs_checked} run(s), {report.outputs_checked} "
                          "output file(s) as recorded", highlight=False)
    else:
        first = report.first
        seq = first.seq if first and first.seq is not None else "(none: see below)"
        err_console.print(f"[bold red]audit log broken:[/] {len(report.breaks)} problem(s); the first broken "
                          f"entry is {seq}", highlight=False)
        for b in report.breaks:
            err_console.print(f"  {b}", markup=False, highlight=False)
    if not report.ok:
        raise typer.Exit(Exit.BAD_INPUT)


def purge(
    before: Annotated[int, typer.Option("--before", min=1900, max=9999, show_default=False,
                                        help="delete the months of the years before YEAR", metavar="YEAR")],
    yes: Annotated[bool, typer.Option("--yes", help="really delete (without it: only list them)")] = False,
    out: OutOpt = None, rules: RulesOpt = None, db: DbOpt = None, audit: AuditOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete the months before YEAR (ledger runs and output folders) once past retention (RULEBOOK O5).

    Nothing is deleted by default; refused (exit 4) when YEAR is later than this year − retention_years.
    """
    import json

    from cmsettle.cli import console, run
    from cmsettle.retention import purge as do_purge

    s = _settings(out, rules, db, audit)
    plan = run(lambda: do_purge(s, before, yes=yes))
    if as_json:
        print(json.dumps(plan.as_dict(), ensure_ascii=False, indent=2))
        return
    if not plan.runs:
        console.print(f"nothing to purge before {before} (retention {plan.retention_years} years; the latest "
                      f"--before allowed today is {plan.latest_allowed})", highlight=False)
        return
    months = sorted({str(r.month) for r in plan.runs})
    what = (f"{len(plan.runs)} run(s) of {len(months)} month(s), {months[0]}..{months[-1]}, and "
            f"{len(plan.folders)} output folder(s)")
    if plan.deleted:
        console.print(f"purged {what}; recorded in the audit log", highlight=False)
    else:
        console.print(f"would purge {what}:", highlight=False)
        for f in plan.folders:
            console.print(f"  {f}", highlight=False)
        console.print("nothing was deleted: run again with --yes to delete them", highlight=False)


def register(app: typer.Typer) -> None:
    """Mount `audit verify` and `purge`, and make the app's group write the log file."""
    app.add_typer(audit_app, name="audit")
    app.command()(purge)
    app.info.cls = LoggedGroup
