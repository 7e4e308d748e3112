"""The desk's own configuration sections: `[desk]`, `[storage]`, `[delivery]`, `[intake]`,
`[http]`, `[routing]`, `[scheduler]`, calendars, plans, shifts, rotations, overrides,
engineers and organisations. Channel sections live with their adapters; `bot.app.config`
puts them all together.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from bot.app.fields import Duration, Identity, Language, Model, PriorityField, TimeZone
from bot.core import backoff
from bot.i18n.texts import CUSTOMER_LANGUAGES, STAFF_LANGUAGES
from routing.calendar import WeeklyHours
from routing.priority import Priority


class DeskConfig(Model):
    name: str = "dutydesk"
    timezone: TimeZone = "UTC"
    languages: list[Language] = Field(default_factory=lambda: ["en", "ru"], min_length=1)
    default_language: Language = "en"
    default_plan: str = "basic"  # when absent from the file: "basic" if there is one, else the first plan
    max_text: int = Field(default=32_000, ge=100)
    reopen_within: Duration = timedelta(days=7)
    # Languages detection may choose that have no customer texts, and the language their
    # speakers read instead (e.g. kk = "ru"): said here, never decided silently.
    text_fallback: dict[Language, Language] = Field(default_factory=dict)
    staff_room_language: Language = "en"  # staff rooms are shared: their headers and copies in one language

    @model_validator(mode="after")
    def _default_language_is_listed(self) -> DeskConfig:
        if self.default_language not in self.languages:
            raise ValueError(f'default_language "{self.default_language}" is not in languages')
        return self

    @model_validator(mode="after")
    def _every_language_is_answered(self) -> DeskConfig:
        for code, target in self.text_fallback.items():
            if target not in CUSTOMER_LANGUAGES:
                raise ValueError(f'text_fallback.{code}: there are no customer texts in "{target}" either '
                                 f"(there are: {', '.join(CUSTOMER_LANGUAGES)})")
        if self.staff_room_language not in STAFF_LANGUAGES:
            raise ValueError(f'staff_room_language: staff texts exist in {", ".join(STAFF_LANGUAGES)}, '
                             f'not "{self.staff_room_language}"')
        for code in self.languages:
            if code not in CUSTOMER_LANGUAGES and code not in self.text_fallback:
                raise ValueError(
                    f'languages: there are no customer texts in "{code}" (there are: {", ".join(CUSTOMER_LANGUAGES)}); '
                    f'say which its speakers read instead, e.g. text_fallback = {{ {code} = "en" }}'
                )
        return self


class StorageConfig(Model):
    url: str = "sqlite:///dutydesk.db"


class Retries(Model):
    """Pauses between attempts (`bot.core.backoff`): from `retry_base_seconds`, doubling each
    time, up to `retry_max_seconds`. The defaults are delivery's; intake sets its own."""

    retry_base_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)

    def pause(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1 for the first)."""
        return backoff.pause(attempt, self.retry_base_seconds, self.retry_max_seconds)


class DeliveryConfig(Retries):
    """How the dispatcher retries a message a platform did not take."""

    max_attempts: int = Field(default=12, ge=1)
    # Messages sent and not yet booked, at most: what a crash can make the outbox send again.
    max_in_flight: int = Field(default=16, ge=1)


class IntakeConfig(Retries):
    """How often an update the desk fails to take is tried before it is set aside."""

    attempts: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=0.5, gt=0)
    retry_max_seconds: float = Field(default=8.0, gt=0)


class HttpConfig(Model):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class CalendarConfig(Model):
    timezone: TimeZone = "UTC"
    always: bool = False
    hours: dict[str, str | list[str]] = Field(default_factory=dict)
    holidays: str | None = None  # a country code for the `holidays` package
    holiday_subdiv: str | None = None
    extra_holidays: list[date] = Field(default_factory=list)
    extra_workdays: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _hours_or_always(self) -> CalendarConfig:
        if self.always and self.hours:
            raise ValueError("a calendar is either always = true or has hours, not both")
        if not self.always and not self.hours:
            raise ValueError("set hours (e.g. { mon-fri = \"10:00-19:00\" }) or always = true")
        if self.hours:
            WeeklyHours.parse(self.hours)
        return self


class Targets(Model):
    first_response: Duration | None = None
    resolution: Duration | None = None
    update_every: Duration | None = None


class PlanConfig(Model):
    description: str = ""
    calendar: str  # coverage: the hours in which the plan promises to work
    # The calendar's hours count in the organisation's own time zone, with its country's public
    # holidays: one plan for customers in several time zones, each on its local office's hours.
    office_time: bool = False
    first_response: Duration
    resolution: Duration
    update_every: Duration = timedelta(days=2)
    update_calendar: str | None = None  # default: counts calendar days, 24/7
    update_notice: Duration = timedelta(hours=4)  # remind the people on it this long before (at most half the interval)
    priority_floor: PriorityField | None = None
    reminders: list[float] = Field(default_factory=lambda: [0.5, 0.8])
    escalate_on_breach: bool = True
    progress_note: bool = True  # at each update, tell the customer where the ticket stands
    priorities: dict[str, Targets] = Field(default_factory=dict)

    @field_validator("reminders")
    @classmethod
    def _fractions(cls, value: list[float]) -> list[float]:
        if any(not 0 < f < 1 for f in value):
            raise ValueError("reminders are fractions of the target between 0 and 1, e.g. [0.5, 0.8]")
        return sorted(set(value))

    @field_validator("priorities")
    @classmethod
    def _priority_keys(cls, value: dict[str, Targets]) -> dict[str, Targets]:
        return {Priority.parse(key).name: targets for key, targets in value.items()}


class ShiftConfig(Model):
    timezone: TimeZone
    hours: dict[str, str | list[str]]
    holidays: bool = True  # the engineer's public holidays cancel this shift

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        WeeklyHours.parse(value)
        return value


class RotationConfig(Model):
    name: str
    shift: str
    members: list[str] = Field(min_length=1)
    start: date
    every: Duration = timedelta(weeks=1)


class OverrideConfig(Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    engineer: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    replaces: str | None = None
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> OverrideConfig:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("from and to need a UTC offset, e.g. 2026-03-08T09:00:00+03:00")
        if self.end <= self.start:
            raise ValueError("to must be after from")
        return self


class EngineerConfig(Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str
    languages: list[Language] = Field(min_length=1)
    timezone: TimeZone
    country: str | None = None
    tier: str = "l1"
    skills: list[str] = Field(default_factory=list)
    shift: str | None = None
    role: Literal["engineer", "lead", "admin"] = "engineer"
    max_open: int | None = Field(default=None, ge=1)
    identities: list[Identity] = Field(default_factory=list)
    # What the desk writes to them in; default: the first of their languages staff texts exist in.
    interface_language: Language | None = None

    @field_validator("interface_language")
    @classmethod
    def _staff_language(cls, value: str | None) -> str | None:
        if value is not None and value not in STAFF_LANGUAGES:
            raise ValueError(f'staff texts exist in {", ".join(STAFF_LANGUAGES)}, not "{value}"')
        return value

    @property
    def reads(self) -> str:
        """The staff language the desk writes to them in."""
        return self.interface_language or next((x for x in self.languages if x in STAFF_LANGUAGES), "en")


class OrganisationConfig(Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str
    plan: str
    timezone: TimeZone = "UTC"
    language: Language | None = None
    country: str | None = None
    members: list[Identity] = Field(default_factory=list)
    chats: list[Identity] = Field(default_factory=list)  # group chats / shared channels
    skills: list[str] = Field(default_factory=list)  # what its tickets need, e.g. local:ru
    dedicated: str | None = None  # its dedicated engineer (premium): takes its tickets when on duty
    backup: str | None = None  # takes them when the dedicated engineer is off duty


class RoutingConfig(Model):
    tiers: list[str] = Field(default_factory=lambda: ["l1", "ee", "se"], min_length=1)
    tier_names: dict[str, str] = Field(default_factory=dict)
    follow_the_sun_language: Language = "en"
    urgent: PriorityField = Priority.P2  # this priority and above go to whoever is on duty
    priority: dict[str, list[str]] = Field(default_factory=dict)  # extra patterns per priority

    @field_validator("priority")
    @classmethod
    def _priority_keys(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {Priority.parse(key).name: patterns for key, patterns in value.items()}


class SchedulerConfig(Model):
    digest_at: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # each lead's local time
    report_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    report_at: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")



class DashboardConfig(Model):
    """The lead's web dashboard at `/desk/` on the HTTP server (bot/dashboard)."""

    enabled: bool = False
    # How people reach the HTTP server (behind a proxy: its https address); login links
    # point there, and an https address makes the session cookie Secure.
    public_url: str = Field(default="http://127.0.0.1:8080", pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    session_hours: float = Field(default=12, gt=0, le=24 * 7)
    link_minutes: float = Field(default=10, gt=0, le=60)
    page_size: int = Field(default=50, ge=10, le=500)
    refresh_seconds: int = Field(default=15, ge=2, le=600)  # how often open pages fetch fresh data


class HealthConfig(Model):
    """What `/readyz` allows before it answers 503 (bot/app/readiness.py)."""

    # A polling channel must complete a round within its long-poll timeout plus this.
    intake_margin_seconds: float = Field(default=30.0, gt=0)
    # The oldest pending outbox message must be younger (a burst into one group chat takes
    # a while at a platform's twenty messages a minute).
    outbox_max_age_seconds: float = Field(default=900.0, gt=0)
    database_timeout_seconds: float = Field(default=2.0, gt=0)


class StandbyConfig(Model):
    """PostgreSQL: how a waiting desk tries the claim, and how the active one checks it."""

    retry_seconds: float = Field(default=1.0, gt=0)
    check_seconds: float = Field(default=1.0, gt=0)


class RetentionConfig(Model):
    """How long what people wrote is kept: message texts and attachments of tickets closed
    longer ago than `closed_after` are erased daily at `run_at` (the desk's home time);
    the tickets, their SLA figures and event log stay. Unset: kept for ever."""

    closed_after: Duration | None = None
    run_at: str = Field(default="03:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


# What a ticket gets when the configuration names no plan at all.
BUILT_IN_PLAN = {"description": "built in: no plans configured", "calendar": "24/7",
                 "first_response": "8h", "resolution": "5d"}
