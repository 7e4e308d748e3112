-- Version 3: the engineer_load triggers of version 1 wrote '' (not NULL) as the last
-- assignment time when neither side had one; '' is no time and breaks reading it back.
-- Same triggers, with NULLIF.
DROP TRIGGER tickets_load_insert;
DROP TRIGGER tickets_load_join;

CREATE TRIGGER tickets_load_insert AFTER INSERT ON tickets
WHEN NEW.assignee IS NOT NULL
 AND NEW.status IN ('new', 'assigned', 'in_progress', 'waiting_customer')
BEGIN
    INSERT INTO engineer_load (engineer, open_count, last_assigned_at)
    VALUES (NEW.assignee, 1, NEW.assigned_at)
    ON CONFLICT (engineer) DO UPDATE SET
        open_count = open_count + 1,
        last_assigned_at = NULLIF(max(coalesce(last_assigned_at, ''), coalesce(excluded.last_assigned_at, '')), '');
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
        last_assigned_at = NULLIF(max(coalesce(last_assigned_at, ''), coalesce(excluded.last_assigned_at, '')), '');
END;

UPDATE engineer_load SET last_assigned_at = NULL WHERE last_assigned_at = '';
