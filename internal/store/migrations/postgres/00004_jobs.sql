-- +goose Up
-- Durable background jobs, worked by the jobs runner of every replica.
-- run_at is when a pending job is due and, while it runs, when its lease
-- ends and another replica may claim it.
CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    state        TEXT NOT NULL,
    run_at       TIMESTAMPTZ NOT NULL,
    payload      TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    last_error   TEXT NOT NULL DEFAULT '',
    lease_owner  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ
);
-- A kind and key once: enqueueing them again does nothing.
CREATE UNIQUE INDEX jobs_kind_key ON jobs (kind, key);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- +goose Down
DROP TABLE jobs;
