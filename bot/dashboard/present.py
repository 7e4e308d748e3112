"""How the pages word things: names, times in the viewer's zone, countdowns with words.

Nothing is told by colour alone: an overdue target reads "OVERDUE 2h 5m late", a due-soon
one "SOON in 25m"; the colours only repeat what the words say.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.services import Services
from storage.base import Row

SOON = timedelta(hours=2)


def span(delta: timedelta) -> str:
    """A duration as people read it on a board: 2d 3h, 4h 10m, 25m, <1m."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m" if mins else "<1m"


def countdown(target: datetime | None, now: datetime) -> tuple[str, str]:
    """(label, words): ("OVERDUE", "2h 5m late"), ("SOON", "in 25m"), ("", "in 3h")."""
    if target is None:
        return "", "no clock running"
    if target <= now:
        return "OVERDUE", f"{span(now - target)} late"
    return ("SOON" if target - now <= SOON else ""), f"in {span(target - now)}"


def local(at: datetime | None, tz: str, fmt: str = "%a %d %b %H:%M") -> str:
    return "—" if at is None else at.astimezone(ZoneInfo(tz)).strftime(fmt)


def engineer_name(s: Services, engineer_id: str | None) -> str:
    if engineer_id is None:
        return "unassigned"
    engineer = s.directory.engineer(engineer_id)
    return engineer.name if engineer else engineer_id


def queue_row(s: Services, row: Row, now: datetime, tz: str) -> dict[str, object]:
    """One line of the queue as the template shows it."""
    org = s.directory.organisation(row["org_id"]) if row["org_id"] else None
    target = row["next_target_at"]
    label, words = countdown(target, now)
    return {
        "id": row["id"], "display": f"T-{row['id']}", "org": org.name if org else (row["customer_name"] or "—"),
        "plan": row["plan"], "priority": f"P{row['priority']}", "language": row["language"],
        "assignee": engineer_name(s, row["assignee"]), "status": row["status"].replace("_", " "),
        "subject": row["subject"], "label": label, "words": words,
        "due": target.isoformat() if target else "", "due_local": local(target, tz),
    }


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"
