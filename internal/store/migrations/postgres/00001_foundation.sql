-- +goose Up
CREATE TABLE teams (
    name       TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE services (
    name       TEXT PRIMARY KEY,
    team       TEXT NOT NULL REFERENCES teams (name),
    tier       INTEGER NOT NULL,
    lifecycle  TEXT NOT NULL,
    spec       TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX services_team ON services (team);

-- Token names are never reused, so an audit record's actor stays unambiguous.
CREATE TABLE tokens (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    team       TEXT NOT NULL DEFAULT '',
    hash       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- before/after are TEXT, not JSONB: the hash chain covers their exact bytes.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    time       TIMESTAMPTZ NOT NULL,
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
CREATE FUNCTION tsuna_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION tsuna_audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION tsuna_audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION tsuna_audit_log_append_only;
DROP TABLE tokens;
DROP TABLE services;
DROP TABLE teams;
