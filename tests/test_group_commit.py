"""Group commit: messages that arrive together are decided together, exactly as if one by one."""

from __future__ import annotations

import asyncio

from bot.core.domain import ConversationRef, Inbound, Sender

from .conftest import Desk


def _msg(desk: Desk, user: str, text: str, message_id: str, chat: str | None = None) -> Inbound:
    return Inbound(
        conversation=ConversationRef("local", chat or user), sender=Sender(f"local:{user}", "X"),
        text=text, message_id=message_id, at=desk.clock.now(), private=chat is None,
    )


async def test_a_burst_is_decided_as_if_one_by_one(desk: Desk) -> None:
    burst = [
        _msg(desk, "200001", "Не открывается отчёт", "a1"),
        _msg(desk, "200004", "Our export fails", "b1"),
        _msg(desk, "200001", "Ошибка 500 при открытии", "a2"),  # joins the ticket opened two lines up
        _msg(desk, "200001", "Не открывается отчёт", "a1"),  # a redelivery inside the same batch
        _msg(desk, "424242", "Hello, where are my invoices?", "c1"),
    ]
    receipts = await asyncio.gather(*(desk.desk.receive(m) for m in burst))
    assert [(r.ticket_id, r.created, r.duplicate) for r in receipts] == [
        (1001, True, False), (1002, True, False), (1001, False, False), (1001, False, True), (1003, True, False),
    ]
    assert [m["text"] for m in await desk.store.messages(1001)] == ["Не открывается отчёт", "Ошибка 500 при открытии"]
    loads = await desk.store.loads()
    assignees = [(await desk.ticket(t)).assignee for t in (1001, 1002, 1003)]
    assert sum(loads[a][0] for a in set(assignees) if a) == 3
    await desk.deliver()
    assert [m.kind for m in desk.local.to("200001")] == ["ack"]  # one acknowledgement for the joined ticket


async def test_least_loaded_holds_within_a_batch(desk: Desk) -> None:
    burst = [_msg(desk, f"5{i:05d}", "Не работает выгрузка отчётов", f"m{i}") for i in range(6)]
    await asyncio.gather(*(desk.desk.receive(m) for m in burst))
    assignees = [(await desk.ticket(1001 + i)).assignee for i in range(6)]
    # Russian day shift: Anna and Dmitry take turns, as they would one message at a time.
    assert sorted(assignees) == ["anna"] * 3 + ["dmitry"] * 3


async def test_one_bad_message_does_not_hold_back_the_others(desk: Desk) -> None:
    original = desk.desk.services.triage.priority

    def flaky(text: str, **kwargs: object):  # type: ignore[no-untyped-def]
        if "boom" in text:
            raise RuntimeError("a bug met this message")
        return original(text, **kwargs)  # type: ignore[arg-type]

    desk.desk.services.triage.priority = flaky  # type: ignore[method-assign]
    burst = [_msg(desk, "200001", "Первый вопрос", "x1"), _msg(desk, "200004", "boom", "x2"),
             _msg(desk, "424242", "Third question", "x3")]
    results = await asyncio.gather(*(desk.desk.receive(m) for m in burst), return_exceptions=True)
    assert isinstance(results[1], RuntimeError)
    assert [r.created for r in (results[0], results[2])] == [True, True]  # type: ignore[union-attr]
    assert len(await desk.tickets()) == 2
