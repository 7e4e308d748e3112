"""How long simulated engineers take, counted in their on-duty time.

Three phases per ticket and engineer: `take` (from being given the ticket, with a free
slot, to starting on it), `answer` (from starting to the first answer to the customer) and
`resolve` (from the first answer to `resolve`); and `react`, how soon an engineer who is
reminded of a ticket (a progress update coming due) writes to the customer.
Each is a distribution: a log-normal given by its median and 90th percentile (the usual
shape of service times: most quick, a long tail), a fixed time, or the samples a history
showed (drawn with replacement).

Defaults (on-duty time): take median 5m / p90 20m; answer median 15m / p90 1h; resolve
median 3h / p90 12h; react median 10m / p90 40m. On the command line `--answer 10m/45m`
(median/p90) or `--take 2m` (fixed); in the `[simulate]` table of an overlay
`answer = { median = "10m", p90 = "45m" }` or `answer = "10m/45m"`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.app.config import ConfigError
from routing.durations import parse_duration

Z90 = 1.2815515655446004  # the standard normal's 90th percentile
MIN_SAMPLES = 5  # fewer in a history: the phase keeps its default


class Distribution(Protocol):
    def draw(self, rng: random.Random) -> float:
        """Seconds."""
        ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Fixed:
    seconds: float

    def draw(self, rng: random.Random) -> float:
        return self.seconds

    def describe(self) -> str:
        return f"fixed {_minutes(self.seconds)}"


@dataclass(frozen=True)
class LogNormal:
    median_s: float
    p90_s: float

    def draw(self, rng: random.Random) -> float:
        sigma = max(0.0, math.log(self.p90_s / self.median_s) / Z90)
        return rng.lognormvariate(math.log(self.median_s), sigma)

    def describe(self) -> str:
        return f"log-normal, median {_minutes(self.median_s)}, p90 {_minutes(self.p90_s)}"


@dataclass(frozen=True)
class Empirical:
    samples: tuple[float, ...]

    def draw(self, rng: random.Random) -> float:
        return self.samples[rng.randrange(len(self.samples))]

    def describe(self) -> str:
        ordered = sorted(self.samples)
        median = ordered[len(ordered) // 2]
        return f"{len(ordered)} samples from the history, median {_minutes(median)}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f}m" if seconds < 5400 else f"{seconds / 3600:.1f}h"


@dataclass(frozen=True)
class HandlingTimes:
    take: Distribution
    answer: Distribution
    resolve: Distribution
    react: Distribution

    def describe(self) -> str:
        return "; ".join(f"{name}: {getattr(self, name).describe()}" for name in PHASES)


PHASES = ("take", "answer", "resolve", "react")


DEFAULTS = HandlingTimes(
    take=LogNormal(5 * 60, 20 * 60),
    answer=LogNormal(15 * 60, 60 * 60),
    resolve=LogNormal(3 * 3600, 12 * 3600),
    react=LogNormal(10 * 60, 40 * 60),
)


def from_settings(settings: Mapping[str, Any], base: HandlingTimes = DEFAULTS) -> HandlingTimes:
    """`base`, with the phases the `[simulate]` table gives replaced."""
    phases = {name: getattr(base, name) for name in PHASES}
    for name in phases:
        if name in settings:
            phases[name] = _parse(name, settings[name])
    return HandlingTimes(**phases)


def _parse(name: str, value: Any) -> Distribution:
    try:
        if isinstance(value, str) and "/" in value:
            value = dict(zip(("median", "p90"), value.split("/", 1), strict=True))
        if isinstance(value, str):
            return Fixed(0.0 if value.strip() in ("0", "0m") else parse_duration(value).total_seconds())
        if isinstance(value, Mapping) and set(value) == {"median", "p90"}:
            median = parse_duration(value["median"]).total_seconds()
            p90 = parse_duration(value["p90"]).total_seconds()
            if 0 < median <= p90:
                return LogNormal(median, p90)
    except (TypeError, ValueError):
        pass
    raise ConfigError(f'{name}: write "10m" (fixed), "10m/40m" or {{ median = "10m", p90 = "40m" }} (median ≤ p90)')


def from_samples(answer: Sequence[float], resolve: Sequence[float]) -> HandlingTimes:
    """A history's times. It records when a ticket was given to an engineer and when they
    answered, not when they started on it: the take is inside the answer samples."""
    return HandlingTimes(
        take=Fixed(0.0),
        answer=Empirical(tuple(answer)) if len(answer) >= MIN_SAMPLES else DEFAULTS.answer,
        resolve=Empirical(tuple(resolve)) if len(resolve) >= MIN_SAMPLES else DEFAULTS.resolve,
        react=DEFAULTS.react,
    )
