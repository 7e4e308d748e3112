"""The reports page: SLA met per week per plan (a chart), how long first responses and
resolutions took (distributions), tables per plan, language, priority and engineer, CSAT,
the latest breaches, over a date range; and the CSV export.

The page counts in SQL (`Store.report_figures`, over a covering index of each ticket's SLA
columns), so a range of a million tickets is one pass over an index, not a million JSON
records in Python. Met and missed mean what they mean in `bot/sla/report.py` (the ticket's
own SLA record; a target passed unanswered is missed; each target is charged to whoever
held the ticket then), and the CSV export is that module's report itself.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.core.desk import Desk
from bot.core.domain import EventType
from bot.dashboard import charts, present
from bot.dashboard.auth import viewer
from bot.dashboard.figures import BOUNDS, BUCKETS, Tables, fold, share, spread_quantiles
from bot.dashboard.render import harden, render
from bot.sla.report import TARGET, as_csv, sla_report

DEFAULT_WEEKS = 4
MAX_DAYS = 731
BREACHES_SHOWN = 50


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def date_range(request: web.Request, now: datetime, tz: str) -> tuple[date, date, datetime, datetime]:
    """The days asked for (both inclusive), by default the last four weeks from a Monday;
    and the instants they span in the viewer's zone."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    last = min(_day(request.query.get("until")) or today, today + timedelta(days=1))
    monday = last - timedelta(days=last.weekday())
    first = _day(request.query.get("since")) or monday - timedelta(weeks=DEFAULT_WEEKS - 1)
    first = max(min(first, last), last - timedelta(days=MAX_DAYS))

    def at(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=zone)

    return first, last, at(first), at(last + timedelta(days=1))


def weeks(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """Calendar weeks (from Monday) covering the range, cut to it."""
    start = since - timedelta(days=since.weekday())
    out = []
    while start < until:
        out.append((max(start, since), min(start + timedelta(weeks=1), until)))
        start += timedelta(weeks=1)
    return out


async def page(desk: Desk, request: web.Request) -> web.StreamResponse:
    who = viewer(request)
    now, tz = desk.clock.now(), who.engineer.timezone
    first, last, since, until = date_range(request, now, tz)
    spans = weeks(since, until)
    raw = await desk.store.report_figures(since, until, now, spans, BOUNDS)
    tables: Tables = fold(raw["groups"], desk.services)
    plans = sorted({r["plan"] for r in raw["weeks"]})
    by_week: dict[tuple[datetime, str], dict[str, Any]] = {(r["start_at"], r["plan"]): r for r in raw["weeks"]}
    labels = [f"{a.astimezone(ZoneInfo(tz)):%d %b}" for a, _ in spans]
    series = {plan: [share(by_week.get((a, plan))) for a, _ in spans] for plan in plans}
    spreads = {clock: _buckets(raw[clock]) for clock in ("first", "resolution")}
    breaches = await desk.store.latest_events(EventType.SLA_BREACHED.value, since, min(until, now), BREACHES_SHOWN)
    return render(
        request, "reports.html", title="Reports", first=first.isoformat(), last=last.isoformat(), tables=tables,
        weekly=charts.weekly_share("Targets met per week, by plan", labels, series, TARGET),
        weekly_rows=[(label, [present.percent(series[p][i]) for p in plans]) for i, label in enumerate(labels)],
        plans=plans, target=f"{TARGET:.0%}",
        spread=charts.distribution("Working time to first response and to resolution", BUCKETS,
                                   {"first response": spreads["first"], "resolution": spreads["resolution"]}),
        spread_rows=list(zip(BUCKETS, spreads["first"], spreads["resolution"], strict=True)),
        quantiles={clock: spread_quantiles(spreads[clock]) for clock in spreads},
        ratings=_ratings(raw["ratings"]),
        breaches=[{"ticket": f"T-{e['ticket_id']}", "id": e["ticket_id"], "at": present.local(e["at"], tz),
                   "clock": str(e["data"].get("clock", "")).replace("_", " "), "reason": e["reason"]}
                  for e in breaches],
        csv_link=f"/desk/reports.csv?since={first.isoformat()}&until={last.isoformat()}",
    )


def _buckets(rows: list[dict[str, Any]]) -> list[int]:
    counts = [0] * len(BUCKETS)
    for r in rows:
        counts[r["bucket"]] = r["n"]
    return counts


def _ratings(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """CSAT: the share of ratings of 4 or 5 out of 5, their average and their spread."""
    counts = {r["rating"]: r["n"] for r in rows}
    total = sum(counts.values())
    satisfied = counts.get(4, 0) + counts.get(5, 0)
    average = sum(k * n for k, n in counts.items()) / total if total else None
    return {"total": total, "csat": present.percent(satisfied / total if total else None),
            "average": "—" if average is None else f"{average:.2f}",
            "counts": [(k, counts.get(k, 0)) for k in range(1, 6)]}


async def csv_export(desk: Desk, request: web.Request) -> web.StreamResponse:
    """The SLA report of `dutydesk report --csv` for the range: the same module, the same file."""
    who = viewer(request)
    now = desk.clock.now()
    first, last, since, until = date_range(request, now, who.engineer.timezone)
    report = await sla_report(desk.store, since, until, now)
    response = web.Response(text=as_csv(report), content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="sla-{first.isoformat()}-{last.isoformat()}.csv"'})
    harden(response)
    return response
