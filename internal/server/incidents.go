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
	if err != nil {
		s.error(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", "/api/v1/incidents/"+inc.Ref)
	writeJSON(w, status, inc)
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
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.IncidentList{Incidents: nonNil(list)})
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	svc := s.incidentsOf(w, r)
	if svc == nil {
		return
	}
	n, err := incident.ParseRef(r.PathValue("ref"))
	if err == nil {
		var inc *incident.Incident
		if inc, err = svc.Get(r.Context(), n); err == nil {
			writeJSON(w, http.StatusOK, inc)
			return
		}
	}
	s.error(w, r, err)
}

func (s *Server) updateIncident(w http.ResponseWriter, r *http.Request) {
	svc := s.incidentsOf(w, r)
	if svc == nil {
		return
	}
	n, err := incident.ParseRef(r.PathValue("ref"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	var c incident.Change
	if err := s.decode(w, r, &c); err != nil {
		s.error(w, r, err)
		return
	}
	inc, err := svc.Update(r.Context(), n, c, incidentActor(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

func (s *Server) incidentTimeline(w http.ResponseWriter, r *http.Request) {
	svc := s.incidentsOf(w, r)
	if svc == nil {
		return
	}
	n, err := incident.ParseRef(r.PathValue("ref"))
	if err != nil {
		s.error(w, r, err)
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
	svc := s.incidentsOf(w, r)
	if svc == nil {
		return
	}
	n, err := incident.ParseRef(r.PathValue("ref"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	var req api.TimelineRequest
	if err := s.decode(w, r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	var at time.Time
	if req.Time != nil {
		at = *req.Time
	}
	var inc *incident.Incident
	switch req.Kind {
	case api.EntryNote:
		inc, err = svc.Note(r.Context(), n, req.Text, at, "", incidentActor(r))
	case api.EntryUpdate:
		inc, err = svc.PostUpdate(r.Context(), n, req.Text, at, incidentActor(r))
	default:
		err = tsuna.Errorf(tsuna.EINVALID, "kind: %q; use note or update", req.Kind)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, inc)
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
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) incidentSeverities(w http.ResponseWriter, r *http.Request) {
	svc := s.incidentsOf(w, r)
	if svc == nil {
		return
	}
	writeJSON(w, http.StatusOK, api.SeverityList{Levels: slices.Clone(svc.Levels())})
}
