"""Configuration: the example loads, and every mistake is reported by file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.app.config import ConfigError, check_secrets, load_config, parse_config
from bot.core.triage import build_roster
from bot.sla.clocks import build_calendars

from .conftest import EXAMPLE


def _raw() -> dict:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def test_example_config_loads_and_builds_everything() -> None:
    cfg = load_config(EXAMPLE)
    assert {p for p in cfg.plans} == {"basic", "warranty", "8x5", "24x7", "premium"}
    assert cfg.plans["premium"].first_response.total_seconds() == 15 * 60
    assert cfg.plans["warranty"].resolution.total_seconds() == 40 * 3600
    roster = build_roster(cfg)
    assert roster.tiers == ("l1", "ee", "se")
    assert set(build_calendars(cfg)) >= {"24/7", "ru_workdays", "moscow_8x5", "always"}
    # A relative SQLite path lives beside the config file.
    assert cfg.storage.url == f"sqlite:///{EXAMPLE.parent / 'dutydesk.db'}"


def _error(raw: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, source="config.toml")
    return str(caught.value)


def test_bad_duration_names_file_and_key() -> None:
    raw = _raw()
    raw["plans"]["premium"]["first_response"] = "15 minuts"
    assert _error(raw) == (
        'config.toml: plans.premium.first_response: "15 minuts" is not a duration '
        "(examples: 15m, 1h, 8h, 2d, 40 working hours)"
    )


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("engineers", 0, "timezone"), "Moscow", 'config.toml: engineers[0].timezone: "Moscow" is not a time zone'),
        (("engineers", 0, "languages"), ["russian"], "config.toml: engineers[0].languages[0]: \"russian\" is not a two-letter"),
        (("engineers", 0, "shift"), "moon", 'config.toml: engineers[0].shift: no shift named "moon"'),
        (("organisations", 0, "plan"), "gold", 'config.toml: organisations[0].plan: no plan named "gold"'),
        (("routing", "urgent"), "P7", 'config.toml: routing.urgent: "P7" is not a priority'),
        (("desk", "langauges"), ["en"], "config.toml: desk.langauges: unknown key (a typo?)"),
        (("calendars", "ru_workdays", "hours"), {"mon-fri": "9-18"}, "config.toml: calendars.ru_workdays"),
        (("engineers", 1, "identities"), ["telegram:100001"], 'identity "telegram:100001" appears twice'),
    ],
)
def test_mistakes_are_named(path: tuple, value: object, expected: str) -> None:
    raw = _raw()
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert expected in _error(raw)


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "config.toml"
    broken.write_text("[desk\nname = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.toml: not valid TOML"):
        load_config(broken)
    with pytest.raises(ConfigError, match=r"no such file"):
        load_config(tmp_path / "nope.toml")


def test_secrets_come_from_the_environment() -> None:
    raw = _raw()
    raw["telegram"]["enabled"] = True
    cfg = parse_config(raw)
    assert check_secrets(cfg, environ={}) == ["telegram.token: environment variable TELEGRAM_BOT_TOKEN is not set"]
    assert check_secrets(cfg, environ={"TELEGRAM_BOT_TOKEN": "123:abc"}) == []
    assert cfg.channels["telegram"].token.reveal({"TELEGRAM_BOT_TOKEN": "123:abc"}) == "123:abc"


def test_a_minimal_config_is_a_working_desk() -> None:
    """Nothing but a channel: a built-in plan, no roster; tickets still open and wait."""
    cfg = parse_config({"local": {"enabled": True}})
    assert cfg.desk.default_plan == "basic" and cfg.plans["basic"].calendar == "24/7"
    named = parse_config({"plans": {"standard": {"calendar": "24/7", "first_response": "1h", "resolution": "1d"}}})
    assert named.desk.default_plan == "standard"


async def test_desk_on_a_minimal_config(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from adapters.local import LocalChannel
    from bot.app.factory import App
    from bot.core.clock import ManualClock

    cfg = parse_config({"local": {"enabled": True}, "storage": {"url": f"sqlite:///{tmp_path / 'm.db'}"}})
    local = LocalChannel()
    app = await App.create(cfg, clock=ManualClock(datetime(2026, 11, 24, 9, tzinfo=UTC)), adapters={"local": local},
                           serve_http=False)
    await local.start(app.desk, None)
    try:
        receipt = await local.say("1", "Hello, nothing works")
        assert receipt.created
        await app.dispatcher.flush()
        [ack] = local.to("1")
        assert "T-1001" in ack.text
    finally:
        await app.dispatcher.stop()
        await app.store.close()


SECRET_TOKEN = "7700001:AAF-very-secret-token"


def test_secrets_never_show_in_repr_str_or_dumps() -> None:
    cfg = parse_config({"telegram": {"enabled": True, "token": SECRET_TOKEN, "mode": "webhook",
                                     "webhook_url": "https://desk.example.com/hook", "webhook_secret": "hook-secret-1"},
                        "slack": {"enabled": True}})
    for shown in (repr(cfg), str(cfg), cfg.model_dump_json(), repr(cfg.model_dump()), str(cfg.channels["telegram"].token)):
        assert SECRET_TOKEN not in shown and "hook-secret-1" not in shown
    assert "Secret('env:SLACK_BOT_TOKEN')" in repr(cfg.channels["slack"])  # where a secret comes from is no secret
    assert cfg.channels["telegram"].token.reveal() == SECRET_TOKEN


def test_revealed_secrets_are_blanked_out_of_every_log_line() -> None:
    import io
    import logging

    from bot.app.redact import redact_logs

    cfg = parse_config({"slack": {"enabled": True}})
    token = cfg.channels["slack"].bot_token.reveal({"SLACK_BOT_TOKEN": "xoxb-1234-secret-value"})
    stream = io.StringIO()
    logger = logging.getLogger("test.redaction")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        redact_logs(logger)
        logger.warning("calling https://slack.com/api/auth.test?token=%s", token)
        try:
            raise RuntimeError(f"Authorization: Bearer {token}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert token not in written and written.count("***") == 2  # in the message, and in the exception
    assert written.startswith("WARNING calling https://slack.com/api/auth.test?token=***")


def test_check_config_warns_about_a_secret_written_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.app.cli import main

    config = tmp_path / "config.toml"
    config.write_text(f'[telegram]\nenabled = true\ntoken = "{SECRET_TOKEN}"\n', encoding="utf-8")
    assert main(["check-config", str(config)]) == 0
    err = capsys.readouterr().err
    assert "config.toml: warning: telegram.token: the secret is written in the file" in err
    assert SECRET_TOKEN not in err
