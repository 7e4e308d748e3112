"""The ticket page: the conversation and the event log as one timeline, the SLA clocks'
deadlines with their history, the deliveries; and the forms that act on the ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.core.desk import Desk
from bot.core.records import ticket_from_row
from bot.dashboard import actions, present
from bot.dashboard.auth import Refused, see_other, viewer
from bot.dashboard.render import render
from bot.sla.clocks import BREACH
from storage.base import Row


def _timeline(messages: list[Row], events: list[Row], tz: str) -> list[dict[str, Any]]:
    """Messages and events in the order they happened (a message before the events it caused)."""
    items: list[tuple[datetime, int, dict[str, Any]]] = []
    for m in messages:
        items.append((m["at"], 0, {"kind": m["direction"], "who": m["author"], "text": m["text"],
                                   "at": present.local(m["at"], tz), "files": len(m["attachments"] or [])}))
    for e in events:
        items.append((e["at"], 1, {"kind": "event", "who": e["actor"], "text": f"{e['type'].replace('_', ' ')}: "
                                   f"{e['reason']}", "at": present.local(e["at"], tz), "files": 0}))
    return [item for _, _, item in sorted(items, key=lambda x: (x[0], x[1]))]


def _deadlines(rows: list[Row], now: datetime, tz: str) -> list[dict[str, Any]]:
    """Every target and reminder the clocks set, fired or pending; replaced ones that never
    fired are gone (a priority change moves them), fired ones stay as history."""
    out = []
    for d in rows:
        if d["stage"] == BREACH:
            stage = "target"
        else:
            stage = f"reminder at {d['stage']}%"
        state = (f"fired {present.local(d['fired_at'], tz)}" if d["fired_at"] else
                 present.countdown(d["due_at"], now)[1])
        out.append({"clock": d["clock"].replace("_", " "), "stage": stage, "target": present.local(d["target_at"], tz),
                    "state": state})
    return out


async def page(desk: Desk, request: web.Request) -> web.StreamResponse:
    who = viewer(request)
    s = desk.services
    ticket_id = int(request.match_info["id"])
    row = await desk.store.ticket(ticket_id)
    if row is None:
        raise Refused(404, f"There is no ticket T-{ticket_id}.")
    t = ticket_from_row(row)
    tz, now = who.engineer.timezone, desk.clock.now()
    org = s.directory.organisation(t.org_id)
    outbox = await desk.store.outbox_rows(ticket_id)
    said = actions.answer(who)
    return render(
        request, "ticket.html", title=t.display_id, t=t, org=org.name if org else "—",
        assignee=present.engineer_name(s, t.assignee), now=now.isoformat(),
        next_target=present.countdown(row["next_target_at"], now),
        timeline=_timeline(await desk.store.messages(ticket_id), await desk.store.events(ticket_id), tz),
        deadlines=_deadlines(await desk.store.deadlines(ticket_id), now, tz),
        deliveries=[{"kind": o["kind"], "to": f"{o['channel']}:{o['chat_id']}", "audience": o["audience"],
                     "state": o["state"], "attempts": o["attempts"], "sent": present.local(o["sent_at"], tz),
                     "error": o["last_error"] or ""} for o in outbox],
        engineers=[(e.id, e.name) for e in s.directory.engineers()], tiers=s.cfg.routing.tiers,
        said=said,
    )


async def act(desk: Desk, request: web.Request) -> web.StreamResponse:
    """A form on the ticket page, run as the chat command it stands for."""
    who = viewer(request)
    ticket_id = int(request.match_info["id"])
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    text = actions.ticket_command(who, ticket_id, form.get("action", ""), form)
    await actions.run(desk, who, text)
    return see_other(f"/desk/ticket/{ticket_id}")
