"""The desk's pipeline through its public entry points and the local channel."""

from __future__ import annotations

from bot.core.domain import EventType, Priority, Status
from bot.delivery.contract import Audience

from .conftest import Desk

ROMASHKA = "200001"  # a Russian-speaking customer on the warranty plan


async def test_new_ticket_is_routed_acknowledged_and_pinged(desk: Desk) -> None:
    receipt = await desk.local.say(ROMASHKA, "Добрый день! Не приходят уведомления на почту", name="Ivan")
    assert receipt.created and receipt.ticket_id == 1001
    await desk.deliver()

    ticket = await desk.ticket(1001)
    assert ticket.language == "ru"
    assert ticket.org_id == "romashka" and ticket.plan == "warranty"
    assert ticket.assignee in {"anna", "dmitry"}
    assert ticket.status == Status.ASSIGNED

    ack = desk.local.to(ROMASHKA)
    assert len(ack) == 1 and ack[0].kind == "ack"
    assert "T-1001" in ack[0].text and "Инженер ответит до" in ack[0].text
    ping = [m for m in desk.local.sent if m.message.recipient.audience == Audience.ENGINEER]
    assert [p.message.kind for p in ping] == ["ping"]
    assert {b.action for b in ping[0].message.buttons} == {"take", "escalate", "resolve", "snooze"}
    thread = desk.local.to("staff")
    assert [m.kind for m in thread] == ["header", "copy"]
    assert await desk.events(1001) == [EventType.CREATED, EventType.STATUS_CHANGED, EventType.ASSIGNED]


async def test_follow_up_joins_and_duplicate_is_ignored(desk: Desk) -> None:
    first = await desk.local.say(ROMASHKA, "Не работает вход в систему", message_id="m1")
    again = await desk.local.say(ROMASHKA, "Не работает вход в систему", message_id="m1")
    follow = await desk.local.say(ROMASHKA, "Ошибка 500 при входе", message_id="m2")
    assert first.created and again.duplicate and not follow.created
    assert follow.ticket_id == first.ticket_id
    messages = await desk.store.messages(first.ticket_id)
    assert [m["text"] for m in messages] == ["Не работает вход в систему", "Ошибка 500 при входе"]


async def test_everything_is_down_raises_priority(desk: Desk) -> None:
    receipt = await desk.local.say(ROMASHKA, "всё упало, срочно!", priority=Priority.P3)
    ticket = await desk.ticket(receipt.ticket_id)
    assert ticket.priority == Priority.P1
    assert "всё упало" in ticket.priority_reason


async def test_engineer_reply_in_staff_thread_reaches_customer(desk: Desk) -> None:
    receipt = await desk.local.say(ROMASHKA, "Как настроить VPN?")
    await desk.deliver()
    thread = desk.local.thread_of(receipt.ticket_id, "staff")
    assert thread is not None
    ticket = await desk.ticket(receipt.ticket_id)
    engineer = {"anna": "100001", "dmitry": "100002"}[ticket.assignee]
    await desk.local.say(engineer, "Здравствуйте! Откройте настройки → VPN.", chat="staff", thread=thread)
    await desk.local.say(engineer, "! клиент на старой версии", chat="staff", thread=thread)
    await desk.deliver()

    to_customer = [m for m in desk.local.to(ROMASHKA) if m.kind == "reply"]
    assert [m.text for m in to_customer] == ["Здравствуйте! Откройте настройки → VPN."]
    ticket = await desk.ticket(receipt.ticket_id)
    assert ticket.status == Status.IN_PROGRESS and ticket.first_response_at is not None
    kinds = [m["direction"] for m in await desk.store.messages(receipt.ticket_id)]
    assert kinds == ["customer", "engineer", "note"]


async def test_outbox_survives_two_failures_and_is_delivered_once(desk: Desk) -> None:
    desk.local.fail_next(ROMASHKA, ConnectionError("network down"), TimeoutError("slow"))
    receipt = await desk.local.say(ROMASHKA, "Не открывается отчёт")
    await desk.deliver()
    rows = await desk.store.outbox_rows(receipt.ticket_id)
    assert rows and all(r["state"] == "sent" for r in rows)
    ack = next(r for r in rows if r["kind"] == "ack")
    assert ack["attempts"] == 3 and "TimeoutError" in ack["last_error"]  # two failures, then success
    assert [d.message.kind for d in desk.local.sent if d.message.recipient.chat_id == ROMASHKA] == ["ack"]
    ids = [d.message.id for d in desk.local.sent]
    assert len(ids) == len(set(ids)) == len(rows)


async def test_nothing_is_lost_between_commit_and_delivery(tmp_path, example_config, detector) -> None:
    from .conftest import TUESDAY_11, open_desk

    db = tmp_path / "crash.db"
    first = await open_desk(example_config, db, detector, TUESDAY_11)
    receipt = await first.local.say(ROMASHKA, "Не открывается отчёт")
    await first.close()  # "crash": committed, never delivered
    assert first.local.sent == []

    second = await open_desk(example_config, db, detector, TUESDAY_11)
    try:
        await second.deliver()
        kinds = sorted(d.message.kind for d in second.local.sent)
        assert kinds == ["ack", "copy", "header", "ping"]
        assert all(d.message.ticket_id == receipt.ticket_id for d in second.local.sent)
        await second.deliver()  # nothing is sent twice
        assert len(second.local.sent) == 4
    finally:
        await second.close()
