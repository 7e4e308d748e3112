"""Failover bench: kill -9 the active `dutydesk run` again and again; how long until the
standby has taken over.

    python bench/failover.py [--postgres URL] [--kills 5] [--rate 20]

Set-up: a throwaway schema on the PostgreSQL server at URL (dropped at the end), the
Telegram Bot API stand-in (tests/standins, loopback) with the example roster's engineers
and staff forum, and `config.example.toml` with Telegram polling the stand-in — the same
harness as tests/test_standby.py (tests/desks.py). Two real desks are started; customers
write throughout at --rate messages a second.

Each round: wait until one desk is active (`/readyz` 200) and the other stands by (503,
role standby); SIGKILL the active one; the takeover time runs from the kill until the
standby's `/readyz` answers 200 (asked every 50 ms) — its channels, dispatcher and
scheduler started. A new desk is then started as the next standby. After the last round
the customers stop, and every message they wrote is looked for in the database.

Prints each takeover, the median and the max (target ≤ 5 s), and lost messages and
duplicate tickets (target 0). A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from tests.desks import TOKEN, Desk, Desks, telegram_world, until
from tests.standins.telegram_api import TelegramStandIn

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_SECONDS = 5.0
FIRST_CUSTOMER = 800_001
CUSTOMERS = 20


def schema_url(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({"search_path": schema})) if q)
    return urlunsplit(parts._replace(query=query))


async def pair_up(desks: list[Desk]) -> tuple[Desk, Desk]:
    """(active, standby) once one answers 200 and the other 503 as standby."""

    async def roles() -> tuple[Desk, Desk] | None:
        answers = [await d.readyz() for d in desks]
        active = [d for d, (status, _) in zip(desks, answers, strict=True) if status == 200]
        waiting = [d for d, (status, body) in zip(desks, answers, strict=True)
                   if status == 503 and body.get("role") == "standby"]
        return (active[0], waiting[0]) if active and waiting else None

    found: tuple[Desk, Desk] = await until(roles, 300, "an active desk and a standby")
    return found


async def write(tg: TelegramStandIn, sent: list[tuple[int, int]], rate: float) -> None:
    while True:
        user = FIRST_CUSTOMER + len(sent) % CUSTOMERS
        sent.append((user, tg.user_sends(user, f"Не работает выгрузка, сообщение {len(sent)}")["message_id"]))
        await asyncio.sleep(1 / rate)


async def damage(url: str, tg: TelegramStandIn, sent: list[tuple[int, int]]) -> tuple[int, int]:
    """(lost messages, duplicate tickets) once the last desk has taken everything."""
    await until(lambda: not tg.pending_updates, 300, "every update confirmed")
    conn = await asyncpg.connect(url)
    try:
        expected = {(str(c), str(m)) for c, m in sent}

        async def stored() -> set[tuple[str, str]] | None:
            rows = {(r[0], r[1]) for r in await conn.fetch(
                "SELECT chat_id, platform_id FROM messages WHERE direction = 'customer'")}
            return rows if expected <= rows else None

        try:
            rows = await until(stored, 120, "every message stored")
        except AssertionError:
            rows = {(r[0], r[1]) for r in await conn.fetch(
                "SELECT chat_id, platform_id FROM messages WHERE direction = 'customer'")}
        tickets = Counter(r[0] for r in await conn.fetch("SELECT customer FROM tickets"))
    finally:
        await conn.close()
    return len(expected - rows), sum(n - 1 for n in tickets.values())


async def run(url: str, kills: int, rate: float) -> None:
    schema = f"dutydesk_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    desk_url = schema_url(url, schema)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with TelegramStandIn(token=TOKEN, bot_username="dutydesk_bot", limits=None) as tg:
                telegram_world(tg)
                for n in range(CUSTOMERS):
                    tg.add_user(FIRST_CUSTOMER + n, f"Customer {n}", language_code="ru")
                desks = Desks(Path(tmp), tg, desk_url)
                print(f"failover bench: {kills} × kill -9 of the active dutydesk run, PostgreSQL schema {schema}, "
                      f"customers writing {rate:g} messages/s")
                sent: list[tuple[int, int]] = []
                writer = asyncio.create_task(write(tg, sent, rate))
                running = [await desks.start("desk-1"), await desks.start("desk-2")]
                times: list[float] = []
                try:
                    for k in range(kills):
                        active, standby = await pair_up(running)
                        active.kill()
                        killed = time.monotonic()
                        await active.process.wait()
                        await until(lambda s=standby: _ok(s), 120, "takeover")
                        times.append(time.monotonic() - killed)
                        print(f"  kill {k + 1}: {active.name} killed, {standby.name} ready after {times[-1]:.2f} s")
                        running = [standby, await desks.start(f"desk-{k + 3}")]
                    writer.cancel()
                    lost, duplicates = await damage(desk_url, tg, sent)
                finally:
                    writer.cancel()
                    await desks.stop_all()
                median, worst = statistics.median(times), max(times)
                verdict = "meets" if worst <= TARGET_SECONDS else "MISSES"
                print(f"takeover: median {median:.2f} s, max {worst:.2f} s over {len(times)} kills "
                      f"(target ≤ {TARGET_SECONDS:g} s: {verdict})")
                print(f"messages written: {len(sent)}; lost {lost} (target 0); duplicate tickets {duplicates} "
                      "(target 0)")
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


async def _ok(desk: Desk) -> bool:
    return (await desk.readyz())[0] == 200


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_URL, help="server URL (default: %(default)s)")
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0, help="customer messages a second")
    args = parser.parse_args()
    asyncio.run(run(args.postgres, args.kills, args.rate))


if __name__ == "__main__":
    main()
