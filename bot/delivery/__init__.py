"""Getting messages out: the channel contract, the outbox dispatcher, pacing, text splitting."""
