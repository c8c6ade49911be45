-- +goose Up
-- Each audit record carries an HMAC of its hash with the server's audit key
-- (kept outside the database), so a record written without the key fails
-- verification. Records written before keys existed have none.
ALTER TABLE audit_log ADD COLUMN mac TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_log DROP COLUMN mac;
