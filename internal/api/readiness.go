package api

import (
	"github.com/tsuna-sre/tsuna/internal/readiness"
)

// ReviewRequest is the body of POST /api/v1/readiness/services/{name}/review.
type ReviewRequest struct {
	// Checklist names the checklist; "" is the default.
	Checklist string `json:"checklist,omitempty"`
}

// AnswerRequest is the body of POST /api/v1/readiness/services/{name}/answers.
type AnswerRequest struct {
	Checklist string `json:"checklist,omitempty"`
	Item      string `json:"item"`
	State     string `json:"state"`
	Comment   string `json:"comment,omitempty"`
	Evidence  string `json:"evidence,omitempty"`
}

// CloseRequest is the body of POST /api/v1/readiness/services/{name}/close.
type CloseRequest struct {
	Checklist string `json:"checklist,omitempty"`
	Feedback  string `json:"feedback"`
}

// ReviewView is a review as it stands: every item's state and why, the
// level and what blocks the next.
type ReviewView struct {
	Review  *readiness.Review      `json:"review"`
	Items   []readiness.ItemResult `json:"items"`
	Summary readiness.Summary      `json:"summary"`
}

// Scorecard is the body of GET /api/v1/readiness/scorecard.
type Scorecard struct {
	Checklist string          `json:"checklist"`
	Services  []readiness.Row `json:"services"`
}

// ReviewExport is the body of GET /api/v1/readiness/services/{name}/export.
type ReviewExport struct {
	// Body is the review as the Markdown body of a GitHub issue.
	Body string `json:"body"`
}

// ChecklistList is the body of GET /api/v1/readiness/checklists.
type ChecklistList struct {
	Checklists []readiness.ChecklistInfo `json:"checklists"`
}

// FeedbackList is the body of GET /api/v1/readiness/checklists/{name}/feedback.
type FeedbackList struct {
	Feedback []readiness.Feedback `json:"feedback"`
}
