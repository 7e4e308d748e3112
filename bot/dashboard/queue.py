"""The queue page: open tickets, most urgent first — overdue targets, then the least time
left — filtered by plan, priority, language, assignee or nobody, a page at a time. The
ordering is the store's (`Store.queue_page`, an index on each ticket's next target), so
the first page of a hundred thousand open tickets costs what the first page of ten does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.core.desk import Desk
from bot.dashboard import present
from bot.dashboard.auth import viewer
from bot.dashboard.render import render
from storage.base import QueueQuery

FILTERS = ("plan", "priority", "language", "assignee")


@dataclass(frozen=True)
class Filters:
    plan: str | None
    priority: int | None
    language: str | None
    assignee: str | None  # an engineer id, or "-" for nobody
    page: int

    @classmethod
    def parse(cls, request: web.Request) -> Filters:
        q = request.query

        def pick(name: str) -> str | None:
            value = q.get(name, "").strip()
            return value[:64] or None

        priority = pick("priority")
        page = pick("page")
        return cls(
            pick("plan"), int(priority[1:]) if priority and priority[1:].isdigit() and priority[0] == "P" else None,
            pick("language"), pick("assignee"), int(page) if page and page.isdigit() and int(page) < 100_000 else 1,
        )

    def query(self, desk: Desk) -> QueueQuery:
        size = desk.services.cfg.dashboard.page_size
        nobody = self.assignee == "-"
        return QueueQuery(
            now=desk.clock.now(), plan=self.plan, priority=self.priority, language=self.language,
            assignee=None if nobody else self.assignee, unassigned=nobody, offset=(self.page - 1) * size, limit=size,
        )

    def link(self, page: int) -> str:
        values = {"plan": self.plan, "priority": f"P{self.priority}" if self.priority else None,
                  "language": self.language, "assignee": self.assignee, "page": page}
        return "?" + urlencode({k: v for k, v in values.items() if v is not None})


async def page(desk: Desk, request: web.Request) -> web.StreamResponse:
    who = viewer(request)
    s = desk.services
    filters = Filters.parse(request)
    query = filters.query(desk)
    found = await desk.store.queue_page(query)
    rows = [present.queue_row(s, row, query.now, who.engineer.timezone) for row in found.rows]
    pages = max(1, -(-found.total // query.limit))
    values: dict[str, Any] = {
        "rows": rows, "total": found.total, "overdue": found.overdue, "filters": filters,
        "page": filters.page, "pages": pages,
        "prev": filters.link(filters.page - 1) if filters.page > 1 else None,
        "next": filters.link(filters.page + 1) if filters.page < pages else None,
        "now": query.now.isoformat(), "refresh": s.cfg.dashboard.refresh_seconds,
        "plans": sorted(s.cfg.plans), "languages": s.cfg.desk.languages, "priorities": ("P1", "P2", "P3", "P4"),
        "engineers": [(e.id, e.name) for e in s.directory.engineers()],
    }
    template = "queue_rows.html" if request.query.get("partial") == "1" else "queue.html"
    return render(request, template, title="Queue", **values)
