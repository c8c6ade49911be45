package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/delivery"
)

// listOutbox lists chat messages of the outbox, newest first: what was
// sent, what waits and why a message failed.
func (s *Server) listOutbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := delivery.Filter{State: q.Get("state")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "limit: %q is not a number; use 1 to 1000", v))
			return
		}
		f.Limit = n
	}
	if err := f.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	msgs, err := s.store.OutboxMessages(r.Context(), f)
	s.reply(w, r, http.StatusOK, api.OutboxList{Messages: nonNil(msgs)}, err)
}

// outboxStats summarises the outbox: the figures /metrics exports.
func (s *Server) outboxStats(w http.ResponseWriter, r *http.Request) {
	st, err := s.store.OutboxStats(r.Context(), time.Now())
	s.reply(w, r, http.StatusOK, st, err)
}
