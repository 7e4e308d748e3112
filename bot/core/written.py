"""The timers this desk last committed, per ticket: a commit leaves a clock's deadline rows
alone when it would only write them again unchanged.

Every commit re-states each touched ticket's timers (`Work.timers`: one DELETE of the
stale rows and one INSERT per ticket), though most decisions — an answer, a reminder, a
note — change one clock or none. Re-stating rows that are already there is a no-op (the
unique key skips them, fired rows stay fired), so skipping it changes nothing stored; it
saves a tenth of a simulated ticket's time (`bench/simulate.py`).

What is remembered holds only for the ticket as this desk last wrote it: one read back
with another `updated_at` was written by someone else since (another process around a
switch-over), and its timers are written in full. A commit that fails remembers nothing.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.domain import Ticket
from storage.base import Row

Schedule = dict[str, list[Row]]  # clock -> its deadline rows
# What is kept of a clock's rows: each one's stage, target and due time (a ticket's id and
# the clock's name are the keys): a few hundred bytes a ticket.
_Kept = dict[str, tuple[tuple[object, ...], ...]]

# Open tickets remembered (a resolved or closed one is forgotten: it has a timer or none);
# past the limit, all are forgotten at once and written in full once more. At most a few
# tens of MB for the largest desks measured (100,000 open tickets, bench/scheduler.py).
_LIMIT = 50_000


def _kept(rows: list[Row]) -> tuple[tuple[object, ...], ...]:
    return tuple((row["stage"], row["target_at"], row["due_at"]) for row in rows)


class WrittenTimers:
    def __init__(self) -> None:
        self._known: dict[int, tuple[datetime, _Kept]] = {}

    def unchanged(self, ticket: Ticket, clock: str, rows: list[Row]) -> bool:
        """Whether `rows` are exactly what this desk last committed for the ticket's clock."""
        known = self._known.get(ticket.id)
        if known is None or ticket.stored is None or ticket.stored.get("updated_at") != known[0]:
            return False
        kept = known[1].get(clock)
        return kept is not None and kept == _kept(rows)

    def remember(self, ticket: Ticket, schedule: Schedule) -> None:
        """After a commit: the ticket's whole schedule as it now stands in the store."""
        if not ticket.is_open:
            self._known.pop(ticket.id, None)
            return
        if len(self._known) >= _LIMIT and ticket.id not in self._known:
            self._known.clear()
        self._known[ticket.id] = (ticket.updated_at, {clock: _kept(rows) for clock, rows in schedule.items()})
