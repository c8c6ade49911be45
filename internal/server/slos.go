package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/slo"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// serviceSLOs returns the SLOs of the services that match f.
func (s *Server) serviceSLOs(r *http.Request, f store.ServiceFilter) ([]*slo.SLO, []*catalog.Service, error) {
	svcs, err := s.store.Services(r.Context(), f)
	if err != nil {
		return nil, nil, err
	}
	var out []*slo.SLO
	for _, svc := range svcs {
		out = append(out, svc.SLOs...)
	}
	return out, svcs, nil
}

func (s *Server) listSLOs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.ServiceFilter{Team: q.Get("team")}
	var slos []*slo.SLO
	if name := q.Get("service"); name != "" {
		svc, err := s.store.Service(r.Context(), name)
		if err != nil {
			s.error(w, r, err)
			return
		}
		slos = svc.SLOs
	} else {
		var err error
		if slos, _, err = s.serviceSLOs(r, f); err != nil {
			s.error(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"slos": nonNil(s.budget.Evaluate(r.Context(), slos, time.Now()))})
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
	writeJSON(w, http.StatusOK, map[string]any{"service": o.Service, "slo": o.Name, "from": from.UTC(), "to": to.UTC(), "step": slo.FormatDuration(step), "points": nonNil(points)})
}

func (s *Server) deployGate(w http.ResponseWriter, r *http.Request) {
	svc, err := s.store.Service(r.Context(), r.PathValue("name"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	statuses := s.budget.Evaluate(r.Context(), svc.SLOs, time.Now())
	writeJSON(w, http.StatusOK, s.policy.Gate(svc.Name, svc.Tier, nonNil[[]budget.Status](statuses)))
}

// EventsRequest is the body of POST .../slos/{slo}/events.
type EventsRequest struct {
	Events []store.Event `json:"events"`
}

// maxEvents bounds one push.
const maxEvents = 1000

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
	if o.SLI.Events == nil {
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "SLO %s/%s reads Prometheus: declare `sli: {events: {}}` to push events to tsuna", svc.Name, o.Name))
		return
	}
	var req EventsRequest
	if err := s.decode(w, r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	now := time.Now()
	oldest := budget.PeriodStart(o.Window, now).Add(-slo.Day)
	switch {
	case len(req.Events) == 0:
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "events: empty; send at least one {key, timestamp, good, total}"))
		return
	case len(req.Events) > maxEvents:
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "events: %d events; send at most %d per request", len(req.Events), maxEvents))
		return
	}
	for i, e := range req.Events {
		var msg string
		switch {
		case e.Key == "" || len(e.Key) > 128:
			msg = fmt.Sprintf("events[%d].key: give a key of 1 to 128 characters, unique per count, so a retry counts once", i)
		case e.Timestamp.IsZero():
			msg = fmt.Sprintf("events[%d].timestamp: required, in RFC 3339 (2026-01-02T15:04:05Z)", i)
		case e.Timestamp.After(now.Add(5 * time.Minute)):
			msg = fmt.Sprintf("events[%d].timestamp: %s is in the future; check the client's clock", i, e.Timestamp.Format(time.RFC3339))
		case e.Timestamp.Before(oldest):
			msg = fmt.Sprintf("events[%d].timestamp: %s is before this SLO's period; it would count for nothing", i, e.Timestamp.Format(time.RFC3339))
		case e.Good < 0 || e.Total < 0 || e.Good > e.Total:
			msg = fmt.Sprintf("events[%d]: good (%d) and total (%d) must satisfy 0 <= good <= total", i, e.Good, e.Total)
		}
		if msg != "" {
			s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "%s; nothing was stored", msg))
			return
		}
	}
	added, err := s.store.AddEvents(r.Context(), svc.Name, o.Name, req.Events)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"received": len(req.Events), "added": added, "duplicates": len(req.Events) - added})
}
