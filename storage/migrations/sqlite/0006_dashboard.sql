-- Version 6: the lead's dashboard (bot/dashboard).
--
-- Each ticket's SLA figures as plain columns beside its JSON record, written with the row
-- (bot/core/records.py): the queue orders open tickets by `next_target_at` (the earliest
-- target of a clock still running, passed or ahead) through an index instead of reading
-- every deadline, and reports count met and missed targets over a million tickets from a
-- covering index instead of parsing a million JSON records.
ALTER TABLE tickets ADD COLUMN next_target_at TEXT;
ALTER TABLE tickets ADD COLUMN first_due_at TEXT;
ALTER TABLE tickets ADD COLUMN first_met INTEGER;
ALTER TABLE tickets ADD COLUMN first_holder TEXT;
ALTER TABLE tickets ADD COLUMN first_used_s INTEGER;
ALTER TABLE tickets ADD COLUMN resolution_due_at TEXT;
ALTER TABLE tickets ADD COLUMN resolution_met INTEGER;
ALTER TABLE tickets ADD COLUMN resolution_holder TEXT;
ALTER TABLE tickets ADD COLUMN resolution_used_s INTEGER;

-- Open tickets before this version: their pending targets (the rest fill in when the desk
-- next writes the ticket).
UPDATE tickets SET next_target_at = (
    SELECT min(d.target_at) FROM deadlines d
    WHERE d.ticket_id = tickets.id AND d.fired_at IS NULL AND d.stage = 100
      AND d.clock IN ('first_response', 'resolution'))
WHERE status IN ('new', 'assigned', 'in_progress', 'waiting_customer');
UPDATE tickets SET
    first_met = json_extract(sla, '$.outcomes.first_response.met'),
    first_holder = json_extract(sla, '$.outcomes.first_response.holder'),
    first_used_s = json_extract(sla, '$.outcomes.first_response.used_s'),
    resolution_met = json_extract(sla, '$.outcomes.resolution.met'),
    resolution_holder = json_extract(sla, '$.outcomes.resolution.holder'),
    resolution_used_s = json_extract(sla, '$.outcomes.resolution.used_s');

CREATE INDEX tickets_queue ON tickets (next_target_at, id, plan, language, priority, assignee)
    WHERE status IN ('new', 'assigned', 'in_progress', 'waiting_customer');
CREATE INDEX tickets_report ON tickets (
    created_at, plan, language, priority, rating, assignee,
    first_met, first_due_at, first_holder, first_used_s,
    resolution_met, resolution_due_at, resolution_holder, resolution_used_s);

-- One-time login links: only the SHA-256 of the token is kept; used once, within minutes.
CREATE TABLE dashboard_links (
    token_hash  TEXT PRIMARY KEY,
    engineer    TEXT NOT NULL,
    identity    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
) WITHOUT ROWID;

-- Browser sessions opened by a link: the cookie's token, hashed, and the form token (CSRF).
CREATE TABLE dashboard_sessions (
    token_hash  TEXT PRIMARY KEY,
    engineer    TEXT NOT NULL,
    identity    TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    ended_at    TEXT
) WITHOUT ROWID;
