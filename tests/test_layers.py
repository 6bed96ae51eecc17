"""The import rule of docs/architecture.md, checked on the source: web/ and api/ are siblings over http/
and the services; http/ imports neither; services import none of the three."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "paperfeed"
FRONTS = ("web", "api", "http")
SERVICES = (
    "ingest",
    "search",
    "ranking",
    "community",
    "accounts",
    "authors",
    "digests",
    "jobs",
    "db",
    "text",
)


def imports_of(path: Path) -> set[str]:
    """Every paperfeed module a file imports (at any depth, lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("paperfeed"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("paperfeed"))
    return found


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    """'file -> module' for each import of a forbidden package from `layer`."""
    out = []
    for path in sorted((SRC / layer).rglob("*.py")) if (SRC / layer).is_dir() else [SRC / f"{layer}.py"]:
        for module in imports_of(path):
            if _package(module) in forbidden:
                out.append(f"{path.relative_to(SRC)} -> {module}")
    return out


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("web", ("api",)),
        ("api", ("web",)),
        ("http", ("web", "api")),
        *[(service, FRONTS) for service in SERVICES],
        ("feed", FRONTS),
        ("periods", FRONTS),
        ("errors", FRONTS),
    ],
)
def test_layer_imports_nothing_above_or_beside_it(layer: str, forbidden: tuple[str, ...]) -> None:
    assert violations(layer, forbidden) == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    # The rule above must be able to fail: a lazy import inside a function counts too.
    sample = tmp_path / "x.py"
    sample.write_text("def f():\n    from paperfeed.web.templating import render\n", encoding="utf-8")
    assert "paperfeed.web.templating" in imports_of(sample)
    assert _package("paperfeed.web.templating") == "web"


def _framework_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found += [n for n in names if n.split(".")[0] in ("fastapi", "starlette")]
    return found


@pytest.mark.parametrize("layer", SERVICES)
def test_services_know_no_web_framework(layer: str) -> None:
    # Requests, cookies and status codes belong to http/: a service raises a UserError instead.
    bad = {
        str(p.relative_to(SRC)): _framework_imports(p)
        for p in (SRC / layer).rglob("*.py")
        if _framework_imports(p)
    }
    assert bad == {}
