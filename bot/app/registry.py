"""The channels dutydesk ships with: the one list a new channel is added to.

Config validation (one `[name]` section per channel), `check-config`, the CLI's help,
`explain`, the directory's staff rooms and the app's adapters all come from it.
"""

from __future__ import annotations

from typing import Any

from adapters import local, slack, telegram
from bot.delivery.descriptor import ChannelDescriptor

CHANNELS: tuple[ChannelDescriptor[Any], ...] = (local.CHANNEL, telegram.CHANNEL, slack.CHANNEL)

# Identities as each channel writes them, for help texts and errors.
IDENTITY_EXAMPLES = ", ".join(d.identity_example for d in CHANNELS)
