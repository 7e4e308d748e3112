"""The `[telegram]` section: the bot's token and mode, the staff forum group, the send limits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from bot.app.fields import PlatformSettings, Secret

# The section's name and the prefix of every telegram identity ("telegram:…").
NAME = "telegram"


class TelegramConfig(PlatformSettings):
    token: Secret = Secret("env:TELEGRAM_BOT_TOKEN")
    mode: Literal["polling", "webhook"] = "polling"
    api_base: str = "https://api.telegram.org"
    staff_chat_id: int | None = None
    webhook_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_secret: Secret | None = None
    per_second: float = Field(default=30.0, gt=0)
    per_chat_per_second: float = Field(default=1.0, gt=0)
    per_group_per_minute: int = Field(default=20, ge=1)
    polling_timeout: int = Field(default=30, ge=0, le=50)

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramConfig:
        if self.enabled and self.mode == "webhook" and not self.webhook_url:
            raise ValueError("mode is webhook but webhook_url is not set")
        return self

    def secrets(self) -> list[tuple[str, Secret | None]]:
        """The token, and in webhook mode the secret Telegram's calls must carry."""
        needed: list[tuple[str, Secret | None]] = [("token", self.token)]
        if self.mode == "webhook":
            needed.append(("webhook_secret", self.webhook_secret))
        return needed

    def staff_room(self) -> str | None:
        return None if self.staff_chat_id is None else str(self.staff_chat_id)
