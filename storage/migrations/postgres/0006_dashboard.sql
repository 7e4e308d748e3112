-- Version 5: the lead's dashboard (bot/dashboard); the same as sqlite/0006_dashboard.sql.
--
-- Each ticket's SLA figures as plain columns beside its JSON record, written with the row
-- (bot/core/records.py): the queue orders open tickets by `next_target_at` through an index
-- (holding the filters' columns, so counts never read a row), and the report's roll-up
-- below is kept from them.
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
);

INSERT INTO report_days (day, dim, value, tickets, first_met, first_missed, resolution_met,
                         resolution_missed, rated, rating_sum)
SELECT day, dim, value, count(*), sum(fm), sum(fx), sum(rm), sum(rx), sum(rt), sum(rs) FROM (
    SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, 'plan' AS dim, plan AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets
    UNION ALL SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, 'language' AS dim, language AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets
    UNION ALL SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, 'priority' AS dim, 'P' || priority AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets
    UNION ALL SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, 'first_by' AS dim, coalesce(first_holder, assignee, '-') AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets
    UNION ALL SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, 'resolution_by' AS dim, coalesce(resolution_holder, assignee, '-') AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets
    UNION ALL SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, 'first_spread' AS dim, CASE WHEN first_used_s < 900 THEN '0' WHEN first_used_s < 1800 THEN '1' WHEN first_used_s < 3600 THEN '2' WHEN first_used_s < 7200 THEN '3' WHEN first_used_s < 14400 THEN '4' WHEN first_used_s < 28800 THEN '5' WHEN first_used_s < 86400 THEN '6' WHEN first_used_s < 172800 THEN '7' WHEN first_used_s < 432000 THEN '8' ELSE '9' END AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets WHERE first_met IS NOT NULL
    UNION ALL SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, 'resolution_spread' AS dim, CASE WHEN resolution_used_s < 900 THEN '0' WHEN resolution_used_s < 1800 THEN '1' WHEN resolution_used_s < 3600 THEN '2' WHEN resolution_used_s < 7200 THEN '3' WHEN resolution_used_s < 14400 THEN '4' WHEN resolution_used_s < 28800 THEN '5' WHEN resolution_used_s < 86400 THEN '6' WHEN resolution_used_s < 172800 THEN '7' WHEN resolution_used_s < 432000 THEN '8' ELSE '9' END AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets WHERE resolution_met IS NOT NULL
    UNION ALL SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, 'rating' AS dim, CAST(rating AS TEXT) AS value, CASE WHEN first_met = 1 THEN 1 ELSE 0 END AS fm, CASE WHEN first_met = 0 THEN 1 ELSE 0 END AS fx, CASE WHEN resolution_met = 1 THEN 1 ELSE 0 END AS rm, CASE WHEN resolution_met = 0 THEN 1 ELSE 0 END AS rx, CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rt, coalesce(rating, 0) AS rs FROM tickets WHERE rating IS NOT NULL
) AS c GROUP BY day, dim, value;

CREATE FUNCTION report_days_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_days (day, dim, value, tickets, first_met, first_missed, resolution_met,
                             resolution_missed, rated, rating_sum)
    SELECT to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), d.dim, d.value, 1,
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
    RETURN NULL;
END $$;

CREATE FUNCTION report_days_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_days (day, dim, value, tickets, first_met, first_missed, resolution_met,
                             resolution_missed, rated, rating_sum)
    SELECT to_char(OLD.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), d.dim, d.value, -1,
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
    RETURN NULL;
END $$;

CREATE TRIGGER tickets_report_insert AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION report_days_add();
CREATE TRIGGER tickets_report_update_remove AFTER UPDATE ON tickets
    FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at
   OR OLD.plan IS DISTINCT FROM NEW.plan
   OR OLD.language IS DISTINCT FROM NEW.language
   OR OLD.priority IS DISTINCT FROM NEW.priority
   OR OLD.assignee IS DISTINCT FROM NEW.assignee
   OR OLD.first_holder IS DISTINCT FROM NEW.first_holder
   OR OLD.resolution_holder IS DISTINCT FROM NEW.resolution_holder
   OR OLD.first_met IS DISTINCT FROM NEW.first_met
   OR OLD.resolution_met IS DISTINCT FROM NEW.resolution_met
   OR OLD.rating IS DISTINCT FROM NEW.rating
   OR (CASE WHEN OLD.first_met IS NULL THEN NULL ELSE OLD.first_used_s END) IS DISTINCT FROM (CASE WHEN NEW.first_met IS NULL THEN NULL ELSE NEW.first_used_s END)
   OR (CASE WHEN OLD.resolution_met IS NULL THEN NULL ELSE OLD.resolution_used_s END) IS DISTINCT FROM (CASE WHEN NEW.resolution_met IS NULL THEN NULL ELSE NEW.resolution_used_s END))
    EXECUTE FUNCTION report_days_remove();
CREATE TRIGGER tickets_report_update_add AFTER UPDATE ON tickets
    FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at
   OR OLD.plan IS DISTINCT FROM NEW.plan
   OR OLD.language IS DISTINCT FROM NEW.language
   OR OLD.priority IS DISTINCT FROM NEW.priority
   OR OLD.assignee IS DISTINCT FROM NEW.assignee
   OR OLD.first_holder IS DISTINCT FROM NEW.first_holder
   OR OLD.resolution_holder IS DISTINCT FROM NEW.resolution_holder
   OR OLD.first_met IS DISTINCT FROM NEW.first_met
   OR OLD.resolution_met IS DISTINCT FROM NEW.resolution_met
   OR OLD.rating IS DISTINCT FROM NEW.rating
   OR (CASE WHEN OLD.first_met IS NULL THEN NULL ELSE OLD.first_used_s END) IS DISTINCT FROM (CASE WHEN NEW.first_met IS NULL THEN NULL ELSE NEW.first_used_s END)
   OR (CASE WHEN OLD.resolution_met IS NULL THEN NULL ELSE OLD.resolution_used_s END) IS DISTINCT FROM (CASE WHEN NEW.resolution_met IS NULL THEN NULL ELSE NEW.resolution_used_s END))
    EXECUTE FUNCTION report_days_add();
CREATE TRIGGER tickets_report_delete AFTER DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION report_days_remove();

CREATE INDEX tickets_queue ON tickets (next_target_at, id, plan, language, priority, assignee, status)
    WHERE status IN ('new', 'assigned', 'in_progress', 'waiting_customer');

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
