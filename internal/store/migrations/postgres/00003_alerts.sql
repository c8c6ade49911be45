-- +goose Up
-- Each Alertmanager notification once: replays and HA pairs share a dedup key.
CREATE TABLE alert_notifications (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedup_key   TEXT NOT NULL UNIQUE,
    group_key   TEXT NOT NULL,
    status      TEXT NOT NULL,
    receiver    TEXT NOT NULL,
    service     TEXT NOT NULL,
    team        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    routed      BOOLEAN NOT NULL,
    payload     TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_notifications_group ON alert_notifications (group_key);

-- The latest state of each alert.
CREATE TABLE alerts (
    fingerprint   TEXT NOT NULL,
    starts_at     TIMESTAMPTZ NOT NULL,
    ends_at       TIMESTAMPTZ,
    status        TEXT NOT NULL,
    labels        TEXT NOT NULL,
    annotations   TEXT NOT NULL,
    generator_url TEXT NOT NULL,
    group_key     TEXT NOT NULL,
    service       TEXT NOT NULL,
    team          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    routed        BOOLEAN NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (fingerprint, starts_at)
);
CREATE INDEX alerts_team ON alerts (team, status);

-- Chat messages to send, worked by the delivery loop.
CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_key       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    message         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (state, next_attempt_at);

-- One chat message per alert group and channel: later changes update it.
CREATE TABLE chat_threads (
    group_key  TEXT NOT NULL,
    channel    TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    message_ts TEXT NOT NULL,
    PRIMARY KEY (group_key, channel)
);

-- +goose Down
DROP TABLE chat_threads;
DROP TABLE outbox;
DROP TABLE alerts;
DROP TABLE alert_notifications;
