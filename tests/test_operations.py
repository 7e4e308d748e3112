"""Operating the desk: backup and restore, retention, erasure, `--version` — through the CLI
and the desk's own entry points."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.cli import main
from bot.app.config import Config, parse_config
from bot.app.factory import App
from bot.core.domain import EventType, Status
from routing.durations import parse_duration
from storage import TicketQuery, open_store
from storage.backup import backup

from .conftest import Desk

ROMASHKA = "200001"


def _tickets_in(db: Path) -> set[int]:
    conn = sqlite3.connect(db)
    try:
        assert [r[0] for r in conn.execute("PRAGMA integrity_check")] == ["ok"]
        return {r[0] for r in conn.execute("SELECT id FROM tickets")}
    finally:
        conn.close()


def _torn(db: Path) -> list[int]:
    """Tickets in the file without the rows their own transaction wrote with them."""
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute(
            "SELECT id FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id) "
            "OR NOT EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = t.id) "
            "OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.ticket_id = t.id)"
        )]
    finally:
        conn.close()


async def test_backup_during_a_burst_holds_every_ticket_committed_before_it_and_restores(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    db = Path(desk.app.cfg.storage.url.removeprefix("sqlite:///"))
    committed: set[int] = set()
    halfway = asyncio.Event()

    async def customer(n: int) -> None:
        receipt = await desk.local.say(str(300_000 + n), f"Не работает выгрузка номер {n}", message_id=f"m{n}")
        assert receipt.ticket_id is not None
        committed.add(receipt.ticket_id)
        if len(committed) >= 60:
            halfway.set()

    burst = [asyncio.create_task(customer(n)) for n in range(200)]
    await asyncio.wait_for(halfway.wait(), timeout=60)
    before = set(committed)
    target = tmp_path / "backup.db"
    # On a thread while customers keep writing: the event loop (and the desk) runs on.
    snapshot = await asyncio.to_thread(backup, db, target)
    await asyncio.gather(*burst)
    assert len(committed) == 200
    in_backup = _tickets_in(target)
    assert before <= in_backup  # every ticket committed before the backup began
    assert snapshot.tickets == len(in_backup)
    assert _torn(target) == []  # and each one whole: its transaction's message, event and outbox rows

    restored = tmp_path / "restored" / "desk.db"
    assert main(["restore", "--db", str(restored), str(target)]) == 0
    assert f"restored from {target}: {len(in_backup)} tickets" in capsys.readouterr().out
    assert _tickets_in(restored) == in_backup
    store = await open_store(f"sqlite:///{restored}", runner=True)  # a desk runs on it again
    try:
        assert {r["id"] for r in await store.tickets(TicketQuery(limit=1000))} == in_backup
    finally:
        await store.close()


async def test_backup_through_the_cli_and_a_restore_refused_while_a_desk_runs(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    await desk.local.say(ROMASHKA, "Добрый день! Не приходят уведомления")
    db = Path(desk.app.cfg.storage.url.removeprefix("sqlite:///"))
    copy = tmp_path / "copy.db"
    assert main(["backup", "--db", str(db), str(copy)]) == 0
    assert "1 tickets" in capsys.readouterr().out and _tickets_in(copy) == {1001}

    target = tmp_path / "running.db"
    runner = await open_store(f"sqlite:///{target}", runner=True)  # as `dutydesk run` holds it
    try:
        assert main(["restore", "--db", str(target), str(copy)]) == 1
        assert "a desk is running on" in capsys.readouterr().err
    finally:
        await runner.close()
    assert main(["restore", "--db", str(target), str(copy)]) == 0
    assert _tickets_in(target) == {1001}


def test_restore_refuses_what_is_not_a_dutydesk_database_of_a_known_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "desk.db"
    text = tmp_path / "notes.db"
    text.write_text("not a database at all, just some text that is long enough" * 20, encoding="utf-8")
    assert main(["restore", "--db", str(target), str(text)]) == 2
    assert "not a SQLite database" in capsys.readouterr().err
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert main(["restore", "--db", str(target), str(other)]) == 2
    assert "not a dutydesk database" in capsys.readouterr().err
    newer = tmp_path / "newer.db"
    asyncio.run(_empty_desk_db(newer))
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    assert main(["restore", "--db", str(target), str(newer)]) == 2
    assert "schema version 999 is newer than this dutydesk knows" in capsys.readouterr().err
    assert not target.exists() or _tickets_in(target) == set()


async def _empty_desk_db(path: Path) -> None:
    store = await open_store(f"sqlite:///{path}")
    await store.close()


def test_backup_of_postgresql_names_pg_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pg.toml"
    config.write_text('[storage]\nurl = "postgresql://desk:secret@db.example:5432/dutydesk"\n', encoding="utf-8")
    assert main(["backup", "--config", str(config), str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "pg_dump --format=custom --file=FILE 'postgresql://desk@db.example:5432/dutydesk'" in err
    assert "secret" not in err


async def _closed_ticket(desk: Desk, customer: str, text: str) -> int:
    receipt = await desk.local.say(customer, text)
    assert receipt.ticket_id is not None
    assert (await desk.local.command(customer, f"close T-{receipt.ticket_id}")).ok
    assert (await desk.ticket(receipt.ticket_id)).status == Status.CLOSED
    return receipt.ticket_id


async def test_retention_erases_texts_of_tickets_closed_longer_ago_and_keeps_sla_figures(desk: Desk) -> None:
    old = await _closed_ticket(desk, ROMASHKA, "Мой пароль Qwerty123, не могу войти")
    await desk.deliver()
    desk.clock.advance(timedelta(days=300))
    recent = await _closed_ticket(desk, "300001", "Please call me at +44 20 7946 0000")
    desk.clock.advance(timedelta(days=66))  # the first closed 366 days ago, the second 66
    deadlines_before = await desk.store.deadlines(old)
    assert await desk.desk.expire_texts(parse_duration("365d")) == 1
    assert {m["text"] for m in await desk.messages(old)} == {"[erased]"}
    ticket = await desk.ticket(old)
    assert ticket.subject == "[erased]" and ticket.first_response_at is None and ticket.closed_at is not None
    assert await desk.store.deadlines(old) == deadlines_before
    assert (await desk.events(old))[-1] == EventType.TEXTS_EXPIRED
    [kept] = await desk.messages(recent)
    assert "+44 20 7946 0000" in kept["text"]
    assert await desk.desk.expire_texts(parse_duration("365d")) == 0  # nothing left to do


async def test_retention_runs_daily_when_configured(tmp_path: Path, example_config: Config) -> None:
    raw = {"local": {"enabled": True}, "storage": {"url": f"sqlite:///{tmp_path / 'r.db'}"},
           "retention": {"closed_after": "365d", "run_at": "04:15"}, "http": {"port": 0}}
    cfg = parse_config(raw)
    assert cfg.retention.closed_after == timedelta(days=365)
    app = await App.create(cfg, serve_http=False)
    try:
        await app.start()
        when = app.scheduler.next_run("retention")
        assert when is not None and (when.hour, when.minute) == (4, 15)
    finally:
        await app.stop()


async def test_forget_erases_one_customer_and_the_audit_log_names_no_one(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    mine = await _closed_ticket(desk, ROMASHKA, "Иван Петров, договор 77-12, не работает вход")
    theirs = (await desk.local.say("300002", "Someone else's question")).ticket_id
    db = Path(desk.app.cfg.storage.url.removeprefix("sqlite:///"))
    # The CLI beside the running desk (its own event loop, on a thread of its own).
    assert await asyncio.to_thread(main, ["forget", "--db", str(db), f"local:{ROMASHKA}"]) == 0
    said = capsys.readouterr().out
    assert f"erased local:{ROMASHKA} from 1 tickets (T-{mine})" in said
    assert await asyncio.to_thread(main, ["tickets", "show", "--db", str(db), f"T-{mine}"]) == 0
    shown = capsys.readouterr().out
    assert ROMASHKA not in shown and "Иван" not in shown and "77-12" not in shown
    assert "data_erased" in shown and "erased:" in shown
    assert await asyncio.to_thread(main, ["forget", "--db", str(db), f"local:{ROMASHKA}"]) == 1  # nothing left
    assert "no tickets of" in capsys.readouterr().err
    assert theirs is not None and "Someone else's question" in [m["text"] for m in await desk.messages(theirs)]
    # A customer who writes again after being forgotten starts afresh.
    again = await desk.local.say(ROMASHKA, "Снова я")
    assert again.created and again.ticket_id not in (mine, theirs)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    from importlib.metadata import version

    assert capsys.readouterr().out.strip() == f"dutydesk {version('dutydesk')}"


def test_backup_module_copies_nothing_partial(tmp_path: Path) -> None:
    missing = tmp_path / "absent.db"
    with pytest.raises(Exception, match="no such database"):
        backup(missing, tmp_path / "out.db")
    assert not (tmp_path / "out.db").exists()
