from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from random import Random
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.calendar import WeeklyHours
from routing.reasons import reason
from routing.roster import DutyWindow, Engineer, Override, Roster, Rotation, Shift

MSK = ZoneInfo("Europe/Moscow")
WAW = ZoneInfo("Europe/Warsaw")


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def waw(*args: int) -> datetime:
    return datetime(*args, tzinfo=WAW)


def shift(name: str, tz: str, hours: dict, observe_holidays: bool = True) -> Shift:
    return Shift(name, tz, WeeklyHours.parse(hours), observe_holidays)


SHIFTS = {
    s.name: s
    for s in (
        shift("moscow_day", "Europe/Moscow", {"mon-fri": "10:00-19:00"}),
        shift("warsaw_day", "Europe/Warsaw", {"mon-fri": "09:00-17:00"}),
        shift("night", "Europe/Moscow", {"mon-fri": "19:00-10:00"}, observe_holidays=False),
        shift("watch", "Europe/Moscow", {"daily": "00:00-24:00"}, observe_holidays=False),
        shift("sun_night", "Europe/Moscow", {"sun": "19:00-10:00"}, observe_holidays=False),
    )
}


def engineer(id: str, languages: str, country: str | None, **kw: object) -> Engineer:
    return Engineer(id, id.title(), frozenset(languages.split()), "Europe/Moscow", country, **kw)


ENGINEERS = {
    e.id: e
    for e in (
        engineer("anna", "ru en", "RU", shift="moscow_day", skills=frozenset({"finance", "local:ru"})),
        engineer("marek", "pl en", "PL", shift="moscow_day", skills=frozenset({"scm", "local:pl"})),
        engineer("piotr", "pl en", "PL", shift="warsaw_day", skills=frozenset({"tech"})),
        engineer("ivan", "ru en", "RU", shift="night", skills=frozenset({"tech"})),
        engineer("dmitri", "ru en", "RU"),
        engineer("olga", "en", "RU"),
        engineer("kate", "en", "DK"),
        engineer("leo", "en", "DK"),
        engineer("eva", "en", "RU", tier="ee", shift="moscow_day", skills=frozenset({"finance"})),
        engineer("sam", "en", None, tier="se", role="lead"),
    )
}

ROTATIONS = (
    Rotation("watch", "watch", ("dmitri", "olga"), start=date(2026, 11, 2)),
    Rotation("sundays", "sun_night", ("kate", "leo"), start=date(2026, 11, 2)),
)

ROSTER = Roster(ENGINEERS, SHIFTS, ROTATIONS)


def is_on(roster: Roster, who: str, at: datetime) -> bool:
    return any(e.id == who for e in roster.on_duty(at))


# --------------------------------------------------------------------------- table


@pytest.mark.parametrize(
    ("who", "at", "via"),
    [
        ("anna", msk(2026, 11, 17, 11, 0), "shift moscow_day"),  # Tuesday
        ("anna", msk(2026, 11, 17, 23, 0), None),
        ("anna", msk(2026, 11, 17, 19, 0), None),  # end is exclusive
        ("anna", msk(2026, 11, 17, 10, 0), "shift moscow_day"),
        ("anna", msk(2026, 11, 21, 11, 0), None),  # Saturday
        ("ivan", msk(2026, 11, 18, 2, 0), "shift night"),  # Wednesday night
        ("ivan", msk(2026, 11, 21, 2, 0), "shift night"),  # Friday's night runs into Saturday
        ("ivan", msk(2026, 11, 21, 12, 0), None),
        ("ivan", msk(2026, 11, 22, 23, 0), None),  # no Sunday night shift
        ("ivan", msk(2026, 11, 17, 11, 0), None),
        # 4 Nov 2026 (Wednesday) is Unity Day in Russia, not in Poland.
        ("anna", msk(2026, 11, 4, 11, 0), None),
        ("marek", msk(2026, 11, 4, 11, 0), "shift moscow_day"),
        ("ivan", msk(2026, 11, 4, 23, 0), "shift night"),  # the night shift ignores holidays
        # Warsaw changes to summer time on 29 March 2026: 09:00 local is 08:00Z, then 07:00Z.
        ("piotr", datetime(2026, 3, 27, 7, 30, tzinfo=UTC), None),
        ("piotr", datetime(2026, 3, 27, 8, 0, tzinfo=UTC), "shift warsaw_day"),
        ("piotr", datetime(2026, 3, 30, 7, 0, tzinfo=UTC), "shift warsaw_day"),
        ("piotr", datetime(2026, 3, 30, 14, 59, tzinfo=UTC), "shift warsaw_day"),
        ("piotr", datetime(2026, 3, 30, 15, 0, tzinfo=UTC), None),
        # Weekly rotation, hand-over at Monday 00:00 Moscow.
        ("dmitri", msk(2026, 11, 1, 12, 0), None),  # before the rotation starts
        ("dmitri", msk(2026, 11, 2, 0, 0), "rotation watch (week 1)"),
        ("dmitri", datetime(2026, 11, 8, 23, 59, 59, tzinfo=MSK), "rotation watch (week 1)"),
        ("dmitri", msk(2026, 11, 9, 0, 0), None),
        ("olga", datetime(2026, 11, 8, 23, 59, 59, tzinfo=MSK), None),
        ("olga", msk(2026, 11, 9, 0, 0), "rotation watch (week 2)"),
        ("dmitri", msk(2026, 11, 16, 0, 0), "rotation watch (week 3)"),
        # A Sunday night belongs to whoever started it, past the Monday hand-over.
        ("kate", msk(2026, 11, 8, 20, 0), "rotation sundays (week 1)"),
        ("kate", msk(2026, 11, 9, 2, 0), "rotation sundays (week 1)"),
        ("leo", msk(2026, 11, 9, 2, 0), None),
        ("leo", msk(2026, 11, 15, 20, 0), "rotation sundays (week 2)"),
        ("leo", msk(2026, 11, 16, 9, 59), "rotation sundays (week 2)"),
        ("leo", msk(2026, 11, 16, 10, 0), None),
    ],
)
def test_duty_table(who: str, at: datetime, via: str | None) -> None:
    window = ROSTER.duty_at(who, at)
    assert (str(window.via) if window else None) == via
    assert is_on(ROSTER, who, at) == (via is not None)
    if window is not None:
        assert window.start <= at < window.end
        assert window.start.tzinfo is UTC and window.end.tzinfo is UTC


def test_unity_day_is_a_weekday_holiday_in_russia_only() -> None:
    assert date(2026, 11, 4).weekday() == 2
    assert date(2026, 11, 4) in holidays_lib.country_holidays("RU", years=2026)
    assert date(2026, 11, 4) not in holidays_lib.country_holidays("PL", years=2026)


def test_duty_window_has_true_ends() -> None:
    assert ROSTER.duty_at("anna", msk(2026, 11, 17, 11, 0)) == DutyWindow(
        "anna", msk(2026, 11, 17, 10, 0), msk(2026, 11, 17, 19, 0), reason("via_shift", shift="moscow_day")
    )
    # The night shift Fri 19:00 -> Sat 10:00 is one window.
    window = ROSTER.duty_at("ivan", msk(2026, 11, 21, 2, 0))
    assert (window.start, window.end) == (msk(2026, 11, 20, 19, 0), msk(2026, 11, 21, 10, 0))
    # A week of round-the-clock watch is one window, not seven days.
    window = ROSTER.duty_at("olga", msk(2026, 11, 12, 3, 0))
    assert (window.start, window.end) == (msk(2026, 11, 9), msk(2026, 11, 16))


def test_override_wins() -> None:
    sick = Override(
        "ivan", msk(2026, 11, 17, 10, 0), msk(2026, 11, 17, 19, 0), replaces="anna", reason="sick"
    )
    roster = ROSTER.with_overrides([sick])
    at = msk(2026, 11, 17, 11, 0)
    assert roster.duty_at("anna", at) is None
    assert not is_on(roster, "anna", at)
    window = roster.duty_at("ivan", at)
    assert window is not None and (window.engineer, window.start, window.end, str(window.via)) == (
        "ivan", msk(2026, 11, 17, 10, 0), msk(2026, 11, 17, 19, 0), "override: covers anna (sick)"
    )
    assert [e.id for e in roster.on_duty(at, language="ru")] == ["ivan", "dmitri"]
    # ivan's own night shift follows straight on: two windows, each with its reason.
    windows = roster.windows("ivan", msk(2026, 11, 17, 9, 0), msk(2026, 11, 17, 21, 0))
    assert [(w.start, w.end, str(w.via)) for w in windows] == [
        (msk(2026, 11, 17, 9, 0), msk(2026, 11, 17, 10, 0), "shift night"),
        (msk(2026, 11, 17, 10, 0), msk(2026, 11, 17, 19, 0), "override: covers anna (sick)"),
        (msk(2026, 11, 17, 19, 0), msk(2026, 11, 17, 21, 0), "shift night"),
    ]
    # The replaced engineer's day is cut where the override starts.
    partial = ROSTER.with_overrides(
        [Override("eva", msk(2026, 11, 17, 15, 0), msk(2026, 11, 17, 17, 0), replaces="anna")]
    )
    assert partial.duty_at("anna", msk(2026, 11, 17, 11, 0)).end == msk(2026, 11, 17, 15, 0)
    assert partial.duty_at("anna", msk(2026, 11, 17, 18, 0)).start == msk(2026, 11, 17, 17, 0)
    assert str(partial.duty_at("eva", msk(2026, 11, 17, 16, 0)).via) == "override: covers anna"
    assert ROSTER.overrides == ()  # with_overrides leaves the original alone


def test_override_without_replacement_adds_duty() -> None:
    roster = ROSTER.with_overrides(
        [Override("sam", msk(2026, 11, 21, 12, 0), msk(2026, 11, 21, 14, 0), reason="release")]
    )
    assert str(roster.duty_at("sam", msk(2026, 11, 21, 13, 0)).via) == "override (release)"
    assert roster.duty_at("sam", msk(2026, 11, 21, 14, 0)) is None


def test_on_duty_filters_in_config_order() -> None:
    at = msk(2026, 11, 17, 11, 0)  # Tuesday 11:00 Moscow = 09:00 Warsaw
    assert [e.id for e in ROSTER.on_duty(at)] == ["anna", "marek", "piotr", "dmitri", "eva"]
    assert [e.id for e in ROSTER.on_duty(at, language="pl")] == ["marek", "piotr"]
    assert [e.id for e in ROSTER.on_duty(at, tier="ee")] == ["eva"]
    assert [e.id for e in ROSTER.on_duty(at, skill="finance")] == ["anna", "eva"]
    assert [e.id for e in ROSTER.on_duty(at, language="ru", tier="l1", skill="tech")] == []
    assert [e.id for e in ROSTER.on_duty(at, language="en", tier="l1", skill="tech")] == ["piotr"]


def test_next_on_duty() -> None:
    friday_evening = msk(2026, 11, 20, 20, 0)
    assert ROSTER.next_on_duty(friday_evening, language="pl") == (
        msk(2026, 11, 23, 10, 0),
        ENGINEERS["marek"],
    )
    # Someone on duty already: now, and the first in config order.
    assert ROSTER.next_on_duty(friday_evening, language="ru") == (friday_evening, ENGINEERS["ivan"])
    assert ROSTER.next_on_duty(friday_evening, skill="scm") == (
        msk(2026, 11, 23, 10, 0),
        ENGINEERS["marek"],
    )
    assert ROSTER.next_on_duty(friday_evening, language="de") is None
    assert ROSTER.next_on_duty(friday_evening, tier="se") is None
    assert ROSTER.next_on_duty(friday_evening, language="pl", horizon=timedelta(days=2)) is None


def test_next_tier() -> None:
    assert [ROSTER.next_tier(t) for t in ROSTER.tiers] == ["ee", "se", None]
    with pytest.raises(ValueError, match='"l9" is not a tier'):
        ROSTER.next_tier("l9")


def test_config_mistakes_are_reported_together() -> None:
    bad = dict(ENGINEERS) | {"x": engineer("y", "en", None, shift="nope", tier="l7")}
    with pytest.raises(ValueError) as info:
        Roster(bad, SHIFTS, (Rotation("r", "gone", ("ghost",), date(2026, 1, 1)),))
    message = str(info.value)
    for piece in ('"y" is filed under "x"', 'no shift "nope"', 'tier "l7"', 'no shift "gone"',
                  "no engineer ghost"):
        assert piece in message


def test_value_checks() -> None:
    with pytest.raises(ValueError, match="whole days"):
        Rotation("r", "watch", ("anna",), date(2026, 1, 1), every=timedelta(hours=12))
    with pytest.raises(ValueError, match="ends before it starts"):
        Override("anna", msk(2026, 1, 2), msk(2026, 1, 1))
    with pytest.raises(ValueError, match="no time zone"):
        Override("anna", datetime(2026, 1, 1), msk(2026, 1, 2))
    with pytest.raises(ValueError, match="Mars/Base"):
        Shift("s", "Mars/Base", WeeklyHours({}))
    with pytest.raises(ValueError, match="no engineer nobody"):
        ROSTER.duty_at("nobody", msk(2026, 1, 1))


# --------------------------------------------------------------------------- properties

OVERRIDES = (
    Override("ivan", msk(2026, 11, 17, 10, 0), msk(2026, 11, 17, 19, 0), "anna", "sick"),
    Override("kate", msk(2027, 1, 1, 0, 0), msk(2027, 1, 9, 0, 0), reason="new year watch"),
    Override("piotr", msk(2026, 12, 20), msk(2027, 1, 10), replaces="marek", reason="leave"),
)
FULL = ROSTER.with_overrides(OVERRIDES)

ANCHORS = (
    msk(2026, 11, 17),  # the sick-day override
    msk(2026, 11, 20, 20),  # Friday evening
    msk(2026, 11, 8, 23),  # a rotation hand-over
    msk(2026, 12, 31),  # holidays and the new-year override
    waw(2026, 3, 29),  # DST in Warsaw
    waw(2026, 10, 25),
)
instants = st.one_of(
    st.integers(0, 2 * 365 * 86400 - 1).map(
        lambda s: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
    ),
    st.tuples(st.sampled_from(ANCHORS), st.integers(-2 * 1440, 2 * 1440)).map(
        lambda a: (a[0] + timedelta(minutes=a[1])).astimezone(UTC)
    ),
)
filters = st.fixed_dictionaries(
    {
        "language": st.sampled_from([None, "ru", "en", "pl", "de"]),
        "tier": st.sampled_from([None, "l1", "ee", "se"]),
        "skill": st.sampled_from([None, "finance", "tech", "scm"]),
    }
)


@settings(max_examples=100, deadline=None)
@given(instants, filters, st.randoms(use_true_random=False))
def test_next_on_duty_is_the_first_duty(at: datetime, wanted: dict, rnd: Random) -> None:
    horizon = timedelta(days=5)
    found = FULL.next_on_duty(at, horizon=horizon, **wanted)
    end = at + horizon if found is None else found[0]
    if found is not None:
        when, who = found
        assert at <= when <= at + horizon
        window = FULL.duty_at(who.id, when)
        assert window is not None and window.start <= when < window.end
        assert who in FULL.on_duty(when, **wanted)
    # Nobody matching earlier: the second before, every quarter hour, and random instants.
    gap = end - at
    earlier = {end - timedelta(seconds=1)} if gap else set()
    earlier |= {at + k * timedelta(minutes=15) for k in range(gap // timedelta(minutes=15))}
    earlier |= {at + gap * rnd.random() for _ in range(20)}
    for instant in sorted(t for t in earlier if at <= t < end):
        assert FULL.on_duty(instant, **wanted) == [], instant


@settings(max_examples=100, deadline=None)
@given(instants, st.sampled_from(sorted(ENGINEERS)))
def test_duty_at_agrees_with_on_duty(at: datetime, who: str) -> None:
    window = FULL.duty_at(who, at)
    assert (window is not None) == is_on(FULL, who, at)
    if window is not None:
        assert window.start <= at < window.end
        assert is_on(FULL, who, window.start)
        assert not is_on(FULL, who, window.end) or FULL.duty_at(who, window.end).via != window.via
