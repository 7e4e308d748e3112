"""TOML configuration, validated into typed models.

A support desk is mostly configuration: who works when, which plan promises what. A typo
there silently misroutes tickets at night, so every value is checked at start-up and an
error names the file and the key (`config.toml: plans.premium.first_response: "15 minuts"
is not a duration ...`). Secrets are never in the file: `env:NAME` reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.app import redact
from bot.i18n.texts import CUSTOMER_LANGUAGES, STAFF_LANGUAGES
from routing.calendar import WeeklyHours
from routing.durations import parse_duration
from routing.priority import Priority


class ConfigError(Exception):
    """A configuration problem, already phrased for the person who edits the file."""


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'{value} is not a duration: write it with a unit, e.g. "{value}m"')
    return parse_duration(str(value))


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'"{value}" is not a time zone (use an IANA name like Europe/Moscow)') from None
    return str(value)


def _priority(value: Any) -> Priority:
    return value if isinstance(value, Priority) else Priority.parse(str(value))


def _language(value: Any) -> str:
    code = str(value).strip().lower()
    if len(code) != 2 or not code.isalpha():
        raise ValueError(f'"{value}" is not a two-letter language code (e.g. ru, en, pl)')
    return code


def _identity(value: Any) -> str:
    text = str(value).strip()
    channel, _, user = text.partition(":")
    if not channel or not user:
        raise ValueError(f'"{value}" is not a chat identity (write channel:id, e.g. telegram:12345)')
    return f"{channel.lower()}:{user}"


Duration = Annotated[timedelta, BeforeValidator(_duration)]
TimeZone = Annotated[str, BeforeValidator(_timezone)]
PriorityField = Annotated[Priority, BeforeValidator(_priority)]
Language = Annotated[str, BeforeValidator(_language)]
Identity = Annotated[str, BeforeValidator(_identity)]
TemplateName = Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")]
TemplateText = Annotated[str, Field(min_length=1)]


class Secret(SecretStr):
    """A secret: `env:NAME` (read from the environment at start-up) or, discouraged, the
    value itself. `repr`, `str` and dumps show `env:NAME` or `**********`, never a value;
    `reveal()` gives the value, and from then on every log line blanks it out."""

    def reveal(self, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ
        written = self.get_secret_value()
        if written.startswith("env:"):
            name = written[4:]
            if name not in env or not env[name]:
                raise ConfigError(f"environment variable {name} is not set")
            value = env[name]
        else:
            value = written
        redact.remember(value)
        return value

    @property
    def literal(self) -> bool:
        """Written into the file itself rather than taken from the environment."""
        return not self.get_secret_value().startswith("env:")

    def _display(self) -> str:
        return self.get_secret_value() if not self.literal else "**********"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class DeliveryConfig(Model):
    retry_base_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    max_attempts: int = Field(default=12, ge=1)
    # Messages sent and not yet booked, at most: what a crash can make the outbox send again.
    max_in_flight: int = Field(default=16, ge=1)


class IntakeConfig(Model):
    """How often an update the desk fails to take is tried before it is set aside."""

    attempts: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=0.5, gt=0)
    retry_max_seconds: float = Field(default=8.0, gt=0)


class HttpConfig(Model):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


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


class LocalConfig(Model):
    enabled: bool = False
    staff_room: str | None = None


class TelegramConfig(Model):
    enabled: bool = False
    token: Secret = Secret("env:TELEGRAM_BOT_TOKEN")
    mode: Literal["polling", "webhook"] = "polling"
    api_base: str = "https://api.telegram.org"
    staff_chat_id: int | None = None
    webhook_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_secret: Secret | None = None
    per_second: float = Field(default=30.0, gt=0)
    per_chat_per_second: float = Field(default=1.0, gt=0)
    per_group_per_minute: int = Field(default=20, ge=1)
    polling_timeout: int = Field(default=30, ge=0, le=50)

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramConfig:
        if self.enabled and self.mode == "webhook" and not self.webhook_url:
            raise ValueError("mode is webhook but webhook_url is not set")
        return self


class SlackConfig(Model):
    enabled: bool = False
    bot_token: Secret = Secret("env:SLACK_BOT_TOKEN")
    signing_secret: Secret = Secret("env:SLACK_SIGNING_SECRET")
    app_token: Secret = Secret("env:SLACK_APP_TOKEN")
    mode: Literal["http", "socket"] = "http"
    api_base: str = "https://slack.com/api/"
    events_path: str = "/slack/events"
    triage_channel: str | None = None
    command: str = "/desk"
    per_channel_per_second: float = Field(default=1.0, gt=0)
    per_second: float = Field(default=20.0, gt=0)


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


# What a ticket gets when the configuration names no plan at all.
BUILT_IN_PLAN = {"description": "built in: no plans configured", "calendar": "24/7",
                 "first_response": "8h", "resolution": "5d"}


class Config(Model):
    desk: DeskConfig = DeskConfig()
    storage: StorageConfig = StorageConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    intake: IntakeConfig = IntakeConfig()
    http: HttpConfig = HttpConfig()
    dashboard: DashboardConfig = DashboardConfig()
    local: LocalConfig = LocalConfig()
    telegram: TelegramConfig = TelegramConfig()
    slack: SlackConfig = SlackConfig()
    routing: RoutingConfig = RoutingConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    calendars: dict[str, CalendarConfig] = Field(default_factory=dict)
    plans: dict[str, PlanConfig] = Field(default_factory=dict)
    shifts: dict[str, ShiftConfig] = Field(default_factory=dict)
    rotations: list[RotationConfig] = Field(default_factory=list)
    overrides: list[OverrideConfig] = Field(default_factory=list)
    engineers: list[EngineerConfig] = Field(default_factory=list)
    organisations: list[OrganisationConfig] = Field(default_factory=list)
    # Answers to frequent questions, by name and then by language: `answer T-1042 vpn`.
    templates: dict[TemplateName, dict[Language, TemplateText]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _a_plan_for_everyone(cls, raw: Any) -> Any:
        """A desk without plans still opens tickets (on a built-in "basic" plan), and a file
        that names no default plan uses "basic" or, failing that, its first plan."""
        if not isinstance(raw, dict):
            return raw
        plans = raw.get("plans") or {"basic": BUILT_IN_PLAN}
        desk = dict(raw.get("desk") or {})
        if "default_plan" not in desk and isinstance(plans, dict) and plans and "basic" not in plans:
            desk["default_plan"] = next(iter(plans))
        return {**raw, "plans": plans, "desk": desk}

    @model_validator(mode="after")
    def _references(self) -> Config:
        _check_references(self)
        return self


def _check_references(cfg: Config) -> None:
    """Cross-references pydantic cannot see: names that must exist elsewhere in the file."""
    calendars = set(cfg.calendars) | {"24/7"}
    for name, plan in cfg.plans.items():
        for key in ("calendar", "update_calendar"):
            value = getattr(plan, key)
            if value is not None and value not in calendars:
                raise ValueError(f"plans.{name}.{key}: no calendar named \"{value}\"")
    if cfg.desk.default_plan not in cfg.plans:
        raise ValueError(f'desk.default_plan: no plan named "{cfg.desk.default_plan}"')
    engineer_ids = [e.id for e in cfg.engineers]
    _unique(engineer_ids, "engineers", "id")
    tiers = set(cfg.routing.tiers)
    for i, eng in enumerate(cfg.engineers):
        if eng.shift is not None and eng.shift not in cfg.shifts:
            raise ValueError(f'engineers[{i}].shift: no shift named "{eng.shift}"')
        if eng.tier not in tiers:
            raise ValueError(f'engineers[{i}].tier: "{eng.tier}" is not one of routing.tiers {sorted(tiers)}')
    for i, rot in enumerate(cfg.rotations):
        if rot.shift not in cfg.shifts:
            raise ValueError(f'rotations[{i}].shift: no shift named "{rot.shift}"')
        for member in rot.members:
            if member not in engineer_ids:
                raise ValueError(f'rotations[{i}].members: no engineer "{member}"')
    for i, ovr in enumerate(cfg.overrides):
        for who in (ovr.engineer, ovr.replaces):
            if who is not None and who not in engineer_ids:
                raise ValueError(f'overrides[{i}]: no engineer "{who}"')
    org_ids = [o.id for o in cfg.organisations]
    _unique(org_ids, "organisations", "id")
    for i, org in enumerate(cfg.organisations):
        if org.plan not in cfg.plans:
            raise ValueError(f'organisations[{i}].plan: no plan named "{org.plan}"')
        for key in ("dedicated", "backup"):
            who = getattr(org, key)
            if who is not None and who not in engineer_ids:
                raise ValueError(f'organisations[{i}].{key}: no engineer "{who}"')
        if org.backup is not None and org.dedicated is None:
            raise ValueError(f"organisations[{i}].backup: a backup needs a dedicated engineer to stand in for")
    identities = [x for e in cfg.engineers for x in e.identities]
    identities += [x for o in cfg.organisations for x in o.members]
    _unique(identities, "engineers/organisations", "identity")
    _unique([x for o in cfg.organisations for x in o.chats], "organisations", "chat")
    for name, versions in cfg.templates.items():
        if not versions:
            raise ValueError(f"templates.{name}: give its text in at least one language (en = \"…\")")


def _unique(values: list[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f'{where}: {what} "{value}" appears twice')
        seen.add(value)


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML file; every problem becomes one `ConfigError` naming the key."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return parse_config(raw, source=file.name, base_dir=file.resolve().parent)


def parse_config(raw: dict[str, Any], *, source: str = "config", base_dir: Path | None = None) -> Config:
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(source, err) for err in exc.errors())) from None
    if base_dir is not None:
        cfg = cfg.model_copy(
            update={"storage": StorageConfig(url=resolve_storage_url(cfg.storage.url, base_dir))}
        )
    return cfg


def resolve_storage_url(url: str, base_dir: Path) -> str:
    """A relative SQLite path lives beside the config file, not wherever the process started."""
    prefix = "sqlite:///"
    if url.startswith(prefix):
        path = Path(url[len(prefix) :])
        if str(path) != ":memory:" and not path.is_absolute():
            return prefix + str((base_dir / path).resolve())
    return url


def _describe(source: str, err: Mapping[str, Any]) -> str:
    loc = ""
    for part in err["loc"]:
        if isinstance(part, int):
            loc += f"[{part}]"
        elif not str(part).startswith("function-"):
            loc += f".{part}" if loc else str(part)
    message = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if err["type"] == "extra_forbidden":
        message = "unknown key (a typo?)"
    # Cross-reference errors come from the root validator: their text already names the key.
    return f"{source}: {loc}: {message}" if loc else f"{source}: {message}"


def check_secrets(cfg: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Secrets the enabled channels need but the environment lacks, as error lines."""
    needed: list[tuple[str, Secret | None]] = []
    if cfg.telegram.enabled:
        needed.append(("telegram.token", cfg.telegram.token))
        if cfg.telegram.mode == "webhook":
            needed.append(("telegram.webhook_secret", cfg.telegram.webhook_secret))
    if cfg.slack.enabled:
        needed.append(("slack.bot_token", cfg.slack.bot_token))
        if cfg.slack.mode == "http":
            needed.append(("slack.signing_secret", cfg.slack.signing_secret))
        else:  # Socket Mode: Slack's requests come over our own connection, nothing to verify
            needed.append(("slack.app_token", cfg.slack.app_token))
    problems = []
    for key, secret in needed:
        if secret is None:
            problems.append(f"{key}: not set")
            continue
        try:
            secret.reveal(environ)
        except ConfigError as exc:
            problems.append(f"{key}: {exc}")
    return problems


def literal_secrets(cfg: Config) -> list[str]:
    """Secrets written into the file itself, as warning lines: a config file is copied,
    shared and committed; the environment (or a secret store feeding it) is the place."""
    found = []
    for section in ("telegram", "slack"):
        settings = getattr(cfg, section)
        for name in type(settings).model_fields:
            value = getattr(settings, name)
            if isinstance(value, Secret) and value.literal:
                found.append(f'{section}.{name}: the secret is written in the file — set it in the environment '
                             f'and write "env:NAME" instead')
    return found
