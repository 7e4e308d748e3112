"""The tree's import rules and the injected clock, checked on the source itself."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGES = ("bot", "adapters", "routing", "storage")
COMPOSITION_ROOT = {"bot/app/registry.py", "bot/app/factory.py", "bot/app/cli.py", "bot/app/demo.py",
                    "bot/simulate/engine.py"}


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


def _code_words(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every name, string and comment in a module that is not a docstring."""
    source = path.read_text(encoding="utf-8")
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.add(first.lineno)
    kinds = {tokenize.NAME, tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    return [
        (tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type in kinds and not (tok.type == tokenize.STRING and tok.start[0] in docstrings)
    ]


def test_no_module_of_bot_names_a_platform() -> None:
    """A channel is a plugin: the registry's one line lists the platforms; elsewhere in
    bot/ they appear in docstrings alone (`grep -rniE 'telegram|slack' bot/`, issue 13)."""
    platform = re.compile(r"telegram|slack", re.IGNORECASE)
    named = sorted({(_rel(path), line) for path in _modules("bot") for line, text in _code_words(path)
                    if platform.search(text)})
    registry = [line for path, line in named if path == "bot/app/registry.py"]
    assert len(registry) == 1
    assert [f"{path}:{line}" for path, line in named if path != "bot/app/registry.py"] == []


def test_only_the_metrics_module_knows_prometheus() -> None:
    """The desk, dispatcher and scheduler report through bot/core/telemetry.py."""
    offenders = [
        _rel(p) for package in PACKAGES for p in _modules(package)
        if "prometheus_client" in p.read_text(encoding="utf-8") and _rel(p) != "bot/app/metrics.py"
    ]
    assert offenders == []


MODULE_LINES = 400
FUNCTION_LINES = 60


def test_product_modules_and_functions_stay_small() -> None:
    """Small modules whose names say what they hold (issue 13): none over 400 lines, no
    function over 60 — a longer one is two things under one name."""
    long_modules, long_functions = [], []
    for package in PACKAGES:
        for path in _modules(package):
            source = path.read_text(encoding="utf-8")
            if (lines := len(source.splitlines())) > MODULE_LINES:
                long_modules.append(f"{_rel(path)}: {lines} lines")
            long_functions += [
                f"{_rel(path)}:{node.lineno} {node.name}: {span} lines"
                for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and (span := (node.end_lineno or node.lineno) - node.lineno + 1) > FUNCTION_LINES
            ]
    assert long_modules == []
    assert long_functions == []
