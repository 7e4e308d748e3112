"""Dashboard bench: the queue page with 100,000 open tickets, the reports page over
1,000,000 closed ones, on SQLite — server time per page.

    python bench/dashboard.py [--open 100000] [--closed 1000000] [--reps 15] [--quick]

The database gets the desk's real schema (migrations applied by `open_store`), then rows
written by direct SQL (executemany in one transaction, times in the store's own fixed-width
encoding; the report's roll-up filled afterwards by the migration's own statement):
`--open` open tickets created over the last week with their next SLA target
spread from a day ago (overdue) to three days ahead, a fifth unassigned; `--closed` closed
tickets created over the last two years, each with its SLA columns (targets met or missed,
holders, working time used) and a rating on a third of them; one breach event per 20 closed
tickets. The SLA JSON record is a short stand-in (the pages read the columns, not it).

The real app then runs (`App.create` + `start` on the local channel with the example
roster and `[dashboard] enabled`), a session is opened in the store as a login would, and
pages are fetched over HTTP from the running server with its cookie. Figures are the
median and the slowest of `--reps` fetches after one warm-up (localhost: the client's share
is well under a millisecond). Targets (issue 15): the queue page ≤ 100 ms with 100k open
tickets, reports ≤ 500 ms over 1M closed tickets. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.local import LocalChannel
from bot.app.config import DashboardConfig, HttpConfig, load_config
from bot.app.demo_config import on_local_channel
from bot.app.factory import App
from bot.dashboard import tokens
from storage import open_store
from storage.columns import TICKET_COLUMNS

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
NOW = datetime.now(UTC).replace(microsecond=0)
SLA = '{"marks":[],"banked_s":0,"outcomes":{}}'
LANGUAGES = ("ru", "en", "pl", "da", "uk")
OPEN = ("new", "assigned", "in_progress", "waiting_customer")


def t(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def ticket(i: int, rng: random.Random, plans: list[str], engineers: list[str], *, open_: bool) -> dict[str, object]:
    created = NOW - (timedelta(days=7) if open_ else timedelta(days=730)) * rng.random()
    assignee = None if open_ and rng.random() < 0.2 else rng.choice(engineers)
    first_used, resolution_used = rng.randint(60, 20 * 3600), rng.randint(3600, 200 * 3600)
    row: dict[str, object] = {c: None for c in TICKET_COLUMNS}
    row.update({
        "id": i, "status": rng.choice(OPEN) if open_ else "closed", "priority": rng.choice((1, 2, 3, 3, 3, 4)),
        "priority_reason": "", "kind": "question", "language": rng.choice(LANGUAGES), "subject": f"ticket {i}",
        "customer": f"local:{200000 + i % 5000}", "customer_name": "", "org_id": None, "plan": rng.choice(plans),
        "customer_tz": "UTC", "channel": "local", "chat_id": str(200000 + i % 5000), "thread_id": "",
        "assignee": assignee, "tier": "l1", "escalation_level": 0, "created_at": t(created), "updated_at": t(created),
        "clock_used_s": 0, "sla": SLA,
    })
    if open_:
        row["next_target_at"] = t(NOW + timedelta(hours=rng.uniform(-24, 72)))
        row["first_due_at"] = row["next_target_at"]
    else:
        row.update({
            "first_response_at": t(created + timedelta(seconds=first_used)),
            "resolved_at": t(created + timedelta(seconds=resolution_used)),
            "closed_at": t(created + timedelta(seconds=resolution_used + 3600)),
            "first_due_at": t(created + timedelta(hours=8)), "first_met": int(rng.random() < 0.86),
            "first_holder": assignee, "first_used_s": first_used,
            "resolution_due_at": t(created + timedelta(hours=40)), "resolution_met": int(rng.random() < 0.78),
            "resolution_holder": assignee, "resolution_used_s": resolution_used,
            "rating": rng.randint(1, 5) if rng.random() < 0.33 else None,
        })
    return row


MIGRATION = Path(__file__).resolve().parent.parent / "storage/migrations/sqlite/0006_dashboard.sql"


def rollup_statements() -> tuple[list[str], str, list[str]]:
    """From the migration that made the report's roll-up: its triggers' names, the statement
    that fills it from the tickets present, and the triggers themselves."""
    text = MIGRATION.read_text(encoding="utf-8")
    fill = re.search(r"INSERT INTO report_days .*?GROUP BY day, dim, value;", text, re.S)
    triggers = re.findall(r"CREATE TRIGGER tickets_report_.*?\nEND;", text, re.S)
    assert fill is not None and len(triggers) == 3
    names = [re.match(r"CREATE TRIGGER (\w+)", t).group(1) for t in triggers]  # type: ignore[union-attr]
    return names, fill.group(0), triggers


def seed(db: Path, open_count: int, closed_count: int, plans: list[str], engineers: list[str]) -> float:
    """Tickets in bulk with the roll-up's triggers off, then the roll-up filled in one
    statement — the migration's own, as for a database upgraded with tickets in it."""
    began = time.perf_counter()
    rng = random.Random(15)
    conn = sqlite3.connect(db)
    names, fill, triggers = rollup_statements()
    for name in names:
        conn.execute(f"DROP TRIGGER {name}")
    columns = ", ".join(TICKET_COLUMNS)
    marks = ", ".join(f":{c}" for c in TICKET_COLUMNS)
    insert = f"INSERT INTO tickets ({columns}) VALUES ({marks})"
    with conn:
        batch: list[dict[str, object]] = []
        for i in range(closed_count + open_count):
            batch.append(ticket(1001 + i, rng, plans, engineers, open_=i >= closed_count))
            if len(batch) == 20_000:
                conn.executemany(insert, batch)
                batch.clear()
        conn.executemany(insert, batch)
        conn.executemany(
            "INSERT INTO events (ticket_id, type, actor, at, reason, data) VALUES (?, 'sla_breached', 'desk', ?, ?, ?)",
            [(1001 + i, t(NOW - timedelta(days=730) * rng.random()), "first response target passed",
              '{"clock": "first_response"}') for i in range(0, closed_count, 20)],
        )
        conn.execute(fill)
        for trigger in triggers:
            conn.execute(trigger)
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - began


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def timed(http: aiohttp.ClientSession, url: str, reps: int) -> tuple[float, float, int]:
    """Median and slowest milliseconds of `reps` fetches after a warm-up; the last status."""
    async with http.get(url) as response:
        await response.read()
    times = []
    for _ in range(reps):
        began = time.perf_counter()
        async with http.get(url) as response:
            await response.read()
            status = response.status
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times), status


async def measure(db: Path, reps: int) -> None:
    port = free_port()
    cfg = on_local_channel(load_config(EXAMPLE), f"sqlite:///{db}").model_copy(update={
        "http": HttpConfig(port=port), "dashboard": DashboardConfig(enabled=True)})
    app = await App.create(cfg, adapters={"local": LocalChannel()})
    await app.start()
    try:
        cookie = tokens.new_token()
        await app.store.open_session({
            "token_hash": tokens.digest(cookie), "engineer": "olga", "identity": "telegram:100011",
            "csrf": tokens.new_token(), "created_at": NOW, "expires_at": NOW + timedelta(hours=12)})
        base = f"http://127.0.0.1:{port}/desk"
        today = datetime.now(UTC).date()
        pages = [
            ("queue, first page", "/"),
            ("queue, plan + language filter", "/?plan=premium&language=ru"),
            ("queue, unassigned", "/?assignee=-"),
            ("queue, page 200", "/?page=200"),
            ("queue, live refresh (partial)", "/?partial=1"),
            ("reports, last 4 weeks (default)", "/reports"),
            ("reports, all 2 years (every closed ticket)",
             f"/reports?since={today - timedelta(days=731)}&until={today}"),
        ]
        async with aiohttp.ClientSession(cookies={"dutydesk_session": cookie}) as http:
            for name, path in pages:
                median, worst, status = await timed(http, base + path, reps)
                target = 100 if name.startswith("queue") else 500
                verdict = "met" if median <= target else "MISSED"
                print(f"  {name:<46} median {median:7.1f} ms  max {worst:7.1f} ms  (HTTP {status}; "
                      f"target ≤ {target} ms: {verdict})")
    finally:
        await app.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--closed", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="10k open, 100k closed, 5 reps")
    args = parser.parse_args()
    if args.quick:
        args.open, args.closed, args.reps = 10_000, 100_000, 5
    cfg = load_config(EXAMPLE)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "desk.db"
        store = await open_store(f"sqlite:///{db}")
        await store.close()
        took = seed(db, args.open, args.closed, sorted(cfg.plans), [e.id for e in cfg.engineers if e.shift])
        size = db.stat().st_size / 1e6
        print(f"dashboard bench: {args.open:,} open + {args.closed:,} closed tickets "
              f"(seeded in {took:.0f} s, {size:.0f} MB), median of {args.reps}")
        await measure(db, args.reps)


if __name__ == "__main__":
    asyncio.run(main())
