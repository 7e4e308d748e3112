"""A commit writes only what changed — a stored ticket's changed columns, the timers that
differ from what this desk last wrote — and leaves the database exactly as re-writing
everything would.

The proof is a week of the example desk played twice by the simulator (customers, the
engineers' answers, notes and resolutions, reminders, breaches, progress updates), once as
the desk runs and once with every commit writing each touched ticket's whole row and all
its timers: every table read back is the same, row for row.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.config import Config
from bot.core import work as work_module
from bot.core.domain import ConversationRef, Kind, Priority, Status, Ticket
from bot.core.written import WrittenTimers
from bot.simulate.arrivals import Rates, Stream, arrivals_for
from bot.simulate.engine import close_run, simulate
from bot.simulate.handling import DEFAULTS
from routing.language import LanguageDetector

START = datetime(2026, 11, 2, tzinfo=ZoneInfo("Europe/Moscow"))
# What is compared, ordered so that both runs list rows alike; deadline ids aside (a row
# skipped as unchanged and one re-inserted and kept are the same row).
TABLES = {
    "tickets": "SELECT * FROM tickets ORDER BY id",
    "deadlines": "SELECT ticket_id, clock, stage, target_at, due_at, fired_at FROM deadlines "
                 "ORDER BY ticket_id, clock, stage, target_at",
    "events": "SELECT * FROM events ORDER BY id",
    "outbox": "SELECT id, ticket_id, kind, person, text, state FROM outbox ORDER BY id",
    "engineer_load": "SELECT * FROM engineer_load ORDER BY engineer",
    "report_days": "SELECT * FROM report_days ORDER BY day, dim, value",
}


async def _play(cfg: Config, db: Path, detector: LanguageDetector) -> dict[str, list[tuple[object, ...]]]:
    streams = [Stream("warranty", "ru", Priority.P3), Stream("24x7", "pl", Priority.P2),
               Stream("premium", "en", Priority.P1), Stream("8x5", "ru", Priority.P4)]
    rates = Rates({(h, s): 1.5 / len(streams) for h in range(168) for s in streams})
    arrivals = arrivals_for(rates, cfg, {}, START, 1, seed=7)
    run = await simulate(cfg, arrivals, DEFAULTS, {}, START, START + timedelta(weeks=1), seed=7, db=db,
                         detector=detector)
    await close_run(run)
    with sqlite3.connect(db) as conn:
        return {table: conn.execute(query).fetchall() for table, query in TABLES.items()}


async def test_writing_only_what_changed_leaves_the_same_database(
    tmp_path: Path, example_config: Config, detector: LanguageDetector, monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = example_config.model_copy(update={
        "engineers": [e.model_copy(update={"max_open": None}) for e in example_config.engineers]})
    skipped = 0
    unchanged = WrittenTimers.unchanged

    def counting(self: WrittenTimers, ticket: Ticket, clock: str, rows: list[dict[str, object]]) -> bool:
        nonlocal skipped
        found = unchanged(self, ticket, clock, rows)
        skipped += found
        return found

    monkeypatch.setattr(WrittenTimers, "unchanged", counting)
    lean = await _play(cfg, tmp_path / "lean.db", detector)
    assert skipped > 1000, "the economy was never used"
    assert sum(len(rows) for rows in lean.values()) > 5000 and len(lean["tickets"]) > 200

    monkeypatch.setattr(WrittenTimers, "unchanged", lambda *_: False)
    monkeypatch.setattr(work_module, "changed_columns", lambda row, stored: tuple(c for c in row if c != "id"))
    full = await _play(cfg, tmp_path / "full.db", detector)
    for table in TABLES:
        assert lean[table] == full[table], table


def _ticket(updated_at: datetime, stored_at: datetime | None) -> Ticket:
    ticket = Ticket(
        id=1001, status=Status.ASSIGNED, priority=Priority.P3, priority_reason="", kind=Kind.QUESTION,
        language="en", subject="s", customer="local:1", customer_name="C", org_id=None, plan="8x5",
        customer_tz="UTC", conversation=ConversationRef("local", "1", None), created_at=START,
        updated_at=updated_at,
    )
    ticket.stored = None if stored_at is None else {"id": 1001, "updated_at": stored_at}
    return ticket


def test_timers_another_writer_touched_since_are_written_in_full() -> None:
    written = WrittenTimers()
    rows = [{"ticket_id": 1001, "clock": "resolution", "stage": 100, "target_at": START, "due_at": START}]
    written.remember(_ticket(START, None), {"resolution": rows})
    assert written.unchanged(_ticket(START, START), "resolution", rows)
    assert not written.unchanged(_ticket(START, START), "resolution", [])  # a different schedule
    assert not written.unchanged(_ticket(START, START), "update", [])  # a clock never written
    later = START + timedelta(minutes=1)
    assert not written.unchanged(_ticket(later, later), "resolution", rows)  # read back as someone else left it
    assert not written.unchanged(_ticket(START, None), "resolution", rows)  # not read from the store
    resolved = _ticket(START, None)
    resolved.status = Status.RESOLVED
    written.remember(resolved, {"resolution": []})  # no longer open: forgotten
    assert not written.unchanged(_ticket(START, START), "resolution", rows)
