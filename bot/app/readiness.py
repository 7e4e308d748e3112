"""`/readyz`: whether this process is the desk at work and works well enough to be sent
traffic. (`/healthz` says only that the process is alive: restart it when that fails.)

Ready means every check passes:

- `active` — this process holds the database's runner claim; a standby answers 503, so a
  load balancer that routes on `/readyz?only=active` reaches the active desk only
  (docs/standby.md);
- `database` — a read answers within `[health] database_timeout_seconds`;
- `intake.<channel>` — each channel's intake moves (`ChannelBase.intake_problem`: a polling
  channel completes its getUpdates rounds, a socket stays connected);
- `outbox` — the oldest pending outbound message is younger than `outbox_max_age_seconds`;
- `dead_letters` — no set-aside update is still open (`dutydesk deadletter list`).

The answer is JSON that names what fails: `{"ready": false, "role": "active", "checks":
{"outbox": {"ok": false, "detail": "…"}, …}}`. `?only=NAME,NAME` asks only those checks
(`intake` for every channel's): a load balancer must not take the one active desk out of
rotation because a dead letter waits for a person.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from aiohttp import web

from bot.app.config import HealthConfig

if TYPE_CHECKING:
    from bot.app.factory import App

Check = dict[str, Any]
NAMES = ("active", "database", "intake", "outbox", "dead_letters")


@runtime_checkable
class WatchedIntake(Protocol):
    async def intake_problem(self, margin: float) -> str | None: ...


def _passed(**facts: Any) -> Check:
    return {"ok": True, **facts}


def _failed(detail: str, **facts: Any) -> Check:
    return {"ok": False, "detail": detail, **facts}


class Readiness:
    """The `/readyz` handler; `app` is the running desk while this process is active."""

    def __init__(self, cfg: HealthConfig) -> None:
        self._cfg = cfg
        self.app: App | None = None
        self.role = "starting"  # then "standby", "active", "stopping"

    async def handle(self, request: web.Request) -> web.Response:
        only = request.query.get("only")
        wanted = set(only.split(",")) if only else set(NAMES)
        unknown = wanted - set(NAMES)
        if unknown:
            return web.json_response({"error": f"unknown checks {sorted(unknown)}; known: {list(NAMES)}"}, status=400)
        checks = await self.checks(wanted)
        ready = all(check["ok"] for check in checks.values())
        return web.json_response({"ready": ready, "role": self.role, "checks": checks}, status=200 if ready else 503)

    async def checks(self, wanted: set[str]) -> dict[str, Check]:
        app = self.app
        if app is None:
            return {"active": _failed(f"{self.role}: this process does not run the desk now")}
        checks: dict[str, Check] = {"active": _passed()} if "active" in wanted else {}
        if wanted & {"database", "outbox", "dead_letters"}:
            checks.update({name: check for name, check in (await self._backlog(app)).items() if name in wanted})
        if "intake" in wanted:
            checks.update(await self._intake(app.adapters))
        return checks

    async def _backlog(self, app: App) -> dict[str, Check]:
        """The database answers; the outbox's oldest pending row and the open dead letters."""
        try:
            async with asyncio.timeout(self._cfg.database_timeout_seconds):
                oldest = await app.store.pending_outbox(0, 1)
                counts = await app.store.dead_letter_counts()
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            unknown = _failed("the database did not answer")
            return {"database": _failed(problem), "outbox": unknown, "dead_letters": unknown}
        limit = self._cfg.outbox_max_age_seconds
        age = (app.desk.clock.now() - oldest[0]["created_at"]).total_seconds() if oldest else 0.0
        outbox = _passed(oldest_pending_seconds=round(age, 1)) if age <= limit else _failed(
            f"the oldest pending message (outbox {oldest[0]['id']}) waits for {age:.0f} s (limit {limit:.0f} s)",
            oldest_pending_seconds=round(age, 1))
        open_letters = counts.get("open", 0)
        dead = _passed(open=0) if not open_letters else _failed(
            f"{open_letters} set-aside update(s) wait: dutydesk deadletter list", open=open_letters)
        return {"database": _passed(), "outbox": outbox, "dead_letters": dead}

    async def _intake(self, adapters: Mapping[str, object]) -> dict[str, Check]:
        checks: dict[str, Check] = {}
        for name, adapter in adapters.items():
            if isinstance(adapter, WatchedIntake):
                problem = await adapter.intake_problem(self._cfg.intake_margin_seconds)
                checks[f"intake.{name}"] = _passed() if problem is None else _failed(problem)
        return checks
