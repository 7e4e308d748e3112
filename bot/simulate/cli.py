"""`dutydesk simulate`: its arguments, and one run of the baseline and the what-if."""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.config import ConfigError
from bot.simulate.arrivals import Rates, arrivals_for, rates_from_csv, reader
from bot.simulate.engine import close_run, simulate
from bot.simulate.handling import DEFAULTS, PHASES, HandlingTimes, from_settings
from bot.simulate.history import read_history
from bot.simulate.metrics import Result, measure
from bot.simulate.output import as_text, write_chart, write_csv
from bot.simulate.overlay import Scenario, cli_overlay, load_scenarios
from routing.language import LanguageDetector


def register(sub: Any) -> None:
    """Add `simulate` to the `dutydesk` command line (`sub`: its subparsers)."""
    p = sub.add_parser("simulate", help="play weeks of tickets through the real desk: staffing against the SLA")
    p.add_argument("--config", type=Path, default=Path("config.toml"), help="TOML config file (default: %(default)s)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--history", type=Path, help="a dutydesk SQLite database: arrival rates and handling times")
    source.add_argument("--arrivals", type=Path, help="CSV: hour_of_week,plan,language,priority,rate (tickets/hour)")
    p.add_argument("--from", dest="start", required=True, help="first day, e.g. 2027-03-01 (00:00 in the desk's zone)")
    p.add_argument("--weeks", type=int, default=4, help="how many weeks to play (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same run (default: %(default)s)")
    p.add_argument("--per-week", type=float, help="scale the arrival rates to about this many tickets a week")
    p.add_argument("--capacity", type=int, help="tickets an engineer works on at once (default: their max_open)")
    for phase, text in (("take", "from being given a ticket to starting on it"),
                        ("answer", "from starting to the first answer"),
                        ("resolve", "from the first answer to resolve"),
                        ("react", "from a reminder to a progress note")):
        p.add_argument(f"--{phase}", metavar="MEDIAN/P90", help=f"{text}, on-duty time: 10m/40m, or 10m fixed")
    p.add_argument("--what-if", type=Path, help="TOML overlay deep-merged onto the config (see docs/simulate.md)")
    p.add_argument("--remove-engineer", action="append", default=[], metavar="ID")
    p.add_argument("--add-engineer", action="append", default=[], metavar="ID:SHIFT:LANGS[:TIER]")
    p.add_argument("--shift", action="append", default=[], metavar="ENGINEER=SHIFT", help="move someone to a shift")
    p.add_argument("--add-orgs", action="append", default=[], metavar="PLAN:N", help="N more organisations on PLAN")
    p.add_argument("--target", action="append", default=[], metavar="PLAN[.PRIORITY].KEY=DURATION")
    p.add_argument("--csv", type=Path, help="write every figure as CSV here")
    p.add_argument("--chart", type=Path, help="write a PNG chart here (needs the `sim` extra: matplotlib)")
    p.add_argument("--keep-db", type=Path, help="keep the baseline's database here (the what-if's beside it)")
    p.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(logging.WARNING)  # the desk logs every decision at info
    print(asyncio.run(run(args)))
    return 0


@dataclass(frozen=True)
class Source:
    rates: Rates
    handling: HandlingTimes
    describe: str


async def run(args: argparse.Namespace) -> str:
    if args.weeks < 1:
        raise ConfigError("--weeks must be at least 1")
    if args.history is not None and not args.history.is_file():
        raise ConfigError(f"{args.history}: no such database")
    what_if = cli_overlay(remove=args.remove_engineer, add=args.add_engineer, shifts=args.shift,
                          add_orgs=args.add_orgs, targets=args.target)
    settings: dict[str, Any] = {"capacity": args.capacity} if args.capacity else {}
    settings |= {phase: getattr(args, phase) for phase in PHASES if getattr(args, phase)}
    baseline, changed = load_scenarios(args.config, args.what_if, what_if, settings)
    tz = ZoneInfo(baseline.config.desk.timezone)
    start = _start(args.start, tz)
    end = start + timedelta(weeks=args.weeks)
    source = await _source(args, baseline)
    rates = source.rates.scaled_total(args.per_week) if args.per_week else source.rates
    runs = [("baseline", baseline, args.keep_db)]
    if changed is not None:
        kept = args.keep_db.with_name(f"{args.keep_db.stem}-whatif{args.keep_db.suffix}") if args.keep_db else None
        runs.append(("what-if", changed, kept))
    for _, _, db in runs:
        if db is not None and db.exists():
            raise ConfigError(f"--keep-db: {db} exists; name a new file (a simulation never writes into a database)")
    results: list[Result] = []
    for label, scenario, db in runs:
        desk = scenario.config.desk
        detector = _detector(tuple(desk.languages), desk.default_language)
        arrivals = arrivals_for(rates, scenario.config, scenario.added_orgs, start, args.weeks, args.seed)
        times = from_settings(scenario.settings, source.handling)
        done = await simulate(scenario.config, arrivals, times, scenario.settings, start, end, seed=args.seed,
                              db=db, detector=detector)
        try:
            results.append(await measure(label, done.app.store, start, end, tz,
                                         {p.id: p.load for p in done.team.people.values()}, done.duty))
        finally:
            await close_run(done)
    header = [
        f"dutydesk simulate — {start:%Y-%m-%d} to {end:%Y-%m-%d} "
        f"({args.weeks} week{'s' if args.weeks > 1 else ''}, {tz.key}), seed {args.seed}",
        f"arrivals: {source.describe}, about {rates.weekly():.0f} tickets a week",
        f"handling (on-duty time): {from_settings(baseline.settings, source.handling).describe()}",
    ]
    if args.what_if or what_if:
        header.append(f"what-if: {_describe_what_if(args)}")
    if args.csv is not None:
        write_csv(results, args.csv)
        header.append(f"CSV written to {args.csv}")
    if args.chart is not None:
        write_chart(results, args.chart)
        header.append(f"chart written to {args.chart}")
    return as_text(results, header)


@lru_cache(maxsize=4)
def _detector(languages: tuple[str, ...], default: str) -> LanguageDetector:
    """Loading the language models takes seconds: once per process and set of languages."""
    return reader(list(languages), default)


def _start(text: str, tz: ZoneInfo) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f'--from "{text}": write a date, e.g. 2027-03-01') from None
    return datetime(day.year, day.month, day.day, tzinfo=tz)


async def _source(args: argparse.Namespace, baseline: Scenario) -> Source:
    if args.history is not None:
        history = await read_history(args.history, baseline.config)
        return Source(history.rates, history.handling, f"from {args.history} ({history.tickets} tickets)")
    return Source(rates_from_csv(args.arrivals), DEFAULTS, f"rates from {args.arrivals}")


def _describe_what_if(args: argparse.Namespace) -> str:
    parts = [f"overlay {args.what_if}"] if args.what_if else []
    for flag, values in (("remove", args.remove_engineer), ("add", args.add_engineer), ("shift", args.shift),
                         ("add orgs", args.add_orgs), ("target", args.target)):
        parts += [f"{flag} {v}" for v in values]
    return "; ".join(parts)
