"""Layer rules read from the source: fluxolab never imports workers, the engine stays pure,
and no module grows past 500 lines.

The import-linter contracts in setup.cfg are checked by ``make lint`` (which ``make test``
runs before pytest); these tests repeat the two most important ones with ``ast`` so that a
plain ``pytest`` run catches them too, without the cost of building the import graph again.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fluxolab"
MAX_LINES = 500
ENGINE_FORBIDDEN = (
    "flask",
    "flask_smorest",
    "flask_sqlalchemy",
    "sqlalchemy",
    "marshmallow",
    "fluxolab.models",
    "fluxolab.extensions",
    "fluxolab.common",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def is_within(name: str, root: str) -> bool:
    return name == root or name.startswith(root + ".")


def offenders(folder: Path, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for name in sorted(imported_modules(path)):
            if any(is_within(name, root) for root in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_import_scanner_sees_the_imports_of_a_known_module() -> None:
    sample = PACKAGE / "auth" / "routes.py"
    names = imported_modules(sample)
    assert "fluxolab.auth.service" in names
    assert "flask_smorest" in names


def test_fluxolab_never_imports_workers() -> None:
    assert offenders(PACKAGE, ("workers",)) == []


def test_engine_imports_no_flask_sqlalchemy_or_app_modules() -> None:
    assert offenders(PACKAGE / "engine", ENGINE_FORBIDDEN) == []


def test_every_module_is_under_500_lines() -> None:
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) >= MAX_LINES
    }
    assert too_long == {}, "split these modules"
