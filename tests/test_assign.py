"""Assignment on the example roster: fixed instants across time zones, DST and holidays.

Each row names who must get the ticket (or the queue entry and its pick-up instant) and the
words the reasons must contain. The roster is `config.example.toml` as a desk would load it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app.config import load_config
from bot.core.triage import build_roster
from bot.sla.clocks import SlaBook, build_calendars
from routing.assign import Assignment, AssignmentPolicy, Load, Queued, TicketFacts
from routing.calendar import WeeklyHours
from routing.priority import Priority
from routing.roster import Engineer, Override, Roster, Shift
from tests.conftest import EXAMPLE

MSK = ZoneInfo("Europe/Moscow")
LONDON = ZoneInfo("Europe/London")

CFG = load_config(EXAMPLE)
ROSTER = build_roster(CFG)
SLA = SlaBook(CFG, build_calendars(CFG))
POLICY = AssignmentPolicy(ROSTER, follow_the_sun_language="en", urgent=Priority.P2)

P1, P2, P3, P4 = Priority.P1, Priority.P2, Priority.P3, Priority.P4


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def facts(
    language: str, priority: Priority, plan: str, skills: tuple[str, ...] = (), tier: str = "l1",
    tz: str = "Europe/Moscow",
) -> TicketFacts:
    return TicketFacts(language, priority, plan, SLA.coverage(plan), frozenset(skills), tier, display_tz=tz)


def loads(**open_counts: int) -> dict[str, Load]:
    return {who: Load(count) for who, count in open_counts.items()}


def reasons_text(decision: Assignment | Queued) -> str:
    return "\n".join(map(str, decision.reasons))


def assert_reasons(decision: Assignment | Queued, *needles: str) -> None:
    text = reasons_text(decision)
    for needle in needles:
        assert needle in text, f"{needle!r} not in reasons:\n{text}"


# --------------------------------------------------------------------------- the calendar facts
# The rows below lean on these; if the holidays package or tzdata changes, fail here first.


def test_calendar_facts_the_rows_rely_on() -> None:
    ru_2026 = holidays_lib.country_holidays("RU", years=2026)
    ru_2027 = holidays_lib.country_holidays("RU", years=2027)
    assert date(2026, 3, 8).weekday() == 6 and date(2026, 3, 9) in ru_2026  # observed on Monday
    assert date(2027, 3, 8).weekday() == 0 and date(2027, 3, 8) in ru_2027
    assert date(2026, 12, 31) in ru_2026  # a day off, the config's override day
    assert date(2026, 3, 9) not in holidays_lib.country_holidays("PL", years=2026)
    assert date(2026, 11, 24).weekday() == 1  # the Tuesday of most rows
    # EU summer time 2026: from Sunday 29 March to Sunday 25 October.
    waw = ZoneInfo("Europe/Warsaw")
    assert datetime(2026, 3, 23, 9, tzinfo=waw).utcoffset() == timedelta(hours=1)
    assert datetime(2026, 3, 30, 9, tzinfo=waw).utcoffset() == timedelta(hours=2)
    assert datetime(2026, 10, 19, 9, tzinfo=waw).utcoffset() == timedelta(hours=2)
    assert datetime(2026, 10, 26, 9, tzinfo=waw).utcoffset() == timedelta(hours=1)


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Row:
    id: str
    facts: TicketFacts
    at: datetime
    expect: frozenset[str] | datetime  # engineers any of whom is right, or the pick-up instant
    reasons: tuple[str, ...]
    loads: Mapping[str, Load]
    follow_the_sun: bool | None
    alert_lead: bool

    def __repr__(self) -> str:
        return self.id


def row(
    id: str, fact: TicketFacts, at: datetime, expect: str | set[str] | datetime, *reasons: str,
    load: Mapping[str, Load] | None = None, sun: bool | None = None, alert: bool = False,
) -> Row:
    wanted = frozenset({expect}) if isinstance(expect, str) else (
        frozenset(expect) if isinstance(expect, set) else expect
    )
    return Row(id, fact, at, wanted, reasons, load or {}, sun, alert)


TUE_11 = msk(2026, 11, 24, 11, 0)
TUE_23 = msk(2026, 11, 24, 23, 0)
WED_10 = msk(2026, 11, 25, 10, 0)

ROWS = [
    # -- a Russian ticket on a Tuesday morning: a Russian engineer, the least loaded
    row("ru-tue-11-anna", facts("ru", P3, "8x5"), TUE_11, {"anna", "dmitry"},
        "Russian ticket", "on duty (shift moscow_day)", "speaks Russian", "least loaded of 2 on duty"),
    row("ru-tue-11-least-loaded", facts("ru", P3, "warranty"), TUE_11, "dmitry",
        "Dmitry Volkov is on duty", "least loaded of 2 on duty (1 open)",
        load=loads(anna=4, dmitry=1), sun=False),
    row("ru-tue-11-p1-stays-local", facts("ru", P1, "premium"), TUE_11, {"anna", "dmitry"},
        "speaks Russian", sun=False),
    # -- the same at 23:00: night rotation (English) for urgent or round-the-clock plans ...
    row("ru-23-p1-warranty", facts("ru", P1, "warranty"), TUE_23, "john",
        "no Russian-speaking l1 engineer free on duty", "P1 is urgent",
        "so it follows the sun: John Carter is on duty (rotation night (week 47))", sun=True),
    row("ru-23-p2-8x5", facts("ru", P2, "8x5"), TUE_23, "john", "P2 is urgent", sun=True),
    row("ru-23-p3-24x7", facts("ru", P3, "24x7"), TUE_23, "john",
        "plan 24x7 covers this hour (24/7)", "follows the sun", sun=True),
    row("ru-23-p4-premium", facts("ru", P4, "premium"), TUE_23, "john",
        "plan premium covers this hour", sun=True),
    # ... otherwise queued to 10:00 the next working day, when plan and day shift are both open
    row("ru-23-p3-warranty", facts("ru", P3, "warranty"), TUE_23, WED_10,
        "P3 on plan warranty outside its hours", "waits for the next local shift",
        "queued: Anna Smirnova comes on duty Wed 2026-11-25 10:00 Europe/Moscow"),
    row("ru-23-p3-8x5", facts("ru", P3, "8x5"), TUE_23, WED_10,
        "P3 on plan 8x5 outside its hours (Mon–Fri 10:00–19:00 Europe/Moscow, RU holidays)"),
    row("ru-23-p4-basic", facts("ru", P4, "basic"), TUE_23, WED_10, "P4 on plan basic outside its hours"),
    row("ru-fri-23-p3-to-monday", facts("ru", P3, "8x5"), msk(2026, 11, 27, 23, 0), msk(2026, 11, 30, 10, 0),
        "Anna Smirnova comes on duty Mon 2026-11-30 10:00"),
    row("ru-before-8-march-to-tuesday", facts("ru", P3, "warranty"), msk(2026, 3, 6, 23, 0),
        msk(2026, 3, 10, 10, 0), "comes on duty Tue 2026-03-10 10:00"),
    # -- 8 March (observed Monday 9 March 2026; Monday in 2027): Russians are off, Warsaw and
    #    Copenhagen work, so urgent and 24x7 tickets go there and the rest wait for Tuesday
    row("8-march-2026-p1", facts("ru", P1, "warranty"), msk(2026, 3, 9, 11, 0), {"kasia", "lars"},
        "no Russian-speaking l1 engineer free on duty at Mon 2026-03-09 11:00", "P1 is urgent",
        "is on duty (shift warsaw_day)", "least loaded of 2 on duty", sun=True),
    row("8-march-2026-24x7", facts("ru", P3, "24x7"), msk(2026, 3, 9, 11, 0), {"kasia", "lars"},
        "plan 24x7 covers this hour", sun=True),
    row("8-march-2026-p3-waits", facts("ru", P3, "8x5"), msk(2026, 3, 9, 11, 0), msk(2026, 3, 10, 10, 0),
        "outside its hours", "Anna Smirnova comes on duty Tue 2026-03-10 10:00"),
    row("8-march-2027-p2", facts("ru", P2, "8x5"), msk(2027, 3, 8, 11, 0), "lars",
        "P2 is urgent", "Lars Jensen is on duty (shift copenhagen_day)", load=loads(kasia=3), sun=True),
    row("8-march-2027-premium", facts("ru", P3, "premium"), msk(2027, 3, 8, 15, 30), {"kasia", "lars"},
        "plan premium covers this hour", sun=True),
    # -- a shift crossing midnight: Tuesday's night shift at 02:00 on Wednesday
    row("night-02", facts("en", P3, "24x7"), msk(2026, 11, 25, 2, 0), "john",
        "English ticket: John Carter is on duty (rotation night (week 47))", sun=False),
    row("night-02-ru-p1", facts("ru", P1, "8x5"), msk(2026, 11, 25, 2, 0), "john", "P1 is urgent", sun=True),
    row("night-02-ru-p3", facts("ru", P3, "warranty"), msk(2026, 11, 25, 2, 0), WED_10,
        "comes on duty Wed 2026-11-25 10:00"),
    row("night-saturday-noon", facts("en", P3, "premium"), msk(2026, 11, 28, 12, 0), "john",
        "rotation night (week 47)"),
    # -- DST in Warsaw: kasia's 09:00 is 11:00 Moscow in winter, 10:00 in summer
    row("dst-spring-before-queue", facts("pl", P3, "basic"), msk(2026, 3, 23, 9, 0), msk(2026, 3, 23, 11, 0),
        "Katarzyna Nowak comes on duty Mon 2026-03-23 11:00 Europe/Moscow"),
    row("dst-spring-after-queue", facts("pl", P3, "basic"), msk(2026, 3, 30, 9, 0), msk(2026, 3, 30, 10, 0),
        "Katarzyna Nowak comes on duty Mon 2026-03-30 10:00 Europe/Moscow"),
    row("dst-autumn-before-queue", facts("pl", P3, "basic"), msk(2026, 10, 19, 9, 0), msk(2026, 10, 19, 10, 0),
        "Katarzyna Nowak comes on duty Mon 2026-10-19 10:00"),
    row("dst-autumn-after-queue", facts("pl", P3, "basic"), msk(2026, 10, 26, 9, 0), msk(2026, 10, 26, 11, 0),
        "Katarzyna Nowak comes on duty Mon 2026-10-26 11:00"),
    row("dst-spring-before-10-30", facts("pl", P3, "24x7"), msk(2026, 3, 23, 10, 30), {"anna", "dmitry"},
        "no Polish-speaking l1 engineer free on duty", "plan 24x7 covers this hour", sun=True),
    row("dst-spring-after-10-30", facts("pl", P3, "24x7"), msk(2026, 3, 30, 10, 30), "kasia",
        "Polish ticket: Katarzyna Nowak is on duty (shift warsaw_day), speaks Polish", sun=False),
    row("dst-autumn-after-10-30", facts("pl", P3, "24x7"), msk(2026, 10, 26, 10, 30), {"anna", "dmitry"},
        "no Polish-speaking", sun=True),
    row("dst-danish-evening", facts("da", P3, "24x7"), msk(2026, 10, 26, 18, 30), "lars",
        "Danish ticket: Lars Jensen is on duty (shift copenhagen_day)"),  # 16:30 in Copenhagen
    row("dst-danish-evening-summer", facts("da", P3, "24x7"), msk(2026, 10, 19, 18, 30), {"anna", "dmitry"},
        "no Danish-speaking"),  # 17:30 in Copenhagen: gone home
    # -- weekly rotation: week 47 is john's, week 48 priya's; a night belongs to whoever began it
    row("rotation-sun-23-59", facts("en", P3, "24x7"), msk(2026, 11, 29, 23, 59), "john",
        "rotation night (week 47)"),
    row("rotation-mon-00-01", facts("en", P3, "24x7"), msk(2026, 11, 30, 0, 1), "john",
        "rotation night (week 47)"),
    row("rotation-mon-19-00", facts("en", P3, "24x7"), msk(2026, 11, 30, 19, 0), "priya",
        "Priya Sharma is on duty (rotation night (week 48))"),
    row("rotation-prev-sun-23-59", facts("en", P3, "24x7"), msk(2026, 11, 22, 23, 59), "priya",
        "rotation night (week 46)"),
    row("rotation-prev-mon-19-00", facts("en", P3, "24x7"), msk(2026, 11, 23, 19, 0), "john",
        "rotation night (week 47)"),
    # -- the configured override: Dmitry covers Anna on 31 December (a Russian day off)
    row("override-config", facts("ru", P3, "8x5"), msk(2026, 12, 31, 11, 0), "dmitry",
        "Dmitry Volkov is on duty (override: covers anna (Anna's day off))", load=loads(dmitry=9), sun=False),
    # -- capacity full: the next candidate, then follow the sun for covered hours
    row("capacity-anna-full", facts("ru", P3, "8x5"), TUE_11, "dmitry",
        "Anna Smirnova is at capacity (15/15 open)", load=loads(anna=15, dmitry=14)),
    row("capacity-russians-full", facts("ru", P3, "8x5"), TUE_11, {"kasia", "lars"},
        "Anna Smirnova is at capacity (15/15 open)", "Dmitry Volkov is at capacity (15/15 open)",
        "plan 8x5 covers this hour", "follows the sun", load=loads(anna=15, dmitry=15), sun=True),
    row("capacity-english-all-full", facts("en", P1, "premium"), TUE_11, "lars",
        "at capacity", "Lars Jensen is on duty", load=loads(anna=15, dmitry=16, kasia=15)),
    row("capacity-night-full", facts("ru", P1, "premium"), TUE_23, WED_10,
        "John Carter is at capacity (25/25 open)", "nobody who reads English is free on duty either",
        "Anna Smirnova comes on duty", load=loads(john=25), alert=True),
    # -- skills narrow the candidates
    row("skills-local-dk", facts("ru", P1, "premium", ("local:dk",)), TUE_11, "lars",
        "no Russian-speaking l1 engineer free on duty", "Lars Jensen is on duty", sun=True),
    row("skills-local-ru", facts("ru", P3, "8x5", ("tech", "local:ru")), TUE_11, {"anna", "dmitry"}),
    row("skills-local-pl-waits", facts("pl", P3, "basic", ("local:pl",)), TUE_23, msk(2026, 11, 25, 11, 0),
        "Katarzyna Nowak comes on duty Wed 2026-11-25 11:00"),
    row("skills-nobody-has-them", facts("ru", P1, "premium", ("finance",)), TUE_11, TUE_11 + timedelta(days=21),
        "nobody matching comes on duty within 21 days", alert=True),
]


@pytest.mark.parametrize("case", ROWS, ids=[r.id for r in ROWS])
def test_assignment_table(case: Row) -> None:
    decision = POLICY.assign(case.facts, case.loads, case.at)
    if isinstance(case.expect, datetime):
        assert isinstance(decision, Queued), reasons_text(decision)
        assert decision.pickup_at == case.expect
        assert decision.pickup_at > case.at
        assert decision.pickup_at.tzinfo is not None
        assert decision.alert_lead is case.alert_lead
    else:
        assert isinstance(decision, Assignment), reasons_text(decision)
        assert decision.engineer in case.expect
        assert ROSTER.duty_at(decision.engineer, case.at) is not None
        if case.follow_the_sun is not None:
            assert decision.follow_the_sun is case.follow_the_sun
        if decision.follow_the_sun and case.facts.language != "en":
            assert tuple(map(str, decision.flags)) == (f"customer wrote in {_name(case.facts.language)}",)
    assert decision.tier == "l1"
    assert_reasons(decision, *case.reasons)


def _name(code: str) -> str:
    return {"ru": "Russian", "pl": "Polish", "da": "Danish"}[code]


def test_ties_go_to_config_order_then_longest_idle() -> None:
    fact = facts("ru", P3, "8x5")
    assert POLICY.assign(fact, {}, TUE_11).engineer == "anna"
    earlier, later = TUE_11 - timedelta(hours=3), TUE_11 - timedelta(hours=1)
    even = {"anna": Load(2, later), "dmitry": Load(2, earlier)}
    assert POLICY.assign(fact, even, TUE_11).engineer == "dmitry"


def test_rotation_windows_across_the_hand_over() -> None:
    sunday_night = ROSTER.duty_at("john", msk(2026, 11, 30, 0, 1))
    assert sunday_night is not None
    # Friday night, Saturday and Sunday are one weekend watch: Fri 19:00 to Mon 10:00.
    assert (sunday_night.start, sunday_night.end) == (msk(2026, 11, 27, 19, 0), msk(2026, 11, 30, 10, 0))
    assert ROSTER.duty_at("priya", msk(2026, 11, 30, 0, 1)) is None
    assert ROSTER.duty_at("priya", msk(2026, 11, 29, 23, 59)) is None
    assert ROSTER.duty_at("john", msk(2026, 11, 30, 19, 0)) is None
    # Nobody on the night rotation between 10:00 and 19:00 on a weekday.
    assert ROSTER.duty_at("john", msk(2026, 11, 30, 12, 0)) is None
    assert ROSTER.duty_at("priya", msk(2026, 11, 30, 12, 0)) is None


def test_night_window_crosses_midnight() -> None:
    window = ROSTER.duty_at("john", msk(2026, 11, 25, 2, 0))
    assert window is not None
    assert (window.start, window.end) == (msk(2026, 11, 24, 19, 0), msk(2026, 11, 25, 10, 0))


def test_holiday_takes_russians_off_but_not_their_neighbours() -> None:
    at = msk(2026, 3, 9, 11, 0)
    assert ROSTER.duty_at("anna", at) is None and ROSTER.duty_at("dmitry", at) is None
    assert ROSTER.duty_at("kasia", at) is not None and ROSTER.duty_at("lars", at) is not None
    assert ROSTER.duty_at("anna", msk(2026, 3, 10, 11, 0)) is not None


# --------------------------------------------------------------------------- overrides


def test_configured_override_replaces_anna() -> None:
    at = msk(2026, 12, 31, 11, 0)
    assert ROSTER.duty_at("anna", at) is None
    window = ROSTER.duty_at("dmitry", at)
    assert window is not None and str(window.via) == "override: covers anna (Anna's day off)"
    assert ROSTER.duty_at("dmitry", msk(2026, 12, 31, 19, 0)) is None  # the override has ended


def test_runtime_override_wins_over_the_regular_shift() -> None:
    sick = Override("lars", msk(2026, 11, 24, 10, 0), msk(2026, 11, 24, 19, 0), replaces="anna", reason="sick")
    policy = AssignmentPolicy(ROSTER.with_overrides([sick]), "en", P2)
    # Anna would be the least loaded, but she is off: Dmitry takes the Russian ticket.
    decision = policy.assign(facts("ru", P3, "8x5"), loads(dmitry=5), TUE_11)
    assert isinstance(decision, Assignment) and decision.engineer == "dmitry"
    assert policy.roster.duty_at("anna", TUE_11) is None
    # The override is the stronger reason while it lasts, and it puts Lars on duty before his
    # own shift starts (10:30 Moscow is 08:30 in Copenhagen).
    assert str(policy.roster.duty_at("lars", TUE_11).via) == "override: covers anna (sick)"
    early = policy.roster.duty_at("lars", msk(2026, 11, 24, 10, 30))
    assert early is not None and str(early.via) == "override: covers anna (sick)"
    assert ROSTER.duty_at("lars", msk(2026, 11, 24, 10, 30)) is None


def test_override_swaps_the_night_watch() -> None:
    swap = Override("priya", msk(2026, 11, 24, 19, 0), msk(2026, 11, 25, 10, 0), replaces="john", reason="swap")
    policy = AssignmentPolicy(ROSTER.with_overrides([swap]), "en", P2)
    decision = policy.assign(facts("ru", P1, "warranty"), {}, TUE_23)
    assert isinstance(decision, Assignment) and decision.engineer == "priya"
    assert_reasons(decision, "so it follows the sun: Priya Sharma is on duty (override: covers john (swap))")
    assert policy.roster.duty_at("john", TUE_23) is None


# --------------------------------------------------------------------------- nobody on duty


def _small_policy() -> AssignmentPolicy:
    day = Shift("msk_day", "Europe/Moscow", WeeklyHours.parse({"mon-fri": "10:00-19:00"}))
    ivan = Engineer("ivan", "Ivan", frozenset({"ru"}), "Europe/Moscow", "RU", shift="msk_day", max_open=2)
    return AssignmentPolicy(Roster({"ivan": ivan}, {"msk_day": day}), "en", P2)


def test_nobody_on_duty_queues_and_alerts_the_lead() -> None:
    policy = _small_policy()
    saturday = msk(2026, 11, 28, 12, 0)
    decision = policy.assign(facts("ru", P1, "24x7"), {}, saturday)
    assert isinstance(decision, Queued)
    assert decision.alert_lead is True
    assert decision.pickup_at == msk(2026, 11, 30, 10, 0)
    assert_reasons(decision, "no Russian-speaking l1 engineer free on duty", "P1 is urgent",
                   "nobody who reads English is free on duty either", "queued: Ivan comes on duty Mon")


def test_not_urgent_outside_hours_queues_without_alert() -> None:
    decision = _small_policy().assign(facts("ru", P3, "8x5"), {}, msk(2026, 11, 28, 12, 0))
    assert isinstance(decision, Queued)
    assert decision.alert_lead is False
    assert decision.pickup_at == msk(2026, 11, 30, 10, 0)


def test_full_engineer_on_duty_is_picked_up_at_the_next_shift() -> None:
    # Ivan is on duty but full: the ticket must wait for his next shift (Wednesday 10:00),
    # not "nobody matching comes on duty within 21 days".
    decision = _small_policy().assign(facts("ru", P1, "24x7"), loads(ivan=2), TUE_11)
    assert isinstance(decision, Queued) and decision.alert_lead is True
    assert_reasons(decision, "Ivan is at capacity (2/2 open)")
    assert decision.pickup_at == msk(2026, 11, 25, 10, 0)


def test_no_english_engineer_anywhere_queues_within_the_horizon() -> None:
    decision = _small_policy().assign(facts("uk", P1, "24x7"), {}, TUE_11)
    assert isinstance(decision, Queued) and decision.alert_lead is True
    assert decision.pickup_at == TUE_11 + timedelta(days=21)
    assert_reasons(decision, "no Ukrainian-speaking", "nobody matching comes on duty within 21 days")


# --------------------------------------------------------------------------- escalation


def test_escalation_by_area_finance_goes_to_elena() -> None:
    decision = POLICY.escalate(facts("ru", P2, "warranty"), {}, TUE_11, area="finance")
    assert isinstance(decision, Assignment)
    assert (decision.engineer, decision.tier) == ("elena", "ee")
    assert_reasons(decision, "escalated l1 → ee (finance): Elena Morozova is on duty (shift moscow_day)")


def test_escalation_by_area_scm_goes_to_tom_in_london_hours() -> None:
    at = datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)  # 13:00 Moscow
    decision = POLICY.escalate(facts("ru", P2, "warranty"), {}, at, area="scm")
    assert isinstance(decision, Assignment)
    assert (decision.engineer, decision.tier) == ("tom", "ee")
    assert_reasons(decision, "escalated l1 → ee (scm): Tom Baker is on duty (shift london_day)")


def test_escalation_to_scm_before_london_opens_waits_for_tom() -> None:
    decision = POLICY.escalate(facts("ru", P2, "warranty"), {}, TUE_11, area="scm")  # 08:00 London
    assert isinstance(decision, Queued)
    assert decision.alert_lead is True and decision.tier == "ee"
    assert decision.pickup_at == datetime(2026, 11, 24, 9, 0, tzinfo=LONDON)
    assert_reasons(decision, "nobody of ee (scm) is free on duty", "Tom Baker comes on duty")


def test_escalation_without_area_takes_the_least_loaded_of_the_tier() -> None:
    decision = POLICY.escalate(facts("ru", P3, "8x5"), loads(elena=3), TUE_11)
    assert isinstance(decision, Assignment) and decision.engineer == "mikhail"


def test_escalation_ee_to_se_then_top_of_the_ladder() -> None:
    at_ee = facts("ru", P1, "premium", tier="ee")
    decision = POLICY.escalate(at_ee, {}, TUE_11)
    assert isinstance(decision, Assignment)
    assert (decision.engineer, decision.tier) == ("sergey", "se")
    assert_reasons(decision, "escalated ee → se: Sergey Lebedev is on duty")
    with pytest.raises(ValueError, match="se is the top of the escalation ladder"):
        POLICY.escalate(facts("ru", P1, "premium", tier="se"), {}, TUE_11)
    with pytest.raises(ValueError, match='"l3" is not a tier'):
        POLICY.escalate(at_ee, {}, TUE_11, to_tier="l3")


def test_escalation_at_night_waits_for_the_day_and_alerts() -> None:
    decision = POLICY.escalate(facts("ru", P1, "premium"), {}, TUE_23, area="finance")
    assert isinstance(decision, Queued) and decision.alert_lead is True
    assert decision.pickup_at == WED_10


# --------------------------------------------------------------------------- bugs found


def test_excluded_engineer_is_not_the_pickup_on_escalation() -> None:
    # A lead escalates an EE finance ticket of Elena's to "ee finance" again, for someone else
    # (Triage.escalate excludes the assignee). Nobody else in EE knows finance, so the ticket
    # must queue for someone else or the horizon — not "Elena comes on duty" a second from now.
    at_ee = facts("ru", P1, "premium", tier="ee")
    decision = POLICY.escalate(at_ee, {}, TUE_11, to_tier="ee", area="finance", exclude={"elena"})
    assert isinstance(decision, Queued)
    assert "Elena" not in str(decision.reasons[-1])
    assert decision.pickup_at > TUE_11 + timedelta(minutes=1)



def test_excluded_engineer_is_not_the_pickup_on_assign() -> None:
    decision = POLICY.assign(facts("en", P1, "premium"), {}, TUE_23, exclude={"john"})
    assert isinstance(decision, Queued)
    assert "John" not in str(decision.reasons[-1])
    assert decision.pickup_at > TUE_23 + timedelta(minutes=1)


def test_holiday_gap_alerts_the_lead() -> None:
    # Between the end of the night shift (10:00 Moscow) and 09:00 in Warsaw and Copenhagen
    # (11:00 Moscow in winter) a Russian holiday has no first-line engineer at all.
    at = msk(2027, 3, 8, 10, 30)
    assert not ROSTER.on_duty(at, tier="l1")
    decision = POLICY.assign(facts("ru", P1, "premium"), {}, at)
    assert isinstance(decision, Queued) and decision.alert_lead is True
    assert_reasons(decision, "P1 is urgent", "nobody who reads English is free on duty either")
    assert decision.pickup_at > at


@pytest.mark.parametrize(
    ("at", "local_pickup"),
    [
        (msk(2027, 3, 8, 10, 30), msk(2027, 3, 9, 10, 0)),  # 8 March: the day after
        (msk(2027, 1, 5, 10, 30), msk(2027, 1, 11, 10, 0)),  # New Year holidays: six days later
    ],
)
def test_urgent_ticket_waits_for_the_earliest_engineer_not_the_local_one(
    at: datetime, local_pickup: datetime,
) -> None:
    decision = POLICY.assign(facts("ru", P1, "premium"), {}, at)
    assert isinstance(decision, Queued)
    assert decision.pickup_at < local_pickup
    assert decision.pickup_at == at.replace(hour=11, minute=0)  # kasia and lars, 09:00 CET


# --------------------------------------------------------------------------- properties

ENGINEERS = tuple(ROSTER.engineers.values())
L1 = tuple(e for e in ENGINEERS if e.tier == "l1")
START = datetime(2026, 1, 1, tzinfo=UTC)
MINUTES = int((datetime(2029, 1, 1, tzinfo=UTC) - START) / timedelta(minutes=1)) - 1


@st.composite
def load_maps(draw: st.DrawFn) -> dict[str, Load]:
    found = {}
    for engineer in L1:
        cap = engineer.max_open or 30
        count = draw(st.one_of(st.just(0), st.integers(0, cap), st.just(cap)))
        if count:
            found[engineer.id] = Load(count)
    return found


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    minute=st.integers(0, MINUTES),
    priority=st.sampled_from(list(Priority)),
    plan=st.sampled_from(sorted(CFG.plans)),
    language=st.sampled_from(CFG.desk.languages),
    load=load_maps(),
)
def test_every_ticket_gets_an_engineer_on_duty_or_a_future_pickup(
    minute: int, priority: Priority, plan: str, language: str, load: dict[str, Load],
) -> None:
    at = START + timedelta(minutes=minute)
    fact = facts(language, priority, plan)
    decision = POLICY.assign(fact, load, at)
    if isinstance(decision, Assignment):
        engineer = ROSTER.engineers[decision.engineer]
        assert ROSTER.duty_at(engineer.id, at) is not None
        assert language in engineer.languages or "en" in engineer.languages
        assert decision.follow_the_sun == (not _local_free(fact, load, at))
        assert engineer.max_open is None or load.get(engineer.id, Load()).open_count < engineer.max_open
        assert engineer.tier == "l1"
    else:
        assert isinstance(decision, Queued)
        assert decision.pickup_at > at
        if not decision.alert_lead:
            # A ticket that waits, waits for its plan's hours.
            assert fact.coverage.is_open(decision.pickup_at)
            assert priority > POLICY.urgent
    assert decision.reasons


def _local_free(fact: TicketFacts, load: Mapping[str, Load], at: datetime) -> bool:
    return any(
        e.max_open is None or load.get(e.id, Load()).open_count < e.max_open
        for e in ROSTER.on_duty(at, language=fact.language, tier="l1")
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    minute=st.integers(0, MINUTES),
    tier=st.sampled_from(["l1", "ee"]),
    area=st.sampled_from([None, "finance", "scm", "tech"]),
    language=st.sampled_from(CFG.desk.languages),
)
def test_escalation_gets_the_next_tier_on_duty_or_a_future_pickup(
    minute: int, tier: str, area: str | None, language: str,
) -> None:
    at = START + timedelta(minutes=minute)
    decision = POLICY.escalate(facts(language, P2, "premium", tier=tier), {}, at, area=area)
    wanted = ROSTER.next_tier(tier)
    assert decision.tier == wanted
    if isinstance(decision, Assignment):
        engineer = ROSTER.engineers[decision.engineer]
        assert engineer.tier == wanted
        assert area is None or area in engineer.skills
        assert ROSTER.duty_at(engineer.id, at) is not None
    else:
        assert decision.alert_lead is True
        assert decision.pickup_at > at
