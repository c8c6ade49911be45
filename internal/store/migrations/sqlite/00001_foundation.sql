-- +goose Up
CREATE TABLE teams (
    name       TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE services (
    name       TEXT PRIMARY KEY,
    team       TEXT NOT NULL REFERENCES teams (name),
    tier       INTEGER NOT NULL,
    lifecycle  TEXT NOT NULL,
    spec       TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX services_team ON services (team);

-- Token names are never reused, so an audit record's actor stays unambiguous.
CREATE TABLE tokens (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    team       TEXT NOT NULL DEFAULT '',
    hash       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    time       TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL,
    source     TEXT NOT NULL,
    action     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    before     TEXT,
    after      TEXT,
    request_id TEXT NOT NULL DEFAULT '',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (kind, name);
CREATE INDEX audit_log_actor ON audit_log (actor);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP TABLE tokens;
DROP TABLE services;
DROP TABLE teams;
