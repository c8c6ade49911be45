package api

import (
	"github.com/tsuna-sre/tsuna/internal/notify"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

// PostmortemList is the body of GET /api/v1/postmortems.
type PostmortemList struct {
	Postmortems []*postmortem.Postmortem `json:"postmortems"`
}

// SearchResults is the body of GET /api/v1/postmortems/search.
type SearchResults struct {
	Query string           `json:"query"`
	Hits  []postmortem.Hit `json:"hits"`
}

// StatusRequest is the body of POST /api/v1/postmortems/{ref}/status: to
// in_review (with reviewers), published, or back to draft.
type StatusRequest struct {
	Status    string   `json:"status"`
	Reviewers []string `json:"reviewers,omitempty"`
}

// RevisionList is the body of GET /api/v1/postmortems/{ref}/revisions.
type RevisionList struct {
	Revisions []postmortem.Revision `json:"revisions"`
}

// ActionList is the body of the action lists.
type ActionList struct {
	Actions []*postmortem.Action `json:"actions"`
}

// HintsRequest is the body of POST /api/v1/postmortems/hints.
type HintsRequest struct {
	Body string `json:"body"`
}

// HintsResponse is the Markdown rendered safely, and the blameless hints
// of its text: suggestions, never blocks.
type HintsResponse struct {
	HTML  string            `json:"html"`
	Hints []postmortem.Hint `json:"hints"`
}

// OnboardingPreview is the body of GET /api/v1/onboarding/preview.
type OnboardingPreview struct {
	Team    string         `json:"team"`
	Message notify.Message `json:"message"`
}
