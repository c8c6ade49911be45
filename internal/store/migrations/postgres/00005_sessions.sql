-- +goose Up
-- Web console sessions. The cookie's secret is stored only as its SHA-256
-- hash; id is a public name for listing and revoking. A session acts with
-- the rights of its token: revoking the token ends it.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    token        TEXT NOT NULL REFERENCES tokens (name),
    via          TEXT NOT NULL DEFAULT 'token',
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX sessions_token ON sessions (token, created_at);

-- The console shows each alert's chat message and its delivery state.
CREATE INDEX outbox_group ON outbox (group_key, channel);

-- +goose Down
DROP INDEX outbox_group;
DROP TABLE sessions;
