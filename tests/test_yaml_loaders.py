"""cmsettle.yaml_loaders: libyaml's loaders where PyYAML has them, with the values of PyYAML's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cmsettle import PROJECT_ROOT
from cmsettle.yaml_loaders import BaseLoader, SafeLoader

PACKAGED = sorted((PROJECT_ROOT / "cmsettle" / "config").glob("*.yaml"))


def test_libyaml_is_used_where_pyyaml_has_it() -> None:
    if yaml.__with_libyaml__:
        assert (SafeLoader, BaseLoader) == (yaml.CSafeLoader, yaml.CBaseLoader)
    else:
        assert (SafeLoader, BaseLoader) == (yaml.SafeLoader, yaml.BaseLoader)


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.name)
def test_packaged_files_read_the_same_as_with_pythons_loaders(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yaml.load(text, Loader=SafeLoader) == yaml.load(text, Loader=yaml.SafeLoader)
    assert yaml.load(text, Loader=BaseLoader) == yaml.load(text, Loader=yaml.BaseLoader)


def test_the_package_has_the_files_read_with_them() -> None:
    assert {"aliases.yaml", "explanations.yaml", "report.yaml"} <= {p.name for p in PACKAGED}


def test_values_keep_their_types() -> None:
    doc = "a: 1\nb: 0.10\nc: yes\nd: 2024-05-31\ne: '007'\n"
    safe = yaml.load(doc, Loader=SafeLoader)
    assert safe == yaml.load(doc, Loader=yaml.SafeLoader)
    assert yaml.load(doc, Loader=BaseLoader) == {"a": "1", "b": "0.10", "c": "yes", "d": "2024-05-31", "e": "007"}
