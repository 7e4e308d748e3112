"""Send pacing: stay under a platform's rate limits instead of bouncing off them.

Telegram allows about 30 messages a second overall, one a second per chat and twenty a
minute per group; Slack about one a second per channel. A 429 costs a round trip and a
`retry_after` of idle time, so the sender reserves a slot under every limit before each
call. Slots are handed out in the order they are asked for, so no lane starves.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from bot.delivery.contract import Lane

# Platforms count arrivals; our spacing is measured at departure. A small margin keeps
# network jitter from turning an exactly-spaced pair into a 429.
MARGIN = 1.03


class Pacer:
    def __init__(
        self,
        per_second: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._gap = MARGIN / per_second if per_second != float("inf") else 0.0
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_global = 0.0
        self._next_lane: dict[str, float] = {}
        self._minute: dict[str, deque[float]] = {}

    def reserve(self, lane: Lane) -> float:
        """Book the earliest slot that keeps every limit; returns seconds to wait for it."""
        now = self._monotonic()
        slot = max(now, self._next_lane.get(lane.key, 0.0))
        window = None
        if lane.per_minute is not None:
            window = self._minute.setdefault(lane.key, deque())
            while window and window[0] <= now - 60 * MARGIN:
                window.popleft()
            if len(window) >= lane.per_minute:
                slot = max(slot, window[-lane.per_minute] + 60 * MARGIN)
        slot = max(slot, self._next_global)
        self._next_global = slot + self._gap
        if lane.per_second != float("inf"):
            self._next_lane[lane.key] = slot + MARGIN / lane.per_second
        if window is not None:
            window.append(slot)
        return slot - now

    async def wait(self, lane: Lane) -> None:
        delay = self.reserve(lane)
        if delay > 0:
            await self._sleep(delay)

    def hold(self, lane: Lane, seconds: float) -> None:
        """The platform said "retry after": nothing goes to this lane before then."""
        until = self._monotonic() + seconds
        self._next_lane[lane.key] = max(self._next_lane.get(lane.key, 0.0), until)

    def forget(self, lane: Lane) -> None:
        """Drop an idle lane's bookkeeping once its limits no longer bind (memory stays
        proportional to active chats, not to every chat ever written to)."""
        now = self._monotonic()
        window = self._minute.get(lane.key)
        if self._next_lane.get(lane.key, 0.0) <= now and (not window or window[-1] <= now - 60 * MARGIN):
            self._next_lane.pop(lane.key, None)
            self._minute.pop(lane.key, None)
