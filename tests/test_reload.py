"""Reload without restart, and JSON logs: the real `dutydesk run` process takes SIGHUP (and
`dutydesk reload`), runs on a good file, refuses a bad one and runs on; its log lines are
one JSON object each. In-process: what a reload swaps."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app.cli import main
from bot.app.config import load_config
from bot.app.logs import about, build_handler
from bot.app.redact import remember
from bot.app.reload import pid_file, reload_config
from tests.desks import free_port

from .conftest import Desk
from .test_run_process import _local_config

FIELDS = {"time", "level", "logger", "message", "ticket", "channel", "event"}
NEW_ENGINEER = """

[[engineers]]
id = "reloaded_engineer"
name = "Olga Reloaded"
languages = ["ru", "en"]
timezone = "Europe/Moscow"
country = "RU"
shift = "moscow_day"
role = "engineer"
identities = ["telegram:100099"]
"""
BROKEN = "\n[plans.broken]\ncalendar = 'no-such-calendar'\nfirst_response = '1h'\nresolution = '1d'\n"


class JsonLines:
    """A process's output, read as JSON log lines (every line must be one)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.seen: list[dict[str, Any]] = []

    async def until(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout=60)
            assert line, "the desk exited:\n" + "\n".join(map(str, self.seen))
            record = json.loads(line)  # every line is one JSON object
            assert set(record) >= FIELDS, record
            self.seen.append(record)
            if wanted(record):
                return record


def _engineers(config: Path) -> int:
    return len(load_config(config).engineers)


async def _cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out = (await asyncio.wait_for(process.communicate(), timeout=60))[0].decode(errors="replace")
    assert process.returncode is not None
    return process.returncode, out


async def test_sighup_reloads_a_good_file_refuses_a_bad_one_and_logs_json(tmp_path: Path) -> None:
    config = _local_config(tmp_path / "desk.toml", tmp_path / "desk.db", free_port())
    engineers = _engineers(config)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", "--log-format", "json", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    log = JsonLines(process)
    try:
        running = await log.until(lambda r: r["message"].startswith("running: local"))
        assert running["level"] == "INFO" and running["logger"] == "dutydesk.standby"
        assert pid_file(config).read_text().strip() == str(process.pid)

        # A good file, through `dutydesk reload`: one engineer more, and a port change that needs a restart.
        good = config.read_text(encoding="utf-8").replace(
            f"port = {_port_of(config)}", f"port = {free_port()}") + NEW_ENGINEER
        config.write_text(good, encoding="utf-8")
        code, said = await _cli("reload", "--config", str(config))
        assert code == 0 and f"sent SIGHUP to the desk (pid {process.pid})" in said
        restart = await log.until(lambda r: r["event"] in ("reload_needs_restart", "reloaded"))
        assert restart["event"] == "reload_needs_restart" and "[http]" in restart["message"]
        reloaded = await log.until(lambda r: r["event"] == "reloaded")
        assert f"{engineers + 1} engineers" in reloaded["message"]

        # A bad file: `dutydesk reload` refuses it before signalling; SIGHUP itself is refused in the desk.
        config.write_text(good + BROKEN, encoding="utf-8")
        code, said = await _cli("reload", "--config", str(config))
        assert code == 2 and "plans.broken" in said and "SIGHUP" not in said
        process.send_signal(signal.SIGHUP)
        refused = await log.until(lambda r: r["event"] == "reload_refused")
        assert refused["level"] == "ERROR" and "plans.broken" in refused["message"]
        assert "the running config stays" in refused["message"]

        # Still running, on the good config: the next good file reloads again.
        config.write_text(good, encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        again = await log.until(lambda r: r["event"] == "reloaded")
        assert f"{engineers + 1} engineers" in again["message"]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        rest = (await asyncio.wait_for(process.communicate(), timeout=30))[0].decode(errors="replace")
    assert process.returncode == 0, rest
    for line in rest.splitlines():
        assert set(json.loads(line)) >= FIELDS
    assert not pid_file(config).exists()


def _port_of(config: Path) -> int:
    return load_config(config).http.port


async def test_reload_without_a_running_desk_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _local_config(tmp_path / "desk.toml", tmp_path / "desk.db", free_port())
    assert await asyncio.to_thread(main, ["reload", "--config", str(config)]) == 2
    assert "no running desk found" in capsys.readouterr().err


async def test_a_reload_swaps_the_roster_between_decisions_and_a_bad_file_changes_nothing(
    desk: Desk, tmp_path: Path,
) -> None:
    path = tmp_path / "reloaded.toml"
    app = desk.app
    assert app.desk.services.directory.engineer_by_identity("local:100099") is None
    from tests.conftest import EXAMPLE

    path.write_text(EXAMPLE.read_text(encoding="utf-8") + NEW_ENGINEER.replace("telegram:100099", "local:100099"),
                    encoding="utf-8")
    before = app.desk.services
    assert await reload_config(app, path)
    assert app.desk.services is not before
    assert app.desk.services.directory.engineer_by_identity("local:100099") is not None
    assert app.desk.services.triage.detector is before.triage.detector  # same languages: the model is kept
    assert app.cfg.local.enabled and app.cfg.storage == before.cfg.storage  # channels and storage stay
    receipt = await desk.local.say("200001", "Добрый день! Не приходят уведомления")
    assert receipt.created  # the desk decides on the new services

    path.write_text(path.read_text(encoding="utf-8") + BROKEN, encoding="utf-8")
    current = app.desk.services
    assert not await reload_config(app, path)
    assert app.desk.services is current


def test_json_lines_carry_ticket_channel_and_event_and_no_secret() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("dutydesk.test-json")
    logger.addHandler(build_handler("json", stream))
    logger.propagate = False
    remember("sekret-token-123456")
    try:
        logger.warning("outbox %s failed with sekret-token-123456", 7, extra=about(ticket=1042, channel="telegram",
                                                                                      event="delivery_retry"))
        logger.info("plain line")
    finally:
        logger.handlers.clear()
        logger.propagate = True
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["ticket"] == 1042 and first["channel"] == "telegram" and first["event"] == "delivery_retry"
    assert first["level"] == "WARNING" and first["logger"] == "dutydesk.test-json"
    assert first["message"] == "outbox 7 failed with ***"
    assert first["time"].endswith("+00:00") or first["time"].endswith("Z")
    assert second["ticket"] is None and second["event"] is None and set(second) >= FIELDS
