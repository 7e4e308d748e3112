-- Version 6: personal data may be erased from the event log, and nothing else changed in it.
-- Retention (`[retention] closed_after`) and `dutydesk forget` keep each ticket's history —
-- its events with their types, instants and SLA figures — but blank what a person wrote or
-- is called: a reason becomes '[erased]', an actor a pseudonym 'erased:…', data
-- {"erased":true}. Any other change, and every delete, is still refused.
DROP TRIGGER IF EXISTS events_no_update;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
WHEN NEW.id IS NOT OLD.id OR NEW.ticket_id IS NOT OLD.ticket_id OR NEW.type IS NOT OLD.type
  OR NEW.at IS NOT OLD.at
  OR (NEW.reason IS NOT OLD.reason AND NEW.reason <> '[erased]')
  OR (NEW.actor IS NOT OLD.actor AND NEW.actor NOT LIKE 'erased:%')
  OR (NEW.data IS NOT OLD.data AND NEW.data <> '{"erased":true}')
BEGIN SELECT RAISE(ABORT, 'the event log is append-only (personal data in it may only be erased)'); END;
