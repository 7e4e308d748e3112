"""Slack's message format, outbound: mrkdwn escaping, message-sized parts, Block Kit buttons.

Everything the desk says is plain text. Slack reads `text` and section blocks as mrkdwn,
where `&`, `<` and `>` are control characters (`<@U123>` is a mention, `<!channel>` pings a
whole channel), so they are escaped — a customer's "a < b" must not become markup. `*bold*`
and `_italic_` are left alone: they read the same as plain text.
"""

from __future__ import annotations

from typing import Any

from bot.delivery.contract import Button
from bot.delivery.render import split_text

# Slack truncates `text` at 40,000 characters and a section block takes 3,000. Parts are cut
# at the section limit so any part can carry the buttons, and measured after escaping.
PART_LIMIT = 3000
# The longest escape ("&amp;") is five characters for one: a part this long always fits.
_WORST_CASE = PART_LIMIT // len("&amp;")
BUTTON_LABEL_LIMIT = 75
ACTION_PREFIX = "dutydesk."


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn_parts(text: str) -> list[str]:
    """The text escaped and split into parts of at most `PART_LIMIT` characters each,
    cut at line breaks or spaces where possible."""
    parts: list[str] = []
    for part in split_text(text, PART_LIMIT):
        pieces = [part] if len(escape(part)) <= PART_LIMIT else split_text(part, _WORST_CASE)
        parts.extend(escape(piece) for piece in pieces)
    return parts


def action_id(index: int, button: Button) -> str:
    """Unique within a message (Slack rejects duplicates); the listener matches the prefix."""
    return f"{ACTION_PREFIX}{button.action}.{index}"


def with_buttons(text: str, buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
    """A message's blocks: its (escaped) text as a section, then one button per action.
    With blocks present Slack shows them instead of `text`, so the text must be in them."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if buttons:
        blocks.append({
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": action_id(i, b),
                    "text": {"type": "plain_text", "text": b.label[:BUTTON_LABEL_LIMIT] or b.action},
                    "value": b.data,
                }
                for i, b in enumerate(buttons)
            ],
        })
    return blocks


def ephemeral(text: str) -> dict[str, Any]:
    """An answer only the asker sees: a slash command's ack body, or a `respond()` body."""
    return {"response_type": "ephemeral", "text": escape(text)}
