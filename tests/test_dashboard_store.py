"""The dashboard's storage on both backends (the contract suite's fixtures): links used
once and only in time, sessions that end, the queue's order and filters, and the report's
roll-up kept right by the triggers as tickets are written, changed and deleted."""

from __future__ import annotations

from datetime import timedelta

from storage.base import ChangeSet, QueueQuery

from .test_storage_contract import NOW, Backend, at, backend, postgres_url, ticket  # noqa: F401 - fixtures

LINK = {"token_hash": "h1", "engineer": "olga", "identity": "telegram:100011", "created_at": NOW,
        "expires_at": at(10)}


async def test_a_link_is_used_once_and_only_in_time(backend: Backend) -> None:  # noqa: F811 - the contract suite's fixture
    store = backend.store
    await store.commit(ChangeSet(login_links=[LINK, {**LINK, "token_hash": "h2"}, {**LINK, "token_hash": "h3"}]))
    assert await store.use_login_link("nope", at(1)) is None
    used = await store.use_login_link("h1", at(1))
    assert used is not None and used["engineer"] == "olga" and used["used_at"] == at(1)
    assert await store.use_login_link("h1", at(2)) is None  # used
    assert await store.use_login_link("h2", at(10)) is None  # expired at 10 minutes
    assert await store.use_login_link("h3", at(9.9)) is not None  # just in time


async def test_a_session_lasts_until_it_ends_or_expires(backend: Backend) -> None:  # noqa: F811 - the contract suite's fixture
    store = backend.store
    row = {"token_hash": "s1", "engineer": "olga", "identity": "telegram:100011", "csrf": "c",
           "created_at": NOW, "expires_at": at(720)}
    await store.open_session(row)
    await store.open_session({**row, "token_hash": "s2"})
    assert (await store.session("s1", at(719)) or {}).get("csrf") == "c"
    assert await store.session("s1", at(720)) is None
    await store.end_session("s2", at(5))
    assert await store.session("s2", at(6)) is None


async def test_the_queue_is_overdue_first_then_by_time_left(backend: Backend) -> None:  # noqa: F811 - the contract suite's fixture
    store = backend.store
    tickets = [
        ticket(1001, next_target_at=at(60), plan="premium"),
        ticket(1002, next_target_at=at(-30), assignee=None),  # overdue
        ticket(1003, next_target_at=None),  # no clock running: last
        ticket(1004, next_target_at=at(5), language="en"),
        ticket(1005, next_target_at=at(-90), status="closed"),  # not open
        ticket(1006, next_target_at=at(5)),  # same target as 1004: by id
    ]
    await store.commit(ChangeSet(tickets=tickets))
    page = await store.queue_page(QueueQuery(now=NOW, limit=3))
    assert [r["id"] for r in page.rows] == [1002, 1004, 1006] and page.total == 5 and page.overdue == 1
    page = await store.queue_page(QueueQuery(now=NOW, limit=3, offset=3))
    assert [r["id"] for r in page.rows] == [1001, 1003]
    assert [r["id"] for r in (await store.queue_page(QueueQuery(now=NOW, unassigned=True))).rows] == [1002]
    assert [r["id"] for r in (await store.queue_page(QueueQuery(now=NOW, language="en"))).rows] == [1004]
    assert [r["id"] for r in (await store.queue_page(QueueQuery(now=NOW, plan="premium"))).rows] == [1001]
    assert (await store.queue_page(QueueQuery(now=NOW, priority=1))).total == 0


def _totals(found: dict[str, list[dict[str, object]]]) -> dict[tuple[object, object], tuple[object, ...]]:
    return {(r["dim"], r["value"]): (r["tickets"], r["first_met"], r["first_missed"], r["resolution_met"],
                                     r["resolution_missed"], r["rated"], r["rating_sum"])
            for r in found["totals"] if r["tickets"]}


async def test_the_report_roll_up_follows_every_change(backend: Backend) -> None:  # noqa: F811 - the contract suite's fixture
    store = backend.store
    day = NOW.date().isoformat()
    met = ticket(1001, first_met=1, first_used_s=600, first_holder="anna", rating=5)
    missed = ticket(1002, first_met=0, first_used_s=4000, first_holder="dmitry", assignee="dmitry", plan="premium")
    await store.commit(ChangeSet(tickets=[met, missed]))
    totals = _totals(await store.report_days(day, day))
    assert totals[("plan", "basic")] == (1, 1, 0, 0, 0, 1, 5)
    assert totals[("plan", "premium")] == (1, 0, 1, 0, 0, 0, 0)
    assert totals[("first_by", "anna")] == (1, 1, 0, 0, 0, 1, 5)
    assert totals[("first_spread", "0")][0] == 1 and totals[("first_spread", "3")][0] == 1  # <15m, 1-2h
    assert totals[("rating", "5")][0] == 1

    # The missed ticket is reassigned, resolved in time and rated; the met one moves a day on.
    changed = {**missed, "resolution_met": 1, "resolution_used_s": 7200, "resolution_holder": "anna", "rating": 3}
    await store.commit(ChangeSet(tickets=[changed]))
    totals = _totals(await store.report_days(day, day))
    assert totals[("plan", "premium")] == (1, 0, 1, 1, 0, 1, 3)
    assert totals[("resolution_by", "anna")][3] == 1
    assert ("rating", "3") in totals and totals[("rating", "5")][0] == 1
    plan_days = (await store.report_days(day, day))["plan_days"]
    assert sorted((r["value"], r["tickets"]) for r in plan_days) == [("basic", 1), ("premium", 1)]
    assert (await store.report_days((NOW + timedelta(days=1)).date().isoformat(), "9999-12-31"))["totals"] == []
