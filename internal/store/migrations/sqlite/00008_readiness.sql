-- +goose Up
-- Production readiness. Every version of every checklist applied (or the
-- shipped one, stored when first used): reviews refer to the version they
-- were opened against.
CREATE TABLE readiness_checklists (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    digest     TEXT NOT NULL,
    items      INTEGER NOT NULL,
    spec       TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    PRIMARY KEY (name, version)
);

-- Reviews. One per service and checklist is current (status open or
-- closed); the ones before it are superseded. spec is the review as JSON
-- (checks' results, staleness, summary); the columns beside it are what
-- the scorecard filters and shows.
CREATE TABLE readiness_reviews (
    id           INTEGER PRIMARY KEY,
    service      TEXT NOT NULL,
    checklist    TEXT NOT NULL,
    version      INTEGER NOT NULL,
    team         TEXT NOT NULL,
    tier         INTEGER NOT NULL,
    lifecycle    TEXT NOT NULL,
    status       TEXT NOT NULL,
    level        TEXT NOT NULL,
    stale_reason TEXT NOT NULL,
    valid_until  TIMESTAMP,
    summary      TEXT NOT NULL,
    spec         TEXT NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX readiness_reviews_current ON readiness_reviews (checklist, service) WHERE status <> 'superseded';
CREATE INDEX readiness_reviews_open ON readiness_reviews (status, id);

-- People's answers, one per review and item: who, when, until when.
CREATE TABLE readiness_answers (
    review_id  INTEGER NOT NULL REFERENCES readiness_reviews (id),
    item       TEXT NOT NULL,
    state      TEXT NOT NULL,
    comment    TEXT NOT NULL,
    evidence   TEXT NOT NULL,
    answered_by TEXT NOT NULL,
    answered_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (review_id, item)
);

-- Retrospectives: feedback on a checklist version, given when a review closes.
CREATE TABLE readiness_feedback (
    id         INTEGER PRIMARY KEY,
    checklist  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    review_id  INTEGER NOT NULL REFERENCES readiness_reviews (id),
    service    TEXT NOT NULL,
    text       TEXT NOT NULL,
    given_by   TEXT NOT NULL,
    given_at   TIMESTAMP NOT NULL
);
CREATE INDEX readiness_feedback_checklist ON readiness_feedback (checklist, id);

-- +goose Down
DROP TABLE readiness_feedback;
DROP TABLE readiness_answers;
DROP TABLE readiness_reviews;
DROP TABLE readiness_checklists;
