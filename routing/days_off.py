"""Days off: a country's public holidays (the `holidays` package), extra days off and
transferred working days, as one predicate the calendars and shifts ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import holidays as holidays_lib


@lru_cache(maxsize=512)
def _public_holidays(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    # Building a `holidays` table is slow and calendars ask once per day they walk over.
    return frozenset(holidays_lib.country_holidays(country, subdiv=subdiv, years=year))


@lru_cache(maxsize=64)
def _check_supported(country: str, subdiv: str | None) -> None:
    # Cached: asking the package costs about half a millisecond, and calendars are built often.
    try:
        holidays_lib.country_holidays(country, subdiv=subdiv)
    except NotImplementedError as exc:
        raise ValueError(f"holidays: {exc}") from exc


@dataclass(frozen=True)
class Holidays:
    """Days on which an otherwise open day is closed.

    `workdays` wins over everything: it is how transferred working days (a Saturday worked in
    exchange for a bridge day) are written down, and those are rarely in the holidays package.
    """

    country: str | None = None
    subdiv: str | None = None
    extra: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Accept any collection of dates from config; store what hashing and caching need.
        object.__setattr__(self, "extra", frozenset(self.extra))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        if self.country is not None:
            _check_supported(self.country, self.subdiv)
        elif self.subdiv is not None:
            raise ValueError(f'holiday subdivision "{self.subdiv}" needs a country')

    def is_holiday(self, d: date) -> bool:
        if d in self.workdays:
            return False
        if d in self.extra:
            return True
        return self.country is not None and d in _public_holidays(self.country, self.subdiv, d.year)

    def describe(self) -> str:
        parts = []
        if self.country:
            where = f"{self.country}/{self.subdiv}" if self.subdiv else self.country
            parts.append(f"{where} holidays")
        if self.extra:
            parts.append(_count(len(self.extra), "extra day off", "extra days off"))
        if self.workdays:
            parts.append(_count(len(self.workdays), "transferred working day", "transferred working days"))
        return ", ".join(parts)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
