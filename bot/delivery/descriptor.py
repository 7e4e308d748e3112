"""What a channel plugin declares about itself, so that no module of `bot/` names a platform.

Each adapter package exports one `ChannelDescriptor` (`CHANNEL`); the composition root
(`bot.app.registry`) lists them. From that list the configuration gets one section per
channel (`[name]`, validated by the channel's own model), `check-config` learns which
secrets each enabled channel needs, the directory finds the staff rooms, and the app
builds the adapters of the enabled channels. How fast a channel may send is the adapter's
to say (`per_second` and `lane()` in `bot.delivery.contract`), from its own section.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.app.fields import ChannelSettings, PlatformSettings, Secret
from bot.delivery.contract import Adapter
from bot.i18n.texts import staff_key

S = TypeVar("S", bound=ChannelSettings)
P = TypeVar("P", bound=PlatformSettings)

# The text key leads get when an engineer cannot be reached privately on a channel that
# says nothing more specific.
UNREACHABLE_ADVICE = staff_key("unreachable_other")


def _no_room(settings: Any) -> str | None:
    return None


def _no_secrets(settings: Any) -> list[tuple[str, Secret | None]]:
    return []


@dataclass(frozen=True)
class ChannelDescriptor(Generic[S]):
    """One channel: its name, its section of the config, and how the desk uses it."""

    # The section's name (`[name]`) and the prefix of its identities (`name:12345`).
    name: str
    # The section's model: a `ChannelSettings` (it has `enabled`) with the channel's keys.
    settings: type[S]
    # The adapter the app runs, from the (enabled) section.
    build: Callable[[S], Adapter]
    # An identity on this channel, for help and error texts ("<channel>:12345").
    identity_example: str
    # The chat whose threads hold the tickets (a forum group, a triage channel), if set.
    staff_room: Callable[[S], str | None] = _no_room
    # The secrets the section's mode needs, as (key within the section, secret) pairs.
    secrets: Callable[[S], Iterable[tuple[str, Secret | None]]] = _no_secrets
    # How a message on this channel mentions a person, the user id in group 1, when a lead
    # may type one where the desk expects an engineer ("<@U123|ana>").
    mention: re.Pattern[str] | None = None
    # The text key of the advice leads get when an engineer on this channel cannot be
    # reached privately (e.g. "open a chat with the bot and press Start").
    unreachable_advice: str = UNREACHABLE_ADVICE
    # The demo and the tests move the example roster onto the local channel: this
    # channel's identities and chats get `local:` twins there.
    twin_in_demo: bool = False

    def section(self, settings: ChannelSettings) -> S:
        """The section, typed as this channel's own model."""
        if not isinstance(settings, self.settings):
            raise TypeError(f"[{self.name}] is a {type(settings).__name__}, not a {self.settings.__name__}")
        return settings

    def needed_secrets(self, settings: ChannelSettings) -> list[tuple[str, Secret | None]]:
        """(`name.key`, secret) for every secret the section needs; none when it is off."""
        section = self.section(settings)
        if not section.enabled:
            return []
        return [(f"{self.name}.{key}", secret) for key, secret in self.secrets(section)]

    def room(self, settings: ChannelSettings) -> str | None:
        return self.staff_room(self.section(settings))

    def adapter(self, settings: ChannelSettings) -> Adapter:
        return self.build(self.section(settings))


def platform_channel(
    name: str, settings: type[P], build: Callable[[P], Adapter], user_example: str, *,
    mention: re.Pattern[str] | None = None, unreachable_advice: str = UNREACHABLE_ADVICE, twin_in_demo: bool = False,
) -> ChannelDescriptor[P]:
    """A messaging platform's channel: its section says its staff room and the secrets its
    mode needs (`PlatformSettings`), and an identity is `name:` and a user id there."""
    return ChannelDescriptor(
        name=name, settings=settings, build=build, identity_example=f"{name}:{user_example}",
        staff_room=settings.staff_room, secrets=settings.secrets,
        mention=mention, unreachable_advice=unreachable_advice, twin_in_demo=twin_in_demo,
    )
