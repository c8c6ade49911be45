-- +goose Up
-- Good and total events pushed for SLOs whose SLI is `events`, per minute.
CREATE TABLE slo_events (
    service TEXT NOT NULL,
    slo     TEXT NOT NULL,
    minute  TIMESTAMP NOT NULL,
    good    INTEGER NOT NULL,
    total   INTEGER NOT NULL,
    PRIMARY KEY (service, slo, minute)
);

-- One row per client key: a push retried with the same key counts once.
CREATE TABLE slo_event_keys (
    service     TEXT NOT NULL,
    slo         TEXT NOT NULL,
    key         TEXT NOT NULL,
    minute      TIMESTAMP NOT NULL,
    good        INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (service, slo, key)
);

-- +goose Down
DROP TABLE slo_event_keys;
DROP TABLE slo_events;
