-- +goose Up
-- When a review went stale, for the scorecard to say it without reading
-- each review's spec. Reviews that went stale before have none.
ALTER TABLE readiness_reviews ADD COLUMN stale_since TIMESTAMPTZ;

-- +goose Down
ALTER TABLE readiness_reviews DROP COLUMN stale_since;
