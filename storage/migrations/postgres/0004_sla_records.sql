-- Version 4: each ticket's SLA record: the marks its clocks are worked out from (priority,
-- pauses, answer, resolution, holder, each with its instant) and the clocks' outcomes as of
-- the last commit — met or missed, working time counted, who is charged.
ALTER TABLE tickets ADD COLUMN sla JSONB NOT NULL DEFAULT '{}';
