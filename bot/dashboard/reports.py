"""The reports page: SLA met per week per plan (a chart), how long first responses and
resolutions took (distributions), tables per plan, language, priority and engineer, CSAT,
the latest breaches, over a date range; and the CSV export.

The page reads a roll-up kept by triggers as tickets are written (`Store.report_days`: per
UTC day of creation and per plan, language, priority, engineer charged, working-time bucket
and rating), so two years of a million tickets are some 25,000 rows. Met and missed are the
ticket's own SLA record as of its last commit, as in `bot/sla/report.py` (a target passed
unanswered is missed — the breach firing commits the ticket; each target is charged to
whoever held the ticket then); days are UTC days. The CSV export is that module's report
itself, computed from the tickets.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.core.desk import Desk
from bot.core.domain import EventType
from bot.dashboard import charts, present
from bot.dashboard.auth import viewer
from bot.dashboard.figures import BUCKETS, fold, share, spread_quantiles
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


def date_range(request: web.Request, now: datetime, tz: str) -> tuple[date, date]:
    """The days asked for (both included), by default the last four weeks from a Monday."""
    today = now.astimezone(ZoneInfo(tz)).date()
    last = min(_day(request.query.get("until")) or today, today + timedelta(days=1))
    monday = last - timedelta(days=last.weekday())
    first = _day(request.query.get("since")) or monday - timedelta(weeks=DEFAULT_WEEKS - 1)
    return max(min(first, last), last - timedelta(days=MAX_DAYS)), last


def mondays(first: date, last: date) -> list[date]:
    start = first - timedelta(days=first.weekday())
    return [start + timedelta(weeks=i) for i in range((last - start).days // 7 + 1)]


async def page(desk: Desk, request: web.Request) -> web.StreamResponse:
    who = viewer(request)
    now, tz = desk.clock.now(), who.engineer.timezone
    first, last = date_range(request, now, tz)
    found = fold(await desk.store.report_days(first.isoformat(), last.isoformat()), desk.services)
    plans, spreads = sorted({plan for _, plan in found.weekly}), found.spreads
    weeks = mondays(first, last)
    labels = [f"{monday:%d %b}" for monday in weeks]
    series = {plan: [share(found.weekly.get((monday, plan))) for monday in weeks] for plan in plans}
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    until = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    breaches = await desk.store.latest_events(EventType.SLA_BREACHED.value, since, min(until, now), BREACHES_SHOWN)
    return render(
        request, "reports.html", title="Reports", first=first.isoformat(), last=last.isoformat(),
        tables=found.tables,
        weekly=charts.weekly_share("Targets met per week, by plan", labels, series, TARGET),
        weekly_rows=[(label, [present.percent(series[p][i]) for p in plans]) for i, label in enumerate(labels)],
        plans=plans, target=f"{TARGET:.0%}",
        spread=charts.distribution("Working time to first response and to resolution", BUCKETS,
                                   {"first response": spreads["first"], "resolution": spreads["resolution"]}),
        spread_rows=list(zip(BUCKETS, spreads["first"], spreads["resolution"], strict=True)),
        quantiles={clock: spread_quantiles(counts) for clock, counts in found.spreads.items()},
        ratings=_ratings(found.ratings),
        breaches=[{"ticket": f"T-{e['ticket_id']}", "id": e["ticket_id"], "at": present.local(e["at"], tz),
                   "clock": str(e["data"].get("clock", "")).replace("_", " "), "reason": e["reason"]}
                  for e in breaches],
        csv_link=f"/desk/reports.csv?since={first.isoformat()}&until={last.isoformat()}",
    )


def _ratings(counts: dict[int, int]) -> dict[str, Any]:
    """CSAT: the share of ratings of 4 or 5 out of 5, their average and their spread."""
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
    first, last = date_range(request, now, who.engineer.timezone)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    report = await sla_report(desk.store, since, since + timedelta(days=(last - first).days + 1), now)
    response = web.Response(text=as_csv(report), content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="sla-{first.isoformat()}-{last.isoformat()}.csv"'})
    harden(response)
    return response
