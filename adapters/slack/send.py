"""The desk's `Outbound` → Web API calls, and Slack's errors → the dispatcher's.

The triage channel holds one thread per ticket: the ticket's first staff message is posted
top-level and becomes the thread, the header is edited in place (`chat.update`), the rest
are replies in the thread. A message to an engineer is posted to their user id, which
Slack delivers into the app's DM with them; the DM's channel id is reported back, because
that is where their answers will come from.

Slack cannot copy a message, so `copy_of` is ignored and the desk's text is sent. Retry
policy is the dispatcher's; this module only says which failures a retry can cure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import mrkdwn_parts, with_buttons
from bot.delivery.contract import Audience, DeliveryResult, Outbound, Pace, RetryLater, Undeliverable, no_pace

log = logging.getLogger("dutydesk.slack.send")

# Errors retrying cannot cure: the conversation or person is gone or out of the app's reach…
UNREACHABLE = frozenset({"channel_not_found", "is_archived", "not_in_channel", "account_inactive", "user_not_found"})
# …or the request itself is malformed, and would be refused the same way again (while it
# waits to be retried, every later message to that channel waits behind it).
MALFORMED = frozenset({"invalid_blocks", "msg_too_long", "no_text", "invalid_thread_ts"})
# The header to edit was deleted: a new one is posted into the thread.
HEADER_GONE = frozenset({"message_not_found", "cant_update_message"})
DEFAULT_RETRY_AFTER = 1.0


@dataclass
class _Progress:
    """The parts of one outbox message already posted, and where."""

    channel: str | None = None
    ts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Posted:
    channel: str
    first: str  # the first part's ts: the thread, when the message opened one
    last: str  # the last part's ts: the message that carries the buttons


def _error(exc: SlackApiError) -> str:
    error = exc.response.get("error") if exc.response is not None else None
    return str(error or "")


def _retry_after(headers: Mapping[str, Any]) -> float:
    """HTTP/2 answers spell it `retry-after`: look it up without regard to case."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(float(value), 0.0) if value is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


def _refusal(exc: SlackApiError) -> Exception | None:
    """The dispatcher's word for a Slack error, or None to retry it with back-off."""
    response = exc.response
    error = _error(exc)
    if response is not None and (response.status_code == 429 or error == "ratelimited"):
        return RetryLater(_retry_after(response.headers or {}), "Slack: ratelimited")
    if error in UNREACHABLE or error in MALFORMED:
        return Undeliverable(f"Slack refused it: {error}")
    return None


class SlackSender:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        # A long message goes out in parts; when part three meets a 429, the retry goes
        # on from part three instead of posting one and two again. By outbox id.
        self._progress: dict[int, _Progress] = {}

    async def deliver(self, message: Outbound, pace: Pace = no_pace) -> DeliveryResult:
        try:
            result = await self._deliver(message, pace)
        except SlackApiError as exc:
            refusal = _refusal(exc)
            if refusal is None:
                raise
            if isinstance(refusal, Undeliverable):
                self._progress.pop(message.id, None)
            raise refusal from exc
        self._progress.pop(message.id, None)
        return result

    async def _deliver(self, message: Outbound, pace: Pace) -> DeliveryResult:
        rcpt = message.recipient
        if rcpt.audience == Audience.STAFF_ROOM:
            return await self._to_staff_room(message, pace)
        # Slack answers a message in its thread.
        posted = await self._post(message, rcpt.chat_id, rcpt.thread_id or message.reply_to, pace)
        return DeliveryResult(message_id=posted.last, chat_id=posted.channel)

    async def _to_staff_room(self, message: Outbound, pace: Pace) -> DeliveryResult:
        rcpt = message.recipient
        header = message.kind == "header"
        if header and message.header_id and await self._update(message, rcpt.chat_id, message.header_id):
            return DeliveryResult(message_id=message.header_id)
        opens = rcpt.thread_id is None
        posted = await self._post(message, rcpt.chat_id, rcpt.thread_id, pace, opens_thread=opens)
        return DeliveryResult(
            message_id=posted.last,
            thread_id=posted.first if opens else None,
            header_id=posted.last if header else None,
        )

    async def _post(
        self, message: Outbound, channel: str, thread_ts: str | None, pace: Pace, *, opens_thread: bool = False,
    ) -> _Posted:
        """Post the text in parts, the buttons under the last, each part in its own send
        slot. A message that opens a staff thread has its first part top-level and the
        others in its thread: one ticket, one thread, however long its first message."""
        parts = mrkdwn_parts(message.text)
        progress = self._progress.setdefault(message.id, _Progress())
        resumed_at = len(progress.ts)
        for index in range(resumed_at, len(parts)):
            if index > resumed_at:
                await pace()
            part = parts[index]
            last = index == len(parts) - 1
            response = await self._client.chat_postMessage(
                channel=progress.channel or channel,
                text=part,
                blocks=with_buttons(part, message.buttons) if last and message.buttons else None,
                thread_ts=progress.ts[0] if opens_thread and progress.ts else thread_ts,
            )
            progress.channel = str(response["channel"])
            progress.ts.append(str(response["ts"]))
        return _Posted(progress.channel or channel, progress.ts[0], progress.ts[-1])

    async def _update(self, message: Outbound, channel: str, ts: str) -> bool:
        """Edit the header in place; False when it is gone. A header is a few lines: it
        fits one part. Blocks are always sent, as Slack keeps the old ones otherwise."""
        text = mrkdwn_parts(message.text)[0]
        try:
            await self._client.chat_update(
                channel=channel, ts=ts, text=text, blocks=with_buttons(text, message.buttons),
            )
        except SlackApiError as exc:
            if _error(exc) not in HEADER_GONE:
                raise
            log.warning("ticket %s: its header %s in %s is gone (%s); posting a new one",
                        message.ticket_id, ts, channel, _error(exc))
            return False
        return True
