-- +goose Up
-- Each audit record carries an HMAC of its hash with the server's audit key
-- (kept outside the database), so a record written without the key fails
-- verification. Records written before keys existed have none.
ALTER TABLE audit_log ADD COLUMN mac TEXT NOT NULL DEFAULT '';

-- The catalog's revision: the audit sequence of its last change. An apply
-- based on an older revision is refused (409), so two applies from one
-- stale checkout cannot silently revert each other.
CREATE TABLE catalog_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO catalog_revision (id, revision) VALUES (1, 0);

-- +goose Down
DROP TABLE catalog_revision;
ALTER TABLE audit_log DROP COLUMN mac;
