"""Reload without restart: SIGHUP (or `dutydesk reload`) re-reads the config file.

What a reload changes: the roster, shifts, rotations, overrides, plans, calendars,
organisations, routing, templates, retention and the periodic jobs' times — everything the
desk decides with (`Desk.reconfigure`). What it cannot: the channels, the HTTP server,
storage, delivery and intake settings are bound to connections and tasks made at start-up;
a change there is logged as needing a restart, and the running values stay. A file that
does not load (invalid TOML, a bad reference) is refused with its error logged, and the
desk runs on as it was.

`dutydesk run` writes its pid next to its config file (`config.toml.pid`), so that
`dutydesk reload --config config.toml` finds the process to signal; systemd and Docker
signal the main process themselves (`ExecReload`, `docker kill -s HUP`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.app.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from bot.app.factory import App

log = logging.getLogger("dutydesk.reload")

# Sections bound at start-up (and every channel's own): their changes need a restart.
RESTART_SECTIONS = ("storage", "http", "delivery", "intake")


def keep_bound(loaded: Config, running: Config) -> tuple[Config, list[str]]:
    """`loaded` with the running sections bound at start-up, and the names of those it
    would have changed (they take a restart)."""
    bound = RESTART_SECTIONS + tuple(d.name for d in loaded.descriptors)
    changed = [name for name in bound if getattr(loaded, name) != getattr(running, name)]
    return loaded.model_copy(update={name: getattr(running, name) for name in bound}), changed


async def reload_config(app: App, path: str | Path) -> bool:
    """Re-read `path` and run on it; False (and the running config stays) if it is refused."""
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        log.error("reload refused, the running config stays: %s", exc, extra={"event": "reload_refused"})
        return False
    cfg, changed = keep_bound(loaded, app.cfg)
    try:
        await app.desk.reconfigure(cfg)
    except Exception as exc:  # e.g. a calendar's country the holidays package does not know
        log.error("reload refused, the running config stays: %s: %s: %s", path, type(exc).__name__, exc,
                  extra={"event": "reload_refused"})
        return False
    app.cfg = cfg
    app.schedule_jobs()
    if changed:
        log.warning("%s: [%s] changed: that takes a restart (the running settings stay until then)",
                    path, "], [".join(changed), extra={"event": "reload_needs_restart"})
    log.info("reloaded %s: %d engineers, %d organisations, %d plans", path, len(cfg.engineers),
             len(cfg.organisations), len(cfg.plans), extra={"event": "reloaded"})
    return True


class Reloadable(Protocol):
    """What SIGHUP reloads: the desk while it is active; a standby keeps the new file for
    when it takes over (`bot/app/standby.py`'s Runner)."""

    @property
    def app(self) -> App | None: ...

    def adopt(self, cfg: Config) -> None: ...


def reload_on_sighup(target: Reloadable, config: str | Path) -> None:
    """SIGHUP reloads `config` (one reload at a time, in order)."""
    lock = asyncio.Lock()
    tasks: set[asyncio.Task[bool]] = set()

    async def once() -> bool:
        async with lock:
            return await _reload(target, config)

    def on_signal() -> None:
        task = asyncio.create_task(once(), name="dutydesk-reload")
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, on_signal)


def announce(config: str | Path) -> None:
    """The active desk's pid where `dutydesk reload` looks (a standby's would point it at
    the wrong process; a refused second runner's would hide the running one)."""
    try:
        write_pid(config)
    except OSError as exc:  # a read-only /etc under systemd: its ExecReload signals the pid it knows
        log.warning("no pid file %s (%s): `dutydesk reload` cannot find this desk; SIGHUP reloads it",
                    pid_file(config), exc.strerror or exc)


async def _reload(target: Reloadable, config: str | Path) -> bool:
    app = target.app
    if app is not None:
        if await reload_config(app, config):
            target.adopt(app.cfg)
            return True
        return False
    try:  # standing by: checked now, used at the takeover
        target.adopt(load_config(config))
    except ConfigError as exc:
        log.error("reload refused, the running config stays: %s", exc, extra={"event": "reload_refused"})
        return False
    log.info("reloaded %s while standing by: used when this desk takes over", config, extra={"event": "reloaded"})
    return True


def pid_file(config: str | Path) -> Path:
    path = Path(config)
    return path.with_name(path.name + ".pid")


def write_pid(config: str | Path) -> Path:
    path = pid_file(config)
    path.write_text(f"{os.getpid()}\n", encoding="ascii")
    return path


def remove_pid(config: str | Path) -> None:
    path = pid_file(config)
    try:
        if path.read_text(encoding="ascii").strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        pass


def signal_reload(config: str | Path) -> int:
    """Send SIGHUP to the desk running with `config`; its pid. Raises ConfigError when
    none is (no pid file, or its process is gone)."""
    path = pid_file(config)
    try:
        pid = int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        raise ConfigError(f"{path}: no running desk found (dutydesk run writes its pid there)") from None
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise ConfigError(f"{path}: process {pid} is not running (a stale pid file)") from None
    return pid
