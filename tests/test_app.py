"""The composition root: what `dutydesk run` starts, and how it refuses."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiohttp import web

from bot.app.cli import main
from bot.app.config import ConfigError, parse_config
from bot.app.factory import App, build_adapters


async def _hook(_: web.Request) -> web.Response:
    return web.Response()


def _busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


async def test_a_busy_port_costs_only_healthz_when_no_webhook_needs_it(tmp_path: Path) -> None:
    sock, port = _busy_port()
    with sock:
        cfg = parse_config({"local": {"enabled": True}, "http": {"port": port},
                            "storage": {"url": f"sqlite:///{tmp_path / 'a.db'}"}})
        app = await App.create(cfg)
        try:
            await app.start()
            assert app.http is None
        finally:
            await app.stop()


async def test_a_busy_port_is_a_clear_error_when_a_webhook_needs_it(tmp_path: Path) -> None:
    sock, port = _busy_port()
    with sock:
        cfg = parse_config({"local": {"enabled": True}, "http": {"port": port},
                            "storage": {"url": f"sqlite:///{tmp_path / 'b.db'}"}})
        app = await App.create(cfg)
        assert app.http is not None
        app.http.app.router.add_post("/hook", _hook)  # as a webhook adapter would
        try:
            with pytest.raises(ConfigError, match=rf"http: cannot listen on 127.0.0.1:{port}"):
                await app.start()
        finally:
            await app.stop()


def test_run_without_a_channel_says_which_section_to_enable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[desk]\nname = 'x'\n", encoding="utf-8")
    assert build_adapters(parse_config({})) == {}
    assert main(["run", "--config", str(config)]) == 2
    assert "no channel is enabled" in capsys.readouterr().err


def test_check_config_reports_missing_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = tmp_path / "config.toml"
    config.write_text("[telegram]\nenabled = true\n", encoding="utf-8")
    assert main(["check-config", str(config)]) == 1
    out = capsys.readouterr()
    assert "telegram.token: environment variable TELEGRAM_BOT_TOKEN is not set" in out.err
    assert "OK" not in out.out and out.out == ""  # nothing on stdout says it is fine
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    assert main(["check-config", str(config)]) == 0
    assert capsys.readouterr().out.startswith(f"{config}: OK — ")
    config.write_text("[plans.x]\ncalendar = 'nope'\n", encoding="utf-8")
    assert main(["check-config", str(config)]) == 2
    assert "config.toml: plans.x" in capsys.readouterr().err
