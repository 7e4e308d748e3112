"""SLA scheduler bench: 100,000 open tickets' deadlines, start-up, memory, idle CPU, lateness.

    python bench/scheduler.py [--tickets 100000] [--reps 3] [--idle-seconds 10] [--overdue 200]
                              [--reminders 80] [--every-ms 50] [--quick]

The main process builds one SQLite database with the desk's real schema (migrations applied
by `SqliteStore.open`) holding `--tickets` open tickets, each with one customer message, a
`created` event and a staff-room thread, and the deadline rows that the real `SlaBook`
computes for it (first response, resolution and progress-update clocks with their 50 %/80 %
warnings and breach). Rows are written by direct SQL — executemany in one transaction, with
the store's own column lists and encoders — because ChangeSets cannot carry history: a
stage already passed is stored as fired (`fired_at` = due + 1 s), as a running desk would
have left it. Ticket times lie on a 10-minute grid (so the SLA arithmetic can be memoised
while building: `BusinessCalendar.add` is wrapped in an lru_cache on the build's own
calendar instances) over the last 5 days; a ticket with an unfired deadline in the next 20
minutes is drawn again, so nothing is due while the idle figures are taken.

Every measurement then runs in a fresh subprocess of this script on its own copy of the
database, with the real clock (`SystemClock`) and the real app (`App.create` on the local
channel with the example roster; the language detector is built before the timings start):

- recovery: `App.create` (open the store, build the desk), then `SlaScheduler.start()` until
  the wake job is armed — checked against `min(due_at)` of the unfired rows;
- memory: VmRSS growth from just before `App.create` to the scheduler armed, and to the
  rest of `App.start` done (dispatcher, local adapter, briefings), minus the same growth on
  an empty database (growth, not absolute RSS: the language models make the absolute RSS
  of identical processes differ by up to ~50 MB);
- idle CPU: process CPU seconds (all threads) over `--idle-seconds` of wall time with the
  app started and nothing due;
- overdue: the same database with the `--overdue` most recent past deadlines left unfired
  ("the desk was down since then"): time from process start-up (`App.create`) until all of
  them have fired, each exactly once (fired_at rows and reminder/breach events counted, and
  a second start on the same file must fire nothing);
- lateness: `--reminders` snooze reminders committed through the store (as the desk would,
  then `nudge`), due every `--every-ms` from 1.5 s after start; lateness = `fired_at`
  (stamped from the desk's clock when `fire_due` handles the row) − `due_at`.

Figures are medians over the repetitions; nothing is asserted. Temporary files are removed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

EXAMPLE = REPO / "config.example.toml"
GRID = timedelta(minutes=10)
SPREAD = timedelta(days=5)
QUIET = timedelta(minutes=20)  # no unfired deadline this soon after the build

TARGET_RECOVERY_S = 0.5
TARGET_RSS_MB = 50.0
TARGET_LATENESS_P99_S = 1.0

# Plans by organisation (the example roster); None is a sender with no organisation (basic).
ORGS = (("romashka", "warranty", 0.2), ("sever", "8x5", 0.2), ("polbank", "24x7", 0.15),
        ("acme", "premium", 0.1), (None, "basic", 0.35))
PRIORITIES = ((3, 0.85), (2, 0.1), (4, 0.05))
ANSWERED = 0.65  # in progress (first response given, update clock running); the rest wait for it


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# -- building the database ---------------------------------------------------------------------


def build_database(db: Path, tickets: int, seed: int = 1) -> dict[str, Any]:
    """Open tickets with their real SLA deadlines, written by direct SQL into the real schema."""
    from bot.app.config import load_config
    from bot.core.domain import ClockState, ConversationRef, Kind, Status, Ticket
    from bot.core.records import ticket_to_row
    from bot.sla.clocks import SlaBook, build_calendars
    from routing.priority import Priority
    from storage import queries
    from storage import sqlite as store_sql
    from storage.columns import TICKET_COLUMNS
    from storage.dialect import SQLITE
    from storage.sqlite import SqliteStore

    async def migrate() -> None:
        store = await SqliteStore.open(f"sqlite:///{db}")
        await store.close()

    asyncio.run(migrate())
    cfg = load_config(EXAMPLE)
    sla = SlaBook(cfg, build_calendars(cfg))
    l1 = [e.id for e in cfg.engineers if e.tier == "l1" and e.role == "engineer"]
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    quiet_until = now + QUIET
    slots = int(SPREAD / GRID)
    # Business-time arithmetic is a pure function of (start, amount); with ticket times on a
    # grid the same sums recur, so memoise it on this build's own calendar instances.
    for calendar in sla.calendars.values():
        if calendar.hours is not None:
            object.__setattr__(calendar, "add", lru_cache(maxsize=None)(calendar.add))
    # Likewise the store's time encoder (times repeat on the grid); restored at the end.
    encode_time = store_sql.encode_time
    store_sql.encode_time = lru_cache(maxsize=None)(encode_time)  # type: ignore[assignment]

    ticket_rows, message_rows, event_rows, thread_rows, deadline_rows = [], [], [], [], []
    redrawn = 0
    t0 = time.perf_counter()
    for i in range(tickets):
        ticket_id = 1001 + i
        org, plan = rng.choices([(o, p) for o, p, _ in ORGS], [w for *_, w in ORGS])[0]
        priority = Priority(rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0])
        user = f"7{i:08d}"
        while True:
            created = now - GRID * rng.randint(1, slots)
            answered = rng.random() < ANSWERED
            first_response = created + GRID * 3 if answered else None
            if first_response is not None and first_response >= now:
                continue
            last_update = None
            if answered:
                last_update = max(first_response, now - GRID * rng.randint(1, int(timedelta(days=2) / GRID)))
            ticket = Ticket(
                id=ticket_id, status=Status.IN_PROGRESS if answered else Status.ASSIGNED, priority=priority,
                priority_reason="no priority words", kind=Kind.INCIDENT if priority <= 2 else Kind.QUESTION,
                language="ru", subject="Не формируется отчёт по остаткам", customer=f"local:{user}",
                customer_name="Ivan Petrov", org_id=org, plan=plan, customer_tz="Europe/Moscow",
                conversation=ConversationRef("local", user, None), created_at=created, updated_at=created,
                assignee=l1[i % len(l1)], assigned_at=created, first_response_at=first_response,
                last_customer_at=created, last_update_at=last_update, last_customer_message=f"u{i}",
                clock=ClockState(running_since=created),
            )
            clocks = sla.schedule(ticket, now)
            if any(now < d.due_at <= quiet_until for ds in clocks.values() for d in ds):
                redrawn += 1
                continue
            break
        ticket_row = {**ticket_to_row(ticket), "thread_id": ticket.conversation.thread_id or ""}
        ticket_rows.append([store_sql.encode(c, ticket_row.get(c)) for c in TICKET_COLUMNS])
        message_rows.append((ticket_id, "customer", f"local:{user}", "Не формируется отчёт по остаткам, ошибка 500.",
                             "[]", "local", user, f"u{i}", None, store_sql.encode_time(created), None))
        event_rows.append((ticket_id, "created", f"local:{user}", store_sql.encode_time(created),
                           f"local message from Ivan Petrov; plan {plan}", "{}"))
        thread_rows.append((ticket_id, "local", "staff", f"thread-{ticket_id}", f"b{ticket_id}"))
        for deadlines in clocks.values():
            for d in deadlines:
                fired = store_sql.encode_time(d.due_at + timedelta(seconds=1)) if d.due_at <= now else None
                deadline_rows.append((ticket_id, d.clock, d.stage, store_sql.encode_time(d.target_at),
                                      store_sql.encode_time(d.due_at), fired))
    compute_s = time.perf_counter() - t0
    store_sql.encode_time = encode_time  # type: ignore[assignment]

    t1 = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -262144")  # this connection only: keeps the index builds in memory
    conn.execute("BEGIN IMMEDIATE")
    # The store's own statements (placeholders numbered in column order).
    conn.executemany(queries.UPSERT_TICKET.render(SQLITE)[0], ticket_rows)
    conn.executemany(queries.INSERT_MESSAGE.render(SQLITE)[0], message_rows)
    conn.executemany(queries.INSERT_EVENT.render(SQLITE)[0], event_rows)
    conn.executemany("INSERT INTO staff_threads (ticket_id, channel, chat_id, thread_id, header_id) "
                     "VALUES (?, ?, ?, ?, ?)", thread_rows)
    conn.executemany("INSERT INTO deadlines (ticket_id, clock, stage, target_at, due_at, fired_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", deadline_rows)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    unfired = conn.execute("SELECT count(*), min(due_at) FROM deadlines WHERE fired_at IS NULL").fetchone()
    conn.close()
    return {
        "tickets": tickets, "deadlines": len(deadline_rows), "unfired": unfired[0], "earliest": unfired[1],
        "compute_s": compute_s, "write_s": time.perf_counter() - t1, "redrawn": redrawn, "built_at": now.isoformat(),
        "size_mb": db.stat().st_size / 2**20,
    }


def leave_overdue(src: Path, dst: Path, count: int) -> int:
    """A copy where the `count` latest past deadlines never fired: the desk was down since."""
    shutil.copyfile(src, dst)
    conn = sqlite3.connect(dst, isolation_level=None)
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    ids = [r[0] for r in conn.execute(
        "SELECT id FROM deadlines WHERE fired_at IS NOT NULL AND due_at <= ? ORDER BY due_at DESC LIMIT ?",
        (now, count),
    )]
    conn.executemany("UPDATE deadlines SET fired_at = NULL WHERE id = ?", [(i,) for i in ids])
    conn.close()
    return len(ids)


def empty_database(db: Path) -> None:
    from storage.sqlite import SqliteStore

    async def migrate() -> None:
        store = await SqliteStore.open(f"sqlite:///{db}")
        await store.close()

    asyncio.run(migrate())


# -- workers (each in a fresh process) ------------------------------------------------------------


async def _open_app(db: Path) -> tuple[Any, Any, Any, dict[str, float]]:
    from adapters.local import LocalChannel
    from bot.app.config import load_config
    from bot.app.demo_config import on_local_channel
    from bot.app.factory import App
    from bot.core.clock import SystemClock
    from routing.language import LanguageDetector

    cfg = on_local_channel(load_config(EXAMPLE), f"sqlite:///{db}")
    detector = LanguageDetector(cfg.desk.languages, default=cfg.desk.default_language)
    gc.collect()
    marks = {"rss_before_mb": rss_mb()}
    local = LocalChannel()
    t0 = time.perf_counter()
    app = await App.create(cfg, clock=SystemClock(), adapters={"local": local}, detector=detector, serve_http=False)
    marks["create_s"] = time.perf_counter() - t0
    return app, local, cfg, marks


async def _start_rest(app: Any, local: Any) -> float:
    """What `App.start` does besides the scheduler (it is started on its own, to time it)."""
    t = time.perf_counter()
    await app.desk.load_overrides()
    await local.start(app.desk, None)
    app._started.append("local")
    await app.dispatcher.start()
    app._schedule_briefings()
    return time.perf_counter() - t


async def worker_recover(db: Path, idle_seconds: float) -> dict[str, Any]:
    app, local, _, out = await _open_app(db)
    t = time.perf_counter()
    await app.scheduler.start()
    out["start_s"] = time.perf_counter() - t
    out["recovery_s"] = out["create_s"] + out["start_s"]
    armed = app.scheduler.armed_at
    conn = sqlite3.connect(db)
    expected = conn.execute("SELECT min(due_at) FROM deadlines WHERE fired_at IS NULL").fetchone()[0]
    conn.close()
    out["armed_at"] = armed.isoformat() if armed else None
    out["armed_ok"] = (armed is None and expected is None) or (
        armed is not None and expected is not None and armed == datetime.fromisoformat(expected))
    gc.collect()
    out["rss_scheduler_mb"] = rss_mb()
    out["grow_scheduler_mb"] = out["rss_scheduler_mb"] - out["rss_before_mb"]
    out["rest_of_start_s"] = await _start_rest(app, local)
    await asyncio.sleep(0.5)
    gc.collect()
    out["rss_app_mb"] = rss_mb()
    out["grow_app_mb"] = out["rss_app_mb"] - out["rss_before_mb"]
    if idle_seconds > 0:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(idle_seconds)
        out["idle_cpu_s"] = time.process_time() - cpu0
        out["idle_wall_s"] = time.perf_counter() - wall0
    await app.stop()
    return out


async def worker_overdue(db: Path, expected: int) -> dict[str, Any]:
    started = datetime.now(UTC)
    app, _, _, out = await _open_app(db)
    t_create = time.perf_counter() - out["create_s"]
    done = asyncio.Event()
    fired_total = 0
    original = app.desk.fire_due

    async def observed() -> int:
        nonlocal fired_total
        n = await original()
        fired_total += n
        if fired_total >= expected:
            done.set()
        return n

    app.desk.fire_due = observed  # the scheduler calls desk.fire_due: observe it on this instance
    await app.scheduler.start()
    await asyncio.wait_for(done.wait(), timeout=60)
    out["all_fired_s"] = time.perf_counter() - t_create
    out["fire_due_calls_fired"] = fired_total
    await app.scheduler.stop()
    await app.store.close()

    conn = sqlite3.connect(db)
    since = started.isoformat(timespec="microseconds")
    out["fired_rows"] = conn.execute("SELECT count(*) FROM deadlines WHERE fired_at >= ?", (since,)).fetchone()[0]
    out["events"] = conn.execute(
        "SELECT count(*), count(DISTINCT ticket_id) FROM events WHERE type IN ('reminder_sent', 'sla_breached') "
        "AND at >= ?", (since,)).fetchone()
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    out["still_due"] = conn.execute(
        "SELECT count(*) FROM deadlines WHERE fired_at IS NULL AND due_at <= ?", (now,)).fetchone()[0]
    conn.close()

    # A second start on the same file: nothing may fire again.
    app2, _, _, _ = await _open_app(db)
    again = 0
    original2 = app2.desk.fire_due

    async def counted() -> int:
        nonlocal again
        n = await original2()
        again += n
        return n

    app2.desk.fire_due = counted
    await app2.scheduler.start()
    await asyncio.sleep(0.5)
    out["fired_on_restart"] = again
    await app2.scheduler.stop()
    await app2.store.close()
    return out


async def worker_lateness(db: Path, count: int, every_ms: float) -> dict[str, Any]:
    from storage.base import ChangeSet

    app, _, _, out = await _open_app(db)
    await app.scheduler.start()
    conn = sqlite3.connect(db)
    ids = [r[0] for r in conn.execute(
        "SELECT id FROM tickets WHERE assignee IS NOT NULL ORDER BY id DESC LIMIT ?", (count,))]
    conn.close()
    first = datetime.now(UTC) + timedelta(seconds=1.5)
    changes = ChangeSet()
    for k, ticket_id in enumerate(ids):
        due = first + timedelta(milliseconds=every_ms * k)
        changes.deadlines[(ticket_id, "snooze")] = [
            {"ticket_id": ticket_id, "clock": "snooze", "stage": 100, "target_at": due, "due_at": due}]
    await app.store.commit(changes)
    app.scheduler.nudge(first)  # what the desk's commit listener does with Work.earliest_wake

    done = asyncio.Event()
    fired_total = 0
    calls = 0
    original = app.desk.fire_due

    async def observed() -> int:
        nonlocal fired_total, calls
        calls += 1
        n = await original()
        fired_total += n
        if fired_total >= len(ids):
            done.set()
        return n

    app.desk.fire_due = observed
    cpu0 = time.process_time()
    await asyncio.wait_for(done.wait(), timeout=60 + count * every_ms / 1000)
    out["cpu_s"] = time.process_time() - cpu0
    await asyncio.sleep(0.2)  # let wake-ups queued behind the last one run
    out["fire_due_calls"] = calls
    # Wake jobs still in APScheduler's store: the design keeps exactly one armed.
    out["wake_jobs"] = sum(1 for j in app.scheduler._scheduler.get_jobs() if j.id.startswith("sla-wake-"))
    await app.scheduler.stop()
    await app.store.close()
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT due_at, fired_at FROM deadlines WHERE clock = 'snooze'").fetchall()
    conn.close()
    late = [(datetime.fromisoformat(f) - datetime.fromisoformat(d)).total_seconds() for d, f in rows if f]
    out.update(fired=len(late), expected=len(ids), p50_ms=pct(late, 50) * 1e3, p99_ms=pct(late, 99) * 1e3,
               max_ms=max(late) * 1e3, min_ms=min(late) * 1e3)
    return out


def run_worker(kind: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--worker", kind, *args], capture_output=True, text=True,
                          timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the run ---------------------------------------------------------------------------------------


def med(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def per_rep(runs: list[dict[str, Any]], key: str, scale: float = 1, fmt: str = "{:.3f}") -> str:
    return ", ".join(fmt.format(r[key] * scale) for r in runs)


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--overdue", type=int, default=200)
    parser.add_argument("--reminders", type=int, default=80)
    parser.add_argument("--every-ms", type=float, default=50.0)
    parser.add_argument("--quick", action="store_true", help="10k tickets, 1 rep, 3 s idle (a smoke run)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, *rest = args.worker
        if kind == "recover":
            result = asyncio.run(worker_recover(Path(rest[0]), float(rest[1])))
        elif kind == "overdue":
            result = asyncio.run(worker_overdue(Path(rest[0]), int(rest[1])))
        elif kind == "lateness":
            result = asyncio.run(worker_lateness(Path(rest[0]), int(rest[1]), float(rest[2])))
        else:
            raise SystemExit(f"unknown worker {kind}")
        print(json.dumps(result))
        return

    if args.quick:
        args.tickets, args.reps, args.idle_seconds = 10_000, 1, 3.0

    import apscheduler

    print("dutydesk SLA scheduler bench")
    print(f"  python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, APScheduler {apscheduler.__version__}, "
          f"{os.cpu_count()} CPUs")
    print(f"  config: {EXAMPLE.name} on the local channel; real clock (SystemClock); {args.reps} reps, each in fresh "
          "subprocesses on its own copy of the database; medians shown")
    with tempfile.TemporaryDirectory(prefix="dutydesk-sched-") as tmp:
        root = Path(tmp)
        base = root / "base.db"
        t = time.perf_counter()
        info = build_database(base, args.tickets)
        print(f"  database: {info['tickets']:,} open tickets, {info['deadlines']:,} deadline rows "
              f"({info['unfired']:,} unfired, {info['deadlines'] - info['unfired']:,} already fired), "
              f"{info['size_mb']:.0f} MB; earliest unfired {info['earliest']}")
        print(f"  built by direct SQL into the real schema in {time.perf_counter() - t:.1f} s "
              f"(SlaBook.schedule per ticket {info['compute_s']:.1f} s, "
              f"inserts {info['write_s']:.1f} s; {info['redrawn']:,} tickets redrawn to keep the next "
              f"{int(QUIET.total_seconds() // 60)} min quiet)")
        empty = root / "empty.db"
        empty_database(empty)

        loaded_runs, empty_runs, overdue_runs, late_runs = [], [], [], []
        for rep in range(args.reps):
            copy = root / f"loaded-{rep}.db"
            shutil.copyfile(base, copy)
            loaded_runs.append(run_worker("recover", str(copy), str(args.idle_seconds)))
            copy.unlink()
            e = root / f"empty-{rep}.db"
            shutil.copyfile(empty, e)
            empty_runs.append(run_worker("recover", str(e), "0"))
            o = root / f"overdue-{rep}.db"
            left = leave_overdue(base, o, args.overdue)
            result = run_worker("overdue", str(o), str(left))
            result["left"] = left
            overdue_runs.append(result)
            o.unlink()
            lt = root / f"late-{rep}.db"
            shutil.copyfile(base, lt)
            late_runs.append(run_worker("lateness", str(lt), str(args.reminders), str(args.every_ms)))
            lt.unlink()

    rss_sched = med(loaded_runs, "grow_scheduler_mb") - med(empty_runs, "grow_scheduler_mb")
    rss_app = med(loaded_runs, "grow_app_mb") - med(empty_runs, "grow_app_mb")
    recovery = med(loaded_runs, "recovery_s")
    idle = med(loaded_runs, "idle_cpu_s")
    late_p99 = med(late_runs, "p99_ms") / 1e3
    print()
    print("start-up recovery (fresh process; detector built before the clock starts):")
    print(f"  App.create (open store, check migrations, build desk)  {med(loaded_runs, 'create_s') * 1e3:8.1f} ms"
          f"   (empty DB {med(empty_runs, 'create_s') * 1e3:.1f} ms)")
    print(f"  SlaScheduler.start() until armed                       {med(loaded_runs, 'start_s') * 1e3:8.1f} ms"
          f"   (empty DB {med(empty_runs, 'start_s') * 1e3:.1f} ms; armed at the earliest unfired deadline: "
          f"{all(r['armed_ok'] for r in loaded_runs)})")
    print(f"  recovery = both                                        {recovery * 1e3:8.1f} ms   per rep: "
          f"{per_rep(loaded_runs, 'recovery_s', 1e3, '{:.1f}')} ms")
    print("  rest of App.start (dispatcher loads staff threads, briefings) "
          f"{med(loaded_runs, 'rest_of_start_s') * 1e3:.1f} ms"
          f"   (empty DB {med(empty_runs, 'rest_of_start_s') * 1e3:.1f} ms)")
    print(f"  with {args.overdue} overdue deadlines: process start-up until all fired  "
          f"{med(overdue_runs, 'all_fired_s') * 1e3:8.1f} ms   "
          f"per rep: {per_rep(overdue_runs, 'all_fired_s', 1e3, '{:.0f}')} ms")
    for r in overdue_runs:
        print(f"    left unfired {r['left']}, fired rows {r['fired_rows']}, reminder/breach events {r['events'][0]} "
              f"on {r['events'][1]} tickets, still due after {r['still_due']}, fired again on restart "
              f"{r['fired_on_restart']}")
    print()
    print("resident memory (VmRSS growth from just before App.create, language models already loaded;")
    print("the absolute RSS of these processes varies by up to ~50 MB run to run, the growth by < 1 MB):")
    print(f"  scheduler armed:   {args.tickets // 1000}k DB +{med(loaded_runs, 'grow_scheduler_mb'):.1f} MB, empty DB "
          f"+{med(empty_runs, 'grow_scheduler_mb'):.1f} MB  -> {rss_sched:+.1f} MB over an empty desk")
    print(f"  whole app started: {args.tickets // 1000}k DB +{med(loaded_runs, 'grow_app_mb'):.1f} MB, empty DB "
          f"+{med(empty_runs, 'grow_app_mb'):.1f} MB  -> {rss_app:+.1f} MB over an empty desk")
    print(f"  (absolute, median: loaded {med(loaded_runs, 'rss_app_mb'):.0f} MB, "
          f"empty {med(empty_runs, 'rss_app_mb'):.0f} MB; "
          f"before App.create {med(empty_runs, 'rss_before_mb'):.0f} MB)")
    print()
    if args.idle_seconds > 0:
        print(f"idle CPU, whole app started, nothing due: {idle:.4f} CPU s over "
              f"{med(loaded_runs, 'idle_wall_s'):.1f} s wall ({100 * idle / med(loaded_runs, 'idle_wall_s'):.3f} %)"
              f"   per rep: {per_rep(loaded_runs, 'idle_cpu_s', 1, '{:.4f}')} s")
        print()
    print(f"reminder lateness ({args.reminders} snooze reminders due every {args.every_ms:.0f} ms on the "
          f"{args.tickets // 1000}k DB, real clock):")
    print(f"  p50 {med(late_runs, 'p50_ms'):.1f} ms   p99 {med(late_runs, 'p99_ms'):.1f} ms   "
          f"max {med(late_runs, 'max_ms'):.1f} ms   min {med(late_runs, 'min_ms'):.1f} ms   "
          f"(p99 per rep: {per_rep(late_runs, 'p99_ms', 1, '{:.1f}')} ms; fired "
          f"{per_rep(late_runs, 'fired', 1, '{:.0f}')} of {args.reminders})")
    print(f"  fire_due calls (wake-ups) per rep: {per_rep(late_runs, 'fire_due_calls', 1, '{:.0f}')} "
          f"for {args.reminders} "
          f"reminders; CPU {per_rep(late_runs, 'cpu_s', 1, '{:.2f}')} s; SLA wake jobs left in APScheduler's store "
          f"afterwards (one is the design): {per_rep(late_runs, 'wake_jobs', 1, '{:.0f}')}")
    print()
    print("for contrast (measurements.md, not re-run): one APScheduler job per deadline, memory store: "
          "24 s to add 300k, must re-add on restart, +254 MB")
    print("targets:")
    print(f"  recovery <= {TARGET_RECOVERY_S} s:      {recovery:.3f} s  -> {verdict(recovery <= TARGET_RECOVERY_S)}")
    print(f"  memory over empty <= {TARGET_RSS_MB:.0f} MB:  scheduler armed +{rss_sched:.1f} MB, "
          f"whole app +{rss_app:.1f} MB"
          f"  -> {verdict(max(rss_sched, rss_app) <= TARGET_RSS_MB)}")
    if args.idle_seconds > 0:
        print(f"  idle CPU ~ 0:            {idle:.4f} s per {med(loaded_runs, 'idle_wall_s'):.0f} s")
    print(f"  lateness p99 <= {TARGET_LATENESS_P99_S:.0f} s:     {late_p99 * 1e3:.1f} ms  -> "
          f"{verdict(late_p99 <= TARGET_LATENESS_P99_S)}")


if __name__ == "__main__":
    main()
