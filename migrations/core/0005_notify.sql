-- Notifications: the in-app inbox and the outbox of deliveries by e-mail and
-- SMS/WeChat webhook (src/core/notify.h describes the life of a row).

-- The inbox.  dedup makes notify_user idempotent per person (NULLs never
-- collide, so messages without a key are never merged).
CREATE TABLE messages (
	id {{pk}},
	user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind TEXT NOT NULL,
	title TEXT NOT NULL,
	body TEXT NOT NULL,
	link TEXT,
	dedup TEXT,
	created_at BIGINT NOT NULL,
	read_at BIGINT,
	UNIQUE (user_id, dedup)
);
CREATE INDEX messages_user ON messages (user_id, id);
CREATE INDEX messages_unread ON messages (user_id) WHERE read_at IS NULL;

-- One row per channel delivery of a message.  The address is read from the
-- users row when the row is sent, not copied here.
CREATE TABLE notify_outbox (
	id {{pk}},
	message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
	state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
	attempts BIGINT NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	claimed_at BIGINT,
	sent_at BIGINT,
	last_error TEXT,
	created_at BIGINT NOT NULL,
	UNIQUE (message_id, channel)
);
CREATE INDEX notify_outbox_due ON notify_outbox (state, next_attempt_at);
