"""The channels dutydesk ships with: the one list a new channel is added to.

Config validation (one `[name]` section per channel), `check-config`, the CLI's help,
`explain`, the directory's staff rooms and the app's adapters all come from it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from bot.delivery.descriptor import ChannelDescriptor

# Each name is a package (or module) of adapters/ exporting its descriptor as `CHANNEL`.
CHANNELS: tuple[ChannelDescriptor[Any], ...] = tuple(
    import_module(f"adapters.{name}").CHANNEL for name in ("local", "telegram", "slack")
)

# Identities as each channel writes them, for help texts and errors.
IDENTITY_EXAMPLES = ", ".join(d.identity_example for d in CHANNELS)
