package server

import (
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/api"
)

// alertmanagerHook receives Alertmanager's webhook: it persists first and
// then answers 2xx; a transient failure answers 5xx so Alertmanager
// retries; a bad body answers 4xx and stores nothing.
func (s *Server) alertmanagerHook(w http.ResponseWriter, r *http.Request) {
	secret, ok := bearer(r.Header.Get("Authorization"))
	if !ok || s.amToken == "" || s.alerts == nil || subtle.ConstantTimeCompare([]byte(secret), []byte(s.amToken)) != 1 {
		refuseEarly(w)
		w.Header().Set("WWW-Authenticate", `Bearer realm="tsuna-alertmanager"`)
		msg := "missing or wrong webhook token: the file that credentials_file names in the receiver's http_config.authorization (tsuna alertmanager config --credentials-file) must hold exactly the secret given to tsuna serve --alertmanager-token-file (or --alertmanager-token), on the Alertmanager host, readable by Alertmanager; reload Alertmanager after changing it"
		if s.amToken == "" {
			msg = "the Alertmanager webhook is off: start tsuna serve with --alertmanager-token (or TSUNA_ALERTMANAGER_TOKEN)"
		}
		s.error(w, r, tsuna.Errorf(tsuna.EUNAUTHORIZED, "%s", msg))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.received.WithLabelValues("invalid").Inc()
			s.error(w, r, tsuna.Errorf(tsuna.ETOOLARGE, "notification over the %d MiB limit; lower max_alerts in the receiver's webhook_config", s.maxBody>>20))
			return
		}
		s.error(w, r, &tsuna.Error{Code: tsuna.EUNAVAILABLE, Message: "reading the body failed; retry"})
		return
	}
	p, err := alerting.Parse(body)
	if err != nil {
		s.received.WithLabelValues("invalid").Inc()
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "%v; nothing was stored", err))
		return
	}
	got, err := s.alerts.Receive(r.Context(), p)
	if err != nil {
		// Nothing was stored: a 5xx makes Alertmanager send it again.
		s.log.Error("store notification", "group_key", p.GroupKey, "err", err)
		s.error(w, r, &tsuna.Error{Code: tsuna.EUNAVAILABLE, Message: "could not store the notification; Alertmanager will retry"})
		return
	}
	route := got.Route
	result := "duplicate"
	if got.Created {
		result = "stored"
		if !route.Routed {
			s.unrouted.Inc()
		}
		s.notified()
	}
	s.received.WithLabelValues(result).Inc()
	writeJSON(w, http.StatusOK, api.WebhookResponse{Result: result, Channel: route.Channel, Routed: route.Routed})
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := alerting.Filter{State: q.Get("state"), Team: q.Get("team"), Service: q.Get("service"), Unrouted: q.Get("routed") == "false"}
	if err := f.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	p, err := parsePage(q)
	if err == nil {
		f.Offset, err = p.offset()
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	total, err := s.store.CountAlerts(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	f.Limit = p.limit
	alerts, err := s.store.Alerts(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	next := ""
	if f.Offset+len(alerts) < total && len(alerts) == p.limit {
		next = cursorOf(strconv.Itoa(f.Offset + len(alerts)))
	}
	writeJSON(w, http.StatusOK, api.AlertList{Alerts: nonNil(alerts), Next: next, Total: total})
}
