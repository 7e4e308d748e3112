"""Socket Mode: the same Bolt app behind a websocket the app opens itself (no public URL).
Envelopes are acknowledged on the socket only after the desk committed them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.config import Config
from routing.language import LanguageDetector
from tests.standins.slack_api import SlackStandIn

from .test_slack_flow import (
    OLGA,
    SEVER,
    TRIAGE,
    Rig,
    action_ids,
    database_down_until_set_aside,
    open_rig,
    populate,
    slack_config,
)


@pytest.fixture
async def socket_rig(tmp_path: Path, example_config: Config, detector: LanguageDetector) -> AsyncIterator[Rig]:
    async with SlackStandIn(limits=None) as slack:  # no app_url: the stand-in talks over the socket
        populate(slack)
        cfg = slack_config(example_config, tmp_path / "desk.db", slack, mode="socket")
        handle = await open_rig(slack, cfg, detector)
        yield handle
        await handle.close()


async def test_events_commands_and_buttons_over_the_socket(socket_rig: Rig) -> None:
    rig, slack = socket_rig, socket_rig.slack
    assert rig.app.http is None and slack.socket_connected
    dm = slack.dm_channel(SEVER)
    status, _, _ = await slack.user_message(SEVER, dm, "Добрый день! Не формируется отчёт по складу.")
    assert status == 200 and slack.socket_acks  # acknowledged, and by then committed
    [ticket] = await rig.tickets()
    assert ticket.conversation.chat_id == dm
    await rig.settle()

    ack = await slack.socket_slash_command(OLGA, TRIAGE, "/desk", "queue")
    assert ack["payload"]["response_type"] == "ephemeral" and "T-1001" in ack["payload"]["text"]
    assert slack.ephemerals[-1].user == OLGA

    [header] = rig.top_level(TRIAGE)
    taker = "U0DMIT002" if ticket.assignee != "dmitry" else "U0ANNA001"
    await slack.socket_press_button(taker, TRIAGE, header.ts, action_ids(header)["dd:take:1001:"])
    await slack.wait_for(lambda: [e for e in slack.ephemerals if e.user == taker])
    assert (await rig.ticket(1001)).assignee == {"U0DMIT002": "dmitry", "U0ANNA001": "anna"}[taker]


async def test_an_envelope_that_can_be_neither_taken_nor_set_aside_is_not_acknowledged(socket_rig: Rig) -> None:
    rig, slack = socket_rig, socket_rig.slack
    database_down_until_set_aside(rig.app.desk)
    event = {"type": "message", "channel": slack.dm_channel(SEVER), "channel_type": "im", "user": SEVER,
             "text": "Не формируется отчёт", "ts": "1795000000.000100", "event_ts": "1795000000.000100"}
    with pytest.raises(AssertionError, match="no ack"):
        await slack.socket_event(event, event_id="Ev0001", timeout=0.5)
    assert await rig.tickets() == []
    ack = await slack.socket_event(event, event_id="Ev0001", retry_attempt=1, retry_reason="timeout")
    assert ack["envelope_id"] and len(await rig.tickets()) == 1
