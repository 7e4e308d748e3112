"""A readable timeline of what the desk did: for the demo, and for `tickets show`.

It prints what people wrote, each ticket's decisions with their reasons (from the event
log) and what was sent to whom — in the order it happened.
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.delivery.contract import Audience, Outbound

INDENT = " " * 18


def clock_label(at: datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    return local.strftime("%a %d %b %H:%M")


def shorten(text: str, width: int = 150) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def wrap(text: str, first: str, width: int = 110) -> str:
    lines = textwrap.wrap(text, width=width - len(INDENT)) or [""]
    return "\n".join([first + lines[0], *(INDENT + line for line in lines[1:])])


def describe_outbound(message: Outbound, who: str) -> str:
    arrow = {
        Audience.CUSTOMER: f"→ customer {who}",
        Audience.ENGINEER: f"→ {who} (private)",
        Audience.STAFF_ROOM: f"→ staff room [{message.title}]",
    }[message.recipient.audience]
    buttons = f"  [{' | '.join(b.label for b in message.buttons)}]" if message.buttons else ""
    return f"{arrow} {message.kind}: {shorten(message.text)}{buttons}"
