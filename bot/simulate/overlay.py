"""The simulated desk's config: the real file, deep-merged with a what-if overlay.

An overlay is a TOML file in the config's own shape: tables merge key by key, and the
arrays of tables that carry an `id` (`[[engineers]]`, `[[organisations]]`) merge by it — an
entry with a known id changes that entry, `remove = true` drops it, a new id is added. Its
`[simulate]` table holds the simulation's own settings (capacity, handling times), never
the desk's. Command-line what-ifs (`--remove-engineer`, `--add-engineer`, `--shift`,
`--add-orgs`, `--target`) are turned into the same overlay, so both paths mean the same.
The result is validated by the desk's own `parse_config`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app.config import Config, ConfigError, parse_config, read_toml

KEYED_ARRAYS = ("engineers", "organisations")
SIM_TABLE = "simulate"


@dataclass(frozen=True)
class Scenario:
    """One desk to simulate: its config, its simulation settings, and the organisations a
    what-if added per plan (they bring arrivals of their own)."""

    config: Config
    settings: dict[str, Any]
    added_orgs: dict[str, list[str]] = field(default_factory=dict)


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """`overlay` onto `base`, neither changed: tables by key, id-keyed arrays by id."""
    merged = deepcopy(dict(base))
    for key, value in overlay.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = deep_merge(old, value)
        elif key in KEYED_ARRAYS and isinstance(old, list) and isinstance(value, list):
            merged[key] = _merge_by_id(old, value, key)
        else:
            merged[key] = deepcopy(value)
    return merged


def _merge_by_id(old: list[Any], new: list[Any], where: str) -> list[Any]:
    entries = {entry.get("id"): deepcopy(entry) for entry in old}
    for entry in new:
        if not isinstance(entry, dict) or "id" not in entry:
            raise ConfigError(f"what-if: every [[{where}]] entry needs an id")
        known = entries.get(entry["id"])
        if known is None and entry.get("remove"):
            raise ConfigError(f'what-if: no {where[:-1]} "{entry["id"]}" to remove')
        entries[entry["id"]] = deep_merge(known, entry) if known is not None else deepcopy(entry)
    return list(entries.values())


def cli_overlay(
    *, remove: Sequence[str] = (), add: Sequence[str] = (), shifts: Sequence[str] = (),
    add_orgs: Sequence[str] = (), targets: Sequence[str] = (),
) -> dict[str, Any]:
    """The command line's what-ifs as an overlay.

    `add`: `ID:SHIFT:LANGS[:TIER]` (e.g. `sam:night:en`), `shifts`: `ENGINEER=SHIFT`,
    `add_orgs`: `PLAN:N`, `targets`: `PLAN[.PRIORITY].KEY=DURATION` (e.g. `premium.first_response=30m`).
    """
    overlay: dict[str, Any] = {}
    engineers = [{"id": e, "remove": True} for e in remove]
    engineers += [_added_engineer(spec) for spec in add]
    for spec in shifts:
        who, _, shift = spec.partition("=")
        if not who or not shift:
            raise ConfigError(f'--shift "{spec}": write ENGINEER=SHIFT, e.g. anna=night')
        engineers.append({"id": who, "shift": shift})
    if engineers:
        overlay["engineers"] = engineers
    for spec in add_orgs:
        plan, _, count = spec.partition(":")
        if not plan or not count.isdigit() or int(count) < 1:
            raise ConfigError(f'--add-orgs "{spec}": write PLAN:N, e.g. premium:3')
        overlay.setdefault(SIM_TABLE, {}).setdefault("add_orgs", {})[plan] = int(count)
    for spec in targets:
        overlay = deep_merge(overlay, {"plans": _target(spec)})
    return overlay


def _added_engineer(spec: str) -> dict[str, Any]:
    parts = spec.split(":")
    if len(parts) not in (3, 4) or not all(parts):
        raise ConfigError(f'--add-engineer "{spec}": write ID:SHIFT:LANGUAGES[:TIER], e.g. sam:night:en,ru')
    ident, shift, languages = parts[:3]
    entry: dict[str, Any] = {"id": ident, "name": ident, "shift": shift, "languages": languages.split(","),
                             "timezone": "UTC"}
    if len(parts) == 4:
        entry["tier"] = parts[3]
    return entry


def _target(spec: str) -> dict[str, Any]:
    path, _, value = spec.partition("=")
    keys = path.split(".")
    if not value or len(keys) not in (2, 3):
        raise ConfigError(f'--target "{spec}": write PLAN[.PRIORITY].KEY=DURATION, e.g. premium.P1.resolution=2h')
    if len(keys) == 2:
        return {keys[0]: {keys[1]: value}}
    return {keys[0]: {"priorities": {keys[1]: {keys[2]: value}}}}


def scenario(raw: Mapping[str, Any], overlay: Mapping[str, Any], *, source: str, base_dir: Path) -> Scenario:
    """The desk `raw` becomes with `overlay` on it, with the organisations it adds."""
    merged = deep_merge(raw, overlay)
    _drop_removed(merged)
    settings = merged.pop(SIM_TABLE, {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{source}: [{SIM_TABLE}] must be a table")
    added = _add_organisations(merged, settings.get("add_orgs", {}), source)
    config = parse_config(merged, source=source, base_dir=base_dir)
    return Scenario(config, settings, added)


def _drop_removed(raw: dict[str, Any]) -> None:
    """Entries marked `remove = true` go, and so does every mention of a removed engineer:
    their rotation turns (the others rotate without them), overrides, dedicated roles."""
    gone = {e["id"] for e in raw.get("engineers", []) if e.get("remove")}
    for key in KEYED_ARRAYS:
        if key in raw:
            raw[key] = [entry for entry in raw[key] if not entry.get("remove")]
    if not gone:
        return
    rotations = [{**r, "members": [m for m in r.get("members", []) if m not in gone]} for r in raw.get("rotations", [])]
    raw["rotations"] = [r for r in rotations if r["members"]]
    raw["overrides"] = [{k: v for k, v in o.items() if not (k == "replaces" and v in gone)}
                        for o in raw.get("overrides", []) if o.get("engineer") not in gone]
    for org in raw.get("organisations", []):
        for role in ("dedicated", "backup"):
            if org.get(role) in gone:
                del org[role]


def _add_organisations(raw: dict[str, Any], wanted: Mapping[str, Any], source: str) -> dict[str, list[str]]:
    """`add_orgs = { premium = 3 }`: three more organisations like the plan's first one."""
    added: dict[str, list[str]] = {}
    orgs: list[dict[str, Any]] = raw.setdefault("organisations", [])
    for plan, count in wanted.items():
        model = next((o for o in orgs if o.get("plan") == plan), None)
        if model is None:
            raise ConfigError(f'{source}: add_orgs: no organisation on plan "{plan}" to model the new ones on '
                              "(their ticket rate is the plan's per organisation)")
        for n in range(1, int(count) + 1):
            ident = f"sim-{plan}-{n}"
            orgs.append({**{k: v for k, v in model.items() if k not in ("members", "chats", "dedicated", "backup")},
                         "id": ident, "name": f"Simulated {plan} customer {n}"})
            added.setdefault(plan, []).append(ident)
    return added


def load_scenarios(
    config: Path, overlay_file: Path | None, what_if: Mapping[str, Any], settings: Mapping[str, Any],
) -> tuple[Scenario, Scenario | None]:
    """The baseline and, when anything is changed, the what-if. `settings` (from the command
    line) hold for both; an overlay's own `[simulate]` table changes them for the what-if."""
    raw = read_toml(config)
    base_dir = config.resolve().parent
    base = {SIM_TABLE: dict(settings)}
    baseline = scenario(raw, base, source=config.name, base_dir=base_dir)
    overlay: dict[str, Any] = read_toml(overlay_file) if overlay_file is not None else {}
    overlay = deep_merge(overlay, what_if)
    if not overlay:
        return baseline, None
    source = overlay_file.name if overlay_file is not None else "what-if"
    return baseline, scenario(raw, deep_merge(base, overlay), source=source, base_dir=base_dir)
