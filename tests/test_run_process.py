"""The real `dutydesk run` process against the Telegram and Slack stand-ins.

What a deployment does: a config file, secrets in the environment, one process. A customer
writes on Telegram, the ticket gets its forum topic, an engineer answers from Slack's triage
thread and the customer reads the answer; a second process on the same database is refused;
SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.desks import free_port, set_key
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

from .conftest import EXAMPLE

TOKEN = "7700001:process-test-token"
STAFF = -1001234567890  # the example config's staff forum
TRIAGE = "C0TRIAGE01"
IVAN = 200001
ENGINEERS = {"U0ANNA001": 100001, "U0DMIT002": 100002, "U0JOHN005": 100005, "U0PRIY006": 100006,
             "U0KASI003": 100003, "U0LARS004": 100004}


def _config(tmp: Path, tg: TelegramStandIn, slack: SlackStandIn, port: int) -> Path:
    """config.example.toml with the channels switched on and pointed at the stand-ins."""
    text = EXAMPLE.read_text(encoding="utf-8")
    overrides = {
        "telegram": {"enabled": True, "api_base": tg.api_base, "polling_timeout": 1},
        "slack": {"enabled": True, "api_base": slack.api_base},
        "http": {"port": port},
        "storage": {"url": f"sqlite:///{tmp / 'desk.db'}"},
    }
    for section, values in overrides.items():
        for key, value in values.items():
            text = set_key(text, section, key, value)
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    tomllib.loads(text)  # still valid TOML
    return path


@pytest.fixture
async def world() -> AsyncIterator[tuple[TelegramStandIn, SlackStandIn]]:
    async with TelegramStandIn(token=TOKEN, bot_username="dutydesk_bot", limits=None) as tg:
        tg.add_user(IVAN, "Ivan", "ivan_p", "ru", last_name="Petrov")
        for user in ENGINEERS.values():
            tg.add_user(user, f"engineer {user}", language_code="en")
            tg.add_private_chat(user)
        tg.add_group(STAFF, "Support staff", forum=True, members=list(ENGINEERS.values()))
        async with SlackStandIn(limits=None) as slack:
            slack.add_channel(TRIAGE, "triage", members=list(ENGINEERS))
            for user in ENGINEERS:
                slack.add_user(user, user.lower())
            yield tg, slack


async def test_dutydesk_run_serves_both_messengers_and_stops_on_sigterm(
    world: tuple[TelegramStandIn, SlackStandIn], tmp_path: Path,
) -> None:
    tg, slack = world
    port = free_port()
    config = _config(tmp_path, tg, slack, port)
    slack.app_url = f"http://127.0.0.1:{port}/slack/events"
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": "secret"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", "--log-level", "debug", "run", "--config", str(config), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await tg.wait_for(lambda t: bool(t.commands_for()), timeout=60)  # started: menus published
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.app.cli", "run", "--config", str(config), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        refused = (await asyncio.wait_for(second.communicate(), timeout=60))[0].decode(errors="replace")
        assert second.returncode == 1 and "another dutydesk is already running on this database" in refused
        tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам.")
        topic = await tg.wait_for(lambda t: next(iter(t.topics(STAFF)), None), timeout=20)
        assert topic["name"].startswith("T-1001 · Romashka LLC · P")
        header = await slack.wait_for(
            lambda: next((m for m in slack.messages(TRIAGE) if "T-1001" in m.text), None), timeout=20
        )
        await slack.user_message("U0ANNA001", TRIAGE, "Здравствуйте! Обновите модуль отчётов.", thread_ts=header.ts)
        expected = "Здравствуйте! Обновите модуль отчётов."
        answer = await tg.wait_for(
            lambda t: next((s for s in t.sent if s.chat_id == IVAN and s.text == expected), None), timeout=20
        )
        assert answer.method == "sendMessage"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        output = (await asyncio.wait_for(process.communicate(), timeout=30))[0].decode(errors="replace")
    assert process.returncode == 0, output
    # Every log line, at debug level too, with the secrets blanked out.
    assert "running: telegram, slack" in output and TOKEN not in output and "xoxb-test" not in output


def _local_config(path: Path, db: Path, port: int) -> Path:
    """config.example.toml on the local channel only: a real process that needs no network."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for section, key, value in (("local", "enabled", True), ("http", "port", port),
                                ("storage", "url", f"sqlite:///{db}")):
        text = set_key(text, section, key, value)
    path.write_text(text, encoding="utf-8")
    return path


async def _until_running(process: asyncio.subprocess.Process) -> list[str]:
    """The process's log lines up to the one that says it runs."""
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or "running: local" not in lines[-1]:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert line, "the desk exited:\n" + "".join(lines)
        lines.append(line.decode(errors="replace"))
    return lines


def _schema(db: Path) -> tuple[int, list[str]]:
    conn = sqlite3.connect(db)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    finally:
        conn.close()
    return version, tables


async def test_a_second_run_through_a_symlink_or_a_hard_link_is_refused_before_it_migrates(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    first = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", "run", "--config", str(_local_config(tmp_path / "a.toml", db, free_port())),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await _until_running(first)
        # As if the running desk were the previous release: one schema version older.
        conn = sqlite3.connect(db, isolation_level=None)
        newest = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.executescript(f"DROP TABLE dead_letters; DROP TABLE conversation_hints; PRAGMA user_version = {newest - 1};")
        conn.close()
        before = _schema(db)
        (tmp_path / "links").mkdir()
        symlink, hardlink = tmp_path / "links" / "symlinked.db", tmp_path / "links" / "hardlinked.db"
        symlink.symlink_to(db)
        os.link(db, hardlink)
        for link in (symlink, hardlink):
            config = _local_config(tmp_path / f"{link.stem}.toml", link, free_port())
            second = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.app.cli", "run", "--config", str(config),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
            said = (await asyncio.wait_for(second.communicate(), timeout=60))[0].decode(errors="replace")
            assert second.returncode == 1, said
            assert "another dutydesk is already running on this database" in said and str(link) in said
            assert "Traceback" not in said and "migration" not in said
            assert _schema(db) == before  # no migration ran
    finally:
        first.send_signal(signal.SIGTERM)
        output = (await asyncio.wait_for(first.communicate(), timeout=30))[0].decode(errors="replace")
    assert first.returncode == 0, output
