"""The areas of ``bastion.web`` reach each other through public names only.

A helper another area needs is given a public name (most live in :mod:`bastion.web.common`);
importing ``_private`` names across modules is how the flat layer of the past grew tangled.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bastion.web

WEB = Path(bastion.web.__file__).parent
PACKAGE = "bastion.web"


def _module_name(path: Path) -> str:
    parts = path.relative_to(WEB).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module an ``from ... import`` reads from, with relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def private_imports(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Where the code of ``module`` takes a ``_name`` from another module of bastion.web:
    imported by name, or read as an attribute of an imported web module."""
    tree = ast.parse(source)
    found: list[str] = []
    web_modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            origin = _absolute(node, module, is_package)
            if origin != PACKAGE and not origin.startswith(PACKAGE + "."):
                continue
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{node.lineno}: {origin}.{alias.name}")
                else:
                    web_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + ".") and alias.asname:
                    web_modules.add(alias.asname)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in web_modules
        ):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_web_module_imports_a_private_name_of_another() -> None:
    offences = {}
    for path in sorted(WEB.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        found = private_imports(source, _module_name(path), is_package=path.name == "__init__.py")
        if found:
            offences[str(path.relative_to(WEB))] = found
    assert not offences, f"private names imported across bastion.web modules: {offences}"


def test_the_check_sees_each_shape_of_private_import() -> None:
    """Imported by name (absolute or relative) and read off an imported module: each is seen,
    or the test above could pass while the tangle grew back."""
    source = (
        "from bastion.web.common import _hidden, forbidden\n"
        "from ..manage.views import _managed\n"
        "from bastion.web import queries\n"
        "from bastion.tokens.policy import _not_web\n"
        "queries._cache\n"
        "queries.search\n"
    )
    assert private_imports(source, "bastion.web.roles.views") == [
        "1: bastion.web.common._hidden",
        "2: bastion.web.manage.views._managed",
        "5: queries._cache",
    ]
