package server

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/incident"
)

// incidentActor is the request's token as an incident actor: an admin
// changes every incident, an editor those of its team.
func incidentActor(r *http.Request) incident.Actor {
	a := actor(r)
	out := incident.Actor{Name: a.Name, Source: a.Source, RequestID: a.RequestID}
	if tok := tokenFrom(r.Context()); tok != nil {
		out.Admin = tok.IsAdmin()
		if tok.Role == auth.RoleEditor && tok.Team != "" {
			out.Teams = []string{tok.Team}
		}
	}
	return out
}

// incidentsOf returns the incident service, or answers 503 without one.
func (s *Server) incidentsOf(w http.ResponseWriter, r *http.Request) *incident.Service {
	if s.incidents == nil {
		s.error(w, r, tsuna.Errorf(tsuna.EUNAVAILABLE, "incidents are not served by this store"))
	}
	return s.incidents
}

func (s *Server) declareIncident(w http.ResponseWriter, r *http.Request) {
	svc := s.incidentsOf(w, r)
	if svc == nil {
		return
	}
	var d incident.Declaration
	if err := s.decode(w, r, &d); err != nil {
		s.error(w, r, err)
		return
	}
	if d.Key == "" {
		d.Key = r.Header.Get("Idempotency-Key")
	}
	inc, created, err := svc.Declare(r.Context(), d, incidentActor(r))
	if err == nil {
		w.Header().Set("Location", "/api/v1/incidents/"+inc.Ref)
	}
	s.reply(w, r, createdStatus(created), inc, err)
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	svc := s.incidentsOf(w, r)
	if svc == nil {
		return
	}
	q := r.URL.Query()
	f := incident.Filter{Severity: q.Get("severity"), Team: q.Get("team"), Service: q.Get("service")}
	if v := q.Get("status"); v != "" {
		f.Status = strings.Split(v, ",")
	}
	var err error
	if f.Since, err = parseTime("since", q.Get("since")); err == nil {
		f.Until, err = parseTime("until", q.Get("until"))
	}
	if err == nil && q.Get("limit") != "" {
		f.Limit, err = parseInt("limit", q.Get("limit"), 1, incident.MaxList)
	}
	if err == nil && q.Get("before") != "" {
		f.Before, err = incident.ParseRef(q.Get("before"))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	list, err := svc.List(r.Context(), f)
	s.reply(w, r, http.StatusOK, api.IncidentList{Incidents: nonNil(list)}, err)
}

// incidentAt returns the incident service and the number of the path's
// incident ({ref}); without either it answers the problem and returns a
// nil service.
func (s *Server) incidentAt(w http.ResponseWriter, r *http.Request) (*incident.Service, int64) {
	svc := s.incidentsOf(w, r)
	if svc == nil {
		return nil, 0
	}
	n, err := incident.ParseRef(r.PathValue("ref"))
	if err != nil {
		s.error(w, r, err)
		return nil, 0
	}
	return svc, n
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	svc, n := s.incidentAt(w, r)
	if svc == nil {
		return
	}
	inc, err := svc.Get(r.Context(), n)
	s.reply(w, r, http.StatusOK, inc, err)
}

func (s *Server) updateIncident(w http.ResponseWriter, r *http.Request) {
	svc, n := s.incidentAt(w, r)
	if svc == nil {
		return
	}
	decodeCall(s, w, r, http.StatusOK, func(c incident.Change) (*incident.Incident, error) {
		return svc.Update(r.Context(), n, c, incidentActor(r))
	})
}

func (s *Server) incidentTimeline(w http.ResponseWriter, r *http.Request) {
	svc, n := s.incidentAt(w, r)
	if svc == nil {
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "markdown" {
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "format: %q; use json or markdown", format))
		return
	}
	entries, err := svc.Timeline(r.Context(), n, incident.TimelineFilter{})
	if err != nil {
		s.error(w, r, err)
		return
	}
	if format == "markdown" {
		inc, err := svc.Get(r.Context(), n)
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8") // Markdown
		w.Write([]byte(incident.Markdown(inc, entries)))
		return
	}
	writeJSON(w, http.StatusOK, api.TimelineList{Incident: incident.RefOf(n), Entries: entries})
}

func (s *Server) addTimelineEntry(w http.ResponseWriter, r *http.Request) {
	svc, n := s.incidentAt(w, r)
	if svc == nil {
		return
	}
	decodeCall(s, w, r, http.StatusCreated, func(req api.TimelineRequest) (*incident.Incident, error) {
		var at time.Time
		if req.Time != nil {
			at = *req.Time
		}
		switch req.Kind {
		case api.EntryNote:
			return svc.Note(r.Context(), n, req.Text, at, "", incidentActor(r))
		case api.EntryUpdate:
			return svc.PostUpdate(r.Context(), n, req.Text, at, incidentActor(r))
		}
		return nil, tsuna.Errorf(tsuna.EINVALID, "kind: %q; use note or update", req.Kind)
	})
}

func (s *Server) incidentMetrics(w http.ResponseWriter, r *http.Request) {
	svc := s.incidentsOf(w, r)
	if svc == nil {
		return
	}
	q := r.URL.Query()
	since, err := parseTime("since", q.Get("since"))
	var until time.Time
	if err == nil {
		until, err = parseTime("until", q.Get("until"))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if since.IsZero() {
		since = time.Now().Add(-90 * 24 * time.Hour)
	}
	if until.IsZero() {
		until = time.Now()
	}
	by := q.Get("by")
	if by == "" {
		by = incident.BySeverity
	}
	rep, err := svc.Metrics(r.Context(), since, until, by)
	s.reply(w, r, http.StatusOK, rep, err)
}

func (s *Server) incidentSeverities(w http.ResponseWriter, r *http.Request) {
	svc := s.incidentsOf(w, r)
	if svc == nil {
		return
	}
	writeJSON(w, http.StatusOK, api.SeverityList{Levels: slices.Clone(svc.Levels())})
}
