"""Group commit: whatever queued while the store was busy is committed together.

One commit per item costs a transaction each (and a hop to the database thread each);
under a burst — a webhook flood, a restart's backlog, a dispatcher delivering to many
chats at once — items queue anyway, so the ones waiting are taken together: one read of
the store, the decisions in arrival order, one commit. A lone item is a batch of one, as
fast as before.

The desk uses it twice: customer messages (decided under the desk's lock, see
`bot/flows/customer.py`), and delivery bookings — every message the platform took is booked as
sent, and the sooner the booking commits, the fewer messages a crash makes the outbox
send again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Generic, TypeVar

log = logging.getLogger("dutydesk.groupcommit")

MAX_BATCH = 256

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    def __init__(
        self, lock: asyncio.Lock | None, decide: Callable[[Sequence[T]], Awaitable[list[R]]],
        max_batch: int = MAX_BATCH, *, alone: Callable[[T], bool] = lambda _: False,
    ) -> None:
        """`decide` commits a batch and returns one result per item, in order; `lock`, if
        given, is held around each batch; an item for which `alone` holds goes in a batch
        of its own."""
        self._lock = lock
        self._decide = decide
        self._max = max_batch
        self._alone = alone
        self._waiting: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Commit `item` (with whatever else is waiting); returns once committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain(), name="dutydesk-group-commit")
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._take()
            held: AbstractAsyncContextManager[object] = self._lock if self._lock is not None else nullcontext()
            async with held:
                await self._run(batch)

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        """The next batch, in arrival order."""
        batch = [self._waiting.popleft()]
        while self._waiting and len(batch) < self._max and not self._alone(batch[0][0]):
            if self._alone(self._waiting[0][0]):
                break
            batch.append(self._waiting.popleft())
        return batch

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._decide([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            # Something in the batch failed and nothing was committed: each item on its
            # own, so one bad item cannot hold back the others.
            log.warning("a batch of %d failed (%s); committing them one by one", len(batch), exc)
            for entry in batch:
                await self._run([entry])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)


def _settle(future: asyncio.Future[R], outcome: R | BaseException) -> None:
    if future.done():  # the caller gave up waiting; the item is committed all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
