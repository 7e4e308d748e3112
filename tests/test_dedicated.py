"""Premium: the organisation's dedicated engineer takes its tickets when on duty, else the
backup, else the usual rules — and the routing reason says which."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.app.config import Config, ConfigError, parse_config
from bot.core.domain import EventType
from routing.language import LanguageDetector

from .conftest import MSK, open_desk

ACME = "200004"  # premium; dedicated engineer Lars (Copenhagen 09–17), backup John (night rotation)


@pytest.mark.parametrize(("at", "engineer", "reason"), [
    # Tuesday 11:00 Moscow: Lars's day in Copenhagen.
    ("2026-11-24T11:00", "lars",
     "ACME Corp's dedicated engineer: Lars Jensen is on duty (shift copenhagen_day)"),
    # 20:00: Lars is off; John has the night rotation this week.
    ("2026-11-24T20:00", "john",
     "ACME Corp's dedicated engineer Lars Jensen is off duty; the backup: John Carter is on duty "
     "(rotation night (week 47))"),
    # A week later Priya has the nights: neither is on duty, so the usual rules.
    ("2026-12-01T20:00", "priya",
     "ACME Corp's dedicated engineer Lars Jensen and backup John Carter are off duty: usual rules"),
])
async def test_dedicated_then_backup_then_the_usual_rules(
    tmp_path: Path, example_config: Config, detector: LanguageDetector, at: str, engineer: str, reason: str,
) -> None:
    desk = await open_desk(example_config, tmp_path / "d.db", detector, datetime.fromisoformat(at).replace(tzinfo=MSK))
    try:
        tid = (await desk.local.say(ACME, "How do I add a user to the warehouse module?")).ticket_id
        ticket = await desk.ticket(tid or 0)
        assert ticket.assignee == engineer
        [assigned] = [r for r in await desk.store.events(ticket.id) if r["type"] == EventType.ASSIGNED]
        assert assigned["reason"].startswith(reason)
        await desk.deliver()
        [ping] = [m for m in desk.local.sent if m.message.kind == "ping"]
        assert reason.split(":")[0] in ping.message.text  # the engineer is told why it is theirs
    finally:
        await desk.close()


def test_a_dedicated_engineer_must_be_in_the_roster() -> None:
    org = {"id": "acme", "name": "ACME", "plan": "basic", "dedicated": "nobody"}
    with pytest.raises(ConfigError, match=r'organisations\[0\].dedicated: no engineer "nobody"'):
        parse_config({"organisations": [org]})
