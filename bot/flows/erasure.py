"""Retention and erasure: what people wrote is not kept for ever, and a customer may ask to
be forgotten.

Both keep each ticket's history as figures — its row (plan, priority, times, SLA record),
deadlines and event log — and blank what identifies or was written by a person (the
storage does it in one transaction per batch, `Store.expire_texts` / `erase_customer`).
Each affected ticket gets an event saying what was erased, when and why: the audit trail,
which names no one (a forgotten customer appears only as a random pseudonym).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from contextlib import nullcontext
from datetime import datetime, timedelta

from bot.core.domain import EventType
from storage.base import Row, Store

log = logging.getLogger("dutydesk.erasure")

PSEUDONYM_PREFIX = "erased:"  # the event log's schema allows an actor to become only this


def _audit(kind: EventType, actor: str, at: datetime, reason: str) -> Row:
    return {"type": kind.value, "actor": actor, "at": at, "reason": reason, "data": {}}


async def expire_texts(
    store: Store, now: datetime, closed_after: timedelta, lock: asyncio.Lock | None = None,
) -> int:
    """Erase the texts and attachments of tickets closed more than `closed_after` ago;
    returns how many tickets. Batches of a few hundred, each its own transaction under
    `lock` (the desk's), so the desk's decisions between them are never held up for long."""
    audit = _audit(EventType.TEXTS_EXPIRED, "desk", now,
                   f"retention: closed more than {closed_after} ago; message texts and attachments erased")
    total = 0
    while True:
        async with lock or nullcontext():
            ids = await store.expire_texts(now - closed_after, audit)
        if not ids:
            break
        total += len(ids)
    if total:
        log.info("retention: erased the texts of %d tickets closed before %s", total,
                 (now - closed_after).isoformat(), extra={"event": "texts_expired"})
    return total


async def forget(store: Store, identity: str, now: datetime) -> tuple[str, list[int]]:
    """Erase one customer's personal data (`telegram:12345`); returns the pseudonym their
    tickets now carry, and the tickets."""
    pseudonym = PSEUDONYM_PREFIX + secrets.token_hex(6)  # random: nothing leads back to the person
    audit = _audit(EventType.DATA_ERASED, "desk", now,
                   f"erasure on request: names, texts and chat ids erased; customer now {pseudonym}")
    ids = await store.erase_customer(identity, pseudonym, audit)
    log.info("erased the personal data of one customer (now %s) from %d tickets", pseudonym, len(ids),
             extra={"event": "data_erased"})
    return pseudonym, ids
