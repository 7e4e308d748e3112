"""Group commit for customer messages: whatever queued while the desk was busy is decided
together and committed in one transaction.

One commit per message costs a transaction each (and a hop to the database thread each);
under a burst — a webhook flood, a restart's backlog — messages queue anyway, so the ones
waiting are taken together: one read of the store, the decisions in arrival order, one
commit. A lone message is a batch of one, as fast as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from bot.domain import Inbound
from bot.intake import Receipt

log = logging.getLogger("dutydesk.intake")

MAX_BATCH = 256

Decide = Callable[[Sequence[Inbound]], Awaitable[list[Receipt]]]


class GroupCommit:
    def __init__(self, lock: asyncio.Lock, decide: Decide, max_batch: int = MAX_BATCH) -> None:
        self._lock = lock
        self._decide = decide
        self._max = max_batch
        self._waiting: deque[tuple[Inbound, asyncio.Future[Receipt]]] = deque()
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, msg: Inbound) -> Receipt:
        """Decide and commit `msg` (with whatever else is waiting); returns once committed."""
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._waiting.append((msg, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain(), name="dutydesk-intake")
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._take()
            async with self._lock:
                await self._run(batch)

    def _take(self) -> list[tuple[Inbound, asyncio.Future[Receipt]]]:
        """The next batch, in arrival order. A part of an album goes alone: the parts merge
        into one stored message, which the next part must find in the store."""
        batch = [self._waiting.popleft()]
        while self._waiting and len(batch) < self._max and batch[0][0].album is None:
            if self._waiting[0][0].album is not None:
                break
            batch.append(self._waiting.popleft())
        return batch

    async def _run(self, batch: list[tuple[Inbound, asyncio.Future[Receipt]]]) -> None:
        try:
            receipts = await self._decide([msg for msg, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            # Something in the batch failed and nothing was committed: decide each message on
            # its own, so one bad message cannot hold back the others.
            log.warning("a batch of %d messages failed (%s); deciding them one by one", len(batch), exc)
            for item in batch:
                await self._run([item])
            return
        for (_, future), receipt in zip(batch, receipts, strict=True):
            _settle(future, receipt)


def _settle(future: asyncio.Future[Receipt], outcome: Receipt | BaseException) -> None:
    if future.done():  # the caller gave up waiting; the message is committed all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
