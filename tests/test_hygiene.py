"""The repository itself: no stray profiles, no unused dependencies, docs that state the real defaults."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from paperfeed.config import Settings

ROOT = Path(__file__).parent.parent


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_no_onnxruntime_profile_is_tracked_and_new_ones_are_ignored() -> None:
    assert [f for f in _tracked() if "onnxruntime_profile_" in f] == []
    probe = "onnxruntime_profile__2030-01-01_00-00-00_1.json"
    ignored = subprocess.run(["git", "check-ignore", "-q", probe], cwd=ROOT, check=False)
    assert ignored.returncode == 0, "onnxruntime_profile_*.json is not in .gitignore"


def test_embedding_sessions_do_not_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperfeed.search.embeddings import _session, shipped_model_path

    monkeypatch.chdir(tmp_path)  # where ONNX Runtime would write a profile
    session = _session(str(shipped_model_path()), 1)
    assert session.get_session_options().enable_profiling is False
    assert list(tmp_path.iterdir()) == []


def test_runtime_dependencies_are_used_by_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {re.split(r"[=<>\[]", d, maxsplit=1)[0] for d in project["dependencies"]}
    sources = "\n".join(p.read_text() for p in (ROOT / "src" / "paperfeed").rglob("*.py"))
    # defusedxml was never imported (ingest/xml.py hardens lxml itself); psutil is a bench tool.
    for name in ("defusedxml", "psutil"):
        assert name not in runtime
        assert not re.search(rf"^\s*(import|from) {name}\b", sources, re.MULTILINE)
    assert "psutil==7.2.2" in project["optional-dependencies"]["bench"]
    assert not any(d.startswith("types-defusedxml") for d in project["optional-dependencies"]["dev"])


def test_search_docs_state_the_fusion_defaults_of_the_code() -> None:
    text = (ROOT / "docs" / "search.md").read_text()
    fields = Settings.model_fields
    names, numbers = r"`PAPERFEED_[A-Z_]+`(?:, `PAPERFEED_[A-Z_]+`)*", r"[0-9.]+(?:, [0-9.]+)*"
    row = re.compile(rf"^\| ({names}) \| ({numbers}) \|", re.M)
    rows = row.findall(text)
    assert rows, "docs/search.md has no settings table"
    checked = 0
    for names, defaults in rows:
        for name, shown in zip(re.findall(r"PAPERFEED_([A-Z_]+)", names), defaults.split(", "), strict=True):
            assert float(shown) == float(fields[name.lower()].default), f"docs/search.md: {name} says {shown}"
            checked += 1
    assert checked >= 4  # k, both weights, candidates at least


def test_no_issue_number_tags_in_code_templates_or_docs() -> None:
    tagged = re.compile(r"\(issues? [0-9]|, issues? [0-9]|\bissues? [0-9]+\)", re.IGNORECASE)
    roots = ("src/", "tests/", "docs/", "README.md", "bench/", "tools/")
    hits = []
    for name in _tracked():
        if not name.startswith(roots) or not name.endswith((".py", ".html", ".css", ".js", ".md", ".txt")):
            continue
        for lineno, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), start=1):
            if tagged.search(line) and name != "tests/test_hygiene.py":
                hits.append(f"{name}:{lineno}")
    assert hits == []
