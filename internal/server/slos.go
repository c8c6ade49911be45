package server

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

func (s *Server) listSLOs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var slos []*slo.SLO
	if name := q.Get("service"); name != "" {
		svc, err := s.store.Service(r.Context(), name)
		if err != nil {
			s.error(w, r, err)
			return
		}
		slos = svc.SLOs
	} else {
		svcs, err := s.store.Services(r.Context(), catalog.ServiceFilter{Team: q.Get("team")})
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, svc := range svcs {
			slos = append(slos, svc.SLOs...)
		}
	}
	// Paged by SLO ID (service-slo), in that order; only the page is
	// evaluated.
	slices.SortStableFunc(slos, func(a, b *slo.SLO) int { return strings.Compare(a.ID(), b.ID()) })
	list, next := pageByName(slos, p, func(o *slo.SLO) string { return o.ID() })
	writeJSON(w, http.StatusOK, api.SLOList{SLOs: nonNil(s.budget.Evaluate(r.Context(), list, time.Now())), Next: next, Total: len(slos)})
}

// findSLO returns the SLO named by the path.
func (s *Server) findSLO(r *http.Request) (*catalog.Service, *slo.SLO, error) {
	svc, err := s.store.Service(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, nil, err
	}
	for _, o := range svc.SLOs {
		if o.Name == r.PathValue("slo") {
			return svc, o, nil
		}
	}
	return nil, nil, tsuna.Errorf(tsuna.ENOTFOUND, "service %q has no SLO %q", svc.Name, r.PathValue("slo"))
}

func (s *Server) getSLO(w http.ResponseWriter, r *http.Request) {
	_, o, err := s.findSLO(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.budget.Evaluate(r.Context(), []*slo.SLO{o}, time.Now())[0])
}

func (s *Server) sloHistory(w http.ResponseWriter, r *http.Request) {
	_, o, err := s.findSLO(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := r.URL.Query()
	now := time.Now()
	from, to, step := now.Add(-7*24*time.Hour), now, time.Hour
	if q.Get("from") != "" {
		if from, err = parseTime("from", q.Get("from")); err != nil {
			s.error(w, r, err)
			return
		}
	}
	if q.Get("to") != "" {
		if to, err = parseTime("to", q.Get("to")); err != nil {
			s.error(w, r, err)
			return
		}
	}
	if v := q.Get("step"); v != "" {
		if step, err = slo.ParseDuration(v); err != nil || step < time.Second {
			s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "step: %q is not a duration of at least 1s, such as 1h", v))
			return
		}
	}
	if !to.After(from) || to.Sub(from)/step > 11000 {
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "from must be before to, with at most 11000 steps between them; widen step"))
		return
	}
	points, err := s.budget.History(r.Context(), o, from, to, step)
	if err != nil {
		s.error(w, r, &tsuna.Error{Code: tsuna.EUNAVAILABLE, Message: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, api.SLOHistory{Service: o.Service, SLO: o.Name, From: from.UTC(), To: to.UTC(), Step: slo.FormatDuration(step), Points: nonNil(points)})
}

func (s *Server) deployGate(w http.ResponseWriter, r *http.Request) {
	svc, err := s.store.Service(r.Context(), r.PathValue("name"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	statuses := s.budget.Evaluate(r.Context(), svc.SLOs, time.Now())
	d := s.policy.Gate(svc.Name, svc.Tier, nonNil[[]budget.Status](statuses))
	if d.Allow, d.Reason, err = s.readinessGate(r.Context(), svc, d.Allow, d.Reason); err != nil {
		s.error(w, r, err)
		return
	}
	d.Decision = map[bool]string{true: "allow", false: "deny"}[d.Allow]
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) pushEvents(w http.ResponseWriter, r *http.Request) {
	svc, o, err := s.findSLO(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if tok := tokenFrom(r.Context()); !tok.CanChangeTeam(svc.Team) {
		s.error(w, r, tsuna.Errorf(tsuna.EFORBIDDEN, "token %q may not push events for service %q: it needs an editor token of team %s, or an admin token", tok.Name, svc.Name, svc.Team))
		return
	}
	var req api.EventsRequest
	if err := s.decode(w, r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if err := budget.ValidateEvents(o, req.Events, time.Now()); err != nil {
		s.error(w, r, err)
		return
	}
	added, err := s.store.AddEvents(r.Context(), svc.Name, o.Name, req.Events)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.EventsResponse{Received: len(req.Events), Added: added, Duplicates: len(req.Events) - added})
}
