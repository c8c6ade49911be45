// Package web is tsuna's console: server-rendered pages under "/" that show
// every team's services, SLOs, error budgets, alerts and audit log, built
// from html/template with every asset embedded. Pages read well without
// JavaScript; a person signs in by pasting an API token and acts with that
// token's role and team scope, checked on the server by the same domain
// rules as the API (catalog.Authorize, auth.Token.CanChangeTeam). Every
// form carries a CSRF token, and every change is audited with source "ui".
//
// Other capabilities add their pages with Console.AddPage: a route, a nav
// entry, and a template that fills the layout's "content" block.
package web

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

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

// Budget evaluates SLOs; *budget.Evaluator implements it.
type Budget interface {
	Evaluate(ctx context.Context, slos []*slo.SLO, now time.Time) []budget.Status
	History(ctx context.Context, s *slo.SLO, from, to time.Time, step time.Duration) ([]budget.Point, error)
}

// Store is what the console reads and writes, as each domain declares it,
// plus two reads of its own. *store.DB implements it.
type Store interface {
	Teams(ctx context.Context) ([]*catalog.Team, error)
	Team(ctx context.Context, name string) (*catalog.Team, error)
	Services(ctx context.Context, f catalog.ServiceFilter) ([]*catalog.Service, error)
	Service(ctx context.Context, name string) (*catalog.Service, error)
	TokenBySecretHash(ctx context.Context, hash string) (*auth.Token, error)
	auth.SessionStore
	audit.Store
	Alerts(ctx context.Context, f alerting.Filter) ([]alerting.StoredAlert, error)
	// LatestDeliveries returns the newest chat message of each thread key
	// and channel, with its delivery state.
	LatestDeliveries(ctx context.Context, keys []string) ([]delivery.Record, error)
	// AddEventsAudited stores events pushed by a person, with an audit
	// record, in one transaction; it returns how many were new.
	AddEventsAudited(ctx context.Context, service, slo string, events []budget.Event, actor audit.Actor) (int, error)
}

// Config configures a Console.
type Config struct {
	Store  Store
	Budget Budget
	Policy budget.Policy
	Logger *slog.Logger
	// SessionTTL is how long a sign-in lasts; 0 is auth.DefaultSessionTTL.
	SessionTTL time.Duration
	// TrustedProxies are the addresses whose X-Forwarded-Proto is
	// believed, to mark cookies Secure behind a TLS-terminating proxy.
	TrustedProxies []netip.Prefix
	// StatusTTL is how long the budget status of every SLO, which the
	// overview pages read, is reused before it is evaluated again; 0 is
	// 30 seconds.
	StatusTTL time.Duration
	// Demo labels every page as showing demo data.
	Demo bool
	// Incidents, when set, adds the incident pages (list, detail with the
	// timeline, declare form, metrics).
	Incidents *incident.Service
	// Readiness, when set, adds the readiness pages (scorecard, reviews).
	Readiness *readiness.Service
	// Postmortems, when set, adds the postmortem pages (library and
	// search, the postmortem with its editor, the follow-ups).
	Postmortems *postmortem.Service
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Console serves the web console. It is an http.Handler.
type Console struct {
	store     Store
	budget    Budget
	policy    budget.Policy
	log       *slog.Logger
	ttl       time.Duration
	proxies   []netip.Prefix
	demo      bool
	now       func() time.Time
	mux       *http.ServeMux
	base      *template.Template
	pages     map[string]*template.Template
	nav       []NavItem
	snap      *snapshots
	handler   http.Handler
	incidents *incident.Service
	readiness *readiness.Service
	pms       *postmortem.Service
	closeOnce sync.Once
}

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// NavItem is an entry of the console's navigation.
type NavItem struct {
	Label string
	Path  string
	// Order sorts the entries; the console's own use 10, 20, ... 70.
	Order int
}

// New returns a Console for cfg.
func New(cfg Config) *Console {
	c := &Console{store: cfg.Store, budget: cfg.Budget, policy: cfg.Policy, log: cfg.Logger, ttl: cfg.SessionTTL,
		proxies: cfg.TrustedProxies, demo: cfg.Demo, now: cfg.Now, pages: map[string]*template.Template{},
		incidents: cfg.Incidents, readiness: cfg.Readiness, pms: cfg.Postmortems}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ttl <= 0 {
		c.ttl = auth.DefaultSessionTTL
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.budget == nil {
		c.budget = budget.New(nil, nil)
	}
	if c.policy.FreezeBelow == nil {
		c.policy = budget.DefaultPolicy()
	}
	statusTTL := cfg.StatusTTL
	if statusTTL <= 0 {
		statusTTL = 30 * time.Second
	}
	c.snap = newSnapshots(c.store, c.budget, c.log, statusTTL, c.now)
	c.base = template.Must(template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/layout/*.html"))
	c.mux = http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(static)))
	c.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})
	c.mux.HandleFunc("GET /signin", c.signInPage)
	c.mux.HandleFunc("POST /signin", c.signIn)
	c.mux.Handle("POST /signout", c.authed(c.signOut))
	c.builtinPages()
	if c.incidents != nil {
		c.incidentPages()
	}
	if c.readiness != nil {
		c.readinessPages()
	}
	if c.pms != nil {
		c.postmortemPages()
	}
	c.handler = c.secure(c.mux)
	return c
}

// AddPage registers a page: fn answers GET pattern with the data that the
// template tmpl (which defines "title" and "content") renders in the
// layout, for a signed-in person. A non-empty nav.Label adds it to the
// navigation. Call it before serving.
func (c *Console) AddPage(pattern string, nav NavItem, tmpl string, fn PageFunc) {
	t := template.Must(template.Must(c.base.Clone()).Parse(tmpl))
	c.pages[pattern] = t
	if nav.Label != "" {
		c.nav = append(c.nav, nav)
		slices.SortStableFunc(c.nav, func(a, b NavItem) int { return a.Order - b.Order })
	}
	c.mux.Handle("GET "+pattern, c.authed(func(w http.ResponseWriter, r *http.Request, p *Principal) {
		data, err := fn(r, p)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		c.render(w, r, t, p, data)
	}))
}

// AddAction registers a form handler: a POST to pattern by a signed-in
// person, whose CSRF token the console has checked before fn runs. fn
// checks the person's rights itself, on the server, with the domain's
// rules, and answers (usually with a redirect).
func (c *Console) AddAction(pattern string, fn func(w http.ResponseWriter, r *http.Request, p *Principal)) {
	c.mux.Handle("POST "+pattern, c.authed(fn))
}

// PageFunc returns the data of a page for a signed-in person; an error
// with a tsuna code is shown as its page (not found, forbidden, ...).
type PageFunc func(r *http.Request, p *Principal) (any, error)

// page registers a built-in page from templates/<file>.
func (c *Console) page(pattern string, nav NavItem, file string, fn PageFunc) {
	b, err := templateFS.ReadFile("templates/" + file)
	if err != nil {
		panic("web: " + err.Error())
	}
	c.AddPage(pattern, nav, string(b), fn)
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// Close stops the console's background evaluation and waits for it.
func (c *Console) Close() error {
	c.closeOnce.Do(c.snap.close)
	return nil
}

// staticHandler serves embedded assets, cached for a day: they change
// only with the binary.
func staticHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
