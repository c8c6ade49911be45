package readiness

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/readiness/fact"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// SLOEvaluator reads the status of SLOs; *budget.Evaluator implements it.
type SLOEvaluator interface {
	Evaluate(ctx context.Context, slos []*slo.SLO, now time.Time) []budget.Status
}

// AlertReader reads stored alerts; alerting.Store implements it.
type AlertReader interface {
	Alerts(ctx context.Context, f alerting.Filter) ([]alerting.StoredAlert, error)
}

// Incident is what readiness needs of an incident.
type Incident struct {
	Ref        string
	Severity   string
	ReportedAt time.Time
	Resolved   bool
}

// IncidentSource lists a service's incidents; nil makes the incident
// facts unknown.
type IncidentSource interface {
	// ServiceIncidents returns the incidents of service reported at or
	// after since, drills left out.
	ServiceIncidents(ctx context.Context, service string, since time.Time) ([]Incident, error)
}

// PostmortemSource tells about a service's postmortems; nil makes the
// postmortem facts unknown.
type PostmortemSource interface {
	// Postmortems returns, for the service's incidents given, how many
	// lack a published postmortem, and how many follow-ups of the
	// service's postmortems are past due and not done at now.
	Postmortems(ctx context.Context, service string, incidents []Incident, now time.Time) (missing, overdue int, err error)
}

// Window is how far back incident and alert facts look.
const Window = 90 * slo.Day

// Facts computes the facts of svc (of team, nil when unknown) at now.
// answers gives the evidence links of the service's current review. A fact
// whose source is not wired or failed is left out: it is unknown.
func (s *Service) Facts(ctx context.Context, svc *catalog.Service, team *catalog.Team, answers map[string]Answer, now time.Time) fact.Values {
	v := fact.Values{
		"catalog.team":        svc.Team,
		"catalog.channel":     svc.Channel(team),
		"catalog.runbook":     svc.Links.Runbook,
		"catalog.dashboard":   svc.Links.Dashboard,
		"catalog.repo":        svc.Links.Repo,
		"catalog.docs":        svc.Links.Docs,
		"catalog.description": svc.Description,
		"catalog.tier":        int64(svc.Tier),
		"catalog.lifecycle":   svc.Lifecycle,
	}
	deps := slices.Clone(svc.DependsOn)
	if deps == nil {
		deps = []string{}
	}
	v["catalog.dependencies"] = deps
	names := []string{}
	for _, o := range svc.SLOs {
		names = append(names, o.Name)
	}
	v["catalog.slos"] = names
	labels := map[string]string{}
	for k, l := range svc.Labels {
		labels[k] = l
	}
	v["catalog.labels"] = labels
	oncall := []string{}
	if team != nil {
		oncall = append(oncall, team.Oncall...)
		v["catalog.members"] = int64(len(team.Members))
	} else {
		v["catalog.members"] = int64(0)
	}
	v["catalog.oncall"] = oncall
	v["slo.burn_alerts_routed"] = len(svc.SLOs) > 0 && svc.Channel(team) != ""

	if s.opts.SLO != nil {
		if len(svc.SLOs) == 0 {
			v["slo.known"] = false
		} else {
			known, left := true, math.Inf(1)
			for _, st := range s.opts.SLO.Evaluate(ctx, svc.SLOs, now) {
				if st.State == budget.StateUnknown {
					known = false
				}
				if st.BudgetRemaining != nil {
					left = min(left, *st.BudgetRemaining)
				}
			}
			v["slo.known"] = known
			if !math.IsInf(left, 1) {
				v["slo.budget_left"] = left
			}
		}
	}

	if s.opts.Alerts != nil {
		alerts, err := s.opts.Alerts.Alerts(ctx, alerting.Filter{Service: svc.Name, Limit: 500})
		if err == nil {
			n, routed := 0, true
			for _, a := range alerts {
				if a.StartsAt.Before(now.Add(-Window)) {
					continue
				}
				n++
				if !a.Routed || a.Team != svc.Team {
					routed = false
				}
			}
			v["alerting.alerts_90d"] = int64(n)
			v["alerting.routed_to_team"] = routed
		} else {
			s.opts.Log.Warn("readiness: alerts unreadable", "service", svc.Name, "err", err)
		}
	}

	var major []Incident
	if s.opts.Incidents != nil {
		incs, err := s.opts.Incidents.ServiceIncidents(ctx, svc.Name, now.Add(-Window))
		if err == nil {
			var last time.Time
			for _, i := range incs {
				if s.major(i.Severity) {
					major = append(major, i)
				}
				if i.ReportedAt.After(last) {
					last = i.ReportedAt
				}
			}
			v["incidents.count_90d"] = int64(len(incs))
			v["incidents.major_90d"] = int64(len(major))
			if last.IsZero() {
				v["incidents.days_since_last"] = int64(-1)
			} else {
				v["incidents.days_since_last"] = int64(now.Sub(last) / (24 * time.Hour))
			}
		} else {
			s.opts.Log.Warn("readiness: incidents unreadable", "service", svc.Name, "err", err)
		}
	}
	if s.opts.Postmortems != nil && s.opts.Incidents != nil {
		if _, ok := v["incidents.major_90d"]; ok {
			missing, overdue, err := s.opts.Postmortems.Postmortems(ctx, svc.Name, major, now)
			if err == nil {
				v["postmortems.missing"] = int64(missing)
				v["postmortems.overdue_followups"] = int64(overdue)
			}
		}
	}

	links := map[string]string{}
	for id, a := range answers {
		if a.Evidence != "" && now.Before(a.ExpiresAt) {
			links[id] = a.Evidence
		}
	}
	v["evidence.links"] = links
	return v
}

func (s *Service) major(severity string) bool {
	return slices.Contains(s.opts.MajorSeverities, severity)
}
