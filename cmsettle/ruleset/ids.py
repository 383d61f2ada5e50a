"""Which RULEBOOK rule each rule-set parameter belongs to, read from the comments of the YAML files.

The packaged rule set comments every parameter with its RULEBOOK id(s) and Chinese term::

    revenue_tax_rate: 0.0565         # M5 营业税率及附加
    effective_threshold: 5000        # M3/D8 有效户标准: buy turnover ...
    grades:                          # G1 + §9 业务职级 (ordered low to high)

That comment is the single source: this module reads it instead of keeping a second copy as data.
Comments are found with the YAML scanner (the text after the last token of a line), so a ``#`` inside
a quoted value is never taken for one. A comment belongs to the first key on its line (for
``weights: {ea: 0.4, ...}  # M6 ...`` that is ``weights``).

A key path without ids of its own takes them from the same key of another grade or table row
(``grades.*.threshold``: only the trainee row is commented), else from its nearest ancestor
(``tax.brackets.3.rate`` → ``tax.brackets`` → TX2).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from cmsettle import DEFAULT_RULES_DIR
from cmsettle.ruleset.loader import KeyPath, _Converter, dotted, rule_files

_ID = r"(?:[A-Z]{1,2}\d+|§\d+)"
_LEADING_IDS = re.compile(rf"^({_ID}(?:\s*[/+,]\s*{_ID})*)(?:\s+|$|:)(.*)$")
_ONE_ID = re.compile(_ID)

#: keys whose children are rows of a table: the rows share their ids (``grades.*.base_rate``)
_TABLES = ("grades",)


@dataclass(frozen=True)
class Ref:
    """The RULEBOOK ids of a key and the rest of its comment (the Chinese term and remarks)."""

    ids: tuple[str, ...]
    note: str


def parse_comment(comment: str) -> Ref:
    """``"# M3/D8 有效户标准: ..."`` → Ref(("M3", "D8"), "有效户标准: ..."); no leading id → no ids."""
    text = comment.lstrip("#").strip()
    m = _LEADING_IDS.match(text)
    if not m:
        return Ref((), text)
    return Ref(tuple(_ONE_ID.findall(m.group(1))), m.group(2).strip())


def _comments(text: str) -> dict[int, str]:
    """Line number (1-based) → the comment at the end of that line, for lines that have tokens."""
    last_end: dict[int, int] = {}
    for token in yaml.scan(text):
        if token.end_mark.index > token.start_mark.index:
            line = token.end_mark.line
            last_end[line] = max(last_end.get(line, 0), token.end_mark.column)
    lines = text.splitlines()
    out = {}
    for line, col in last_end.items():
        rest = lines[line][col:].strip() if line < len(lines) else ""
        if rest.startswith("#"):
            out[line + 1] = rest
    return out


def refs_of_text(text: str, file: str = "<rules>") -> dict[KeyPath, Ref]:
    """Every commented key path of one rule-set file's text."""
    conv = _Converter(file)
    node = yaml.compose(text)
    if node is None:
        return {}
    conv.convert(node, ())
    comments = _comments(text)
    out: dict[KeyPath, Ref] = {}
    owner: dict[int, KeyPath] = {}
    for path, line in sorted(conv.lines.items(), key=lambda kv: len(kv[0])):
        if path and line in comments and line not in owner:
            owner[line] = path
            out[path] = parse_comment(comments[line])
    return out


def generalize(path: KeyPath) -> KeyPath:
    """Rows become ``*``: ``grades.senior.fixed_standard.1`` → ``grades.*.fixed_standard.*``."""
    out = []
    for i, segment in enumerate(path):
        row = isinstance(segment, int) or (i == 1 and path[0] in _TABLES)
        out.append("*" if row else segment)
    return tuple(out)


class RuleIds:
    """Lookup of RULEBOOK ids and notes by key path, built from commented rule-set texts."""

    def __init__(self, refs: dict[KeyPath, Ref]):
        self.exact = refs
        self.general: dict[KeyPath, Ref] = {}
        for path, ref in refs.items():
            g = generalize(path)
            if ref.ids and g not in self.general:
                self.general[g] = ref

    def ref(self, path: KeyPath | str) -> Ref:
        """The ids of a key path (own, its table row's, or its nearest ancestor's) and its own note.

        The note is only ever the path's own comment: another row's remark may not hold for this row.
        """
        path = _as_path(path)
        note = self.exact[path].note if path in self.exact else ""
        p = path
        while p:
            for candidate in (self.exact.get(p), self.general.get(generalize(p))):
                if candidate is not None and candidate.ids:
                    return Ref(candidate.ids, note)
            p = p[:-1]
        return Ref((), note)

    def ids(self, path: KeyPath | str) -> tuple[str, ...]:
        return self.ref(path).ids

    def mapping(self) -> dict[str, tuple[str, ...]]:
        """``{"earnings.account_bonus": ("P4",), "grades.*.base_rate": ("P3",), ...}``: each commented key."""
        out: dict[str, tuple[str, ...]] = {}
        for path in self.exact:
            out.setdefault(dotted(generalize(path)), self.ids(path))
        return {k: v for k, v in out.items() if v}


def _as_path(path: KeyPath | str) -> KeyPath:
    if isinstance(path, str):
        return tuple(int(s) if s.isdigit() else s for s in path.split(".")) if path else ()
    return tuple(path)


def from_files(paths: list[Path]) -> RuleIds:
    """Ids from the comments of several files; the first file that comments a key path wins."""
    refs: dict[KeyPath, Ref] = {}
    for p in paths:
        try:
            found = refs_of_text(p.read_text(encoding="utf-8"), str(p))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue  # a broken file has no ids to give; `settle rules validate` reports it
        for path, ref in found.items():
            if path not in refs or (ref.ids and not refs[path].ids):
                refs[path] = ref
    return RuleIds(refs)


@functools.lru_cache(maxsize=1)
def packaged() -> RuleIds:
    """The ids of the packaged rule sets (rules/): the reference that commented every parameter."""
    return from_files(rule_files(DEFAULT_RULES_DIR))


def rulebook_ids(path: KeyPath | str) -> tuple[str, ...]:
    """The RULEBOOK ids of a parameter, e.g. ``rulebook_ids("grades.senior.base_rate") == ("P3",)``."""
    return packaged().ids(path)
