from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing import days_off
from routing.calendar import BusinessCalendar, Holidays, WeeklyHours

MSK = ZoneInfo("Europe/Moscow")
WAW = ZoneInfo("Europe/Warsaw")
CPH = ZoneInfo("Europe/Copenhagen")
H = timedelta(hours=1)
M = timedelta(minutes=1)

EIGHT_FIVE = WeeklyHours.parse({"mon-fri": "10:00-19:00"})


def moscow(extra: frozenset[date] = frozenset(), hours: WeeklyHours = EIGHT_FIVE):
    return BusinessCalendar("desk", "Europe/Moscow", hours, Holidays("RU", extra=extra))


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


# --------------------------------------------------------------------------- parsing


def test_parse_ranges_lists_and_whole_days() -> None:
    hours = WeeklyHours.parse(
        {"mon-fri": "10:00-19:00", "sat": ["10:00-13:00", "14:00-16:00"], "sun": []}
    )
    assert hours.periods[0] == ((time(10), time(19)),)
    assert hours.periods[5] == ((time(10), time(13)), (time(14), time(16)))
    assert 6 not in hours.periods
    assert set(WeeklyHours.parse({"daily": "00:00-24:00"}).periods) == set(range(7))
    assert WeeklyHours.parse({"mon-sun": "00:00-24:00"}) == WeeklyHours.parse(
        {"daily": "00:00-24:00"}
    )
    assert WeeklyHours.parse({"daily": "00:00-24:00"}).periods[3] == ((time(0), time(0)),)
    assert set(WeeklyHours.parse({"fri-mon": "19:00-10:00"}).periods) == {4, 5, 6, 0}
    assert set(WeeklyHours.parse({"Monday, wed – fri": "09:00-17:00"}).periods) == {0, 2, 3, 4}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"mon-fir": "10:00-19:00"}, '"mon-fir" is not a day or day range'),
        ({"mon-": "10:00-19:00"}, '"mon-" is not a day or day range'),
        ({"mon": "10:00-25:00"}, 'hours for "mon": "10:00-25:00" is not a period'),
        ({"mon": "24:00-10:00"}, 'hours for "mon": "24:00-10:00" is not a period'),
        ({"mon": "10-19"}, 'hours for "mon": "10-19" is not a period'),
        ({"mon": "10:00"}, 'hours for "mon": "10:00" is not a period'),
        ({"mon": ["10:00-13:00", 14]}, 'hours for "mon": '),
        ({"mon-fri": "10:00-19:00", "fri": "10:00-17:00"}, 'Fri is given twice ("mon-fri" and'),
    ],
)
def test_parse_errors_name_the_bad_piece(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        WeeklyHours.parse(spec)


def test_bad_zone_and_country_are_value_errors() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        BusinessCalendar("x", "Mars/Olympus", None)
    with pytest.raises(ValueError, match="XX"):
        Holidays("XX")


def test_weekly_hours_are_hashable_values() -> None:
    a = WeeklyHours.parse({"mon-fri": "10:00-19:00"})
    b = WeeklyHours({i: ((time(10), time(19)),) for i in range(5)})
    assert a == b and hash(a) == hash(b)


def test_describe() -> None:
    assert moscow().describe() == "Mon–Fri 10:00–19:00 Europe/Moscow, RU holidays"
    assert BusinessCalendar("premier", "UTC", None).describe() == "24/7"
    split = WeeklyHours.parse({"mon-fri": ["10:00-13:00", "14:00-19:00"], "sat": "19:00-24:00"})
    assert split.describe() == "Mon–Fri 10:00–13:00 + 14:00–19:00, Sat 19:00–24:00"


# --------------------------------------------------------------------------- acceptance


def test_eight_working_hours_from_friday_evening_lands_monday() -> None:
    # 2026-11-20 is a Friday: 30 min on Friday, 7h30 on Monday.
    assert date(2026, 11, 20).weekday() == 4
    due = moscow().add(msk(2026, 11, 20, 18, 30), 8 * H)
    assert due == msk(2026, 11, 23, 17, 30)
    assert due.tzinfo is UTC


def test_monday_holiday_pushes_the_deadline_to_tuesday() -> None:
    due = moscow(extra=frozenset({date(2026, 11, 23)})).add(msk(2026, 11, 20, 18, 30), 8 * H)
    assert due == msk(2026, 11, 24, 17, 30)


def test_real_russian_holidays() -> None:
    ru = holidays_lib.country_holidays("RU", years=2026)
    assert date(2026, 11, 4) in ru and date(2026, 11, 4).weekday() == 2  # Unity Day, Wednesday
    assert date(2026, 3, 9) in ru and date(2026, 3, 9).weekday() == 0  # 8 March moved to Monday
    assert moscow().add(msk(2026, 11, 3, 18, 30), 8 * H) == msk(2026, 11, 5, 17, 30)
    assert moscow().add(msk(2026, 3, 6, 18, 30), 8 * H) == msk(2026, 3, 10, 17, 30)


def test_after_hours_start_counts_from_next_opening() -> None:
    desk = moscow()
    assert desk.add(msk(2026, 11, 17, 21, 0), H) == msk(2026, 11, 18, 11, 0)
    assert desk.add(msk(2026, 11, 21, 12, 0), H) == msk(2026, 11, 23, 11, 0)  # Saturday
    assert desk.add(msk(2026, 11, 17, 7, 0), H) == msk(2026, 11, 17, 11, 0)
    assert desk.add(msk(2026, 11, 17, 21, 0), timedelta()) == msk(2026, 11, 18, 10, 0)


def test_deadline_on_a_closing_time_is_that_closing_time() -> None:
    assert moscow().add(msk(2026, 11, 20, 18, 30), 30 * M) == msk(2026, 11, 20, 19, 0)


def test_split_day() -> None:
    desk = moscow(hours=WeeklyHours.parse({"mon-fri": ["10:00-13:00", "14:00-19:00"]}))
    assert desk.add(msk(2026, 11, 17, 12, 30), H) == msk(2026, 11, 17, 14, 30)
    assert desk.add(msk(2026, 11, 17, 12, 30), 7 * H) == msk(2026, 11, 18, 11, 30)
    assert not desk.is_open(msk(2026, 11, 17, 13, 30))
    assert desk.next_open(msk(2026, 11, 17, 13, 30)) == msk(2026, 11, 17, 14, 0)
    assert desk.elapsed(msk(2026, 11, 17, 0, 0), msk(2026, 11, 18, 0, 0)) == 8 * H


def test_year_end_across_russian_new_year_holidays() -> None:
    # 31 Dec 2026 is a day off (moved), 1-8 Jan are holidays, 9-10 Jan a weekend.
    due = moscow().add(msk(2026, 12, 30, 18, 0), 8 * H)
    assert due == msk(2027, 1, 11, 17, 0)
    assert moscow().elapsed(msk(2026, 12, 30, 0, 0), msk(2027, 1, 11, 0, 0)) == 9 * H


def test_transferred_working_saturday_uses_the_first_weekday_hours() -> None:
    hours = WeeklyHours.parse({"tue-fri": "10:00-19:00", "mon": "12:00-19:00"})
    saturday = date(2026, 11, 21)
    desk = BusinessCalendar("d", "Europe/Moscow", hours, Holidays(workdays=frozenset({saturday})))
    assert desk.is_open(msk(2026, 11, 21, 12, 30))
    assert not desk.is_open(msk(2026, 11, 21, 11, 30))  # Monday's hours: from 12:00
    assert desk.elapsed(msk(2026, 11, 21, 0, 0), msk(2026, 11, 22, 0, 0)) == 7 * H


def test_workday_beats_a_public_holiday() -> None:
    desk = BusinessCalendar(
        "d", "Europe/Moscow", EIGHT_FIVE, Holidays("RU", workdays=frozenset({date(2026, 11, 4)}))
    )
    assert desk.is_open(msk(2026, 11, 4, 12, 0))
    assert not moscow().is_open(msk(2026, 11, 4, 12, 0))


def test_twenty_four_seven_is_plain_addition() -> None:
    always = BusinessCalendar("premier", "Europe/Moscow", None, Holidays("RU"))
    start = msk(2026, 12, 31, 23, 30)
    assert always.add(start, 8 * H) == start + 8 * H
    assert always.elapsed(start, start + 50 * H) == 50 * H
    assert always.is_open(msk(2027, 1, 1, 3, 0))
    assert always.next_open(start) == start
    assert list(always.open_intervals(start, start + H)) == [
        (start.astimezone(UTC), (start + H).astimezone(UTC))
    ]


def test_seconds_are_exact() -> None:
    start = datetime(2026, 11, 20, 18, 59, 30, 500000, tzinfo=MSK)
    assert moscow().add(start, M) == datetime(2026, 11, 23, 10, 0, 30, 500000, tzinfo=MSK)
    assert moscow().elapsed(start, msk(2026, 11, 23, 10, 0, 1)) == timedelta(seconds=29.5 + 1)


def test_never_open_calendar_is_refused_not_looped() -> None:
    closed = BusinessCalendar("shut", "Europe/Moscow", WeeklyHours({}))
    with pytest.raises(ValueError, match=r"^calendar shut has no working hours$"):
        closed.add(msk(2026, 1, 1, 12, 0), H)
    with pytest.raises(ValueError, match=r"^calendar shut has no working hours$"):
        closed.next_open(msk(2026, 1, 1, 12, 0))
    assert closed.elapsed(msk(2026, 1, 1), msk(2026, 2, 1)) == timedelta()
    assert not closed.is_open(msk(2026, 1, 1, 12, 0))


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        moscow().is_open(datetime(2026, 1, 1, 12, 0))


def test_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        moscow().add(msk(2026, 1, 1), -H)


def test_open_intervals_are_merged_across_midnight() -> None:
    # Sat 22:00-06:00 and Sun all day overlap on Sunday morning: one interval, not three.
    hours = WeeklyHours.parse({"sat": "22:00-06:00", "sun": "00:00-24:00"})
    desk = BusinessCalendar("weekend", "Europe/Warsaw", hours)
    start = datetime(2026, 6, 6, tzinfo=WAW)
    intervals = list(desk.open_intervals(start, start + timedelta(days=3)))
    assert intervals == [
        (datetime(2026, 6, 6, 22, tzinfo=WAW), datetime(2026, 6, 8, 0, tzinfo=WAW)),
    ]


def test_holiday_lookup_is_cached_per_country_and_year() -> None:
    holidays = Holidays("PL")
    holidays.is_holiday(date(2026, 5, 3))
    before = days_off._public_holidays.cache_info().hits
    assert holidays.is_holiday(date(2026, 5, 3))
    assert not holidays.is_holiday(date(2026, 5, 4))
    assert days_off._public_holidays.cache_info().hits == before + 2


# --------------------------------------------------------------------------- DST


WEEKEND = WeeklyHours.parse({"sat": "22:00-06:00", "sun": "00:00-24:00"})


@pytest.mark.parametrize("tz", [WAW, CPH])
@pytest.mark.parametrize(
    ("saturday", "sunday_hours", "weekend_hours"),
    [
        (date(2026, 3, 28), 23, 25),  # spring forward: 02:00 -> 03:00
        (date(2026, 10, 24), 25, 27),  # fall back: 03:00 -> 02:00, both passes open
        (date(2026, 6, 6), 24, 26),
    ],
)
def test_dst_weekend(tz: ZoneInfo, saturday: date, sunday_hours: int, weekend_hours: int) -> None:
    desk = BusinessCalendar("weekend", tz.key, WEEKEND)
    sunday, monday = saturday + timedelta(days=1), saturday + timedelta(days=2)
    midnight = datetime.combine(sunday, time(), tzinfo=tz)
    assert desk.elapsed(midnight, datetime.combine(monday, time(), tzinfo=tz)) == sunday_hours * H
    friday = datetime.combine(saturday - timedelta(days=1), time(), tzinfo=tz)
    assert desk.elapsed(friday, friday + timedelta(days=4)) == weekend_hours * H
    start = datetime.combine(saturday, time(22), tzinfo=tz).astimezone(UTC)  # real hours
    assert desk.add(start, (weekend_hours - 1) * H) == start + (weekend_hours - 1) * H
    assert desk.add(start, weekend_hours * H) == datetime.combine(monday, time(), tzinfo=tz)


def test_overnight_period_over_fall_back_counts_the_repeated_hour() -> None:
    night = BusinessCalendar("night", "Europe/Warsaw", WeeklyHours.parse({"sat": "22:00-06:00"}))
    start = datetime(2026, 10, 24, 22, tzinfo=WAW)
    assert night.elapsed(start, start + timedelta(days=1)) == 9 * H
    assert night.add(start, 9 * H) == datetime(2026, 10, 25, 6, tzinfo=WAW)
    # 02:30 happens twice; both are open.
    first = datetime(2026, 10, 25, 2, 30, tzinfo=WAW)
    assert night.is_open(first) and night.is_open(first.replace(fold=1))


def test_period_starting_in_the_spring_gap_opens_when_the_clock_reaches_it() -> None:
    desk = BusinessCalendar("early", "Europe/Warsaw", WeeklyHours.parse({"sun": "02:30-04:00"}))
    saturday = datetime(2026, 3, 28, 12, tzinfo=WAW)
    assert desk.next_open(saturday) == datetime(2026, 3, 29, 3, 0, tzinfo=WAW)
    assert desk.elapsed(saturday, saturday + timedelta(days=1)) == H


def test_period_inside_the_fold_is_open_twice() -> None:
    desk = BusinessCalendar("fold", "Europe/Warsaw", WeeklyHours.parse({"sun": "02:15-02:45"}))
    saturday = datetime(2026, 10, 24, 12, tzinfo=WAW)
    intervals = list(desk.open_intervals(saturday, saturday + timedelta(days=1)))
    assert [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in intervals] == [
        ("00:15", "00:45"),
        ("01:15", "01:45"),
    ]


# --------------------------------------------------------------------------- brute force

TZS = (
    "Europe/Moscow",
    "Europe/Warsaw",
    "Europe/Copenhagen",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
)
# Days (UTC) on which one of the zones above changes its offset: tests cluster around them.
TRANSITIONS = tuple(
    date.fromisoformat(d)
    for d in (
        "2026-03-29 2026-10-25 2027-03-28 2027-10-31 2026-03-08 2026-11-01 2027-03-14 "
        "2027-11-07 2026-04-04 2026-10-03 2027-04-03 2027-10-02 2026-12-31"
    ).split()
)
WINDOW = 2 * 24 * 60  # minutes the reference scans


@dataclass(frozen=True)
class Spec:
    """A calendar written independently of routing.calendar: minutes, not time objects."""

    tz: str
    periods: dict[int, list[tuple[int, int]]]  # weekday -> [(start minute, length minutes)]
    country: str | None
    extra: frozenset[date]
    workdays: frozenset[date]

    def build(self) -> BusinessCalendar:
        def clock(minute: int) -> time:
            return time((minute // 60) % 24, minute % 60)

        hours = WeeklyHours(
            {d: tuple((clock(s), clock(s + n)) for s, n in ps) for d, ps in self.periods.items()}
        )
        return BusinessCalendar(
            "random", self.tz, hours, Holidays(self.country, None, self.extra, self.workdays)
        )


_REFERENCE_HOLIDAYS: dict[tuple[str, int], holidays_lib.HolidayBase] = {}


def ref_periods(spec: Spec, day: date) -> list[tuple[int, int]]:
    """The rule as stated: transferred workdays first, then holidays, then the weekday."""
    if day in spec.workdays:
        if day.weekday() < 5:
            return spec.periods.get(day.weekday(), [])
        return next((spec.periods[d] for d in range(5) if spec.periods.get(d)), [])
    if day in spec.extra:
        return []
    if spec.country is not None:
        key = (spec.country, day.year)
        if key not in _REFERENCE_HOLIDAYS:
            _REFERENCE_HOLIDAYS[key] = holidays_lib.country_holidays(spec.country, years=day.year)
        if day in _REFERENCE_HOLIDAYS[key]:
            return []
    return spec.periods.get(day.weekday(), [])


def ref_walls(spec: Spec, day: date) -> list[tuple[datetime, datetime]]:
    """Wall-time ranges [begin, end) of the periods that start on `day`."""
    midnight = datetime.combine(day, time())
    return [
        (midnight + start * M, midnight + (start + length) * M)
        for start, length in ref_periods(spec, day)
    ]


def ref_open(spec: Spec, tz: ZoneInfo, instant: datetime, memo: dict) -> bool:
    wall = instant.astimezone(tz).replace(tzinfo=None)
    # A period lasts at most 24 h, so only periods of today and yesterday can hold this wall time.
    for day in (wall.date() - timedelta(days=1), wall.date()):
        if day not in memo:
            memo[day] = ref_walls(spec, day)
        for begin, end in memo[day]:
            if begin <= wall < end:
                return True
    return False


minute_of_day = st.one_of(
    st.integers(0, 1439), st.sampled_from([0, 60, 90, 120, 135, 150, 180, 600, 1140, 1380])
)
period_length = st.one_of(st.integers(1, 1440), st.sampled_from([30, 60, 180, 480, 540, 900, 1440]))
weekly = st.dictionaries(
    st.integers(0, 6), st.lists(st.tuples(minute_of_day, period_length), min_size=1, max_size=3)
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Spec, datetime, int, int]:
    if draw(st.booleans()):
        anchor = datetime.combine(draw(st.sampled_from(TRANSITIONS)), time(), tzinfo=UTC)
        start = anchor + timedelta(minutes=draw(st.integers(-3 * 1440, 2 * 1440)))
    else:
        first = datetime(2026, 1, 1, tzinfo=UTC)
        start = first + timedelta(minutes=draw(st.integers(0, 2 * 365 * 1440)))
    near = st.builds(
        lambda n: start.date() + timedelta(days=n), st.integers(-2, WINDOW // 1440 + 2)
    )
    spec = Spec(
        tz=draw(st.sampled_from(TZS)),
        periods=draw(weekly),
        country=draw(st.sampled_from([None, None, "RU", "PL", "DK"])),
        extra=draw(st.frozensets(near, max_size=3)),
        workdays=draw(st.frozensets(near, max_size=2)),
    )
    amount = draw(st.integers(0, 10 * 60))
    length = draw(st.integers(0, WINDOW))
    return spec, start, amount, length


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_matches_minute_by_minute_reference(scenario: tuple[Spec, datetime, int, int]) -> None:
    spec, start, amount, length = scenario
    calendar, tz = spec.build(), ZoneInfo(spec.tz)
    minutes = [start + i * M for i in range(WINDOW)]
    memo: dict[date, list[tuple[datetime, datetime]]] = {}
    reference = [ref_open(spec, tz, t, memo) for t in minutes]
    window_end = start + WINDOW * M

    # open_intervals, as a minute bitmap
    bitmap = [False] * WINDOW
    for s, e in calendar.open_intervals(start, window_end):
        assert s.tzinfo is UTC and e.tzinfo is UTC
        for i in range((s - start) // M, (e - start) // M):
            bitmap[i] = True
    assert bitmap == reference

    # is_open where it matters: at every change, either side, and a few elsewhere
    edges = {i + d for i in range(1, WINDOW) if reference[i] != reference[i - 1] for d in (-1, 0)}
    for i in sorted(edges | set(range(0, WINDOW, 97))):
        assert calendar.is_open(minutes[i]) == reference[i], minutes[i]

    # next_open
    first_open = next((i for i, is_open in enumerate(reference) if is_open), None)
    if first_open is not None:
        assert calendar.next_open(start) == minutes[first_open]
    elif spec.periods:
        assert calendar.next_open(start) >= window_end

    # elapsed
    assert calendar.elapsed(start, start + length * M) == sum(reference[:length]) * M

    # add: the end of the amount-th open minute (a zero amount is the next opening)
    open_minutes = [i for i, is_open in enumerate(reference) if is_open]
    if amount == 0 and first_open is not None:
        assert calendar.add(start, timedelta()) == minutes[first_open]
    elif 0 < amount <= len(open_minutes):
        assert calendar.add(start, amount * M) == minutes[open_minutes[amount - 1]] + M
    elif spec.periods and amount > 0:
        assert calendar.add(start, amount * M) > window_end

    # add_each: one walk, the same answers as add for every amount (an SLA clock's stages)
    if spec.periods and (first_open is not None or amount == 0):
        amounts = [amount * M, amount * M // 2, timedelta(), amount * M * 4 // 5, amount * M]
        try:
            expected = [calendar.add(start, a) for a in amounts]
        except ValueError:
            return
        assert calendar.add_each(start, amounts) == expected
