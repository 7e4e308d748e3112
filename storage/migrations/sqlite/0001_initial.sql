-- dutydesk schema, version 1.
-- Times are UTC ISO-8601 text with a fixed width (YYYY-MM-DDTHH:MM:SS.ffffff+00:00),
-- so text order is time order and indexes on them work.

CREATE TABLE tickets (
    id                     INTEGER PRIMARY KEY,
    status                 TEXT    NOT NULL,
    priority               INTEGER NOT NULL,
    priority_reason        TEXT    NOT NULL DEFAULT '',
    kind                   TEXT    NOT NULL,
    language               TEXT    NOT NULL,
    subject                TEXT    NOT NULL DEFAULT '',
    customer               TEXT    NOT NULL,
    customer_name          TEXT    NOT NULL DEFAULT '',
    org_id                 TEXT,
    plan                   TEXT    NOT NULL,
    customer_tz            TEXT    NOT NULL,
    channel                TEXT    NOT NULL,
    chat_id                TEXT    NOT NULL,
    thread_id              TEXT    NOT NULL DEFAULT '',
    assignee               TEXT,
    tier                   TEXT    NOT NULL,
    escalation_level       INTEGER NOT NULL DEFAULT 0,
    assigned_at            TEXT,
    pickup_at              TEXT,
    created_at             TEXT    NOT NULL,
    updated_at             TEXT    NOT NULL,
    first_response_at      TEXT,
    resolved_at            TEXT,
    closed_at              TEXT,
    last_customer_at       TEXT,
    last_update_at         TEXT,
    last_customer_message  TEXT,
    clock_running_since    TEXT,
    clock_used_s           INTEGER NOT NULL DEFAULT 0,
    clock_paused_at        TEXT,
    rating                 INTEGER
);

-- "Which ticket does this message join?" is asked for every inbound message.
CREATE INDEX tickets_conversation ON tickets (channel, chat_id, thread_id, id)
    WHERE status IN ('new', 'assigned', 'in_progress', 'waiting_customer', 'resolved');
CREATE INDEX tickets_open_assignee ON tickets (assignee)
    WHERE status IN ('new', 'assigned', 'in_progress', 'waiting_customer');
CREATE INDEX tickets_customer ON tickets (customer, id);
CREATE INDEX tickets_org ON tickets (org_id, id);
CREATE INDEX tickets_created ON tickets (created_at);

CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id),
    direction    TEXT    NOT NULL,
    author       TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    attachments  TEXT    NOT NULL DEFAULT '[]',
    channel      TEXT,
    chat_id      TEXT,
    platform_id  TEXT,
    album        TEXT,
    at           TEXT    NOT NULL,
    edited_at    TEXT
);
CREATE INDEX messages_ticket ON messages (ticket_id, id);
CREATE INDEX messages_album ON messages (channel, chat_id, album) WHERE album IS NOT NULL;
CREATE INDEX messages_platform ON messages (channel, chat_id, platform_id) WHERE platform_id IS NOT NULL;

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    type       TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    at         TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    data       TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_ticket ON events (ticket_id, id);
CREATE INDEX events_type_at ON events (type, at);

-- The event log is the ticket's history; history is not edited.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

-- Every platform message (and button press, command) is taken once.
CREATE TABLE inbound_keys (
    key        TEXT PRIMARY KEY,
    ticket_id  INTEGER,
    at         TEXT NOT NULL
) WITHOUT ROWID;

-- Platform messages (customer's and the bot's) that belong to a ticket, so that a reply
-- to any of them lands on the right ticket.
CREATE TABLE message_refs (
    channel     TEXT    NOT NULL,
    chat_id     TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    PRIMARY KEY (channel, chat_id, message_id)
) WITHOUT ROWID;

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER REFERENCES tickets (id),
    kind          TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    chat_id       TEXT    NOT NULL,
    thread_id     TEXT,
    audience      TEXT    NOT NULL,
    person        TEXT,
    text          TEXT    NOT NULL,
    title         TEXT,
    buttons       TEXT    NOT NULL DEFAULT '[]',
    copy_of       TEXT,
    reply_to      TEXT,
    coalesce_key  TEXT,
    state         TEXT    NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    sent_at       TEXT,
    platform_id   TEXT,
    last_error    TEXT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending';
CREATE INDEX outbox_coalesce ON outbox (coalesce_key) WHERE state = 'pending' AND coalesce_key IS NOT NULL;
CREATE INDEX outbox_ticket ON outbox (ticket_id);

-- A ticket's thread in a staff room (Telegram forum topic, Slack triage thread).
CREATE TABLE staff_threads (
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    channel    TEXT    NOT NULL,
    chat_id    TEXT    NOT NULL,
    thread_id  TEXT    NOT NULL,
    header_id  TEXT,
    PRIMARY KEY (ticket_id, channel)
);
CREATE INDEX staff_threads_lookup ON staff_threads (channel, chat_id, thread_id);

-- SLA deadlines as rows: the scheduler arms one wake-up at the earliest unfired one.
-- UNIQUE makes "each reminder exactly once per ticket, clock, stage and target" a fact
-- of the data, not of the process that happened to be running.
CREATE TABLE deadlines (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    clock      TEXT    NOT NULL,
    stage      INTEGER NOT NULL,
    target_at  TEXT    NOT NULL,
    due_at     TEXT    NOT NULL,
    fired_at   TEXT,
    UNIQUE (ticket_id, clock, stage, target_at)
);
CREATE INDEX deadlines_due ON deadlines (due_at) WHERE fired_at IS NULL;

-- Open tickets per engineer, kept by triggers so routing reads one small table.
CREATE TABLE engineer_load (
    engineer          TEXT PRIMARY KEY,
    open_count        INTEGER NOT NULL DEFAULT 0,
    last_assigned_at  TEXT
);

CREATE TRIGGER tickets_load_insert AFTER INSERT ON tickets
WHEN NEW.assignee IS NOT NULL
 AND NEW.status IN ('new', 'assigned', 'in_progress', 'waiting_customer')
BEGIN
    INSERT INTO engineer_load (engineer, open_count, last_assigned_at)
    VALUES (NEW.assignee, 1, NEW.assigned_at)
    ON CONFLICT (engineer) DO UPDATE SET
        open_count = open_count + 1,
        last_assigned_at = max(coalesce(last_assigned_at, ''), coalesce(excluded.last_assigned_at, ''));
END;

CREATE TRIGGER tickets_load_leave AFTER UPDATE OF assignee, status ON tickets
WHEN OLD.assignee IS NOT NULL
 AND OLD.status IN ('new', 'assigned', 'in_progress', 'waiting_customer')
 AND (NEW.assignee IS NOT OLD.assignee
      OR NEW.status NOT IN ('new', 'assigned', 'in_progress', 'waiting_customer'))
BEGIN
    UPDATE engineer_load SET open_count = open_count - 1 WHERE engineer = OLD.assignee;
END;

CREATE TRIGGER tickets_load_join AFTER UPDATE OF assignee, status ON tickets
WHEN NEW.assignee IS NOT NULL
 AND NEW.status IN ('new', 'assigned', 'in_progress', 'waiting_customer')
 AND (NEW.assignee IS NOT OLD.assignee
      OR OLD.status NOT IN ('new', 'assigned', 'in_progress', 'waiting_customer'))
BEGIN
    INSERT INTO engineer_load (engineer, open_count, last_assigned_at)
    VALUES (NEW.assignee, 1, NEW.assigned_at)
    ON CONFLICT (engineer) DO UPDATE SET
        open_count = open_count + 1,
        last_assigned_at = max(coalesce(last_assigned_at, ''), coalesce(excluded.last_assigned_at, ''));
END;

-- Shift overrides made at run time by team leads (config overrides are not stored).
CREATE TABLE overrides (
    id          INTEGER PRIMARY KEY,
    engineer    TEXT NOT NULL,
    start_at    TEXT NOT NULL,
    end_at      TEXT NOT NULL,
    replaces    TEXT,
    reason      TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX overrides_end ON overrides (end_at);
