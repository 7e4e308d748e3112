"""Everything the desk says to people, in the reader's language, from gettext catalogues.

Customers read the desk in their own language: every customer text exists in each of
`CUSTOMER_LANGUAGES` (the languages with a `customer` catalogue). A language detection may
choose but that has no texts is read in the language `[desk] text_fallback` names for it
(the example: Belarusian and Kazakh speakers read Russian rather than English) — the config
is refused otherwise, so no customer gets another language silently. Staff texts exist in
each of `STAFF_LANGUAGES`. The language is always the recipient's, passed in by the caller
(not the language of the update being handled, as a middleware would have it).

Texts are looked up by key (`text("ack_assigned", "ru", ticket=…)`); counts choose the
plural form the catalogue's `Plural-Forms` says (`ntext("truncated", 3, "ru", count=3)`).
Times, durations and names of languages come from Babel's CLDR data in the reader's locale.
`make i18n` extracts the keys these functions are called with (and `customer_key` /
`staff_key` marks), updates the catalogues and compiles them: docs/languages.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.lists import format_list
from babel.units import format_unit

from bot.i18n.catalogs import CUSTOMER, STAFF, catalogue, languages
from routing.calendar import BusinessCalendar
from routing.reasons import At, Hours, Lang, Reason
from routing.reasons import language_name as english_language_name

CUSTOMER_LANGUAGES = languages(CUSTOMER)
STAFF_LANGUAGES = languages(STAFF)
REASON = "reason"  # the message context of reasons in the staff catalogue
_fallback: dict[str, str] = {}


def use_fallback(fallback: Mapping[str, str]) -> None:
    """The configured per-language fallback (`[desk] text_fallback`), set when the desk is
    built: one desk runs per process, and every text it renders follows its config."""
    _fallback.clear()
    _fallback.update(fallback)
    _worded.cache_clear()  # dates in reasons are written in the fallback's words


def language_for(language: str | None) -> str:
    """The catalogue language a customer reading `language` gets: their own, the fallback
    the config names for it, else English (config validation makes sure that every
    language detection can choose has one of the first two)."""
    if language in CUSTOMER_LANGUAGES:
        return language
    return _fallback.get(language or "", "en")


def customer_key(key: str) -> str:
    """Marks a customer text's key chosen at run time, so that extraction finds it."""
    return key


def staff_key(key: str) -> str:
    """Marks a staff text's key chosen at run time, so that extraction finds it."""
    return key


def text(key: str, language: str | None, **values: object) -> str:
    """A customer text (read by anyone) in `language`, or the fallback it reads, filled in."""
    return catalogue(CUSTOMER, language_for(language)).gettext(key).format(**values)


def ntext(key: str, n: int, language: str | None, **values: object) -> str:
    """A customer text whose wording depends on the count `n` (its plural form)."""
    return catalogue(CUSTOMER, language_for(language)).ngettext(key, key, n).format(**values)


def staff_text(key: str, language: str, **values: object) -> str:
    """A staff text in a staff language (no customer fallback applies)."""
    return catalogue(STAFF, language).gettext(key).format(**values)


def staff_ntext(key: str, n: int, language: str, **values: object) -> str:
    """A staff text whose wording depends on the count `n`."""
    return catalogue(STAFF, language).ngettext(key, key, n).format(**values)


def desk_reason(key: str, **values: object) -> Reason:
    """One of the desk's own reasons; its English (for the event log) from the catalogue."""
    return Reason(key, catalogue(STAFF, "en").pgettext(REASON, key), tuple(values.items()))


def reasons(items: Iterable[Reason | str], language: str, tz: str) -> str:
    """Reasons in a staff reader's words; a reason a person typed stays as typed."""
    return "; ".join(reason(item, language, tz) for item in items)


def reason(item: Reason | str, language: str, tz: str) -> str:
    if isinstance(item, str):
        return item
    try:
        return _worded(item, language, tz)
    except TypeError:  # a value that cannot be hashed: worded afresh
        return _word(item, language, tz)


@lru_cache(maxsize=1024)
def _worded(item: Reason, language: str, tz: str) -> str:
    """Remembered: a queued ticket's lead alert words the same few reasons for each lead."""
    return _word(item, language, tz)


def _word(item: Reason, language: str, tz: str) -> str:
    words = catalogue(STAFF, language)
    return item.word(lambda r: _phrase(words.pgettext(REASON, r.key), r), lambda value: _value(value, language, tz))


def _phrase(found: str, item: Reason) -> str:
    """The catalogue's wording of a reason; routing's English for one it does not know."""
    return item.english if found == item.key else found


def _value(value: object, language: str, tz: str) -> str:
    """A reason's value the reader's way: names of languages in their language, instants in
    their zone, opening hours with their weekday names."""
    if isinstance(value, Reason | str):
        return reason(value, language, tz)
    if isinstance(value, Lang):
        return language_name(value.code, language)
    if isinstance(value, At):
        return when(value.instant, tz, language)
    if isinstance(value, Hours):
        return hours(value.calendar, language)
    return str(value)


@lru_cache(maxsize=256)
def language_name(code: str, language: str) -> str:
    """A language's name in `language`, from Babel's CLDR data ("Kazakh", "казахский")."""
    try:
        return str(Locale.parse(language).languages.get(code) or english_language_name(code))
    except (ValueError, LookupError):
        return english_language_name(code)


def hours(calendar: BusinessCalendar, language: str) -> str:
    """A calendar's opening hours as `BusinessCalendar.describe` says them, in `language`."""
    if language == "en" or calendar.hours is None:
        return calendar.describe()
    days = tuple(d.capitalize() for d in _names(language)[0])
    text = f"{calendar.hours.describe(days)} {calendar.tz}"
    found = calendar.holidays
    parts = []
    if found.country:
        parts.append(staff_text("hours_holidays", language,
                                where=f"{found.country}/{found.subdiv}" if found.subdiv else found.country))
    if found.extra:
        parts.append(staff_text("hours_extra", language, count=len(found.extra)))
    if found.workdays:
        parts.append(staff_text("hours_workdays", language, count=len(found.workdays)))
    return ", ".join([text, *parts])


@lru_cache(maxsize=32)
def _names(language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Abbreviated weekday (Monday first) and month names, as dates are written in the
    language — from Babel's CLDR data once, not on every date."""
    locale = Locale.parse(language)
    days = locale.days["format"]["abbreviated"]
    months = locale.months["format"]["abbreviated"]
    return tuple(days[i] for i in range(7)), tuple(months[i] for i in range(1, 13))


def when(instant: datetime, tz: str, language: str | None) -> str:
    """A deadline as a person reads it: weekday, date, time, and the zone it is in."""
    return _when(instant, tz, language_for(language))


@lru_cache(maxsize=1024)
def _when(instant: datetime, tz: str, language: str) -> str:
    local = instant.astimezone(ZoneInfo(tz))
    days, months = _names(language)
    return f"{days[local.weekday()]} {local.day} {months[local.month - 1]} {local:%H:%M} ({tz})"


_UNITS = (("duration-day", 86400), ("duration-hour", 3600), ("duration-minute", 60))


@lru_cache(maxsize=256)
def duration(span: timedelta, language: str) -> str:
    """A duration in words of the reader's language, exact to the minute: "1 день 2 часа",
    "1 day, 2 hours". Babel's `format_timedelta` rounds to one unit, so each unit is Babel's
    `format_unit` and they are joined as CLDR joins units (`format_list`, style "unit")."""
    seconds = max(int(span.total_seconds()), 0)
    parts = []
    for unit, size in _UNITS:
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(format_unit(amount, unit, length="long", locale=language))
    return format_list(parts, style="unit", locale=language) if parts else \
        format_unit(0, "duration-minute", length="long", locale=language)
