package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/readiness"
)

// ReadinessConfig configures readiness reviews: GateLevel, when set, denies
// deploys of production tier-1 services below that level. Service, when
// set, is used as it is (with its own gate level), so the API, the
// console and the periodic job share one.
type ReadinessConfig struct {
	GateLevel  string
	ConsoleURL string
	Service    *readiness.Service
}

// newReadiness builds the readiness service over the store, when it keeps
// reviews, with the facts the server knows: SLO status, stored alerts and
// incidents.
func (s *Server) newReadiness(cfg ReadinessConfig) *readiness.Service {
	if cfg.Service != nil {
		return cfg.Service
	}
	st, ok := s.store.(readiness.Store)
	if !ok {
		return nil
	}
	opts := readiness.Options{SLO: s.budget, Alerts: s.store, GateLevel: cfg.GateLevel, ConsoleURL: cfg.ConsoleURL, Log: s.log}
	if s.incidents != nil {
		opts.Incidents = readiness.IncidentsOf(s.incidents)
	}
	return readiness.New(st, opts)
}

// readinessOf returns the readiness service, or answers 503 without one.
func (s *Server) readinessOf(w http.ResponseWriter, r *http.Request) *readiness.Service {
	if s.readiness == nil {
		s.error(w, r, tsuna.Errorf(tsuna.EUNAVAILABLE, "readiness reviews are not served by this store"))
	}
	return s.readiness
}

// mayChange refuses a token that is neither an admin nor an editor of the
// service's team.
func (s *Server) mayChangeReview(r *http.Request, service string) error {
	svc, err := s.store.Service(r.Context(), service)
	if err != nil {
		return err
	}
	if tok := tokenFrom(r.Context()); !tok.CanChangeTeam(svc.Team) {
		return tsuna.Errorf(tsuna.EFORBIDDEN, "token %q may not change the readiness review of %s: it needs an editor token of team %s, or an admin token", tok.Name, svc.Name, svc.Team)
	}
	return nil
}

func (s *Server) view(rs *readiness.Service, rev *readiness.Review) api.ReviewView {
	items, sum := rs.Items(rev)
	return api.ReviewView{Review: rev, Items: nonNil(items), Summary: sum}
}

// changeReview reads the request's body into an In and, when the caller
// may change the review of the path's service ({name}), answers with the
// view of the review change returns: 201 when change made it, 200 when it
// was there already.
func changeReview[In any](s *Server, w http.ResponseWriter, r *http.Request, change func(rs *readiness.Service, name string, req In) (rev *readiness.Review, created bool, err error)) {
	rs := s.readinessOf(w, r)
	if rs == nil {
		return
	}
	var req In
	if err := s.decode(w, r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	name := r.PathValue("name")
	if err := s.mayChangeReview(r, name); err != nil {
		s.error(w, r, err)
		return
	}
	rev, created, err := change(rs, name, req)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, createdStatus(created), s.view(rs, rev))
}

// currentReview answers with what show makes of the current review of the
// path's service ({name}) on the query's checklist.
func (s *Server) currentReview(w http.ResponseWriter, r *http.Request, show func(*readiness.Service, *readiness.Review) any) {
	rs := s.readinessOf(w, r)
	if rs == nil {
		return
	}
	rev, err := rs.Current(r.Context(), r.PathValue("name"), r.URL.Query().Get("checklist"), actor(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, show(rs, rev))
}

func (s *Server) openReview(w http.ResponseWriter, r *http.Request) {
	changeReview(s, w, r, func(rs *readiness.Service, name string, req api.ReviewRequest) (*readiness.Review, bool, error) {
		return rs.Open(r.Context(), name, req.Checklist, actor(r))
	})
}

func (s *Server) getReview(w http.ResponseWriter, r *http.Request) {
	s.currentReview(w, r, func(rs *readiness.Service, rev *readiness.Review) any { return s.view(rs, rev) })
}

func (s *Server) answerReview(w http.ResponseWriter, r *http.Request) {
	changeReview(s, w, r, func(rs *readiness.Service, name string, req api.AnswerRequest) (*readiness.Review, bool, error) {
		rev, err := rs.Answer(r.Context(), name, req.Checklist, readiness.Answer{Item: req.Item, State: req.State, Comment: req.Comment, Evidence: req.Evidence}, actor(r))
		return rev, false, err
	})
}

func (s *Server) closeReview(w http.ResponseWriter, r *http.Request) {
	changeReview(s, w, r, func(rs *readiness.Service, name string, req api.CloseRequest) (*readiness.Review, bool, error) {
		rev, err := rs.Close(r.Context(), name, req.Checklist, req.Feedback, actor(r))
		return rev, false, err
	})
}

func (s *Server) exportReview(w http.ResponseWriter, r *http.Request) {
	s.currentReview(w, r, func(_ *readiness.Service, rev *readiness.Review) any {
		return api.ReviewExport{Body: readiness.Export(rev, time.Now())}
	})
}

func (s *Server) readinessScorecard(w http.ResponseWriter, r *http.Request) {
	rs := s.readinessOf(w, r)
	if rs == nil {
		return
	}
	q := r.URL.Query()
	f := readiness.Filter{Team: q.Get("team"), Lifecycle: q.Get("lifecycle"), Checklist: q.Get("checklist")}
	if v := q.Get("tier"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3 {
			s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "tier: %q; use 1, 2 or 3", v))
			return
		}
		f.Tier = n
	}
	rows, err := rs.Scorecard(r.Context(), f)
	if f.Checklist == "" {
		f.Checklist = readiness.DefaultChecklistName
	}
	s.reply(w, r, http.StatusOK, api.Scorecard{Checklist: f.Checklist, Services: rows}, err)
}

func (s *Server) listChecklists(w http.ResponseWriter, r *http.Request) {
	rs := s.readinessOf(w, r)
	if rs == nil {
		return
	}
	list, err := rs.Checklists(r.Context())
	s.reply(w, r, http.StatusOK, api.ChecklistList{Checklists: list}, err)
}

func (s *Server) checklistFeedback(w http.ResponseWriter, r *http.Request) {
	rs := s.readinessOf(w, r)
	if rs == nil {
		return
	}
	list, err := rs.Feedback(r.Context(), r.PathValue("name"))
	s.reply(w, r, http.StatusOK, api.FeedbackList{Feedback: list}, err)
}

// applyChecklists stores the checklists of an applied catalog; with check,
// it only checks that they can be (a changed version is refused before
// anything is applied).
func (s *Server) applyChecklists(ctx context.Context, files []catalog.File, a audit.Actor, check bool) error {
	if s.readiness == nil {
		return nil
	}
	_, err := s.readiness.ApplyChecklists(ctx, files, a, check)
	return err
}

// readinessGate applies the readiness rule to a deploy decision: a denial
// is added to the reason.
func (s *Server) readinessGate(ctx context.Context, svc *catalog.Service, allow bool, reason string) (bool, string, error) {
	if s.readiness == nil {
		return allow, reason, nil
	}
	d, err := s.readiness.Gate(ctx, svc)
	if err != nil || d.Allow {
		return allow, reason, err
	}
	if allow {
		return false, d.Reason, nil
	}
	return false, reason + "; " + d.Reason, nil
}
