"""Layering (STYLE.md example 10): the computing core never imports the CLI, terminal or storage layers."""

import ast
from pathlib import Path

import cmsettle

PKG = Path(cmsettle.__file__).parent
FORBIDDEN_IN_CORE = ("typer", "rich", "click", "sqlalchemy", "alembic", "cmsettle.cli", "cmsettle.pipeline",
                     "cmsettle.ledger", "openpyxl", "jinja2")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_compute_is_pure():
    files = sorted((PKG / "compute").glob("*.py"))
    assert files, "cmsettle/compute has no modules"
    bad = [(f.name, n) for f in files for n in imports_of(f) if n.split(".")[0] in FORBIDDEN_IN_CORE
           or any(n == x or n.startswith(x + ".") for x in FORBIDDEN_IN_CORE)]
    assert bad == []


def test_no_click_import_anywhere():
    """Typer ships its own click; cmsettle uses typer.Exit / typer.BadParameter only."""
    bad = [f.name for f in PKG.rglob("*.py") if any(n.split(".")[0] == "click" for n in imports_of(f))]
    assert bad == []


def test_no_float_literals_near_money():
    """Money is Decimal end to end: no float literal in the computing core or the outputs."""
    bad = []
    for f in [*(PKG / "compute").glob("*.py"), *(PKG / "outputs").glob("*.py"), PKG / "money.py"]:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                bad.append(f"{f.name}:{node.lineno}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "float":
                bad.append(f"{f.name}:{node.lineno} float()")
    assert bad == []
