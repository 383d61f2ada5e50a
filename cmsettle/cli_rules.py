"""``settle rules validate | show | diff``: the rule-set commands (CLI.md), as a Typer sub-app.

Each command is a short adapter over :mod:`cmsettle.ruleset`: load, call one function, print with rich,
turn a bad rule set into every problem on stderr (``file:line key.path: message``) and exit 3.
``cmsettle.cli`` mounts it with ``app.add_typer(rules_app, name="rules")``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from cmsettle import DEFAULT_RULES_DIR
from cmsettle.errors import Exit, InputError, Problem
from cmsettle.months import Month
from cmsettle.ruleset.diff import diff as diff_rulesets
from cmsettle.ruleset.loader import LoadedRuleSet, in_force, load_all, parse_ruleset, validate
from cmsettle.ruleset.show import as_json, renderable

rules_app = typer.Typer(
    help="Check, show and compare the dated rule sets (every RULEBOOK parameter, as YAML under rules/).",
    no_args_is_help=True,
)

_MONTH = re.compile(r"^\d{4}-\d{2}$")

RulesDir = Annotated[Path, typer.Option(
    "--rules", envvar="CMSETTLE_RULES", file_okay=False,
    help="Folder of rule sets; default: the packaged rules/.", show_default=False,
)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable result on stdout.")]


def _console(stderr: bool = False) -> Console:
    """Plain lines that never wrap (one problem, one line); wide tables when not on a terminal."""
    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 160
    return console


def _print_json(data: object) -> None:
    _console().out(json.dumps(data, ensure_ascii=False, indent=2), highlight=False)


def _problem_dict(p: Problem) -> dict[str, object]:
    to_dict = getattr(p, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    return {"file": p.file, "line": p.row, "key": p.column, "message": p.message, "value": p.value,
            "expected": p.expected}


def _fail(problems: list[Problem], as_json_: bool) -> typer.Exit:
    """Every problem (stderr, or in the JSON on stdout), then exit 3 (CLI.md: bad rule set)."""
    if as_json_:
        _print_json({"ok": False, "problems": [_problem_dict(p) for p in problems]})
    else:
        err = _console(stderr=True)
        for p in problems:
            err.print(Text(str(p)))
        err.print(Text(f"{len(problems)} problem(s) in the rule set(s)",
                       style="bold red"))
    return typer.Exit(Exit.BAD_INPUT)


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _identity(rs: LoadedRuleSet) -> dict[str, object]:
    return {"file": str(rs.path), "id": rs.id, "effective_from": rs.rules.effective_from, "sha256": rs.sha256}


@rules_app.command("validate")
def validate_cmd(
    path: Annotated[Path, typer.Argument(
        exists=True, help="A rule-set file or a folder of them; default: CMSETTLE_RULES, else the packaged rules/.",
        show_default=False, envvar="CMSETTLE_RULES",
    )] = DEFAULT_RULES_DIR,
    json_: JsonFlag = False,
) -> None:
    """Check rule sets: types, ranges, cross-field rules, one per effective_from. Exit 3 on problems."""
    loaded, problems = validate(path)
    bad_files = {p.file for p in problems}
    ok = [rs for rs in loaded if str(rs.path) not in bad_files]
    if json_:
        _print_json({"ok": not problems, "files": [_identity(rs) for rs in ok],
                     "problems": [_problem_dict(p) for p in problems]})
        if problems:
            raise typer.Exit(Exit.BAD_INPUT)
        return
    out = _console()
    for rs in ok:
        out.print(Text(f"OK {rs.path}: {rs.id}, effective_from {rs.rules.effective_from}, "
                       f"sha256 {rs.sha256}"))
    if problems:
        raise _fail(problems, as_json_=False)


@rules_app.command("show")
def show_cmd(
    month: Annotated[str, typer.Argument(metavar="YYYY-MM", help="The month whose rule set to show.")],
    rules: RulesDir = DEFAULT_RULES_DIR,
    json_: JsonFlag = False,
) -> None:
    """Print the rule set in force for a month: id, file, sha256, grades (§9), every section."""
    m = _month(month)
    try:
        rs = in_force(load_all(rules), m, str(rules))
    except InputError as exc:
        raise _fail(exc.problems, json_) from None
    if json_:
        _print_json(as_json(rs, m))
    else:
        _console().print(renderable(rs, m))


def _load_side(arg: str, rules: Path, folder: list[LoadedRuleSet]) -> LoadedRuleSet:
    """A rule-set file, or a month whose rule set in force comes from ``--rules`` (loaded once)."""
    path = Path(arg)
    if path.is_file():
        return parse_ruleset(path)
    if _MONTH.match(arg):
        m = _month(arg)
        if not folder:
            folder.extend(load_all(rules))
        return in_force(folder, m, str(rules))
    raise typer.BadParameter(f"{arg!r} is neither a rule-set file nor a month YYYY-MM")


_SIDE_HELP = "A rule-set file, or a month YYYY-MM (its rule set in force under --rules)."


@rules_app.command("diff")
def diff_cmd(
    a: Annotated[str, typer.Argument(metavar="A", help=_SIDE_HELP)],
    b: Annotated[str, typer.Argument(metavar="B", help=_SIDE_HELP)],
    rules: RulesDir = DEFAULT_RULES_DIR,
    json_: JsonFlag = False,
) -> None:
    """List each parameter that differs from A to B: key path, old → new, RULEBOOK id."""
    folder: list[LoadedRuleSet] = []
    problems: list[Problem] = []
    sides = []
    for arg in (a, b):
        try:
            sides.append(_load_side(arg, rules, folder))
        except InputError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
    if problems:
        raise _fail(problems, json_)
    ra, rb = sides
    changes = diff_rulesets(ra.rules, rb.rules)
    if json_:
        _print_json({"a": _identity(ra), "b": _identity(rb), "changes": [c.to_dict() for c in changes]})
        return
    out = _console()
    for label, rs in (("A", ra), ("B", rb)):
        out.print(Text(f"{label}: {rs.id} (effective_from {rs.rules.effective_from}) {rs.path} "
                       f"sha256 {rs.sha256}"))
    if not changes:
        out.print(Text("no parameter differs"))
        return
    out.print(Text(f"{len(changes)} parameter(s) differ:", style="bold"))
    for c in changes:
        out.print(Text(f"  {c}"))
