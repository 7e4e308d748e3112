"""The tables' columns as the desk's rows name them — one list for every backend."""

from __future__ import annotations

# The statuses whose ticket a new message in the same conversation joins.
JOINABLE_SQL = "('new', 'assigned', 'in_progress', 'waiting_customer', 'resolved')"

TIME_COLUMNS = frozenset(
    {
        "assigned_at", "pickup_at", "created_at", "updated_at", "first_response_at",
        "resolved_at", "closed_at", "last_customer_at", "last_update_at", "clock_running_since",
        "clock_paused_at", "at", "edited_at", "sent_at", "target_at", "due_at", "fired_at",
        "last_assigned_at", "start_at", "end_at",
        "next_target_at", "first_due_at", "resolution_due_at", "expires_at", "used_at", "ended_at",
    }
)
JSON_COLUMNS = frozenset({"attachments", "data", "buttons", "copy_of", "sla"})

TICKET_COLUMNS = (
    "id", "status", "priority", "priority_reason", "kind", "language", "subject", "customer",
    "customer_name", "org_id", "plan", "customer_tz", "channel", "chat_id", "thread_id",
    "assignee", "tier", "escalation_level", "assigned_at", "pickup_at", "created_at",
    "updated_at", "first_response_at", "resolved_at", "closed_at", "last_customer_at",
    "last_update_at", "last_customer_message", "clock_running_since", "clock_used_s",
    "clock_paused_at", "rating", "sla",
    # The SLA record's figures as columns, for the dashboard's queue and reports.
    "next_target_at", "first_due_at", "first_met", "first_holder", "first_used_s",
    "resolution_due_at", "resolution_met", "resolution_holder", "resolution_used_s",
)
MESSAGE_COLUMNS = (
    "ticket_id", "direction", "author", "text", "attachments", "channel", "chat_id",
    "platform_id", "album", "at", "edited_at",
)
EVENT_COLUMNS = ("ticket_id", "type", "actor", "at", "reason", "data")
OUTBOX_COLUMNS = (
    "ticket_id", "kind", "channel", "chat_id", "thread_id", "audience", "person", "text",
    "title", "buttons", "copy_of", "reply_to", "coalesce_key", "created_at",
)
DEADLINE_COLUMNS = ("ticket_id", "clock", "stage", "target_at", "due_at")
REF_COLUMNS = ("channel", "chat_id", "message_id", "ticket_id")
KEY_COLUMNS = ("key", "ticket_id", "at")
OVERRIDE_COLUMNS = ("engineer", "start_at", "end_at", "replaces", "reason", "created_by", "created_at")
DEAD_LETTER_COLUMNS = ("channel", "key", "payload", "error", "attempts", "state", "created_at", "updated_at")
HINT_COLUMNS = ("channel", "chat_id", "thread_id", "at")
LOGIN_LINK_COLUMNS = ("token_hash", "engineer", "identity", "created_at", "expires_at")
SESSION_COLUMNS = ("token_hash", "engineer", "identity", "csrf", "created_at", "expires_at")
# The statuses of a ticket still being worked on (literal, so partial indexes on them apply).
OPEN_SQL = "('new', 'assigned', 'in_progress', 'waiting_customer')"

# The columns stored as they are (ints, text): every other column or parameter may need
# encoding (storage/sqlite.py).
PLAIN_COLUMNS = frozenset(
    {*TICKET_COLUMNS, *MESSAGE_COLUMNS, *EVENT_COLUMNS, *OUTBOX_COLUMNS, *DEADLINE_COLUMNS, *REF_COLUMNS,
     *KEY_COLUMNS, *OVERRIDE_COLUMNS, *DEAD_LETTER_COLUMNS, *HINT_COLUMNS, *LOGIN_LINK_COLUMNS, *SESSION_COLUMNS,
     "state", "header_id"}
    - TIME_COLUMNS - JSON_COLUMNS
)
