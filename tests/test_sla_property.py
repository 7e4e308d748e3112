"""Property: random pause / resume / priority / answer / resolve / customer sequences on
random calendars give, for each SLA target, the met-or-missed verdict, the instant the
target was used up and the working time counted that a brute-force minute-by-minute
count (written here, sharing nothing with `routing/calendar.py`) gives.

The rule both sides follow: a clock counts the open minutes in which it runs; at every
instant, after the changes made at that instant, a target is used up once the minutes
counted reach the target of the priority in force; an answer or resolution at or before
that instant meets it. The desk is driven through its public entry points with a manual
clock, the scheduler's work (`fire_due`) run after every step.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.local import LocalChannel
from bot.app.config import parse_config
from bot.app.factory import App
from bot.core.clock import ManualClock
from bot.core.domain import EventType, Priority
from bot.core.records import ticket_from_row
from bot.sla.report import as_csv, sla_report
from routing.language import LanguageDetector

MINUTE = timedelta(minutes=1)
ZONES = ("UTC", "Europe/Moscow", "Europe/Warsaw", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
         "America/St_Johns")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CUSTOMER, ENGINEER, LEAD = "500", "1", "9"
HORIZON = 20 * 24 * 60  # minutes searched past the last step for a target still ahead
DETECTOR = LanguageDetector(["en"])


# -- the world: a calendar, a plan, one always-on engineer -----------------------------------


@dataclass(frozen=True)
class Calendar:
    tz: str
    always: bool
    periods: dict[int, tuple[tuple[int, int], ...]]  # weekday -> (start minute, length minutes)
    country: str | None
    extra: frozenset[date]
    workdays: frozenset[date]

    def config(self) -> dict[str, object]:
        if self.always:
            return {"always": True, "timezone": self.tz}
        hours = {DAYS[d]: [_span(s, n) for s, n in spans] for d, spans in self.periods.items() if spans}
        found: dict[str, object] = {"timezone": self.tz, "hours": hours,
                                    "extra_holidays": sorted(self.extra), "extra_workdays": sorted(self.workdays)}
        if self.country:
            found["holidays"] = self.country
        return found


def _span(start: int, length: int) -> str:
    end = (start + length) % 1440
    return f"{start // 60:02d}:{start % 60:02d}-{'24:00' if end == 0 else f'{end // 60:02d}:{end % 60:02d}'}"


class OpenMinutes:
    """Is the minute starting at t open? The rule, directly: its wall time in the zone lies
    in a period of the day that period starts on (that day or the one before), and that
    day is worked. Periods are wall times, so a DST gap has no open minutes and a fold's
    repeated hour is open twice."""

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self.zone = ZoneInfo(cal.tz)
        self._public: dict[int, set[date]] = {}

    def _holiday(self, day: date) -> bool:
        if day in self.cal.workdays:
            return False
        if day in self.cal.extra:
            return True
        if self.cal.country is None:
            return False
        if day.year not in self._public:
            self._public[day.year] = set(holidays_lib.country_holidays(self.cal.country, years=day.year))
        return day in self._public[day.year]

    def _periods(self, day: date) -> tuple[tuple[int, int], ...]:
        if day in self.cal.workdays and day.weekday() >= 5:
            return next((self.cal.periods[d] for d in range(5) if self.cal.periods.get(d)), ())
        if self._holiday(day):
            return ()
        return self.cal.periods.get(day.weekday(), ())

    def __call__(self, t: datetime) -> bool:
        if self.cal.always:
            return True
        wall = t.astimezone(self.zone).replace(tzinfo=None)
        for back in (0, 1):
            day = wall.date() - timedelta(days=back)
            midnight = datetime(day.year, day.month, day.day)
            for start, length in self._periods(day):
                begin = midnight + timedelta(minutes=start)
                if begin <= wall < begin + timedelta(minutes=length):
                    return True
        return False


@st.composite
def calendars(draw: st.DrawFn, start: date) -> Calendar:
    tz = draw(st.sampled_from(ZONES))
    if draw(st.integers(0, 5)) == 0:
        return Calendar(tz, True, {}, None, frozenset(), frozenset())
    periods: dict[int, tuple[tuple[int, int], ...]] = {}
    for day in range(7):
        spans = draw(st.lists(st.tuples(st.integers(0, 47).map(lambda h: h * 30), st.integers(1, 40).map(lambda n: n * 30)),
                              max_size=2))
        periods[day] = tuple(sorted(spans))
    if not any(periods.values()):
        periods[draw(st.integers(0, 6))] = ((9 * 60, 8 * 60),)
    near = st.integers(-2, 40).map(lambda n: start + timedelta(days=n))
    return Calendar(tz, False, periods, draw(st.sampled_from((None, None, "RU", "US"))),
                    frozenset(draw(st.lists(near, max_size=4))), frozenset(draw(st.lists(near, max_size=3))))


# Minutes of working time; short ones often, so that steps fall on the minute a target runs out.
durations = st.one_of(st.integers(1, 8), st.integers(1, 48)).map(lambda n: n * 15)


@dataclass(frozen=True)
class Plan:
    first: dict[Priority, int]  # minutes
    resolution: dict[Priority, int]

    def config(self) -> dict[str, object]:
        base = {"calendar": "c", "first_response": f"{self.first[Priority.P3]}m",
                "resolution": f"{self.resolution[Priority.P3]}m", "update_every": "52w",
                "reminders": [0.5], "escalate_on_breach": False, "progress_note": False}
        base["priorities"] = {
            p.name: {"first_response": f"{self.first[p]}m", "resolution": f"{self.resolution[p]}m"}
            for p in Priority if p != Priority.P3
        }
        return base


plans = st.builds(
    Plan, st.fixed_dictionaries({p: durations for p in Priority}),
    st.fixed_dictionaries({p: durations.map(lambda m: m * 3) for p in Priority}),
)


def world(db: Path, cal: Calendar, plan: Plan) -> dict[str, object]:
    return {
        "desk": {"languages": ["en"], "timezone": cal.tz, "default_plan": "p", "reopen_within": "52w"},
        "storage": {"url": f"sqlite:///{db}"},
        "local": {"enabled": True, "staff_room": "staff"},
        "calendars": {"c": cal.config()},
        "plans": {"p": plan.config()},
        "shifts": {"always": {"timezone": "UTC", "hours": {"daily": "00:00-24:00"}, "holidays": False}},
        "engineers": [
            {"id": "e1", "name": "Eve One", "languages": ["en"], "timezone": "UTC", "shift": "always",
             "identities": [f"local:{ENGINEER}"]},
            {"id": "lead", "name": "Lea Lead", "languages": ["en"], "timezone": "UTC", "role": "lead",
             "identities": [f"local:{LEAD}"]},
        ],
        "organisations": [{"id": "o", "name": "Org", "plan": "p", "timezone": cal.tz,
                           "members": [f"local:{CUSTOMER}"]}],
        "templates": {"hi": {"en": "Hello, we are looking at it."}},
    }


# -- the steps, and the brute-force model of what they do to the clocks ------------------------

STEPS = ("pause", "resume", "priority", "answer", "resolve", "customer", "tick")


@dataclass
class Model:
    priority: Priority
    answered: bool = False
    resolved: bool = False
    waiting: bool = False

    def apply(self, step: str, arg: Priority) -> None:
        if step == "pause" and not self.resolved:
            self.waiting = True
        elif step == "resume" and (self.resolved or self.waiting):
            self.resolved = self.waiting = False
        elif step == "priority":
            self.priority = arg
        elif step == "answer":
            self.answered = True
            self.waiting = False
        elif step == "resolve":
            self.resolved, self.waiting = True, False
        elif step == "customer":
            self.resolved = self.waiting = False

    def runs(self, clock: str) -> bool:
        if clock == "first_response":
            return not self.answered and not self.resolved
        return not self.resolved and not self.waiting

    def decided(self, clock: str) -> bool:
        return self.answered if clock == "first_response" else self.resolved


@dataclass
class Expected:
    used: int = 0  # minutes counted
    breach: datetime | None = None
    decided_at: datetime | None = None
    used_at_decision: int = 0
    alerted: bool = False


@dataclass
class Scenario:
    cal: Calendar
    plan: Plan
    start: datetime
    priority: Priority
    steps: list[tuple[int, str, Priority]] = field(default_factory=list)  # (minute, step, priority arg)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    # Whole quarter hours often: then steps land on the very minute a target runs out.
    quarters = st.one_of(st.integers(1, 8), st.integers(1, 100)).map(lambda n: n * 15)
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 360 * 96)) * 15)
    cal = draw(calendars(start.date()))
    minute, steps = 0, []
    for _ in range(draw(st.integers(1, 9))):
        minute += draw(st.one_of(st.integers(1, 1500), quarters))
        steps.append((minute, draw(st.sampled_from(STEPS)), draw(st.sampled_from(list(Priority)))))
    return Scenario(cal, draw(plans), start, draw(st.sampled_from(list(Priority))), steps)


def brute_force(sc: Scenario) -> tuple[dict[str, Expected], int]:
    is_open = OpenMinutes(sc.cal)
    model = Model(sc.priority)
    clocks = ("first_response", "resolution")
    found = {clock: Expected() for clock in clocks}
    targets = {"first_response": sc.plan.first, "resolution": sc.plan.resolution}
    by_minute = {m: (step, arg) for m, step, arg in sc.steps}
    last = sc.steps[-1][0] + 1  # a final touch, one minute after the last step
    m = 0
    while True:
        t = sc.start + m * MINUTE
        if m in by_minute:
            model.apply(*by_minute[m])
        for clock in clocks:
            e = found[clock]
            if model.decided(clock):
                if e.decided_at is None:
                    e.decided_at, e.used_at_decision = t, e.used
                continue
            e.decided_at = None
            if e.breach is None and e.used >= targets[clock][model.priority]:
                e.breach = t
            if e.breach is not None and m <= last and (m in by_minute or m == 0) and not model.resolved:
                e.alerted = True  # the scheduler runs after every step; resolved tickets get no alerts
        if m == last:
            for e in found.values():  # what the desk has counted as of its last commit
                if e.decided_at is None:
                    e.used_at_decision = e.used
        if m >= last and all(found[c].breach is not None or not model.runs(c) for c in clocks):
            break
        if m >= last + HORIZON:
            break
        if is_open(t):
            for clock in clocks:
                if model.runs(clock):
                    found[clock].used += 1
        m += 1
    return found, last


# -- the desk ---------------------------------------------------------------------------------


async def run_desk(sc: Scenario, db: Path) -> tuple[dict, list[dict], dict[str, str]]:
    cfg = parse_config(world(db, sc.cal, sc.plan))
    clock = ManualClock(sc.start)
    local = LocalChannel()
    app = await App.create(cfg, clock=clock, adapters={"local": local}, detector=DETECTOR, serve_http=False)
    await local.start(app.desk, None)
    try:
        tid = (await local.say(CUSTOMER, "A question about exports", priority=sc.priority)).ticket_id
        assert tid is not None
        await app.desk.fire_due()
        for minute, step, arg in sc.steps:
            clock.set(sc.start + minute * MINUTE)
            if step == "pause":
                await local.command(LEAD, f"pause T-{tid} waiting")
            elif step == "resume":
                await local.command(LEAD, f"resume T-{tid}")
            elif step == "priority":
                await local.command(LEAD, f"priority T-{tid} {arg.name}")
            elif step == "answer":
                await local.command(ENGINEER, f"answer T-{tid} hi")
            elif step == "resolve":
                await local.command(ENGINEER, f"resolve T-{tid}")
            elif step == "customer":
                await local.say(CUSTOMER, "ok, thank you")
            await app.desk.fire_due()
        clock.set(sc.start + (sc.steps[-1][0] + 1) * MINUTE)
        await local.command(ENGINEER, f"note T-{tid} checked")  # a touch: the record is as of now
        row = await app.store.ticket(tid)
        assert row is not None
        events = await app.store.events(tid)
        report = await sla_report(app.store, sc.start - timedelta(days=1), clock.now() + timedelta(days=1), clock.now())
        lines = {r["group"]: r for r in csv.DictReader(io.StringIO(as_csv(report)))}
        return row, events, lines["all"]
    finally:
        await app.dispatcher.stop()
        await local.stop()
        await app.store.close()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_sla_clocks_agree_with_a_minute_by_minute_count(sc: Scenario) -> None:
    expected, last = brute_force(sc)
    with tempfile.TemporaryDirectory() as folder:
        row, events, figures = asyncio.run(run_desk(sc, Path(folder) / "p.db"))
    ticket = ticket_from_row(row)
    end = sc.start + last * MINUTE
    for clock, e in expected.items():
        outcome = ticket.sla.outcomes[clock]
        decided = e.decided_at is not None
        assert (outcome.decided_at is not None) == decided, clock
        if decided:
            assert outcome.decided_at == e.decided_at, clock
            assert outcome.met is (e.breach is None), clock
            assert outcome.used_s == e.used_at_decision * 60, clock
            assert outcome.due_at == e.breach, clock
        else:
            assert outcome.used_s == e.used_at_decision * 60, clock
            if e.breach is not None:
                assert outcome.due_at == e.breach, clock
            elif outcome.due_at is not None:  # ahead, beyond the horizon searched
                assert outcome.due_at > end + HORIZON * MINUTE, clock
        alerts = [r for r in events if r["type"] == EventType.SLA_BREACHED and r["data"]["clock"] == clock]
        assert len(alerts) == (1 if e.alerted else 0), clock
        if alerts:
            assert datetime.fromisoformat(alerts[0]["data"]["due"]) == e.breach, clock
    fr, res = expected["first_response"], expected["resolution"]
    fr_counted = fr.decided_at is not None or (fr.breach is not None and fr.breach <= end)
    res_counted = res.decided_at is not None or (res.breach is not None and res.breach <= end)
    assert figures["first_decided"] == str(int(fr_counted))
    assert figures["first_met"] == str(int(fr.decided_at is not None and fr.breach is None))
    assert figures["resolved_decided"] == str(int(res_counted))
    assert figures["resolved_met"] == str(int(res.decided_at is not None and res.breach is None))
