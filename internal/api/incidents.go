package api

import (
	"time"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
)

// IncidentList is the body of GET /api/v1/incidents.
type IncidentList struct {
	Incidents []*incident.Incident `json:"incidents"`
}

// TimelineList is the body of GET /api/v1/incidents/{ref}/timeline.
type TimelineList struct {
	Incident string           `json:"incident"`
	Entries  []incident.Entry `json:"entries"`
}

// Timeline entry kinds a client adds.
const (
	EntryNote   = incident.EntryNote
	EntryUpdate = incident.EntryUpdate
)

// TimelineRequest is the body of POST /api/v1/incidents/{ref}/timeline: a
// note (anyone) or a status update (who may change the incident), written
// at Time (default now).
type TimelineRequest struct {
	Kind string     `json:"kind"`
	Text string     `json:"text"`
	Time *time.Time `json:"time,omitempty"`
}

// SeverityList is the body of GET /api/v1/incidents/severities.
type SeverityList struct {
	Levels []catalog.SeverityLevel `json:"levels"`
}
