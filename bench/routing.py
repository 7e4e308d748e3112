"""Routing bench: the cost of routing one customer message, and of `dutydesk explain` in bulk.

    python bench/routing.py [--config config.example.toml] [--messages 5000] [--warmup 500]
                            [--lines 10000] [--seed 1]

Routing one message is what the desk does on every new ticket before it commits: find the
sender's organisation, detect the language, decide the priority, and assign (or queue) on
the configured roster. Messages mix languages, senders, priorities, loads and instants
(within four weeks, as a desk sees them; and spread over 2026–2028, which keeps the
calendars' day memos cold). Figures are per message after a warm-up; `explain` is timed
over --lines jsonl lines. Prints figures only: a measurement, not a test (target: a median
of 2 ms or less per message on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app.config import Config, load_config
from bot.app.explain import build_explainer, run_jsonl
from bot.core.directory import Directory
from bot.core.domain import ClockState, ConversationRef, Status, Ticket
from bot.core.triage import Triage
from bot.flows.customer import kind_of
from bot.sla.clocks import SlaBook, build_calendars
from routing.language import LanguageDetector

TEXTS = (
    "всё упало, ничего не работает",
    "Добрый день! Не сходится отчёт по остаткам на складе за прошлый месяц.",
    "срочно: не могу войти в личный кабинет",
    "vse upalo posle obnovleniya",
    "production down since 10:00, all users affected",
    "Hi, a question about exporting invoices to CSV",
    "please answer asap, the import is broken",
    "Dzień dobry, nie działa logowanie do systemu",
    "Hej, intet virker efter opdateringen",
    "Доброго дня, не працює звіт",
    "ok",
    "спасибо",
    "Traceback (most recent call last): File \"app.py\", line 3 — ошибка при выгрузке",
)
SENDERS = (None, "telegram:200001", "telegram:200002", "telegram:200003", "telegram:200004",
           "slack:U0ACME004", "telegram:999999")


@dataclass(frozen=True)
class Message:
    text: str
    sender: str | None
    at: datetime
    loads: dict[str, tuple[int, datetime | None]]


def messages(cfg: Config, count: int, start: datetime, span: timedelta, rnd: random.Random) -> list[Message]:
    people = [e for e in cfg.engineers if e.tier == "l1"]
    minutes = int(span / timedelta(minutes=1))
    found = []
    for _ in range(count):
        loads = {
            e.id: (rnd.randint(0, e.max_open or 20), None) for e in people if rnd.random() < 0.5
        }
        found.append(Message(rnd.choice(TEXTS), rnd.choice(SENDERS),
                             start + timedelta(minutes=rnd.randrange(minutes)), loads))
    return found


class Pipeline:
    """What bot.flows.customer._open_ticket asks of routing for a new ticket, minus the storage."""

    def __init__(self, cfg: Config, detector: LanguageDetector) -> None:
        self.cfg = cfg
        self.directory = Directory(cfg, frozenset())
        self.sla = SlaBook(cfg, build_calendars(cfg))
        self.triage = Triage(cfg, self.directory, self.sla, detector)

    def route(self, msg: Message) -> tuple[int, int, int, int]:
        """Route one message; nanoseconds spent on language, priority, assignment, and the
        CPU time of the whole (the machine may be shared: wall time includes waiting)."""
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        channel, _, user = (msg.sender or "local:anonymous").partition(":")
        conversation = ConversationRef(channel, user)
        org = self.directory.organisation_of(msg.sender or "", conversation)
        plan = org.plan if org else self.cfg.desk.default_plan
        language = self.triage.language(msg.text, platform=None, org=org)
        t1 = time.perf_counter_ns()
        priority = self.triage.priority(msg.text, chosen=None, plan=plan)
        t2 = time.perf_counter_ns()
        ticket = Ticket(
            id=1, status=Status.NEW, priority=priority.priority, priority_reason=priority.reason,
            kind=kind_of(msg.text, priority.priority), language=language.language, subject=msg.text[:120],
            customer=msg.sender or "", customer_name="", org_id=org.id if org else None, plan=plan,
            customer_tz=org.timezone if org else self.cfg.desk.timezone, conversation=conversation,
            created_at=msg.at, updated_at=msg.at, clock=ClockState(running_since=msg.at),
        )
        self.triage.assign(ticket, msg.loads, msg.at)
        t3 = time.perf_counter_ns()
        return t1 - t0, t2 - t1, t3 - t2, time.thread_time_ns() - c0


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(label: str, stages: list[tuple[int, int, int, int]]) -> None:
    total = [sum(s[:3]) / 1e6 for s in stages]
    cpu = [s[3] / 1e6 for s in stages]
    parts = {name: [s[i] / 1e6 for s in stages] for i, name in enumerate(("language", "priority", "assign"))}
    print(f"{label}: {len(stages)} messages")
    print(f"  per message  median {statistics.median(total):.3f} ms   p90 {percentile(total, 90):.3f} ms"
          f"   p99 {percentile(total, 99):.3f} ms   max {max(total):.3f} ms   mean {statistics.fmean(total):.3f} ms")
    print(f"  CPU time     median {statistics.median(cpu):.3f} ms   p99 {percentile(cpu, 99):.3f} ms")
    for name, values in parts.items():
        print(f"  {name:<12} median {statistics.median(values):.3f} ms   p99 {percentile(values, 99):.3f} ms")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(Path(__file__).resolve().parent.parent / "config.example.toml"))
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    cfg = load_config(args.config)
    began = time.perf_counter()
    detector = LanguageDetector(cfg.desk.languages, default=cfg.desk.default_language)
    print(f"language models loaded in {time.perf_counter() - began:.2f} s")
    began = time.perf_counter()
    pipeline = Pipeline(cfg, detector)
    print(f"router built in {(time.perf_counter() - began) * 1e3:.1f} ms")

    rnd = random.Random(args.seed)
    month = (datetime(2026, 11, 23, tzinfo=UTC), timedelta(weeks=4))
    years = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC) - datetime(2026, 1, 1, tzinfo=UTC))
    for label, (start, span) in (("instants within four weeks", month), ("instants over 2026–2028", years)):
        for msg in messages(cfg, args.warmup, start, span, rnd):
            pipeline.route(msg)
        batch = messages(cfg, args.messages, start, span, rnd)
        report(label, [pipeline.route(msg) for msg in batch])

    explainer = build_explainer(cfg, detector)
    start, span = month
    lines = [
        json.dumps({"text": m.text, **({"from": m.sender} if m.sender else {}), "at": m.at.isoformat()},
                   ensure_ascii=False)
        for m in messages(cfg, args.lines, start, span, rnd)
    ]
    now = datetime.now(UTC)
    began, cpu = time.perf_counter(), time.process_time()
    out = sum(1 for _ in run_jsonl(explainer, lines, now))
    took, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(f"explain: {out} jsonl lines in {took:.2f} s ({took / max(out, 1) * 1e3:.3f} ms per line;"
          f" CPU {cpu:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
