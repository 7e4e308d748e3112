"""The `[slack]` section: the app's tokens and mode, the triage channel, the send limits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.app.fields import PlatformSettings, Secret

# The section's name and the prefix of every slack identity ("slack:…").
NAME = "slack"


class SlackConfig(PlatformSettings):
    bot_token: Secret = Secret("env:SLACK_BOT_TOKEN")
    signing_secret: Secret = Secret("env:SLACK_SIGNING_SECRET")
    app_token: Secret = Secret("env:SLACK_APP_TOKEN")
    mode: Literal["http", "socket"] = "http"
    api_base: str = "https://slack.com/api/"
    events_path: str = "/slack/events"
    triage_channel: str | None = None
    command: str = "/desk"
    per_channel_per_second: float = Field(default=1.0, gt=0)
    per_second: float = Field(default=20.0, gt=0)

    def secrets(self) -> list[tuple[str, Secret | None]]:
        """The bot token, and the mode's own: HTTP verifies Slack's signature; in Socket
        Mode Slack's requests come over our own connection, which the app token opens."""
        if self.mode == "http":
            return [("bot_token", self.bot_token), ("signing_secret", self.signing_secret)]
        return [("bot_token", self.bot_token), ("app_token", self.app_token)]

    def staff_room(self) -> str | None:
        return self.triage_channel or None
