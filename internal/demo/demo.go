// Package demo fills a database of its own with a realistic, clearly
// labelled demo history for `tsuna serve --demo`: a catalog of four teams
// and eleven services whose SLOs count events pushed to tsuna (so budgets
// are computed without Prometheus), thirty days of traffic with burn
// episodes (one burning now, one budget spent), alerts with their chat
// messages in every delivery state, tokens and audit records; and the
// other half of the loop, told through the incident, postmortem and
// readiness services as a person would have: incidents on the services
// that burned (one open on the service burning now, the others resolved
// with complete timelines, so TTD, TTA, TTM and TTR have figures), a
// published postmortem with its follow-up actions (done, open, overdue)
// and one in review, and readiness reviews at different levels (one
// stale since an incident). It refuses a database that holds anything
// else, so demo data is never mixed into a real catalog.
package demo

import (
	"context"
	_ "embed"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/delivery"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/notify"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/readiness"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// Label marks every demo service; a database with a service without it
// is not a demo database.
const Label = "tsuna_demo"

// DefaultDB is the database `tsuna serve --demo` uses unless told another.
const DefaultDB = "./tsuna-demo.db"

//go:embed catalog.yaml
var catalogYAML []byte

// Store is what the demo writes, as each domain declares it; *store.DB
// implements it.
type Store interface {
	catalog.Store
	alerting.Store
	delivery.Outbox
	incident.Store
	postmortem.Store
	readiness.Store
	budget.EventSource
	CreateToken(ctx context.Context, t *auth.Token, secretHash string, actor audit.Actor) error
	AddEvents(ctx context.Context, service, slo string, events []budget.Event) (int, error)
	AddEventsAudited(ctx context.Context, service, slo string, events []budget.Event, actor audit.Actor) (int, error)
}

// Actor is who writes the demo data.
var Actor = audit.Actor{Name: "tsuna serve --demo", Source: audit.SourceCLI}

// Catalog returns the demo catalog.
func Catalog() *catalog.Catalog {
	c, diags := catalog.Parse([]catalog.File{{Path: "demo/catalog.yaml", Data: catalogYAML}})
	if c == nil {
		panic(fmt.Sprintf("demo: the embedded catalog has errors: %v", diags))
	}
	return c
}

// Check returns an error when db holds data that is not the demo's.
func Check(ctx context.Context, db Store, name string) (seeded bool, err error) {
	svcs, err := db.Services(ctx, catalog.ServiceFilter{})
	if err != nil {
		return false, err
	}
	for _, s := range svcs {
		if s.Labels[Label] != "true" {
			return false, tsuna.Errorf(tsuna.EINVALID, "--demo refuses to write demo data into %s: it holds service %q, which is not demo data; "+
				"use another --db (the default for --demo is %s)", name, s.Name, DefaultDB)
		}
	}
	if len(svcs) == 0 {
		teams, err := db.Teams(ctx)
		if err != nil {
			return false, err
		}
		if len(teams) > 0 {
			return false, tsuna.Errorf(tsuna.EINVALID, "--demo refuses to write demo data into %s: it holds team %q and no demo service; use another --db (the default for --demo is %s)",
				name, teams[0].Name, DefaultDB)
		}
	}
	return len(svcs) > 0, nil
}

// Seed fills db with the demo history ending at now, the first time:
// SeedBase, then the incidents, postmortems and readiness reviews. Later
// it only adds the traffic of the last hour (TopUp). name names the
// database in errors.
func Seed(ctx context.Context, db Store, name string, now time.Time) error {
	return seed(ctx, db, name, now, true)
}

// SeedBase is Seed without the incidents, postmortems and readiness
// reviews: the catalog, the traffic, the alerts, the tokens and their
// audit records, for tests that start with those pages empty.
func SeedBase(ctx context.Context, db Store, name string, now time.Time) error {
	return seed(ctx, db, name, now, false)
}

func seed(ctx context.Context, db Store, name string, now time.Time, loop bool) error {
	seeded, err := Check(ctx, db, name)
	if err != nil {
		return err
	}
	if seeded {
		return TopUp(ctx, db, now)
	}
	c := Catalog()
	if _, err := db.ApplyCatalog(ctx, c.Objects(), catalog.ApplyOptions{Prune: false, Actor: Actor}); err != nil {
		return fmt.Errorf("demo catalog: %w", err)
	}
	for _, t := range []*auth.Token{
		{Name: "demo-payments-editor", Role: auth.RoleEditor, Team: "payments"},
		{Name: "demo-sre-viewer", Role: auth.RoleViewer},
	} {
		if err := db.CreateToken(ctx, t, auth.HashSecret(auth.NewSecret()), Actor); err != nil && tsuna.ErrorCode(err) != tsuna.ECONFLICT {
			return fmt.Errorf("demo token: %w", err)
		}
	}
	cutoff := now.Add(-6 * time.Hour).Truncate(time.Hour)
	for _, o := range c.SLOs {
		if o.SLI.Events == nil {
			continue
		}
		sh := shapeOf(o, now)
		if sh.silent {
			continue
		}
		// Two periods, so the rolling period is full over every chart:
		// coarse counts long ago, finer ones lately, 5-minute ones in the
		// last hours (the alert windows read those).
		var events []budget.Event
		length := o.Window.Length()
		t := now.Add(-2 * length).Truncate(6 * time.Hour)
		for t.Before(cutoff) {
			step := time.Hour
			switch {
			case sh.every >= 24*time.Hour:
				step = sh.every
			case t.Before(now.Add(-length)):
				step = 6 * time.Hour
			case t.Before(now.Add(-48 * time.Hour)):
				step = 2 * time.Hour
			}
			events = append(events, sh.event(t, step))
			t = t.Add(step)
		}
		for ; sh.every < 24*time.Hour && !t.After(now.Add(-5*time.Minute)); t = t.Add(5 * time.Minute) {
			events = append(events, sh.event(t, 5*time.Minute))
		}
		if err := addAll(ctx, db, o, events); err != nil {
			return err
		}
	}
	// A count entered by hand in the console, as a person would.
	hand := []budget.Event{{Key: "ui-demo-rerun", Timestamp: now.Add(-20 * time.Hour).Truncate(time.Minute), Good: 998, Total: 1000}}
	if _, err := db.AddEventsAudited(ctx, "invoice-worker", "nightly-runs", hand,
		audit.Actor{Name: "demo-payments-editor", Source: audit.SourceUI}); err != nil {
		return fmt.Errorf("demo events: %w", err)
	}
	if err := seedAlerts(ctx, db, c, now); err != nil {
		return err
	}
	if !loop {
		return nil
	}
	return seedLoop(ctx, db, now)
}

// TopUp adds the demo traffic of the hour before now, in 5-minute counts
// whose keys make it idempotent: call it every minute while serving. A
// count already stored is kept as it was.
func TopUp(ctx context.Context, db Store, now time.Time) error {
	for _, o := range Catalog().SLOs {
		sh := shapeOf(o, now)
		if o.SLI.Events == nil || sh.silent || sh.every >= 24*time.Hour {
			continue
		}
		for t := now.Add(-time.Hour).Truncate(5 * time.Minute); !t.After(now.Add(-5 * time.Minute)); t = t.Add(5 * time.Minute) {
			_, err := db.AddEvents(ctx, o.Service, o.Name, []budget.Event{sh.event(t, 5*time.Minute)})
			if err != nil && tsuna.ErrorCode(err) != tsuna.ECONFLICT {
				return fmt.Errorf("demo events of %s/%s: %w", o.Service, o.Name, err)
			}
		}
	}
	return nil
}

func addAll(ctx context.Context, db Store, o *slo.SLO, events []budget.Event) error {
	for len(events) > 0 {
		n := min(len(events), budget.MaxEvents)
		if _, err := db.AddEvents(ctx, o.Service, o.Name, events[:n]); err != nil {
			return fmt.Errorf("demo events of %s/%s: %w", o.Service, o.Name, err)
		}
		events = events[n:]
	}
	return nil
}

// episode is a time when an SLO burns its budget faster: from ago to
// ago-length before now, at burn times the budget rate.
type episode struct {
	ago, length time.Duration
	burn        float64
}

// shape is the made-up traffic of one SLO.
type shape struct {
	slo      *slo.SLO
	perHour  float64 // requests an hour at the daily mean
	baseBurn float64 // burn rate outside episodes
	episodes []episode
	every    time.Duration // count granularity before the last 6 hours
	silent   bool          // no traffic at all: no_data
	anchor   time.Time
}

// shapes are the stories the demo tells.
var shapes = map[string]func(*shape){
	"checkout-api/availability": func(s *shape) {
		s.perHour, s.baseBurn = 90000, 0.35
		s.episodes = []episode{{9 * 24 * time.Hour, 4 * time.Hour, 18}, {3 * 24 * time.Hour, 2 * time.Hour, 9}, {80 * time.Minute, 80 * time.Minute, 24}}
	},
	"checkout-api/latency": func(s *shape) {
		s.perHour, s.baseBurn = 90000, 0.5
		s.episodes = []episode{{12 * 24 * time.Hour, 6 * time.Hour, 6}}
	},
	"payment-gateway/authorisations": func(s *shape) {
		s.perHour, s.baseBurn = 60000, 0.4
		s.episodes = []episode{{6 * 24 * time.Hour, 18 * time.Hour, 40}}
	},
	"invoice-worker/nightly-runs": func(s *shape) {
		s.perHour, s.baseBurn, s.every = 12000, 0.2, 24*time.Hour
		s.episodes = []episode{{4 * 24 * time.Hour, 24 * time.Hour, 60}}
	},
	"auth-service/availability": func(s *shape) {
		s.perHour, s.baseBurn = 150000, 0.3
		s.episodes = []episode{{40 * time.Hour, 40 * time.Hour, 4.2}}
	},
	"auth-service/latency": func(s *shape) { s.perHour, s.baseBurn = 150000, 0.6 },
	"profile-service/availability": func(s *shape) {
		s.perHour, s.baseBurn = 20000, 0.2
		s.episodes = []episode{{20 * 24 * time.Hour, 3 * time.Hour, 12}}
	},
	"postgres-main/availability": func(s *shape) {
		s.perHour, s.baseBurn = 400000, 0.1
		s.episodes = []episode{{15 * 24 * time.Hour, time.Hour, 30}}
	},
	"event-bus/delivery": func(s *shape) {
		s.perHour, s.baseBurn = 250000, 0.45
		s.episodes = []episode{{7 * 24 * time.Hour, 5 * time.Hour, 8}}
	},
	"notification-service/delivery": func(s *shape) { s.perHour, s.baseBurn = 8000, 0.7 },
	"search-api/availability": func(s *shape) {
		s.perHour, s.baseBurn = 40000, 0.25
		s.episodes = []episode{{2 * 24 * time.Hour, 90 * time.Minute, 14}}
	},
	"recommendations/availability": func(s *shape) { s.silent = true },
}

func shapeOf(o *slo.SLO, now time.Time) *shape {
	s := &shape{slo: o, perHour: 10000, baseBurn: 0.3, every: time.Hour, anchor: now}
	if f, ok := shapes[o.Service+"/"+o.Name]; ok {
		f(s)
	}
	return s
}

// event is the count of the bucket [t, t+length): daily traffic curve,
// the burn of any episode, and a little deterministic noise.
func (s *shape) event(t time.Time, length time.Duration) budget.Event {
	now := s.anchor
	hours := length.Hours()
	day := 1 + 0.45*math.Sin(2*math.Pi*(float64(t.UTC().Hour())-9)/24)
	noise := 0.85 + 0.3*unit(s.slo.ID(), t.Unix())
	total := int64(math.Round(s.perHour * hours * day * noise))
	burn := s.baseBurn * (0.6 + 0.8*unit(s.slo.ID()+"b", t.Unix()))
	for _, e := range s.episodes {
		from, to := now.Add(-e.ago), now.Add(-e.ago+e.length)
		if !t.Before(from.Truncate(length)) && t.Before(to) {
			burn = e.burn * (0.8 + 0.4*unit(s.slo.ID()+"e", t.Unix()))
		}
	}
	bad := int64(math.Round(float64(total) * s.slo.Budget() * burn))
	bad = min(bad, total)
	return budget.Event{Key: "demo-" + strconv.FormatInt(t.Unix(), 10) + "-" + strconv.FormatInt(int64(length/time.Minute), 10),
		Timestamp: t, Good: total - bad, Total: total}
}

// unit is a deterministic number in [0, 1) for key and n.
func unit(key string, n int64) float64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte(strconv.FormatInt(n, 10)))
	return float64(h.Sum64()%10000) / 10000
}

// seedAlerts stores Alertmanager notifications as the webhook would, and
// settles their chat messages as a delivery loop would have: most sent,
// one refused for good, one still waiting.
func seedAlerts(ctx context.Context, db Store, c *catalog.Catalog, now time.Time) error {
	dir := alerting.CatalogDirectory{Ctx: ctx, Catalog: db}
	type alert struct {
		name, service, team, severity, summary, status string
		ago, lasted                                    time.Duration
	}
	alerts := []alert{
		{"CheckoutApiAvailabilityBudgetBurn", "checkout-api", "", "page", "checkout-api/availability burns its error budget 24x too fast", alerting.StateFiring, 75 * time.Minute, 0},
		{"AuthServiceAvailabilityBudgetBurn", "auth-service", "", "ticket", "auth-service/availability burns 4x too fast over a day", alerting.StateFiring, 30 * time.Hour, 0},
		{"PaymentGatewayProcessorTimeouts", "payment-gateway", "", "page", "Card processor timeouts above 2% for 10 minutes", alerting.StateResolved, 6 * 24 * time.Hour, 17 * time.Hour},
		{"EventBusConsumerLag", "event-bus", "", "ticket", "Consumer group invoices lags 12 minutes behind", alerting.StateResolved, 7 * 24 * time.Hour, 5 * time.Hour},
		{"SearchIndexStale", "search-api", "", "ticket", "Index older than 10 minutes <script>alert('shown as text')</script>", alerting.StateResolved, 2 * 24 * time.Hour, 90 * time.Minute},
		{"BillingLegacyDiskFull", "billing-legacy", "finance", "page", "Disk 95% full on billing-legacy-1", alerting.StateFiring, 3 * time.Hour, 0},
	}
	for i, a := range alerts {
		labels := map[string]string{"alertname": a.name, "service": a.service, "severity": a.severity}
		if a.team != "" {
			labels["team"] = a.team
		}
		starts := now.Add(-a.ago).Truncate(time.Minute)
		al := alerting.Alert{Status: alerting.StateFiring, Labels: labels, StartsAt: starts,
			Annotations:  map[string]string{"summary": a.summary, "description": "Demo alert made by tsuna serve --demo.", "runbook_url": "https://runbooks.example.com/" + a.service},
			GeneratorURL: "https://prometheus.example.com/graph?g0.expr=demo", Fingerprint: alerting.Fingerprint(labels)}
		group := fmt.Sprintf(`{}/{service=%q}:{alertname=%q}`, a.service, a.name)
		payloads := []alerting.Payload{{Version: "4", GroupKey: group, Status: alerting.StateFiring, Receiver: "tsuna",
			GroupLabels: map[string]string{"alertname": a.name}, CommonLabels: labels, CommonAnnotations: al.Annotations,
			ExternalURL: "https://alertmanager.example.com", Alerts: []alerting.Alert{al}}}
		if a.status == alerting.StateResolved {
			res := payloads[0]
			ra := al
			ra.Status, ra.EndsAt = alerting.StateResolved, starts.Add(a.lasted)
			res.Status, res.Alerts = alerting.StateResolved, []alerting.Alert{ra}
			payloads = append(payloads, res)
		}
		for _, p := range payloads {
			route := alerting.RouteOf(&p, dir, "#alerts-unrouted")
			msg := alerting.Message(&p, route)
			if _, err := db.RecordNotifications(ctx, []alerting.Notification{{Payload: &p, Route: route, Message: &msg}}); err != nil {
				return fmt.Errorf("demo alert %d: %w", i, err)
			}
		}
	}
	items, err := db.ClaimOutbox(ctx, 100, time.Minute)
	if err != nil {
		return fmt.Errorf("demo chat: %w", err)
	}
	for i, it := range items {
		switch {
		case it.Channel == "#alerts-unrouted":
			err = db.MarkFailed(ctx, it, "slack refused the message: channel_not_found")
		case i == len(items)-1 && !slices.ContainsFunc(items[:i], func(x delivery.Item) bool { return x.Channel == it.Channel }):
			err = db.MarkRetry(ctx, it, now.Add(time.Minute), "slack: 503 Service Unavailable", 50)
		default:
			err = db.MarkSent(ctx, it, notify.Ref{ChannelID: "CDEMO" + strconv.Itoa(i), MessageID: strconv.FormatInt(now.Unix(), 10) + ".00" + strconv.Itoa(100+i)})
		}
		if err != nil {
			return fmt.Errorf("demo chat: %w", err)
		}
	}
	return nil
}
