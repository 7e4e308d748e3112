-- Version 2: a customer's /new marks their conversation so the next message opens a new
-- ticket instead of joining the open one; the mark is used up by that message.
CREATE TABLE fresh_conversations (
    channel    TEXT NOT NULL,
    chat_id    TEXT NOT NULL,
    thread_id  TEXT NOT NULL DEFAULT '',
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, chat_id, thread_id)
);
