"""The desk's collaborators, built once from the configuration and shared by its handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.app.config import Config
from bot.core.clock import Clock
from bot.core.directory import Directory
from bot.core.telemetry import NoTelemetry, Telemetry
from bot.core.triage import Triage
from bot.core.work import Work
from bot.core.written import WrittenTimers
from bot.flows.notify import Notifier
from bot.i18n import texts
from bot.sla.clocks import SlaBook, build_calendars
from routing.language import LanguageDetector
from storage.base import Store


@dataclass
class Services:
    cfg: Config
    store: Store
    clock: Clock
    directory: Directory
    sla: SlaBook
    triage: Triage
    notifier: Notifier
    # Told after every commit: the dispatcher wakes for new outbox rows, the scheduler
    # re-arms for earlier deadlines.
    listeners: list[Callable[[Work], None]] = field(default_factory=list)
    telemetry: Telemetry = field(default_factory=NoTelemetry)
    written: WrittenTimers = field(default_factory=WrittenTimers)

    @classmethod
    def build(
        cls, cfg: Config, store: Store, clock: Clock, channels: frozenset[str],
        detector: LanguageDetector | None = None,
    ) -> Services:
        texts.use_fallback(cfg.desk.text_fallback)
        directory = Directory(cfg, channels)
        sla = SlaBook(cfg, build_calendars(cfg))
        return cls(
            cfg=cfg, store=store, clock=clock, directory=directory, sla=sla,
            triage=Triage(cfg, directory, sla, detector),
            notifier=Notifier(directory, cfg.routing.tier_names, cfg.desk.staff_room_language),
        )

    def work(self) -> Work:
        return Work(self.clock.now(), self.sla, self.cfg.desk.reopen_within, self.written)

    async def commit(self, work: Work) -> None:
        await self.store.commit(work.changeset())
        work.remember()
        for listener in self.listeners:
            listener(work)
