"""The sender alone against the Slack stand-in: threads, headers, DMs, and how Slack's
failures map to the dispatcher's (retry later, give up, or retry with back-off)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.send import SlackSender
from bot.delivery.contract import (
    Audience,
    Button,
    DeliveryResult,
    Outbound,
    Recipient,
    RetryLater,
    SourceRef,
    Undeliverable,
)
from tests.standins.slack_api import ManualClock, RateLimit, SlackStandIn

TRIAGE = "C0TRIAGE01"
BUTTONS = (Button("take", 7, "Take"), Button("resolve", 7, "Resolve"))


def outbound(
    kind: str, text: str, rcpt: Recipient, *, buttons: tuple[Button, ...] = (), header_id: str | None = None,
    outbox_id: int = 1,
) -> Outbound:
    return Outbound(id=outbox_id, kind=kind, recipient=rcpt, text=text, ticket_id=7, buttons=buttons,
                    header_id=header_id)


def room(thread: str | None = None) -> Recipient:
    return Recipient("slack", TRIAGE, Audience.STAFF_ROOM, thread)


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(limits=None) as stand_in:
        stand_in.add_user("U1", "anna")
        stand_in.add_channel(TRIAGE, "triage", is_private=True, members=["U1"])
        yield stand_in


def sender_for(slack: SlackStandIn) -> SlackSender:
    return SlackSender(AsyncWebClient(token=slack.bot_token, base_url=slack.api_base))


async def test_one_thread_per_ticket_with_its_header_edited_in_place(slack: SlackStandIn) -> None:
    sender = sender_for(slack)
    first = await sender.deliver(outbound("header", "T-7 · new", room(), buttons=BUTTONS))
    assert first.thread_id == first.header_id == first.message_id is not None
    thread = first.thread_id

    copy = await sender.deliver(outbound("copy", "Alice: <help> & thanks", room(thread), outbox_id=2))
    assert copy == DeliveryResult(message_id=copy.message_id, chat_id=None)
    [in_thread] = slack.messages(TRIAGE, thread)
    assert (in_thread.ts, in_thread.text) == (copy.message_id, "Alice: &lt;help&gt; &amp; thanks")

    edited = await sender.deliver(outbound("header", "T-7 · taken", room(thread), buttons=BUTTONS,
                                           header_id=thread, outbox_id=3))
    assert edited == DeliveryResult(message_id=thread)
    header = slack.message(TRIAGE, thread)
    assert header is not None and header.text == "T-7 · taken"
    assert [b["type"] for b in header.blocks or []] == ["section", "actions"]
    assert header.blocks[0]["text"]["text"] == "T-7 · taken"  # type: ignore[index]

    slack.message(TRIAGE, thread).deleted = True  # type: ignore[union-attr]
    again = await sender.deliver(outbound("header", "T-7 · resolved", room(thread), buttons=BUTTONS,
                                          header_id=thread, outbox_id=4))
    assert again.header_id == again.message_id != thread and again.thread_id is None
    assert slack.message(TRIAGE, again.message_id or "").thread_ts == thread  # type: ignore[union-attr]


async def test_to_a_user_id_lands_in_the_dm(slack: SlackStandIn) -> None:
    sender = sender_for(slack)
    ping = Recipient("slack", "U1", Audience.ENGINEER, person="anna")
    copied = SourceRef("telegram", "200001", "5")
    result = await sender.deliver(Outbound(id=1, kind="ping", recipient=ping, text="T-7 is yours",
                                           buttons=BUTTONS, copy_of=copied))
    dm = slack.dm_channel("U1")
    assert result.chat_id == dm and [m.ts for m in slack.messages(dm)] == [result.message_id]


async def test_a_429_mid_way_through_a_long_message_resumes_where_it_stopped() -> None:
    clock = ManualClock()
    limits = {"chat.postMessage": RateLimit(calls=1, per=1.0)}
    async with SlackStandIn(limits=limits, clock=clock) as slack:
        slack.add_channel(TRIAGE, "triage")
        sender = sender_for(slack)
        text = "\n".join(f"line {n} " + "x" * 90 for n in range(80))  # three parts
        message = outbound("copy", text, room(), outbox_id=9)
        with pytest.raises(RetryLater) as wait:
            await sender.deliver(message)
        assert wait.value.seconds == 1  # part one went, part two waits
        clock.advance(1)
        with pytest.raises(RetryLater):
            await sender.deliver(message)  # part two went, part three waits
        clock.advance(1)
        result = await sender.deliver(message)
        [root] = [m for m in slack.messages(TRIAGE) if m.thread_ts is None]
        replies = slack.messages(TRIAGE, root.ts)
        assert len(replies) == 2 and result.thread_id == root.ts and result.message_id == replies[-1].ts
        assert "\n".join(m.text for m in [root, *replies]) == text


async def test_the_parts_of_a_long_message_wait_for_their_slots() -> None:
    """The dispatcher's pace (here: a second passing on the stand-in's clock) runs before
    every part after the first, so a one-a-second channel takes them all without a 429."""
    clock = ManualClock()
    limits = {"chat.postMessage": RateLimit(calls=1, per=1.0)}
    async with SlackStandIn(limits=limits, clock=clock) as slack:
        slack.add_channel(TRIAGE, "triage")
        waits: list[int] = []

        async def pace() -> None:
            waits.append(len(slack.messages(TRIAGE)))  # parts posted so far, thread replies included
            clock.advance(1)

        text = "\n".join(f"line {n} " + "x" * 90 for n in range(80))  # three parts
        result = await sender_for(slack).deliver(outbound("copy", text, room(), outbox_id=9), pace)
        [root] = [m for m in slack.messages(TRIAGE) if m.thread_ts is None]
        replies = slack.messages(TRIAGE, root.ts)
        assert waits == [1, 2] and result.thread_id == root.ts
        assert "\n".join(m.text for m in [root, *replies]) == text


@pytest.mark.parametrize(
    "error", ["channel_not_found", "is_archived", "not_in_channel", "account_inactive", "user_not_found"],
)
async def test_unreachable_is_undeliverable(slack: SlackStandIn, error: str) -> None:
    slack.fail_next("chat.postMessage", status=200, error=error)
    with pytest.raises(Undeliverable, match=error):
        await sender_for(slack).deliver(outbound("copy", "hi", room("1.000001")))


async def test_429_is_retry_later_with_slack_s_wait(slack: SlackStandIn) -> None:
    slack.fail_next("chat.update", status=429, retry_after=7)
    with pytest.raises(RetryLater) as wait:
        await sender_for(slack).deliver(outbound("header", "T-7", room("1.000001"), header_id="1.000001"))
    assert wait.value.seconds == 7


async def test_other_errors_are_left_to_the_back_off(slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", status=200, error="internal_error")
    with pytest.raises(SlackApiError):
        await sender_for(slack).deliver(outbound("copy", "hi", room("1.000001")))
    gone = SlackSender(AsyncWebClient(token="xoxb-test", base_url="http://127.0.0.1:9/api/"))
    with pytest.raises(aiohttp.ClientError):
        await gone.deliver(outbound("copy", "hi", room("1.000001")))
