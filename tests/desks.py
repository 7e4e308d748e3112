"""Real `dutydesk run` processes against the Telegram stand-in, for the standby tests and
`bench/failover.py`: each desk its own config file (its own HTTP port) on one database,
its log read as it comes, its `/readyz` asked over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.standins.telegram_api import TelegramStandIn

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"
TOKEN = "7700001:standby-test-token"
STAFF = -1001234567890  # the example's staff forum
ENGINEERS = (100001, 100002, 100003, 100004, 100005, 100006)
POLL = 0.05  # how often a condition is looked at again


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def set_key(text: str, section: str, key: str, value: object) -> str:
    """`key = value` in `[section]` of a TOML text (replaced, or added to the section; a
    section missing is an error)."""
    lines = text.splitlines()
    start = lines.index(f"[{section}]")
    line = f"{key} = {toml_value(value)}"
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("["):
            lines.insert(i, line)
            break
        if lines[i].split("=")[0].strip() == key:
            lines[i] = line
            break
    else:
        lines.append(line)
    return "\n".join(lines) + "\n"


def telegram_world(tg: TelegramStandIn) -> None:
    """The example roster's engineers (who started the bot) and its staff forum."""
    for user in ENGINEERS:
        tg.add_user(user, f"Engineer {user}", language_code="en")
        tg.add_private_chat(user)
    tg.add_group(STAFF, "Support staff", forum=True, members=list(ENGINEERS))


async def until(condition: Callable[[], Any], timeout: float, what: str) -> Any:  # noqa: ASYNC109
    """The condition's truthy value once it holds; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(POLL)


class Desk:
    """One real `dutydesk run`."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, port: int) -> None:
        self.name = name
        self.process = process
        self.port = port
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line.decode(errors="replace"))

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    async def readyz(self, only: str | None = None) -> tuple[int, dict[str, Any]]:
        """(status, body); (0, {}) while nothing listens."""
        url = f"http://127.0.0.1:{self.port}/readyz" + (f"?only={only}" if only else "")
        try:
            async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(5)) as resp:
                return resp.status, await resp.json()
        except (aiohttp.ClientError, TimeoutError):
            return 0, {}

    async def metrics(self) -> tuple[int, str]:
        """(status, body) of `/metrics`."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(5)) as resp:
            return resp.status, await resp.text()

    async def ready(self, timeout: float = 120) -> dict[str, Any]:  # noqa: ASYNC109
        async def check() -> dict[str, Any] | None:
            self.alive()
            status, body = await self.readyz()
            return body if status == 200 else None

        found: dict[str, Any] = await until(check, timeout, f"{self.name} ready\n{self.log}")
        return found

    async def role(self, role: str, timeout: float = 120) -> dict[str, Any]:  # noqa: ASYNC109
        async def check() -> dict[str, Any] | None:
            self.alive()
            status, body = await self.readyz()
            return body if status == 503 and body.get("role") == role else None

        found: dict[str, Any] = await until(check, timeout, f"{self.name} {role}\n{self.log}")
        return found

    def alive(self) -> None:
        assert self.process.returncode is None, f"{self.name} exited {self.process.returncode}:\n{self.log}"

    def kill(self) -> None:
        self.process.kill()

    async def stop(self, timeout: float = 30) -> int:  # noqa: ASYNC109
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), timeout)
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        await self._reader
        return self.process.returncode or 0


class Desks:
    """Desks started from one config (the example, Telegram polling the stand-in)."""

    def __init__(self, tmp: Path, tg: TelegramStandIn, storage_url: str, **settings: object) -> None:
        self.tmp = tmp
        text = EXAMPLE.read_text(encoding="utf-8")
        values: dict[tuple[str, str], object] = {
            ("telegram", "enabled"): True, ("telegram", "api_base"): tg.api_base, ("telegram", "polling_timeout"): 1,
            ("telegram", "per_chat_per_second"): 1000, ("telegram", "per_group_per_minute"): 100000,
            ("storage", "url"): storage_url, ("delivery", "retry_base_seconds"): 0.2,
            ("delivery", "retry_max_seconds"): 2.0,
        }
        for key, value in settings.items():
            section, name = key.split("__")
            values[(section, name)] = value
        for (section, name), value in values.items():
            text = set_key(text, section, name, value)
        self.text = text
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
        self.started: list[Desk] = []

    async def start(self, name: str, log_level: str = "info") -> Desk:
        port = free_port()
        config = self.tmp / f"{name}.toml"
        config.write_text(set_key(self.text, "http", "port", port), encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.app.cli", "--log-level", log_level, "run", "--config", str(config),
            env=self.env, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        desk = Desk(name, process, port)
        self.started.append(desk)
        return desk

    async def stop_all(self) -> None:
        for desk in self.started:
            await desk.stop()
