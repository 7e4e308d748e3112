"""The command layer through the local channel: every command, role checks, bad arguments,
and the event log each action leaves."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from bot.app.config import Config
from bot.commands.core import CUSTOMERS, LEADS, REGISTRY
from bot.core.domain import EventType, Priority, Status
from bot.delivery.contract import Audience, Button

from .conftest import Desk

CUSTOMER = "200001"  # Romashka LLC, warranty, Russian
OTHER_CUSTOMER = "200004"  # ACME, premium, English
UNKNOWN = "424242"
ANNA, DMITRY, JOHN = "100001", "100002", "100005"
LEAD = "100011"  # Olga, team lead, Russian first


async def _ticket(desk: Desk, text: str = "Не открывается отчёт", user: str = CUSTOMER) -> int:
    receipt = await desk.local.say(user, text, name="Ivan")
    assert receipt.ticket_id is not None
    await desk.deliver()
    return receipt.ticket_id


def _to(desk: Desk, user: str, kind: str | None = None) -> list[str]:
    return [m.text for m in desk.local.to(user) if kind is None or m.kind == kind]


async def test_help_lists_only_what_the_asker_may_use(desk: Desk) -> None:
    customer = (await desk.local.command(CUSTOMER, "help")).text
    engineer = (await desk.local.command(ANNA, "help")).text
    lead = (await desk.local.command(LEAD, "help")).text
    assert "status" in customer and "reassign" not in customer and "take" not in customer
    assert "take" in engineer and "reassign" not in engineer and "status —" not in engineer
    assert "reassign" in lead and "override" in lead and "take" in lead
    assert "ваши обращения" in customer  # the Russian customer reads Russian
    english = (await desk.local.command(JOHN, "help")).text
    assert "take [T-1042] — take a ticket" in english


async def test_customer_cannot_reassign_and_nothing_changes(desk: Desk) -> None:
    tid = await _ticket(desk)
    before = await desk.ticket(tid)
    events = await desk.events(tid)
    for who in (CUSTOMER, UNKNOWN, ANNA):
        reply = await desk.local.command(who, f"reassign T-{tid} @john")
        assert not reply.ok
    reply = await desk.local.command(CUSTOMER, f"reassign T-{tid} @john")
    assert reply.text == "Нет доступа: команда reassign только для руководителей смены. Ничего не изменено."
    assert (await desk.ticket(tid)).assignee == before.assignee
    assert await desk.events(tid) == events


async def test_lead_reassigns_and_both_engineers_are_told(desk: Desk) -> None:
    tid = await _ticket(desk)
    old = (await desk.ticket(tid)).assignee
    new_id, new_chat = ("dmitry", DMITRY) if old == "anna" else ("anna", ANNA)
    reply = await desk.local.command(LEAD, f"reassign T-{tid} @{new_id} клиент просил")
    assert reply.ok and reply.text.startswith(f"T-{tid} →")
    await desk.deliver()
    ticket = await desk.ticket(tid)
    assert ticket.assignee == new_id
    row = (await desk.store.events(tid))[-1]
    assert row["type"] == EventType.REASSIGNED and row["actor"] == "olga" and row["reason"] == "клиент просил"
    old_chat = ANNA if old == "anna" else DMITRY
    assert any(f"T-{tid}" in t for t in _to(desk, old_chat, "notice"))
    assert any("клиент просил" in t for t in _to(desk, new_chat, "ping"))


async def test_escalate_by_area_and_the_ladder(desk: Desk) -> None:
    tid = await _ticket(desk, "Не сходится отчёт по НДС")
    reply = await desk.local.command(LEAD, f"escalate T-{tid} finance проверить расчёт")
    assert reply.ok and "Elena Morozova" in reply.text
    ticket = await desk.ticket(tid)
    assert (ticket.tier, ticket.assignee, ticket.escalation_level) == ("ee", "elena", 1)
    escalated = [r for r in await desk.store.events(tid) if r["type"] == EventType.ESCALATED]
    assert escalated[0]["data"]["old_tier"] == "l1" and "проверить расчёт" in escalated[0]["reason"]
    reply = await desk.local.command(LEAD, f"escalate T-{tid} se")
    assert reply.ok and (await desk.ticket(tid)).assignee == "sergey"
    reply = await desk.local.command(LEAD, f"escalate T-{tid}")
    assert not reply.ok and "top of the escalation ladder" in reply.text


async def test_an_engineer_escalates_their_own_ticket_from_the_ping(desk: Desk) -> None:
    tid = await _ticket(desk, "Не сходится отчёт по НДС")
    owner = (await desk.ticket(tid)).assignee
    owner_chat, other_chat = (ANNA, DMITRY) if owner == "anna" else (DMITRY, ANNA)
    [ping] = [m for m in desk.local.to(owner_chat) if m.kind == "ping"]
    [button] = [b for b in ping.buttons if b.action == "escalate"]
    before = await desk.events(tid)

    for who in (other_chat, CUSTOMER):  # someone else's ticket; a customer
        refused = await desk.local.press(who, button.data)
        assert not refused.ok
    refused = await desk.local.press(other_chat, button.data)
    assert refused.text.startswith(f"T-{tid} не на вас: инженер эскалирует свои обращения")
    assert await desk.events(tid) == before and (await desk.ticket(tid)).tier == "l1"

    reply = await desk.local.press(owner_chat, button.data)
    assert reply.ok
    ticket = await desk.ticket(tid)
    assert ticket.tier == "ee" and ticket.assignee not in (owner, None)
    [row] = [r for r in await desk.store.events(tid) if r["type"] == EventType.ESCALATED]
    assert row["actor"] == owner


async def test_priority_change_moves_the_deadlines(desk: Desk) -> None:
    tid = await _ticket(desk)
    before = {d["clock"]: d["target_at"] for d in await desk.store.deadlines(tid) if d["stage"] == 100 and not d["fired_at"]}
    reply = await desk.local.command(LEAD, f"priority T-{tid} P1 директор звонил")
    assert reply.ok
    after = {d["clock"]: d["target_at"] for d in await desk.store.deadlines(tid) if d["stage"] == 100 and not d["fired_at"]}
    assert after["first_response"] < before["first_response"]
    ticket = await desk.ticket(tid)
    assert ticket.priority == Priority.P1
    assert (await desk.events(tid))[-1] == EventType.PRIORITY_CHANGED
    bad = await desk.local.command(LEAD, f"priority T-{tid} P9")
    assert not bad.ok and bad.text.startswith("Использование: priority T-1042 P1")


async def test_bad_arguments_get_one_clear_line(desk: Desk) -> None:
    tid = await _ticket(desk)
    cases = {
        f"reassign T-{tid}": "Использование: reassign T-1042 @who [reason]",
        "reassign T-9999 @anna": "Обращения T-9999 нет.",
        f"reassign T-{tid} @nobody": "В графике нет инженера «@nobody».",
        f"snooze T-{tid} soon": "Использование: snooze [T-1042] 30m",
        "override @anna yesterday +1h": "«yesterday» — не время",
        "frobnicate": "Неизвестная команда «frobnicate»",
        "oncall martian": "Использование: oncall [language|tier]",
    }
    for command, expected in cases.items():
        reply = await desk.local.command(LEAD, command)
        assert not reply.ok and expected in reply.text, command


async def test_engineer_takes_notes_snoozes_and_resolves(desk: Desk) -> None:
    tid = await _ticket(desk)
    reply = await desk.local.command(JOHN, f"take T-{tid}")
    assert reply.text == f"T-{tid} is yours now."
    assert (await desk.ticket(tid)).assignee == "john"
    reply = await desk.local.command(JOHN, f"note T-{tid} customer on v4.2")
    assert reply.ok
    messages = await desk.store.messages(tid)
    assert messages[-1]["direction"] == "note" and messages[-1]["text"] == "customer on v4.2"
    reply = await desk.local.command(JOHN, f"snooze T-{tid} 30m")
    assert reply.ok and "I will remind you" in reply.text
    mine = (await desk.local.command(JOHN, "mine")).text
    assert f"T-{tid}" in mine
    assert f"T-{tid}" in (await desk.local.command(JOHN, "handover")).text
    desk.clock.advance(timedelta(minutes=31))
    await desk.desk.fire_due()
    await desk.deliver()
    assert any(t.startswith(f"Reminder: T-{tid}") for t in _to(desk, JOHN, "reminder"))
    reply = await desk.local.command(JOHN, f"resolve T-{tid} config fixed")
    assert reply.ok
    await desk.deliver()
    ticket = await desk.ticket(tid)
    assert ticket.status == Status.RESOLVED and ticket.resolved_at is not None
    resolved = [m for m in desk.local.to(CUSTOMER) if m.kind == "resolved"]
    assert [b.label for b in resolved[0].buttons] == ["1", "2", "3", "4", "5"]
    assert EventType.SNOOZED in await desk.events(tid)


async def test_lead_pauses_resumes_and_closes(desk: Desk) -> None:
    tid = await _ticket(desk)
    assert (await desk.local.command(LEAD, f"pause T-{tid} ждём логи")).ok
    ticket = await desk.ticket(tid)
    assert ticket.status == Status.WAITING_CUSTOMER and ticket.clock.running_since is None
    assert not [d for d in await desk.store.deadlines(tid) if d["clock"] == "resolution" and not d["fired_at"]]
    assert (await desk.local.command(LEAD, f"resume T-{tid}")).ok
    assert (await desk.ticket(tid)).clock.running_since is not None
    assert (await desk.local.command(LEAD, f"close T-{tid} дубль")).ok
    ticket = await desk.ticket(tid)
    assert ticket.status == Status.CLOSED
    events = await desk.events(tid)
    assert EventType.CLOCK_PAUSED in events and EventType.CLOCK_RESUMED in events


async def test_customer_status_new_urgent_close_and_rating(desk: Desk) -> None:
    tid = await _ticket(desk)
    status = (await desk.local.command(CUSTOMER, "status")).text
    assert f"T-{tid}" in status and "первый ответ до" in status
    urgent = await desk.local.command(CUSTOMER, "urgent")
    assert urgent.ok and (await desk.ticket(tid)).priority == Priority.P2
    assert "срочное" in urgent.text
    assert (await desk.local.command(CUSTOMER, "new")).ok
    second = await desk.local.say(CUSTOMER, "И ещё вопрос про лицензии")
    assert second.created and second.ticket_id != tid
    third = await desk.local.say(CUSTOMER, "Уточнение к вопросу про лицензии")
    assert third.ticket_id == second.ticket_id  # the /new mark is used up
    assert (await desk.local.command(CUSTOMER, f"close T-{tid}")).ok
    assert (await desk.ticket(tid)).status == Status.CLOSED
    assert not (await desk.local.command(OTHER_CUSTOMER, f"close T-{second.ticket_id}")).ok  # not theirs
    await desk.local.command(ANNA, f"resolve T-{second.ticket_id}")
    reply = await desk.local.press(CUSTOMER, Button("rate", second.ticket_id, "5", "5").data)
    assert reply.ok and (await desk.ticket(second.ticket_id)).rating == 5


async def test_unknown_user_is_a_customer(desk: Desk) -> None:
    assert (await desk.local.command(UNKNOWN, "status")).text == "You have no open requests."
    tid = await _ticket(desk, "Hello, how do I export invoices?", user=UNKNOWN)
    assert f"T-{tid}" in (await desk.local.command(UNKNOWN, "status")).text
    assert not (await desk.local.command(UNKNOWN, "queue")).ok


async def test_views_queue_oncall_ticket_sla(desk: Desk) -> None:
    desk.clock.advance(timedelta(hours=12))  # Tuesday 23:00 Moscow: night shift
    tid = await _ticket(desk, "Вопрос по выгрузке справочника")
    queue = (await desk.local.command(LEAD, "queue")).text
    assert f"T-{tid}" in queue and "в очереди до" in queue  # the lead reads Russian, every word of it
    oncall = (await desk.local.command(LEAD, "oncall")).text
    assert "John Carter" in oncall.split("Далее:")[0]
    assert "Anna Smirnova" in oncall.split("Далее:")[1]
    view = (await desk.local.command(ANNA, f"ticket T-{tid}")).text
    assert "queued" in view and "first_response" in view
    assert "1 tickets" in (await desk.local.command(LEAD, "sla today")).text


async def test_an_overdue_ticket_heads_the_queue_until_its_clock_is_met(desk: Desk, example_config: Config) -> None:
    """Assigned but past its first-response target: a lead must see it, on top, as overdue."""
    quiet = await _ticket(desk, "Как выгрузить справочник?")
    late = await _ticket(desk, "Hello, how do I add a user?", user=OTHER_CUSTOMER)  # premium: 15 minutes
    desk.clock.advance(timedelta(minutes=20))
    await desk.desk.fire_due()
    await desk.deliver()

    lines = (await desk.local.command(LEAD, "queue")).text.splitlines()
    assert lines[1].startswith(f"T-{late} ·") and "ПРОСРОЧЕНО с" in lines[1]  # the lead reads Russian
    assert not any(line.startswith(f"T-{quiet} ·") for line in lines)  # assigned, hours to go
    assignee = (await desk.ticket(late)).assignee
    assert assignee is not None
    [chat] = [i.split(":")[1] for e in example_config.engineers if e.id == assignee
              for i in e.identities if i.startswith("telegram:")]
    assert "ПРОСРОЧЕНО с" in (await desk.local.command(chat, "mine")).text  # Elena reads Russian too

    await desk.local.say(chat, "Hi! Settings → Users → Add.", chat="staff", thread=desk.local.thread_of(late, "staff"))
    assert (await desk.ticket(late)).first_response_at is not None
    assert f"T-{late}" not in (await desk.local.command(LEAD, "queue")).text


async def test_a_prepared_answer_in_the_customer_s_language_is_the_first_response(desk: Desk) -> None:
    tid = await _ticket(desk, "Не подключается VPN")
    engineer = (await desk.ticket(tid)).assignee
    chat = ANNA if engineer == "anna" else DMITRY
    listed = (await desk.local.command(chat, "answer")).text
    assert listed.startswith("Готовые ответы: password, vpn.")
    unknown = await desk.local.command(chat, f"answer T-{tid} printer")
    assert not unknown.ok and "password, vpn" in unknown.text

    reply = await desk.local.command(chat, f"answer T-{tid} vpn")
    assert reply.ok and reply.text == f"T-{tid}: клиенту отправлен ответ «vpn» (ru)."
    await desk.deliver()
    assert _to(desk, CUSTOMER, "reply")[-1].startswith("Чтобы переподключить VPN")
    ticket = await desk.ticket(tid)
    assert ticket.first_response_at is not None and ticket.status == Status.IN_PROGRESS

    danish = await _ticket(desk, "Hej, vi kan ikke logge ind", user=UNKNOWN)  # no Danish version
    await desk.local.command(LEAD, f"answer T-{danish} password")
    await desk.deliver()
    assert _to(desk, UNKNOWN, "reply")[-1].startswith("You can reset your password")  # follow-the-sun English
    assert not (await desk.local.command(CUSTOMER, f"answer T-{tid} vpn")).ok


async def test_history_of_an_organisation_or_a_customer(desk: Desk) -> None:
    first = await _ticket(desk, "Как выгрузить справочник?")
    second = await _ticket(desk, "Hello, how do I export invoices?", user=OTHER_CUSTOMER)
    await desk.local.command(LEAD, f"close T-{first} выгрузили вместе")

    by_name = (await desk.local.command(LEAD, "history romashka llc")).text.splitlines()
    assert by_name[0].startswith("Romashka LLC (warranty)") and len(by_name) == 2
    assert by_name[1].startswith(f"T-{first} ·") and "closed" in by_name[1]
    by_ticket = (await desk.local.command(ANNA, f"history T-{second}")).text
    assert f"T-{second} ·" in by_ticket and f"T-{first} ·" not in by_ticket
    by_identity = (await desk.local.command(ANNA, f"history local:{CUSTOMER}")).text
    assert f"T-{first} ·" in by_identity

    unknown = await desk.local.command(LEAD, "history Horns and Hooves")
    assert not unknown.ok and unknown.text.startswith("Нет организации или клиента «Horns and Hooves»")
    assert not (await desk.local.command(CUSTOMER, "history romashka")).ok  # staff only


async def test_override_puts_someone_on_duty_now(desk: Desk) -> None:
    desk.clock.advance(timedelta(hours=12))  # 23:00: no Russian speaker on duty
    reply = await desk.local.command(LEAD, "override @dmitry now +4h")
    assert reply.ok
    assert "Dmitry Volkov" in (await desk.local.command(LEAD, "oncall ru")).text.split("Далее:")[0]
    tid = await _ticket(desk, "Не работает выгрузка")
    assert (await desk.ticket(tid)).assignee == "dmitry"


async def test_buttons_are_commands_with_the_same_role_checks(desk: Desk) -> None:
    tid = await _ticket(desk)
    ping = next(m for m in desk.local.sent if m.message.kind == "ping")
    take = next(b for b in ping.message.buttons if b.action == "take")
    refused = await desk.local.press(CUSTOMER, take.data)
    assert not refused.ok
    reply = await desk.local.press(JOHN, take.data, key="press-1")
    assert reply.ok and (await desk.ticket(tid)).assignee == "john"
    again = await desk.local.press(JOHN, take.data, key="press-1")  # redelivered press
    assert again.text == ""
    assert (await desk.events(tid)).count(EventType.REASSIGNED) == 1


async def test_reply_in_chat_goes_through_the_outbox(desk: Desk) -> None:
    await desk.local.command(CUSTOMER, "status", in_chat=True, key="m-77")
    await desk.local.command(CUSTOMER, "status", in_chat=True, key="m-77")  # redelivered
    await desk.deliver()
    replies = [m for m in desk.local.to(CUSTOMER) if m.kind == "command_reply"]
    assert [m.recipient.audience for m in replies] == [Audience.CUSTOMER]
    assert replies[0].text == "У вас нет открытых обращений."



def test_docs_list_every_command_for_the_roles_that_may_use_it() -> None:
    """docs/commands.md is what people read: it must not miss a command or misplace one."""
    doc = (Path(__file__).parent.parent / "docs" / "commands.md").read_text(encoding="utf-8")
    listed: dict[str, set[str]] = {}
    for part in doc.split("\n## ")[1:]:
        title, body = part.split("\n", 1)
        cells = [line.split("|")[1] for line in body.splitlines() if line.startswith("| `")]
        listed[title] = {name for cell in cells for name in re.findall(r"`(\w+)", cell)}
    for spec in REGISTRY.values():
        if spec.roles & CUSTOMERS:
            assert spec.name in listed["Customers"], spec.name
        elif spec.roles <= LEADS:
            assert spec.name in listed["Team leads"], spec.name
        else:
            assert spec.name in listed["Engineers (and leads)"], spec.name
    assert set().union(*listed.values()) == set(REGISTRY)
