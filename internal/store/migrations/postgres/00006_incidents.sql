-- +goose Up
-- Incidents. number is sequential per installation (INC-42), assigned under
-- the audit lock; spec is the incident as JSON, the columns beside it are
-- what lists filter on.
CREATE TABLE incidents (
    number          BIGINT PRIMARY KEY,
    status          TEXT NOT NULL,
    severity        TEXT NOT NULL,
    team            TEXT NOT NULL,
    drill           BOOLEAN NOT NULL,
    reported_at     TIMESTAMPTZ NOT NULL,
    -- A declaration retried with the same key declares once.
    declaration_key TEXT UNIQUE,
    -- The incident's own chat channel, once created: chat finds the
    -- incident of a channel by it.
    channel_id      TEXT UNIQUE,
    spec            TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX incidents_reported ON incidents (reported_at);
CREATE INDEX incidents_status ON incidents (status, number);

CREATE TABLE incident_services (
    service TEXT NOT NULL,
    number  BIGINT NOT NULL REFERENCES incidents (number),
    PRIMARY KEY (service, number)
);

-- The timeline. external_id makes an entry from outside (a pinned chat
-- message, a reminder sent) once per incident.
CREATE TABLE incident_timeline (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number      BIGINT NOT NULL REFERENCES incidents (number),
    time        TIMESTAMPTZ NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    source      TEXT NOT NULL,
    text        TEXT NOT NULL,
    external_id TEXT
);
CREATE INDEX incident_timeline_time ON incident_timeline (number, time, id);
CREATE UNIQUE INDEX incident_timeline_external ON incident_timeline (number, external_id);

-- Severity levels declared in the catalog (kind SeverityLevel), applied
-- with it; none stored means the defaults, SEV1 to SEV4.
CREATE TABLE severity_levels (
    name       TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Requests from chat seen once: Slack retries events and interactions.
CREATE TABLE chat_requests (
    key         TEXT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE chat_requests;
DROP TABLE severity_levels;
DROP TABLE incident_timeline;
DROP TABLE incident_services;
DROP TABLE incidents;
