package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, tokenFrom(r.Context()))
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	teams, err := s.store.Teams(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	list, next := pageByName(teams, p, func(t *catalog.Team) string { return t.Name })
	writeJSON(w, http.StatusOK, api.TeamList{Teams: nonNil(list), Next: next, Total: len(teams)})
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) {
	team, err := s.store.Team(r.Context(), r.PathValue("name"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, team)
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) {
	f, err := catalog.ParseServiceFilter(r.URL.Query().Get)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p, err := parsePage(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	total, err := s.store.CountServices(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	f.After, f.Limit = p.cursor, p.limit+1
	svcs, err := s.store.Services(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	next := ""
	if len(svcs) > p.limit {
		svcs, next = svcs[:p.limit], cursorOf(svcs[p.limit-1].Name)
	}
	writeJSON(w, http.StatusOK, api.ServiceList{Services: nonNil(svcs), Next: next, Total: total})
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) {
	svc, err := s.store.Service(r.Context(), r.PathValue("name"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, svc)
}

func (s *Server) applyCatalog(w http.ResponseWriter, r *http.Request) {
	tok := tokenFrom(r.Context())
	if err := catalog.Authorize(tok, nil); err != nil {
		s.error(w, r, err)
		return
	}
	var req api.ApplyRequest
	if err := s.decode(w, r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if len(req.Files) == 0 {
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "files: empty; send at least one catalog file (an empty catalog would delete everything)"))
		return
	}
	files := make([]catalog.File, len(req.Files))
	for i, f := range req.Files {
		if f.Path == "" {
			s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "files[%d].path: required", i))
			return
		}
		files[i] = catalog.File{Path: f.Path, Data: []byte(f.Content)}
	}
	c, diags := catalog.ParseContext(r.Context(), files)
	if c == nil {
		s.error(w, r, &tsuna.Error{Code: tsuna.EINVALID, Details: diags,
			Message: fmt.Sprintf("the catalog has %d error(s), each in errors with its file, line, column and source line; nothing was applied", diags.Errors())})
		return
	}
	if err := s.applyChecklists(r.Context(), files, actor(r), true); err != nil {
		s.error(w, r, err)
		return
	}
	templates, err := s.applyTemplates(r.Context(), files, tok, actor(r), true)
	if err != nil {
		s.error(w, r, err)
		return
	}
	prune := req.Prune == nil || *req.Prune
	var rev int64
	changes, err := s.store.ApplyCatalog(r.Context(), c.Objects(), catalog.ApplyOptions{
		Prune: prune, DryRun: req.DryRun, Actor: actor(r), BaseRevision: req.BaseRevision, Revision: &rev,
		Authorize: func(changes []catalog.Change) error { return catalog.Authorize(tok, changes) },
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	if !req.DryRun {
		if err := s.applyChecklists(r.Context(), files, actor(r), false); err != nil {
			s.error(w, r, err)
			return
		}
		if templates, err = s.applyTemplates(r.Context(), files, tok, actor(r), false); err != nil {
			s.error(w, r, err)
			return
		}
	}
	resp := api.ApplyResponse{DryRun: req.DryRun, Revision: rev, Created: []api.ObjectRef{}, Updated: []api.ObjectRef{}, Deleted: []api.ObjectRef{}, Warnings: nonNil(diags)}
	for _, ch := range changes {
		ref := api.ObjectRef{Kind: ch.Kind, Name: ch.Name}
		switch ch.Action {
		case catalog.ActionCreate:
			resp.Created = append(resp.Created, ref)
		case catalog.ActionUpdate:
			resp.Updated = append(resp.Updated, ref)
		case catalog.ActionDelete:
			resp.Deleted = append(resp.Deleted, ref)
		}
	}
	for _, t := range templates {
		resp.Created = append(resp.Created, api.ObjectRef{Kind: catalog.KindPostmortemTemplate, Name: fmt.Sprintf("%s/v%d", t.Name, t.Version)})
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := audit.Filter{Actor: q.Get("actor"), Kind: q.Get("kind"), Name: q.Get("name")}
	var err error
	if f.Since, err = parseTime("since", q.Get("since")); err == nil {
		f.Until, err = parseTime("until", q.Get("until"))
	}
	if err == nil && q.Get("limit") != "" {
		f.Limit, err = parseInt("limit", q.Get("limit"), 1, maxLimit)
	}
	if err == nil && q.Get("cursor") != "" {
		var p page
		if p, err = parsePage(q); err == nil {
			var n int
			n, err = strconv.Atoi(p.cursor)
			if err != nil || n < 1 {
				err = tsuna.Errorf(tsuna.EINVALID, "cursor: not a cursor of this list; pass the \"next\" of the previous page as it came")
			}
			f.Before = int64(n)
		}
	}
	if err == nil && q.Get("before") != "" {
		var b int
		b, err = parseInt("before", q.Get("before"), 1, 1<<62)
		f.Before = int64(b)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	recs, err := s.store.AuditRecords(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	next := ""
	if len(recs) == limit && recs[len(recs)-1].Seq > 1 {
		next = cursorOf(strconv.FormatInt(recs[len(recs)-1].Seq, 10))
	}
	writeJSON(w, http.StatusOK, api.AuditList{Records: nonNil(recs), Next: next})
}

// verifyAudit walks the whole chain: admin only, and one walk at a time;
// callers that arrive during a walk share its result.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) {
	if tok := tokenFrom(r.Context()); !tok.IsAdmin() {
		s.error(w, r, tsuna.Errorf(tsuna.EFORBIDDEN, "token %q is a %s: verifying the audit log walks all of it and needs an admin token", tok.Name, tok.Role))
		return
	}
	var cp *audit.Checkpoint
	if v := r.URL.Query().Get("checkpoint"); v != "" {
		var err error
		if cp, err = audit.ParseCheckpoint(v); err != nil {
			s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "checkpoint: %v", err))
			return
		}
	}
	key := "verify"
	if cp != nil {
		key += cp.String()
	}
	res, err, _ := s.verifying.Do(key, func() (any, error) {
		return s.store.VerifyAudit(context.WithoutCancel(r.Context()), cp)
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res.(audit.Verification))
}

func (s *Server) auditHead(w http.ResponseWriter, r *http.Request) {
	head, err := s.store.AuditHead(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.AuditHead{Head: head})
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := slo.ParseDuration(v); err == nil && d > 0 {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, tsuna.Errorf(tsuna.EINVALID, "%s: %q is not a time; use RFC 3339 (2026-01-02T15:04:05Z) or a duration ago (24h, 7d, 2w)", field, v)
	}
	return t, nil
}

func parseInt(field, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, tsuna.Errorf(tsuna.EINVALID, "%s: %q must be an integer from %d to %d", field, v, lo, hi)
	}
	return n, nil
}

func (s *Server) requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	if tok := tokenFrom(r.Context()); !tok.IsAdmin() {
		s.error(w, r, tsuna.Errorf(tsuna.EFORBIDDEN, "token %q is a %s: managing tokens needs an admin token", tok.Name, tok.Role))
		return false
	}
	return true
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	var req api.CreateTokenRequest
	if err := s.decode(w, r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if req.Team != "" {
		if _, err := s.store.Team(r.Context(), req.Team); tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
			s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "team: %q is not in the catalog; apply the team first", req.Team))
			return
		} else if err != nil {
			s.error(w, r, err)
			return
		}
	}
	tok := &auth.Token{Name: req.Name, Role: req.Role, Team: req.Team}
	secret := auth.NewSecret()
	if err := s.store.CreateToken(r.Context(), tok, auth.HashSecret(secret), actor(r)); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, api.CreateTokenResponse{Token: tok, Secret: secret})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	p, err := parsePage(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	toks, err := s.store.Tokens(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	slices.SortFunc(toks, func(a, b *auth.Token) int { return strings.Compare(a.Name, b.Name) })
	list, next := pageByName(toks, p, func(t *auth.Token) string { return t.Name })
	writeJSON(w, http.StatusOK, api.TokenList{Tokens: nonNil(list), Next: next, Total: len(toks)})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	tok, err := s.store.RevokeToken(r.Context(), r.PathValue("name"), actor(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tok)
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[S ~[]E, E any](s S) S {
	if s == nil {
		return S{}
	}
	return slices.Clip(s)
}
