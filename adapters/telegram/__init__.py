"""Telegram: customers in private chats and groups, engineers in a forum group's topics.

Modules: `config` (the `[telegram]` section), `translate` (Telegram → desk types),
`handlers` (aiogram router), `send` (desk → Bot API), `updates` (polling loop, webhook
route), `startup` (menus, staff-group checks), `channel` (the adapter the app runs).
`CHANNEL` is what the composition root lists.
"""

from adapters.telegram.config import NAME, TelegramConfig
from bot.delivery.contract import Adapter
from bot.delivery.descriptor import platform_channel
from bot.i18n.texts import staff_key


def _build(section: TelegramConfig) -> Adapter:
    """aiogram is imported only for a desk that runs Telegram: its types take seconds to
    load, which `check-config`, `explain` and the readers need not pay."""
    from adapters.telegram.channel import TelegramChannel

    return TelegramChannel(section)


CHANNEL = platform_channel(
    NAME, TelegramConfig, _build, user_example="12345",
    # A bot may not open a private chat: the engineer must press Start in theirs first.
    unreachable_advice=staff_key("unreachable_press_start"),
    # The example roster is written for Telegram; the demo runs it on the local channel.
    twin_in_demo=True,
)
