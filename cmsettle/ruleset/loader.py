"""Load dated rule sets from YAML strictly (issue 4), resolve the one in force for a month.

YAML is composed to nodes and converted by hand so that (1) numbers never pass through float
(``0.0565`` becomes ``Decimal("0.0565")``), (2) duplicate keys are errors, and (3) every key path
knows its line, so pydantic's errors can be reported as ``file:line key.path: message``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import ValidationError

from cmsettle.errors import InputError, Problem
from cmsettle.months import Month
from cmsettle.ruleset.schema import RuleSet

_INT = re.compile(r"^[-+]?[0-9]+$")
_DEC = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True)
class LoadedRuleSet:
    """A validated rule set with its provenance (recorded in manifest.json and the report)."""

    rules: RuleSet
    path: Path
    sha256: str

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
                if key in out:
                    self.problems.append(Problem(
                        self.file, f"line {key_node.start_mark.line + 1}: duplicate key "
                        f"'{'.'.join(map(str, (*path, key)))}'", expected="each key once",
                    ))
                    continue
                out[key] = self.convert(value_node, (*path, key))
                self.lines[(*path, key)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    @staticmethod
    def scalar(node: yaml.Node) -> object:
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


def _line_of(lines: dict[tuple, int], loc: tuple) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def parse_ruleset(path: Path) -> LoadedRuleSet:
    """Read and validate one rule-set file; raise InputError listing every problem (exit 3)."""
    file = str(path)
    raw = path.read_bytes()
    try:
        node = yaml.compose(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError([Problem(file, f"not readable YAML: {exc}")]) from None
    if node is None:
        raise InputError([Problem(file, "empty rule set", expected="a mapping with id, effective_from, ...")])
    conv = _Converter(file)
    data = conv.convert(node, ())
    problems = list(conv.problems)
    if not isinstance(data, dict):
        raise InputError([*problems, Problem(file, "a rule set must be a mapping")])
    try:
        rules = RuleSet.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            key_path = ".".join(str(p) for p in loc) or "(top)"
            line = _line_of(conv.lines, loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            got = err.get("input")
            problems.append(Problem(
                file, f"line {line}: {key_path}: {msg}" if line else f"{key_path}: {msg}",
                value=None if isinstance(got, (dict, list)) or got is None else str(got),
            ))
        raise InputError(problems) from None
    if problems:
        raise InputError(problems)
    return LoadedRuleSet(rules=rules, path=path, sha256=hashlib.sha256(raw).hexdigest())


def rule_files(rules_dir: Path) -> list[Path]:
    if rules_dir.is_file():
        return [rules_dir]
    return sorted(p for p in rules_dir.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def load_all(rules_dir: Path) -> list[LoadedRuleSet]:
    """Every rule set of a folder, validated together (all problems of all files at once)."""
    problems: list[Problem] = []
    loaded: list[LoadedRuleSet] = []
    files = rule_files(rules_dir)
    if not files:
        raise InputError([Problem(str(rules_dir), "no rule set (*.yaml) found")])
    for path in files:
        try:
            loaded.append(parse_ruleset(path))
        except InputError as exc:
            problems.extend(exc.problems)
    seen: dict[str, Path] = {}
    for rs in loaded:
        key = rs.rules.effective_from
        if key in seen:
            problems.append(Problem(str(rs.path), f"effective_from {key} is also used by {seen[key]}",
                                    expected="one rule set per effective_from month"))
        seen[key] = rs.path
    if problems:
        raise InputError(problems)
    return sorted(loaded, key=lambda r: r.rules.month)


def resolve(rules_dir: Path, month: Month) -> LoadedRuleSet:
    """The newest rule set with effective_from <= month."""
    candidates = [r for r in load_all(rules_dir) if r.rules.month <= month]
    if not candidates:
        raise InputError([Problem(str(rules_dir), f"no rule set in force for {month}",
                                  expected=f"a rule set with effective_from <= {month}")])
    return candidates[-1]
