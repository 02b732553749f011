"""The folders are the layers, and no layer imports one above it: chain/ knows nothing of
serving, jobs or the web; serving/ nothing of the web."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "pricefeed"
FORBIDDEN = {
    "chain": ("serving", "jobs", "web"),
    "serving": ("web",),
}


def imported(path: Path) -> set[str]:
    """The pricefeed modules a file imports, at any depth of the file (function-level too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in names if n.startswith("pricefeed.")}


def upward_imports() -> list[str]:
    found = []
    for layer, above in FORBIDDEN.items():
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for name in imported(path):
                if name.split(".")[1] in above:
                    found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    return found


def test_no_layer_imports_a_layer_above_it():
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from pricefeed.web.api import price\n")
    assert "pricefeed.web.api" in imported(sneaky)
