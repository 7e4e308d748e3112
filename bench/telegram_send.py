"""Telegram send bench: a burst through the real dispatcher and TelegramChannel, against
the Bot API stand-in enforcing Telegram's flood limits, on the real clock.

    python bench/telegram_send.py [--messages 3000] [--chats 300] [--groups 3]

The outbox rows are committed in one transaction through the store's public
`commit(ChangeSet(outbox=...))` — what the desk does after a decision — and handed to the
dispatcher with `wake()`; message i goes to chat i mod chats, so every chat is busy at once.
Of the chats, --groups are supergroups (20 messages a minute), the rest private chats
(1 a second); overall Telegram allows 30 a second. Prints the achieved rate against that
cap (target ≥ 90 %), the 429s served (target 0), lost and duplicated messages (must be 0)
and per-chat order. A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.telegram.channel import TelegramChannel
from adapters.telegram.config import TelegramConfig
from bot.app.config import Config, StorageConfig, load_config
from bot.app.factory import App
from bot.core.records import outbound_to_row
from bot.delivery.contract import Audience, Outbound, Recipient
from storage.base import ChangeSet
from tests.standins.telegram_api import RateLimits, TelegramStandIn

REPO = Path(__file__).resolve().parent.parent
TOKEN = "7700001:bench-token"
LIMITS = RateLimits(global_per_second=30, private_per_second=1, group_per_minute=20)
FIRST_USER = 500_001
FIRST_GROUP = -1_009_000_000_001


def chats(count: int, groups: int) -> list[int]:
    return [FIRST_GROUP - n for n in range(groups)] + [FIRST_USER + n for n in range(count - groups)]


def bench_config(db: Path, api_base: str) -> Config:
    cfg = load_config(REPO / "config.example.toml")
    telegram = TelegramConfig(
        enabled=True, api_base=api_base, staff_chat_id=None, per_second=LIMITS.global_per_second,
        per_chat_per_second=LIMITS.private_per_second, per_group_per_minute=LIMITS.group_per_minute,
    )
    return cfg.model_copy(update={"storage": StorageConfig(url=f"sqlite:///{db}"), "telegram": telegram})


async def run(messages: int, chat_count: int, groups: int) -> None:
    targets = chats(chat_count, groups)
    with tempfile.TemporaryDirectory() as tmp:
        async with TelegramStandIn(token=TOKEN, limits=LIMITS) as tg:
            for chat in targets:
                if chat > 0:
                    tg.add_user(chat, f"Customer {chat}")
                    tg.add_private_chat(chat)
                else:
                    tg.add_group(chat, f"Group {chat}")
            await send_burst(tg, bench_config(Path(tmp) / "bench.db", tg.api_base), targets, messages)


async def send_burst(tg: TelegramStandIn, cfg: Config, targets: list[int], messages: int) -> None:
    channel = TelegramChannel(cfg.channels["telegram"], token=TOKEN)
    app = await App.create(cfg, adapters={"telegram": channel}, serve_http=False)
    await app.start()
    try:
        now = app.desk.clock.now()
        rows = [
            outbound_to_row(Outbound(id=0, kind="notice", text=f"bench {i}", recipient=Recipient(
                "telegram", str(targets[i % len(targets)]), Audience.CUSTOMER)), now)
            for i in range(messages)
        ]
        sent_before = len(tg.sent)
        started = time.monotonic()
        await app.store.commit(ChangeSet(outbox=rows))
        app.dispatcher.wake()
        deadline = messages / LIMITS.global_per_second * 3 + 120
        try:
            await tg.wait_for(lambda t: len(t.sent) - sent_before >= messages, timeout=deadline)
        except AssertionError:
            print(f"timed out after {deadline:.0f}s waiting for every message")
        await app.dispatcher.flush()  # the last deliveries are booked
        states = Counter(r["state"] for r in await app.store.outbox_rows())
    finally:
        await app.stop()
    report(tg, targets, messages, sent_before, started, states)


def report(
    tg: TelegramStandIn, targets: list[int], messages: int, sent_before: int, started: float,
    states: Counter[str],
) -> None:
    records = [s for s in tg.sent[sent_before:] if s.method == "sendMessage"]
    numbers = [int((s.text or "").split()[1]) for s in records]
    counts = Counter(numbers)
    lost = messages - len(counts)
    duplicates = sum(n - 1 for n in counts.values())
    per_chat: dict[int | None, list[int]] = defaultdict(list)
    for record, number in zip(records, numbers, strict=True):
        per_chat[record.chat_id].append(number)
    out_of_order = sum(1 for seq in per_chat.values() if seq != sorted(seq))
    duration = (records[-1].time - started) if records else 0.0
    rate = len(records) / duration if duration > 0 else 0.0
    groups = sum(1 for c in targets if c < 0)
    print(f"{messages} messages to {len(targets)} chats ({groups} groups) against "
          f"{LIMITS.global_per_second}/s overall, {LIMITS.private_per_second}/s per chat, "
          f"{LIMITS.group_per_minute}/min per group")
    print(f"  duration         {duration:8.1f} s")
    print(f"  overall rate     {rate:8.2f} msg/s = {rate / LIMITS.global_per_second:6.1%} of the cap (target ≥ 90 %)")
    print(f"  429 answers      {tg.count_429:8d}   (target 0)")
    print(f"  lost             {lost:8d}   (must be 0)")
    print(f"  duplicates       {duplicates:8d}")
    print(f"  chats out of order {out_of_order:6d}")
    print(f"  outbox states    {dict(states)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--groups", type=int, default=3, help="how many of the chats are groups")
    args = parser.parse_args()
    if not 0 <= args.groups <= args.chats or args.chats < 1:
        parser.error("need 1 ≤ chats and 0 ≤ groups ≤ chats")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args.messages, args.chats, args.groups))


if __name__ == "__main__":
    main()
