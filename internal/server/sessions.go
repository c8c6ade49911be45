package server

import (
	"net/http"
	"slices"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/auth"
)

// sessionsOf returns the store's console sessions, or answers 503 when
// the store keeps none.
func (s *Server) sessionsOf(w http.ResponseWriter, r *http.Request) auth.SessionStore {
	st, ok := s.store.(auth.SessionStore)
	if !ok {
		s.error(w, r, tsuna.Errorf(tsuna.EUNAVAILABLE, "console sessions are not kept by this store"))
	}
	return st
}

// listSessions lists console sessions: every person's for an admin (or
// one token's with ?token=), the caller's own for anyone else; ended ones
// too with ?ended=true.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	st := s.sessionsOf(w, r)
	if st == nil {
		return
	}
	q := r.URL.Query()
	tok := tokenFrom(r.Context())
	ended := false
	switch v := q.Get("ended"); v {
	case "", "false":
	case "true":
		ended = true
	default:
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "ended: %q; use true or false", v))
		return
	}
	who := q.Get("token")
	switch {
	case tok.IsAdmin():
	case who == "" || who == tok.Name:
		who = tok.Name
	default:
		s.error(w, r, tsuna.Errorf(tsuna.EFORBIDDEN, "token %q may list only its own sessions; another token's need an admin token", tok.Name))
		return
	}
	list, err := st.Sessions(r.Context(), who, ended)
	s.reply(w, r, http.StatusOK, api.SessionList{Sessions: nonNil(list)}, err)
}

// revokeSession ends a console session: one of the caller's own, or any
// for an admin. It is audited; ending an ended session changes nothing.
func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) {
	st := s.sessionsOf(w, r)
	if st == nil {
		return
	}
	id := r.PathValue("id")
	if tok := tokenFrom(r.Context()); !tok.IsAdmin() {
		own, err := st.Sessions(r.Context(), tok.Name, true)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if !slices.ContainsFunc(own, func(x *auth.Session) bool { return x.ID == id }) {
			s.error(w, r, tsuna.Errorf(tsuna.EFORBIDDEN, "session %q is not one of token %q's: ending another token's session needs an admin token (tsuna session list shows yours)", id, tok.Name))
			return
		}
	}
	sess, err := st.RevokeSession(r.Context(), id, actor(r))
	s.reply(w, r, http.StatusOK, sess, err)
}
