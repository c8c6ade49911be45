package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/github"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

// PostmortemsConfig is the server's postmortem service (nil: one over the
// Store and the incident service, without a tracker) and the secret of
// GitHub's issue webhook (empty refuses every delivery).
type PostmortemsConfig struct {
	Service       *postmortem.Service
	WebhookSecret []byte
}

// postmortemsOf returns the postmortem service, or answers 503 without one.
func (s *Server) postmortemsOf(w http.ResponseWriter, r *http.Request) *postmortem.Service {
	if s.postmortems == nil {
		s.error(w, r, tsuna.Errorf(tsuna.EUNAVAILABLE, "postmortems are not served by this store"))
	}
	return s.postmortems
}

// newPostmortems makes the default postmortem service over the store.
func (s *Server) newPostmortems(cfg Config) *postmortem.Service {
	if cfg.Postmortems.Service != nil {
		return cfg.Postmortems.Service
	}
	st, ok := cfg.Store.(postmortem.Store)
	if !ok {
		return nil
	}
	opts := postmortem.Options{Budget: s.budget}
	if s.incidents != nil {
		opts.Incidents, opts.Linker = s.incidents, s.incidents
	}
	if q, ok := cfg.Store.(postmortem.Enqueuer); ok {
		opts.Jobs = q
	}
	return postmortem.New(st, opts)
}

// postmortemActor is the request's token as a postmortem actor: an admin
// changes every postmortem, an editor those of its team, a viewer none.
func postmortemActor(r *http.Request) postmortem.Actor {
	a := actor(r)
	out := postmortem.Actor{Name: a.Name, Source: a.Source, RequestID: a.RequestID}
	if tok := tokenFrom(r.Context()); tok != nil {
		out.Admin = tok.IsAdmin()
		out.ReadOnly = tok.Role == auth.RoleViewer
		if tok.Role == auth.RoleEditor && tok.Team != "" {
			out.Teams = []string{tok.Team}
		}
	}
	return out
}

func (s *Server) draftPostmortem(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	var req postmortem.DraftRequest
	if err := s.decode(w, r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	p, created, err := svc.Draft(r.Context(), req, postmortemActor(r))
	if err == nil {
		w.Header().Set("Location", "/api/v1/postmortems/"+p.Ref)
	}
	s.reply(w, r, createdStatus(created), p, err)
}

// postmortemFilter reads the library's filters from the query.
func postmortemFilter(r *http.Request) (postmortem.Filter, error) {
	q := r.URL.Query()
	f := postmortem.Filter{Status: q.Get("status"), Service: q.Get("service"), Team: q.Get("team"), Severity: q.Get("severity"), Label: q.Get("label")}
	var err error
	if f.Since, err = parseTime("since", q.Get("since")); err == nil {
		f.Until, err = parseTime("until", q.Get("until"))
	}
	if err == nil && q.Get("limit") != "" {
		f.Limit, err = parseInt("limit", q.Get("limit"), 1, postmortem.MaxList)
	}
	if err == nil && q.Get("before") != "" {
		f.Before, err = postmortem.ParseRef(q.Get("before"))
	}
	return f, err
}

func (s *Server) listPostmortems(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	f, err := postmortemFilter(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var list []*postmortem.Postmortem
	if f.Status == "" || f.Status == postmortem.StatusPublished {
		list, err = svc.Library(r.Context(), f)
	} else {
		list, err = svc.List(r.Context(), f, postmortemActor(r))
	}
	s.reply(w, r, http.StatusOK, api.PostmortemList{Postmortems: nonNil(list)}, err)
}

func (s *Server) searchPostmortems(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	f, err := postmortemFilter(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := r.URL.Query().Get("q")
	hits, err := svc.Search(r.Context(), q, f)
	s.reply(w, r, http.StatusOK, api.SearchResults{Query: q, Hits: nonNil(hits)}, err)
}

func (s *Server) getPostmortem(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "markdown" {
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "format: %q; use json or markdown", format))
		return
	}
	a := postmortemActor(r)
	p, err := svc.Get(r.Context(), r.PathValue("ref"), a)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if format == "markdown" {
		acts, err := svc.PostmortemActions(r.Context(), p.Ref, a)
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8") // Markdown
		w.Header().Set("Content-Disposition", `attachment; filename="`+p.Ref+`.md"`)
		io.WriteString(w, postmortem.Markdown(p, acts, svc.URL(p)))
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) editPostmortem(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	decodeCall(s, w, r, http.StatusOK, func(c postmortem.Change) (*postmortem.Postmortem, error) {
		return svc.Edit(r.Context(), r.PathValue("ref"), c, postmortemActor(r))
	})
}

func (s *Server) postmortemStatus(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	decodeCall(s, w, r, http.StatusOK, func(req api.StatusRequest) (*postmortem.Postmortem, error) {
		ref, a := r.PathValue("ref"), postmortemActor(r)
		switch req.Status {
		case postmortem.StatusInReview:
			return svc.Review(r.Context(), ref, req.Reviewers, a)
		case postmortem.StatusPublished:
			return svc.Publish(r.Context(), ref, a)
		case postmortem.StatusDraft:
			return svc.Reopen(r.Context(), ref, a)
		}
		return nil, tsuna.Errorf(tsuna.EINVALID, "status: %q; use in_review, published or draft", req.Status)
	})
}

func (s *Server) exportPostmortem(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	p, err := svc.Export(r.Context(), r.PathValue("ref"), postmortemActor(r))
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(time.Until(rl.Until).Seconds()))))
		err = tsuna.Errorf(tsuna.EUNAVAILABLE, "%s", rl.Error())
	}
	s.reply(w, r, http.StatusOK, p, err)
}

func (s *Server) postmortemRevisions(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	revs, err := svc.Revisions(r.Context(), r.PathValue("ref"), postmortemActor(r))
	s.reply(w, r, http.StatusOK, api.RevisionList{Revisions: nonNil(revs)}, err)
}

func (s *Server) postmortemActions(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	acts, err := svc.PostmortemActions(r.Context(), r.PathValue("ref"), postmortemActor(r))
	s.reply(w, r, http.StatusOK, api.ActionList{Actions: nonNil(acts)}, err)
}

func (s *Server) addAction(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	decodeCall(s, w, r, http.StatusCreated, func(na postmortem.NewAction) (*postmortem.Action, error) {
		return svc.AddAction(r.Context(), r.PathValue("ref"), na, postmortemActor(r))
	})
}

func (s *Server) listActions(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	q := r.URL.Query()
	f := postmortem.ActionFilter{Team: q.Get("team"), Owner: q.Get("owner"), Status: q.Get("status")}
	switch q.Get("overdue") {
	case "", "false":
	case "true":
		f.OverdueAt = time.Now()
	default:
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "overdue: %q; use true or false", q.Get("overdue")))
		return
	}
	if v := q.Get("limit"); v != "" {
		var err error
		if f.Limit, err = parseInt("limit", v, 1, postmortem.MaxList*10); err != nil {
			s.error(w, r, err)
			return
		}
	}
	acts, err := svc.Actions(r.Context(), f)
	s.reply(w, r, http.StatusOK, api.ActionList{Actions: nonNil(acts)}, err)
}

func (s *Server) updateAction(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "id: %q is not an action number", r.PathValue("id")))
		return
	}
	decodeCall(s, w, r, http.StatusOK, func(c postmortem.ActionChange) (*postmortem.Action, error) {
		return svc.UpdateAction(r.Context(), id, c, postmortemActor(r))
	})
}

func (s *Server) postmortemHints(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	decodeCall(s, w, r, http.StatusOK, func(req api.HintsRequest) (api.HintsResponse, error) {
		if len(req.Body) > postmortem.MaxBody {
			return api.HintsResponse{}, tsuna.Errorf(tsuna.EINVALID, "body: %d bytes, over the limit of %d", len(req.Body), postmortem.MaxBody)
		}
		return api.HintsResponse{HTML: string(postmortem.HTML(req.Body)), Hints: nonNil(postmortem.Hints(req.Body, svc.Phrases()))}, nil
	})
}

func (s *Server) onboardingPreview(w http.ResponseWriter, r *http.Request) {
	svc := s.postmortemsOf(w, r)
	if svc == nil {
		return
	}
	name := r.URL.Query().Get("team")
	if name == "" {
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "team: required; name a catalog team"))
		return
	}
	team, err := s.store.Team(r.Context(), name)
	if err != nil {
		s.error(w, r, err)
		return
	}
	msg, err := svc.WelcomeMessage(r.Context(), team, nil)
	s.reply(w, r, http.StatusOK, api.OnboardingPreview{Team: team.Name, Message: msg}, err)
}

// githubHook receives GitHub's issues webhook: a closed issue closes the
// action it tracks. The signature over the raw body is checked first; a
// bad one answers 401 and changes nothing.
func (s *Server) githubHook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		s.error(w, r, tsuna.Errorf(tsuna.ETOOLARGE, "a GitHub delivery is at most 1 MiB"))
		return
	}
	if err := github.VerifySignature(s.githubSecret, body, r.Header.Get("X-Hub-Signature-256")); err != nil {
		s.log.Warn("github webhook refused", "reason", err.Error())
		s.error(w, r, tsuna.Errorf(tsuna.EUNAUTHORIZED, "GitHub delivery refused: %s; set the same secret in the webhook and in tsuna serve --github-webhook-secret-file", err))
		return
	}
	switch r.Header.Get("X-GitHub-Event") {
	case "ping":
		w.WriteHeader(http.StatusNoContent)
		return
	case "issues":
	default:
		w.WriteHeader(http.StatusNoContent) // other events: nothing to do
		return
	}
	ev, err := github.ParseIssueEvent(body)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if ev.Action == "closed" && s.postmortems != nil {
		if _, err := s.postmortems.IssueClosed(r.Context(), ev.Repo, ev.Number, audit.SourceAPI); err != nil {
			s.error(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// applyTemplates stores the postmortem templates of an applied catalog,
// so the next draft on any replica takes them; with check, it only
// checks that they can be (a changed version is refused before anything
// is applied). Templates belong to no team: adding one needs an admin
// token, as severity levels do.
func (s *Server) applyTemplates(ctx context.Context, files []catalog.File, tok *auth.Token, a audit.Actor, check bool) ([]catalog.PostmortemTemplate, error) {
	admin := tok != nil && tok.IsAdmin()
	if s.postmortems == nil || !check && !admin {
		return nil, nil // the check found nothing a non-admin may not apply
	}
	added, err := s.postmortems.ApplyTemplates(ctx, files, a, check)
	if err != nil || len(added) == 0 {
		return added, err
	}
	if !admin {
		return nil, tsuna.Errorf(tsuna.EFORBIDDEN, "postmortem template %s v%d belongs to no team: applying it needs an admin token; nothing was applied", added[0].Name, added[0].Version)
	}
	return added, nil
}
