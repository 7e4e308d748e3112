"""Telegram: customers in private chats and groups, engineers in a forum group's topics.

Modules: `translate` (Telegram → desk types), `handlers` (aiogram router), `send` (desk →
Bot API), `updates` (polling loop, webhook route), `startup` (menus, staff-group checks),
`channel` (the adapter the app runs).
"""

from adapters.telegram.channel import TelegramChannel

__all__ = ["TelegramChannel"]
