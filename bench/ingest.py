"""Ingest bench: customer messages per second through the real desk, and the SQLite floor.

    python bench/ingest.py [--messages 1000] [--reps 3] [--rate 200] [--seconds 5] [--quick] [--postgres URL]

Every repetition opens a fresh temporary SQLite file and builds the real app (`App.create`:
store, desk, routing, dispatcher object) on the local channel with the example roster
(`config.example.toml` through `on_local_channel`, as the tests and the demo do), with a
`ManualClock` standing at Tuesday 2026-11-24 11:00 Moscow (day shift on). `Inbound` values
are built the way `LocalChannel.say` builds them and handed to `Desk.receive`, so the whole
path runs: de-duplication read, ticket look-up, language, priority, assignment, SLA
deadlines, outbound messages and one commit.

Measured, all in one run:

1. closed loop, one `receive` after another, the dispatcher NOT running (outbox rows stay
   pending): new-ticket messages (each from a new conversation) and then follow-ups (one
   more message in each of those conversations) — msgs/s and p50/p99 latency of `receive`;
   then a burst: as many new-ticket messages offered at once, which the desk decides in
   batches and commits together (group commit) — the figure the throughput target is read on.
   Twice: with the example roster as written (each engineer takes at most 15-25 open
   tickets, so after the first ~100 tickets the rest are queued and the lead is alerted),
   and with `max_open` lifted (every ticket is assigned) — the two routing paths.
2. the floor: a bare `sqlite3` loop on the same schema doing ticket, message, event and two
   outbox inserts and one commit per message (WAL, synchronous=NORMAL, foreign keys on).
3. open loop: messages offered at a fixed rate (asyncio tasks started on a schedule), half
   new tickets and half follow-ups, latency measured from each message's scheduled start —
   once with the dispatcher stopped and once with it delivering through the local channel.
4. a breakdown of where one new-ticket `receive` spends its time (store awaits vs routing
   vs the rest), from timing wrappers put on this bench's own desk instance; for the burst,
   the same wrappers split its time into the store's hops and the desk's own Python.

Figures are medians over the repetitions; nothing is asserted. Temporary files are removed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters.local import LocalChannel  # noqa: E402
from bot.app import heap  # noqa: E402
from bot.app.config import Config, load_config  # noqa: E402
from bot.app.demo_config import on_local_channel  # noqa: E402
from bot.app.factory import App  # noqa: E402
from bot.core.clock import ManualClock  # noqa: E402
from bot.core.domain import ConversationRef, Inbound, Sender  # noqa: E402
from routing.language import LanguageDetector  # noqa: E402
from storage.migrations import apply_sqlite_migrations  # noqa: E402

EXAMPLE = REPO / "config.example.toml"
MSK = ZoneInfo("Europe/Moscow")
TUESDAY_11 = datetime(2026, 11, 24, 11, 0, tzinfo=MSK)  # a Tuesday, the Moscow day shift is on
WARMUP = 50  # new tickets on each fresh desk before measuring (calendar memos, code paths)

TARGET_NEW_PER_S = 1000
TARGET_FLOOR_RATIO = 0.45  # issue 13
TARGET_P99_MS = 20.0

# -- the traffic ---------------------------------------------------------------------------------

TEXTS = {
    "ru": [
        "Добрый день! Не формируется отчёт по остаткам, выдаёт ошибку 500.",
        "Не могу войти в личный кабинет, пишет что пароль неверный, хотя я его только что сменил.",
        "Подскажите, пожалуйста, как выгрузить накладные за прошлый месяц в Excel?",
        "После обновления перестала работать интеграция с 1С, документы не приходят уже второй день.",
        "Здравствуйте. Не приходят письма с уведомлениями о новых заказах.",
        "Как добавить нового пользователя и выдать ему права только на просмотр?",
        "Ошибка при печати этикеток: принтер не найден, хотя он подключён и печатает из других программ.",
        "Вопрос по лицензии: сколько рабочих мест входит в наш тариф и можно ли докупить ещё два?",
    ],
    "en": [
        "Hi, our exports fail since this morning with a timeout error.",
        "How do I change the billing contact on our account?",
        "The dashboard shows yesterday's numbers, it looks like the sync job did not run.",
        "We cannot log in with SSO anymore, the identity provider says the certificate expired.",
        "Could you explain how the API rate limits work for bulk uploads?",
        "Invoices generated today have the wrong VAT rate for customers in Germany.",
        "Is there a way to schedule the weekly report to go out on Mondays instead of Fridays?",
        "The mobile app crashes when I open the warehouse map on Android 14.",
    ],
    "pl": [
        "Dzień dobry, nie działa logowanie do systemu od rana.",
        "Jak mogę wyeksportować listę faktur za ostatni kwartał?",
        "Po aktualizacji raporty generują się bardzo wolno, czasem ponad dziesięć minut.",
        "Nie przychodzą powiadomienia e-mail o nowych zamówieniach.",
        "Proszę o informację, jak dodać nowego użytkownika z uprawnieniami tylko do odczytu.",
        "Błąd przy imporcie pliku CSV: nieprawidłowy format daty w kolumnie C.",
    ],
}
URGENT = {
    "ru": ["Срочно! Всё упало, касса не работает, клиенты стоят в очереди.",
           "Всё упало после обновления, срочно нужна помощь"],
    "en": ["URGENT: production down, nobody can place orders", "Production down since 10 minutes, data loss possible"],
    "pl": ["Pilne! Produkcja stoi, system nie odpowiada."],
}
FOLLOW_UPS = {
    "ru": ["Добавлю: ошибка повторяется и у коллег.", "Скриншот прислать?", "Спасибо, ждём ответа.",
           "Уточнение: проблема только в браузере Chrome."],
    "en": ["Adding: my colleagues see the same error.", "Any news on this?", "Here is the request id: 7f3a-99c1.",
           "It also happens in the staging environment."],
    "pl": ["Dodam, że problem dotyczy wszystkich użytkowników.", "Czy są jakieś nowe informacje?",
           "Dziękuję, czekamy na odpowiedź."],
}
LANGUAGE_MIX = (("ru", 0.5), ("en", 0.3), ("pl", 0.2))
URGENT_SHARE = 0.05
# Members of the example organisations (their local twins), with the language they write in.
MEMBERS = (("200001", "ru"), ("200011", "ru"), ("200002", "ru"), ("200003", "pl"), ("200004", "en"))
ROMASHKA_CHAT = "-100200001"  # Romashka's group chat
MEMBER_SHARE = 0.4  # the rest are senders the desk does not know (default plan)
NAMES = ("Ivan Petrov", "Maria Ivanova", "Jan Kowalski", "Emma Clark", "Oleg Sidorov", "")


@dataclass(frozen=True)
class Conversation:
    user: str
    chat_id: str
    thread_id: str | None
    private: bool
    language: str  # what they write in
    hint: str | None  # the client's interface language (a detection hint), or None
    name: str


class Traffic:
    """Messages as `LocalChannel.say` would make them; each new conversation opens a ticket."""

    def __init__(self, seed: int, clock: ManualClock) -> None:
        self.rng = random.Random(seed)
        self.clock = clock
        self.ids = iter(range(1, 10**9))
        self.urgent = 0

    def conversation(self) -> Conversation:
        rng, n = self.rng, next(self.ids)
        if rng.random() < MEMBER_SHARE:
            user, language = rng.choice(MEMBERS)
            if user in ("200001", "200011") and rng.random() < 0.3:
                # In their organisation's group chat, a new thread per request.
                return Conversation(user, ROMASHKA_CHAT, f"th{n}", False, language,
                                    rng.choice((language, None)), rng.choice(NAMES))
            # In their private chat with the bot, a new thread per request.
            return Conversation(user, user, f"th{n}", True, language, rng.choice((language, None)), rng.choice(NAMES))
        language = rng.choices([lang for lang, _ in LANGUAGE_MIX], [w for _, w in LANGUAGE_MIX])[0]
        user = f"7{n:08d}"
        hint = language if rng.random() < 0.7 else None
        return Conversation(user, user, None, True, language, hint, rng.choice(NAMES))

    def first(self, conv: Conversation) -> Inbound:
        if self.rng.random() < URGENT_SHARE:
            self.urgent += 1
            text = self.rng.choice(URGENT[conv.language])
        else:
            text = self.rng.choice(TEXTS[conv.language])
        return self._inbound(conv, text)

    def follow_up(self, conv: Conversation) -> Inbound:
        return self._inbound(conv, self.rng.choice(FOLLOW_UPS[conv.language]))

    def _inbound(self, conv: Conversation, text: str) -> Inbound:
        return Inbound(
            conversation=ConversationRef("local", conv.chat_id, conv.thread_id),
            sender=Sender(f"local:{conv.user}", conv.name, conv.hint),
            text=text,
            message_id=f"u{next(self.ids)}",
            at=self.clock.now(),
            private=conv.private,
        )


# -- the desk ------------------------------------------------------------------------------------


@dataclass
class Handle:
    app: App
    local: LocalChannel
    clock: ManualClock
    traffic: Traffic

    async def close(self) -> None:
        await self.app.dispatcher.stop()
        await self.local.stop()
        await self.app.store.close()
        heap.release()


def bench_config(cfg: Config, db: Path | str, *, unlimited: bool) -> Config:
    """`db`: a SQLite file, or a store URL (`--postgres`)."""
    local = on_local_channel(cfg, db if isinstance(db, str) else f"sqlite:///{db}")
    if unlimited:
        local = local.model_copy(
            update={"engineers": [e.model_copy(update={"max_open": None}) for e in local.engineers]}
        )
    return local


async def open_handle(cfg: Config, db: Path | str, detector: LanguageDetector, *, unlimited: bool, seed: int) -> Handle:
    local = LocalChannel()
    clock = ManualClock(TUESDAY_11)
    app = await App.create(bench_config(cfg, db, unlimited=unlimited), clock=clock, adapters={"local": local},
                           detector=detector, serve_http=False)
    await local.start(app.desk, None)
    await app.desk.load_overrides()
    heap.settle()  # as `dutydesk run` does once its desk is up (bot/app/heap.py)
    handle = Handle(app, local, clock, Traffic(seed, clock))
    for _ in range(WARMUP):
        await app.desk.receive(handle.traffic.first(handle.traffic.conversation()))
    return handle


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Run:
    per_s: float
    p50_ms: float
    p99_ms: float
    extra: dict[str, Any] = field(default_factory=dict)


async def closed_loop(receive: Callable[[Inbound], Awaitable[Any]], messages: list[Inbound]) -> Run:
    latencies = []
    perf = time.perf_counter
    gc.collect()
    start = perf()
    for msg in messages:
        t = perf()
        await receive(msg)
        latencies.append(perf() - t)
    elapsed = perf() - start
    return Run(len(messages) / elapsed, pct(latencies, 50) * 1e3, pct(latencies, 99) * 1e3)


async def burst(receive: Callable[[Inbound], Awaitable[Any]], messages: list[Inbound]) -> Run:
    """All messages offered at once (a webhook flood, a restart's backlog): the desk takes
    whatever queued while it was busy as one batch (group commit)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []

    async def one(msg: Inbound, start: float) -> None:
        await receive(msg)
        latencies.append(loop.time() - start)

    gc.collect()
    start = loop.time()
    await asyncio.gather(*(one(msg, start) for msg in messages))
    elapsed = loop.time() - start
    return Run(len(messages) / elapsed, pct(latencies, 50) * 1e3, pct(latencies, 99) * 1e3)


async def open_loop(receive: Callable[[Inbound], Awaitable[Any]], messages: list[Inbound], rate: float) -> Run:
    """Start message i at t0 + i/rate whatever happened before; latency from that instant."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []

    async def one(msg: Inbound, scheduled: float) -> None:
        await receive(msg)
        latencies.append(loop.time() - scheduled)

    tasks = []
    gc.collect()
    t0 = loop.time() + 0.05
    for i, msg in enumerate(messages):
        scheduled = t0 + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(msg, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - t0
    return Run(len(messages) / elapsed, pct(latencies, 50) * 1e3, pct(latencies, 99) * 1e3,
               {"max_ms": max(latencies) * 1e3})


def routing_outcomes(db: Path) -> dict[str, int]:
    """Read beside the store (WAL: a reader never waits for the writer)."""
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT type, count(*) FROM events GROUP BY type").fetchall())
    finally:
        conn.close()


def rows_per_message(db: Path, messages: int) -> str:
    tables = ("inbound_keys", "tickets", "messages", "events", "outbox", "deadlines", "message_refs")
    conn = sqlite3.connect(db)
    try:
        counts = [(t, conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables]
    finally:
        conn.close()
    return ", ".join(f"{t} {n / messages:.1f}" for t, n in counts)


# -- the floor -----------------------------------------------------------------------------------


FLOOR_AT = "2026-11-24T08:00:00.000000+00:00"
FLOOR_SQL = {
    "ticket": (
        "INSERT INTO tickets (id, status, priority, priority_reason, kind, language, subject, customer, "
        "customer_name, org_id, plan, customer_tz, channel, chat_id, thread_id, assignee, tier, assigned_at, "
        "created_at, updated_at, last_customer_at, last_customer_message, clock_running_since) "
        "VALUES (?, 'assigned', 3, 'no priority words', 'question', 'ru', ?, ?, 'Ivan Petrov', NULL, 'basic', "
        "'Europe/Moscow', 'local', ?, '', ?, 'l1', ?, ?, ?, ?, ?, ?)"
    ),
    "message": (
        "INSERT INTO messages (ticket_id, direction, author, text, attachments, channel, chat_id, platform_id, at) "
        "VALUES (?, 'customer', ?, ?, '[]', 'local', ?, ?, ?)"
    ),
    "event": "INSERT INTO events (ticket_id, type, actor, at, reason, data) VALUES (?, 'created', ?, ?, ?, ?)",
    "outbox": (
        "INSERT INTO outbox (ticket_id, kind, channel, chat_id, thread_id, audience, person, text, title, "
        "buttons, created_at) VALUES (?, ?, 'local', ?, NULL, ?, ?, ?, ?, '[]', ?)"
    ),
}
FLOOR_TEXTS = [t for pool in TEXTS.values() for t in pool]


def floor_message(i: int) -> list[tuple[str, tuple[Any, ...]]]:
    """Message i of the floor: ticket, message, event and two outbox rows."""
    at, ticket_id, user, text = FLOOR_AT, 1001 + i, f"local:7{i:08d}", FLOOR_TEXTS[i % len(FLOOR_TEXTS)]
    chat = user.split(":", 1)[1]
    return [
        (FLOOR_SQL["ticket"], (ticket_id, text[:120], user, chat, ("anna", "dmitry", "kasia", "john")[i % 4],
                               at, at, at, at, f"u{i}", at)),
        (FLOOR_SQL["message"], (ticket_id, user, text, chat, f"u{i}", at)),
        (FLOOR_SQL["event"], (ticket_id, user, at, "local message from Ivan Petrov; no organisation: default plan "
                              "basic; language: ru (0.98); priority: no priority words",
                              '{"language":"ru","language_confidence":0.98,"priority":"P3"}')),
        (FLOOR_SQL["outbox"], (ticket_id, "copy", "staff", "staff_room", None, text, f"T-{ticket_id}", at)),
        (FLOOR_SQL["outbox"], (ticket_id, "ack", chat, "customer", None,
                               f"Заявка T-{ticket_id} принята. Ответим до 19:00.", None, at)),
    ]


def floor_transaction(conn: sqlite3.Connection, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    for sql, params in statements:
        conn.execute(sql, params)
    conn.execute("COMMIT")


def floor_run(db: Path, n: int) -> Run:
    """Bare sqlite3 on the desk's own schema: ticket, message, event, 2 outbox rows, one commit."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    apply_sqlite_migrations(conn)
    messages = [floor_message(i) for i in range(n)]
    latencies = []
    perf = time.perf_counter
    start = perf()
    for statements in messages:
        t = perf()
        floor_transaction(conn, statements)
        latencies.append(perf() - t)
    elapsed = perf() - start
    conn.close()
    return Run(n / elapsed, pct(latencies, 50) * 1e3, pct(latencies, 99) * 1e3)


def floor_batch(conn: sqlite3.Connection, batch: list[list[tuple[str, tuple[Any, ...]]]]) -> None:
    floor_transaction(conn, [statement for message in batch for statement in message])


async def access_path(db: Path, n: int, path: str, batch: int) -> float:
    """The floor's messages through aiosqlite as the store opens it, msgs/s: `one hop`, each
    transaction one call on the worker thread (the store's `_unit`, what the desk does); `each
    awaited`, aiosqlite's public API one statement at a time (BEGIN, inserts, COMMIT); `batched`,
    `batch` messages per transaction as BEGIN, one `executemany` per statement, COMMIT, each
    awaited (few hops per batch instead of one)."""
    from storage.sqlite import SqliteStore

    store = await SqliteStore.open(f"sqlite:///{db}")
    try:
        messages = [floor_message(i) for i in range(n)]
        groups = [messages[i:i + batch] for i in range(0, n, batch)]
        db_ = store._db  # the aiosqlite connection: its public API
        start = time.perf_counter()
        for group in groups:
            if path == "one hop":
                await store._unit(floor_batch, group)
            elif path == "each awaited":
                await db_.execute("BEGIN IMMEDIATE")
                for sql, params in (s for message in group for s in message):
                    await db_.execute(sql, params)
                await db_.execute("COMMIT")
            else:
                await db_.execute("BEGIN IMMEDIATE")
                for kind in range(5):
                    await db_.executemany(group[0][kind][0], [message[kind][1] for message in group])
                await db_.execute("COMMIT")
        return n / (time.perf_counter() - start)
    finally:
        await store.close()


ACCESS_PATHS = (("one hop", 1), ("each awaited", 1), ("one hop", 32), ("batched", 32))


# -- breakdown -----------------------------------------------------------------------------------


class Stopwatch:
    def __init__(self) -> None:
        self.totals: dict[str, float] = {}

    def wrap_sync(self, obj: Any, name: str, label: str) -> None:
        fn = getattr(obj, name)
        totals = self.totals
        totals.setdefault(label, 0.0)
        perf = time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = perf()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[label] += perf() - t

        setattr(obj, name, timed)

    def wrap_async(self, obj: Any, name: str, label: str) -> None:
        fn = getattr(obj, name)
        totals = self.totals
        totals.setdefault(label, 0.0)
        perf = time.perf_counter

        async def timed(*args: Any, **kwargs: Any) -> Any:
            t = perf()
            try:
                return await fn(*args, **kwargs)
            finally:
                totals[label] += perf() - t

        setattr(obj, name, timed)


async def breakdown(handle: Handle, n: int) -> tuple[float, dict[str, float]]:
    s = handle.app.desk.services
    watch = Stopwatch()
    watch.wrap_async(s.store, "intake", "store.intake (1 hop: reads)")
    watch.wrap_async(s.store, "commit", "store.commit (1 hop: transaction)")
    watch.wrap_sync(s.triage, "language", "routing: language")
    watch.wrap_sync(s.triage, "priority", "routing: priority")
    watch.wrap_sync(s.triage, "assign", "routing: assignment (roster, queue)")
    watch.wrap_sync(s.sla, "schedule", "SLA deadlines (SlaBook.schedule)")
    watch.wrap_sync(s.sla, "first_response_due", "SLA first_response_due (ack text)")
    messages = [handle.traffic.first(handle.traffic.conversation()) for _ in range(n)]
    perf = time.perf_counter
    start = perf()
    for msg in messages:
        await handle.app.desk.receive(msg)
    total = perf() - start
    per_msg = {label: seconds / n * 1e3 for label, seconds in watch.totals.items()}
    return total / n * 1e3, per_msg


# -- the run -------------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values)


def fmt_runs(runs: list[Run]) -> str:
    return (f"{med([r.per_s for r in runs]):8,.0f} msgs/s   p50 {med([r.p50_ms for r in runs]):6.2f} ms   "
            f"p99 {med([r.p99_ms for r in runs]):7.2f} ms   (per rep: "
            + ", ".join(f"{r.per_s:,.0f}" for r in runs) + " msgs/s)")


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=1000, help="new tickets (and as many follow-ups) per rep")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0, help="offered msgs/s for the open loop")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each open-loop run")
    parser.add_argument("--floor-messages", type=int, default=3000)
    parser.add_argument("--quick", action="store_true", help="1 rep, 300 messages, 2 s open loop (a smoke run)")
    parser.add_argument("--postgres", metavar="URL", help="measure on this PostgreSQL server instead, against a bare "
                        "asyncpg floor (bench/ingest_postgres.py)")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.reps, args.seconds, args.floor_messages = 300, 1, 2.0, 1000

    cfg = load_config(EXAMPLE)
    t = time.perf_counter()
    detector = LanguageDetector(cfg.desk.languages, default=cfg.desk.default_language)
    load_s = time.perf_counter() - t

    print("dutydesk ingest bench")
    print(f"  python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
          f"pid {os.getpid()}")
    print(f"  config: {EXAMPLE.name} on the local channel (staff room 'staff'), "
          f"{len(cfg.engineers)} engineers, {len(cfg.organisations)} organisations")
    print(f"  clock: ManualClock fixed at {TUESDAY_11.isoformat()} (Tuesday 11:00 Moscow, day shift on)")
    print(f"  traffic: {int(MEMBER_SHARE * 100)} % members of example organisations (new thread per request, "
          f"some in Romashka's group chat), the rest unknown senders; texts "
          + "/".join(f"{lang} {int(w * 100)} %" for lang, w in LANGUAGE_MIX) + f", {int(URGENT_SHARE * 100)} % urgent")
    print(f"  per rep: fresh temp DB, {WARMUP} warm-up tickets, then {args.messages} new-ticket messages and "
          f"{args.messages} follow-ups; {args.reps} reps; medians shown")
    print(f"  language detector built once outside the timings ({load_s:.1f} s)")
    print()
    if args.postgres:
        import ingest_postgres  # bench/ is on sys.path as this script's directory

        await ingest_postgres.run(cfg, args.postgres, detector, args.messages, args.reps, args.floor_messages)
        return

    with tempfile.TemporaryDirectory(prefix="dutydesk-ingest-") as tmp:
        root = Path(tmp)
        results: dict[str, dict[str, list[Run]]] = {}
        outcomes: dict[str, dict[str, int]] = {}
        per_message: dict[str, str] = {}
        for unlimited in (False, True):
            label = "max_open lifted" if unlimited else "example roster"
            results[label] = {"new": [], "follow": [], "burst": []}
            for rep in range(args.reps):
                db = root / f"closed-{int(unlimited)}-{rep}.db"
                handle = await open_handle(cfg, db, detector, unlimited=unlimited, seed=rep)
                try:
                    convs = [handle.traffic.conversation() for _ in range(args.messages)]
                    firsts = [handle.traffic.first(c) for c in convs]
                    follows = [handle.traffic.follow_up(c) for c in convs]
                    results[label]["new"].append(await closed_loop(handle.app.desk.receive, firsts))
                    results[label]["follow"].append(await closed_loop(handle.app.desk.receive, follows))
                    flood = [handle.traffic.first(handle.traffic.conversation()) for _ in range(args.messages)]
                    hops = Stopwatch()  # the burst's time in the store's two calls
                    hops.wrap_async(handle.app.desk.services.store, "intake", "reads")
                    hops.wrap_async(handle.app.desk.services.store, "commit", "transaction")
                    run = await burst(handle.app.desk.receive, flood)
                    run.extra = {part: seconds * 1e3 for part, seconds in hops.totals.items()}
                    results[label]["burst"].append(run)
                    if rep == 0:
                        outcomes[label] = routing_outcomes(db)
                        per_message[label] = rows_per_message(db, WARMUP + 2 * args.messages)
                finally:
                    await handle.close()

        floors = [floor_run(root / f"floor-{rep}.db", args.floor_messages) for rep in range(args.reps)]
        floor_per_s = med([r.per_s for r in floors])
        paths = {
            (path, batch): med([await access_path(root / f"path-{n}-{rep}.db", args.floor_messages, path, batch)
                                for rep in range(args.reps)])
            for n, (path, batch) in enumerate(ACCESS_PATHS)
        }

        open_runs: dict[str, list[Run]] = {"dispatcher stopped": [], "dispatcher delivering": []}
        n_open = int(args.rate * args.seconds)
        for dispatching in (False, True):
            label = "dispatcher delivering" if dispatching else "dispatcher stopped"
            for rep in range(args.reps):
                db = root / f"open-{int(dispatching)}-{rep}.db"
                handle = await open_handle(cfg, db, detector, unlimited=False, seed=100 + rep)
                try:
                    if dispatching:
                        await handle.app.dispatcher.start()
                        await handle.app.dispatcher.flush()
                    rng = random.Random(rep)
                    stream: list[Inbound] = []
                    opened: list[Conversation] = []
                    for i in range(n_open):
                        if i % 2 == 0 or not opened:
                            conv = handle.traffic.conversation()
                            opened.append(conv)
                            stream.append(handle.traffic.first(conv))
                        else:
                            stream.append(handle.traffic.follow_up(rng.choice(opened)))
                    open_runs[label].append(await open_loop(handle.app.desk.receive, stream, args.rate))
                finally:
                    await handle.close()

        splits: dict[str, tuple[float, dict[str, float]]] = {}
        for unlimited in (False, True):
            handle = await open_handle(cfg, root / f"breakdown-{int(unlimited)}.db", detector, unlimited=unlimited,
                                       seed=999)
            try:
                splits["max_open lifted" if unlimited else "example roster"] = await breakdown(
                    handle, min(args.messages, 500))
            finally:
                await handle.close()

    print("closed loop, dispatcher not running (outbox rows stay pending):")
    for label, by_kind in results.items():
        print(f"  [{label}]")
        print(f"    new-ticket messages  {fmt_runs(by_kind['new'])}")
        print(f"    follow-ups           {fmt_runs(by_kind['follow'])}")
        print(f"    new tickets, burst   {fmt_runs(by_kind['burst'])}   (all offered at once; latency from the start)")
        bursts = by_kind["burst"]
        spent = med([1e3 * args.messages / r.per_s for r in bursts])
        reads, transaction = med([r.extra["reads"] for r in bursts]), med([r.extra["transaction"] for r in bursts])
        python = spent - reads - transaction
        print(f"      of the burst's {spent:.0f} ms: store.intake {reads:.0f} ms and store.commit {transaction:.0f} ms "
              f"(statements built, one hop each to the database thread), the desk's own Python {python:.0f} ms")
        events = outcomes[label]
        print(f"    routing in rep 1: {events.get('assigned', 0)} assigned, {events.get('queued', 0)} queued, "
              f"{events.get('lead_alerted', 0)} lead alerts, {events.get('priority_changed', 0)} priority changes "
              f"({2 * args.messages + WARMUP} messages)")
        print(f"    rows written per message (rep 1, new + follow-ups): {per_message[label]}")
    print()
    print(f"floor, bare sqlite3 (ticket + message + event + 2 outbox rows + commit; the desk's schema, WAL, "
          f"synchronous=NORMAL, foreign keys on), {args.floor_messages} msgs:")
    print(f"  {fmt_runs(floors)}")
    print("  the same messages through aiosqlite (msgs/s, ratio to the floor; see access_path):")
    for (path, batch), per_s in paths.items():
        print(f"    {path:>13}, {batch:>2} message(s) per transaction  {per_s:8,.0f} msgs/s   "
              f"{per_s / floor_per_s:.3f}")
    print()
    print(f"open loop at {args.rate:.0f} msgs/s offered, {n_open} messages ({args.seconds:.0f} s), half new tickets, "
          f"half follow-ups, example roster; latency from the scheduled start:")
    for label, runs in open_runs.items():
        print(f"  [{label}]  achieved {med([r.per_s for r in runs]):,.0f} msgs/s   "
              f"p50 {med([r.p50_ms for r in runs]):7.2f} ms   "
              f"p99 {med([r.p99_ms for r in runs]):8.2f} ms   max {med([r.extra['max_ms'] for r in runs]):8.1f} ms   "
              "(p99 per rep: " + ", ".join(f"{r.p99_ms:.1f}" for r in runs) + " ms)")
    print()
    n_split = min(args.messages, 500)
    print(f"where one new-ticket receive spends its time ({n_split} msgs per column, timing wrappers on this "
          "desk instance; ms per message):")
    labels = list(splits)
    print("  " + "".join(f"{label:>22}" for label in labels))
    parts_of = {label: splits[label][1] for label in labels}
    for part in sorted(parts_of[labels[0]], key=lambda k: -parts_of[labels[0]][k]):
        print("  " + "".join(f"{parts_of[label][part]:15.3f} {100 * parts_of[label][part] / splits[label][0]:4.0f} %"
                             for label in labels) + f"   {part}")
    rest = {label: splits[label][0] - sum(parts_of[label].values()) for label in labels}
    print("  " + "".join(f"{rest[label]:15.3f} {100 * rest[label] / splits[label][0]:4.0f} %" for label in labels)
          + "   the rest (records, notifier texts, Babel dates, event log, ChangeSet, asyncio)")
    print("  " + "".join(f"{splits[label][0]:15.3f}  100 %" for label in labels) + "   receive, total")
    print()
    roster_new = med([r.per_s for r in results["example roster"]["burst"]])
    lifted_new = med([r.per_s for r in results["max_open lifted"]["burst"]])
    roster_seq = med([r.per_s for r in results["example roster"]["new"]])
    p99_open = med([r.p99_ms for r in open_runs["dispatcher stopped"]])
    p99_open_d = med([r.p99_ms for r in open_runs["dispatcher delivering"]])
    print("targets:")
    print(f"  new-ticket msgs/s end to end  >= {TARGET_NEW_PER_S:,}:   burst (group commit): example roster "
          f"{roster_new:,.0f}, max_open lifted {lifted_new:,.0f}   -> {verdict(roster_new >= TARGET_NEW_PER_S)}"
          f"   (one at a time, each awaited: {roster_seq:,.0f})")
    print(f"  desk / floor                  >= {TARGET_FLOOR_RATIO}:    example roster {roster_new / floor_per_s:.3f}, "
          f"max_open lifted {lifted_new / floor_per_s:.3f} (floor {floor_per_s:,.0f} msgs/s)   -> "
          f"{verdict(roster_new / floor_per_s >= TARGET_FLOOR_RATIO)}")
    print(f"  p99 at {args.rate:.0f} msgs/s offered       <= {TARGET_P99_MS:.0f} ms:  "
          f"dispatcher stopped {p99_open:.1f} ms, "
          f"delivering {p99_open_d:.1f} ms   -> {verdict(max(p99_open, p99_open_d) <= TARGET_P99_MS)}")


if __name__ == "__main__":
    asyncio.run(main())
