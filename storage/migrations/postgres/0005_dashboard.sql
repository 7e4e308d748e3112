-- Version 5: the lead's dashboard (bot/dashboard); the same as sqlite/0006_dashboard.sql.
--
-- Each ticket's SLA figures as plain columns beside its JSON record, written with the row
-- (bot/core/records.py): the queue orders open tickets by `next_target_at` through an index,
-- and reports count met and missed targets from a covering index.
ALTER TABLE tickets ADD COLUMN next_target_at TIMESTAMPTZ;
ALTER TABLE tickets ADD COLUMN first_due_at TIMESTAMPTZ;
ALTER TABLE tickets ADD COLUMN first_met INTEGER;
ALTER TABLE tickets ADD COLUMN first_holder TEXT;
ALTER TABLE tickets ADD COLUMN first_used_s BIGINT;
ALTER TABLE tickets ADD COLUMN resolution_due_at TIMESTAMPTZ;
ALTER TABLE tickets ADD COLUMN resolution_met INTEGER;
ALTER TABLE tickets ADD COLUMN resolution_holder TEXT;
ALTER TABLE tickets ADD COLUMN resolution_used_s BIGINT;

UPDATE tickets SET next_target_at = (
    SELECT min(d.target_at) FROM deadlines d
    WHERE d.ticket_id = tickets.id AND d.fired_at IS NULL AND d.stage = 100
      AND d.clock IN ('first_response', 'resolution'))
WHERE status IN ('new', 'assigned', 'in_progress', 'waiting_customer');
UPDATE tickets SET
    first_met = (sla #>> '{outcomes,first_response,met}')::boolean::integer,
    first_holder = sla #>> '{outcomes,first_response,holder}',
    first_used_s = (sla #>> '{outcomes,first_response,used_s}')::bigint,
    resolution_met = (sla #>> '{outcomes,resolution,met}')::boolean::integer,
    resolution_holder = sla #>> '{outcomes,resolution,holder}',
    resolution_used_s = (sla #>> '{outcomes,resolution,used_s}')::bigint;

CREATE INDEX tickets_queue ON tickets (next_target_at, id, plan, language, priority, assignee)
    WHERE status IN ('new', 'assigned', 'in_progress', 'waiting_customer');
CREATE INDEX tickets_report ON tickets (
    created_at, plan, language, priority, rating, assignee,
    first_met, first_due_at, first_holder, first_used_s,
    resolution_met, resolution_due_at, resolution_holder, resolution_used_s);

CREATE TABLE dashboard_links (
    token_hash  TEXT PRIMARY KEY,
    engineer    TEXT NOT NULL,
    identity    TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);

CREATE TABLE dashboard_sessions (
    token_hash  TEXT PRIMARY KEY,
    engineer    TEXT NOT NULL,
    identity    TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ
);
