"""Bad input never crashes the desk or loses a message: each case has a defined outcome."""

from __future__ import annotations

from bot.core.domain import Attachment

from .conftest import Desk

ROMASHKA = "200001"


async def test_empty_message_is_ignored_without_a_ticket(desk: Desk) -> None:
    receipt = await desk.local.say(ROMASHKA, "   \n\t ")
    assert receipt.ticket_id is None and not receipt.created
    assert await desk.store.next_ticket_id() == 1001  # nothing was stored


async def test_attachment_only_message_opens_a_ticket_named_after_it(desk: Desk) -> None:
    photo = Attachment("photo", ref="file-1")
    receipt = await desk.local.say(ROMASHKA, "", attachments=(photo,))
    assert receipt.created
    ticket = await desk.ticket(receipt.ticket_id)
    assert ticket.subject == "[photo]"
    assert ticket.language == "ru"  # from the organisation, the text says nothing
    [message] = await desk.store.messages(receipt.ticket_id)
    assert message["attachments"] == [{"kind": "photo", "ref": "file-1"}]
    await desk.deliver()
    copy = [m for m in desk.local.to("staff") if m.kind == "copy"]
    assert "[photo]" in copy[0].text


async def test_100_kb_text_is_kept_shortened_with_a_note(desk: Desk) -> None:
    text = "Лог ошибки: " + "x" * 100_000
    receipt = await desk.local.say(ROMASHKA, text)
    [message] = await desk.store.messages(receipt.ticket_id)
    limit = desk.app.cfg.desk.max_text
    assert message["text"].startswith("Лог ошибки: xxx")
    assert len(message["text"]) < limit + 200
    assert "сообщение сокращено" in message["text"]
    assert str(len(text) - limit) in message["text"]


async def test_control_characters_are_dropped(desk: Desk) -> None:
    receipt = await desk.local.say(ROMASHKA, "Не\x00 работает\x07 печать\x1b[31m")
    [message] = await desk.store.messages(receipt.ticket_id)
    assert message["text"] == "Не работает печать[31m"


async def test_unknown_sender_gets_a_ticket_on_the_default_plan(desk: Desk) -> None:
    receipt = await desk.local.say("424242", "Hello, how do I export my invoices?", name="Stranger")
    ticket = await desk.ticket(receipt.ticket_id)
    assert ticket.org_id is None and ticket.plan == "basic"
    assert ticket.customer == "local:424242" and ticket.language == "en"
    await desk.deliver()
    assert [m.kind for m in desk.local.to("424242")] == ["ack"]


async def test_desk_keeps_working_after_a_failing_delivery(desk: Desk) -> None:
    desk.local.fail_next(ROMASHKA, *[RuntimeError("boom")] * 12)
    await desk.local.say(ROMASHKA, "Первое сообщение")
    await desk.deliver()
    failed = await desk.store.outbox_rows(state="failed")
    assert [r["kind"] for r in failed] == ["ack"]
    receipt = await desk.local.say("200004", "Second customer, all fine")
    await desk.deliver()
    assert [m.kind for m in desk.local.to("200004")] == ["ack"]
    assert receipt.created
