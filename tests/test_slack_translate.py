"""Slack payloads → desk types, and desk text → Slack's format: pure functions, no network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.slack import translate
from adapters.slack.blocks import PART_LIMIT, action_id, mrkdwn_parts, with_buttons
from adapters.slack.translate import Workspace
from bot.core.domain import Attachment, ConversationRef, Sender
from bot.delivery.contract import Button

AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
WHERE = Workspace(triage_channel="C0TRIAGE01", bot_user_id="UBOT")
ALICE = Sender("slack:U1", "Alice")


def event(**fields: Any) -> dict[str, Any]:
    return {"type": "message", "user": "U1", "text": "hello", "ts": "100.000200", "channel": "C1",
            "channel_type": "channel"} | fields


@pytest.mark.parametrize(
    ("wire", "plain"),
    [
        ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
        ("<@UBOT> the printer is down", "the printer is down"),
        ("ask <@U2> or <@U3|dmitry>", "ask @U2 or @dmitry"),
        ("see <#C9|general> and <#C8>", "see #general and #C8"),
        ("<!here> <!subteam^S1|@support> <!date^1700000000^{date}|Nov 14>", "@here @support Nov 14"),
        ("<https://x.example/a?b=1&amp;c=2|the docs> <https://y.example> <mailto:a@b.example|a@b.example>",
         "the docs (https://x.example/a?b=1&c=2) https://y.example a@b.example"),
        ("  keep\n    indentation  ", "keep\n    indentation"),
    ],
)
def test_plain_text(wire: str, plain: str) -> None:
    assert translate.plain_text(wire, "UBOT") == plain


def test_where_a_message_lives() -> None:
    dm = translate.inbound(event(channel="D1", channel_type="im", thread_ts="90.000001"), ALICE, WHERE, AT)
    assert dm is not None and (dm.conversation, dm.private, dm.reply_to) == (
        ConversationRef("slack", "D1", None), True, "90.000001")
    top = translate.inbound(event(), ALICE, WHERE, AT)
    assert top is not None and (top.conversation.thread_id, top.private, top.reply_to) == ("100.000200", False, None)
    reply = translate.inbound(event(thread_ts="90.000001"), ALICE, WHERE, AT)
    assert reply is not None and reply.conversation.thread_id == "90.000001"
    chatter = translate.inbound(event(channel="C0TRIAGE01", channel_type="group"), ALICE, WHERE, AT)
    assert chatter is not None and chatter.conversation.thread_id is None  # not about a ticket
    answer = translate.inbound(event(channel="C0TRIAGE01", thread_ts="90.000001"), ALICE, WHERE, AT)
    assert answer is not None and answer.conversation == ConversationRef("slack", "C0TRIAGE01", "90.000001")
    assert (answer.message_id, answer.at, answer.sender) == ("100.000200", AT, ALICE)


@pytest.mark.parametrize(
    "fields",
    [
        {"bot_id": "B2", "subtype": "bot_message"},
        {"bot_id": "B2"},  # new-style bot posts have no subtype
        {"subtype": "channel_join"},
        {"subtype": "message_deleted"},
        {"user": None},
        {"channel": 42},
        {"ts": None},
    ],
)
def test_what_no_person_wrote_is_none(fields: dict[str, Any]) -> None:
    assert translate.inbound(event(**fields), ALICE, WHERE, AT) is None


def test_people_writing() -> None:
    for subtype in ("file_share", "thread_broadcast", "me_message"):
        assert translate.author(event(subtype=subtype)) == "U1"
    assert translate.author({"type": "app_mention", "user": "U1"}) == "U1"


def test_files() -> None:
    files = [
        {"id": "F1", "name": "shot.png", "mimetype": "image/png", "size": 10},
        {"id": "F2", "name": "log.txt", "mimetype": "text/plain", "size": "big"},
        {"name": "no id"}, "garbage",
    ]
    assert translate.attachments_of({"files": files}) == (
        Attachment("photo", "shot.png", "image/png", 10, "F1"), Attachment("file", "log.txt", "text/plain", None, "F2"))
    assert translate.attachments_of({"files": "nope"}) == ()


def test_edits() -> None:
    changed = {"type": "message", "subtype": "message_changed", "channel": "D1", "channel_type": "im",
               "ts": "200.000001", "message": {"user": "U1", "text": "fixed &amp; done", "ts": "100.000200"}}
    edit = translate.edited(changed, ALICE, WHERE, AT)
    assert edit is not None and (edit.conversation, edit.message_id, edit.text) == (
        ConversationRef("slack", "D1", None), "100.000200", "fixed & done")
    assert translate.author(changed) == "U1"
    by_bot = changed | {"message": {"bot_id": "B1", "text": "x", "ts": "1.1"}}
    assert translate.author(by_bot) is None and translate.edited(by_bot, ALICE, WHERE, AT) is None
    assert translate.edited(changed | {"message": "garbage"}, ALICE, WHERE, AT) is None


def test_sender() -> None:
    user = {"id": "U1", "name": "alice", "real_name": "Alice Cooper", "locale": "en-GB",
            "profile": {"real_name": "Alice Cooper", "display_name": "ali"}}
    assert translate.sender_of("U1", user) == Sender("slack:U1", "Alice Cooper", "en-GB")
    assert translate.sender_of("U1", {"name": "alice", "profile": "garbage"}) == Sender("slack:U1", "alice", None)
    assert translate.sender_of("U1") == Sender("slack:U1")


def test_slash_command() -> None:
    command = {"channel_id": "D1", "channel_name": "directmessage", "user_id": "U1", "command": "/desk",
               "text": " reassign T-1001 <@U0DMIT002|dmitry> because &lt;night&gt; ", "trigger_id": "1.2.abc"}
    request = translate.command_request(command, ALICE)
    assert request is not None
    assert (request.text, request.private, request.key, request.reply_in_chat) == (
        "reassign T-1001 <@U0DMIT002|dmitry> because <night>", True, "slack:cmd:1.2.abc", False)
    assert request.conversation == ConversationRef("slack", "D1", None)
    in_channel = translate.command_request(command | {"channel_id": "C1", "channel_name": "support"}, ALICE)
    assert in_channel is not None and not in_channel.private
    assert translate.command_request({"text": "x"}, ALICE) is None


def test_button_press() -> None:
    body = {
        "type": "block_actions", "user": {"id": "U1"}, "trigger_id": "9.9.x",
        "channel": {"id": "C0TRIAGE01", "name": "privategroup"},
        "container": {"type": "message", "message_ts": "50.000001", "channel_id": "C0TRIAGE01"},
        "actions": [{"action_id": "dutydesk.take.0", "value": "dd:take:1001:", "action_ts": "51.000002"}],
    }
    press = translate.press(body, ALICE, WHERE)
    assert press is not None and (press.data, press.key) == ("dd:take:1001:", "slack:act:51.000002")
    assert press.conversation == ConversationRef("slack", "C0TRIAGE01", None)
    assert translate.presser(body) == "U1"
    no_ts = body | {"actions": [{"value": "dd:take:1001:"}]}
    assert translate.press(no_ts, ALICE, WHERE).key == "slack:act:9.9.x"  # type: ignore[union-attr]
    for broken in ({"actions": []}, {"actions": "x"}, {"container": {}, "channel": {}}):
        assert translate.press(body | broken, ALICE, WHERE) is None
    assert translate.presser({"user": "U1"}) is None


def test_parts_fit_slack_after_escaping() -> None:
    assert mrkdwn_parts("a < b & c") == ["a &lt; b &amp; c"]
    worst = mrkdwn_parts("&" * 4000)
    assert all(len(p) <= PART_LIMIT for p in worst) and "".join(worst) == "&amp;" * 4000
    words = mrkdwn_parts(" ".join(["word"] * 2000))
    assert len(words) == 4 and all(len(p) <= PART_LIMIT and not p.endswith("wor") for p in words)


def test_buttons() -> None:
    buttons = (Button("take", 1001, "Take"), Button("rate", 1001, "5", "5"), Button("rate", 1001, "4", "4"))
    section, actions = with_buttons("T-1001 &amp; more", buttons)
    assert section["text"] == {"type": "mrkdwn", "text": "T-1001 &amp; more"}
    ids = [e["action_id"] for e in actions["elements"]]
    assert len(set(ids)) == 3 and ids[0] == action_id(0, buttons[0])
    assert [e["value"] for e in actions["elements"]] == ["dd:take:1001:", "dd:rate:1001:5", "dd:rate:1001:4"]
