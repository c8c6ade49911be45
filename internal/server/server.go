// Package server is tsuna's HTTP API: routes, authentication, problem+json
// errors, metrics and graceful shutdown.
package server

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
	"golang.org/x/sync/singleflight"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/delivery"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/readiness"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// BudgetService evaluates SLOs; *budget.Evaluator implements it.
type BudgetService interface {
	Evaluate(ctx context.Context, slos []*slo.SLO, now time.Time) []budget.Status
	History(ctx context.Context, s *slo.SLO, from, to time.Time, step time.Duration) ([]budget.Point, error)
}

// Store is everything the server reads and writes, as each domain declares
// it. *store.DB implements it.
type Store interface {
	catalog.Store
	auth.Store
	audit.Store
	budget.EventStore
	alerting.Store
	delivery.Lister
	Ping(ctx context.Context) error
}

// DefaultMaxBodyBytes is the default limit on a request body.
const DefaultMaxBodyBytes = 32 << 20

// Config configures a Server.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// MaxBodyBytes limits request bodies; larger ones get 413.
	MaxBodyBytes int64
	// Budget evaluates SLOs; nil evaluates none (every SLO is unknown).
	Budget BudgetService
	// Policy decides the deploy gate.
	Policy budget.Policy
	// AlertmanagerToken is the bearer secret Alertmanager sends to the
	// webhook; empty refuses every webhook.
	AlertmanagerToken string
	// Alerts routes and stores Alertmanager notifications; nil refuses
	// every webhook.
	Alerts *alerting.Receiver
	// OnNotification is called after a new notification is stored, such as
	// to wake the chat delivery loop.
	OnNotification func()
	// Registry is where the server registers its metrics and what
	// /metrics serves; nil makes a private one.
	Registry *prometheus.Registry
	// Timeout ends every request's context after it (default 60 s); a
	// client that goes away ends it at once.
	Timeout time.Duration
	// BodyTimeout bounds the time to read a request body (default 30 s).
	BodyTimeout time.Duration
	// MaxConns caps concurrent connections (default 1024).
	MaxConns int
	// Console serves every path outside the API (the web console under
	// "/" and its assets under "/static/"); nil serves none.
	Console http.Handler

	// Incidents configures incidents and their chat app.
	Incidents IncidentsConfig
	// Readiness configures readiness reviews and their deploy-gate rule.
	Readiness ReadinessConfig
	// Postmortems configures postmortems and GitHub's webhook.
	Postmortems PostmortemsConfig
}

// IncidentsConfig is the server's incident service and chat app: Service
// serves /api/v1/incidents (nil: one over the Store, without chat), Chat
// serves /slack/ (nil: none).
type IncidentsConfig struct {
	Service *incident.Service
	Chat    http.Handler
}

// Server serves tsuna's HTTP API.
type Server struct {
	store   Store
	log     *slog.Logger
	maxBody int64
	handler http.Handler
	budget  BudgetService
	policy  budget.Policy

	amToken  string
	alerts   *alerting.Receiver
	notified func()
	unrouted prometheus.Counter
	received *prometheus.CounterVec

	console     http.Handler
	verifying   singleflight.Group
	timeout     time.Duration
	bodyTimeout time.Duration
	maxConns    int

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	registry *prometheus.Registry

	incidents *incident.Service
	readiness *readiness.Service
	chat      http.Handler

	postmortems  *postmortem.Service
	githubSecret []byte
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	s := &Server{store: cfg.Store, log: cfg.Logger, maxBody: cfg.MaxBodyBytes, budget: cfg.Budget, policy: cfg.Policy,
		amToken: cfg.AlertmanagerToken, alerts: cfg.Alerts, notified: cfg.OnNotification, registry: cfg.Registry,
		timeout: cfg.Timeout, bodyTimeout: cfg.BodyTimeout, maxConns: cfg.MaxConns, console: cfg.Console}
	if s.timeout <= 0 {
		s.timeout = 60 * time.Second
	}
	if s.bodyTimeout <= 0 {
		s.bodyTimeout = 30 * time.Second
	}
	if s.maxConns <= 0 {
		s.maxConns = 1024
	}
	if s.notified == nil {
		s.notified = func() {}
	}
	if s.budget == nil {
		s.budget = budget.New(nil, nil)
	}
	if s.policy.FreezeBelow == nil {
		s.policy = budget.DefaultPolicy()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tsuna_http_requests_total", Help: "HTTP requests by method, route pattern and status code.",
	}, []string{"method", "route", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tsuna_http_request_duration_seconds", Help: "HTTP request latency by method and route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route"})
	s.unrouted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tsuna_alerts_unrouted_total", Help: "Alert notifications that no catalog service or team claimed: sent to the fallback channel.",
	})
	s.received = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tsuna_alertmanager_notifications_total", Help: "Alertmanager notifications received, by result (stored, duplicate, invalid).",
	}, []string{"result"})
	s.registry.MustRegister(s.requests, s.duration, s.unrouted, s.received)

	s.incidents, s.chat = cfg.Incidents.Service, cfg.Incidents.Chat
	if st, ok := cfg.Store.(incident.Store); ok && s.incidents == nil {
		s.incidents = incident.New(st, incident.Options{})
	}
	s.postmortems, s.githubSecret = s.newPostmortems(cfg), cfg.Postmortems.WebhookSecret
	s.readiness = s.newReadiness(cfg.Readiness)
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, rt.handler)
	}
	if s.chat != nil {
		// Slack's endpoints, verified by their signatures rather than
		// tokens; described in docs/incidents.md, not the API document.
		mux.Handle("POST /slack/", s.chat)
	}
	// observe wraps dispatch directly: the mux sets the route pattern on
	// the request observe passes it, which a copy in between would hide.
	s.handler = s.requestID(s.deadline(s.observe(s.dispatch(mux))))
	return s
}

// dispatch serves routes through mux, and answers the mux's own 404 and 405
// as problem+json.
func (s *Server) dispatch(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		cw := &captureWriter{header: http.Header{}}
		h.ServeHTTP(cw, r)
		// Every other path is the console's; the API's answer
		// problem+json, never a console page.
		if cw.code == http.StatusNotFound && s.console != nil && !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/hooks/") {
			servedByConsole(r)
			s.console.ServeHTTP(w, r)
			return
		}
		switch cw.code {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", cw.header.Get("Allow"))
			s.problem(w, r, cw.code, "method_not_allowed", fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, cw.header.Get("Allow")))
		case http.StatusNotFound:
			s.error(w, r, tsuna.Errorf(tsuna.ENOTFOUND, "no route for %s %s; see /api/v1/openapi.json", r.Method, r.URL.Path))
		default: // a redirect to the canonical path
			for k, v := range cw.header {
				w.Header()[k] = v
			}
			w.WriteHeader(cw.code)
		}
	})
}

// captureWriter keeps a response's header and status and drops its body.
type captureWriter struct {
	header http.Header
	code   int
}

func (c *captureWriter) Header() http.Header         { return c.header }
func (c *captureWriter) Write(b []byte) (int, error) { return len(b), nil }
func (c *captureWriter) WriteHeader(code int)        { c.code = code }

type route struct {
	pattern string
	handler http.Handler
}

// routes lists every endpoint. The OpenAPI document must describe each (a
// test checks it).
func (s *Server) routes() []route {
	return []route{
		{"GET /healthz", http.HandlerFunc(s.healthz)},
		{"GET /readyz", http.HandlerFunc(s.readyz)},
		{"GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})},
		{"GET /api/v1/openapi.json", http.HandlerFunc(s.openAPI)},
		{"GET /api/v1/docs", http.HandlerFunc(s.apiDocs)},
		{"GET /api/v1/whoami", s.authed(s.whoami)},
		{"GET /api/v1/teams", s.authed(s.listTeams)},
		{"GET /api/v1/teams/{name}", s.authed(s.getTeam)},
		{"GET /api/v1/services", s.authed(s.listServices)},
		{"GET /api/v1/services/{name}", s.authed(s.getService)},
		{"POST /api/v1/catalog", s.authed(s.applyCatalog)},
		{"GET /api/v1/slos", s.authed(s.listSLOs)},
		{"POST /hooks/alertmanager", http.HandlerFunc(s.alertmanagerHook)},
		{"GET /api/v1/alerts", s.authed(s.listAlerts)},
		{"GET /api/v1/outbox", s.authed(s.listOutbox)},
		{"GET /api/v1/outbox/stats", s.authed(s.outboxStats)},
		{"GET /api/v1/services/{name}/slos/{slo}", s.authed(s.getSLO)},
		{"GET /api/v1/services/{name}/slos/{slo}/history", s.authed(s.sloHistory)},
		{"POST /api/v1/services/{name}/slos/{slo}/events", s.authed(s.pushEvents)},
		{"GET /api/v1/services/{name}/deploy-gate", s.authed(s.deployGate)},
		{"GET /api/v1/audit", s.authed(s.listAudit)},
		{"GET /api/v1/audit/verify", s.authed(s.verifyAudit)},
		{"GET /api/v1/audit/head", s.authed(s.auditHead)},
		{"GET /api/v1/tokens", s.authed(s.listTokens)},
		{"POST /api/v1/tokens", s.authed(s.createToken)},
		{"DELETE /api/v1/tokens/{name}", s.authed(s.revokeToken)},
		{"GET /api/v1/sessions", s.authed(s.listSessions)},
		{"DELETE /api/v1/sessions/{id}", s.authed(s.revokeSession)},
		{"POST /api/v1/incidents", s.authed(s.declareIncident)},
		{"GET /api/v1/incidents", s.authed(s.listIncidents)},
		{"GET /api/v1/incidents/metrics", s.authed(s.incidentMetrics)},
		{"GET /api/v1/incidents/severities", s.authed(s.incidentSeverities)},
		{"GET /api/v1/incidents/{ref}", s.authed(s.getIncident)},
		{"PATCH /api/v1/incidents/{ref}", s.authed(s.updateIncident)},
		{"GET /api/v1/incidents/{ref}/timeline", s.authed(s.incidentTimeline)},
		{"POST /api/v1/incidents/{ref}/timeline", s.authed(s.addTimelineEntry)},
		{"POST /api/v1/postmortems", s.authed(s.draftPostmortem)},
		{"GET /api/v1/postmortems", s.authed(s.listPostmortems)},
		{"GET /api/v1/postmortems/search", s.authed(s.searchPostmortems)},
		{"POST /api/v1/postmortems/hints", s.authed(s.postmortemHints)},
		{"GET /api/v1/postmortems/{ref}", s.authed(s.getPostmortem)},
		{"PATCH /api/v1/postmortems/{ref}", s.authed(s.editPostmortem)},
		{"POST /api/v1/postmortems/{ref}/status", s.authed(s.postmortemStatus)},
		{"POST /api/v1/postmortems/{ref}/export", s.authed(s.exportPostmortem)},
		{"GET /api/v1/postmortems/{ref}/revisions", s.authed(s.postmortemRevisions)},
		{"GET /api/v1/postmortems/{ref}/actions", s.authed(s.postmortemActions)},
		{"POST /api/v1/postmortems/{ref}/actions", s.authed(s.addAction)},
		{"GET /api/v1/actions", s.authed(s.listActions)},
		{"PATCH /api/v1/actions/{id}", s.authed(s.updateAction)},
		{"GET /api/v1/onboarding/preview", s.authed(s.onboardingPreview)},
		{"POST /hooks/github", http.HandlerFunc(s.githubHook)},
		{"POST /api/v1/readiness/services/{name}/review", s.authed(s.openReview)},
		{"GET /api/v1/readiness/services/{name}", s.authed(s.getReview)},
		{"POST /api/v1/readiness/services/{name}/answers", s.authed(s.answerReview)},
		{"POST /api/v1/readiness/services/{name}/close", s.authed(s.closeReview)},
		{"GET /api/v1/readiness/services/{name}/export", s.authed(s.exportReview)},
		{"GET /api/v1/readiness/scorecard", s.authed(s.readinessScorecard)},
		{"GET /api/v1/readiness/checklists", s.authed(s.listChecklists)},
		{"GET /api/v1/readiness/checklists/{name}/feedback", s.authed(s.checklistFeedback)},
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Serve serves on ln until ctx is done, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to 15 s), and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// At most maxConns connections at once, so a flood of slow clients
	// cannot exhaust file descriptors; headers must arrive in 10 s, and
	// each request sets its own body deadline (see deadline).
	ln = netutil.LimitListener(ln, s.maxConns)
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", "15s")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDoc)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}
