"""Updates the desk could not take: tried a few times, then set aside — never a wall.

A messenger redelivers what the desk did not confirm (Telegram's offset, a webhook's
non-2xx, Slack's retries), which is right for a passing fault — the database restarting —
and fatal for an update that fails every time: the poll's offset never moves past it, or
the webhook is retried for ever, and every later customer waits behind it while /healthz
still says ok. So each adapter takes its updates through a `Guard`: a few attempts with
jittered back-off, then the raw update goes to the dead-letter table with its error, the
leads are told once, and the adapter confirms the update so intake moves on.

If the dead letter cannot be written either (the database itself is down), the guard
raises and the adapter leaves the update unconfirmed, as before: nothing is lost.

`dutydesk deadletter retry ID` marks a row; the running desk replays it through the
adapter of its channel (`Desk.accept_replays`), and a replay that fails again puts the
row back, without telling anyone a second time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, replace
from typing import Any

from bot.app.config import IntakeConfig
from bot.core.sanitize import as_json, scrub_text
from bot.core.services import Services
from bot.i18n import texts

log = logging.getLogger("dutydesk.deadletters")

OPEN, RETRY, DONE = "open", "retry", "done"
ERROR_LENGTH = 2000
ALERT_ERROR_LENGTH = 300

Handle = Callable[[], Awaitable[object]]
Payload = Callable[[], Any]
Replay = Callable[[Any], Awaitable[object]]


def describe(exc: BaseException) -> str:
    """One line for the table and the leads: the exception's type and message, storable."""
    return scrub_text(f"{type(exc).__name__}: {exc}")[:ERROR_LENGTH]


@dataclass(frozen=True)
class Guard:
    """One channel's intake discipline (see the module doc). `budget` caps the seconds spent
    pausing between attempts: Slack wants its answer within three seconds."""

    desk: Any  # a `bot.core.desk.Desk`; typed loosely because the desk imports this module
    channel: str
    policy: IntakeConfig
    _: KW_ONLY
    budget: float | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def take(self, key: str, payload: Payload, handle: Handle) -> bool:
        """Run `handle` until it succeeds (True) or the attempts are used up, when the update
        is set aside (False). Raises only when setting it aside failed too."""
        policy = self.policy
        paused = 0.0
        attempt = 1
        while True:
            try:
                await handle()
                return True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = exc
            delay = policy.pause(attempt)
            if attempt >= policy.attempts or (self.budget is not None and paused + delay > self.budget):
                break
            log.warning("%s update %s failed (attempt %d: %s); trying again in %.2fs",
                        self.channel, key, attempt, describe(error), delay)
            paused += delay
            attempt += 1
            await self.sleep(delay)
        log.error("%s update %s failed %d times; setting it aside", self.channel, key, attempt, exc_info=error)
        await self.set_aside(key, payload(), describe(error), attempt)
        return False

    async def set_aside(self, key: str, payload: Any, error: str, attempts: int = 1) -> None:
        """Straight to the table: for an update that cannot even be read."""
        await self.desk.set_aside(self.channel, key, as_json(payload), scrub_text(error), attempts)


async def set_aside(s: Services, channel: str, key: str, payload: str, error: str, attempts: int) -> bool:
    """Keep the update; the leads hear of it the first time only. True if it was new.
    Runs under the desk's lock (the existing-row check and the insert are one decision)."""
    existing = await s.store.dead_letter_for(channel, key)
    work = s.work()
    work.set_aside({"channel": channel, "key": key, "payload": payload, "error": error[:ERROR_LENGTH],
                    "attempts": attempts, "state": OPEN, "created_at": work.now, "updated_at": work.now})
    if existing is None:
        waiting = (await s.store.dead_letter_counts()).get(OPEN, 0) + 1
        for lead in s.directory.leads():
            body = texts.staff_ntext("set_aside", attempts, s.notifier.engineer_language(lead), channel=channel,
                                     update=key, attempts=attempts, error=error[:ALERT_ERROR_LENGTH], count=waiting)
            alert = s.notifier.to_engineer(lead, "alert", body)
            if alert is not None:
                # A burst of them while the first alert waits for delivery: only the newest goes.
                work.send(replace(alert, coalesce=f"set-aside:{lead.id}"))
    await s.commit(work)
    return existing is None


async def retry_marked(s: Services, replays: dict[str, Replay], lock: asyncio.Lock) -> int:
    """Replay every row a person marked for retry, oldest first; returns how many were taken.

    The replay goes through the channel's guard, so one that fails again is set aside again
    (its row back to open, attempts added, nobody told twice); a row still marked afterwards
    was taken. Rows of channels this desk does not run wait for a desk that does."""
    taken = 0
    for row in reversed(await s.store.dead_letters(RETRY)):
        replay = replays.get(row["channel"])
        if replay is None:
            log.warning("dead letter %s is for %s, which this desk does not run; it waits", row["id"], row["channel"])
            continue
        try:
            await replay(json.loads(row["payload"]))
        except Exception as exc:  # the replay could not even be set aside again: try it later
            log.error("retrying dead letter %s failed: %s", row["id"], describe(exc))
            continue
        async with lock:
            if await s.store.mark_dead_letter(row["id"], DONE, s.clock.now(), only_from=(RETRY,)):
                log.info("dead letter %s (%s %s) was taken on retry", row["id"], row["channel"], row["key"])
                taken += 1
    return taken
