"""What every messenger adapter shares: the running flag and the start/stop discipline.

A channel delivers only while it runs — a send that reached the platform after shutdown
began could never be booked as sent, and would go out again after a restart — and a
channel that fails half-way through starting undoes what it started.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from bot.app.http import HttpServer
from bot.core.desk import Desk
from bot.delivery.contract import DeliveryResult, Lane, Outbound, Pace, Recipient, no_pace


class ChannelBase(ABC):
    name: str
    per_second: float

    def __init__(self) -> None:
        self.running = False
        # time.monotonic() of intake's last sign of life (a completed poll round): an
        # interval, not a time of day, so it is immune to clock steps and fake clocks.
        self.intake_at = time.monotonic()

    def intake_moved(self) -> None:
        self.intake_at = time.monotonic()

    async def intake_problem(self, margin: float) -> str | None:
        """Why intake is not moving (for `/readyz`), or None. Updates that arrive by request
        (a webhook, Slack's HTTP events) may rightly not come for hours, so such a channel
        counts as moving while it runs; a channel that fetches its updates overrides this."""
        return None if self.running else "not running"

    @abstractmethod
    def lane(self, recipient: Recipient) -> Lane: ...

    async def deliver(self, message: Outbound, pace: Pace = no_pace) -> DeliveryResult:
        if not self.running:
            raise ConnectionError(f"the {self.name} channel is not running")
        return await self._send(message, pace)

    async def start(self, desk: Desk, http: HttpServer | None) -> None:
        try:
            await self._connect(desk, http)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        self.running = False
        await self._disconnect()

    @abstractmethod
    async def _send(self, message: Outbound, pace: Pace) -> DeliveryResult: ...

    @abstractmethod
    async def _connect(self, desk: Desk, http: HttpServer | None) -> None:
        """Connect to the platform and start taking its events; set `running` once ready."""

    @abstractmethod
    async def _disconnect(self) -> None:
        """Stop taking events and release connections; called with `running` already off."""
