"""TOML configuration, validated into typed models.

A support desk is mostly configuration: who works when, which plan promises what. A typo
there silently misroutes tickets at night, so every value is checked at start-up and an
error names the file and the key (`config.toml: plans.premium.first_response: "15 minuts"
is not a duration ...`). Secrets are never in the file: `env:NAME` reads the environment.

The value types are in `bot.app.fields`, the desk's sections in `bot.app.sections`, each
channel's section in its adapter package; here they become one `Config`, loaded and checked.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, ValidationError, create_model, model_validator

from bot.app.fields import ChannelSettings, ConfigError, Language, Model, Secret, TemplateName, TemplateText
from bot.app.sections import (
    BUILT_IN_PLAN,
    CalendarConfig,
    DashboardConfig,
    DeliveryConfig,
    DeskConfig,
    EngineerConfig,
    HealthConfig,
    HttpConfig,
    IntakeConfig,
    OrganisationConfig,
    OverrideConfig,
    PlanConfig,
    RetentionConfig,
    RotationConfig,
    RoutingConfig,
    SchedulerConfig,
    ShiftConfig,
    StandbyConfig,
    StorageConfig,
)
from bot.delivery.descriptor import ChannelDescriptor

__all__ = [
    "CalendarConfig", "Config", "ConfigError", "DashboardConfig", "DeliveryConfig", "DeskConfig", "EngineerConfig",
    "HealthConfig", "HttpConfig", "IntakeConfig", "OrganisationConfig", "PlanConfig", "RetentionConfig",
    "RoutingConfig", "SchedulerConfig", "Secret", "ShiftConfig", "StandbyConfig", "StorageConfig", "check_secrets",
    "config_model", "literal_secrets", "load_config", "parse_config", "resolve_storage_url",
]


class Config(Model):
    """The whole file. Its channel sections come from the channels it was made with
    (`config_model`): one `[name]` section per channel, validated by the channel's model."""

    # The channels whose sections this model has; none on the bare model.
    descriptors: ClassVar[tuple[ChannelDescriptor[Any], ...]] = ()
    desk: DeskConfig = DeskConfig()
    storage: StorageConfig = StorageConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    intake: IntakeConfig = IntakeConfig()
    http: HttpConfig = HttpConfig()
    dashboard: DashboardConfig = DashboardConfig()
    health: HealthConfig = HealthConfig()
    standby: StandbyConfig = StandbyConfig()
    routing: RoutingConfig = RoutingConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    retention: RetentionConfig = RetentionConfig()
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

    @property
    def channels(self) -> dict[str, ChannelSettings]:
        """Each channel's section by channel name, in the order the channels were listed."""
        return {d.name: getattr(self, d.name) for d in self.descriptors}

    @property
    def enabled_channels(self) -> list[str]:
        return [name for name, section in self.channels.items() if section.enabled]

    def descriptor(self, channel: str) -> ChannelDescriptor[Any] | None:
        return next((d for d in self.descriptors if d.name == channel), None)


@functools.cache
def config_model(channels: tuple[ChannelDescriptor[Any], ...]) -> type[Config]:
    """`Config` with a `[name]` section for each channel, so the file keeps one flat shape
    (`[telegram]` beside `[desk]`) and an error names the key as written."""
    names = [d.name for d in channels]
    taken = set(Config.model_fields) & set(names) or {n for n in names if names.count(n) > 1}
    if taken:
        raise ValueError(f"channel names taken twice or by a desk section: {', '.join(sorted(taken))}")
    sections: dict[str, Any] = {d.name: (d.settings, d.settings()) for d in channels}
    model = create_model("Config", __base__=Config, **sections)
    model.descriptors = channels
    return model


def _registry() -> tuple[ChannelDescriptor[Any], ...]:
    """The channels the product ships with. Imported when first needed: the adapters import
    the desk, which imports this module."""
    from bot.app.registry import CHANNELS

    return CHANNELS


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


def load_config(path: str | Path, channels: Sequence[ChannelDescriptor[Any]] | None = None) -> Config:
    """Read and validate a TOML file; every problem becomes one `ConfigError` naming the key.
    `channels`: the channels whose sections it may have (default: the registry's)."""
    file = Path(path)
    return parse_config(read_toml(file), source=file.name, base_dir=file.resolve().parent, channels=channels)


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables. A file that is missing, unreadable or not TOML is a `ConfigError`
    naming it: the config file, and the simulator's overlays on it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def parse_config(
    raw: dict[str, Any], *, source: str = "config", base_dir: Path | None = None,
    channels: Sequence[ChannelDescriptor[Any]] | None = None,
) -> Config:
    model = config_model(tuple(_registry() if channels is None else channels))
    try:
        cfg = model.model_validate(raw)
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
    problems = []
    for d in cfg.descriptors:
        for key, secret in d.needed_secrets(cfg.channels[d.name]):
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
    for section, settings in cfg.channels.items():
        for name in type(settings).model_fields:
            value = getattr(settings, name)
            if isinstance(value, Secret) and value.literal:
                found.append(f'{section}.{name}: the secret is written in the file — set it in the environment '
                             f'and write "env:NAME" instead')
    return found
