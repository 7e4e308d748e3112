-- Version 4: what intake could not take, and when a conversation was last told what the
-- desk can read.
--
-- An update that failed every attempt is set aside here instead of blocking the updates
-- behind it: its raw payload (JSON, ASCII-escaped so that any string survives), the last
-- error and when. One row per platform update (channel, key): the same update failing
-- again updates its row. state: open (set aside), retry (a person asked for another try;
-- the running desk takes it), done (taken on a retry).
CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY,
    channel     TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    error       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'open',
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    UNIQUE (channel, key)
);
CREATE INDEX dead_letters_state ON dead_letters (state, id);

-- A customer who sent something the desk cannot read (a location, a poll) is told what it
-- takes — once per conversation every few minutes, not at every such message.
CREATE TABLE conversation_hints (
    channel    TEXT NOT NULL,
    chat_id    TEXT NOT NULL,
    thread_id  TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL,
    PRIMARY KEY (channel, chat_id, thread_id)
) WITHOUT ROWID;
