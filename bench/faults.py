"""Fault bench: kill -9 the real `dutydesk run` during a burst of customers, count the damage.

    python bench/faults.py [--customers 200] [--messages 2] [--kills 3] [--mode polling|webhook]

Set-up: the Telegram Bot API stand-in (tests/standins, loopback, no flood limits of its
own) with --customers customers, the example roster's engineers (who have started the
bot) and the example's staff forum group; `config.example.toml` with Telegram switched on
and pointed at the stand-in, a temporary SQLite file. The desk paces itself to
Telegram's 30 messages a second overall, but not to its per-chat limits (one a second,
twenty a minute in a group), which would stretch the burst's 400 messages into the one
staff group over twenty minutes; --unpaced lifts the overall limit too: the worst case
for at-least-once duplicates, as every chat's message is in flight at once. Every customer's --messages messages are
queued before the first start: customers × messages updates, one burst.

The real process (`python -m bot.app.cli run`) is started --kills + 1 times. Life k is killed
with SIGKILL at a point that alternates between intake and delivery: once k/(kills+1) of
the updates are confirmed to Telegram, or once 60 more messages reached Telegram since it
started, whichever the life is for; the last life runs until every update is confirmed and
the outbox is empty, then gets SIGTERM.

Prints, from the stand-in's and the database's records:
- lost messages: customer messages Telegram confirmed (or still holds) that the database
  does not have — target 0;
- duplicate tickets: tickets beyond the first per customer (each customer's messages are
  one conversation) — target 0;
- duplicate acknowledgements: customers who received their acknowledgement more than once.
  Delivery is at-least-once: a kill between Telegram taking a message and the outbox
  booking it sends it again on restart, so this counts honestly what that costs;
- the same for staff-topic copies and topics, dead letters, and the outbox's end state.
A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app.config import load_config
from tests.desks import free_port, set_key
from tests.standins.telegram_api import TelegramStandIn

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"
TOKEN = "7700001:fault-bench-token"
WEBHOOK_SECRET = "fault-bench-secret"
STAFF = -1001234567890  # the example's staff forum
FIRST_CUSTOMER = 600_001
SENDS_PER_DELIVERY_KILL = 60  # a life killed during delivery: after this many messages reached Telegram
SETTLE_TIMEOUT = 300.0

TEXTS = (
    "Добрый день! Не выгружается отчёт по продажам за месяц, ошибка 500.",
    "Hello, the invoice export stopped working this morning.",
    "Dzień dobry, nie działa logowanie do panelu.",
    "Подскажите, как добавить нового пользователя?",
    "Our integration with SAP returns a timeout since 10:40.",
)


def write_config(tmp: Path, api_base: str, mode: str, unpaced: bool) -> Path:
    port = free_port()
    text = EXAMPLE.read_text(encoding="utf-8")
    settings: dict[tuple[str, str], object] = {
        ("telegram", "enabled"): True, ("telegram", "api_base"): api_base,
        ("telegram", "mode"): mode, ("telegram", "polling_timeout"): 1,
        ("telegram", "webhook_url"): f"http://127.0.0.1:{port}/telegram/webhook",
        ("telegram", "per_second"): 1000 if unpaced else 30,
        ("telegram", "per_chat_per_second"): 1000,
        ("telegram", "per_group_per_minute"): 100000,
        ("http", "port"): port, ("storage", "url"): f"sqlite:///{tmp / 'faults.db'}",
        ("delivery", "retry_base_seconds"): 0.2, ("delivery", "retry_max_seconds"): 2.0,
    }
    for (section, key), value in settings.items():
        text = set_key(text, section, key, value)
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Life:
    number: int
    trigger: str
    uptime: float = 0.0
    confirmed: int = 0
    sent: int = 0
    booked: int = 0


class Bench:
    def __init__(self, tg: TelegramStandIn, config: Path, db: Path, updates: int) -> None:
        self.tg = tg
        self.config = config
        self.db = db
        self.updates = updates
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}

    def confirmed(self) -> int:
        return self.updates - len(self.tg.pending_updates)

    def sends(self) -> int:
        return sum(1 for s in self.tg.sent if s.method in ("sendMessage", "copyMessage", "copyMessages"))

    async def start(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.app.cli", "--log-level", "warning", "run", "--config", str(self.config),
            env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )

    async def life(self, life: Life, kills: int) -> None:
        started, sent_before = time.monotonic(), self.sends()
        process = await self.start()
        if life.trigger == "intake":
            goal = self.updates * life.number // (kills + 1)  # this share of the burst confirmed
            await self.tg.wait_for(lambda tg: self.confirmed() >= goal, timeout=SETTLE_TIMEOUT)
        else:
            await self.tg.wait_for(lambda tg: self.sends() >= sent_before + SENDS_PER_DELIVERY_KILL,
                                   timeout=SETTLE_TIMEOUT)
        process.kill()  # SIGKILL: no shutdown, no flush, locks dropped by the kernel
        await process.wait()
        life.uptime, life.confirmed, life.sent = time.monotonic() - started, self.confirmed(), self.sends()
        life.booked = self.booked()

    async def last_life(self) -> float:
        started = time.monotonic()
        process = await self.start()
        try:
            await self.tg.wait_for(lambda tg: not tg.pending_updates, timeout=SETTLE_TIMEOUT)
            while self.pending_outbox() or self.stored_messages() < self.updates:
                if time.monotonic() - started > SETTLE_TIMEOUT:
                    print("  (the desk did not settle in time: figures below are as found)")
                    break
                await asyncio.sleep(0.25)  # a bench polling a database, not a test's timing
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
        return time.monotonic() - started

    def query(self, sql: str) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def booked(self) -> int:
        return int(self.query("SELECT count(*) FROM outbox WHERE state = 'sent'")[0][0])

    def pending_outbox(self) -> int:
        return int(self.query("SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0])

    def stored_messages(self) -> int:
        return int(self.query("SELECT count(*) FROM messages WHERE direction = 'customer'")[0][0])


def report(bench: Bench, customers: list[int], burst: dict[int, list[int]]) -> None:
    tg = bench.tg
    stored = {(int(chat), int(pid)) for chat, pid in bench.query(
        "SELECT chat_id, platform_id FROM messages WHERE direction = 'customer'")}
    # Album parts merge into one row; this burst has none, so every message is a row.
    lost = [(c, m) for c, ids in burst.items() for m in ids if (c, m) not in stored]
    tickets = Counter(int(str(c).split(":")[1]) for (c,) in bench.query("SELECT customer FROM tickets"))
    duplicate_tickets = sum(n - 1 for n in tickets.values() if n > 1)
    to_customer = Counter(s.chat_id for s in tg.sent if s.chat_id in burst and s.method == "sendMessage")
    twice_acked = sum(1 for c in customers if to_customer[c] > 1)
    extra_acks = sum(n - 1 for n in to_customer.values() if n > 1)
    copies = Counter(s.copied_from for s in tg.sent if s.chat_id == STAFF and s.copied_from is not None)
    extra_copies = sum(n - 1 for n in copies.values() if n > 1)
    topics = len(tg.topics(STAFF, include_deleted=True))
    outbox = dict(bench.query("SELECT state, count(*) FROM outbox GROUP BY state"))
    dead = int(bench.query("SELECT count(*) FROM dead_letters")[0][0])
    messages = sum(len(ids) for ids in burst.values())
    print(f"lost messages:             {len(lost)} of {messages}   (target 0)")
    print(f"duplicate tickets:         {duplicate_tickets} ({len(tickets)} tickets for {len(customers)} customers; "
          f"target 0)")
    print(f"duplicate acknowledgements: {extra_acks} ({twice_acked} of {len(customers)} customers got theirs more "
          "than once: at-least-once, a kill between Telegram taking it and the outbox booking it)")
    print(f"duplicate staff copies:    {extra_copies} of {len(copies)} copied messages; staff topics {topics} for "
          f"{len(tickets)} tickets")
    print(f"set aside (dead letters):  {dead}")
    print(f"outbox at the end:         {', '.join(f'{n} {state}' for state, n in sorted(outbox.items()))}")


async def run(customer_count: int, per_customer: int, kills: int, mode: str, unpaced: bool) -> None:
    cfg = load_config(EXAMPLE)
    engineers = [int(i.split(":")[1]) for e in cfg.engineers for i in e.identities if i.startswith("telegram:")]
    customers = [FIRST_CUSTOMER + n for n in range(customer_count)]
    with tempfile.TemporaryDirectory() as tmp:
        async with TelegramStandIn(token=TOKEN, bot_username="dutydesk_bot", limits=None) as tg:
            for user in engineers:
                tg.add_user(user, f"Engineer {user}", language_code="en")
                tg.add_private_chat(user)
            tg.add_group(STAFF, "Support staff", forum=True, members=engineers)
            burst: dict[int, list[int]] = {}
            for n, user in enumerate(customers):
                tg.add_user(user, f"Customer {user}", language_code="ru" if n % 2 else "en")
            for round_ in range(per_customer):
                for n, user in enumerate(customers):
                    text = TEXTS[(n + round_) % len(TEXTS)] if round_ == 0 else f"Дополнение {round_}: скриншот ниже."
                    burst.setdefault(user, []).append(tg.user_sends(user, text)["message_id"])
            updates = customer_count * per_customer
            bench = Bench(tg, write_config(Path(tmp), tg.api_base, mode, unpaced), Path(tmp) / "faults.db", updates)
            pacing = "unpaced" if unpaced else "paced 30 messages/s overall"
            print(f"fault bench: {customer_count} customers × {per_customer} messages = {updates} updates, "
                  f"Telegram {mode}, {pacing}, {kills} × kill -9 of the real dutydesk run")
            started = time.monotonic()
            for k in range(1, kills + 1):
                # During intake while there is intake left to cut into, else during delivery.
                goal = updates * k // (kills + 1)
                life = Life(k, "intake" if k % 2 and bench.confirmed() < goal else "delivery")
                await bench.life(life, kills)
                print(f"  life {k}: kill -9 during {life.trigger} after {life.uptime:.1f} s — "
                      f"{life.confirmed}/{updates} updates confirmed, {life.sent} messages at Telegram so far, "
                      f"{life.booked} outbox rows booked as sent")
            settled = await bench.last_life()
            print(f"  life {kills + 1}: settled in {settled:.1f} s (SIGTERM); "
                  f"{time.monotonic() - started:.1f} s in all")
            report(bench, customers, burst)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2, help="messages per customer")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--mode", choices=["polling", "webhook"], default="polling")
    parser.add_argument("--unpaced", action="store_true", help="lift the desk's own send limits")
    args = parser.parse_args()
    asyncio.run(run(args.customers, args.messages, args.kills, args.mode, args.unpaced))


if __name__ == "__main__":
    main()
