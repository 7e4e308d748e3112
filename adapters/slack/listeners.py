"""Bolt wiring: which Slack events, commands and button presses reach the desk, and as what.

The listeners only translate; every decision — which ticket, who may do what, what to
answer — is the desk's. The Bolt app runs with `process_before_response=True`, so Slack
gets its acknowledgement when a listener has returned, i.e. after the desk committed.

Each listener takes its request through the channel's guard (bot/flows/deadletters.py): a few
quick attempts — Slack wants its answer within three seconds, and retries only three
times — then the raw request is set aside and Slack gets its 200 all the same, so no
message is lost to a request that fails every time. Only when even that cannot be written
does the listener fail (HTTP 500, or no Socket Mode ack) and Slack deliver it again; the
desk de-duplicates redeliveries by channel and ts (messages), trigger id (commands) and
action ts (buttons). Every request body is scrubbed of lone surrogates (bot/core/sanitize.py)
before a listener reads it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import translate
from adapters.slack.blocks import ACTION_PREFIX, ephemeral, escape
from adapters.slack.config import NAME
from adapters.slack.profiles import Profiles
from bot.core.desk import Desk
from bot.core.domain import Sender
from bot.core.sanitize import scrub

log = logging.getLogger("dutydesk.slack")

# A message event's handler: the event, its author's user id, and who that is.
Authored = Callable[[dict[str, Any], str, Sender], Awaitable[None]]

# Seconds of pauses between attempts at one request: Slack retries what is not answered
# within three seconds, and the attempts themselves take time too.
ATTEMPTS_BUDGET = 1.5
SET_ASIDE_REPLY = "Sorry, this could not be done right now; the team has been told. Please try again later."


async def scrubbed(req: AsyncBoltRequest, next_: Callable[[], Awaitable[None]]) -> None:
    """A global middleware: what listeners read is storable text."""
    req.body = scrub(req.body)
    await next_()


def request_key(body: dict[str, Any]) -> str:
    """Which request this is, the same on every redelivery: the dead-letter key."""
    event_id = body.get("event_id")
    if isinstance(event_id, str) and event_id:
        return event_id
    trigger = body.get("trigger_id")
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    stamp = action.get("action_ts")
    if isinstance(stamp, str) and stamp:
        return f"act:{stamp}"
    if isinstance(trigger, str) and trigger:
        return f"cmd:{trigger}"
    return "sha1:" + hashlib.sha1(repr(body).encode(), usedforsecurity=False).hexdigest()


class Listeners:
    def __init__(self, desk: Desk, client: AsyncWebClient, profiles: Profiles, where: translate.Workspace) -> None:
        self._desk = desk
        self._client = client
        self._profiles = profiles
        self._where = where
        self._guard = desk.guard(NAME, budget=ATTEMPTS_BUDGET)
        self._app: AsyncApp | None = None

    async def _take(self, body: dict[str, Any], handle: Callable[[], Awaitable[object]]) -> bool:
        return await self._guard.take(request_key(body), lambda: body, handle)

    async def replay(self, body: Any) -> None:
        """A set-aside request, again (`dutydesk deadletter retry`): through Bolt, as Socket
        Mode requests go (their signature was checked when they first came)."""
        assert self._app is not None, "replayed before wire()"
        await self._app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))

    def wire(self, app: AsyncApp, command: str) -> None:
        """The routing table. Bolt runs the first listener that matches, and answers 404 to
        what none matches — which Slack would retry — so other message subtypes (joins,
        deletions, other apps' posts) end in `ignored`. `app_mention` repeats a message
        that also comes as `message.channels`; handling both is harmless (the desk sees the
        same ts twice) and keeps mentions working where only app_mention is subscribed."""
        self._app = app
        app.use(scrubbed)
        wrote = self._authored(self._wrote)
        app.event({"type": "message", "subtype": translate.PEOPLE_WRITING})(wrote)
        app.event({"type": "message", "subtype": "message_changed"})(self._authored(self._edited))
        app.event("message")(self.ignored)
        app.event("app_mention")(wrote)
        app.command(command)(self.commanded)
        app.action(re.compile(f"^{re.escape(ACTION_PREFIX)}"))(self.pressed)

    def _authored(self, handle: Authored) -> Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]:
        """A listener for message events: the request taken through the guard, then `handle`
        with the event, its author's user id and who that is — or nothing, for what no
        person wrote (other apps, bots, joins; edits of those)."""

        async def listener(event: dict[str, Any], body: dict[str, Any]) -> None:
            async def take() -> None:
                user = translate.author(event)
                if user is not None:
                    await handle(event, user, await self._profiles.sender(user))

            await self._take(body, take)

        return listener

    async def _wrote(self, event: dict[str, Any], user: str, sender: Sender) -> None:
        inbound = translate.inbound(event, sender, self._where, self._desk.clock.now())
        if inbound is None:
            log.info("ignored a Slack message event without channel or ts")
            return
        receipt = await self._desk.receive(inbound)
        if receipt.reply:
            await _settle(self._client.chat_postEphemeral(
                channel=inbound.conversation.chat_id, user=user, text=escape(receipt.reply),
                thread_ts=event.get("thread_ts"),
            ))

    async def _edited(self, event: dict[str, Any], user: str, sender: Sender) -> None:
        change = translate.edited(event, sender, self._where, self._desk.clock.now())
        if change is not None:
            await self._desk.edit(change)

    async def ignored(self) -> None:
        """Acknowledged and dropped: nobody wrote to the desk."""

    async def commanded(self, ack: AsyncAck, command: dict[str, Any], body: dict[str, Any]) -> None:
        """The desk answers in milliseconds, so its answer is the ack itself — shown only
        to the asker. A redelivered command was answered the first time: an empty ack."""
        user = command.get("user_id")
        request = None
        if isinstance(user, str) and user:
            request = translate.command_request(command, await self._profiles.sender(user))
        if request is None:
            log.info("ignored a slash command without user, channel or trigger id")
            await ack()
            return
        replies = []

        async def handle() -> None:
            replies.append(await self._desk.command(request))

        if not await self._take(body, handle):
            await ack(**ephemeral(SET_ASIDE_REPLY))
        elif replies[0].text:
            await ack(**ephemeral(replies[0].text))
        else:
            await ack()

    async def pressed(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await self._take(body, lambda: self._pressed(body, respond))

    async def _pressed(self, body: dict[str, Any], respond: AsyncRespond) -> None:
        user = translate.presser(body)
        if user is None:
            return
        press = translate.press(body, await self._profiles.sender(user), self._where)
        if press is None:
            log.info("ignored a button press without channel, message or value")
            return
        reply = await self._desk.press(press)
        if reply.text:
            await _settle(respond(**ephemeral(reply.text), replace_original=False))


async def _settle(call: Awaitable[Any]) -> None:
    """Courtesy calls after the desk has committed. If Slack refuses one, retrying the
    event would only repeat the refusal (and the desk would see a duplicate anyway)."""
    try:
        answer = await call
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("Slack refused a courtesy call: %s", exc)
        return
    status = getattr(answer, "status_code", 200)
    if status != 200:
        log.warning("Slack answered a courtesy call with HTTP %s", status)
