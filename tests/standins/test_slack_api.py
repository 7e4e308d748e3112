"""Self-test of the Slack stand-in, driven by the real slack_sdk and slack_bolt.

If these pass, Bolt/SDK cannot tell the stand-in from Slack for the flows dutydesk uses:
Web API calls, signed Events API / command / interactivity requests, and Socket Mode.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from .slack_api import ManualClock, SlackStandIn

BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Ticket #1*"}},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "claim",
                "text": {"type": "plain_text", "text": "Claim"},
                "value": "t1",
            }
        ],
    },
]


def web_client(slack: SlackStandIn, token: str | None = None) -> AsyncWebClient:
    """A real SDK client pointed at the stand-in; retry_handlers=[] so 429s surface."""
    return AsyncWebClient(
        token=token or slack.bot_token, base_url=slack.api_base, retry_handlers=[]
    )


def bolt_app(slack: SlackStandIn) -> AsyncApp:
    """Bolt ignores AsyncApp(token=...) when client= is given: the token lives on the client."""
    return AsyncApp(client=web_client(slack), signing_secret=slack.signing_secret)


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(limits=None) as stand_in:
        stand_in.add_user("U1", "alice", tz="Asia/Tokyo", locale="ja-JP")
        stand_in.add_channel("C1", "support", members=["U1"])
        yield stand_in


@pytest.fixture
async def bolt(slack: SlackStandIn) -> AsyncIterator[AsyncApp]:
    """A Bolt app served over HTTP on loopback; slack.app_url points at it."""
    app = bolt_app(slack)

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    server = web.Application()
    server.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    slack.app_url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    yield app
    await runner.cleanup()


# ----------------------------------------------------------------------------- Web API


async def test_auth_test_and_bad_tokens(slack: SlackStandIn) -> None:
    auth = await web_client(slack).auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T1")
    with pytest.raises(SlackApiError) as bad:
        await web_client(slack, "xoxb-wrong").auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as app_token:
        await web_client(slack, slack.app_token).chat_postMessage(channel="C1", text="x")
    assert app_token.value.response["error"] == "not_allowed_token_type"


async def test_post_update_and_thread(slack: SlackStandIn) -> None:
    client = web_client(slack)
    posted = await client.chat_postMessage(channel="C1", text="hello", blocks=BUTTONS)
    ts = posted["ts"]
    assert posted["channel"] == "C1" and posted["message"]["bot_id"] == "BBOT"
    assert all("block_id" in b for b in posted["message"]["blocks"])

    await client.chat_update(channel="C1", ts=ts, text="hello again")
    assert slack.message("C1", ts).text == "hello again"
    assert slack.message("C1", ts).blocks is not None  # omitted blocks are retained

    reply = await client.chat_postMessage(channel="C1", text="in thread", thread_ts=ts)
    [in_thread] = slack.messages("C1", thread_ts=ts)
    assert in_thread.ts == reply["ts"] and in_thread.thread_ts == ts
    assert slack.calls_to("chat.postMessage")[0].args["blocks"][1]["type"] == "actions"

    ghost = await client.chat_postMessage(channel="C1", text="x", thread_ts="1.000001")
    assert ghost["ok"]  # Slack accepts a well-formed thread_ts without a parent


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C404", "text": "x"}, "channel_not_found"),
        ({"channel": "C1", "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": "C1", "text": ""}, "no_text"),
        ({"channel": "C1", "text": "x", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": "C1", "text": "x", "thread_ts": "yesterday"}, "invalid_thread_ts"),
        ({"channel": "C2", "text": "x"}, "not_in_channel"),
        ({"channel": "C3", "text": "x"}, "is_archived"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_post_message_errors(slack: SlackStandIn, kwargs: dict[str, Any], error: str) -> None:
    slack.add_channel("C2", "no-bot", bot_member=False)
    slack.add_channel("C3", "old", is_archived=True)
    with pytest.raises(SlackApiError) as err:
        await web_client(slack).chat_postMessage(**kwargs)
    assert err.value.response["error"] == error


async def test_other_errors(slack: SlackStandIn) -> None:
    client = web_client(slack)
    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="C1", ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as unknown:
        await client.api_call("chat.doesNotExist")
    assert unknown.value.response["error"] == "unknown_method"


async def test_rate_limit_429_with_retry_after() -> None:
    clock = ManualClock()
    async with SlackStandIn(clock=clock) as slack:
        slack.add_channel("C1", "support")
        client = web_client(slack)
        await client.chat_postMessage(channel="C1", text="1")
        await client.chat_postMessage(channel="C1", text="2")  # the allowed burst
        with pytest.raises(SlackApiError) as limited:
            await client.chat_postMessage(channel="C1", text="3")
        assert limited.value.response.status_code == 429
        assert limited.value.response.headers["Retry-After"] == "1"
        assert limited.value.response["error"] == "ratelimited"
        assert slack.served_429 == 1
        slack.add_channel("C2", "other")
        await client.chat_postMessage(channel="C2", text="other channel is fine")
        clock.advance(1.0)
        await client.chat_postMessage(channel="C1", text="3 again")
        assert [m.text for m in slack.messages("C1")] == ["1", "2", "3 again"]


async def test_fail_next_injects_errors(slack: SlackStandIn) -> None:
    client = web_client(slack)
    slack.fail_next("chat.postMessage", channel="C1", retry_after=7)
    slack.fail_next("chat.update", error="channel_not_found", status=200)
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="C1", text="x")
    assert limited.value.response.headers["Retry-After"] == "7"
    posted = await client.chat_postMessage(channel="C1", text="x")
    with pytest.raises(SlackApiError) as faked:
        await client.chat_update(channel="C1", ts=posted["ts"], text="y")
    assert faked.value.response["error"] == "channel_not_found"
    assert [c.method for c in slack.rejected] == ["chat.postMessage", "chat.update"]


async def test_dm_users_info_and_ephemeral(slack: SlackStandIn) -> None:
    client = web_client(slack)
    opened = await client.conversations_open(users="U1")
    dm = opened["channel"]["id"]
    assert dm.startswith("D") and dm == slack.dm_channel("U1")
    await client.chat_postMessage(channel=dm, text="private hello")
    assert [m.text for m in slack.messages(dm)] == ["private hello"]
    info = await client.conversations_info(channel=dm)
    assert info["channel"]["is_im"] and info["channel"]["user"] == "U1"
    user = (await client.users_info(user="U1", include_locale=True))["user"]
    assert (user["tz"], user["locale"], user["tz_offset"]) == ("Asia/Tokyo", "ja-JP", 9 * 3600)
    eph = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert slack.ephemerals[0].message_ts == eph["message_ts"]


async def test_form_post_with_token_field_and_files(slack: SlackStandIn) -> None:
    """Raw form post (no SDK): token as a field, blocks as a JSON string, like curl would."""
    form = {
        "token": slack.bot_token,
        "channel": "C1",
        "text": "x",
        "blocks": '[{"type":"divider"}]',
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(slack.api_base + "chat.postMessage", data=form) as resp:
            assert (await resp.json())["ok"]
        info = slack.add_file("log.txt", b"boom", mimetype="text/plain", user="U1")
        headers = {"Authorization": f"Bearer {slack.bot_token}"}
        async with http.get(info["url_private"], headers=headers) as resp:
            assert await resp.read() == b"boom"
        async with http.get(info["url_private"]) as resp:  # no token: Slack's login page
            assert resp.content_type == "text/html"
    assert slack.calls[0].args["blocks"] == [{"type": "divider"}]


# ----------------------------------------------------------------------------- Bolt, HTTP


async def test_signed_message_event_reaches_bolt(slack: SlackStandIn, bolt: AsyncApp) -> None:
    seen: list[dict[str, Any]] = []

    @bolt.message("help")
    async def on_help(message: dict[str, Any], say: Any) -> None:
        seen.append(message)
        await say(text="on it", thread_ts=message["ts"])

    status, _, ts = await slack.user_message("U1", "C1", "help please")
    assert status == 200
    [reply] = await slack.wait_for(lambda: slack.messages("C1", thread_ts=ts))
    assert reply.text == "on it" and reply.bot_id == "BBOT"
    assert seen[0]["channel_type"] == "channel" and seen[0]["user"] == "U1"
    envelope = slack.deliveries[-1]
    assert envelope["type"] == "event_callback" and envelope["authorizations"][0]["is_bot"]


async def test_bad_or_stale_signature_is_rejected(slack: SlackStandIn, bolt: AsyncApp) -> None:
    seen: list[dict[str, Any]] = []

    @bolt.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        seen.append(event)

    event = {"type": "message", "channel": "C1", "user": "U1", "text": "x", "ts": "1.000001"}
    assert (await slack.send_event(event, bad_signature=True)).status == 401
    stale = int(time.time()) - 6 * 60
    assert (await slack.send_event(event, timestamp=stale)).status == 401
    challenge = await slack.url_verification()
    assert challenge.status == 200 and slack.last_challenge in challenge.body
    assert seen == []


async def test_slash_command_ack_and_respond(slack: SlackStandIn, bolt: AsyncApp) -> None:
    @bolt.command("/desk")
    async def desk(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        await ack("got it")
        await respond(text=f"opened: {command['text']}")

    status, body, _ = await slack.slash_command("U1", "C1", "/desk", "printer broken")
    assert (status, body) == (200, "got it")
    await slack.wait_for(lambda: slack.response_url_posts)
    # respond() may land before the HTTP ack is back, as on real Slack: compare unordered.
    assert sorted((e.via, e.text) for e in slack.ephemerals) == [
        ("ack", "got it"),
        ("response_url", "opened: printer broken"),
    ]


async def test_button_press_reaches_action_listener(slack: SlackStandIn, bolt: AsyncApp) -> None:
    pressed: list[dict[str, Any]] = []

    @bolt.action("claim")
    async def claim(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        pressed.append(body)
        await respond(replace_original=True, text="Claimed by alice")

    ts = (await web_client(slack).chat_postMessage(channel="C1", text="t", blocks=BUTTONS))["ts"]
    status, _, _ = await slack.press_button("U1", "C1", ts, "claim")
    assert status == 200
    await slack.wait_for(lambda: slack.message("C1", ts).text == "Claimed by alice")
    action = pressed[0]["actions"][0]
    assert (action["value"], pressed[0]["container"]["message_ts"]) == ("t1", ts)


# ----------------------------------------------------------------------------- Socket Mode


async def test_socket_mode_events_commands_and_reconnect(slack: SlackStandIn) -> None:
    app = bolt_app(slack)
    seen: list[dict[str, Any]] = []

    @app.message("hi")
    async def on_hi(message: dict[str, Any]) -> None:
        seen.append(message)

    @app.command("/desk")
    async def desk(ack: Any) -> None:
        await ack(text="socket ok")

    handler = AsyncSocketModeHandler(app, slack.app_token)
    await handler.connect_async()
    try:
        event = {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "2.000001"}
        ack = await slack.socket_event(event)
        assert ack["envelope_id"] and "payload" not in ack
        await slack.wait_for(lambda: seen)

        ack = await slack.socket_slash_command("U1", "C1", "/desk", "x")
        assert ack["payload"] == {"text": "socket ok"}

        status, _, _ = await slack.user_message("U1", "C1", "hi again")  # no app_url: socket
        assert status == 200
        await slack.wait_for(lambda: len(seen) == 2)

        await slack.socket_disconnect()
        await slack.wait_for(lambda: slack.socket_connections_total == 2 and slack.socket_connected)
        assert (await slack.socket_event(event))["envelope_id"]
    finally:
        await handler.close_async()
