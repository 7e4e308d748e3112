"""The values configuration sections are made of: durations, time zones, languages, chat
identities, secrets — each checked where it is read, so an error names the key.

Every section (the desk's own in `bot.app.sections`, each channel's in its adapter package)
builds on `Model`: unknown keys are typos and are refused, and a loaded config is frozen.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

from bot.app import redact
from routing.durations import parse_duration
from routing.priority import Priority


class ConfigError(Exception):
    """A configuration problem, already phrased for the person who edits the file."""


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'{value} is not a duration: write it with a unit, e.g. "{value}m"')
    return parse_duration(str(value))


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'"{value}" is not a time zone (use an IANA name like Europe/Moscow)') from None
    return str(value)


def _priority(value: Any) -> Priority:
    return value if isinstance(value, Priority) else Priority.parse(str(value))


def _language(value: Any) -> str:
    code = str(value).strip().lower()
    if len(code) != 2 or not code.isalpha():
        raise ValueError(f'"{value}" is not a two-letter language code (e.g. ru, en, pl)')
    return code


def _identity(value: Any) -> str:
    text = str(value).strip()
    channel, _, user = text.partition(":")
    if not channel or not user:
        raise ValueError(f'"{value}" is not a chat identity (write channel:id: a channel section\'s name, a colon, '
                         "the user's or chat's id on it)")
    return f"{channel.lower()}:{user}"


Duration = Annotated[timedelta, BeforeValidator(_duration)]
TimeZone = Annotated[str, BeforeValidator(_timezone)]
PriorityField = Annotated[Priority, BeforeValidator(_priority)]
Language = Annotated[str, BeforeValidator(_language)]
Identity = Annotated[str, BeforeValidator(_identity)]
TemplateName = Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")]
TemplateText = Annotated[str, Field(min_length=1)]


class Secret(SecretStr):
    """A secret: `env:NAME` (read from the environment at start-up) or, discouraged, the
    value itself. `repr`, `str` and dumps show `env:NAME` or `**********`, never a value;
    `reveal()` gives the value, and from then on every log line blanks it out."""

    def reveal(self, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ
        written = self.get_secret_value()
        if written.startswith("env:"):
            name = written[4:]
            if name not in env or not env[name]:
                raise ConfigError(f"environment variable {name} is not set")
            value = env[name]
        else:
            value = written
        redact.remember(value)
        return value

    @property
    def literal(self) -> bool:
        """Written into the file itself rather than taken from the environment."""
        return not self.get_secret_value().startswith("env:")

    def _display(self) -> str:
        return self.get_secret_value() if not self.literal else "**********"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelSettings(Model):
    """A channel's section (`[local]`, or the one its adapter package names): every channel
    is off until the file switches it on."""

    enabled: bool = False


class PlatformSettings(ChannelSettings):
    """A messaging platform's section. Which secrets it needs and which chat is its staff
    room follow from several of its keys (the mode, a chat's id), so the section says them;
    `bot.delivery.descriptor.platform_channel` builds the channel from them."""

    @abstractmethod
    def secrets(self) -> list[tuple[str, Secret | None]]:
        """(key within the section, secret) for each secret the section's mode needs."""

    @abstractmethod
    def staff_room(self) -> str | None:
        """The chat whose threads hold the tickets, if set."""
