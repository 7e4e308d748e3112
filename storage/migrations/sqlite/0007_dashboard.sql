-- Version 6: the lead's dashboard (bot/dashboard).
--
-- Each ticket's SLA figures as plain columns beside its JSON record, written with the row
-- (bot/core/records.py): the queue orders open tickets by `next_target_at` (the earliest
-- target of a clock still running, passed or ahead) through an index instead of reading
-- every deadline (the index holds the filters' columns, so counts never read a row), and
-- the report's roll-up below is kept from them.
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

-- Reports count from a roll-up kept by triggers: per UTC day of creation and per plan,
-- language, priority, engineer charged, working-time bucket (bounds as in
-- bot/dashboard/figures.py) and rating, how many tickets and targets met or missed. A
-- report over two years reads about 25,000 rows, however many tickets there are.
CREATE TABLE report_days (
    day                TEXT    NOT NULL,  -- the UTC date tickets were created on, YYYY-MM-DD
    dim                TEXT    NOT NULL,  -- plan, language, priority, first_by, resolution_by, first_spread, resolution_spread, rating
    value              TEXT    NOT NULL,
    tickets            INTEGER NOT NULL DEFAULT 0,
    first_met          INTEGER NOT NULL DEFAULT 0,
    first_missed       INTEGER NOT NULL DEFAULT 0,
    resolution_met     INTEGER NOT NULL DEFAULT 0,
    resolution_missed  INTEGER NOT NULL DEFAULT 0,
    rated              INTEGER NOT NULL DEFAULT 0,
    rating_sum         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, dim, value)
) WITHOUT ROWID;

INSERT INTO report_days (day, dim, value, tickets, first_met, first_missed, resolution_met,
                         resolution_missed, rated, rating_sum)
SELECT day, dim, value, count(*), sum(fm), sum(fx), sum(rm), sum(rx), sum(rt), sum(rs) FROM (
    SELECT substr(created_at, 1, 10) AS day, 'plan' AS dim, plan AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets
    UNION ALL SELECT substr(created_at, 1, 10) AS day, 'language' AS dim, language AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets
    UNION ALL SELECT substr(created_at, 1, 10) AS day, 'priority' AS dim, 'P' || priority AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets
    UNION ALL SELECT substr(created_at, 1, 10) AS day, 'first_by' AS dim, coalesce(first_holder, assignee, '-') AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets
    UNION ALL SELECT substr(created_at, 1, 10) AS day, 'resolution_by' AS dim, coalesce(resolution_holder, assignee, '-') AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets
    UNION ALL SELECT substr(created_at, 1, 10) AS day, 'first_spread' AS dim, CASE WHEN first_used_s < 900 THEN '0' WHEN first_used_s < 1800 THEN '1' WHEN first_used_s < 3600 THEN '2' WHEN first_used_s < 7200 THEN '3' WHEN first_used_s < 14400 THEN '4' WHEN first_used_s < 28800 THEN '5' WHEN first_used_s < 86400 THEN '6' WHEN first_used_s < 172800 THEN '7' WHEN first_used_s < 432000 THEN '8' ELSE '9' END AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets WHERE first_met IS NOT NULL
    UNION ALL SELECT substr(created_at, 1, 10) AS day, 'resolution_spread' AS dim, CASE WHEN resolution_used_s < 900 THEN '0' WHEN resolution_used_s < 1800 THEN '1' WHEN resolution_used_s < 3600 THEN '2' WHEN resolution_used_s < 7200 THEN '3' WHEN resolution_used_s < 14400 THEN '4' WHEN resolution_used_s < 28800 THEN '5' WHEN resolution_used_s < 86400 THEN '6' WHEN resolution_used_s < 172800 THEN '7' WHEN resolution_used_s < 432000 THEN '8' ELSE '9' END AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets WHERE resolution_met IS NOT NULL
    UNION ALL SELECT substr(created_at, 1, 10) AS day, 'rating' AS dim, CAST(rating AS TEXT) AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets WHERE rating IS NOT NULL
) AS c GROUP BY day, dim, value;

CREATE TRIGGER tickets_report_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO report_days (day, dim, value, tickets, first_met, first_missed, resolution_met,
                             resolution_missed, rated, rating_sum)
    SELECT substr(NEW.created_at, 1, 10), d.dim, d.value, 1,
           CASE WHEN NEW.first_met = 1 THEN 1 ELSE 0 END, CASE WHEN NEW.first_met = 0 THEN 1 ELSE 0 END,
           CASE WHEN NEW.resolution_met = 1 THEN 1 ELSE 0 END, CASE WHEN NEW.resolution_met = 0 THEN 1 ELSE 0 END,
           (CASE WHEN NEW.rating IS NULL THEN 0 ELSE 1 END), coalesce(NEW.rating, 0)
    FROM (SELECT 'plan' AS dim, NEW.plan AS value
              UNION ALL SELECT 'language', NEW.language
              UNION ALL SELECT 'priority', 'P' || NEW.priority
              UNION ALL SELECT 'first_by', coalesce(NEW.first_holder, NEW.assignee, '-')
              UNION ALL SELECT 'resolution_by', coalesce(NEW.resolution_holder, NEW.assignee, '-')
              UNION ALL SELECT 'first_spread', CASE WHEN NEW.first_used_s < 900 THEN '0' WHEN NEW.first_used_s < 1800 THEN '1' WHEN NEW.first_used_s < 3600 THEN '2' WHEN NEW.first_used_s < 7200 THEN '3' WHEN NEW.first_used_s < 14400 THEN '4' WHEN NEW.first_used_s < 28800 THEN '5' WHEN NEW.first_used_s < 86400 THEN '6' WHEN NEW.first_used_s < 172800 THEN '7' WHEN NEW.first_used_s < 432000 THEN '8' ELSE '9' END WHERE NEW.first_met IS NOT NULL
              UNION ALL SELECT 'resolution_spread', CASE WHEN NEW.resolution_used_s < 900 THEN '0' WHEN NEW.resolution_used_s < 1800 THEN '1' WHEN NEW.resolution_used_s < 3600 THEN '2' WHEN NEW.resolution_used_s < 7200 THEN '3' WHEN NEW.resolution_used_s < 14400 THEN '4' WHEN NEW.resolution_used_s < 28800 THEN '5' WHEN NEW.resolution_used_s < 86400 THEN '6' WHEN NEW.resolution_used_s < 172800 THEN '7' WHEN NEW.resolution_used_s < 432000 THEN '8' ELSE '9' END WHERE NEW.resolution_met IS NOT NULL
              UNION ALL SELECT 'rating', CAST(NEW.rating AS TEXT) WHERE NEW.rating IS NOT NULL) AS d
    WHERE true
    ON CONFLICT (day, dim, value) DO UPDATE SET
        tickets = report_days.tickets + excluded.tickets,
        first_met = report_days.first_met + excluded.first_met,
        first_missed = report_days.first_missed + excluded.first_missed,
        resolution_met = report_days.resolution_met + excluded.resolution_met,
        resolution_missed = report_days.resolution_missed + excluded.resolution_missed,
        rated = report_days.rated + excluded.rated,
        rating_sum = report_days.rating_sum + excluded.rating_sum;
END;

CREATE TRIGGER tickets_report_update AFTER UPDATE ON tickets
WHEN OLD.created_at IS NOT NEW.created_at
   OR OLD.plan IS NOT NEW.plan
   OR OLD.language IS NOT NEW.language
   OR OLD.priority IS NOT NEW.priority
   OR OLD.assignee IS NOT NEW.assignee
   OR OLD.first_holder IS NOT NEW.first_holder
   OR OLD.resolution_holder IS NOT NEW.resolution_holder
   OR OLD.first_met IS NOT NEW.first_met
   OR OLD.resolution_met IS NOT NEW.resolution_met
   OR OLD.rating IS NOT NEW.rating
   OR (CASE WHEN OLD.first_met IS NULL THEN NULL ELSE OLD.first_used_s END) IS NOT (CASE WHEN NEW.first_met IS NULL THEN NULL ELSE NEW.first_used_s END)
   OR (CASE WHEN OLD.resolution_met IS NULL THEN NULL ELSE OLD.resolution_used_s END) IS NOT (CASE WHEN NEW.resolution_met IS NULL THEN NULL ELSE NEW.resolution_used_s END)
BEGIN
    INSERT INTO report_days (day, dim, value, tickets, first_met, first_missed, resolution_met,
                             resolution_missed, rated, rating_sum)
    SELECT substr(OLD.created_at, 1, 10), d.dim, d.value, -1,
           -CASE WHEN OLD.first_met = 1 THEN 1 ELSE 0 END, -CASE WHEN OLD.first_met = 0 THEN 1 ELSE 0 END,
           -CASE WHEN OLD.resolution_met = 1 THEN 1 ELSE 0 END, -CASE WHEN OLD.resolution_met = 0 THEN 1 ELSE 0 END,
           -(CASE WHEN OLD.rating IS NULL THEN 0 ELSE 1 END), -coalesce(OLD.rating, 0)
    FROM (SELECT 'plan' AS dim, OLD.plan AS value
              UNION ALL SELECT 'language', OLD.language
              UNION ALL SELECT 'priority', 'P' || OLD.priority
              UNION ALL SELECT 'first_by', coalesce(OLD.first_holder, OLD.assignee, '-')
              UNION ALL SELECT 'resolution_by', coalesce(OLD.resolution_holder, OLD.assignee, '-')
              UNION ALL SELECT 'first_spread', CASE WHEN OLD.first_used_s < 900 THEN '0' WHEN OLD.first_used_s < 1800 THEN '1' WHEN OLD.first_used_s < 3600 THEN '2' WHEN OLD.first_used_s < 7200 THEN '3' WHEN OLD.first_used_s < 14400 THEN '4' WHEN OLD.first_used_s < 28800 THEN '5' WHEN OLD.first_used_s < 86400 THEN '6' WHEN OLD.first_used_s < 172800 THEN '7' WHEN OLD.first_used_s < 432000 THEN '8' ELSE '9' END WHERE OLD.first_met IS NOT NULL
              UNION ALL SELECT 'resolution_spread', CASE WHEN OLD.resolution_used_s < 900 THEN '0' WHEN OLD.resolution_used_s < 1800 THEN '1' WHEN OLD.resolution_used_s < 3600 THEN '2' WHEN OLD.resolution_used_s < 7200 THEN '3' WHEN OLD.resolution_used_s < 14400 THEN '4' WHEN OLD.resolution_used_s < 28800 THEN '5' WHEN OLD.resolution_used_s < 86400 THEN '6' WHEN OLD.resolution_used_s < 172800 THEN '7' WHEN OLD.resolution_used_s < 432000 THEN '8' ELSE '9' END WHERE OLD.resolution_met IS NOT NULL
              UNION ALL SELECT 'rating', CAST(OLD.rating AS TEXT) WHERE OLD.rating IS NOT NULL) AS d
    WHERE true
    ON CONFLICT (day, dim, value) DO UPDATE SET
        tickets = report_days.tickets + excluded.tickets,
        first_met = report_days.first_met + excluded.first_met,
        first_missed = report_days.first_missed + excluded.first_missed,
        resolution_met = report_days.resolution_met + excluded.resolution_met,
        resolution_missed = report_days.resolution_missed + excluded.resolution_missed,
        rated = report_days.rated + excluded.rated,
        rating_sum = report_days.rating_sum + excluded.rating_sum;
    INSERT INTO report_days (day, dim, value, tickets, first_met, first_missed, resolution_met,
                             resolution_missed, rated, rating_sum)
    SELECT substr(NEW.created_at, 1, 10), d.dim, d.value, 1,
           CASE WHEN NEW.first_met = 1 THEN 1 ELSE 0 END, CASE WHEN NEW.first_met = 0 THEN 1 ELSE 0 END,
           CASE WHEN NEW.resolution_met = 1 THEN 1 ELSE 0 END, CASE WHEN NEW.resolution_met = 0 THEN 1 ELSE 0 END,
           (CASE WHEN NEW.rating IS NULL THEN 0 ELSE 1 END), coalesce(NEW.rating, 0)
    FROM (SELECT 'plan' AS dim, NEW.plan AS value
              UNION ALL SELECT 'language', NEW.language
              UNION ALL SELECT 'priority', 'P' || NEW.priority
              UNION ALL SELECT 'first_by', coalesce(NEW.first_holder, NEW.assignee, '-')
              UNION ALL SELECT 'resolution_by', coalesce(NEW.resolution_holder, NEW.assignee, '-')
              UNION ALL SELECT 'first_spread', CASE WHEN NEW.first_used_s < 900 THEN '0' WHEN NEW.first_used_s < 1800 THEN '1' WHEN NEW.first_used_s < 3600 THEN '2' WHEN NEW.first_used_s < 7200 THEN '3' WHEN NEW.first_used_s < 14400 THEN '4' WHEN NEW.first_used_s < 28800 THEN '5' WHEN NEW.first_used_s < 86400 THEN '6' WHEN NEW.first_used_s < 172800 THEN '7' WHEN NEW.first_used_s < 432000 THEN '8' ELSE '9' END WHERE NEW.first_met IS NOT NULL
              UNION ALL SELECT 'resolution_spread', CASE WHEN NEW.resolution_used_s < 900 THEN '0' WHEN NEW.resolution_used_s < 1800 THEN '1' WHEN NEW.resolution_used_s < 3600 THEN '2' WHEN NEW.resolution_used_s < 7200 THEN '3' WHEN NEW.resolution_used_s < 14400 THEN '4' WHEN NEW.resolution_used_s < 28800 THEN '5' WHEN NEW.resolution_used_s < 86400 THEN '6' WHEN NEW.resolution_used_s < 172800 THEN '7' WHEN NEW.resolution_used_s < 432000 THEN '8' ELSE '9' END WHERE NEW.resolution_met IS NOT NULL
              UNION ALL SELECT 'rating', CAST(NEW.rating AS TEXT) WHERE NEW.rating IS NOT NULL) AS d
    WHERE true
    ON CONFLICT (day, dim, value) DO UPDATE SET
        tickets = report_days.tickets + excluded.tickets,
        first_met = report_days.first_met + excluded.first_met,
        first_missed = report_days.first_missed + excluded.first_missed,
        resolution_met = report_days.resolution_met + excluded.resolution_met,
        resolution_missed = report_days.resolution_missed + excluded.resolution_missed,
        rated = report_days.rated + excluded.rated,
        rating_sum = report_days.rating_sum + excluded.rating_sum;
END;

CREATE TRIGGER tickets_report_delete AFTER DELETE ON tickets
BEGIN
    INSERT INTO report_days (day, dim, value, tickets, first_met, first_missed, resolution_met,
                             resolution_missed, rated, rating_sum)
    SELECT substr(OLD.created_at, 1, 10), d.dim, d.value, -1,
           -CASE WHEN OLD.first_met = 1 THEN 1 ELSE 0 END, -CASE WHEN OLD.first_met = 0 THEN 1 ELSE 0 END,
           -CASE WHEN OLD.resolution_met = 1 THEN 1 ELSE 0 END, -CASE WHEN OLD.resolution_met = 0 THEN 1 ELSE 0 END,
           -(CASE WHEN OLD.rating IS NULL THEN 0 ELSE 1 END), -coalesce(OLD.rating, 0)
    FROM (SELECT 'plan' AS dim, OLD.plan AS value
              UNION ALL SELECT 'language', OLD.language
              UNION ALL SELECT 'priority', 'P' || OLD.priority
              UNION ALL SELECT 'first_by', coalesce(OLD.first_holder, OLD.assignee, '-')
              UNION ALL SELECT 'resolution_by', coalesce(OLD.resolution_holder, OLD.assignee, '-')
              UNION ALL SELECT 'first_spread', CASE WHEN OLD.first_used_s < 900 THEN '0' WHEN OLD.first_used_s < 1800 THEN '1' WHEN OLD.first_used_s < 3600 THEN '2' WHEN OLD.first_used_s < 7200 THEN '3' WHEN OLD.first_used_s < 14400 THEN '4' WHEN OLD.first_used_s < 28800 THEN '5' WHEN OLD.first_used_s < 86400 THEN '6' WHEN OLD.first_used_s < 172800 THEN '7' WHEN OLD.first_used_s < 432000 THEN '8' ELSE '9' END WHERE OLD.first_met IS NOT NULL
              UNION ALL SELECT 'resolution_spread', CASE WHEN OLD.resolution_used_s < 900 THEN '0' WHEN OLD.resolution_used_s < 1800 THEN '1' WHEN OLD.resolution_used_s < 3600 THEN '2' WHEN OLD.resolution_used_s < 7200 THEN '3' WHEN OLD.resolution_used_s < 14400 THEN '4' WHEN OLD.resolution_used_s < 28800 THEN '5' WHEN OLD.resolution_used_s < 86400 THEN '6' WHEN OLD.resolution_used_s < 172800 THEN '7' WHEN OLD.resolution_used_s < 432000 THEN '8' ELSE '9' END WHERE OLD.resolution_met IS NOT NULL
              UNION ALL SELECT 'rating', CAST(OLD.rating AS TEXT) WHERE OLD.rating IS NOT NULL) AS d
    WHERE true
    ON CONFLICT (day, dim, value) DO UPDATE SET
        tickets = report_days.tickets + excluded.tickets,
        first_met = report_days.first_met + excluded.first_met,
        first_missed = report_days.first_missed + excluded.first_missed,
        resolution_met = report_days.resolution_met + excluded.resolution_met,
        resolution_missed = report_days.resolution_missed + excluded.resolution_missed,
        rated = report_days.rated + excluded.rated,
        rating_sum = report_days.rating_sum + excluded.rating_sum;
END;

CREATE INDEX tickets_queue ON tickets (next_target_at, id, plan, language, priority, assignee, status)
    WHERE status IN ('new', 'assigned', 'in_progress', 'waiting_customer');

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
