"""Delivers the outbox: every committed outbound message, through its channel, once.

Messages are grouped into lanes (one chat, usually) that keep their order: if a message to
a chat must wait — a 429, a network error — the later ones to that chat wait behind it,
while other chats go on. Retries back off exponentially, with jitter (bot/core/backoff.py), so
that after an outage the chats do not all retry in lockstep; a message the platform will
never take (the user blocked the bot) is marked failed and the desk is told. A message is
marked sent only after the platform accepted it, so a crash in between re-sends it on
restart: at-least-once towards the platform, exactly-once in the outbox's books.

A crash between the platform taking a message and the outbox booking it sends it again,
so the dispatcher bounds that window: at most `[delivery] max_in_flight` messages are
ever sent and not yet booked (across all lanes), and bookings that come due together are
committed together (`bot/core/groupcommit.py`).

The books themselves can be out of reach for a while (another process holds SQLite's
write lock, PostgreSQL fails over). Every storage call a lane makes is retried with
back-off until it succeeds, and only then does the lane move on: a message the platform
took is never sent again while the process runs, and a lane never dies — a lane that
raised would leave its chat's later messages pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Protocol

from bot.app.config import DeliveryConfig
from bot.core.records import outbound_from_row
from bot.core.telemetry import NoTelemetry, Telemetry
from bot.delivery.contract import (
    Audience,
    Channel,
    ChatMoved,
    DeliveryResult,
    Lane,
    Outbound,
    RetryLater,
    Undeliverable,
)
from bot.delivery.pacing import Pacer
from storage.base import Store

log = logging.getLogger("dutydesk.dispatcher")

FETCH = 500


class DeliveryListener(Protocol):
    """The desk's side of delivery: it books outcomes in the store and reacts to them."""

    async def record_delivery(self, message: Outbound, result: DeliveryResult) -> None: ...

    async def delivery_failed(self, message: Outbound, reason: str) -> None: ...

    async def chat_moved(self, channel: str, old_chat_id: str, new_chat_id: str) -> None: ...


@dataclass
class _LaneState:
    channel: str
    lane: Lane
    queue: deque[Outbound] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class Dispatcher:
    def __init__(
        self,
        store: Store,
        listener: DeliveryListener,
        channels: Mapping[str, Channel],
        config: DeliveryConfig,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._telemetry = telemetry or NoTelemetry()
        self._store = store
        self._listener = listener
        self._channels = dict(channels)
        self._config = config
        self._sleep = sleep
        self._pacers = {name: Pacer(ch.per_second) for name, ch in self._channels.items()}
        self._lanes: dict[str, _LaneState] = {}
        # Coalesce key -> newest queued outbox id; forgotten when that message is done.
        self._latest: dict[str, int] = {}
        # (ticket, channel) -> its staff thread and header, for tickets with staff-room
        # messages queued (`_queued` counts them); the store has them for the rest.
        self._threads: dict[tuple[int, str], tuple[str, str | None]] = {}
        self._queued: dict[tuple[int, str], int] = {}
        self._cursor = 0
        self._wake = asyncio.Event()
        self._pumping = asyncio.Lock()
        self._unbooked = asyncio.Semaphore(config.max_in_flight)
        self._warned: set[str] = set()
        self._runner: asyncio.Task[None] | None = None

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="dutydesk-dispatcher")

    async def stop(self) -> None:
        tasks = [t for t in (self._runner, *(s.task for s in self._lanes.values())) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runner = None

    def wake(self) -> None:
        """New outbox rows were committed."""
        self._wake.set()

    async def flush(self) -> None:
        """Deliver everything pending now (and whatever that causes); for tests, the demo
        and shutdown. Messages to channels that are not running stay pending."""
        while True:
            fetched = await self._pump()
            tasks = [s.task for s in self._lanes.values() if s.task is not None]
            if not fetched and not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                fetched = await self._pump()
            except Exception:
                failures += 1
                log.exception("reading the outbox failed; retrying")
                await self._sleep(self._config.pause(failures))
                continue
            failures = 0
            if fetched < FETCH:
                await self._wake.wait()

    async def _book(self, what: str, call: Callable[[], Awaitable[None]]) -> None:
        """A storage call the lane cannot move on without, retried until it succeeds."""
        failures = 0
        while True:
            try:
                await call()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = self._config.pause(failures)
                log.warning("%s failed (%s: %s); trying again in %.2fs", what, type(exc).__name__, exc, delay)
                await self._sleep(delay)

    # -- reading the outbox ------------------------------------------------------------------

    async def _pump(self) -> int:
        # One reader at a time: flush() and the loop read from one cursor, and two reads
        # racing from it would queue the same rows twice.
        async with self._pumping:
            rows = await self._store.pending_outbox(self._cursor, FETCH)
            # Staff threads are read for the tickets being delivered, not all at start-up
            # (one row per ticket ever: 100k tickets = +56 MB and 0.5 s).
            missing = sorted({
                row["ticket_id"] for row in rows
                if row["audience"] == Audience.STAFF_ROOM.value and row["ticket_id"] is not None
                and (row["ticket_id"], row["channel"]) not in self._threads
            })
            if missing:
                for t in await self._store.staff_threads(missing):
                    self._threads.setdefault((t["ticket_id"], t["channel"]), (t["thread_id"], t["header_id"]))
            for row in rows:
                self._cursor = max(self._cursor, row["id"])
                self._enqueue(outbound_from_row(row))
            return len(rows)

    def _enqueue(self, message: Outbound) -> None:
        channel = self._channels.get(message.recipient.channel)
        if channel is None:
            if message.recipient.channel not in self._warned:
                self._warned.add(message.recipient.channel)
                log.warning("channel %s is not running: its messages stay in the outbox", message.recipient.channel)
            return
        if message.coalesce:
            self._latest[message.coalesce] = message.id
        thread = _thread_key(message)
        if thread is not None:
            self._queued[thread] = self._queued.get(thread, 0) + 1
        lane = channel.lane(message.recipient)
        state = self._lanes.get(lane.key)
        if state is None:
            state = self._lanes[lane.key] = _LaneState(message.recipient.channel, lane)
        state.queue.append(message)
        if state.task is None or state.task.done():
            state.task = asyncio.create_task(self._drive(state), name=f"dutydesk-lane-{lane.key}")

    # -- delivering one lane -------------------------------------------------------------------

    async def _drive(self, state: _LaneState) -> None:
        failures = 0
        try:
            while state.queue:
                message = state.queue[0]
                if message.coalesce and self._latest.get(message.coalesce) != message.id:
                    self._done(state)  # a newer version is queued; the outbox marked this superseded
                    continue
                try:
                    if await self._deliver(state, self._with_thread(message)):
                        self._done(state)
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception:  # a bug, not a platform's answer: the lane must live on
                    failures += 1
                    log.exception("delivering outbox %s failed unexpectedly; trying again", message.id)
                    await self._sleep(self._config.pause(failures))
        finally:
            if self._lanes.get(state.lane.key) is state and not state.queue:
                del self._lanes[state.lane.key]
                self._pacers[state.channel].forget(state.lane)

    def _done(self, state: _LaneState) -> None:
        """The lane's first message is done with: off the queue, and out of the caches."""
        message = state.queue.popleft()
        if message.coalesce and self._latest.get(message.coalesce) == message.id:
            del self._latest[message.coalesce]
        thread = _thread_key(message)
        if thread is not None:
            left = self._queued.get(thread, 0) - 1
            if left > 0:
                self._queued[thread] = left
            else:
                self._queued.pop(thread, None)
                self._threads.pop(thread, None)

    async def _deliver(self, state: _LaneState, message: Outbound) -> bool:
        """One attempt. True when the message is done with (sent or given up)."""
        await self._pacers[message.recipient.channel].wait(state.lane)
        # A message the platform took but the books have not: what a crash would send again.
        # The slot is held from the send to its booking, so never more than `max_in_flight`.
        async with self._unbooked:
            done, pause = await self._attempt(state, message)
        if pause:
            await self._sleep(pause)
        return done

    async def _attempt(self, state: _LaneState, message: Outbound) -> tuple[bool, float]:
        """(done with it, seconds to wait before the next attempt)."""
        name = message.recipient.channel
        channel = self._channels[name]
        pacer = self._pacers[name]
        try:
            result = await channel.deliver(message, lambda: pacer.wait(state.lane))
        except RetryLater as exc:
            log.info("%s asked to wait %.1fs before outbox %s", name, exc.seconds, message.id)
            pacer.hold(state.lane, exc.seconds)
            self._telemetry.rate_limited(name)
            return False, 0.0
        except Undeliverable as exc:
            self._telemetry.delivery_failed(name)
            await self._book(f"booking outbox {message.id} as undeliverable",
                             partial(self._listener.delivery_failed, message, str(exc)))
            return True, 0.0
        except ChatMoved as exc:
            await self._book(f"moving chat {message.recipient.chat_id}",
                             partial(self._listener.chat_moved, name, message.recipient.chat_id, exc.new_chat_id))
            self._move_lane(state, message.recipient.chat_id, exc.new_chat_id)
            return False, 0.0
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return await self._retry_or_give_up(state, message, exc)
        self._telemetry.message_out(name)
        self._remember_thread(message, result)
        # The platform has it: from here on only the books may be retried, never the send.
        await self._book(f"booking outbox {message.id} as sent",
                         partial(self._listener.record_delivery, message, result))
        return True, 0.0

    async def _retry_or_give_up(self, state: _LaneState, message: Outbound, exc: Exception) -> tuple[bool, float]:
        attempts = message.attempts + 1
        reason = f"{type(exc).__name__}: {exc}"
        if attempts >= self._config.max_attempts:
            log.error("outbox %s failed %d times, giving up: %s", message.id, attempts, reason,
                      extra=_about(message, "delivery_failed"))
            self._telemetry.delivery_failed(message.recipient.channel)
            await self._book(f"booking outbox {message.id} as failed", partial(
                self._listener.delivery_failed, message, f"gave up after {attempts} attempts: {reason}"))
            return True, 0.0
        delay = self._config.pause(attempts)
        log.warning("outbox %s attempt %d failed (%s); retrying in %.1fs", message.id, attempts, reason, delay,
                    extra=_about(message, "delivery_retry"))
        self._telemetry.delivery_retry(message.recipient.channel)
        await self._book(f"noting attempt {attempts} of outbox {message.id}",
                         partial(self._store.note_attempt, message.id, reason))
        state.queue[0] = replace(message, attempts=attempts)
        return False, delay

    def _move_lane(self, state: _LaneState, old: str, new: str) -> None:
        state.queue = deque(
            replace(m, recipient=replace(m.recipient, chat_id=new)) if m.recipient.chat_id == old else m
            for m in state.queue
        )

    # -- staff threads -------------------------------------------------------------------------

    def _with_thread(self, message: Outbound) -> Outbound:
        rcpt = message.recipient
        if rcpt.audience != Audience.STAFF_ROOM or message.ticket_id is None:
            return message
        bound = self._threads.get((message.ticket_id, rcpt.channel))
        if bound is None:
            return message
        thread_id, header_id = bound
        return replace(message, recipient=replace(rcpt, thread_id=thread_id), header_id=header_id)

    def _remember_thread(self, message: Outbound, result: DeliveryResult) -> None:
        rcpt = message.recipient
        if message.ticket_id is None or rcpt.audience != Audience.STAFF_ROOM:
            return
        key = (message.ticket_id, rcpt.channel)
        thread_id, header_id = self._threads.get(key, (rcpt.thread_id, None))
        self._threads[key] = (result.thread_id or thread_id or "", result.header_id or header_id)


def _about(message: Outbound, event: str) -> dict[str, object]:
    """A log line's context (see `bot/app/logs.py`): the ticket, channel and what happened."""
    return {"ticket": message.ticket_id, "channel": message.recipient.channel, "event": event}


def _thread_key(message: Outbound) -> tuple[int, str] | None:
    """The staff thread a message goes into, if it goes into one."""
    if message.ticket_id is None or message.recipient.audience != Audience.STAFF_ROOM:
        return None
    return message.ticket_id, message.recipient.channel
