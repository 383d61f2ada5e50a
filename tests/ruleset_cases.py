"""Build rule-set files for the tests from the packaged rule set and the fragments of tests/rulesets/.

A fragment goes verbatim at the top of the file (so its line numbers hold), followed by the packaged
rule set's top-level sections that the fragment does not define. See tests/rulesets/README.md.
"""

from __future__ import annotations

import re
from pathlib import Path

from cmsettle import DEFAULT_RULES_DIR

PACKAGED = DEFAULT_RULES_DIR / "2024-01-default.yaml"
CASES = Path(__file__).parent / "rulesets"

_TOP_KEY = re.compile(r"^([A-Za-z_]\w*)\s*:", re.M)


def sections(text: str) -> list[tuple[str, str]]:
    """The top-level ``key: ...`` blocks of a YAML text, each with its indented and comment lines."""
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        m = _TOP_KEY.match(line)
        if m:
            blocks.append((m.group(1), [line]))
        elif blocks:
            blocks[-1][1].append(line)
    return [(key, "".join(lines)) for key, lines in blocks]


def compose(fragment: str, base: str | None = None) -> str:
    """``fragment`` first, then every section of ``base`` (default: the packaged rule set) it lacks."""
    base = PACKAGED.read_text(encoding="utf-8") if base is None else base
    own = set(_TOP_KEY.findall(fragment))
    rest = "".join(block for key, block in sections(base) if key not in own)
    return fragment.rstrip("\n") + "\n" + rest


def build(case: str, folder: Path) -> Path:
    """Write tests/rulesets/<case> completed with the packaged sections to ``folder/<case>``."""
    out = folder / case
    out.write_text(compose((CASES / case).read_text(encoding="utf-8")), encoding="utf-8")
    return out


def variant(folder: Path, name: str, fragment: str) -> Path:
    """A valid-looking rule set: the packaged one with the sections of ``fragment`` replaced."""
    out = folder / name
    out.write_text(compose(fragment), encoding="utf-8")
    return out
