"""A loopback stand-in for Slack: Web API, Events API / interactivity driver, Socket Mode.

Why it exists: dutydesk's Slack adapter is built on slack-bolt / slack-sdk and must be
exercised over real HTTP and real websockets, so that it follows Slack's wire protocol
rather than a mock of our own making. Everything here mirrors what Slack documents (and,
where the docs are silent, what Slack is known to do):

* Web API under ``/api/{method}`` (GET query, POST form, POST JSON; token as
  ``Authorization: Bearer`` or ``token`` arg), Slack-shaped errors, 429 + ``Retry-After``.
* Requests *to the app* (Events API, slash commands, block_actions) signed with v0
  HMAC-SHA256 exactly as Slack signs them.
* Socket Mode: ``apps.connections.open`` hands out a one-use ``ws://`` URL; the socket sends
  ``hello``, pushes envelopes and waits for the app's ack.
* ``response_url`` hooks and ``url_private`` file downloads.

Usage::

    async with SlackStandIn() as slack:
        slack.add_user("U1", "alice")
        slack.add_channel("C1", "support", members=["U1"])
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_base)
        slack.app_url = "http://127.0.0.1:PORT/slack/events"
        status, body, ts = await slack.user_message("U1", "C1", "help")
        await slack.wait_for(lambda: slack.messages("C1", thread_ts=ts))
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import itertools
import json
import math
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

Via = Literal["auto", "http", "socket"]
Clock = Callable[[], float]

MAX_TEXT = 40_000
MAX_BLOCKS = 50
SECTION_TEXT_MAX = 3_000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
        "table",
        "context_actions",
        "call",
    }
)
TS_RE = re.compile(r"^\d+\.\d+$")
FALLBACK_TEXT = "This content can't be displayed."


# --------------------------------------------------------------------------- helpers


class ManualClock:
    """Monotonic clock a test advances by hand, so rate-limit windows need no sleeping."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class RateLimit:
    """Sliding-window limit: at most ``calls + burst`` accepted calls in any ``per`` seconds.

    ``per_channel`` keys the window by the ``channel`` argument, which is how Slack limits
    chat.postMessage ("1 message per second per channel, short bursts allowed").
    """

    calls: int = 1
    per: float = 1.0
    burst: int = 0
    per_channel: bool = True

    @property
    def capacity(self) -> int:
        return self.calls + self.burst


def default_limits() -> dict[str, RateLimit]:
    """chat.postMessage: 1/s per channel plus a burst of one; other tiers are off."""
    return {"chat.postMessage": RateLimit(calls=1, per=1.0, burst=1, per_channel=True)}


def slack_escape(text: str) -> str:
    """Escape ``& < >`` as Slack does for text a human typed (events carry it escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sign(signing_secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 request signature: ``v0=`` + HMAC-SHA256(secret, ``v0:{ts}:{body}``)."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes"}


def _maybe_json(value: Any) -> Any:
    """Form posts carry blocks/attachments/metadata as JSON strings; decode when we can."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack clients attach to what a human typed."""
    return [
        {
            "type": "rich_text",
            "block_id": uuid.uuid4().hex[:5],
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
            ],
        }
    ]


class ApiError(Exception):
    """Raised inside Web API handlers; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


# --------------------------------------------------------------------------- records


@dataclass
class User:
    id: str
    name: str
    tz: str = "Europe/Moscow"
    locale: str = "en-US"
    is_bot: bool = False
    real_name: str = ""
    email: str | None = None
    team_id: str = ""
    bot_id: str | None = None
    deleted: bool = False

    def to_slack(self, *, include_locale: bool) -> dict[str, Any]:
        offset, label = _tz_details(self.tz)
        real = self.real_name or self.name
        profile: dict[str, Any] = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "team": self.team_id,
            "image_48": "https://a.slack-edge.com/standin_48.png",
        }
        if self.email:
            profile["email"] = self.email
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": real,
            "tz": self.tz,
            "tz_label": label,
            "tz_offset": offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }
        if include_locale:
            user["locale"] = self.locale
        return user


def _tz_details(tz: str) -> tuple[int, str]:
    """(offset seconds, label) for an IANA zone, as users.info reports them."""
    try:
        from zoneinfo import ZoneInfo

        now = dt.datetime.now(ZoneInfo(tz))
    except Exception:
        return 0, tz
    offset = now.utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds()), now.tzname() or tz


@dataclass
class Channel:
    id: str
    name: str
    is_im: bool = False
    is_mpim: bool = False
    is_private: bool = False
    is_shared: bool = False
    is_archived: bool = False
    members: list[str] = field(default_factory=list)
    user: str | None = None  # the human on the other side of an IM
    created: int = 1_700_000_000

    @property
    def channel_type(self) -> str:
        """The ``channel_type`` message events carry for this conversation."""
        if self.is_im:
            return "im"
        if self.is_mpim:
            return "mpim"
        return "group" if self.is_private else "channel"

    @property
    def command_name(self) -> str:
        """``channel_name`` as slash-command payloads spell it."""
        if self.is_im:
            return "directmessage"
        if self.is_mpim:
            return "mpdm"
        return "privategroup" if self.is_private else self.name

    def to_slack(self, bot_user_id: str, *, include_num_members: bool) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        info: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_mpim,
            "is_group": False,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": False,
            "unlinked": 0,
            "is_shared": self.is_shared,
            "is_ext_shared": self.is_shared,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "is_member": bot_user_id in self.members,
            "creator": self.members[0] if self.members else "",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        if include_num_members:
            info["num_members"] = len(self.members)
        return info


@dataclass
class Message:
    """A message as the stand-in's world holds it (current state after edits)."""

    channel: str
    ts: str
    text: str
    user: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    team: str | None = None
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    subtype: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    edited: dict[str, str] | None = None
    deleted: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)
    client_msg_id: str | None = None
    parent_user_id: str | None = None

    @property
    def by_bot(self) -> bool:
        return self.bot_id is not None

    def to_slack(self) -> dict[str, Any]:
        """The message object as Slack returns it in API responses and payloads."""
        out: dict[str, Any] = {"type": "message", "text": self.text, "ts": self.ts}
        optional = {
            "user": self.user,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team,
            "subtype": self.subtype,
            "blocks": self.blocks,
            "attachments": self.attachments,
            "thread_ts": self.thread_ts,
            "parent_user_id": self.parent_user_id,
            "metadata": self.metadata,
            "edited": self.edited,
            "client_msg_id": self.client_msg_id,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.files:
            out["files"] = self.files
            out["upload"] = False
        if self.reactions:
            out["reactions"] = [
                {"name": n, "users": list(u), "count": len(u)} for n, u in self.reactions.items()
            ]
        if self.bot_id:
            out["bot_profile"] = {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": "dutydesk",
                "team_id": self.team,
                "deleted": False,
            }
        return out


@dataclass
class Call:
    """One Web API request that got past auth, fault injection and rate limiting."""

    method: str
    args: dict[str, Any]
    token: str | None
    http_method: str
    response: dict[str, Any]
    status: int = 200

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


@dataclass
class Ephemeral:
    """An ephemeral message shown to one user (postEphemeral, response_url, command ack)."""

    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None
    message_ts: str
    thread_ts: str | None = None
    via: str = "chat.postEphemeral"
    deleted: bool = False


@dataclass
class ResponseUrlPost:
    """What the app posted to a response_url, with the context the URL was issued for."""

    url: str
    kind: Literal["commands", "actions"]
    channel: str
    user: str
    body: dict[str, Any]
    message_ts: str | None = None
    status: int = 200


@dataclass
class _HookContext:
    kind: Literal["commands", "actions"]
    channel: str
    user: str
    message_ts: str | None = None
    ephemeral: bool = False
    thread_ts: str | None = None


@dataclass
class _Fault:
    method: str
    channel: str | None
    times: int
    status: int
    retry_after: int
    error: str


class Delivery(NamedTuple):
    """What the app answered to a signed request (or, over Socket Mode, its ack)."""

    status: int
    body: str
    headers: Mapping[str, str]


class PostedMessage(NamedTuple):
    """Result of a simulated user message: the app's answer plus the new message's ts."""

    status: int
    body: str
    ts: str


# --------------------------------------------------------------------------- stand-in


class SlackStandIn:
    """Loopback Slack. ``async with SlackStandIn(...) as slack`` starts it on an ephemeral port.

    Attributes tests read: ``calls``, ``rejected``, ``ephemerals``, ``response_url_posts``,
    ``socket_acks``, ``deliveries``, ``served_429``; methods ``messages()``, ``wait_for()``.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        signing_secret: str = "secret",
        team_id: str = "T1",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        app_id: str = "A1",
        team_domain: str = "standin",
        limits: Mapping[str, RateLimit] | Literal["default"] | None = "default",
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.team_domain = team_domain
        self.verification_token = "standin-verification-token"
        self.limits: dict[str, RateLimit] = (
            default_limits() if limits == "default" else dict(limits or {})
        )
        self.clock = clock
        self.wall_clock = wall_clock
        self.app_url: str | None = None

        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self._file_bytes: dict[str, bytes] = {}
        self._messages: dict[str, list[Message]] = {}
        self.calls: list[Call] = []
        self.rejected: list[Call] = []
        self.ephemerals: list[Ephemeral] = []
        self.response_url_posts: list[ResponseUrlPost] = []
        self.socket_acks: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.served_429 = 0
        self.socket_connections_total = 0
        self.last_challenge: str | None = None

        self._faults: list[_Fault] = []
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._hooks: dict[str, _HookContext] = {}
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._pending_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

        self.add_user(bot_user_id, "dutydesk", is_bot=True)
        self.users[bot_user_id].bot_id = bot_id
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._m_auth_test,
            "chat.postMessage": self._m_post_message,
            "chat.update": self._m_update,
            "chat.postEphemeral": self._m_post_ephemeral,
            "chat.delete": self._m_delete,
            "chat.getPermalink": self._m_permalink,
            "conversations.open": self._m_conversations_open,
            "conversations.info": self._m_conversations_info,
            "conversations.members": self._m_conversations_members,
            "conversations.history": self._m_conversations_history,
            "conversations.replies": self._m_conversations_replies,
            "users.info": self._m_users_info,
            "reactions.add": self._m_reactions_add,
            "files.info": self._m_files_info,
            "apps.connections.open": self._m_connections_open,
        }

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> SlackStandIn:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/link/", self._handle_socket)
        app.router.add_post("/hooks/{kind}/{team}/{hook_id}/{secret}", self._handle_hook)
        app.router.add_get("/files-pri/{team_file}/{tail:.*}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self._sockets):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)
        for fut in self._pending_acks.values():
            fut.cancel()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What to pass as ``AsyncWebClient(base_url=...)``."""
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ world

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        tz: str = "Europe/Moscow",
        locale: str = "en-US",
        is_bot: bool = False,
        real_name: str = "",
        email: str | None = None,
        team_id: str | None = None,
    ) -> User:
        """Register a workspace member (``team_id`` differs for Slack Connect guests)."""
        user = User(
            user_id,
            name,
            tz=tz,
            locale=locale,
            is_bot=is_bot,
            real_name=real_name,
            email=email,
            team_id=team_id or self.team_id,
        )
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_im: bool = False,
        is_private: bool = False,
        is_shared: bool = False,
        is_archived: bool = False,
        members: Iterable[str] = (),
        bot_member: bool = True,
    ) -> Channel:
        """Register a conversation. The bot is a member unless ``bot_member=False``
        (then posting fails with not_in_channel / channel_not_found as on real Slack)."""
        member_list = list(members)
        if bot_member and self.bot_user_id not in member_list:
            member_list.append(self.bot_user_id)
        channel = Channel(
            channel_id,
            name,
            is_im=is_im,
            is_private=is_private,
            is_shared=is_shared,
            is_archived=is_archived,
            members=member_list,
        )
        if is_im:
            channel.user = next((m for m in member_list if m != self.bot_user_id), None)
        self.channels[channel_id] = channel
        self._messages.setdefault(channel_id, [])
        return channel

    def archive(self, channel_id: str) -> None:
        self.channels[channel_id].is_archived = True

    def dm_channel(self, user_id: str) -> str:
        """The bot's IM channel with ``user_id`` (created on first use, like conversations.open)."""
        for channel in self.channels.values():
            if channel.is_im and channel.user == user_id:
                return channel.id
        channel = self.add_channel(self._new_id("D"), user_id, is_im=True, members=[user_id])
        return channel.id

    def add_file(
        self,
        name: str,
        content: bytes = b"",
        *,
        mimetype: str = "application/octet-stream",
        filetype: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Register an uploaded file; its ``url_private`` serves ``content`` to the bot token."""
        file_id = self._new_id("F")
        url_base = f"{self.base_url}/files-pri/{self.team_id}-{file_id}"
        now = int(self.wall_clock())
        info = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": filetype or (name.rsplit(".", 1)[-1] if "." in name else "binary"),
            "pretty_type": (filetype or mimetype).upper(),
            "user": user,
            "user_team": self.team_id,
            "editable": False,
            "size": len(content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{url_base}/{name}",
            "url_private_download": f"{url_base}/download/{name}",
            "permalink": f"https://{self.team_domain}.slack.com/files/{user}/{file_id}/{name}",
            "is_starred": False,
            "has_rich_preview": False,
            "file_access": "visible",
        }
        self.files[file_id] = info
        self._file_bytes[file_id] = content
        return info

    # ------------------------------------------------------------------ faults & limits

    def fail_next(
        self,
        method: str,
        *,
        channel: str | None = None,
        times: int = 1,
        status: int = 429,
        retry_after: int = 1,
        error: str = "ratelimited",
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally only for ``channel``) fail.

        status=429 adds ``Retry-After``; e.g. ``error="channel_not_found", status=200`` fakes
        an API error. Failed calls land in ``rejected``, not ``calls``.
        """
        self._faults.append(_Fault(method, channel, times, status, retry_after, error))

    def _take_fault(self, method: str, args: dict[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.channel is not None and fault.channel != args.get("channel"):
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    def _rate_check(self, method: str, args: dict[str, Any]) -> int | None:
        """Record the call in its window; return Retry-After seconds if over the limit."""
        limit = self.limits.get(method)
        if limit is None:
            return None
        key = (method, str(args.get("channel", "")) if limit.per_channel else "")
        window = self._windows.setdefault(key, deque())
        now = self.clock()
        while window and now - window[0] >= limit.per:
            window.popleft()
        if len(window) >= limit.capacity:
            return max(1, math.ceil(window[0] + limit.per - now))
        window.append(now)
        return None

    # ------------------------------------------------------------------ queries & waiting

    def messages(
        self,
        channel: str | None = None,
        thread_ts: str | None = None,
        *,
        by_bot: bool | None = None,
    ) -> list[Message]:
        """Live (non-deleted) messages in ts order.

        ``thread_ts=None``: every message of the channel (all channels if ``channel`` is None),
        replies included. ``thread_ts=X``: only the replies in thread X (not the parent).
        """
        channels = [channel] if channel is not None else list(self._messages)
        found = [
            m
            for c in channels
            for m in self._messages.get(c, [])
            if not m.deleted
            and (thread_ts is None or (m.thread_ts == thread_ts and m.ts != thread_ts))
            and (by_bot is None or m.by_bot == by_bot)
        ]
        return sorted(found, key=lambda m: (m.channel, float(m.ts)))

    def message(self, channel: str, ts: str) -> Message | None:
        """The message at (channel, ts), deleted or not."""
        return next((m for m in self._messages.get(channel, []) if m.ts == ts), None)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "",
    ) -> Any:
        """Wait until ``predicate()`` is truthy, re-checking on every state change.

        Returns the truthy value. On timeout raises AssertionError with a dump of the world.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or predicate}\n{self.dump()}"
                )
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _touch(self) -> None:
        """Wake every ``wait_for``: swap in a fresh event and set the old one."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def dump(self) -> str:
        """Human-readable state for assertion messages."""
        lines = [f"served_429={self.served_429} sockets={len(self._sockets)}", "calls (last 20):"]
        for c in self.calls[-20:]:
            args = {
                k: v
                for k, v in c.args.items()
                if k in {"channel", "text", "ts", "thread_ts", "user", "users"}
            }
            lines.append(f"  {c.method} {args} -> {c.error or 'ok'}")
        lines.append("rejected (last 10):")
        lines += [f"  {c.method} -> {c.status} {c.error}" for c in self.rejected[-10:]]
        lines.append("messages:")
        for m in self.messages():
            who = f"bot:{m.bot_id}" if m.bot_id else m.user
            lines.append(f"  {m.channel} {m.ts} thread={m.thread_ts} {who}: {m.text[:80]!r}")
        lines.append("ephemerals:")
        lines += [f"  {e.channel} ->{e.user} via {e.via}: {e.text[:80]!r}" for e in self.ephemerals]
        lines.append("response_url posts:")
        lines += [
            f"  {p.kind} {p.channel}: {json.dumps(p.body)[:120]}" for p in self.response_url_posts
        ]
        lines.append(f"socket acks: {len(self.socket_acks)}; deliveries: {len(self.deliveries)}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ ids & ts

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):09X}"

    def _next_ts(self) -> str:
        """Strictly increasing ``seconds.micros`` ts, like Slack's per-channel message ids."""
        now_us = int(self.wall_clock() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _trigger_id(self) -> str:
        return f"{next(self._ids)}.{self.team_id}.{uuid.uuid4().hex[:20]}"

    # ------------------------------------------------------------------ Web API plumbing

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _parse_args(request)
        token = _take_token(request, args)
        handler = self._methods.get(method)
        if handler is None:
            return _json({"ok": False, "error": "unknown_method", "req_method": method})
        call = Call(method, args, token, request.method, {})
        auth_error = self._auth_error(method, token)
        if auth_error:
            return self._reject(call, 200, {"ok": False, "error": auth_error})
        fault = self._take_fault(method, args)
        if fault is not None:
            return self._reject(
                call, fault.status, {"ok": False, "error": fault.error}, fault.retry_after
            )
        retry_after = self._rate_check(method, args)
        if retry_after is not None:
            return self._reject(call, 429, {"ok": False, "error": "ratelimited"}, retry_after)
        try:
            call.response = {"ok": True, **handler(args)}
        except ApiError as e:
            call.response = {"ok": False, "error": e.error, **e.extra}
        self.calls.append(call)
        self._touch()
        return _json(call.response)

    def _reject(
        self, call: Call, status: int, body: dict[str, Any], retry_after: int | None = None
    ) -> web.Response:
        call.status, call.response = status, body
        self.rejected.append(call)
        headers = {}
        if status == 429:
            self.served_429 += 1
            headers["Retry-After"] = str(max(1, int(retry_after or 1)))
        self._touch()
        return _json(body, status=status, headers=headers)

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if method == "apps.connections.open":
            if token.startswith("xapp-"):
                return None if token == self.app_token else "invalid_auth"
            return "not_allowed_token_type" if token == self.bot_token else "invalid_auth"
        if token == self.app_token:
            return "not_allowed_token_type"
        return None if token == self.bot_token else "invalid_auth"

    def _channel(self, ref: Any, *, allow_user: bool = False) -> Channel:
        """Resolve a channel arg: id, name / #name, or (chat.postMessage) a user id → DM."""
        ref = str(ref or "")
        if not ref:
            raise ApiError("channel_not_found")
        if ref in self.channels:
            return self.channels[ref]
        if allow_user and ref in self.users:
            return self.channels[self.dm_channel(ref)]
        name = ref.lstrip("#")
        for channel in self.channels.values():
            if not channel.is_im and channel.name == name:
                return channel
        raise ApiError("channel_not_found")

    def _writable(self, channel: Channel) -> None:
        if self.bot_user_id not in channel.members:
            raise ApiError("channel_not_found" if channel.is_private else "not_in_channel")
        if channel.is_archived:
            raise ApiError("is_archived")

    def _bot_message_or_error(self, channel: Channel, ts: Any, *, cant: str) -> Message:
        msg = self.message(channel.id, str(ts or ""))
        if msg is None or msg.deleted:
            raise ApiError("message_not_found")
        if msg.bot_id != self.bot_id:
            raise ApiError(cant)
        return msg

    # ------------------------------------------------------------------ Web API methods

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Stand-in Workspace",
            "user": self.users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _content(self, args: dict[str, Any], *, required: bool) -> tuple[str | None, Any, Any]:
        """Validate text/blocks/attachments the way chat.* methods do; return them decoded."""
        text = args.get("text")
        blocks = args.get("blocks")
        attachments = args.get("attachments")
        if blocks is not None:
            _validate_blocks(blocks)
        if isinstance(attachments, str):
            raise ApiError("invalid_attachments")
        if required and not text and not blocks and not attachments:
            raise ApiError("no_text")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise ApiError("msg_too_long")
        return (None if text is None else str(text)), blocks, attachments

    def _m_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), allow_user=True)
        self._writable(channel)
        text, blocks, attachments = self._content(args, required=True)
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None and not TS_RE.match(str(thread_ts)):
            raise ApiError("invalid_thread_ts")
        # Slack accepts a well-formed thread_ts with no parent: the reply lands in a
        # "ghost" thread that is never shown in the channel. We keep it so tests can see it.
        parent = self.message(channel.id, str(thread_ts)) if thread_ts else None
        broadcast = bool(thread_ts) and _truthy(args.get("reply_broadcast", False))
        msg = Message(
            channel=channel.id,
            ts=self._next_ts(),
            text=text if text else FALLBACK_TEXT,
            user=self.bot_user_id,
            bot_id=self.bot_id,
            app_id=self.app_id,
            team=self.team_id,
            blocks=_with_ids(blocks),
            attachments=attachments,
            thread_ts=str(thread_ts) if thread_ts else None,
            subtype="thread_broadcast" if broadcast else None,
            metadata=_maybe_json(args.get("metadata")),
            parent_user_id=parent.user if parent else None,
        )
        self._messages.setdefault(channel.id, []).append(msg)
        return {"channel": channel.id, "ts": msg.ts, "message": msg.to_slack()}

    def _m_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel.is_archived:
            raise ApiError("is_archived")
        msg = self._bot_message_or_error(channel, args.get("ts"), cant="cant_update_message")
        text, blocks, attachments = self._content(args, required=False)
        if text is None and blocks is None and attachments is None:
            raise ApiError("no_text")
        # Omitted blocks/attachments are retained; [] clears them (documented behaviour).
        if text is not None:
            msg.text = text
        if blocks is not None:
            msg.blocks = _with_ids(blocks) or None
            if text is None and blocks:
                msg.text = msg.text or FALLBACK_TEXT
        if attachments is not None:
            msg.attachments = attachments or None
        if "metadata" in args:
            msg.metadata = _maybe_json(args["metadata"])
        msg.edited = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"channel": channel.id, "ts": msg.ts, "text": msg.text, "message": msg.to_slack()}

    def _m_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        self._writable(channel)
        user = str(args.get("user") or "")
        if user not in self.users:
            raise ApiError("user_not_found")
        if user not in channel.members:
            raise ApiError("user_not_in_channel")
        text, blocks, _ = self._content(args, required=True)
        eph = Ephemeral(
            channel=channel.id,
            user=user,
            text=text or "",
            blocks=_with_ids(blocks),
            message_ts=self._next_ts(),
            thread_ts=args.get("thread_ts") or None,
        )
        self.ephemerals.append(eph)
        return {"message_ts": eph.message_ts}

    def _m_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        msg = self._bot_message_or_error(channel, args.get("ts"), cant="cant_delete_message")
        msg.deleted = True
        return {"channel": channel.id, "ts": msg.ts}

    def _m_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        msg = self.message(channel.id, str(args.get("message_ts") or ""))
        if msg is None or msg.deleted:
            raise ApiError("message_not_found")
        link = (
            f"https://{self.team_domain}.slack.com/archives/{channel.id}/p{msg.ts.replace('.', '')}"
        )
        if msg.thread_ts and msg.thread_ts != msg.ts:
            link += f"?thread_ts={msg.thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise ApiError("users_list_not_supplied")
        for user in users:
            if user not in self.users:
                raise ApiError("user_not_found")
        if len(users) == 1:
            existed = any(c.is_im and c.user == users[0] for c in self.channels.values())
            channel = self.channels[self.dm_channel(users[0])]
        else:
            channel, existed = self._mpim(users)
        body: dict[str, Any] = {"channel": {"id": channel.id}}
        if existed:
            body.update(no_op=True, already_open=True)
        if _truthy(args.get("return_im", False)):
            body["channel"] = channel.to_slack(self.bot_user_id, include_num_members=False)
        return body

    def _mpim(self, users: list[str]) -> tuple[Channel, bool]:
        wanted = {*users, self.bot_user_id}
        for channel in self.channels.values():
            if channel.is_mpim and set(channel.members) == wanted:
                return channel, True
        channel = self.add_channel(self._new_id("G"), "mpdm-" + "--".join(users), members=users)
        channel.is_mpim = True
        return channel, False

    def _m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        info = channel.to_slack(
            self.bot_user_id, include_num_members=_truthy(args.get("include_num_members", False))
        )
        if _truthy(args.get("include_locale", False)):
            info["locale"] = "en-US"
        return {"channel": info}

    def _m_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0) if str(args.get("cursor") or "0").isdigit() else 0
        page = channel.members[start : start + limit]
        more = start + limit < len(channel.members)
        return {
            "members": page,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        top = [
            m
            for m in self.messages(channel.id)
            if m.thread_ts in (None, m.ts) or m.subtype == "thread_broadcast"
        ]
        limit = int(args.get("limit") or 100)
        newest_first = [m.to_slack() for m in reversed(top)][:limit]
        return {
            "messages": newest_first,
            "has_more": len(top) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        ts = str(args.get("ts") or "")
        parent = self.message(channel.id, ts)
        if parent is None or parent.deleted:
            raise ApiError("thread_not_found")
        thread = [parent, *self.messages(channel.id, thread_ts=ts)]
        return {
            "messages": [m.to_slack() for m in thread],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        return {"user": user.to_slack(include_locale=_truthy(args.get("include_locale", False)))}

    def _m_reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise ApiError("invalid_name")
        msg = self.message(channel.id, str(args.get("timestamp") or ""))
        if msg is None or msg.deleted:
            raise ApiError("message_not_found")
        users = msg.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise ApiError("already_reacted")
        users.append(self.bot_user_id)
        return {}

    def _m_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        info = self.files.get(str(args.get("file") or ""))
        if info is None:
            raise ApiError("file_not_found")
        return {"file": info, "comments": [], "response_metadata": {"next_cursor": ""}}

    def _m_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"}

    # ------------------------------------------------------------------ files & hooks

    async def _handle_file(self, request: web.Request) -> web.Response:
        """url_private: needs the bot token, else Slack serves its HTML login page (200!)."""
        file_id = request.match_info["team_file"].split("-", 1)[-1]
        if request.headers.get("Authorization", "") != f"Bearer {self.bot_token}":
            return web.Response(
                text="<html><body>Sign in to Slack</body></html>", content_type="text/html"
            )
        if file_id not in self._file_bytes:
            return web.Response(status=404, text="file_not_found")
        return web.Response(
            body=self._file_bytes[file_id], content_type=self.files[file_id]["mimetype"]
        )

    def _new_hook(self, ctx: _HookContext) -> str:
        hook_id = str(next(self._ids))
        self._hooks[hook_id] = ctx
        return f"{self.base_url}/hooks/{ctx.kind}/{self.team_id}/{hook_id}/{uuid.uuid4().hex[:24]}"

    async def _handle_hook(self, request: web.Request) -> web.Response:
        ctx = self._hooks.get(request.match_info["hook_id"])
        if ctx is None:
            return web.Response(status=404, text="no_service")
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        post = ResponseUrlPost(
            str(request.url), ctx.kind, ctx.channel, ctx.user, body, ctx.message_ts
        )
        self.response_url_posts.append(post)
        try:
            self._apply_response(ctx, body, via="response_url")
        except ApiError as e:
            post.status = 400
            self._touch()
            return web.Response(status=400, text=e.error)
        self._touch()
        return _json({"ok": True})

    def _apply_response(self, ctx: _HookContext, body: dict[str, Any], *, via: str) -> None:
        """Do what Slack does with a response_url post or a slash-command ack body."""
        blocks = _maybe_json(body.get("blocks"))
        if blocks is not None:
            _validate_blocks(blocks)
        if _truthy(body.get("delete_original", False)):
            self._delete_original(ctx)
            return
        text = body.get("text")
        if not text and not blocks and not body.get("attachments"):
            raise ApiError("no_text")
        if _truthy(body.get("replace_original", False)) and ctx.message_ts:
            self._replace_original(ctx, text, blocks)
            return
        thread_ts = body.get("thread_ts") or ctx.thread_ts
        if body.get("response_type") == "in_channel":
            msg = Message(
                channel=ctx.channel,
                ts=self._next_ts(),
                text=text or FALLBACK_TEXT,
                user=self.bot_user_id,
                bot_id=self.bot_id,
                app_id=self.app_id,
                team=self.team_id,
                blocks=_with_ids(blocks),
                thread_ts=thread_ts,
            )
            self._messages.setdefault(ctx.channel, []).append(msg)
            return
        self.ephemerals.append(
            Ephemeral(
                ctx.channel,
                ctx.user,
                text or "",
                _with_ids(blocks),
                self._next_ts(),
                thread_ts,
                via,
            )
        )

    def _delete_original(self, ctx: _HookContext) -> None:
        if ctx.ephemeral:
            for eph in self.ephemerals:
                if eph.message_ts == ctx.message_ts:
                    eph.deleted = True
            return
        msg = self.message(ctx.channel, ctx.message_ts or "")
        if msg is not None:
            msg.deleted = True

    def _replace_original(self, ctx: _HookContext, text: str | None, blocks: Any) -> None:
        if ctx.ephemeral:
            for eph in self.ephemerals:
                if eph.message_ts == ctx.message_ts:
                    eph.text, eph.blocks = text or "", _with_ids(blocks)
            return
        msg = self.message(ctx.channel, ctx.message_ts or "")
        if msg is not None:
            # replace_original replaces the whole message: blocks not sent are gone.
            msg.text, msg.blocks = text or FALLBACK_TEXT, _with_ids(blocks)
            msg.edited = {"user": self.bot_user_id, "ts": self._next_ts()}

    # ------------------------------------------------------------------ Socket Mode server

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)  # tickets are single-use, as on Slack
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connections_total += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {
                    "host": "applink-standin",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        self._touch()
        try:
            async for frame in ws:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    self._on_socket_text(frame.data)
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
            self._touch()
        return ws

    def _on_socket_text(self, data: str) -> None:
        try:
            ack = json.loads(data)
        except ValueError:
            return
        envelope_id = ack.get("envelope_id") if isinstance(ack, dict) else None
        if not envelope_id:
            return
        self.socket_acks.append(ack)
        fut = self._pending_acks.pop(envelope_id, None)
        if fut is not None and not fut.done():
            fut.set_result(ack)
        self._touch()

    @property
    def socket_connected(self) -> bool:
        return bool(self._sockets)

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self.wait_for(lambda: self._sockets, timeout, "a Socket Mode connection")

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect`` message; slack_sdk then reopens via apps.connections.open."""
        await self.wait_socket_connected()
        await self._sockets[-1].send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-standin"}}
        )

    async def _socket_send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        timeout: float,  # noqa: ASYNC109
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> dict[str, Any]:
        """Push one envelope to the newest connection and wait for the app's ack."""
        await self.wait_socket_connected(timeout)
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending_acks[envelope_id] = fut
        await self._sockets[-1].send_json(envelope)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            self._pending_acks.pop(envelope_id, None)
            raise AssertionError(
                f"no ack for {kind} envelope {envelope_id} within {timeout}s\n{self.dump()}"
            ) from None

    # ------------------------------------------------------------------ signed HTTP to the app

    def _via(self, via: Via) -> Literal["http", "socket"]:
        if via == "auto":
            return "http" if self.app_url else "socket"
        return via

    async def _post_to_app(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        bad_signature: bool = False,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Delivery:
        if not self.app_url:
            raise RuntimeError("set slack.app_url to the app's Events/commands/interactivity URL")
        assert self._session is not None, "use `async with SlackStandIn()`"
        ts = str(timestamp if timestamp is not None else int(self.wall_clock()))
        secret = self.signing_secret + ("-wrong" if bad_signature else "")
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret, ts, body),
            **(extra_headers or {}),
        }
        async with self._session.post(self.app_url, data=body.encode(), headers=headers) as resp:
            return Delivery(resp.status, await resp.text(), CIMultiDict(resp.headers))

    def _event_envelope(self, event: dict[str, Any], event_id: str | None) -> dict[str, Any]:
        channel = self.channels.get(str(event.get("channel", "")))
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(self.wall_clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": bool(channel and channel.is_shared),
            "event_context": f"4-{uuid.uuid4().hex}",
        }

    async def send_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
        bad_signature: bool = False,
        via: Via = "auto",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Delivery:
        """Wrap ``event`` in an event_callback envelope and deliver it (signed HTTP or socket).

        Pass the same ``event_id`` with ``retry_num`` to simulate Slack's redelivery.
        Over Socket Mode the Delivery is (200, json of the ack payload or "", {}).
        """
        envelope = self._event_envelope(event, event_id)
        self.deliveries.append(envelope)
        if self._via(via) == "socket":
            ack = await self._socket_send(
                "events_api",
                envelope,
                accepts_response_payload=False,
                timeout=timeout,
                retry_attempt=retry_num,
                retry_reason=retry_reason if retry_num else None,
            )
            return _ack_delivery(ack)
        extra = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self._post_to_app(
            json.dumps(envelope),
            "application/json",
            timestamp=timestamp,
            bad_signature=bad_signature,
            extra_headers=extra,
        )

    async def redeliver_last_event(
        self, retry_num: int = 1, retry_reason: str = "http_timeout", *, via: Via = "auto"
    ) -> Delivery:
        """Resend the last envelope with the same event_id, as Slack's retries do."""
        last = self.deliveries[-1]
        return await self.send_event(
            last["event"],
            event_id=last["event_id"],
            retry_num=retry_num,
            retry_reason=retry_reason,
            via=via,
        )

    async def url_verification(self) -> Delivery:
        """The signed handshake Slack sends when the Events URL is configured."""
        self.last_challenge = uuid.uuid4().hex
        body = {
            "token": self.verification_token,
            "challenge": self.last_challenge,
            "type": "url_verification",
        }
        return await self._post_to_app(json.dumps(body), "application/json")

    # ------------------------------------------------------------------ user-side simulations

    def _ensure_channel(self, channel_id: str, user: str) -> Channel:
        """Channels a test forgot to add are created public; the speaker becomes a member."""
        channel = self.channels.get(channel_id)
        if channel is None:
            if channel_id.startswith("D"):
                raise KeyError(f"unknown DM {channel_id}; use slack.dm_channel(user)")
            channel = self.add_channel(channel_id, channel_id.lower())
        if user not in channel.members:
            channel.members.append(user)
        return channel

    def _resolve_files(
        self, files: Iterable[dict[str, Any] | str], user: str
    ) -> list[dict[str, Any]]:
        resolved = []
        for f in files:
            if isinstance(f, str):
                resolved.append(self.files[f])
            elif "id" in f and f["id"] in self.files:
                resolved.append(self.files[f["id"]])
            else:
                content = f.get("content", b"")
                extra = {k: v for k, v in f.items() if k not in {"name", "content", "mimetype"}}
                info = self.add_file(
                    f.get("name", "file.bin"),
                    content,
                    mimetype=f.get("mimetype", "application/octet-stream"),
                    user=user,
                )
                info.update(extra)
                resolved.append(info)
        return resolved

    def message_event(self, msg: Message, channel_type: str | None = None) -> dict[str, Any]:
        """The ``message`` event Slack would send for ``msg`` (also usable with send_event)."""
        event = msg.to_slack()
        event.pop("reactions", None)
        event["channel"] = msg.channel
        event["event_ts"] = msg.ts
        channel = self.channels.get(msg.channel)
        event["channel_type"] = channel_type or (channel.channel_type if channel else "channel")
        if msg.files:
            event.update(display_as_bot=False)
        return event

    async def user_message(
        self,
        user: str,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: Iterable[dict[str, Any] | str] | None = None,
        channel_type: str | None = None,
        subtype: str | None = None,
        via: Via = "auto",
        event_id: str | None = None,
    ) -> PostedMessage:
        """A human posts ``text`` (wire format: pass mentions as ``<@U1>``, see slack_escape).

        The message is stored in the world first so the bot can thread under it.
        ``files`` (file dicts, ids, or {"name","content","mimetype"}) make it a file_share.
        """
        ch = self._ensure_channel(channel, user)
        parent = self.message(ch.id, thread_ts) if thread_ts else None
        file_objs = self._resolve_files(files or (), user)
        msg = Message(
            channel=ch.id,
            ts=self._next_ts(),
            text=text,
            user=user,
            team=self.users[user].team_id if user in self.users else self.team_id,
            blocks=_rich_text(text) if text else None,
            thread_ts=thread_ts,
            subtype=subtype or ("file_share" if file_objs else None),
            files=file_objs,
            client_msg_id=str(uuid.uuid4()),
            parent_user_id=parent.user if parent else None,
        )
        self._messages.setdefault(ch.id, []).append(msg)
        self._touch()
        event = self.message_event(msg, channel_type)
        status, body, _ = await self.send_event(event, via=via, event_id=event_id)
        return PostedMessage(status, body, msg.ts)

    async def bot_message(
        self,
        channel: str,
        text: str,
        *,
        bot_id: str = "BOTHER",
        username: str = "otherbot",
        thread_ts: str | None = None,
        via: Via = "auto",
    ) -> PostedMessage:
        """Another integration posts (subtype bot_message, no user): adapters should ignore it."""
        ch = self._ensure_channel(channel, self.bot_user_id)
        msg = Message(
            channel=ch.id,
            ts=self._next_ts(),
            text=text,
            bot_id=bot_id,
            subtype="bot_message",
            thread_ts=thread_ts,
        )
        self._messages.setdefault(ch.id, []).append(msg)
        event = self.message_event(msg)
        event["username"] = username
        event.pop("bot_profile", None)
        status, body, _ = await self.send_event(event, via=via)
        return PostedMessage(status, body, msg.ts)

    async def echo_bot_message(self, channel: str, ts: str, *, via: Via = "auto") -> Delivery:
        """Deliver the message event Slack sends for the app's *own* post (Bolt drops it)."""
        msg = self.message(channel, ts)
        if msg is None:
            raise KeyError(f"no message {channel}/{ts}")
        return await self.send_event(self.message_event(msg), via=via)

    async def user_edits(
        self, user: str, channel: str, ts: str, new_text: str, *, via: Via = "auto"
    ) -> Delivery:
        """The human edits their message: a ``message_changed`` event (hidden, new event ts)."""
        msg = self.message(channel, ts)
        if msg is None:
            raise KeyError(f"no message {channel}/{ts}")
        previous = msg.to_slack()
        event_ts = self._next_ts()
        msg.text, msg.blocks = new_text, _rich_text(new_text)
        msg.edited = {"user": user, "ts": event_ts}
        self._touch()
        current = msg.to_slack()
        event = {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": channel,
            "channel_type": self.channels[channel].channel_type,
            "ts": event_ts,
            "event_ts": event_ts,
            "message": current,
            "previous_message": previous,
        }
        return await self.send_event(event, via=via)

    async def user_deletes(
        self, user: str, channel: str, ts: str, *, via: Via = "auto"
    ) -> Delivery:
        """The human deletes their message: a ``message_deleted`` event."""
        msg = self.message(channel, ts)
        if msg is None:
            raise KeyError(f"no message {channel}/{ts}")
        msg.deleted = True
        event_ts = self._next_ts()
        event = {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "channel": channel,
            "channel_type": self.channels[channel].channel_type,
            "ts": event_ts,
            "deleted_ts": ts,
            "event_ts": event_ts,
            "previous_message": msg.to_slack(),
        }
        return await self.send_event(event, via=via)

    async def app_mention(
        self, user: str, channel: str, text: str, *, thread_ts: str | None = None, via: Via = "auto"
    ) -> PostedMessage:
        """An ``app_mention`` event (Slack sends it *in addition* to the message event)."""
        ch = self._ensure_channel(channel, user)
        ts = self._next_ts()
        event = {
            "type": "app_mention",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": ch.id,
            "event_ts": ts,
            "team": self.team_id,
            "client_msg_id": str(uuid.uuid4()),
            "blocks": _rich_text(text),
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        status, body, _ = await self.send_event(event, via=via)
        return PostedMessage(status, body, ts)

    def _command_fields(
        self, user: str, channel: Channel, command: str, text: str
    ) -> dict[str, str]:
        response_url = self._new_hook(_HookContext("commands", channel.id, user))
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel.id,
            "channel_name": channel.command_name,
            "user_id": user,
            "user_name": self.users[user].name if user in self.users else user,
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self._trigger_id(),
        }

    async def slash_command(
        self,
        user: str,
        channel: str,
        command: str = "/desk",
        text: str = "",
        *,
        via: Via = "auto",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Delivery:
        """A user runs ``command``. The ack body (if any) is shown like Slack shows it:
        ephemeral to the user, or in channel with ``response_type: in_channel``."""
        if self._via(via) == "socket":
            ack = await self.socket_slash_command(user, channel, command, text, timeout=timeout)
            return _ack_delivery(ack)
        ch = self._ensure_channel(channel, user)
        fields = self._command_fields(user, ch, command, text)
        delivery = await self._post_to_app(urlencode(fields), "application/x-www-form-urlencoded")
        if delivery.status == 200 and delivery.body:
            self._apply_ack(ch.id, user, _ack_body(delivery))
        return delivery

    def _apply_ack(self, channel: str, user: str, payload: dict[str, Any] | None) -> None:
        if not payload:
            return
        with contextlib.suppress(ApiError):
            self._apply_response(_HookContext("commands", channel, user), payload, via="ack")
        self._touch()

    def _find_action(
        self, blocks: list[dict[str, Any]] | None, action_id: str
    ) -> tuple[str | None, dict[str, Any]] | None:
        for block in blocks or []:
            elements = list(block.get("elements", [])) if block.get("type") == "actions" else []
            if "accessory" in block:
                elements.append(block["accessory"])
            for element in elements:
                if element.get("action_id") == action_id:
                    return block.get("block_id"), element
        return None

    def _actions_payload(
        self,
        user: str,
        channel: Channel,
        message_ts: str,
        action_id: str,
        value: str | None,
        block_id: str | None,
    ) -> dict[str, Any]:
        msg = self.message(channel.id, message_ts)
        eph = next((e for e in self.ephemerals if e.message_ts == message_ts), None)
        if msg is None and eph is None:
            raise KeyError(f"no message {channel.id}/{message_ts} to press a button on")
        blocks = msg.blocks if msg is not None else eph.blocks  # type: ignore[union-attr]
        found = self._find_action(blocks, action_id)
        if found is None and block_id is None:
            raise KeyError(f"no element with action_id={action_id!r} in {channel.id}/{message_ts}")
        found_block, element = found or (
            block_id,
            {"type": "button", "text": {"type": "plain_text", "text": action_id}},
        )
        thread_ts = msg.thread_ts if msg is not None else (eph.thread_ts if eph else None)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel.id,
            "is_ephemeral": msg is None,
        }
        if thread_ts:
            container["thread_ts"] = thread_ts
        action = {
            "action_id": action_id,
            "block_id": block_id or found_block,
            "text": element.get("text"),
            "value": value if value is not None else element.get("value"),
            "type": element.get("type", "button"),
            "action_ts": f"{self.wall_clock():.6f}",
        }
        if "style" in element:
            action["style"] = element["style"]
        ctx = _HookContext(
            "actions", channel.id, user, message_ts, ephemeral=msg is None, thread_ts=thread_ts
        )
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": self.users[user].name if user in self.users else user,
                "name": self.users[user].name if user in self.users else user,
                "team_id": self.team_id,
            },
            "api_app_id": self.app_id,
            "token": self.verification_token,
            "container": container,
            "trigger_id": self._trigger_id(),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": channel.command_name},
            "state": {"values": {}},
            "response_url": self._new_hook(ctx),
            "actions": [action],
        }
        if msg is not None:
            payload["message"] = msg.to_slack()
        return payload

    async def press_button(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str | None = None,
        via: Via = "auto",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Delivery:
        """A user clicks a button in a stored message (or ephemeral): a block_actions payload.

        block_id/value default to what the message's blocks say; unknown action_id raises
        KeyError unless block_id is given (a stale or hand-made button).
        """
        if self._via(via) == "socket":
            ack = await self.socket_press_button(
                user, channel, message_ts, action_id, value, block_id=block_id, timeout=timeout
            )
            return _ack_delivery(ack)
        ch = self._ensure_channel(channel, user)
        payload = self._actions_payload(user, ch, message_ts, action_id, value, block_id)
        body = urlencode({"payload": json.dumps(payload)})
        return await self._post_to_app(body, "application/x-www-form-urlencoded")

    # ------------------------------------------------------------------ Socket Mode shorthands

    async def socket_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Push an events_api envelope and return the app's ack message."""
        envelope = self._event_envelope(event, event_id)
        self.deliveries.append(envelope)
        return await self._socket_send(
            "events_api",
            envelope,
            accepts_response_payload=False,
            timeout=timeout,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )

    async def socket_slash_command(
        self,
        user: str,
        channel: str,
        command: str = "/desk",
        text: str = "",
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Push a slash_commands envelope (accepts_response_payload) and return the ack.

        An ack payload is shown as Slack would (ephemeral, or in_channel)."""
        ch = self._ensure_channel(channel, user)
        fields = self._command_fields(user, ch, command, text)
        ack = await self._socket_send(
            "slash_commands", fields, accepts_response_payload=True, timeout=timeout
        )
        self._apply_ack(ch.id, user, ack.get("payload"))
        return ack

    async def socket_press_button(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Push an interactive (block_actions) envelope and return the ack."""
        ch = self._ensure_channel(channel, user)
        payload = self._actions_payload(user, ch, message_ts, action_id, value, block_id)
        return await self._socket_send(
            "interactive", payload, accepts_response_payload=False, timeout=timeout
        )


# --------------------------------------------------------------------------- module helpers


def _json(
    body: dict[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(body, status=status, headers=dict(headers or {}))


async def _parse_args(request: web.Request) -> dict[str, Any]:
    """Merge query string and body (JSON or form) like Slack does; decode JSON-ish fields."""
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = {}
            if isinstance(body, dict):
                args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in ("blocks", "attachments", "metadata"):
        if key in args:
            args[key] = _maybe_json(args[key])
    return args


def _take_token(request: web.Request, args: dict[str, Any]) -> str | None:
    auth = request.headers.get("Authorization", "")
    token = args.pop("token", None)
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :]
    return token


def _ack_delivery(ack: dict[str, Any]) -> Delivery:
    payload = ack.get("payload")
    return Delivery(200, json.dumps(payload) if payload else "", {})


def _ack_body(delivery: Delivery) -> dict[str, Any] | None:
    """An HTTP ack body: JSON object, or plain text (Bolt sends text for ack("...") sometimes)."""
    try:
        parsed = json.loads(delivery.body)
    except ValueError:
        return {"text": delivery.body}
    return parsed if isinstance(parsed, dict) else None


def _validate_blocks(blocks: Any) -> None:
    """Basic Block Kit validation with Slack's error names."""
    if isinstance(blocks, str):
        raise ApiError("invalid_blocks_format")
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        raise _invalid("blocks must be an array of at most 50 blocks")
    action_ids: set[str] = set()
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCK_TYPES:
            raise _invalid(f"invalid block type at /blocks/{i}")
        _validate_block(block, i)
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                raise _invalid(f"duplicate block_id at /blocks/{i}")
            block_ids.add(block_id)
        for element in _elements(block):
            action_id = element.get("action_id")
            if action_id is not None:
                if action_id in action_ids:
                    raise _invalid(f"duplicate action_id {action_id!r} at /blocks/{i}")
                action_ids.add(action_id)


def _validate_block(block: dict[str, Any], i: int) -> None:
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            raise _invalid(f"section needs text or fields at /blocks/{i}")
        if "text" in block:
            _validate_text(block["text"], SECTION_TEXT_MAX, f"/blocks/{i}/text")
    elif kind == "header":
        _validate_text(block.get("text"), HEADER_TEXT_MAX, f"/blocks/{i}/text", plain_only=True)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            raise _invalid(f"actions needs 1-25 elements at /blocks/{i}")
    for j, element in enumerate(_elements(block)):
        if not isinstance(element, dict) or "type" not in element:
            raise _invalid(f"element without type at /blocks/{i}/elements/{j}")
        if element["type"] == "button":
            _validate_text(
                element.get("text"),
                BUTTON_TEXT_MAX,
                f"/blocks/{i}/elements/{j}/text",
                plain_only=True,
            )


def _validate_text(obj: Any, limit: int, where: str, *, plain_only: bool = False) -> None:
    allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    if (
        not isinstance(obj, dict)
        or obj.get("type") not in allowed
        or not isinstance(obj.get("text"), str)
    ):
        raise _invalid(f"invalid text object at {where}")
    if not obj["text"] or len(obj["text"]) > limit:
        raise _invalid(f"text must be 1-{limit} characters at {where}")


def _elements(block: dict[str, Any]) -> list[Any]:
    elements = list(block.get("elements", [])) if block.get("type") == "actions" else []
    if isinstance(block.get("accessory"), dict):
        elements.append(block["accessory"])
    if block.get("type") == "input" and isinstance(block.get("element"), dict):
        elements.append(block["element"])
    return elements


def _invalid(why: str) -> ApiError:
    return ApiError("invalid_blocks", response_metadata={"messages": [f"[ERROR] {why}"]})


def _with_ids(blocks: Any) -> list[dict[str, Any]] | None:
    """Copy blocks the way Slack stores them: every block gets a block_id, every
    interactive element an action_id, when the app did not set one."""
    if not blocks:
        return None
    stored = json.loads(json.dumps(blocks))
    for block in stored:
        block.setdefault("block_id", uuid.uuid4().hex[:4])
        for element in _elements(block):
            if element.get("type") in {
                "button",
                "static_select",
                "overflow",
                "datepicker",
                "users_select",
            }:
                element.setdefault("action_id", uuid.uuid4().hex[:5])
    return stored
