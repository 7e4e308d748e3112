"""Who wrote: Slack events carry only a user id, the desk wants a name and a language.

`users.info` is asked once per user and the answer kept in memory, so a busy channel costs
one lookup per person, not per message. The cache is bounded (least recently used first
out): a large Slack Connect community must not grow it without end. A failed lookup is not
worth losing a message over — the sender is then known by id only, and asked for again
next time.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.translate import sender_of
from bot.core.domain import Sender
from bot.core.sanitize import scrub

log = logging.getLogger("dutydesk.slack")

CACHE_SIZE = 5000


class Profiles:
    def __init__(self, client: AsyncWebClient, size: int = CACHE_SIZE) -> None:
        self._client = client
        self._size = size
        self._known: OrderedDict[str, Sender] = OrderedDict()

    async def sender(self, user_id: str) -> Sender:
        known = self._known.get(user_id)
        if known is not None:
            self._known.move_to_end(user_id)
            return known
        try:
            answer = await self._client.users_info(user=user_id, include_locale=True)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("users.info %s failed (%s); the sender is known by id only", user_id, exc)
            return sender_of(user_id)
        user = scrub(answer.get("user"))
        sender = sender_of(user_id, user if isinstance(user, dict) else None)
        self._known[user_id] = sender
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return sender
