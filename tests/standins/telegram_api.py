"""A loopback stand-in for the Telegram Bot API, for tests.

Why this exists: dutydesk's Telegram adapter must be exercised over real HTTP with a real
aiogram ``Bot``, so that what we test is the wire protocol and not a mock of aiogram. The
stand-in therefore speaks the Bot API's request encodings (multipart form, urlencoded form,
JSON body, query string), answers with the real JSON shapes and error descriptions, and
models the parts of Telegram's behaviour an adapter has to cope with: long polling with
offset confirmation, webhook delivery with retries, flood limits, forum topics, migrated
groups, blocked users and parse-mode validation.

Usage::

    async with TelegramStandIn(token="123:ABC", bot_username="dutydesk_bot") as tg:
        session = AiohttpSession(api=TelegramAPIServer.from_base(tg.api_base))
        bot = Bot("123:ABC", session=session)

Everything runs on the test's event loop; the helper methods that simulate users are plain
synchronous functions so tests read top to bottom, and ``wait_for`` replaces sleeps.
"""

from __future__ import annotations

import asyncio
import copy
import html
import inspect
import itertools
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, MultipartReader, web

JSON = dict[str, Any]

TOPIC_ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
"""The only icon colours createForumTopic accepts (Bot API docs)."""

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
TOPIC_NAME_LIMIT = 128

# Update types Telegram leaves out unless they are asked for explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_CONTENT_KEYS = ("text", "photo", "document", "voice", "audio", "video", "sticker", "location", "contact", "venue",
                 "dice")
_MEDIA_KINDS = ("photo", "document", "voice", "audio", "video")

_MSG_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
_CONFLICT_POLL = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


# --------------------------------------------------------------------------------------
# Errors and records
# --------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API; raised inside handlers, rendered as JSON."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(message: str) -> ApiError:
    """400 with Telegram's ``Bad Request:`` prefix, which every 400 description carries."""
    return ApiError(400, f"Bad Request: {message}")


def _too_many(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


@dataclass
class SentRecord:
    """One accepted, state-changing bot call (one per created message for batch sends)."""

    method: str
    chat_id: int | None
    thread_id: int | None = None
    message_id: int | None = None
    text: str | None = None
    reply_markup: JSON | None = None
    copied_from: tuple[int, int] | None = None
    reply_to: int | None = None
    media: str | None = None
    parse_mode: str | None = None
    entities: list[JSON] = field(default_factory=list)
    message: JSON | None = None
    params: JSON = field(default_factory=dict)
    time: float = 0.0


@dataclass
class RequestRecord:
    """Every call that reached a known method, accepted or not (for dumps and error counts)."""

    method: str
    params: JSON
    status: int
    description: str | None
    time: float
    source: str = "http"


@dataclass
class ThrottleRecord:
    """A 429 the stand-in served, from its limiter (``limit``) or ``fail_next`` (``injected``)."""

    method: str
    chat_id: int | None
    retry_after: int
    time: float
    source: str


@dataclass
class WebhookAttempt:
    """One POST of an update to the webhook; ``status`` is None when the connection failed."""

    update_id: int
    status: int | None
    error: str | None
    time: float


@dataclass(frozen=True)
class RateLimits:
    """Flood limits, enforced over sliding windows of the stand-in's monotonic clock.

    ``count_edits_globally``: edits and createForumTopic never count toward the per-chat
    windows; with this flag (default) they do count toward the global one, as Telegram's
    global flood control is about all outgoing activity.
    """

    global_per_second: int = 30
    private_per_second: int = 1
    group_per_minute: int = 20
    count_edits_globally: bool = True
    # Evenly paced messages do not arrive evenly: between a sender's departure and the
    # limiter's clock they pick up the loop's and the network's jitter (tens of ms on a
    # loaded machine). Telegram's flood control is not kept to the millisecond either, so
    # an arrival up to this many seconds early is forgiven; a sender that ignores the
    # limits is still refused at once.
    jitter: float = 0.1


# --------------------------------------------------------------------------------------
# Text: UTF-16 offsets, parse modes, automatic entities
# --------------------------------------------------------------------------------------


def u16len(text: str) -> int:
    """Length in UTF-16 code units: the unit of every MessageEntity offset and length."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _EntityError(Exception):
    """A parse-mode error; becomes ``Bad Request: can't parse entities: ...``."""


@dataclass
class _Open:
    tag: str
    offset: int
    attrs: dict[str, str] = field(default_factory=dict)
    byte_offset: int = 0
    text_start: int = 0
    language: str | None = None


_HTML_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def _html_attrs(src: str, j: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse attributes up to the closing '>' of a start tag; returns (attrs, index after)."""
    attrs: dict[str, str] = {}
    n = len(src)
    unclosed = f'Unclosed start tag "{tag}" at byte offset {_byte_offset(src, begin)}'
    while True:
        while j < n and src[j].isspace():
            j += 1
        if j >= n:
            raise _EntityError(unclosed)
        if src[j] == ">":
            return attrs, j + 1
        k = j
        while k < n and not src[k].isspace() and src[k] not in "=>":
            k += 1
        name = src[j:k].lower()
        if not name:
            raise _EntityError(f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(src, begin)}')
        while k < n and src[k].isspace():
            k += 1
        if k >= n:
            raise _EntityError(unclosed)
        if src[k] != "=":
            attrs[name] = ""  # boolean attribute, e.g. <blockquote expandable>
            j = k
            continue
        k += 1
        while k < n and src[k].isspace():
            k += 1
        if k >= n:
            raise _EntityError(unclosed)
        if src[k] in "'\"":
            end = src.find(src[k], k + 1)
            if end < 0:
                raise _EntityError(unclosed)
            attrs[name] = html.unescape(src[k + 1 : end])
            j = end + 1
        else:
            e = k
            while e < n and not src[e].isspace() and src[e] != ">":
                e += 1
            attrs[name] = src[k:e]
            j = e


def _html_entity_from(opened: _Open, length: int) -> JSON | None:
    """Turn a closed HTML tag into a MessageEntity (None when the tag yields none)."""
    kind = _HTML_TYPES[opened.tag]
    ent: JSON = {"type": kind, "offset": opened.offset, "length": length}
    if opened.tag == "a":
        href = opened.attrs.get("href")
        if not href:
            return None
        match = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if match:
            user = {"id": int(match.group(1)), "is_bot": False, "first_name": "User"}
            return {"type": "text_mention", "offset": opened.offset, "length": length, "user": user}
        ent["url"] = href
    elif opened.tag == "pre" and opened.language:
        ent["language"] = opened.language
    elif opened.tag == "blockquote" and "expandable" in opened.attrs:
        ent["type"] = "expandable_blockquote"
    elif opened.tag == "tg-emoji":
        ent["custom_emoji_id"] = opened.attrs.get("emoji-id", "")
    return ent


def _close_html_tag(src: str, i: int, stack: list[_Open]) -> tuple[_Open, int]:
    """Handle ``</name>`` starting at ``i``; returns the closed tag and the index after."""
    begin = i
    n = len(src)
    j = i + 2
    while j < n and not src[j].isspace() and src[j] != ">":
        j += 1
    name = src[i + 2 : j].lower()
    while j < n and src[j].isspace():
        j += 1
    where = f"at byte offset {_byte_offset(src, begin)}"
    if not stack:
        raise _EntityError(f"Unexpected end tag {where}")
    if j >= n or src[j] != ">":
        raise _EntityError(f"Unclosed end tag {where}")
    top = stack.pop()
    if name and name != top.tag:
        raise _EntityError(f'Unmatched end tag {where}, expected "</{top.tag}>", found "</{name}>"')
    return top, j + 1


def parse_html(src: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode: returns plain text and entities, or raises _EntityError."""
    out: list[str] = []
    u16 = 0
    stack: list[_Open] = []
    entities: list[JSON] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            m = _HTML_ENTITY.match(src, i)
            piece = html.unescape(m.group(0)) if m else "&"
            out.append(piece)
            u16 += u16len(piece)
            i = m.end() if m else i + 1
            continue
        if c != "<":
            out.append(c)
            u16 += u16len(c)
            i += 1
            continue
        if i + 1 < n and src[i + 1] == "/":
            top, i = _close_html_tag(src, i, stack)
            if top.tag == "code" and stack and stack[-1].tag == "pre":
                lang = top.attrs.get("class", "")
                if lang.startswith("language-"):
                    stack[-1].language = lang[len("language-") :]
                    continue
            if u16 > top.offset and (ent := _html_entity_from(top, u16 - top.offset)):
                entities.append(ent)
            continue
        j = i + 1
        while j < n and not src[j].isspace() and src[j] != ">":
            j += 1
        if j >= n:
            raise _EntityError(f"Unclosed start tag at byte offset {_byte_offset(src, i)}")
        tag = src[i + 1 : j].lower()
        if tag not in _HTML_TYPES:
            raise _EntityError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, i)}')
        attrs, after = _html_attrs(src, j, tag, i)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, i)}')
        stack.append(_Open(tag, u16, attrs))
        i = after
    if stack:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}


def _mdv2_closes(kind: str, src: str, i: int) -> bool:
    """Whether the reserved character at ``i`` closes the innermost open MarkdownV2 entity."""
    c = src[i]
    nxt = src[i + 1 : i + 2]
    return {
        "bold": c == "*",
        "italic": c == "_" and nxt != "_",
        "underline": c == "_" and nxt == "_",
        "strikethrough": c == "~",
        "spoiler": c == "|" and nxt == "|",
        "code": c == "`",
        "pre": src.startswith("```", i),
        "text_link": c == "]",
        "custom_emoji": c == "]",
    }.get(kind, False)


def _mdv2_url(src: str, i: int) -> tuple[str | None, int]:
    """Read ``(url)`` right after a closing ']' at ``i``; returns (url or None, last index)."""
    if src[i + 1 : i + 2] != "(":
        return None, i
    j = i + 2
    start = j
    url: list[str] = []
    while j < len(src) and src[j] != ")":
        if src[j] == "\\" and j + 1 < len(src) and ord(src[j + 1]) <= 126:
            url.append(src[j + 1])
            j += 2
            continue
        url.append(src[j])
        j += 1
    if j >= len(src):
        raise _EntityError(f"Can't find end of a URL at byte offset {_byte_offset(src, start)}")
    return "".join(url), j


class _MarkdownV2:
    """Telegram's MarkdownV2 parse mode (without expandable block quotations)."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.out: list[str] = []
        self.u16 = 0
        self.stack: list[_Open] = []
        self.entities: list[JSON] = []
        self.quote: _Open | None = None

    def emit(self, piece: str) -> None:
        self.out.append(piece)
        self.u16 += u16len(piece)

    def parse(self) -> tuple[str, list[JSON]]:
        src, i = self.src, 0
        while i < len(src):
            i = self.step(i) + 1
        self.end_quote()
        if self.stack:
            top = self.stack[-1]
            raise _EntityError(f"Can't find end of {_MDV2_NAMES[top.tag]} entity at byte offset {top.byte_offset}")
        return "".join(self.out), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))

    def in_code(self) -> bool:
        return bool(self.stack) and self.stack[-1].tag in ("code", "pre")

    def end_quote(self) -> None:
        if self.quote is not None:
            if self.u16 > self.quote.offset:
                self.entities.append(
                    {
                        "type": "blockquote",
                        "offset": self.quote.offset,
                        "length": self.u16 - self.quote.offset,
                    }
                )
            self.quote = None

    def step(self, i: int) -> int:
        """Consume the character(s) at ``i``; returns the index of the last one consumed."""
        src = self.src
        c = src[i]
        if c == "\\" and i + 1 < len(src) and 0 < ord(src[i + 1]) <= 126:
            self.emit(src[i + 1])
            return i + 1
        at_line_start = i == 0 or src[i - 1] == "\n"
        if c == ">" and at_line_start and not self.in_code():
            if self.quote is None:
                self.quote = _Open("blockquote", self.u16)
            return i
        if c == "\n" and self.quote is not None and not src.startswith(">", i + 1):
            self.end_quote()
        reserved = "`" if self.in_code() else _MDV2_RESERVED
        if c not in reserved:
            self.emit(c)
            return i
        if self.stack and _mdv2_closes(self.stack[-1].tag, src, i):
            return self.close(i)
        return self.open(i)

    def open(self, i: int) -> int:
        src = self.src
        c = src[i]
        byte_offset = _byte_offset(src, i)
        nxt = src[i + 1 : i + 2]
        kinds = {"*": "bold", "~": "strikethrough", "[": "text_link"}
        if c in kinds:
            kind = kinds[c]
        elif c == "_":
            kind = "underline" if nxt == "_" else "italic"
            i += 1 if nxt == "_" else 0
        elif c == "|" and nxt == "|":
            kind, i = "spoiler", i + 1
        elif c == "!" and nxt == "[":
            kind, i = "custom_emoji", i + 1
        elif c == "`" and src.startswith("```", i):
            return self.open_pre(i, byte_offset)
        elif c == "`":
            kind = "code"
        else:
            raise _EntityError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        self.stack.append(_Open(kind, self.u16, byte_offset=byte_offset, text_start=len(self.out)))
        return i

    def open_pre(self, i: int, byte_offset: int) -> int:
        """```lang\n opens a pre block; a language is a word directly after the backticks."""
        src, j = self.src, i + 3
        k = j
        while k < len(src) and not src[k].isspace() and src[k] != "`":
            k += 1
        language = None
        if k != j and k < len(src) and src[k] != "`":
            language, j = src[j:k], k
        if j < len(src) and src[j] in "\r\n":
            j += 1
        self.stack.append(_Open("pre", self.u16, byte_offset=byte_offset, language=language))
        return j - 1

    def close(self, i: int) -> int:
        top = self.stack.pop()
        ent: JSON = {"type": top.tag, "offset": top.offset, "length": self.u16 - top.offset}
        if top.tag == "pre":
            i += 2
            if top.language:
                ent["language"] = top.language
        elif top.tag in ("underline", "spoiler"):
            i += 1
        elif top.tag in ("text_link", "custom_emoji"):
            url, i = _mdv2_url(self.src, i)
            if top.tag == "custom_emoji":
                ent["custom_emoji_id"] = (url or "").rpartition("id=")[2]
            else:  # [text] without (url) links to the text itself
                ent["url"] = url if url is not None else "".join(self.out[top.text_start :])
        if ent["length"] > 0:
            self.entities.append(ent)
        return i


def parse_markdown_v2(src: str) -> tuple[str, list[JSON]]:
    """Telegram's MarkdownV2 parse mode."""
    return _MarkdownV2(src).parse()


def parse_markdown(src: str) -> tuple[str, list[JSON]]:
    """Telegram's legacy Markdown parse mode: *bold* _italic_ `code` ```pre``` [text](url)."""
    out: list[str] = []
    u16 = 0
    entities: list[JSON] = []
    i, n = 0, len(src)
    kinds = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.append(src[i + 1])
            u16 += 1
            i += 2
            continue
        if c not in kinds:
            out.append(c)
            u16 += u16len(c)
            i += 1
            continue
        begin, kind, end_char = i, kinds[c], "]" if c == "[" else c
        ent: JSON = {}
        if src.startswith("```", i):
            kind, end_char, i = "pre", "```", i + 3
            nl = src.find("\n", i)
            if nl >= 0 and src[i:nl].strip() and " " not in src[i:nl].strip():
                ent["language"] = src[i:nl].strip()
                i = nl + 1
        else:
            i += 1
        end = src.find(end_char, i)
        if end < 0:
            raise _EntityError(f"Can't find end of the entity starting at byte offset {_byte_offset(src, begin)}")
        inner = src[i:end]
        start = u16
        out.append(inner)
        u16 += u16len(inner)
        i = end + len(end_char)
        if kind == "text_link":
            url, last = _mdv2_url(src, end)
            if url is None:
                continue
            ent["url"] = url
            i = last + 1
        if u16 > start:
            entities.append({"type": kind, "offset": start, "length": u16 - start, **ent})
    return "".join(out), entities


_PARSERS: dict[str, Callable[[str], tuple[str, list[JSON]]]] = {
    "html": parse_html,
    "markdownv2": parse_markdown_v2,
    "markdown": parse_markdown,
}

_AUTO_PATTERNS = (
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]'}]")),
    ("email", re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
)


def detect_entities(text: str) -> list[JSON]:
    """Entities Telegram's servers detect by themselves (commands, mentions, URLs, ...)."""
    found: list[JSON] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_PATTERNS:
        for m in pattern.finditer(text):
            start, end = u16len(text[: m.start()]), u16len(text[: m.end()])
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return sorted(found, key=lambda e: e["offset"])


def merge_entities(explicit: list[JSON], detected: list[JSON]) -> list[JSON]:
    """Add detected entities that don't overlap explicit ones, as Telegram does."""
    spans = [(e["offset"], e["offset"] + e["length"]) for e in explicit]
    extra = [d for d in detected if not any(d["offset"] < b and a < d["offset"] + d["length"] for a, b in spans)]
    return sorted(explicit + extra, key=lambda e: (e["offset"], -e["length"]))


def strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Trim surrounding whitespace and shift/clip entities, as Telegram does before sending."""
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    shift, total = u16len(text[:lead]), u16len(stripped)
    result = []
    for ent in entities:
        start = max(ent["offset"] - shift, 0)
        end = min(ent["offset"] + ent["length"] - shift, total)
        if end > start:
            result.append({**ent, "offset": start, "length": end - start})
    return stripped, result


# --------------------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------------------


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str | None
    data: bytes


_JSON_ERRORS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
    "media": "can't parse media JSON object",
}


class Params:
    """Typed access to request parameters, whichever encoding they arrived in.

    Form and query values are strings; JSON bodies carry real types. Complex parameters
    (reply_markup, entities, ...) arrive as JSON-encoded strings in forms, so they are only
    decoded when a handler asks for them, never guessed - a text "123" must stay a string.
    """

    def __init__(self, raw: JSON, files: dict[str, Upload] | None = None) -> None:
        self.raw = raw
        self.files = files or {}

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def get_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None or isinstance(value, Upload):
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _bad(f"invalid {name} specified")
        try:
            return int(value)
        except ValueError:
            raise _bad(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    def get_json(self, name: str) -> Any:
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(_JSON_ERRORS.get(name, f"can't parse {name} JSON object")) from None

    def file(self, name: str) -> Upload | str | None:
        """A file parameter: an Upload, or a string (file_id, URL); resolves attach://."""
        value = self.raw.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = self.files.get(value[len("attach://") :])
            if upload is None:
                raise _bad(f"file {value} not found in the request")
            return upload
        return value if isinstance(value, Upload | str) else None

    def public(self) -> JSON:
        """Parameters as recorded: uploads described, JSON strings decoded where possible."""
        result: JSON = {}
        for key, value in self.raw.items():
            if isinstance(value, Upload):
                result[key] = f"<upload {value.filename}>"
            elif isinstance(value, str) and value[:1] in "[{":
                try:
                    result[key] = json.loads(value)
                except ValueError:
                    result[key] = value
            else:
                result[key] = value
        return result


async def read_request_params(request: web.Request) -> Params:
    """Merge query string and body (JSON, urlencoded or multipart) into Params."""
    raw: JSON = dict(request.query)
    files: dict[str, Upload] = {}
    ctype = request.content_type
    if request.can_read_body and ctype == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad("can't parse JSON request body") from None
        if isinstance(body, dict):
            raw.update(body)
    elif request.can_read_body and ctype in (
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                upload = Upload(value.filename, value.content_type, value.file.read())
                files[key] = upload
                raw[key] = upload
            else:
                raw[key] = value
    return Params(raw, files)


async def read_webhook_reply(resp: Any) -> tuple[str, Params] | None:
    """A method call returned in a webhook response body (JSON or multipart), if any."""
    try:
        if resp.content_type == "application/json":
            body = await resp.json()
            if isinstance(body, dict) and isinstance(body.get("method"), str):
                method = body.pop("method")
                return method, Params(body)
            return None
        if resp.content_type != "multipart/form-data":
            return None
        raw: JSON = {}
        files: dict[str, Upload] = {}
        reader = MultipartReader.from_response(resp)
        async for part in reader:
            if part is None or not hasattr(part, "read") or part.name is None:
                continue
            data = await part.read()
            if part.filename:
                files[part.name] = raw[part.name] = Upload(part.filename, None, bytes(data))
            else:
                raw[part.name] = bytes(data).decode()
        method = raw.pop("method", None)
        return (method, Params(raw, files)) if isinstance(method, str) else None
    except (ClientError, ValueError):
        return None


# --------------------------------------------------------------------------------------
# World model
# --------------------------------------------------------------------------------------


@dataclass
class _User:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    last_name: str | None = None

    def as_json(self, language_code: str | None = None) -> JSON:
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        lang = language_code or self.language_code
        if lang:
            data["language_code"] = lang
        return data


@dataclass
class _Topic:
    thread_id: int
    name: str
    icon_color: int
    creator_id: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False

    def as_json(self) -> JSON:
        data: JSON = {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data


@dataclass
class _Chat:
    id: int
    type: str  # "private" | "group" | "supergroup"
    title: str | None = None
    username: str | None = None
    user_id: int | None = None
    is_forum: bool = False
    bot_is_admin: bool = False
    can_manage_topics: bool = False
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    migrated_to: int | None = None
    messages: dict[int, JSON] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    next_message_id: int = 1
    topics: dict[int, _Topic] = field(default_factory=dict)
    chat_instance: str = ""

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    content: bytes
    file_path: str
    meta: JSON = field(default_factory=dict)
    photo_sizes: list[JSON] | None = None

    def descriptor(self) -> JSON:
        """The JSON object (Document, Voice, ...) a message carries for this file."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            **self.meta,
            "file_size": len(self.content),
        }


@dataclass
class _Fault:
    method: str
    chat_id: int | None
    remaining: int
    error: ApiError
    skip: int = 0  # matching calls let through before the failures start


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


class _Window:
    """Sliding-window counter: at most ``limit`` events per ``period`` seconds.

    A batch bigger than the limit is let through when the window is empty, so a media
    group can always be sent to a private chat, then blocks until it has aged out.
    """

    def __init__(self, limit: int, period: float, jitter: float = 0.0) -> None:
        self.limit = limit
        self.period = period
        self.jitter = jitter
        self.stamps: deque[float] = deque()

    def wait(self, now: float, n: int) -> float:
        while self.stamps and self.stamps[0] <= now - self.period + self.jitter:
            self.stamps.popleft()
        count = len(self.stamps)
        if count == 0 or count + n <= self.limit:
            return 0.0
        must_expire = min(count, count + n - self.limit)
        return self.stamps[must_expire - 1] + self.period - self.jitter - now

    def add(self, now: float, n: int) -> None:
        self.stamps.extend([now] * n)


# --------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------

_METHODS = (
    "getMe logOut close getUpdates setWebhook deleteWebhook getWebhookInfo sendMessage "
    "copyMessage copyMessages forwardMessage sendPhoto sendDocument sendVoice sendAudio "
    "sendVideo sendMediaGroup sendChatAction editMessageText editMessageReplyMarkup "
    "deleteMessage deleteMessages answerCallbackQuery setMyCommands getMyCommands "
    "deleteMyCommands getChat getChatMember getChatAdministrators createForumTopic "
    "editForumTopic closeForumTopic reopenForumTopic deleteForumTopic getFile"
).split()
_SEND_MEDIA = {
    "sendphoto": "photo",
    "senddocument": "document",
    "sendvoice": "voice",
    "sendaudio": "audio",
    "sendvideo": "video",
}
_FILE_PREFIX = {
    "photo": "AgACAgIAAxk",
    "document": "BQACAgIAAxk",
    "voice": "AwACAgIAAxk",
    "audio": "CQACAgIAAxk",
    "video": "BAACAgIAAxk",
}
_FILE_EXT = {"photo": "jpg", "voice": "oga", "audio": "mp3", "video": "mp4"}
_MIME = {"voice": "audio/ogg", "audio": "audio/mpeg", "video": "video/mp4"}


class TelegramStandIn:
    """Loopback Bot API server plus a scriptable world of users, chats and topics.

    ``limits=None`` turns flood control off; ``clock`` drives the flood windows (inject a
    fake one to cross a window without sleeping); ``wall_clock`` gives message dates.
    """

    def __init__(
        self,
        token: str = "123:ABC",
        bot_username: str = "dutydesk_bot",
        *,
        bot_name: str = "DutyDesk",
        limits: RateLimits | None = RateLimits(),
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        privacy_mode: bool = True,
        webhook_backoff: tuple[float, float] = (0.05, 1.0),
        webhook_timeout: float = 10.0,
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.limits = limits
        self.clock = clock
        self.wall_clock = wall_clock
        self.privacy_mode = privacy_mode
        self.webhook_backoff = webhook_backoff
        self.webhook_timeout = webhook_timeout

        self.sent: list[SentRecord] = []
        self.requests: list[RequestRecord] = []
        self.throttled: list[ThrottleRecord] = []
        self.answered_callbacks: list[JSON] = []
        self.webhook_attempts: list[WebhookAttempt] = []
        self.updates_log: list[JSON] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}

        self._users: dict[int, _User] = {}
        self._chats: dict[int, _Chat] = {}
        self._blocked: set[int] = set()
        self._files: dict[str, _StoredFile] = {}
        self._file_paths: dict[str, _StoredFile] = {}
        self._callbacks: dict[str, JSON] = {}
        self._faults: list[_Fault] = []
        self._hooks: dict[str, list[Callable[[Params], Any]]] = {}
        self._windows: dict[tuple[str, int], _Window] = {}
        self._pending: list[JSON] = []
        self._allowed_updates: frozenset[str] | None = None
        self._webhook: _Webhook | None = None
        self._deliver_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(first_update_id)
        self._poll_generation = 0
        self._polls_waiting = 0
        self._closing = False
        self._changed = asyncio.Event()

        self._handlers = {name.lower(): (name, self._handler(name)) for name in _METHODS}
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        self.app.router.add_route("*", "/file/bot{token}/{path:.+}", self._handle_file)
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None
        self.port: int | None = None

    def _handler(self, name: str) -> Callable[[Params], Any]:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        return getattr(self, f"_m_{snake}")

    # ---- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> TelegramStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Serve on 127.0.0.1 with an ephemeral port."""
        self._changed = asyncio.Event()
        self._http = ClientSession()
        self._runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release long polls, stop webhook delivery, shut the server down."""
        self._closing = True
        self._bump()
        self._stop_delivery()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        """Base URL for aiogram's ``TelegramAPIServer.from_base``."""
        return f"http://127.0.0.1:{self.port}"

    # ---- state change notification ----------------------------------------------------

    def _bump(self) -> None:
        """Wake everyone waiting for a state change (long polls, webhook loop, wait_for).

        An Event swapped on every change works like Condition.notify_all but can be fired
        from synchronous helpers, which cannot take a Condition's lock.
        """
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _wait_change(self, limit: float | None) -> None:
        """Sleep until the next state change, or ``limit`` seconds (None: no limit)."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), limit)
        except TimeoutError:
            pass

    async def wait_for(
        self,
        predicate: Callable[[TelegramStandIn], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is this helper's contract
    ) -> Any:
        """Return predicate's truthy value once it holds; re-checked on every state change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"wait_for timed out after {timeout}s\n{self.dump()}")
            await self._wait_change(remaining)

    async def wait_idle_updates(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until every queued update is confirmed (getUpdates offset) or delivered (2xx).

        Confirmed is not the same as handled: aiogram confirms a batch on its next poll.
        """
        await self.wait_for(lambda tg: not tg._pending, timeout)

    @property
    def polls_waiting(self) -> int:
        """Long-poll getUpdates requests currently blocked waiting for updates."""
        return self._polls_waiting

    @property
    def pending_updates(self) -> list[JSON]:
        return copy.deepcopy(self._pending)

    def dump(self) -> str:
        """A readable summary of recent traffic, for assertion messages."""
        lines = ["-- last requests:"]
        lines += [f"   {r.method} -> {r.status} {r.description or ''} {r.params}" for r in self.requests[-15:]]
        lines.append("-- last sent:")
        lines += [
            f"   {s.method} chat={s.chat_id} thread={s.thread_id} id={s.message_id} text={s.text!r}"
            for s in self.sent[-10:]
        ]
        lines.append(f"-- pending updates: {[u['update_id'] for u in self._pending]}")
        lines.append(f"-- webhook: {self._webhook}")
        return "\n".join(lines)

    # ---- HTTP -------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        entry = self._handlers.get(request.match_info["method"].lower())
        if entry is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        try:
            params = await read_request_params(request)
        except ApiError as err:
            return web.json_response(err.payload(), status=err.code)
        status, payload = await self.call(entry[0], params)
        return web.json_response(payload, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        stored = self._file_paths.get(request.match_info["path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        ctype = stored.meta.get("mime_type") or "application/octet-stream"
        return web.Response(body=stored.content, content_type=ctype)

    async def call(self, method: str, params: Params, source: str = "http") -> tuple[int, JSON]:
        """Run one API method as if it arrived over HTTP; returns (status, JSON body)."""
        name, handler = self._handlers[method.lower()]
        status, payload = 200, {"ok": True}
        try:
            for hook in list(self._hooks.get(name.lower(), ())):
                held = hook(params)
                if inspect.isawaitable(held):
                    await held
            self._inject_fault(name, params)
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, tuple):
                result, payload["description"] = result
            payload["result"] = result
        except ApiError as err:
            status, payload = err.code, err.payload()
        description = payload.get("description") if status != 200 else None
        self.requests.append(RequestRecord(name, params.public(), status, description, self.clock(), source))
        self._bump()
        return status, payload

    # ---- fault injection and flood control --------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        times: int = 1,
        error_code: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        after: int = 0,
    ) -> None:
        """Make ``times`` calls of ``method`` (to ``chat_id``, if given) fail, once ``after``
        such calls have gone through."""
        defaults = {
            400: "Bad Request: injected failure",
            401: "Unauthorized",
            403: "Forbidden: injected failure",
            404: "Not Found",
            409: "Conflict: injected failure",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        if error_code == 429:
            error = _too_many(retry_after)
            if description:
                error.description = description
        else:
            error = ApiError(error_code, description or defaults.get(error_code, "Error"))
        self._faults.append(_Fault(method.lower(), chat_id, times, error, after))

    def before(self, method: str, hook: Callable[[Params], Any]) -> Callable[[], None]:
        """Run ``hook(params)`` (awaited if it is a coroutine) before each call of ``method``
        is handled: a test can hold a request in flight. Returns a function removing it."""
        hooks = self._hooks.setdefault(method.lower(), [])
        hooks.append(hook)
        return lambda: hooks.remove(hook)

    def _inject_fault(self, method: str, params: Params) -> None:
        for fault in self._faults:
            if fault.method != method.lower() or fault.remaining <= 0:
                continue
            if fault.chat_id is not None and self._loose_chat_id(params) != fault.chat_id:
                continue
            if fault.skip:
                fault.skip -= 1
                return
            fault.remaining -= 1
            self._faults = [f for f in self._faults if f.remaining > 0]
            if fault.error.code == 429:
                retry = fault.error.parameters["retry_after"] if fault.error.parameters else 1
                self.throttled.append(ThrottleRecord(method, fault.chat_id, retry, self.clock(), "injected"))
            raise ApiError(fault.error.code, fault.error.description, fault.error.parameters)

    def _loose_chat_id(self, params: Params) -> int | None:
        try:
            return self._resolve_chat_id(params.raw.get("chat_id"))
        except ApiError:
            return None

    def _windows_for(self, chat: _Chat | None) -> list[_Window]:
        assert self.limits is not None
        limits = self.limits
        windows = [self._windows.setdefault(("global", 0), _Window(limits.global_per_second, 1, limits.jitter))]
        if chat is not None and chat.type == "private":
            key, limit, period = ("private", chat.id), limits.private_per_second, 1.0
        elif chat is not None:
            key, limit, period = ("group", chat.id), limits.group_per_minute, 60.0
        else:
            return windows
        windows.append(self._windows.setdefault(key, _Window(limit, period, limits.jitter)))
        return windows

    def _throttle(self, method: str, chat: _Chat | None, n: int, *, per_chat: bool = True) -> None:
        """Raise 429 if sending ``n`` messages now would exceed a window; else count them."""
        if self.limits is None or n <= 0:
            return
        if not per_chat and not self.limits.count_edits_globally:
            return
        now = self.clock()
        windows = self._windows_for(chat if per_chat else None)
        wait = max(w.wait(now, n) for w in windows)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            self.throttled.append(ThrottleRecord(method, chat.id if chat else None, retry, now, "limit"))
            raise _too_many(retry)
        for window in windows:
            window.add(now, n)

    @property
    def count_429(self) -> int:
        """How many 429 answers were served (limiter and injected)."""
        return len(self.throttled)

    # ---- world: setup helpers ---------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        language_code: str | None = None,
        *,
        last_name: str | None = None,
    ) -> JSON:
        """Register a Telegram user; returns its User JSON."""
        self._users[user_id] = _User(user_id, first_name, username, language_code, last_name)
        return self._users[user_id].as_json()

    def add_private_chat(self, user_id: int) -> JSON:
        """The user has started the bot, so the bot may write to them."""
        self._user(user_id)  # the user must exist
        chat = self._chats.get(user_id)
        if chat is None:
            chat = _Chat(user_id, "private", user_id=user_id, members={user_id})
            chat.chat_instance = str(next(self._ids) * 7919 + 10**15)
            self._chats[user_id] = chat
        return self._chat_short(chat)

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        forum: bool = False,
        supergroup: bool = True,
        bot_is_admin: bool = True,
        can_manage_topics: bool = True,
        members: Iterable[int] = (),
        admins: Iterable[int] = (),
        username: str | None = None,
    ) -> JSON:
        """A group the bot is in; ``forum`` needs ``supergroup``; admins are users."""
        if forum and not supergroup:
            raise ValueError("only supergroups can be forums")
        chat = _Chat(
            chat_id,
            "supergroup" if supergroup else "group",
            title=title,
            username=username,
            is_forum=forum,
            bot_is_admin=bot_is_admin,
            can_manage_topics=bot_is_admin and can_manage_topics,
            members=set(members) | set(admins),
            admins=set(admins),
        )
        chat.chat_instance = str(next(self._ids) * 7919 + 10**15)
        self._chats[chat_id] = chat
        return self._chat_short(chat)

    def block_user(self, user_id: int) -> None:
        """The user blocked the bot: sends fail with 403; a my_chat_member update is queued."""
        self._blocked.add(user_id)
        if user_id in self._chats:
            self._member_update(user_id, "member", "kicked")

    def unblock_user(self, user_id: int) -> None:
        self._blocked.discard(user_id)
        if user_id in self._chats:
            self._member_update(user_id, "kicked", "member")

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """As if an admin deleted the topic: it and its messages are gone, no update sent."""
        chat = self._chat(chat_id)
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise ValueError(f"no topic {thread_id} in chat {chat_id}")
        self._delete_topic(chat, topic)
        self._bump()

    def create_topic(self, chat_id: int, name: str, *, by_user_id: int, icon_color: int = TOPIC_ICON_COLORS[0]) -> int:
        """A user creates a topic; the bot gets the forum_topic_created service message."""
        chat = self._chat(chat_id)
        if not chat.is_forum:
            raise ValueError(f"chat {chat_id} is not a forum")
        user = self._user(by_user_id)
        chat.members.add(by_user_id)
        msg = self._create_topic(chat, name, icon_color, None, user.as_json(), by_user_id)
        self._enqueue("message", msg)
        return msg["message_thread_id"]

    def migrate_group(self, old_chat_id: int, new_chat_id: int, *, by_user_id: int | None = None) -> None:
        """Upgrade a basic group to a supergroup, with both real service messages."""
        old = self._chat(old_chat_id)
        if old.type != "group" or old.migrated_to is not None:
            raise ValueError(f"chat {old_chat_id} is not a basic group")
        if new_chat_id in self._chats:
            raise ValueError(f"chat {new_chat_id} already exists")
        new = copy.deepcopy(old)
        new.id, new.type, new.messages, new.deleted, new.next_message_id = (
            new_chat_id,
            "supergroup",
            {},
            set(),
            1,
        )
        new.chat_instance = str(next(self._ids) * 7919 + 10**15)
        self._chats[new_chat_id] = new
        actor = by_user_id if by_user_id is not None else next(iter(sorted(old.members)), None)
        sender = self._users[actor].as_json() if actor in self._users else None
        first = self._store(old, self._base_message(old, sender) | {"migrate_to_chat_id": new_chat_id})
        old.migrated_to = new_chat_id
        second = self._store(new, self._base_message(new, sender) | {"migrate_from_chat_id": old_chat_id})
        self._enqueue("message", first)
        self._enqueue("message", second)

    # ---- world: simulated users -------------------------------------------------------

    def user_sends(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
        photo: bool = False,
        document: str | None = None,
        voice: bool = False,
        media_group_id: str | None = None,
        caption: str | None = None,
        entities: list[JSON] | None = None,
        language_code: str | None = None,
        file_bytes: bytes | None = None,
    ) -> JSON:
        """A user posts a message; queues a ``message`` update and returns the Message."""
        user = self._user(user_id)
        chat = self._user_chat(user_id, chat_id)
        replied = None
        if reply_to is not None:
            replied = self._live_message(chat, reply_to)
            if replied is None:
                raise ValueError(f"no message {reply_to} in chat {chat.id}")
        try:
            thread = self._resolve_thread(chat, thread_id, replied, by_bot=False)
        except ApiError as err:
            raise ValueError(err.description) from None
        body = self._user_body(text, photo, document, voice, caption, entities, file_bytes)
        msg = self._new_message(chat, user.as_json(language_code), body, thread, replied, media_group_id=media_group_id)
        if self._bot_sees(chat, msg):
            self._enqueue("message", msg)
        return copy.deepcopy(msg)

    def user_sends_content(
        self, user_id: int, content: JSON, *, chat_id: int | None = None, thread_id: int | None = None,
    ) -> JSON:
        """A user posts a message of another kind — a sticker, a location, a poll, a contact,
        dice… — given as the Message fields the Bot API names them (``{"location": {...}}``)."""
        user = self._user(user_id)
        chat = self._user_chat(user_id, chat_id)
        try:
            thread = self._resolve_thread(chat, thread_id, None, by_bot=False)
        except ApiError as err:
            raise ValueError(err.description) from None
        msg = self._new_message(chat, user.as_json(), copy.deepcopy(content), thread, None)
        if self._bot_sees(chat, msg):
            self._enqueue("message", msg)
        return copy.deepcopy(msg)

    def queue_raw_update(self, kind: str, payload: JSON) -> int:
        """Queue an update exactly as given (however malformed); returns its update_id."""
        self._enqueue(kind, payload)
        return int(self._pending[-1]["update_id"])

    def anonymous_admin_sends(self, chat_id: int, text: str, *, thread_id: int | None = None) -> JSON:
        """A group admin posts with "Remain anonymous" on: Telegram shows the placeholder
        user @GroupAnonymousBot as `from` and the group itself as `sender_chat`."""
        chat = self._chat(chat_id)
        try:
            thread = self._resolve_thread(chat, thread_id, None, by_bot=False)
        except ApiError as err:
            raise ValueError(err.description) from None
        placeholder = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
        body = self._user_body(text, False, None, False, None, None, None)
        msg = self._new_message(chat, placeholder, body, thread, None)
        msg["sender_chat"] = self._chat_short(chat)
        if self._bot_sees(chat, msg):
            self._enqueue("message", msg)
        return copy.deepcopy(msg)

    def user_command(self, user_id: int, command: str, chat_id: int | None = None, **kwargs: Any) -> JSON:
        """A user sends a command such as ``/start`` or ``/start@bot payload``."""
        if not command.startswith("/"):
            raise ValueError("commands start with '/'")
        return self.user_sends(user_id, command, chat_id=chat_id, **kwargs)

    def user_edits(self, chat_id: int, message_id: int, new_text: str) -> JSON:
        """A user edits their text (or caption); queues an ``edited_message`` update."""
        chat = self._chat(chat_id)
        msg = self._live_message(chat, message_id)
        if msg is None or msg.get("from", {}).get("is_bot", True):
            raise ValueError(f"no user message {message_id} in chat {chat_id}")
        key = "text" if "text" in msg else "caption"
        msg[key] = new_text
        ents = detect_entities(new_text)
        msg.pop("entities" if key == "text" else "caption_entities", None)
        if ents:
            msg["entities" if key == "text" else "caption_entities"] = ents
        msg["edit_date"] = self._now()
        self._enqueue("edited_message", msg)
        return copy.deepcopy(msg)

    def user_presses(self, user_id: int, chat_id: int, message_id: int, callback_data: str) -> str:
        """A user presses an inline button; queues a ``callback_query``; returns its id."""
        user = self._user(user_id)
        chat = self._chat(chat_id)
        msg = self._live_message(chat, message_id)
        if msg is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        rows = (msg.get("reply_markup") or {}).get("inline_keyboard", [])
        if not any(b.get("callback_data") == callback_data for row in rows for b in row):
            raise ValueError(f"message {message_id} has no button with data {callback_data!r}")
        if chat.is_group:
            chat.members.add(user_id)
        query_id = str(4_000_000_000_000_000 + next(self._ids))
        query = {
            "id": query_id,
            "from": user.as_json(),
            "message": copy.deepcopy(msg),
            "chat_instance": chat.chat_instance,
            "data": callback_data,
        }
        self._callbacks[query_id] = {"query": query, "answered": False}
        self._enqueue("callback_query", query)
        return query_id

    # ---- world: observation -----------------------------------------------------------

    def messages_in(
        self,
        chat_id: int,
        thread_id: int | None = None,
        *,
        include_service: bool = False,
        from_bot: bool | None = None,
    ) -> list[JSON]:
        """Live messages of a chat (optionally one topic), oldest first, as Message JSON."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        result = []
        for mid in sorted(chat.messages):
            msg = chat.messages[mid]
            if mid in chat.deleted or (thread_id is not None and msg.get("message_thread_id") != thread_id):
                continue
            if not include_service and not any(k in msg for k in _CONTENT_KEYS):
                continue
            if from_bot is not None and msg.get("from", {}).get("is_bot", False) != from_bot:
                continue
            result.append(copy.deepcopy(msg))
        return result

    def topics(self, chat_id: int, *, include_deleted: bool = False) -> list[JSON]:
        """Forum topics of a chat with their state (is_closed, is_deleted)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            t.as_json() | {"is_closed": t.closed, "is_deleted": t.deleted}
            for t in chat.topics.values()
            if include_deleted or not t.deleted
        ]

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON] | None:
        """The commands set for exactly this scope and language (None if never set)."""
        key = (self._scope_key(scope or {"type": "default"}), language_code)
        return copy.deepcopy(self.commands.get(key))

    def file_content(self, file_id: str) -> bytes:
        return self._files[file_id].content

    # ---- world internals --------------------------------------------------------------

    def _now(self) -> int:
        return int(self.wall_clock())

    def _user(self, user_id: int) -> _User:
        try:
            return self._users[user_id]
        except KeyError:
            raise ValueError(f"unknown user {user_id}; call add_user first") from None

    def _chat(self, chat_id: int) -> _Chat:
        try:
            return self._chats[chat_id]
        except KeyError:
            raise ValueError(f"unknown chat {chat_id}") from None

    def _user_chat(self, user_id: int, chat_id: int | None) -> _Chat:
        if chat_id is None or chat_id == user_id:
            if user_id in self._blocked:
                self.unblock_user(user_id)  # writing to the bot again unblocks it
            self.add_private_chat(user_id)
            return self._chats[user_id]
        chat = self._chat(chat_id)
        if chat.type == "private":
            raise ValueError(f"chat {chat_id} is another user's private chat")
        if chat.migrated_to is not None:
            raise ValueError(f"chat {chat_id} was migrated to {chat.migrated_to}")
        chat.members.add(user_id)
        return chat

    def _bot_json(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def _chat_short(self, chat: _Chat) -> JSON:
        if chat.type == "private":
            user = self._users[chat.user_id or chat.id].as_json()
            data = {k: user[k] for k in ("first_name", "last_name", "username") if k in user}
            return {"id": chat.id, "type": "private", **data}
        data = {"id": chat.id, "type": chat.type, "title": chat.title}
        if chat.username:
            data["username"] = chat.username
        if chat.is_forum:
            data["is_forum"] = True
        return data

    def _live_message(self, chat: _Chat, message_id: int) -> JSON | None:
        return None if message_id in chat.deleted else chat.messages.get(message_id)

    def _base_message(self, chat: _Chat, sender: JSON | None) -> JSON:
        msg: JSON = {"message_id": chat.next_message_id}
        chat.next_message_id += 1
        if sender is not None:
            msg["from"] = sender
        msg["chat"] = self._chat_short(chat)
        msg["date"] = self._now()
        return msg

    def _store(self, chat: _Chat, msg: JSON) -> JSON:
        chat.messages[msg["message_id"]] = msg
        return msg

    def _new_message(
        self,
        chat: _Chat,
        sender: JSON | None,
        body: JSON,
        thread_id: int | None,
        replied: JSON | None,
        *,
        markup: JSON | None = None,
        media_group_id: str | None = None,
    ) -> JSON:
        """Create and store a message the way Telegram shapes it.

        In forum topics a message that replies to nothing carries the topic's creation
        message as ``reply_to_message`` - a real quirk adapters must not mistake for a reply.
        """
        msg = self._base_message(chat, sender)
        if thread_id is not None:
            msg["message_thread_id"] = thread_id
            if chat.is_forum:
                msg["is_topic_message"] = True
        if replied is None and chat.is_forum and thread_id is not None:
            replied = chat.messages.get(thread_id)
        if replied is not None:
            msg["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        if media_group_id:
            msg["media_group_id"] = media_group_id
        msg.update(copy.deepcopy(body))
        if markup and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        return self._store(chat, msg)

    def _resolve_thread(self, chat: _Chat, thread_id: int | None, replied: JSON | None, *, by_bot: bool) -> int | None:
        """Which thread a new message lands in; raises 'message thread not found'."""
        if chat.is_forum:
            if thread_id is None and replied is not None and replied.get("is_topic_message"):
                thread_id = replied.get("message_thread_id")
            if thread_id is None:
                return None
            topic = chat.topics.get(thread_id)
            if topic is None or topic.deleted:
                raise _bad("message thread not found")
            if topic.closed and not (by_bot and chat.can_manage_topics):
                raise _bad("TOPIC_CLOSED")
            return thread_id
        if chat.type == "supergroup":
            if thread_id is not None:
                if self._live_message(chat, thread_id) is None:
                    raise _bad("message thread not found")
                return thread_id
            if replied is not None:
                return replied.get("message_thread_id") or replied["message_id"]
            return None
        if thread_id is not None:
            raise _bad("message thread not found")
        return None

    def _user_body(
        self,
        text: str | None,
        photo: bool,
        document: str | None,
        voice: bool,
        caption: str | None,
        entities: list[JSON] | None,
        file_bytes: bytes | None,
    ) -> JSON:
        kind = "photo" if photo else "document" if document else "voice" if voice else None
        if kind is None:
            if not text:
                raise ValueError("a user message needs text or media")
            ents = entities if entities is not None else detect_entities(text)
            return {"text": text, **({"entities": ents} if ents else {})}
        data = file_bytes if file_bytes is not None else f"{kind}-{next(self._ids)}".encode()
        stored = self._new_file(kind, data, document or None, {})
        body = self._media_body(stored)
        cap = caption if caption is not None else text
        if cap:
            ents = entities if entities is not None else detect_entities(cap)
            body["caption"] = cap
            if ents:
                body["caption_entities"] = ents
        return body

    def _bot_sees(self, chat: _Chat, msg: JSON) -> bool:
        """Privacy mode: a non-admin bot in a group only gets commands and replies to it."""
        if not chat.is_group or chat.bot_is_admin or not self.privacy_mode:
            return True
        if any(e["type"] == "bot_command" for e in msg.get("entities", [])):
            return True
        replied = msg.get("reply_to_message") or {}
        return replied.get("from", {}).get("id") == self.bot_id

    def _enqueue(self, kind: str, payload: JSON) -> None:
        """Queue an update, unless allowed_updates (at creation time) excludes its type."""
        allowed = self._allowed_updates
        if (allowed is None and kind in _OPT_IN_UPDATES) or (allowed is not None and kind not in allowed):
            return
        update = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
        self._pending.append(update)
        self.updates_log.append(update)
        self._bump()

    def _member_update(self, user_id: int, old: str, new: str) -> None:
        bot = self._bot_json()
        new_member: JSON = {"status": new, "user": bot}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: JSON = {"status": old, "user": bot} | ({"until_date": 0} if old == "kicked" else {})
        self._enqueue(
            "my_chat_member",
            {
                "chat": self._chat_short(self._chats[user_id]),
                "from": self._users[user_id].as_json(),
                "date": self._now(),
                "old_chat_member": old_member,
                "new_chat_member": new_member,
            },
        )

    def _create_topic(self, chat: _Chat, name: str, color: int, emoji: str | None, sender: JSON, creator: int) -> JSON:
        msg = self._base_message(chat, sender)
        thread_id = msg["message_id"]
        created: JSON = {"name": name, "icon_color": color}
        if emoji:
            created["icon_custom_emoji_id"] = emoji
        msg.update(
            {
                "message_thread_id": thread_id,
                "is_topic_message": True,
                "forum_topic_created": created,
            }
        )
        chat.topics[thread_id] = _Topic(thread_id, name, color, creator, emoji)
        return self._store(chat, msg)

    def _delete_topic(self, chat: _Chat, topic: _Topic) -> None:
        topic.deleted = True
        for mid, msg in chat.messages.items():
            if msg.get("message_thread_id") == topic.thread_id:
                chat.deleted.add(mid)

    # ---- files ------------------------------------------------------------------------

    def _new_file(self, kind: str, data: bytes, file_name: str | None, meta: JSON) -> _StoredFile:
        """Store a file; photos get three PhotoSize entries sharing one size list."""
        n = next(self._ids)
        if kind == "photo":
            sizes: list[JSON] = []
            stored = None
            for width in (90, 320, 800):
                stored = self._register_file(kind, data, f"{n}x{width}", {"width": width, "height": width})
                stored.photo_sizes = sizes
                sizes.append(stored.descriptor())
            assert stored is not None
            return stored
        meta = dict(meta)
        if kind in ("document", "audio") and file_name:
            meta.setdefault("file_name", file_name)
        guessed = mimetypes.guess_type(file_name)[0] if file_name else None
        meta.setdefault("mime_type", _MIME.get(kind) or guessed or "application/octet-stream")
        if kind in ("voice", "audio", "video"):
            meta.setdefault("duration", 1)
        if kind == "video":
            meta.setdefault("width", 640)
            meta.setdefault("height", 360)
        return self._register_file(kind, data, str(n), meta)

    def _register_file(self, kind: str, data: bytes, tag: str, meta: JSON) -> _StoredFile:
        ext = _FILE_EXT.get(kind) or (meta.get("file_name", "").rpartition(".")[2] or "bin")
        folder = "photos" if kind == "photo" else f"{kind}s"
        stored = _StoredFile(
            file_id=f"{_FILE_PREFIX[kind]}{tag}_standin",
            file_unique_id=f"AQAD{tag}",
            kind=kind,
            content=data,
            file_path=f"{folder}/file_{tag}.{ext}",
            meta=meta,
        )
        self._files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored
        return stored

    def _media_body(self, stored: _StoredFile) -> JSON:
        if stored.kind == "photo":
            return {"photo": copy.deepcopy(stored.photo_sizes)}
        return {stored.kind: stored.descriptor()}

    def _input_file(self, value: Upload | str | None, kind: str, field_name: str, p: Params) -> _StoredFile:
        """Resolve a file parameter: new upload, HTTP URL (no content fetched) or file_id."""
        if value is None or value == "":
            raise _bad(f"there is no {field_name} in the request")
        meta: JSON = {}
        for key in ("duration", "width", "height"):
            if p.get_int(key) is not None:
                meta[key] = p.get_int(key)
        for key in ("performer", "title"):
            if p.get_str(key):
                meta[key] = p.get_str(key)
        if isinstance(value, Upload):
            return self._new_file(kind, value.data, value.filename, meta)
        if value.startswith(("http://", "https://")):
            return self._new_file(kind, b"", value.rstrip("/").rpartition("/")[2] or None, meta)
        stored = self._files.get(value)
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise _bad(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    # ---- shared validation ------------------------------------------------------------

    def _resolve_chat_id(self, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"-?\d+", text):
                return int(text)
            if text.startswith("@"):
                for chat in self._chats.values():
                    if chat.username and chat.username.lower() == text[1:].lower():
                        return chat.id
        raise _bad("chat not found")

    def _chat_param(self, p: Params, name: str = "chat_id", *, write: bool = True) -> _Chat:
        """The chat a call targets, with Telegram's errors for writes to unusable chats."""
        if not p.has(name):
            raise _bad(f"{name} is empty")
        chat_id = self._resolve_chat_id(p.raw[name])
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id in self._users:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise _bad("chat not found")
        if write and chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if write and chat.type == "private" and chat.id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _format(
        self, text: str | None, parse_mode: str | None, entities: Any, *, limit: int, caption: bool
    ) -> tuple[str, list[JSON]]:
        """Apply parse_mode/entities, trim, check length, add auto-detected entities."""
        text = text or ""
        if entities:
            if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
                raise _bad("can't parse entities JSON object")
            ents = [dict(e) for e in entities]
        elif parse_mode:
            parser = _PARSERS.get(parse_mode.lower())
            if parser is None:
                raise _bad("unsupported parse_mode")
            try:
                text, ents = parser(text)
            except _EntityError as err:
                raise _bad(f"can't parse entities: {err}") from None
        else:
            ents = []
        text, ents = strip_text(text, ents)
        if not text and not caption:
            raise _bad("message text is empty")
        if len(text) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        return text, merge_entities(ents, detect_entities(text))

    def _text_body(self, p: Params) -> JSON:
        text, ents = self._format(
            p.get_str("text"),
            p.get_str("parse_mode"),
            p.get_json("entities"),
            limit=TEXT_LIMIT,
            caption=False,
        )
        return {"text": text, **({"entities": ents} if ents else {})}

    def _caption(self, p: Params | JSON, *, key: str = "caption") -> JSON:
        if isinstance(p, Params):
            raw, mode, ents = (
                p.get_str(key),
                p.get_str("parse_mode"),
                p.get_json("caption_entities"),
            )
        else:
            raw, mode, ents = p.get(key), p.get("parse_mode"), p.get("caption_entities")
        text, entities = self._format(raw, mode, ents, limit=CAPTION_LIMIT, caption=True)
        if not text:
            return {}
        return {"caption": text, **({"caption_entities": entities} if entities else {})}

    def _markup(self, p: Params) -> JSON | None:
        markup = p.get_json("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad('can\'t parse inline keyboard button: field "inline_keyboard" must be an Array of Arrays')
        for button in (b for row in rows for b in row):
            self._check_button(button)
        return markup

    @staticmethod
    def _check_button(button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _bad("can't parse inline keyboard button: Text must be a String")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                raise _bad("BUTTON_DATA_INVALID")
        actions = set(button) - {"text", "icon_custom_emoji_id", "style"}
        if not actions:
            raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        url = button.get("url")
        if url is not None and not re.match(r"^(https?|tg)://\S+$", str(url)):
            raise _bad("BUTTON_URL_INVALID")

    def _reply_target(self, chat: _Chat, p: Params) -> JSON | None:
        """The message a send replies to (reply_parameters or legacy reply_to_message_id)."""
        params = p.get_json("reply_parameters")
        if isinstance(params, dict):
            message_id, allow = (
                params.get("message_id"),
                bool(params.get("allow_sending_without_reply")),
            )
            other = params.get("chat_id")
            if other is not None and self._resolve_chat_id(other) != chat.id:
                message_id = None if allow else -1  # replies into other chats are not modelled
        else:
            message_id, allow = (
                p.get_int("reply_to_message_id"),
                p.get_bool("allow_sending_without_reply"),
            )
        if message_id is None:
            return None
        replied = self._live_message(chat, int(message_id))
        if replied is None and not allow:
            raise _bad("message to be replied not found")
        return replied

    def _placement(self, chat: _Chat, p: Params) -> tuple[int | None, JSON | None]:
        replied = self._reply_target(chat, p)
        return self._resolve_thread(chat, p.get_int("message_thread_id"), replied, by_bot=True), replied

    def _bot_message(self, chat: _Chat, body: JSON, markup: JSON | None, **kw: Any) -> JSON:
        thread_id, replied = kw.pop("placement")
        return self._new_message(chat, self._bot_json(), body, thread_id, replied, markup=markup, **kw)

    def _record(self, method: str, p: Params, chat_id: int | None, **fields: Any) -> SentRecord:
        record = SentRecord(method, chat_id, params=p.public(), time=self.clock(), **fields)
        self.sent.append(record)
        return record

    def _record_message(self, method: str, p: Params, msg: JSON, copied_from: tuple[int, int] | None = None) -> None:
        media = next((k for k in _MEDIA_KINDS if k in msg), None)
        replied = msg.get("reply_to_message")
        explicit_reply = replied is not None and "forum_topic_created" not in replied
        self._record(
            method,
            p,
            msg["chat"]["id"],
            thread_id=msg.get("message_thread_id"),
            message_id=msg["message_id"],
            text=msg.get("text", msg.get("caption")),
            reply_markup=copy.deepcopy(msg.get("reply_markup") or p.get_json("reply_markup")),
            copied_from=copied_from,
            reply_to=replied["message_id"] if explicit_reply else None,
            media=media,
            parse_mode=p.get_str("parse_mode"),
            entities=copy.deepcopy(msg.get("entities", msg.get("caption_entities", []))),
            message=copy.deepcopy(msg),
        )

    def _editable(self, p: Params) -> tuple[_Chat, JSON]:
        if p.has("inline_message_id"):
            raise _bad("inline messages are not supported by this stand-in")
        chat = self._chat_param(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        msg = self._live_message(chat, message_id)
        if msg is None:
            raise _bad("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise _bad("message can't be edited")
        return chat, msg

    # ---- methods: bot and updates -----------------------------------------------------

    def _m_get_me(self, p: Params) -> JSON:
        return self._bot_json() | {
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_log_out(self, p: Params) -> bool:
        return True

    def _m_close(self, p: Params) -> bool:
        return True

    def _set_allowed_updates(self, p: Params) -> None:
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) or None

    def _confirm(self, offset: int | None) -> None:
        """Forget updates below ``offset`` for good; a negative offset keeps the last -offset."""
        if offset is None or offset == 0:
            return
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    async def _m_get_updates(self, p: Params) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(409, _CONFLICT_WEBHOOK)
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_int("timeout") or 0, 0)
        self._set_allowed_updates(p)
        self._confirm(p.get_int("offset"))
        self._poll_generation += 1
        generation = self._poll_generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._polls_waiting += 1
        self._bump()
        try:
            while True:
                if self._closing:
                    return []
                if self._webhook is not None:
                    raise ApiError(409, _CONFLICT_WEBHOOK)
                if generation != self._poll_generation:
                    raise ApiError(409, _CONFLICT_POLL)
                if self._pending:
                    return copy.deepcopy(self._pending[:limit])
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                await self._wait_change(remaining)
        finally:
            self._polls_waiting -= 1

    def _m_set_webhook(self, p: Params) -> tuple[bool, str]:
        url = p.get_str("url") or ""
        if not url:
            return self._m_delete_webhook(p)
        if not re.match(r"^https?://[^\s/]+", url):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get_str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad("secret token contains unallowed characters")
        self._set_allowed_updates(p)
        if p.get_bool("drop_pending_updates"):
            self._pending.clear()
        old = self._webhook
        if old is not None and old.url == url and old.secret_token == secret:
            return True, "Webhook is already set"
        self._stop_delivery()
        self._webhook = _Webhook(url, secret, p.get_int("max_connections") or 40)
        self._poll_generation += 1  # a pending long poll ends with 409
        self._deliver_task = asyncio.get_running_loop().create_task(self._deliver_loop())
        self._tasks.add(self._deliver_task)
        self._deliver_task.add_done_callback(self._tasks.discard)
        return True, "Webhook was set"

    def _m_delete_webhook(self, p: Params) -> tuple[bool, str]:
        if p.get_bool("drop_pending_updates"):
            self._pending.clear()
        if self._webhook is None:
            return True, "Webhook is already deleted"
        self._webhook = None
        self._stop_delivery()
        return True, "Webhook was deleted"

    def _m_get_webhook_info(self, p: Params) -> JSON:
        hook = self._webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _stop_delivery(self) -> None:
        task, self._deliver_task = self._deliver_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _deliver_loop(self) -> None:
        """POST updates one at a time, in order, retrying each until a 2xx answer."""
        hook = self._webhook
        backoff = self.webhook_backoff[0]
        while not self._closing and hook is not None and self._webhook is hook:
            if not self._pending:
                await self._wait_change(None)
                continue
            update = self._pending[0]
            status, error, reply = await self._post_update(hook, update)
            self.webhook_attempts.append(WebhookAttempt(update["update_id"], status, error, self.clock()))
            if status is not None and 200 <= status < 300:
                if self._pending and self._pending[0] is update:
                    self._pending.pop(0)
                backoff = self.webhook_backoff[0]
                self._bump()
                if reply is not None:
                    await self.call(reply[0], reply[1], source="webhook-reply")
                continue
            hook.last_error_date, hook.last_error_message = self._now(), error
            self._bump()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.webhook_backoff[1])

    async def _post_update(
        self, hook: _Webhook, update: JSON
    ) -> tuple[int | None, str | None, tuple[str, Params] | None]:
        assert self._http is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with self._http.post(
                hook.url,
                data=json.dumps(update),
                headers=headers,
                timeout=ClientTimeout(total=self.webhook_timeout),
            ) as resp:
                if not 200 <= resp.status < 300:
                    return (
                        resp.status,
                        f"Wrong response from the webhook: {resp.status} {resp.reason}",
                        None,
                    )
                reply = await read_webhook_reply(resp)
                if reply is not None and reply[0].lower() not in self._handlers:
                    reply = None
                return resp.status, None, reply
        except (ClientError, TimeoutError, OSError) as err:
            return None, f"Connection failed: {type(err).__name__}", None

    # ---- methods: sending ---------------------------------------------------------------

    def _m_send_message(self, p: Params) -> JSON:
        body = self._text_body(p)
        chat = self._chat_param(p)
        placement = self._placement(chat, p)
        markup = self._markup(p)
        self._throttle("sendMessage", chat, 1)
        msg = self._bot_message(chat, body, markup, placement=placement)
        self._record_message("sendMessage", p, msg)
        return copy.deepcopy(msg)

    def _send_media(self, method: str, p: Params) -> JSON:
        kind = _SEND_MEDIA[method.lower()]
        caption = self._caption(p)
        chat = self._chat_param(p)
        placement = self._placement(chat, p)
        markup = self._markup(p)
        stored = self._input_file(p.file(kind), kind, kind, p)
        self._throttle(method, chat, 1)
        msg = self._bot_message(chat, self._media_body(stored) | caption, markup, placement=placement)
        self._record_message(method, p, msg)
        return copy.deepcopy(msg)

    def _m_send_photo(self, p: Params) -> JSON:
        return self._send_media("sendPhoto", p)

    def _m_send_document(self, p: Params) -> JSON:
        return self._send_media("sendDocument", p)

    def _m_send_voice(self, p: Params) -> JSON:
        return self._send_media("sendVoice", p)

    def _m_send_audio(self, p: Params) -> JSON:
        return self._send_media("sendAudio", p)

    def _m_send_video(self, p: Params) -> JSON:
        return self._send_media("sendVideo", p)

    @staticmethod
    def _album_items(p: Params) -> list[JSON]:
        items = p.get_json("media")
        if not isinstance(items, list) or not 2 <= len(items) <= 10:
            raise _bad("wrong number of media specified; must be 2-10")
        if not all(isinstance(i, dict) and i.get("media") for i in items):
            raise _bad("can't parse media JSON object")
        kinds = {item.get("type") for item in items}
        mixed_files = len(kinds) > 1 and bool(kinds & {"document", "audio"})
        if mixed_files or not kinds <= {"photo", "video", "document", "audio"}:
            raise _bad("wrong type of media in the album")
        return items

    def _m_send_media_group(self, p: Params) -> list[JSON]:
        items = self._album_items(p)
        chat = self._chat_param(p)
        placement = self._placement(chat, p)
        bodies = []
        for item in items:
            item_params = Params(item, p.files)
            stored = self._input_file(item_params.file("media"), item["type"], "media", item_params)
            bodies.append(self._media_body(stored) | self._caption(item))
        self._throttle("sendMediaGroup", chat, len(bodies))
        group_id = str(13_000_000_000_000_000 + next(self._ids))
        messages = []
        for body in bodies:
            msg = self._bot_message(chat, body, None, placement=placement, media_group_id=group_id)
            self._record_message("sendMediaGroup", p, msg)
            messages.append(copy.deepcopy(msg))
        return messages

    def _m_send_chat_action(self, p: Params) -> bool:
        chat = self._chat_param(p)
        self._resolve_thread(chat, p.get_int("message_thread_id"), None, by_bot=True)
        if not p.has("action"):
            raise _bad("action is empty")
        return True

    def _source_message(self, p: Params, missing: str) -> tuple[_Chat, JSON]:
        source = self._chat_param(p, "from_chat_id", write=False)
        message_id = p.get_int("message_id")
        msg = self._live_message(source, message_id) if message_id is not None else None
        if msg is None:
            raise _bad(missing)
        return source, msg

    def _copied_body(self, msg: JSON, p: Params | None, *, remove_caption: bool = False) -> JSON:
        """Content of ``msg`` for copyMessage: text/media with a possibly new caption."""
        body = {
            k: copy.deepcopy(msg[k]) for k in (*_CONTENT_KEYS, "caption", "caption_entities", "entities") if k in msg
        }
        if not any(k in body for k in _CONTENT_KEYS):
            raise _bad("message can't be copied")
        if "text" in body:
            return body
        # Premium users may write longer captions than a bot may send: a copy that keeps one
        # is refused.
        if not remove_caption and (p is None or p.raw.get("caption") is None) and len(body.get("caption", "")) > CAPTION_LIMIT:
            raise _bad("message caption is too long")
        if remove_caption:
            body.pop("caption", None)
            body.pop("caption_entities", None)
        if p is not None and p.raw.get("caption") is not None:
            body.pop("caption", None)
            body.pop("caption_entities", None)
            body.update(self._caption(p))
        return body

    def _m_copy_message(self, p: Params) -> JSON:
        source, original = self._source_message(p, "message to copy not found")
        body = self._copied_body(original, p)
        chat = self._chat_param(p)
        placement = self._placement(chat, p)
        markup = self._markup(p)
        self._throttle("copyMessage", chat, 1)
        msg = self._bot_message(chat, body, markup, placement=placement)
        self._record_message("copyMessage", p, msg, (source.id, original["message_id"]))
        return {"message_id": msg["message_id"]}

    @staticmethod
    def _message_ids(p: Params) -> list[int]:
        ids = p.get_json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message_ids must be a non-empty list of at most 100 identifiers")
        try:
            return [int(i) for i in ids]
        except (TypeError, ValueError):
            raise _bad("can't parse message_ids JSON object") from None

    def _m_copy_messages(self, p: Params) -> list[JSON]:
        ids = self._message_ids(p)
        if any(b <= a for a, b in itertools.pairwise(ids)):
            raise _bad("message identifiers must be in a strictly increasing order")
        source = self._chat_param(p, "from_chat_id", write=False)
        originals = [
            m
            for i in ids
            if (m := self._live_message(source, int(i))) is not None and any(k in m for k in _CONTENT_KEYS)
        ]
        if not originals:
            raise _bad("message to copy not found")
        chat = self._chat_param(p)
        placement = (
            self._resolve_thread(chat, p.get_int("message_thread_id"), None, by_bot=True),
            None,
        )
        self._throttle("copyMessages", chat, len(originals))
        result = []
        for original in originals:
            body = self._copied_body(original, None, remove_caption=p.get_bool("remove_caption"))
            msg = self._bot_message(chat, body, None, placement=placement)
            self._record_message("copyMessages", p, msg, (source.id, original["message_id"]))
            result.append({"message_id": msg["message_id"]})
        return result

    def _m_forward_message(self, p: Params) -> JSON:
        source, original = self._source_message(p, "message to forward not found")
        body = self._copied_body(original, None)
        sender = original.get("from")
        if sender is not None:
            body["forward_origin"] = {
                "type": "user",
                "date": original["date"],
                "sender_user": sender,
            }
        else:
            body["forward_origin"] = {
                "type": "chat",
                "date": original["date"],
                "sender_chat": self._chat_short(source),
            }
        chat = self._chat_param(p)
        placement = (
            self._resolve_thread(chat, p.get_int("message_thread_id"), None, by_bot=True),
            None,
        )
        self._throttle("forwardMessage", chat, 1)
        msg = self._bot_message(chat, body, None, placement=placement)
        self._record_message("forwardMessage", p, msg, (source.id, original["message_id"]))
        return copy.deepcopy(msg)

    # ---- methods: editing and deleting ------------------------------------------------

    def _m_edit_message_text(self, p: Params) -> JSON:
        body = self._text_body(p)
        markup = self._markup(p)
        chat, msg = self._editable(p)
        if "text" not in msg:
            raise _bad("there is no text in the message to edit")
        new_markup = markup if markup and "inline_keyboard" in markup else None
        if (msg["text"], msg.get("entities", []), msg.get("reply_markup")) == (
            body["text"],
            body.get("entities", []),
            new_markup,
        ):
            raise _bad(_MSG_NOT_MODIFIED)
        self._throttle("editMessageText", chat, 1, per_chat=False)
        msg.pop("entities", None)
        msg.pop("reply_markup", None)
        msg.update(body)
        if new_markup:
            msg["reply_markup"] = new_markup
        msg["edit_date"] = self._now()
        self._record_message("editMessageText", p, msg)
        return copy.deepcopy(msg)

    def _m_edit_message_reply_markup(self, p: Params) -> JSON:
        markup = self._markup(p)
        chat, msg = self._editable(p)
        new_markup = markup if markup and "inline_keyboard" in markup else None
        if msg.get("reply_markup") == new_markup:
            raise _bad(_MSG_NOT_MODIFIED)
        self._throttle("editMessageReplyMarkup", chat, 1, per_chat=False)
        msg.pop("reply_markup", None)
        if new_markup:
            msg["reply_markup"] = new_markup
        msg["edit_date"] = self._now()
        self._record_message("editMessageReplyMarkup", p, msg)
        return copy.deepcopy(msg)

    def _can_delete(self, chat: _Chat, msg: JSON) -> bool:
        own = msg.get("from", {}).get("id") == self.bot_id
        return own or chat.type == "private" or chat.bot_is_admin

    def _m_delete_message(self, p: Params) -> bool:
        chat = self._chat_param(p)
        message_id = p.get_int("message_id")
        msg = self._live_message(chat, message_id) if message_id is not None else None
        if msg is None:
            raise _bad("message to delete not found")
        if not self._can_delete(chat, msg):
            raise _bad("message can't be deleted")
        chat.deleted.add(msg["message_id"])
        self._record(
            "deleteMessage",
            p,
            chat.id,
            message_id=msg["message_id"],
            thread_id=msg.get("message_thread_id"),
        )
        return True

    def _m_delete_messages(self, p: Params) -> bool:
        chat = self._chat_param(p)
        for message_id in self._message_ids(p):
            msg = self._live_message(chat, int(message_id))
            if msg is not None and self._can_delete(chat, msg):
                chat.deleted.add(msg["message_id"])
                self._record("deleteMessages", p, chat.id, message_id=msg["message_id"])
        return True

    def _m_answer_callback_query(self, p: Params) -> bool:
        query_id = p.get_str("callback_query_id")
        entry = self._callbacks.get(query_id or "")
        if entry is None or entry["answered"]:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        entry["answered"] = True
        answer = {
            "callback_query_id": query_id,
            "text": p.get_str("text"),
            "show_alert": p.get_bool("show_alert"),
            "url": p.get_str("url"),
            "cache_time": p.get_int("cache_time"),
            "time": self.clock(),
        }
        self.answered_callbacks.append(answer)
        message = entry["query"].get("message") or {}
        self._record(
            "answerCallbackQuery",
            p,
            message.get("chat", {}).get("id"),
            message_id=message.get("message_id"),
            text=answer["text"],
        )
        return True

    # ---- methods: commands --------------------------------------------------------------

    def _scope_key(self, scope: Any) -> str:
        """Canonical JSON of a BotCommandScope (chat ids resolved), the storage key."""
        if not isinstance(scope, dict) or scope.get("type") not in (
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        ):
            raise _bad("can't parse BotCommandScope JSON object")
        scope = dict(scope)
        if "chat_id" in scope:
            scope["chat_id"] = self._resolve_chat_id(scope["chat_id"])
            if scope["chat_id"] not in self._chats:
                raise _bad("chat not found")
        return json.dumps(scope, sort_keys=True, separators=(",", ":"))

    def _commands_key(self, p: Params) -> tuple[str, str]:
        scope = p.get_json("scope") or {"type": "default"}
        return self._scope_key(scope), p.get_str("language_code") or ""

    def _m_set_my_commands(self, p: Params) -> bool:
        commands = p.get_json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for cmd in commands:
            if not isinstance(cmd, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(cmd.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(p)
        self.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        self._record("setMyCommands", p, None, text=key[0])
        return True

    def _m_get_my_commands(self, p: Params) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(p), []))

    def _m_delete_my_commands(self, p: Params) -> bool:
        key = self._commands_key(p)
        self.commands.pop(key, None)
        self._record("deleteMyCommands", p, None, text=key[0])
        return True

    # ---- methods: chats -----------------------------------------------------------------

    def _m_get_chat(self, p: Params) -> JSON:
        chat = self._chat_param(p, write=False)
        info = self._chat_short(chat) | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }
        if chat.type != "private":
            info["permissions"] = {"can_send_messages": True}
        return info

    def _admin_member(self, user: JSON, chat: _Chat) -> JSON:
        is_bot = user["id"] == self.bot_id
        member = {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": not is_bot,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_send_welcome_messages": False,
            "can_pin_messages": True,
        }
        if chat.type == "supergroup":
            member["can_manage_topics"] = chat.can_manage_topics if is_bot else True
        return member

    def _member(self, chat: _Chat, user_id: int) -> JSON:
        if user_id == self.bot_id:
            if chat.is_group and chat.bot_is_admin:
                return self._admin_member(self._bot_json(), chat)
            return {"status": "member", "user": self._bot_json()}
        user = self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        if user_id in chat.admins:
            return self._admin_member(user.as_json(), chat)
        status = "member" if user_id in chat.members else "left"
        if chat.type == "private" and user_id in self._blocked:
            status = "member"
        return {"status": status, "user": user.as_json()}

    def _m_get_chat_member(self, p: Params) -> JSON:
        chat = self._chat_param(p, write=False)
        user_id = p.get_int("user_id")
        if user_id is None:
            raise _bad("user_id is empty")
        return self._member(chat, user_id)

    def _m_get_chat_administrators(self, p: Params) -> list[JSON]:
        chat = self._chat_param(p, write=False)
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        admins = [self._member(chat, uid) for uid in sorted(chat.admins)]
        if chat.bot_is_admin:
            admins.append(self._member(chat, self.bot_id))
        return admins

    # ---- methods: forum topics ----------------------------------------------------------

    def _forum(self, p: Params) -> _Chat:
        chat = self._chat_param(p)
        if not chat.is_forum:
            raise _bad("the chat is not a forum")
        return chat

    def _topic(self, chat: _Chat, p: Params, *, manage: bool = True) -> _Topic:
        thread_id = p.get_int("message_thread_id")
        topic = chat.topics.get(thread_id) if thread_id is not None else None
        if topic is None or topic.deleted:
            raise _bad("TOPIC_ID_INVALID")
        if manage and not (chat.can_manage_topics or topic.creator_id == self.bot_id):
            raise _bad("not enough rights to manage topics")
        return topic

    def _topic_service(self, chat: _Chat, topic: _Topic, payload: JSON) -> None:
        """Service message posted in the topic for edits/close/reopen (bots get none)."""
        msg = self._base_message(chat, self._bot_json()) | payload
        msg.update({"message_thread_id": topic.thread_id, "is_topic_message": True})
        self._store(chat, msg)

    @staticmethod
    def _topic_name(name: str | None) -> str:
        name = (name or "").strip()
        if not name:
            raise _bad("TOPIC_TITLE_EMPTY")
        if len(name) > TOPIC_NAME_LIMIT:
            raise _bad("TOPIC_TITLE_TOO_LONG")
        return name

    def _m_create_forum_topic(self, p: Params) -> JSON:
        chat = self._forum(p)
        if not chat.can_manage_topics:
            raise _bad("not enough rights to create a topic")
        name = self._topic_name(p.get_str("name"))
        color = p.get_int("icon_color")
        if color is None:
            color = TOPIC_ICON_COLORS[0]
        elif color not in TOPIC_ICON_COLORS:
            raise _bad("invalid icon color specified")
        self._throttle("createForumTopic", chat, 1, per_chat=False)
        emoji = p.get_str("icon_custom_emoji_id") or None
        msg = self._create_topic(chat, name, color, emoji, self._bot_json(), self.bot_id)
        topic = chat.topics[msg["message_thread_id"]]
        self._record(
            "createForumTopic",
            p,
            chat.id,
            thread_id=topic.thread_id,
            message_id=msg["message_id"],
            text=name,
            message=copy.deepcopy(msg),
        )
        return topic.as_json()

    def _m_edit_forum_topic(self, p: Params) -> bool:
        chat = self._forum(p)
        topic = self._topic(chat, p)
        changes: JSON = {}
        if p.raw.get("name") is not None:
            name = self._topic_name(p.get_str("name"))
            if name != topic.name:
                changes["name"] = name
        if p.raw.get("icon_custom_emoji_id") is not None:
            emoji = p.get_str("icon_custom_emoji_id") or None
            if emoji != topic.icon_custom_emoji_id:
                changes["icon_custom_emoji_id"] = emoji or ""
        if not changes:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.name = changes.get("name", topic.name)
        if "icon_custom_emoji_id" in changes:
            topic.icon_custom_emoji_id = changes["icon_custom_emoji_id"] or None
        self._topic_service(chat, topic, {"forum_topic_edited": changes})
        self._record("editForumTopic", p, chat.id, thread_id=topic.thread_id, text=topic.name)
        return True

    def _set_closed(self, p: Params, closed: bool, method: str) -> bool:
        chat = self._forum(p)
        topic = self._topic(chat, p)
        if topic.closed == closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        self._topic_service(chat, topic, {"forum_topic_closed" if closed else "forum_topic_reopened": {}})
        self._record(method, p, chat.id, thread_id=topic.thread_id, text=topic.name)
        return True

    def _m_close_forum_topic(self, p: Params) -> bool:
        return self._set_closed(p, True, "closeForumTopic")

    def _m_reopen_forum_topic(self, p: Params) -> bool:
        return self._set_closed(p, False, "reopenForumTopic")

    def _m_delete_forum_topic(self, p: Params) -> bool:
        chat = self._forum(p)
        topic = self._topic(chat, p, manage=False)
        if not chat.bot_is_admin:
            raise _bad("not enough rights to delete a topic")
        self._delete_topic(chat, topic)
        self._record("deleteForumTopic", p, chat.id, thread_id=topic.thread_id, text=topic.name)
        return True

    # ---- methods: files -------------------------------------------------------------------

    def _m_get_file(self, p: Params) -> JSON:
        stored = self._files.get(p.get_str("file_id") or "")
        if stored is None:
            raise _bad("wrong file_id or the file is temporarily unavailable")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }
