"""The tree's import rules and the injected clock, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGES = ("bot", "adapters", "routing", "storage")
COMPOSITION_ROOT = {"bot/app/factory.py", "bot/app/cli.py", "bot/app/demo.py", "bot/simulate/engine.py"}


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("routing", {"bot", "adapters", "storage"}),
        ("storage", {"bot", "adapters", "routing"}),
        ("adapters", {"storage", "routing"}),
    ],
)
def test_layers_import_only_what_they_may(package: str, forbidden: set[str]) -> None:
    offenders = {_rel(p): sorted(_imports(p) & forbidden) for p in _modules(package) if _imports(p) & forbidden}
    assert offenders == {}


def test_only_the_composition_root_knows_the_adapters() -> None:
    offenders = [_rel(p) for p in _modules("bot") if "adapters" in _imports(p) and _rel(p) not in COMPOSITION_ROOT]
    assert offenders == []


def test_logic_never_reads_the_system_clock() -> None:
    allowed = {"bot/core/clock.py", "bot/app/cli.py"}
    offenders = []
    for package in ("bot", "routing", "storage", "adapters"):
        for path in _modules(package):
            text = path.read_text(encoding="utf-8")
            if _rel(path) not in allowed and ("datetime.now(" in text or "datetime.utcnow(" in text):
                offenders.append(_rel(path))
    assert offenders == []
