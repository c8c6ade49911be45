package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/notify/slack"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// directory routes notifications with the stored catalog.
type directory struct {
	ctx   context.Context
	store CatalogStore
}

// Channel finds the route of a service (or, without one, of a team).
func (d directory) Channel(service, team string) (alerting.Route, bool) {
	r := alerting.Route{Service: service, Team: team}
	var channel string
	if service != "" {
		if svc, err := d.store.Service(d.ctx, service); err == nil {
			if team == "" {
				team = svc.Team
			}
			r.Team, r.Runbook, r.Dashboard, channel = team, svc.Links.Runbook, svc.Links.Dashboard, svc.Chat.Channel
		}
	}
	if team == "" {
		return r, false
	}
	t, err := d.store.Team(d.ctx, team)
	if err != nil {
		return r, false
	}
	if channel == "" {
		channel = t.Chat.Channel
	}
	if len(t.Oncall) > 0 {
		for _, m := range t.Members {
			if m.Email == t.Oncall[0] {
				r.Mention = m.Slack
			}
		}
	}
	r.Channel = channel
	return r, channel != ""
}

// alertmanagerHook receives Alertmanager's webhook: it persists first and
// then answers 2xx; a transient failure answers 5xx so Alertmanager
// retries; a bad body answers 4xx and stores nothing.
func (s *Server) alertmanagerHook(w http.ResponseWriter, r *http.Request) {
	secret, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if s.amToken == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(s.amToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tsuna-alertmanager"`)
		msg := "missing or wrong webhook token: set http_config.authorization.credentials in Alertmanager to tsuna serve's --alertmanager-token"
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
	route := alerting.RouteOf(p, directory{r.Context(), s.store}, s.fallback)
	msg, err := slack.Render(p, route)
	if err != nil {
		s.error(w, r, err)
		return
	}
	created, err := s.committer.record(r.Context(), store.Notification{Payload: p, Route: route, Message: msg})
	if err != nil {
		// Nothing was stored: a 5xx makes Alertmanager send it again.
		s.log.Error("store notification", "group_key", p.GroupKey, "err", err)
		s.error(w, r, &tsuna.Error{Code: tsuna.EUNAVAILABLE, Message: "could not store the notification; Alertmanager will retry"})
		return
	}
	result := "duplicate"
	if created {
		result = "stored"
		if !route.Routed {
			s.unrouted.Inc()
		}
		s.notified()
	}
	s.received.WithLabelValues(result).Inc()
	writeJSON(w, http.StatusOK, map[string]any{"result": result, "channel": route.Channel, "routed": route.Routed})
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.AlertFilter{State: q.Get("state"), Team: q.Get("team"), Service: q.Get("service"), Unrouted: q.Get("routed") == "false"}
	if f.State != "" && f.State != "firing" && f.State != "resolved" {
		s.error(w, r, tsuna.Errorf(tsuna.EINVALID, "state: %q; use firing or resolved", f.State))
		return
	}
	alerts, err := s.store.Alerts(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": nonNil(alerts)})
}
