-- +goose Up
-- Postmortems: one per incident. spec is the postmortem as JSON without
-- its text; body is the Markdown text; the other columns are what lists
-- filter on. search is the library's full-text vector: the title weighs
-- more than the text.
CREATE TABLE postmortems (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident   TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL,
    severity   TEXT NOT NULL,
    team       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    spec       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    search     tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')) STORED
);
CREATE INDEX postmortems_status ON postmortems (status, id);
CREATE INDEX postmortems_team ON postmortems (team, id);
-- Only published postmortems are searched. Without fastupdate, a publish
-- writes the index at once: postmortems are written rarely and searched
-- often, and every search would otherwise scan the pending list of recent
-- entries until a vacuum merged it (p50 75 ms instead of 16 ms at 10,000).
CREATE INDEX postmortems_search ON postmortems USING GIN (search) WITH (fastupdate = off) WHERE status = 'published';

CREATE TABLE postmortem_services (
    service    TEXT NOT NULL,
    postmortem BIGINT NOT NULL REFERENCES postmortems (id),
    PRIMARY KEY (service, postmortem)
);
CREATE TABLE postmortem_labels (
    label      TEXT NOT NULL,
    postmortem BIGINT NOT NULL REFERENCES postmortems (id),
    PRIMARY KEY (label, postmortem)
);

-- Every previous text, kept when an edit replaces it.
CREATE TABLE postmortem_revisions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    postmortem BIGINT NOT NULL REFERENCES postmortems (id),
    revision   INTEGER NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    time       TIMESTAMPTZ NOT NULL
);
CREATE INDEX postmortem_revisions_pm ON postmortem_revisions (postmortem, id);

-- Follow-up actions.
CREATE TABLE postmortem_actions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    postmortem   BIGINT NOT NULL REFERENCES postmortems (id),
    team         TEXT NOT NULL,
    owner        TEXT NOT NULL,
    status       TEXT NOT NULL,
    due          TIMESTAMPTZ,
    issue_repo   TEXT,
    issue_number INTEGER,
    spec         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX postmortem_actions_pm ON postmortem_actions (postmortem, id);
CREATE INDEX postmortem_actions_team ON postmortem_actions (team, status, due);
CREATE UNIQUE INDEX postmortem_actions_issue ON postmortem_actions (issue_repo, issue_number);

-- Postmortem templates applied with the catalog: every version kept, so a
-- postmortem's template version can be read; a version is never changed.
CREATE TABLE postmortem_templates (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    digest     TEXT NOT NULL,
    spec       TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, version)
);

-- Messages sent once by key (a digest per team and week, a welcome per
-- member and team), across replicas and retries.
CREATE TABLE sent_once (
    key     TEXT PRIMARY KEY,
    sent_at TIMESTAMPTZ NOT NULL
);

-- Positions in the audit log that sweeps have reached.
CREATE TABLE audit_cursors (
    name TEXT PRIMARY KEY,
    seq  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE audit_cursors;
DROP TABLE sent_once;
DROP TABLE postmortem_templates;
DROP TABLE postmortem_actions;
DROP TABLE postmortem_revisions;
DROP TABLE postmortem_labels;
DROP TABLE postmortem_services;
DROP TABLE postmortems;
