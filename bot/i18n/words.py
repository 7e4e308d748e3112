"""Texts whose key follows from a value — a ticket's status, a priority, an SLA clock, a
staff role — looked up here, each key spelled out once and marked, so that `make i18n`
extracts it and the catalogue tests hold it to a translation in every language."""

from __future__ import annotations

from bot.i18n.texts import customer_key, staff_key, staff_text, text

# The staff's words (the ticket header, reminders) and the customers' (`/status`) differ:
# "first response" to an engineer is "first answer" to a customer. Each value customers
# see has both, side by side: (the staff's, the customers').
_BOTH = {
    "status": {
        "new": (staff_key("ticket_status_new"), customer_key("status_new")),
        "assigned": (staff_key("ticket_status_assigned"), customer_key("status_assigned")),
        "in_progress": (staff_key("ticket_status_in_progress"), customer_key("status_in_progress")),
        "waiting_customer": (staff_key("ticket_status_waiting_customer"), customer_key("status_waiting_customer")),
        "resolved": (staff_key("ticket_status_resolved"), customer_key("status_resolved")),
        "closed": (staff_key("ticket_status_closed"), customer_key("status_closed")),
    },
    "clock": {
        "first_response": (staff_key("clock_first_response"), customer_key("clock_first_response")),
        "resolution": (staff_key("clock_resolution"), customer_key("clock_resolution")),
    },
}
# Words only staff read.
_STAFF_ONLY = {
    "priority": {"P1": staff_key("priority_P1"), "P2": staff_key("priority_P2"), "P3": staff_key("priority_P3"),
                 "P4": staff_key("priority_P4")},
    "role": {"engineer": staff_key("role_engineer"), "lead": staff_key("role_lead"), "admin": staff_key("role_admin")},
}
_STAFF = {kind: {value: words[0] for value, words in table.items()} for kind, table in _BOTH.items()} | _STAFF_ONLY
_CUSTOMER = {kind: {value: words[1] for value, words in table.items()} for kind, table in _BOTH.items()}

def staff_word(kind: str, value: str, language: str, **values: object) -> str:
    """What a staff reader calls `value` of `kind` ("status", "priority", "clock", "role")."""
    return staff_text(_STAFF[kind][value], language, **values)


def customer_word(kind: str, value: str, language: str | None) -> str:
    """What a customer calls `value` of `kind` ("status", "clock")."""
    return text(_CUSTOMER[kind][value], language)
