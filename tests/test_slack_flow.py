"""The Slack adapter end to end: the real Bolt app over real HTTP (and Socket Mode) against
the Slack stand-in, the real desk, store and dispatcher, on a manual clock (Tuesday 11:00
Moscow, the day shift on duty).

Synchronisation is by state, never by sleeping. The adapter acknowledges an event only
after the desk committed it, so when the stand-in's signed request returns, the desk has
it; `settle` then delivers the outbox with `dispatcher.flush()`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack.channel import SlackChannel
from adapters.slack.config import SlackConfig
from bot.app.config import Config, DeliveryConfig, HttpConfig, IntakeConfig, StorageConfig
from bot.app.factory import App
from bot.core.clock import ManualClock
from bot.core.desk import Desk
from bot.core.domain import Direction
from bot.delivery.contract import Adapter
from routing.language import LanguageDetector
from tests.standins.slack_api import Message, RateLimit, SlackStandIn, sign, slack_escape

from .channel_contract import check_channel_contract
from .conftest import TUESDAY_11, AppViews

TRIAGE = "C0TRIAGE01"
ACME_CHANNEL, SEVER_CHANNEL = "C0ACME001", "C0SEVER01"
ANNA, DMITRY, OLGA, LARS = "U0ANNA001", "U0DMIT002", "U0OLGA011", "U0LARS004"
SEVER, ACME = "U0SEVR002", "U0ACME004"  # Sever Logistics (8x5, ru), ACME (premium, en; dedicated: Lars)
ENGINEER_USER = {"anna": ANNA, "dmitry": DMITRY, "olga": OLGA, "lars": LARS}


def populate(slack: SlackStandIn) -> None:
    people = (
        (ANNA, "anna", "Anna Smirnova", "ru-RU"), (DMITRY, "dmitry", "Dmitry Volkov", "ru-RU"),
        (OLGA, "olga", "Olga Kuznetsova", "ru-RU"), (SEVER, "pavel", "Pavel Sidorov", "ru-RU"),
        (ACME, "alice", "Alice Cooper", "en-GB"), (LARS, "lars", "Lars Jensen", "da-DK"),
    )
    for user, name, real, locale in people:
        slack.add_user(user, name, real_name=real, locale=locale)
    slack.add_channel(TRIAGE, "triage", is_private=True, members=[ANNA, DMITRY, OLGA, LARS])
    slack.add_channel(ACME_CHANNEL, "acme-support", is_shared=True, members=[ACME, ANNA])
    slack.add_channel(SEVER_CHANNEL, "sever-support", is_shared=True, members=[SEVER])


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(limits=None) as stand_in:
        populate(stand_in)
        yield stand_in


def slack_config(base: Config, db: Path, slack: SlackStandIn, **settings: Any) -> Config:
    """The example roster on Slack. Our own pacing is opened wide unless a test asks for
    the real limits, so tests wait on Slack's behaviour, not on our politeness."""
    chosen: dict[str, Any] = {
        "enabled": True, "api_base": slack.api_base, "triage_channel": TRIAGE,
        "per_second": 1000, "per_channel_per_second": 1000,
    }
    return base.model_copy(update={
        "storage": StorageConfig(url=f"sqlite:///{db}"),
        "slack": SlackConfig(**(chosen | settings)),
        "intake": IntakeConfig(retry_base_seconds=0.01, retry_max_seconds=0.05),
        "delivery": DeliveryConfig(retry_base_seconds=0.01, retry_max_seconds=0.05),
        "http": HttpConfig(port=0),
    })


@dataclass
class Rig(AppViews):
    slack: SlackStandIn
    app: App
    channel: SlackChannel
    adapters: dict[str, Adapter]

    async def settle(self) -> None:
        await self.app.dispatcher.flush()

    async def thread(self, ticket_id: int) -> str:
        return str(await self.staff_thread(ticket_id))

    async def assignee_user(self, ticket_id: int) -> str:
        return ENGINEER_USER[(await self.ticket(ticket_id)).assignee or ""]

    def posted(self, channel: str, thread_ts: str | None = None) -> list[Message]:
        """What the app posted in a channel (or one thread of it, parent excluded), oldest first."""
        return self.slack.messages(channel, thread_ts, by_bot=True)

    def top_level(self, channel: str) -> list[Message]:
        return [m for m in self.posted(channel) if m.thread_ts is None]

    async def close(self) -> None:
        for adapter in self.adapters.values():
            await adapter.stop()
        await self.app.stop()


async def open_rig(
    slack: SlackStandIn, cfg: Config, detector: LanguageDetector, *, others: dict[str, Adapter] | None = None,
) -> Rig:
    """As tests/conftest.py: the channels and the HTTP server start, the dispatcher's loop
    does not (only `settle` delivers, so a flush never races the loop)."""
    channel = SlackChannel(
        cfg.channels["slack"], bot_token=slack.bot_token, signing_secret=slack.signing_secret, app_token=slack.app_token,
    )
    adapters: dict[str, Adapter] = {"slack": channel, **(others or {})}
    app = await App.create(cfg, clock=ManualClock(TUESDAY_11), adapters=adapters, detector=detector,
                           serve_http=cfg.channels["slack"].mode == "http")
    rig = Rig(slack, app, channel, adapters)
    try:
        for adapter in adapters.values():
            await adapter.start(app.desk, app.http)
        if app.http is not None:
            await app.http.start()
            slack.app_url = f"http://127.0.0.1:{app.http.bound_port}{cfg.channels['slack'].events_path}"
        await app.dispatcher.start()  # loads the threads bound to tickets
        await app.dispatcher.stop()
    except BaseException:
        await rig.close()
        raise
    return rig


@pytest.fixture
async def rig(
    slack: SlackStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> AsyncIterator[Rig]:
    handle = await open_rig(slack, slack_config(example_config, tmp_path / "desk.db", slack), detector)
    yield handle
    await handle.close()


def action_ids(message: Message) -> dict[str, str]:
    """Button value → action_id, of the message's actions blocks."""
    return {
        e["value"]: e["action_id"]
        for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]
    }


async def open_dm_ticket(rig: Rig, text: str = "Добрый день! Не формируется отчёт по остаткам на складе.") -> str:
    """Pavel (Sever Logistics) writes to the app's DM; returns the DM channel."""
    dm = rig.slack.dm_channel(SEVER)
    status, _, _ = await rig.slack.user_message(SEVER, dm, text)
    assert status == 200
    await rig.settle()
    return dm


async def test_a_healthy_start_with_the_tokens_in_the_environment_warns_of_nothing(
    slack: SlackStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """As `dutydesk run` starts: the secrets in the environment (Bolt reads SLACK_BOT_TOKEN
    itself), and the app still talks to the configured API address, not slack.com."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", slack.signing_secret)
    caplog.set_level(logging.WARNING)
    cfg = slack_config(example_config, tmp_path / "desk.db", slack)
    handle = await open_rig(slack, cfg, detector)
    try:
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
        await open_dm_ticket(handle)
        assert [t.id for t in await handle.tickets()] == [1001]
        assert slack.calls_to("auth.test")
    finally:
        await handle.close()


# -- customers in DMs ------------------------------------------------------------------------------


async def test_dm_round_trip_through_the_triage_thread(rig: Rig) -> None:
    slack = rig.slack
    dm = await open_dm_ticket(rig)

    [ticket] = await rig.tickets()
    assert (ticket.customer, ticket.customer_name, ticket.org_id, ticket.language) == (
        f"slack:{SEVER}", "Pavel Sidorov", "sever", "ru")
    assert (ticket.conversation.chat_id, ticket.conversation.thread_id) == (dm, None)

    [header] = rig.top_level(TRIAGE)
    thread = await rig.thread(1001)
    assert header.ts == thread and "T-1001" in header.text
    assert sorted(action_ids(header)) == ["dd:escalate:1001:", "dd:resolve:1001:", "dd:take:1001:"]
    [copy] = rig.posted(TRIAGE, thread)
    assert "Pavel Sidorov" in copy.text and "отчёт по остаткам" in copy.text
    [ack] = rig.posted(dm)
    assert "T-1001" in ack.text

    engineer = await rig.assignee_user(1001)
    answer = "Здравствуйте! Откройте Склад → Отчёты → Остатки & выберите дату <сегодня>."
    await slack.user_message(engineer, TRIAGE, slack_escape(answer), thread_ts=thread)
    await rig.settle()
    assert [m.text for m in rig.posted(dm)][1:] == [
        "Здравствуйте! Откройте Склад → Отчёты → Остатки &amp; выберите дату &lt;сегодня&gt;."
    ]

    await slack.user_message(engineer, TRIAGE, "! клиент на старой версии, предложить обновление", thread_ts=thread)
    await rig.settle()
    assert len(rig.posted(dm)) == 2  # the note stayed inside
    notes = await rig.messages(1001, Direction.NOTE)
    assert [n["text"] for n in notes] == ["клиент на старой версии, предложить обновление"]
    assert [m["direction"] for m in await rig.messages(1001)] == ["customer", "engineer", "note"]
    assert [m["text"] for m in await rig.messages(1001, Direction.ENGINEER)] == [
        "Здравствуйте! Откройте Склад → Отчёты → Остатки & выберите дату <сегодня>."]
    # users.info once per person, then from memory.
    assert sorted(c.args["user"] for c in slack.calls_to("users.info")) == sorted([SEVER, engineer])


async def test_engineer_answers_the_ping_in_its_thread_in_the_dm(rig: Rig) -> None:
    slack = rig.slack
    dm = await open_dm_ticket(rig)
    engineer = await rig.assignee_user(1001)
    engineer_dm = slack.dm_channel(engineer)
    [ping] = rig.posted(engineer_dm)
    assert "T-1001" in ping.text and "dd:snooze:1001:30m" in action_ids(ping)
    # The ping went to the user id; the desk remembers the DM it landed in.
    [call] = [c for c in slack.calls_to("chat.postMessage") if c.response.get("ts") == ping.ts]
    assert call.args["channel"] == engineer

    await slack.user_message(engineer, engineer_dm, "Pavel, please send a screenshot.", thread_ts=ping.ts)
    await rig.settle()
    assert [m.text for m in rig.posted(dm)][1:] == ["Pavel, please send a screenshot."]

    # Outside a ping's thread the message answers nothing: the desk's hint, shown only to them.
    await slack.user_message(engineer, engineer_dm, "hello?")
    await rig.settle()
    assert len(rig.posted(dm)) == 2
    [hint] = [e for e in slack.ephemerals if e.user == engineer]
    assert hint.channel == engineer_dm and hint.text


async def test_a_stranger_in_a_ticket_thread_is_told_and_not_relayed(rig: Rig) -> None:
    slack = rig.slack
    dm = await open_dm_ticket(rig)
    slack.add_user("U0STRAY99", "visitor")
    await slack.user_message("U0STRAY99", TRIAGE, "I can help with this one!", thread_ts=await rig.thread(1001))
    await rig.settle()
    assert len(rig.posted(dm)) == 1  # only the acknowledgement
    [note] = [e for e in slack.ephemerals if e.user == "U0STRAY99"]
    assert (note.channel, note.thread_ts) == (TRIAGE, await rig.thread(1001)) and "roster" in note.text


async def test_files_become_attachments(rig: Rig) -> None:
    dm = rig.slack.dm_channel(SEVER)
    await rig.slack.user_message(SEVER, dm, "Вот скриншот ошибки", files=[
        {"name": "error.png", "content": b"\x89PNG", "mimetype": "image/png"},
        {"name": "log.txt", "content": b"trace", "mimetype": "text/plain"},
    ])
    await rig.settle()
    [message] = await rig.messages(1001)
    kinds = [(a["kind"], a["name"], a["mime"], a["size"]) for a in message["attachments"]]
    assert kinds == [("photo", "error.png", "image/png", 4), ("file", "log.txt", "text/plain", 5)]
    assert all(a["ref"].startswith("F") for a in message["attachments"])
    [copy] = rig.posted(TRIAGE, await rig.thread(1001))
    assert "error.png" in copy.text and "log.txt" in copy.text


async def test_what_nobody_wrote_is_ignored(rig: Rig) -> None:
    slack = rig.slack
    for delivery in (
        await slack.bot_message(ACME_CHANNEL, "Build #42 passed"),
        await slack.user_message(ACME, ACME_CHANNEL, "<@U0ACME004> has joined the channel", subtype="channel_join"),
    ):
        assert delivery.status == 200
    assert await rig.tickets() == []
    dm = await open_dm_ticket(rig)
    [ack] = rig.posted(dm)
    assert (await slack.echo_bot_message(dm, ack.ts)).status == 200  # the app's own post
    assert len(await rig.messages(1001)) == 1


async def test_edit_updates_the_ticket_s_message(rig: Rig) -> None:
    slack = rig.slack
    dm = slack.dm_channel(SEVER)
    _, _, ts = await slack.user_message(SEVER, dm, "Не формируется отчёт по складу")
    await rig.settle()
    delivery = await slack.user_edits(SEVER, dm, ts, "Не формируется отчёт по складу №2 с 1 ноября")
    assert delivery.status == 200
    await rig.settle()
    [message] = await rig.messages(1001)
    assert message["text"] == "Не формируется отчёт по складу №2 с 1 ноября"
    shown = rig.posted(TRIAGE, await rig.thread(1001))
    assert "№2 с 1 ноября" in shown[-1].text and len(shown) == 2

    engineer = ENGINEER_USER[(await rig.tickets())[0].assignee or ""]
    _, _, answer = await slack.user_message(engineer, TRIAGE, "Проверьте склад №1.", thread_ts=await rig.thread(1001))
    await rig.settle()
    await slack.user_edits(engineer, TRIAGE, answer, "Проверьте склад №2.")
    await rig.settle()
    assert [m.text for m in slack.messages(dm)][-2:] == [
        "Проверьте склад №1.", "Уточнение к нашему предыдущему сообщению: Проверьте склад №2."]


# -- customers in shared channels --------------------------------------------------------------------


async def test_shared_channel_top_level_opens_a_ticket_and_its_thread_joins(rig: Rig) -> None:
    slack = rig.slack
    _, _, asked = await slack.user_message(ACME, ACME_CHANNEL, "Production is down: orders are not syncing to SAP.")
    await rig.settle()
    [ticket] = await rig.tickets()
    assert (ticket.org_id, ticket.conversation.chat_id, ticket.conversation.thread_id) == ("acme", ACME_CHANNEL, asked)
    [ack] = rig.posted(ACME_CHANNEL)
    assert ack.thread_ts == asked and "T-1001" in ack.text

    await slack.user_message(ACME, ACME_CHANNEL, "It started at 10:40 London time.", thread_ts=asked)
    await rig.settle()
    assert len(await rig.tickets()) == 1
    assert [m["text"] for m in await rig.messages(1001)] == [
        "Production is down: orders are not syncing to SAP.", "It started at 10:40 London time."]

    engineer = await rig.assignee_user(1001)
    await slack.user_message(engineer, TRIAGE, "We are on it: the SAP connector is restarting.",
                             thread_ts=await rig.thread(1001))
    await rig.settle()
    assert [m.text for m in rig.posted(ACME_CHANNEL, asked)][-1] == "We are on it: the SAP connector is restarting."
    assert rig.top_level(ACME_CHANNEL) == []  # everything stayed in the customer's thread

    # Anna is in the shared channel: she answers there, and fixes it in front of the customer.
    _, _, direct = await slack.user_message(ANNA, ACME_CHANNEL, "ETA 15 minutes.", thread_ts=asked)
    await rig.settle()
    await slack.user_edits(ANNA, ACME_CHANNEL, direct, "ETA 20 minutes.")
    await rig.settle()
    assert (await rig.messages(1001))[-1]["text"] == "ETA 20 minutes."
    assert not any("Correction" in m.text for m in rig.posted(ACME_CHANNEL, asked))  # she saw it changed

    _, _, other = await slack.user_message(ACME, ACME_CHANNEL, "Another question: how do I export invoices?")
    await rig.settle()
    assert sorted((t.id, t.conversation.thread_id) for t in await rig.tickets()) == [(1001, asked), (1002, other)]


# -- commands and buttons --------------------------------------------------------------------------


async def test_lead_reassigns_with_a_slash_command_and_a_customer_cannot(rig: Rig) -> None:
    slack = rig.slack
    await open_dm_ticket(rig)
    before = (await rig.ticket(1001)).assignee
    target_id = "dmitry" if before != "dmitry" else "anna"
    target = ENGINEER_USER[target_id]

    refused = await slack.slash_command(ACME, ACME_CHANNEL, "/desk", f"reassign T-1001 <@{target}|{target_id}>")
    assert refused.status == 200
    assert (await rig.ticket(1001)).assignee == before
    [no] = [e for e in slack.ephemerals if e.user == ACME]
    assert no.via == "ack" and "reassign" in no.text

    done = await slack.slash_command(OLGA, TRIAGE, "/desk", f"reassign T-1001 <@{target}|{target_id}>")
    assert done.status == 200
    assert (await rig.ticket(1001)).assignee == target_id
    [yes] = [e for e in slack.ephemerals if e.user == OLGA]
    assert yes.via == "ack" and "T-1001" in yes.text
    assert not [m for m in rig.posted(TRIAGE) if m.text == yes.text]  # ephemeral, not posted


async def test_queue_oncall_and_help(rig: Rig) -> None:
    slack = rig.slack
    await open_dm_ticket(rig)
    answers = {}
    for text in ("queue", "oncall", "help", ""):
        delivery = await slack.slash_command(OLGA, TRIAGE, "/desk", text)
        assert delivery.status == 200
        answers[text] = slack.ephemerals[-1].text
    assert "T-1001" in answers["queue"]
    assert "Anna" in answers["oncall"] or "Dmitry" in answers["oncall"]
    assert answers["help"] == answers[""] and "reassign" in answers["help"]
    assert all(e.via == "ack" and e.user == OLGA for e in slack.ephemerals)


async def test_take_button_on_the_header(rig: Rig) -> None:
    slack = rig.slack
    await open_dm_ticket(rig)
    before = (await rig.ticket(1001)).assignee
    taker_id = "dmitry" if before != "dmitry" else "anna"
    [header] = rig.top_level(TRIAGE)

    delivery = await slack.press_button(ENGINEER_USER[taker_id], TRIAGE, header.ts, action_ids(header)["dd:take:1001:"])
    assert delivery.status == 200
    assert (await rig.ticket(1001)).assignee == taker_id
    confirmation = await slack.wait_for(lambda: [e for e in slack.ephemerals if e.user == ENGINEER_USER[taker_id]])
    assert confirmation[0].via == "response_url" and "T-1001" in confirmation[0].text
    assert slack.message(TRIAGE, header.ts).text == header.text  # not replaced by the answer

    await rig.settle()
    [update] = slack.calls_to("chat.update")
    assert update.args["ts"] == header.ts
    taker_name = {"anna": "Anna Smirnova", "dmitry": "Dmitry Volkov"}[taker_id]
    assert taker_name in slack.message(TRIAGE, header.ts).text
    assert action_ids(slack.message(TRIAGE, header.ts))  # the buttons are still there


async def test_only_the_newest_header_is_sent(rig: Rig) -> None:
    slack = rig.slack
    await open_dm_ticket(rig)
    [header] = rig.top_level(TRIAGE)
    for who in ("dmitry", "anna", "dmitry"):
        await slack.slash_command(OLGA, TRIAGE, "/desk", f"reassign T-1001 {who}")
    await slack.slash_command(OLGA, TRIAGE, "/desk", "priority T-1001 P2")
    await rig.settle()
    headers = [r["state"] for r in await rig.app.store.outbox_rows(1001) if r["kind"] == "header"]
    assert headers == ["sent", "superseded", "superseded", "superseded", "sent"]
    [update] = slack.calls_to("chat.update")
    final = slack.message(TRIAGE, header.ts).text
    assert update.args["ts"] == header.ts and "Dmitry Volkov" in final and "P2" in final


# -- HTTP: signatures, retries ---------------------------------------------------------------------


def hand_made_event(slack: SlackStandIn, text: str) -> dict[str, Any]:
    return {"type": "message", "channel": slack.dm_channel(SEVER), "channel_type": "im", "user": SEVER,
            "text": text, "ts": "1795000000.000100", "event_ts": "1795000000.000100"}


async def test_bad_signatures_and_stale_timestamps_are_refused(rig: Rig) -> None:
    slack = rig.slack
    event = hand_made_event(slack, "Не работает касса")
    assert (await slack.send_event(event, bad_signature=True)).status == 401
    assert (await slack.send_event(event, timestamp=int(slack.wall_clock()) - 6 * 60)).status == 401
    assert (await slack.slash_command(OLGA, TRIAGE, "/desk", "queue")).status == 200  # a good one passes
    assert await rig.tickets() == []
    assert SEVER not in {c.args["user"] for c in slack.calls_to("users.info")}  # never got past Bolt

    verification = await slack.url_verification()
    assert verification.status == 200 and slack.last_challenge in verification.body


async def test_unsigned_and_malformed_requests_get_401_or_400_and_no_traceback(
    rig: Rig, caplog: pytest.LogCaptureFixture,
) -> None:
    """Raw HTTP, as a forger (or a broken proxy) would send it."""
    slack = rig.slack
    url = slack.app_url
    now = str(int(slack.wall_clock()))

    def headers(body: bytes | str, timestamp: str = now, signature: str | None = None) -> dict[str, str]:
        text = body if isinstance(body, str) else body.decode("latin-1")
        return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature or sign(slack.signing_secret, timestamp, text)}

    poisoned = '{"event":{"type":"message","user":12345}}'
    cases: list[tuple[bytes | str, dict[str, str], int]] = [
        (poisoned, {"Content-Type": "application/json"}, 401),  # unsigned: Bolt's TypeError, before
        (poisoned, headers(poisoned, signature="v0=" + "0" * 64), 401),
        (poisoned, headers(poisoned, timestamp="not-a-number", signature="v0=00"), 401),
        (poisoned, headers(poisoned, timestamp=str(int(now) - 3600)), 401),  # signed, an hour old
        ("", {}, 401),
        (poisoned, headers(poisoned), 400),  # signed by someone with the secret, still unreadable
        ("{not json", headers("{not json"), 400),
        (b"\xff\xfe{}", headers(b"\xff\xfe{}"), 400),
    ]
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as http:
        for body, sent_headers, status in cases:
            async with http.post(url, data=body.encode() if isinstance(body, str) else body,
                                 headers=sent_headers) as resp:
                assert resp.status == status, (body, await resp.text())
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert "Traceback" not in caplog.text
    assert await rig.tickets() == []
    answered = await slack.user_message(SEVER, slack.dm_channel(SEVER), "Не работает касса")
    assert answered.status == 200 and len(await rig.tickets()) == 1


async def test_retried_events_never_make_a_second_ticket(rig: Rig) -> None:
    slack = rig.slack
    _, _, asked = await slack.user_message(ACME, ACME_CHANNEL, "Orders are not syncing to SAP.")
    assert (await slack.redeliver_last_event(retry_num=1)).status == 200
    await slack.user_message(ACME, ACME_CHANNEL, "Since 10:40.", thread_ts=asked)
    for attempt in (1, 2):
        assert (await slack.redeliver_last_event(retry_num=attempt)).status == 200
    await rig.settle()
    assert len(await rig.tickets()) == 1
    assert [m["text"] for m in await rig.messages(1001)] == ["Orders are not syncing to SAP.", "Since 10:40."]
    assert len(rig.posted(TRIAGE, await rig.thread(1001))) == 2  # one copy each


async def test_a_failing_desk_is_tried_again_before_slack_gets_its_answer(rig: Rig) -> None:
    slack = rig.slack
    desk = rig.app.desk
    receive = desk.receive
    calls: list[object] = []

    async def flaky(inbound: Any) -> Any:
        calls.append(inbound)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return await receive(inbound)

    desk.receive = flaky  # type: ignore[method-assign]
    answered = await slack.user_message(SEVER, slack.dm_channel(SEVER), "Не формируется отчёт")
    assert answered.status == 200 and len(calls) == 2
    assert len(await rig.tickets()) == 1


def database_down_until_set_aside(desk: Desk) -> None:
    """Every attempt at a message fails, and so does setting it aside; after that, the
    database is back (for the redelivery)."""
    receive = desk.receive
    outage = {"on": True}

    async def down(inbound: Any) -> Any:
        if outage["on"]:
            raise RuntimeError("database is locked")
        return await receive(inbound)

    async def cannot_set_aside(*args: Any) -> None:
        outage["on"] = False
        raise RuntimeError("database is locked")

    desk.receive = down  # type: ignore[method-assign]
    desk.set_aside = cannot_set_aside  # type: ignore[method-assign]


async def test_slack_gets_500_and_retries_only_what_cannot_even_be_set_aside(rig: Rig) -> None:
    slack = rig.slack
    database_down_until_set_aside(rig.app.desk)
    failed = await slack.user_message(SEVER, slack.dm_channel(SEVER), "Не формируется отчёт")
    assert failed.status == 500 and await rig.tickets() == []
    assert (await slack.redeliver_last_event(retry_num=1)).status == 200
    assert len(await rig.tickets()) == 1 and await rig.store.dead_letters() == []


# -- delivery --------------------------------------------------------------------------------------


async def test_429_loses_nothing_and_keeps_order(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    """Slack's real limits (one message a second per channel, a burst of one), our pacing
    opened wide: Slack answers 429 with Retry-After, and the dispatcher waits it out."""
    async with SlackStandIn(limits={"chat.postMessage": RateLimit(calls=1, per=1.0, burst=1)}) as slack:
        populate(slack)
        rig = await open_rig(slack, slack_config(example_config, tmp_path / "desk.db", slack), detector)
        try:
            dm = await open_dm_ticket(rig)
            engineer = await rig.assignee_user(1001)
            thread = await rig.thread(1001)
            steps = [f"Step {n} of 4" for n in (1, 2, 3, 4)]
            for step in steps:
                await slack.user_message(engineer, TRIAGE, step, thread_ts=thread)
            await rig.settle()
            assert any(c.status == 429 and c.args["channel"] == dm for c in slack.rejected)
            assert [m.text for m in rig.posted(dm)][1:] == steps
            assert await rig.app.store.outbox_rows(state="pending") == []
            assert await rig.app.store.outbox_rows(state="failed") == []
        finally:
            await rig.close()


async def test_undeliverable_and_retried_errors(rig: Rig) -> None:
    slack = rig.slack
    dm = await open_dm_ticket(rig)
    engineer = await rig.assignee_user(1001)
    thread = await rig.thread(1001)

    slack.fail_next("chat.postMessage", channel=dm, status=200, error="internal_error")
    await slack.user_message(engineer, TRIAGE, "First answer", thread_ts=thread)
    await rig.settle()
    assert [m.text for m in rig.posted(dm)][-1] == "First answer"  # retried after the error

    slack.archive(dm)
    await slack.user_message(engineer, TRIAGE, "Second answer", thread_ts=thread)
    await rig.settle()
    assert [m.text for m in rig.posted(dm)][-1] == "First answer"
    # The assignee is told that the customer cannot be reached.
    alert = rig.posted(slack.dm_channel(engineer))[-1]
    assert "is_archived" in alert.text


async def test_long_texts_are_split_and_escaped(rig: Rig) -> None:
    slack = rig.slack
    dm = await open_dm_ticket(rig)
    engineer = await rig.assignee_user(1001)
    long = "\n".join(f"{n:04d} a<b & c>d " + "x" * 60 for n in range(120))  # ~9,000 characters
    await slack.user_message(engineer, TRIAGE, slack_escape(long), thread_ts=await rig.thread(1001))
    await rig.settle()
    parts = [m.text for m in rig.posted(dm)][1:]
    assert len(parts) > 2 and all(len(p) <= 3000 for p in parts)
    unescaped = "\n".join(parts).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert unescaped == long


async def test_the_slack_channel_keeps_the_channel_contract(rig: Rig) -> None:
    await check_channel_contract(rig.channel, staff_room=TRIAGE, private_chat=ANNA)
