"""The roster page: who is on duty now and over the next 72 hours, one timeline per
engineer (shifts, rotations, overrides, public holidays — each labelled in words), who
covers each language now; and the leads' form to add an override (the `override` command).

Everything is read from the desk's live roster (`routing/roster.py`, with the overrides
leads made at run time), so the page shows what routing will do.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.core.desk import Desk
from bot.dashboard import actions, present
from bot.dashboard.auth import require_lead, see_other, viewer
from bot.dashboard.render import render
from bot.i18n import texts
from routing.calendar import Holidays
from routing.roster import DutyWindow, Engineer, Roster

HORIZON = timedelta(hours=72)
PAGE_LANGUAGE = "en"  # the dashboard's pages are in English


def _kind(window: DutyWindow) -> str:
    key = window.via.key
    return "override" if key.startswith("via_override") else "rotation" if key.startswith("via_rotation") else "shift"


def _bar(start: datetime, end: datetime, now: datetime) -> dict[str, float]:
    """Where a span sits on the 72-hour axis, in per cent."""
    left = max(0.0, (start - now) / HORIZON * 100)
    right = min(100.0, (end - now) / HORIZON * 100)
    return {"left": round(left, 2), "width": round(max(right - left, 0.4), 2)}


def _holidays(engineer: Engineer, now: datetime, tz: str) -> list[dict[str, Any]]:
    if engineer.country is None:
        return []
    calendar = Holidays(engineer.country)
    zone = ZoneInfo(tz)
    first = now.astimezone(zone).date()
    out = []
    for offset in range(4):
        day: date = first + timedelta(days=offset)
        if calendar.is_holiday(day):
            start = datetime(day.year, day.month, day.day, tzinfo=zone)
            out.append({**_bar(max(start, now), min(start + timedelta(days=1), now + HORIZON), now),
                        "text": f"public holiday {day:%a %d %b} ({engineer.country})"})
    return out


def _row(roster: Roster, engineer: Engineer, now: datetime, tz: str) -> dict[str, Any]:
    windows = roster.windows(engineer.id, now, now + HORIZON)
    current = roster.duty_at(engineer.id, now)
    return {
        "id": engineer.id, "name": engineer.name, "tier": engineer.tier,
        "languages": ", ".join(sorted(engineer.languages)),
        "now": (f"ON DUTY until {present.local(current.end, tz)}" if current else "off duty"),
        "spans": [{**_bar(w.start, w.end, now), "kind": _kind(w),
                   "text": f"{present.local(w.start, tz)} – {present.local(w.end, tz, '%H:%M')}: "
                           f"{texts.reason(w.via, PAGE_LANGUAGE, tz)}"} for w in windows],
        "holidays": _holidays(engineer, now, tz),
    }


def _ticks(now: datetime, tz: str) -> list[dict[str, Any]]:
    """Every six hours on the axis, in the viewer's zone."""
    local = now.astimezone(ZoneInfo(tz))
    first = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=6 - local.hour % 6)
    return [{"left": round((first + timedelta(hours=6 * i) - local) / HORIZON * 100, 2),
             "text": (first + timedelta(hours=6 * i)).strftime("%a %H:%M")} for i in range(12)
            if first + timedelta(hours=6 * i) < local + HORIZON]


async def page(desk: Desk, request: web.Request) -> web.StreamResponse:
    who = viewer(request)
    s = desk.services
    roster, now, tz = s.triage.roster, desk.clock.now(), who.engineer.timezone
    rows = [_row(roster, e, now, tz) for e in roster.engineers.values()]
    coverage = [(language, [e.name for e in roster.on_duty(now, language=language)] or ["NOBODY"])
                for language in s.cfg.desk.languages]
    return render(
        request, "roster.html", title="Roster", rows=rows, coverage=coverage, ticks=_ticks(now, tz),
        on_now=[r for r in rows if r["now"] != "off duty"], now_local=present.local(now, tz, "%a %d %b %H:%M %Z"),
        engineers=[(e.id, e.name) for e in roster.engineers.values()], said=actions.answer(who),
        start_default=now.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M"),
    )


async def override(desk: Desk, request: web.Request) -> web.StreamResponse:
    """A lead's override, through the `override` command (checked, stored, routing reloaded)."""
    who = require_lead(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    await actions.run(desk, who, actions.override_command(form))
    return see_other("/desk/roster")
