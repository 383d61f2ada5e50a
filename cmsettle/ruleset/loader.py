"""Load dated rule sets from YAML strictly (issue 4), resolve the one in force for a month.

YAML is composed to nodes and converted by hand so that (1) numbers never pass through float
(``0.0565`` becomes ``Decimal("0.0565")``), (2) duplicate keys are errors, and (3) every key path
knows its line, so pydantic's errors can be reported as ``file:line key.path: message``, each with what
was expected. Every problem of every file is collected before anything is raised (exit 3).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import ValidationError

from cmsettle.errors import InputError, Problem
from cmsettle.months import Month
from cmsettle.ruleset.schema import RuleSet, RuleValueError, expected_at, keys_at

_INT = re.compile(r"^[-+]?[0-9]+$")
_DEC = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")

KeyPath = tuple  # e.g. ("grades", "senior", "base_rate"), ("tax", "brackets", 0, "upto")


def dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path)


@dataclass(frozen=True)
class RuleProblem(Problem):
    """A problem in a rule-set file: ``row`` is the YAML line, ``column`` the dotted key path.

    Printed as ``file:line key.path: message: got VALUE, expected WHAT``.
    """

    @property
    def line(self) -> int | None:
        return self.row

    @property
    def key_path(self) -> str | None:
        return self.column

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.key_path:
            where = f"{where} {self.key_path}" if self.line is not None else f"{where}: {self.key_path}"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f": got {self.value}"
        if self.expected:
            text += f", expected {self.expected}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "key": self.key_path, "message": self.message,
                "value": self.value, "expected": self.expected}


def _shown(value: object) -> str | None:
    """A scalar as the YAML file spells it (text quoted, so ``'0.05'`` shows it was quoted)."""
    if value is None or isinstance(value, (dict, list, tuple)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class LoadedRuleSet:
    """A validated rule set with its provenance (recorded in manifest.json and the report)."""

    rules: RuleSet
    path: Path
    sha256: str
    #: the YAML line of each key path, for messages that point back into the file
    lines: Mapping[KeyPath, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def id(self) -> str:
        return self.rules.id


class _Converter:
    def __init__(self, file: str):
        self.file = file
        self.lines: dict[tuple, int] = {}
        self.problems: list[Problem] = []

    def convert(self, node: yaml.Node, path: tuple) -> object:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            for key_node, value_node in node.value:
                key = self.scalar(key_node)
                line = key_node.start_mark.line + 1
                if key in out:
                    self.problems.append(RuleProblem(
                        self.file, "duplicate key", row=line, column=dotted((*path, key)),
                        expected=f"each key once (first given at line {self.lines[(*path, key)]})",
                    ))
                    continue
                out[key] = self.convert(value_node, (*path, key))
                self.lines[(*path, key)] = line
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    @staticmethod
    def scalar(node: yaml.Node) -> object:
        if not isinstance(node, yaml.ScalarNode):  # a mapping or list used as a key
            return f"<{node.id}>"
        text = node.value
        if node.style in ("'", '"'):
            return text
        if text in ("", "~", "null", "Null", "NULL"):
            return None
        if text in ("true", "True", "TRUE"):
            return True
        if text in ("false", "False", "FALSE"):
            return False
        if _INT.match(text):
            return int(text)
        if _DEC.match(text):
            return Decimal(text)
        if _DATE.match(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                return text
        return text


def _line_of(lines: Mapping[tuple, int], loc: tuple) -> int | None:
    """The line of a key path, else of its nearest ancestor (a missing key: the mapping that lacks it)."""
    loc = tuple(loc)
    while loc not in lines and loc:
        loc = loc[:-1]
    return lines.get(loc)


def _problems_of(file: str, exc: ValidationError, lines: Mapping[tuple, int]) -> list[RuleProblem]:
    """pydantic's errors as RuleProblems: the line, the dotted key path, the message, what was expected."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        got = err.get("input")
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, RuleValueError):  # our validators: one or more issues below loc
            for issue in error.issues:
                at = (*loc, *issue.at)
                value = issue.value if issue.value is not None else (got if not issue.at else None)
                out.append(RuleProblem(file, issue.message, row=_line_of(lines, at),
                                       column=dotted(at) or None, value=_shown(value),
                                       expected=issue.expected or expected_at(at)))
            continue
        expected = expected_at(loc)
        if loc[-1:] == ("[key]",):  # a bad key of a mapping: point at the key itself
            loc = loc[:-1]
            message = "wrong type of key"
        elif kind == "extra_forbidden":
            allowed = keys_at(loc[:-1]) or []
            near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message = "unknown key" + (f" (did you mean {near[0]}?)" if near else "")
            expected = "one of the keys " + ", ".join(allowed) if allowed else None
            got = None
        elif kind == "missing":
            message = "missing key"
            got = None
        elif kind in ("less_than_equal", "less_than", "greater_than_equal", "greater_than"):
            message = "out of range"
        elif kind.endswith(("_type", "_parsing")) or kind in ("is_instance_of", "int_from_float"):
            message = "wrong type"
        else:
            message = err["msg"].removeprefix("Value error, ")
        out.append(RuleProblem(file, message, row=_line_of(lines, loc), column=dotted(loc) or None,
                               value=_shown(got), expected=expected))
    return out


def _read(path: Path) -> tuple[RuleSet | None, str, dict[tuple, int], list[Problem]]:
    """Parse and validate one file: the rule set (or None), its sha256, its key lines, its problems."""
    file = str(path)
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    try:
        node = yaml.compose(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, sha, {}, [RuleProblem(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                           expected="a UTF-8 YAML file")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = " ".join(str(x) for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x)
        return None, sha, {}, [RuleProblem(file, f"not readable YAML: {what or exc}",
                                           row=mark.line + 1 if mark else None, expected="valid YAML")]
    if node is None:
        return None, sha, {}, [RuleProblem(file, "empty rule set",
                                           expected="a mapping with id, effective_from, ...")]
    conv = _Converter(file)
    data = conv.convert(node, ())
    problems = list(conv.problems)
    if not isinstance(data, dict):
        problems.append(RuleProblem(file, "a rule set must be a mapping", row=node.start_mark.line + 1,
                                    expected="a mapping with id, effective_from, ..."))
        return None, sha, conv.lines, problems
    try:
        rules = RuleSet.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_of(file, exc, conv.lines))
        rules = None
    problems.sort(key=lambda p: p.row or 0)
    return (None if problems else rules), sha, conv.lines, problems


def parse_ruleset(path: Path) -> LoadedRuleSet:
    """Read and validate one rule-set file; raise InputError listing every problem (exit 3)."""
    rules, sha, lines, problems = _read(path)
    if problems or rules is None:
        raise InputError(problems)
    return LoadedRuleSet(rules=rules, path=path, sha256=sha, lines=lines)


def rule_files(rules_dir: Path) -> list[Path]:
    if rules_dir.is_file():
        return [rules_dir]
    return sorted(p for p in rules_dir.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def validate(path: Path) -> tuple[list[LoadedRuleSet], list[Problem]]:
    """Every rule set of a folder (or one file), checked together: the valid ones and every problem.

    Besides each file's own problems, two rule sets of one folder may not share an effective_from.
    """
    problems: list[Problem] = []
    loaded: list[LoadedRuleSet] = []
    files = rule_files(path)
    if not files:
        return [], [Problem(str(path), "no rule set (*.yaml) found",
                            expected="a rule-set file or a folder of them")]
    for file in files:
        try:
            loaded.append(parse_ruleset(file))
        except InputError as exc:
            problems.extend(exc.problems)
    seen: dict[str, LoadedRuleSet] = {}
    for rs in loaded:
        key = rs.rules.effective_from
        if key in seen:
            problems.append(RuleProblem(
                str(rs.path), f"effective_from {key} is also used by {seen[key].path}",
                row=rs.lines.get(("effective_from",)), column="effective_from",
                expected="one rule set per effective_from month",
            ))
        else:
            seen[key] = rs
    return sorted(loaded, key=lambda r: r.rules.month), problems


def load_all(rules_dir: Path) -> list[LoadedRuleSet]:
    """Every rule set of a folder, validated together (all problems of all files at once)."""
    loaded, problems = validate(rules_dir)
    if problems:
        raise InputError(problems)
    return loaded


def in_force(loaded: list[LoadedRuleSet], month: Month, where: str) -> LoadedRuleSet:
    """The newest of ``loaded`` with effective_from <= month."""
    candidates = [r for r in loaded if r.rules.month <= month]
    if not candidates:
        raise InputError([Problem(where, f"no rule set in force for {month}",
                                  expected=f"a rule set with effective_from <= {month}")])
    return max(candidates, key=lambda r: r.rules.month)


def resolve(rules_dir: Path, month: Month) -> LoadedRuleSet:
    """The newest rule set with effective_from <= month."""
    return in_force(load_all(rules_dir), month, str(rules_dir))
