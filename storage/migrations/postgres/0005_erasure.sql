-- Version 5: personal data may be erased from the event log, and nothing else changed in it
-- (as sqlite/0006_erasure.sql): a reason becomes '[erased]', an actor a pseudonym
-- 'erased:…', data {"erased": true}. Any other change, and every delete, is still refused.
CREATE FUNCTION events_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.ticket_id IS DISTINCT FROM OLD.ticket_id
       OR NEW.type IS DISTINCT FROM OLD.type OR NEW.at IS DISTINCT FROM OLD.at
       OR (NEW.reason IS DISTINCT FROM OLD.reason AND NEW.reason <> '[erased]')
       OR (NEW.actor IS DISTINCT FROM OLD.actor AND NEW.actor NOT LIKE 'erased:%')
       OR (NEW.data IS DISTINCT FROM OLD.data AND NEW.data <> '{"erased": true}'::jsonb) THEN
        RAISE EXCEPTION 'the event log is append-only (personal data in it may only be erased)'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS events_no_update ON events;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_erase_only();
