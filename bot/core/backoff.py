"""Pauses between retries: doubling, capped, jittered.

Every retry loop of the desk (the dispatcher's per-message retries, intake's attempts at a
failing update, the Telegram poll after an error) waits by this rule. The jitter matters
after an outage: without it every chat's retry falls due at the same instants and the
recovering platform or database gets them all at once, again and again. "Equal jitter":
each pause is drawn from the upper half of its doubling step, so retries spread out while
none comes much sooner than planned. It is a formula, not a retry loop, because each
caller's loop is different (a lane keeps its queue, intake dead-letters, polling never
gives up); a retry library would bring its loop along.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

# 2 ** 60 seconds is beyond any cap; a larger exponent would only risk a float overflow.
_MAX_DOUBLINGS = 60


def pause(attempt: int, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry)."""
    step = min(base * 2 ** min(max(attempt - 1, 0), _MAX_DOUBLINGS), cap)
    return float(step / 2 + rng() * step / 2)


class Backoff:
    """A loop's pauses: longer after each failure, back to the first after a success."""

    def __init__(
        self, first: float, cap: float, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._first = first
        self._cap = cap
        self._sleep = sleep
        self._failures = 0

    async def pause(self) -> None:
        self._failures += 1
        await self._sleep(pause(self._failures, self._first, self._cap))

    def reset(self) -> None:
        self._failures = 0
