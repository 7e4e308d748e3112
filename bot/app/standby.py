"""`dutydesk run` as a service: the HTTP server (`/healthz`, `/readyz`, webhooks) runs all
the time, the desk itself — channels, dispatcher, scheduler — only while this process
holds the database's runner claim.

Only one desk may poll and send at a time: two would deliver the whole outbox twice.

- **SQLite** (one machine, one file): the claim is a `flock` on the file; a second
  `dutydesk run` is refused (`storage.AnotherRunner`), as there is nothing to fail over to.
- **PostgreSQL**: the claim is a session advisory lock on a connection of its own
  (`storage/claim.py`). A second `dutydesk run` waits as a **standby** — it polls nothing,
  sends nothing, and `/readyz` answers 503 — trying the lock every `[standby]
  retry_seconds`. When the active desk ends (SIGTERM, kill -9, its connection lost) the
  lock is free and the standby takes over: it opens (and migrates) the store under the
  claim, fires the deadlines that came due (before any channel takes a message, as
  `App.start` does), then starts the channels, the dispatcher and the scheduler.

**Fencing.** The active desk watches its claim: asyncpg tells at once when the claim's
connection closes, and a `SELECT 1` on it every `check_seconds` catches a server that
stopped answering. Having lost it, the desk stops polling and sending at once (scheduler,
dispatcher, channels; the store last) and goes back to standby: another desk may already
hold the claim. A desk that takes the claim after waiting opens the store at once but
starts the desk only `check_seconds` later, so that a previous holder whose session the
server dropped has noticed and stopped.

**In flight when the claim is lost**: sends already on the wire are abandoned unbooked, so
the next active desk sends them again — at most `[delivery] max_in_flight`, the same
at-least-once a crash costs. Updates being taken are not confirmed (no offset moved, no
200), so the platform delivers them again and the desk's de-duplication takes them once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.app import heap
from bot.app.config import Config, ConfigError
from bot.app.factory import App
from bot.app.http import HttpServer
from bot.app.metrics import DeskMetrics, serve_metrics
from bot.app.readiness import Readiness
from bot.app.reload import announce, keep_bound, remove_pid
from bot.core.clock import Clock
from bot.delivery.contract import Adapter
from routing.language import LanguageDetector
from storage import Store

if TYPE_CHECKING:
    from storage.claim import PostgresClaim

log = logging.getLogger("dutydesk.standby")


class StartFailed(Exception):
    """A channel could not start (the platform unreachable, the bot misconfigured)."""


def waits_as_standby(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class Runner:
    """One `dutydesk run`: stand by, lead, and stand by again after losing the claim."""

    def __init__(self, cfg: Config, build_adapters: Callable[[], dict[str, Adapter]], stop: asyncio.Event,
                 config_path: str | None = None) -> None:
        self._cfg = cfg
        self._config_path = config_path  # where the active desk leaves its pid for `dutydesk reload`
        self._build_adapters = build_adapters
        self._stop = stop
        self.readiness = Readiness(cfg.health)
        self.http = HttpServer(cfg.http.host, cfg.http.port)
        self.http.app.router.add_get("/readyz", self.readiness.handle)
        serve_metrics(self.http, self._metrics)
        if cfg.dashboard.enabled:
            from bot.dashboard.site import mount

            mount(self.http.app, lambda: None if self.app is None else self.app.desk)
        self._serving = False
        self._detector: LanguageDetector | None = None
        # After a takeover, when the previous holder has surely noticed: the store opens
        # meanwhile, the desk starts (fires deadlines, polls, sends) only then.
        self._start_after = 0.0

    @property
    def app(self) -> App | None:
        """The desk while this process is the active one."""
        return self.readiness.app

    def adopt(self, cfg: Config) -> None:
        """A config reloaded (SIGHUP): the next takeover starts with it (less what is bound
        at start-up: the database, the channels, the HTTP server)."""
        self._cfg = keep_bound(cfg, self._cfg)[0]

    def _metrics(self) -> tuple[DeskMetrics, Store, Clock] | None:
        app = self.app
        return None if app is None else (app.metrics, app.store, app.desk.clock)

    async def run(self) -> int:
        """0 once stopped; raises `storage.AnotherRunner` (SQLite held elsewhere), `StartFailed`."""
        try:
            fenced = False
            while not self._stop.is_set():
                claim = None
                if waits_as_standby(self._cfg.storage.url):
                    claim = await self._wait_for_claim(fenced)
                    if claim is None:
                        break
                if await self._lead(claim):
                    break
                fenced = True
            return 0
        finally:
            await self.http.stop()

    async def _serve_http(self) -> None:
        """Started after the first try of the claim: a refused SQLite runner says so, not
        that its port is taken."""
        if self._serving:
            return
        try:
            await self.http.start()
        except OSError as exc:
            where = f"{self._cfg.http.host}:{self._cfg.http.port}"
            raise ConfigError(f"http: cannot listen on {where} ({exc.strerror or exc}): "
                              "choose another [http] port") from None
        self._serving = True

    async def _wait_for_claim(self, fenced: bool) -> PostgresClaim | None:
        """The claim once held; None when stopped while waiting. A desk just fenced lets a
        standby that was already waiting go first (two of its tries), then competes again."""
        from storage.claim import UNREACHABLE, PostgresClaim  # asyncpg: only with the postgres extra

        claim, waited, said = PostgresClaim(self._cfg.storage.url), fenced, ""
        if self._detector is None:  # once, while nothing waits: loading its models takes a second
            self._detector = LanguageDetector(self._cfg.desk.languages, default=self._cfg.desk.default_language)
        if fenced:
            self.readiness.role = "standby"
            await self._pause(2 * self._cfg.standby.retry_seconds)
        while not self._stop.is_set():
            try:
                if await claim.take():
                    if waited:
                        grace = self._cfg.standby.check_seconds
                        log.info("the claim is free: taking over (starting in %.1f s)", grace)
                        self._start_after = asyncio.get_running_loop().time() + grace
                    return claim
                news = f"standby: another desk holds schema {claim.schema}; taking over when it stops"
            except UNREACHABLE as exc:  # the server is down or restarting: a standby waits for it too
                news = f"standby: the database does not answer ({type(exc).__name__}: {exc}); trying again"
            self.readiness.role, waited = "standby", True
            if news != said:
                log.info("%s", news)
                said = news
            await self._serve_http()
            await self._pause(self._cfg.standby.retry_seconds)
        await claim.release()
        return None

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _lead(self, claim: PostgresClaim | None) -> bool:
        """Run the desk until stopped (True) or fenced (False)."""
        try:
            app = await App.create(self._cfg, adapters=self._build_adapters(), detector=self._detector,
                                   runner=True, claim=claim, http=self.http)
        except Exception as exc:
            if claim is None:
                raise
            await claim.release()  # a store that cannot open now: let another desk try
            log.error("taking over failed (%s: %s); standing by", type(exc).__name__, exc)
            await self._pause(self._cfg.standby.retry_seconds)
            return False
        self._detector = app.desk.services.triage.detector  # the next takeover reuses it
        watch = asyncio.create_task(self._watch(claim), name="dutydesk-claim-watch")
        stopped = asyncio.create_task(self._stop.wait(), name="dutydesk-stop")
        try:
            await self._serve_http()
            await self._pause(self._start_after - asyncio.get_running_loop().time())
            if self._stop.is_set():
                return True
            await self._start(app)
            heap.settle()
            self.readiness.app, self.readiness.role = app, "active"
            if self._config_path is not None:
                announce(self._config_path)
            log.info("running: %s", ", ".join(app.adapters))
            await asyncio.wait({watch, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not stopped.done():
                log.error("fenced: this desk lost its database session and with it the claim; "
                          "stopped polling and sending; standing by")
            return stopped.done()
        finally:
            self.readiness.app, self.readiness.role = None, "stopping"
            if self._config_path is not None:
                remove_pid(self._config_path)
            watch.cancel()
            stopped.cancel()
            await app.stop()
            heap.release()

    async def _start(self, app: App) -> None:
        try:
            await app.start()
        except ConfigError:
            raise
        except Exception as exc:  # a channel that cannot connect: say which and why, in one line
            log.debug("start-up failed", exc_info=True)
            raise StartFailed(f"{type(exc).__name__}: {exc}") from exc

    async def _watch(self, claim: PostgresClaim | None) -> None:
        """Returns when the claim is lost (never for SQLite: a flock lasts as long as the process)."""
        if claim is None:
            await asyncio.Event().wait()
            return
        every = self._cfg.standby.check_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(claim.lost.wait(), every)
            if not await claim.alive(every):
                return
