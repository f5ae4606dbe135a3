"""The import contract: layers import downwards only, checked on every import statement in the package
(module level and inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import gankit

PACKAGE = Path(gankit.__file__).parent
# (file, imported module) pairs allowed to break a rule; none left since SRGAN's content network moved to nn/.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {n for n in names if n.startswith("gankit")}


def violations(folder: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    found = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for name in sorted(imports(path)):
            hit = any(name == f or name.startswith(f + ".") for f in forbidden)
            if hit and not any(name == a or name.startswith(a + ".") for a in allowed) \
                    and not any(rel == r and name.startswith(m) for r, m in KNOWN_EXCEPTIONS):
                found.append(f"{rel} imports {name}")
    return found


def test_data_nn_and_losses_import_no_training_models_or_measurements():
    above = ("gankit.engine", "gankit.models", "gankit.capabilities", "gankit.metrics", "gankit.api", "gankit.cli")
    assert violations("data", above) == []
    assert violations("nn", above + ("gankit.data",), allowed=("gankit.data.core", "gankit.data.augment")) == []
    assert violations("losses", above + ("gankit.data", "gankit.nn")) == []


def test_metrics_import_no_variant_engine_or_capability():
    assert violations("metrics", ("gankit.engine", "gankit.models", "gankit.capabilities", "gankit.api",
                                  "gankit.cli")) == []


def test_training_code_never_imports_measurements():
    for folder in ("engine", "models"):
        assert violations(folder, ("gankit.metrics", "gankit.capabilities", "gankit.evaluation", "gankit.api",
                                   "gankit.cli")) == []


def test_the_engine_names_no_variant():
    assert violations("engine", ("gankit.models",), allowed=("gankit.models.base",)) == []
