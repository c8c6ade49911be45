package readiness

import (
	"context"
	"time"

	"github.com/tsuna-sre/tsuna/internal/incident"
)

// IncidentLister lists incidents; *incident.Service implements it.
type IncidentLister interface {
	List(ctx context.Context, f incident.Filter) ([]*incident.Incident, error)
}

// IncidentsOf makes tsuna's incidents the source of incident facts and of
// staleness after a major incident.
func IncidentsOf(l IncidentLister) IncidentSource { return incidentSource{l} }

type incidentSource struct{ l IncidentLister }

func (s incidentSource) ServiceIncidents(ctx context.Context, service string, since time.Time) ([]Incident, error) {
	list, err := s.l.List(ctx, incident.Filter{Service: service, Since: since, Limit: incident.MaxList})
	if err != nil {
		return nil, err
	}
	out := make([]Incident, 0, len(list))
	for _, i := range list {
		if i.Drill || i.Status == incident.StatusDeclined || i.Status == incident.StatusMerged {
			continue
		}
		in := Incident{Ref: i.Ref, Severity: i.Severity, Resolved: i.Status == incident.StatusResolved || i.Status == incident.StatusClosed}
		if i.Timestamps.Reported != nil {
			in.ReportedAt = *i.Timestamps.Reported
		}
		out = append(out, in)
	}
	return out, nil
}
