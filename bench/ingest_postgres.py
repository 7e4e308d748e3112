"""The PostgreSQL half of the ingest bench: `python bench/ingest.py --postgres URL`.

The same desk, traffic and closed-loop/burst measurements as the SQLite run
(bench/ingest.py), on a throwaway schema of the server at URL (one per repetition,
dropped afterwards), and in the same run the floor: bare asyncpg on a schema migrated
with the desk's own migrations, per message a ticket, a message, an event and two outbox
inserts in one transaction (BEGIN, five statements each awaited, COMMIT: seven round
trips), one message after another. Target: the desk's burst ≥ 0.3 of that floor.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
import ingest  # bench/ingest.py: this module is its --postgres half

from bot.app.config import Config
from routing.language import LanguageDetector
from storage.migrations import apply_postgres_migrations

TARGET_FLOOR_RATIO = 0.3  # issue 14


@asynccontextmanager
async def throwaway_schema(url: str) -> AsyncIterator[str]:
    schema = f"dutydesk_ingest_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        parts = urlsplit(url)
        query = "&".join(q for q in (parts.query, urlencode({"search_path": schema})) if q)
        yield urlunsplit(parts._replace(query=query))
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


def _numbered(sql: str) -> str:
    """`?` placeholders as asyncpg's `$1, $2, …`."""
    parts = sql.split("?")
    return "".join(f"{part}${i + 1}" if i < len(parts) - 1 else part for i, part in enumerate(parts))


def _pg_message(i: int) -> list[tuple[str, tuple[Any, ...]]]:
    at = datetime.fromisoformat(ingest.FLOOR_AT)
    return [(_numbered(sql), tuple(at if v == ingest.FLOOR_AT else v for v in params))
            for sql, params in ingest.floor_message(i)]


async def floor_run(url: str, n: int) -> ingest.Run:
    async with throwaway_schema(url) as schema_url:
        conn = await asyncpg.connect(schema_url)
        try:
            await apply_postgres_migrations(conn)
            messages = [_pg_message(i) for i in range(n)]
            latencies = []
            perf = time.perf_counter
            start = perf()
            for statements in messages:
                t = perf()
                async with conn.transaction():
                    for sql, params in statements:
                        await conn.execute(sql, *params)
                latencies.append(perf() - t)
            elapsed = perf() - start
        finally:
            await conn.close()
    return ingest.Run(n / elapsed, ingest.pct(latencies, 50) * 1e3, ingest.pct(latencies, 99) * 1e3)


async def desk_runs(
    cfg: Config, url: str, detector: LanguageDetector, messages: int, rep: int,
) -> dict[str, ingest.Run]:
    async with throwaway_schema(url) as schema_url:
        handle = await ingest.open_handle(cfg, schema_url, detector, unlimited=False, seed=rep)
        try:
            convs = [handle.traffic.conversation() for _ in range(messages)]
            firsts = [handle.traffic.first(c) for c in convs]
            follows = [handle.traffic.follow_up(c) for c in convs]
            runs = {"new": await ingest.closed_loop(handle.app.desk.receive, firsts),
                    "follow": await ingest.closed_loop(handle.app.desk.receive, follows)}
            flood = [handle.traffic.first(handle.traffic.conversation()) for _ in range(messages)]
            runs["burst"] = await ingest.burst(handle.app.desk.receive, flood)
            return runs
        finally:
            await handle.close()


async def run(cfg: Config, url: str, detector: LanguageDetector, messages: int, reps: int, floor_messages: int) -> None:
    where = urlsplit(url)
    print(f"PostgreSQL at {where.hostname}:{where.port or 5432}{where.path} "
          f"(server {await _version(url)}), a fresh schema per rep, example roster on the local channel")
    runs: dict[str, list[ingest.Run]] = {"new": [], "follow": [], "burst": []}
    floors: list[ingest.Run] = []
    for rep in range(reps):  # desk and floor alternate, so both see the same minute's machine
        for kind, found in (await desk_runs(cfg, url, detector, messages, rep)).items():
            runs[kind].append(found)
        floors.append(await floor_run(url, floor_messages))
    print(f"  new-ticket messages  {ingest.fmt_runs(runs['new'])}")
    print(f"  follow-ups           {ingest.fmt_runs(runs['follow'])}")
    print(f"  new tickets, burst   {ingest.fmt_runs(runs['burst'])}   (all offered at once; group commit)")
    print(f"  floor, bare asyncpg (ticket + message + event + 2 outbox rows, BEGIN … COMMIT, each awaited) "
          f"{ingest.fmt_runs(floors)}")
    burst, floor = ingest.med([r.per_s for r in runs["burst"]]), ingest.med([r.per_s for r in floors])
    one = ingest.med([r.per_s for r in runs["new"]])
    print("targets:")
    print(f"  desk / asyncpg floor >= {TARGET_FLOOR_RATIO}:  burst {burst / floor:.3f} "
          f"(one at a time {one / floor:.3f}; floor {floor:,.0f} msgs/s)   -> "
          f"{ingest.verdict(burst / floor >= TARGET_FLOOR_RATIO)}")


async def _version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
