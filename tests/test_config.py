"""Settings: every one documented, environment and TOML file honoured, nothing global."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from paperfeed.config import Settings, settings_markdown

DOCS = Path(__file__).parent.parent / "docs" / "settings.md"


def test_every_setting_has_a_description() -> None:
    missing = [name for name, f in Settings.model_fields.items() if not (f.description or "").strip()]
    assert missing == []


def test_docs_list_every_setting_and_are_current() -> None:
    text = DOCS.read_text()
    for name in Settings.model_fields:
        assert f"PAPERFEED_{name.upper()}" in text
    assert text == settings_markdown(), "docs/settings.md is stale: regenerate it with settings_markdown()"


def test_environment_overrides_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_PAGE_SIZE", "17")
    assert Settings().page_size == 17


def test_toml_file_is_read_and_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "paperfeed.toml"
    cfg.write_text('site_name = "Lab papers"\nport = 9001\n')
    monkeypatch.setenv("PAPERFEED_CONFIG", str(cfg))
    monkeypatch.setenv("PAPERFEED_PORT", "9002")
    s = Settings()
    assert (s.site_name, s.port) == ("Lab papers", 9002)


def test_unknown_and_invalid_settings_are_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        Settings(page_size=0)
    cfg = tmp_path / "bad.toml"
    cfg.write_text("no_such_setting = 1\n")
    monkeypatch.setenv("PAPERFEED_CONFIG", str(cfg))
    with pytest.raises(ValidationError, match="no_such_setting"):
        Settings()


def test_importing_the_package_builds_nothing() -> None:
    import paperfeed.app
    import paperfeed.cli
    import paperfeed.config

    for module in (paperfeed.config, paperfeed.app, paperfeed.cli):
        for value in vars(module).values():
            assert not isinstance(value, Settings)
    assert not hasattr(paperfeed.app, "app")


def test_data_dir_defaults_to_the_sqlite_files_directory(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "papers.db"
    assert Settings(database_url=f"sqlite:///{db}").data_dir == db.parent
    assert Settings(database_url=f"sqlite:///{db}", data_dir=tmp_path).data_dir == tmp_path  # explicit wins
    assert Settings(database_url="postgresql+psycopg://u@h/db").data_dir == Path(".")
