"""The channel contract (`bot/delivery/contract.py`) as checks any started adapter must pass.

What the dispatcher relies on, whatever the platform: a staff-room message with no thread
opens one and says so; later messages go into it; a header says which message it is, and
delivered again with that id it is edited in place, not posted anew; a private message
gets a platform id; each chat (and staff thread) is a lane of its own; a stopped channel
delivers nothing. A new channel's tests call `check_channel_contract` on its started
adapter, as tests/test_new_channel.py does for a made-up channel and the local one, and
the Telegram and Slack tests do against their stand-ins.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from bot.delivery.contract import Adapter, Audience, Outbound, Recipient

# Outbox ids no test's desk reaches: adapters may remember what they sent by id.
_IDS = itertools.count(9_000_001)


def _outbound(kind: str, recipient: Recipient, text: str, title: str | None = None) -> Outbound:
    return Outbound(id=next(_IDS), kind=kind, recipient=recipient, text=text, ticket_id=1, title=title)


async def check_channel_contract(channel: Adapter, *, staff_room: str, private_chat: str) -> None:
    """`staff_room`: a chat the adapter may open threads in; `private_chat`: a person's
    private chat with the bot. The adapter is started; it is left started."""
    room = Recipient(channel.name, staff_room, Audience.STAFF_ROOM)
    header = _outbound("header", room, "T-1 · contract check", "T-1 · contract")
    opened = await channel.deliver(header)
    assert opened.thread_id, "a staff-room message without a thread opens one and returns its id"
    assert opened.header_id, "a header returns the id it is edited by"
    in_thread = replace(room, thread_id=opened.thread_id)
    copy = await channel.deliver(_outbound("copy", in_thread, "the customer wrote: hello"))
    assert copy.message_id, "a message into a thread gets a platform id"
    assert copy.thread_id in (None, opened.thread_id), "a message into a live thread opens no other"
    edited = await channel.deliver(replace(header, id=next(_IDS), recipient=in_thread, header_id=opened.header_id,
                                           text="T-1 · contract check, edited"))
    assert edited.thread_id in (None, opened.thread_id) and edited.header_id in (None, opened.header_id), (
        "a header delivered with its id is edited in place")

    person = Recipient(channel.name, private_chat, Audience.CUSTOMER)
    sent = await channel.deliver(_outbound("reply", person, "an answer"))
    assert sent.message_id, "a private message gets a platform id"

    assert channel.lane(person) == channel.lane(person), "a chat's lane is stable"
    assert channel.lane(person).key != channel.lane(room).key, "each chat is a lane of its own"
    assert all(channel.lane(r).per_second > 0 for r in (person, room, in_thread)) and channel.per_second > 0


async def check_stopped_channel_refuses(channel: Adapter, *, private_chat: str) -> None:
    """After `stop`, `deliver` raises ConnectionError: a send after shutdown began could not
    be booked, and would go out again after a restart."""
    await channel.stop()
    person = Recipient(channel.name, private_chat, Audience.CUSTOMER)
    try:
        await channel.deliver(_outbound("reply", person, "too late"))
    except ConnectionError:
        return
    raise AssertionError("a stopped channel delivered")
