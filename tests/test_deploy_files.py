"""The Dockerfile, compose.yaml and nginx.conf are checked against the code (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from paperfeed.app import create_app
from paperfeed.cli import app as cli
from paperfeed.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _services() -> dict[str, dict[str, object]]:
    return COMPOSE["services"]  # type: ignore[no-any-return]


def test_every_paperfeed_variable_in_compose_and_the_image_is_a_setting() -> None:
    fields = {f"PAPERFEED_{name.upper()}" for name in Settings.model_fields}
    named = set(re.findall(r"\bPAPERFEED_[A-Z_]+", (ROOT / "compose.yaml").read_text()))
    named |= set(re.findall(r"\bPAPERFEED_[A-Z_]+", DOCKERFILE))
    named |= set(re.findall(r"\bPAPERFEED_[A-Z_]+", (ROOT / "deploy" / "env.example").read_text()))
    assert named and named <= fields, named - fields


def test_the_topology_is_two_web_nodes_a_worker_a_proxy_postgres_and_redis() -> None:
    services = _services()
    commands = {name: svc.get("command") for name, svc in services.items()}
    assert commands["web1"] == commands["web2"] == ["paperfeed", "serve"]
    assert commands["worker"] == ["paperfeed", "worker"]
    assert {"postgres", "redis", "proxy", "migrate"} <= set(services)
    # Every paperfeed command the compose file runs exists in the CLI.
    runner = CliRunner()
    for argv in filter(None, commands.values()):
        if isinstance(argv, list) and argv[0] == "paperfeed":
            assert runner.invoke(cli, [*argv[1:], "--help"]).exit_code == 0, argv


def test_the_proxy_passes_the_client_address_and_the_nodes_believe_only_the_proxy() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    proxy_ip = _services()["proxy"]["networks"]["front"]["ipv4_address"]  # type: ignore[index]
    text = (ROOT / "compose.yaml").read_text()
    assert f"PAPERFEED_TRUSTED_PROXIES: {proxy_ip}" in text


def test_the_image_is_multi_stage_non_root_with_a_healthcheck_on_a_real_route(settings: Settings) -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.MULTILINE)) >= 2
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    check = re.search(r"HEALTHCHECK[^\n]*\n\s*CMD[^\n]*'http://127\.0\.0\.1:8000(/\w+)'", DOCKERFILE)
    assert check is not None
    with TestClient(create_app(settings)) as client:
        assert client.get(check.group(1)).status_code == 200
    assert "fast_model_loader" in DOCKERFILE  # the model is built into the image
