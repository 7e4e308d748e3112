"""What must hold before the app takes traffic: a triage channel it can post in.

A triage channel the app is not a member of would fail on the first ticket — at night, in
the dispatcher's log. Checked at start-up instead, with an error that says what to do.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.config import ConfigError


class SlackSetupError(ConfigError):
    """Slack is set up differently from what the configuration says; the message names
    the key and the fix."""


async def check_triage_channel(client: AsyncWebClient, channel: str, app_name: str) -> None:
    key = f"slack.triage_channel {channel}"
    try:
        info = await client.conversations_info(channel=channel)
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else exc
        raise SlackSetupError(
            f"{key}: Slack says \u201c{error}\u201d — check the id (the channel's details, at the bottom), and for a "
            f"private channel invite the app first: /invite @{app_name} (docs/slack.md)"
        ) from exc
    details = info.get("channel") or {}
    if details.get("is_archived"):
        raise SlackSetupError(f"{key}: #{details.get('name', channel)} is archived — unarchive it or name another")
    if not details.get("is_member"):
        name = details.get("name", channel)
        raise SlackSetupError(f"{key}: the app is not a member of #{name} — in the channel, run /invite @{app_name}")
