"""When tickets arrive: expected tickets per hour of the week, by plan, language and priority.

Rates come from a history (an existing dutydesk database: its tickets counted per hour of
week, divided by the weeks it spans) or from a CSV. The hour of the week is counted from
Monday 00:00 in the desk's home time zone (`[desk] timezone`): 0 is Monday 00:00–01:00,
167 Sunday 23:00–24:00. Arrivals are a Poisson process with the hour's rate, drawn from one
`random.Random(seed)` in a fixed order, so a seed gives the same tickets every time.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app.config import Config, ConfigError
from bot.core.domain import Priority
from routing.language import LanguageDetector

HOURS_PER_WEEK = 168
HOUR = timedelta(hours=1)

# What simulated customers write: a neutral request per language (no priority phrases, so
# the priority is the one the arrival chose), long enough for detection to be sure.
TEXTS = {
    "en": "Hello, the monthly report shows wrong totals for the warehouse, could you please check it?",
    "ru": "Добрый день, ежемесячный отчёт показывает неверные итоги по складу, проверьте, пожалуйста.",
    "uk": "Добрий день, щомісячний звіт показує неправильні підсумки по складу, перевірте, будь ласка.",
    "be": "Добры дзень, штомесячная справаздача паказвае няправільныя вынікі па складзе, праверце, калі ласка.",
    "kk": "Сәлеметсіз бе, айлық есеп қойма бойынша қате қорытынды көрсетеді, тексеріп беріңізші.",
    "pl": "Dzień dobry, miesięczny raport pokazuje błędne sumy dla magazynu, czy mogą Państwo to sprawdzić?",
    "da": "Goddag, månedsrapporten viser forkerte totaler for lageret, kan I venligst kontrollere det?",
}


@dataclass(frozen=True, order=True)
class Stream:
    """One kind of ticket: its plan, language and priority."""

    plan: str
    language: str
    priority: Priority


@dataclass(frozen=True)
class Arrival:
    index: int  # stable across baseline and what-if: the same ticket gets the same draws
    at: datetime
    stream: Stream
    org_id: str | None

    @property
    def customer(self) -> str:
        return f"sim-c{self.index}"

    @property
    def text(self) -> str:
        return TEXTS.get(self.stream.language, TEXTS["en"])


@dataclass(frozen=True)
class Rates:
    """Expected tickets per hour, by hour of the week and stream."""

    per_hour: Mapping[tuple[int, Stream], float]

    def weekly(self) -> float:
        return sum(self.per_hour.values())

    def scaled(self, plan: str, factor: float) -> Rates:
        """The rates of one plan only, times `factor` (more customers on it)."""
        return Rates({k: v * factor for k, v in self.per_hour.items() if k[1].plan == plan})

    def scaled_total(self, weekly: float) -> Rates:
        """The same shape with `weekly` tickets a week in all (a bench's volume)."""
        factor = weekly / self.weekly() if self.weekly() else 0.0
        return Rates({k: v * factor for k, v in self.per_hour.items()})


def hour_of_week(at: datetime, tz: ZoneInfo) -> int:
    local = at.astimezone(tz)
    return local.weekday() * 24 + local.hour


def rates_from_csv(path: Path) -> Rates:
    """Columns `hour_of_week,plan,language,priority,rate`; `hour_of_week` may be `*` (every
    hour of the week); rate is tickets per hour."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    found: dict[tuple[int, Stream], float] = defaultdict(float)
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            stream = Stream(row["plan"].strip(), row["language"].strip(), Priority.parse(row["priority"]))
            rate = float(row["rate"])
            hours = range(HOURS_PER_WEEK) if row["hour_of_week"].strip() == "*" else [int(row["hour_of_week"])]
        except (KeyError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{path}:{line}: want hour_of_week,plan,language,priority,rate ({exc})") from None
        if rate < 0 or any(not 0 <= h < HOURS_PER_WEEK for h in hours):
            raise ConfigError(f"{path}:{line}: hour_of_week is 0–167 or *, and rate is not negative")
        for hour in hours:
            found[(hour, stream)] += rate
    return Rates(dict(found))


def rates_from_tickets(tickets: Iterable[tuple[datetime, Stream]], tz: ZoneInfo) -> Rates:
    """Count a history's tickets per hour of week and divide by the weeks it spans."""
    rows = list(tickets)
    if not rows:
        return Rates({})
    first, last = min(at for at, _ in rows), max(at for at, _ in rows)
    weeks = max(1.0, round((last - first) / timedelta(weeks=1)))
    counts: dict[tuple[int, Stream], float] = defaultdict(float)
    for at, stream in rows:
        counts[(hour_of_week(at, tz), stream)] += 1 / weeks
    return Rates(dict(counts))


def generate(rates: Rates, start: datetime, weeks: int, rng: random.Random, tz: ZoneInfo,
             *, first_index: int = 0) -> list[tuple[int, datetime, Stream]]:
    """A Poisson process per hour: exponential gaps at the hour's total rate, each ticket's
    stream drawn by its share of that hour."""
    by_hour: dict[int, list[tuple[Stream, float]]] = defaultdict(list)
    for (hour, stream), rate in sorted(rates.per_hour.items()):
        if rate > 0:
            by_hour[hour].append((stream, rate))
    out: list[tuple[int, datetime, Stream]] = []
    hour_start = start
    for _ in range(weeks * HOURS_PER_WEEK):
        choices = by_hour.get(hour_of_week(hour_start, tz), [])
        total = sum(rate for _, rate in choices)
        offset = rng.expovariate(total) if total else 1.0
        while offset < 1.0:
            stream = rng.choices([s for s, _ in choices], weights=[r for _, r in choices])[0]
            out.append((first_index + len(out), hour_start + offset * HOUR, stream))
            offset += rng.expovariate(total)
        hour_start += HOUR
    return out


def place(drawn: Sequence[tuple[int, datetime, Stream]], orgs_by_plan: Mapping[str, Sequence[str]],
          default_plan: str, seed: int) -> list[Arrival]:
    """Give each ticket an organisation on its plan (uniformly, from its own draw)."""
    out = []
    for index, at, stream in drawn:
        orgs = orgs_by_plan.get(stream.plan, ())
        if not orgs and stream.plan != default_plan:
            raise ConfigError(f'arrivals on plan "{stream.plan}", but no organisation is on it')
        org = random.Random(f"{seed}:org:{index}").choice(list(orgs)) if orgs else None
        out.append(Arrival(index, at, stream, org))
    return out


def orgs_by_plan(cfg: Config, skip: Iterable[str] = ()) -> dict[str, list[str]]:
    skipped = set(skip)
    found: dict[str, list[str]] = defaultdict(list)
    for org in cfg.organisations:
        if org.id not in skipped:
            found[org.plan].append(org.id)
    return dict(found)


def arrivals_for(
    rates: Rates, cfg: Config, added: Mapping[str, list[str]], start: datetime, weeks: int, seed: int,
) -> list[Arrival]:
    """The baseline's tickets, then those of organisations a what-if added (each new one
    writes as often as the plan's others do), from a stream of draws of their own so the
    baseline's tickets stay the same."""
    tz = ZoneInfo(cfg.desk.timezone)
    new_ids = [org for orgs in added.values() for org in orgs]
    existing = orgs_by_plan(cfg, skip=new_ids)
    drawn = generate(rates, start, weeks, random.Random(seed), tz)
    out = place(drawn, existing, cfg.desk.default_plan, seed)
    for plan, orgs in sorted(added.items()):
        per_org = rates.scaled(plan, len(orgs) / max(1, len(existing.get(plan, ()))))
        extra = generate(per_org, start, weeks, random.Random(f"{seed}:added:{plan}"), tz,
                         first_index=len(out) + 1_000_000)
        out += place(extra, {plan: orgs}, cfg.desk.default_plan, seed)
    return sorted(out, key=lambda a: (a.at, a.index))


def reader(languages: Sequence[str], default: str) -> LanguageDetector:
    """The language detector for a simulation: the desk's own, remembering each text's
    reading — simulated customers write one text per language (`TEXTS`), so the models
    score each once instead of once per ticket (≈ 7 % of a run)."""
    return LanguageDetector(languages, default=default, remember=len(TEXTS) * 4)
