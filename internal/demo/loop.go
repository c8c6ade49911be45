package demo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/notify"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/readiness"
)

// clocked is the store as the demo's stories write through it: the
// domain services get their "now" from at, the moment of the story being
// told, so an incident declared fifteen days ago has the timestamps and
// timeline of fifteen days ago. The store keeps its own clock for what it
// records itself (audit records, outbox messages, jobs' bookkeeping):
// those say truthfully that the demo wrote them at start.
type clocked struct {
	Store
	at *time.Time
}

func (c clocked) now() time.Time { return *c.at }

// CreateIncident implements incident.Store at the story's time.
func (c clocked) CreateIncident(ctx context.Context, key string, actor audit.Actor, build func(number int64, now time.Time) (*incident.Incident, *incident.Mutation, error)) (*incident.Incident, bool, error) {
	return c.Store.CreateIncident(ctx, key, actor, func(number int64, _ time.Time) (*incident.Incident, *incident.Mutation, error) {
		return build(number, c.now())
	})
}

// MutateIncident implements incident.Store at the story's time.
func (c clocked) MutateIncident(ctx context.Context, number int64, actor audit.Actor, fn func(*incident.Incident, time.Time) (*incident.Mutation, error)) (*incident.Incident, error) {
	return c.Store.MutateIncident(ctx, number, actor, func(i *incident.Incident, _ time.Time) (*incident.Mutation, error) {
		return fn(i, c.now())
	})
}

// MutatePostmortem implements postmortem.Store at the story's time.
func (c clocked) MutatePostmortem(ctx context.Context, id int64, actor audit.Actor, fn func(*postmortem.Postmortem, time.Time) (*postmortem.Mutation, error)) (*postmortem.Postmortem, error) {
	return c.Store.MutatePostmortem(ctx, id, actor, func(p *postmortem.Postmortem, _ time.Time) (*postmortem.Mutation, error) {
		return fn(p, c.now())
	})
}

// MutateAction implements postmortem.Store at the story's time.
func (c clocked) MutateAction(ctx context.Context, id int64, actor audit.Actor, fn func(*postmortem.Action, time.Time) (*postmortem.Mutation, error)) (*postmortem.Action, error) {
	return c.Store.MutateAction(ctx, id, actor, func(a *postmortem.Action, _ time.Time) (*postmortem.Mutation, error) {
		return fn(a, c.now())
	})
}

// MutateReview implements readiness.Store at the story's time.
func (c clocked) MutateReview(ctx context.Context, id int64, actor audit.Actor, fn func(*readiness.Review, time.Time) (*readiness.Mutation, error)) (*readiness.Review, error) {
	return c.Store.MutateReview(ctx, id, actor, func(r *readiness.Review, _ time.Time) (*readiness.Mutation, error) {
		return fn(r, c.now())
	})
}

// story tells the incident half of the demo through the domain services,
// as the console, the CLI and chat call them, each change audited as
// Actor. at moves the story's clock.
type story struct {
	ctx   context.Context
	db    Store
	clock *time.Time
	now   time.Time
	inc   *incident.Service
	pm    *postmortem.Service
	rs    *readiness.Service
	err   error
}

// The demo's actor as each domain names who acts: an admin, so every
// change passes the domain's rights as the seeding CLI would.
var (
	incActor = incident.Actor{Name: Actor.Name, Source: Actor.Source, Admin: true}
	pmActor  = postmortem.Actor{Name: Actor.Name, Source: Actor.Source, Admin: true}
)

// seedLoop tells the stories of the demo's incidents, postmortems and
// readiness reviews, in the order they happened, then settles the chat
// messages they queued as a delivery loop would have.
func seedLoop(ctx context.Context, db Store, now time.Time) error {
	now = now.UTC().Truncate(time.Microsecond)
	clock := now
	cs := clocked{Store: db, at: &clock}
	clockFn := func() time.Time { return clock }
	eval := budget.New(nil, db)
	incs := incident.New(cs, incident.Options{Now: clockFn})
	s := &story{ctx: ctx, db: db, clock: &clock, now: now, inc: incs,
		pm: postmortem.New(cs, postmortem.Options{Incidents: incs, Linker: incs, Budget: eval, Now: clockFn}),
		rs: readiness.New(cs, readiness.Options{SLO: eval, Alerts: db, Incidents: readiness.IncidentsOf(incs), Postmortems: readiness.PostmortemsOf(db), Now: clockFn})}
	// In the order they happened, so references and IDs count up with time.
	for _, step := range []func(){s.postgresFirstReview, s.paymentGatewayReview, s.postgresFailover, s.postgresReview, s.paymentGatewayTimeouts,
		s.authReview, s.searchStale, s.checkoutOpen, s.refreshReviews} {
		step()
		if s.err != nil {
			return s.err
		}
	}
	return settleChat(ctx, db, now)
}

// at moves the story's clock to t (never past now).
func (s *story) at(t time.Time) {
	if t.After(s.now) {
		t = s.now
	}
	*s.clock = t.UTC().Truncate(time.Microsecond)
}

// fail keeps the first error, naming the step.
func (s *story) fail(what string, err error) bool {
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("demo %s: %w", what, err)
	}
	return s.err != nil
}

// alert returns the stored demo alert named name of service.
func (s *story) alert(service, name string) *alerting.StoredAlert {
	list, err := s.db.Alerts(s.ctx, alerting.Filter{Service: service})
	if s.fail("alert "+name, err) {
		return nil
	}
	for i := range list {
		if list[i].Labels["alertname"] == name {
			return &list[i]
		}
	}
	s.fail("alert "+name, tsuna.Errorf(tsuna.ENOTFOUND, "no alert %s of %s", name, service))
	return nil
}

// step is one change of an incident's story, d after its origin.
type step struct {
	d      time.Duration
	note   string // a note
	update string // a status update, posted to the channels
	change *incident.Change
}

// tell declares an incident at its origin plus declared, then plays its
// steps; it returns the incident.
func (s *story) tell(d incident.Declaration, origin time.Time, declared time.Duration, steps []step) *incident.Incident {
	if s.err != nil {
		return nil
	}
	s.at(origin.Add(declared))
	inc, _, err := s.inc.Declare(s.ctx, d, incActor)
	if s.fail("incident "+d.Title, err) {
		return nil
	}
	ref := inc.Ref
	for _, st := range steps {
		s.at(origin.Add(st.d))
		switch {
		case st.note != "":
			inc, err = s.inc.Note(s.ctx, inc.Number, st.note, time.Time{}, "", incActor)
		case st.update != "":
			inc, err = s.inc.PostUpdate(s.ctx, inc.Number, st.update, time.Time{}, incActor)
		case st.change != nil:
			inc, err = s.inc.Update(s.ctx, inc.Number, *st.change, incActor)
		}
		if s.fail(ref, err) {
			return nil
		}
	}
	return inc
}

func ptr[T any](v T) *T { return &v }

func status(st string) *incident.Change { return &incident.Change{Status: ptr(st)} }
func stage(st string) *incident.Change  { return &incident.Change{Stage: ptr(st)} }
func lead(who string) *incident.Change  { return &incident.Change{Lead: ptr(who)} }
func comms(who string) *incident.Change {
	return &incident.Change{Roles: map[string]string{"comms": who}}
}
func minutes(n int) time.Duration   { return time.Duration(n) * time.Minute }
func hours(n float64) time.Duration { return time.Duration(n * float64(time.Hour)) }
func daysAgo(now time.Time, n float64) time.Time {
	return now.Add(-hours(24 * n)).Truncate(time.Minute)
}

// postgresFailover is fifteen days ago: postgres-main's failover stalled
// writes for an hour (the burn episode of postgres-main/availability).
// Resolved and closed; its postmortem is in review, past its due day.
func (s *story) postgresFailover() {
	start := daysAgo(s.now, 15)
	detected := start.Add(minutes(4))
	inc := s.tell(incident.Declaration{Title: "Writes to postgres-main stall after a primary failover", Severity: "SEV2",
		Services: []string{"postgres-main"}, ImpactStarted: &start, Detected: &detected, Key: "demo-postgres-failover",
		Summary: "(demo) The primary of postgres-main lost its disk; the replica was promoted within a minute, but the connection " +
			"poolers kept sending writes to the old primary. Checkouts and payments failed to write for about an hour."},
		start, minutes(9), []step{
			{d: minutes(12), change: lead("dana@example.com")},
			{d: minutes(13), change: comms("chen@example.com")},
			{d: minutes(16), note: "pg-main-1 lost its data disk; pg-main-2 was promoted at the first minute, but pgbouncer still resolves the primary to pg-main-1."},
			{d: minutes(20), update: "Writes to the shared database fail for checkout-api and payment-gateway. Reads work. Next update in 30 minutes."},
			{d: minutes(27), change: stage(incident.StageIdentified)},
			{d: minutes(41), note: "pgbouncer reloaded on every pool with the new primary; writes flowing again."},
			{d: minutes(42), change: stage(incident.StageMonitoring)},
			{d: minutes(48), update: "Writes recovered at 41 minutes. Watching replication to the new replica; checkouts that failed were not charged."},
			{d: minutes(66), change: status(incident.StatusResolved)},
		})
	if inc == nil {
		return
	}
	// Its postmortem: drafted the next day, sent for review, not yet
	// published, and past its due day.
	s.at(start.Add(hours(26)))
	p, _, err := s.pm.Draft(s.ctx, postmortem.DraftRequest{Incident: inc.Ref}, pmActor)
	if s.fail("postmortem of "+inc.Ref, err) {
		return
	}
	s.at(start.Add(hours(50)))
	if _, err := s.inc.Update(s.ctx, inc.Number, *status(incident.StatusClosed), incActor); s.fail(inc.Ref, err) {
		return
	}
	s.at(start.Add(hours(75)))
	body := fill(p.Body, map[string]string{
		"Root causes and trigger": "The trigger was the loss of pg-main-1's data disk. Two conditions turned a one-minute failover into " +
			"an hour of failed writes: pgbouncer resolves the primary's name only when it starts, and nothing checked after a " +
			"promotion that the pools pointed at the new primary.",
		"Resolution and mitigation": "Reloading pgbouncer on every pool sent writes to the new primary. The runbook did not say " +
			"to, which cost about twenty minutes.",
	})
	if _, err := s.pm.Edit(s.ctx, p.Ref, postmortem.Change{Body: &body, Authors: &[]string{"dana@example.com", "chen@example.com"},
		Labels: &[]string{"database", "failover"}}, pmActor); s.fail("postmortem of "+inc.Ref, err) {
		return
	}
	s.at(start.Add(hours(98)))
	_, err = s.pm.Review(s.ctx, p.Ref, []string{"ada@example.com", "emeka@example.com"}, pmActor)
	s.fail("postmortem of "+inc.Ref, err)
}

// paymentGatewayTimeouts is six days ago: the primary card processor
// timed out for eighteen hours (the burn episode of
// payment-gateway/authorisations and its alert). Resolved and closed, with
// a published postmortem and its follow-up actions.
func (s *story) paymentGatewayTimeouts() {
	al := s.alert("payment-gateway", "PaymentGatewayProcessorTimeouts")
	if al == nil {
		return
	}
	start := al.StartsAt.Add(-minutes(7))
	inc := s.tell(incident.Declaration{Title: "Card authorisations time out at the primary processor", Severity: "SEV2",
		FromAlert: al.Fingerprint, ImpactStarted: &start, Key: "demo-processor-timeouts",
		Summary: "(demo) The primary card processor answered authorisations slowly in one region for eighteen hours; " +
			"payment-gateway's retries doubled its load. About 3% of card payments failed until all traffic went to the secondary processor."},
		start, minutes(13), []step{
			{d: minutes(15), change: lead("bruno@example.com")},
			{d: minutes(16), change: comms("carla@example.com")},
			{d: minutes(22), note: "Timeouts only towards the primary processor's EU endpoint; retries double the requests it gets."},
			{d: minutes(25), update: "About 3% of card payments fail with a timeout. Other payment methods work. Next update in one hour."},
			{d: minutes(70), change: stage(incident.StageIdentified)},
			{d: minutes(72), note: "The processor confirms a degraded region on their side; no estimate yet."},
			{d: minutes(80), update: "Cause: the processor's EU region is degraded. Preparing to move traffic to the secondary processor. Next update in two hours."},
			{d: hours(4), note: "Moving all card traffic to the secondary processor needs its higher volume tier; requested from the account manager."},
			{d: hours(16.5), change: stage(incident.StageMonitoring)},
			{d: hours(16.6), update: "All card traffic now goes to the secondary processor; authorisations succeed again. Watching until the primary recovers."},
			{d: hours(18), change: status(incident.StatusResolved)},
		})
	if inc == nil {
		return
	}
	s.at(start.Add(hours(24)))
	p, _, err := s.pm.Draft(s.ctx, postmortem.DraftRequest{Incident: inc.Ref}, pmActor)
	if s.fail("postmortem of "+inc.Ref, err) {
		return
	}
	s.at(start.Add(hours(44)))
	body := fill(p.Body, map[string]string{
		"Root causes and trigger": "The trigger was a degraded region at the primary card processor. payment-gateway retried " +
			"every timeout at once, without backoff, which doubled the load on the degraded region. Moving traffic to the " +
			"secondary processor was a manual, contractual step nobody had rehearsed.",
		"Resolution and mitigation": "Once the secondary processor's volume tier was raised, all card traffic moved to it " +
			"and authorisations succeeded again. The primary recovered the next morning.",
		"What went well":     "The burn-rate alert fired within minutes, and the status updates kept support ahead of customers.",
		"What went wrong":    "The failover took sixteen hours because its prerequisites were not in place.",
		"Where we got lucky": "The secondary processor had the capacity to take all card traffic once its tier was raised.",
	})
	if _, err := s.pm.Edit(s.ctx, p.Ref, postmortem.Change{Body: &body, Authors: &[]string{"bruno@example.com", "carla@example.com"},
		Labels: &[]string{postmortem.LabelRecommended, "third-party", "payments"}}, pmActor); s.fail("postmortem of "+inc.Ref, err) {
		return
	}
	s.at(start.Add(hours(46)))
	var done int64
	for i, na := range []postmortem.NewAction{
		{Title: "Alert on processor timeouts per region within 5 minutes", Type: postmortem.TypeDetect,
			Owner: "carla@example.com", Due: ptr(start.Add(hours(24 * 4))), Priority: postmortem.PriorityHigh},
		{Title: "Retry authorisations with jittered backoff, at most once", Type: postmortem.TypePrevent,
			Owner: "bruno@example.com", Due: ptr(s.now.Add(hours(24 * 12))), Priority: postmortem.PriorityHigh},
		{Title: "Write and rehearse the runbook to move card traffic to the secondary processor", Type: postmortem.TypeMitigate,
			Owner: "ada@example.com", Due: ptr(s.now.Add(-hours(24 * 2))), Priority: postmortem.PriorityMid},
	} {
		act, err := s.pm.AddAction(s.ctx, p.Ref, na, pmActor)
		if s.fail("action of "+p.Ref, err) {
			return
		}
		if i == 0 {
			done = act.ID
		}
	}
	s.at(start.Add(hours(50)))
	if _, err := s.pm.Review(s.ctx, p.Ref, []string{"dana@example.com"}, pmActor); s.fail("postmortem of "+inc.Ref, err) {
		return
	}
	s.at(start.Add(hours(70)))
	if _, err := s.pm.UpdateAction(s.ctx, done, postmortem.ActionChange{Status: ptr(postmortem.ActionDone)}, pmActor); s.fail("action of "+p.Ref, err) {
		return
	}
	s.at(start.Add(hours(72)))
	if _, err := s.pm.Publish(s.ctx, p.Ref, pmActor); s.fail("postmortem of "+inc.Ref, err) {
		return
	}
	s.at(start.Add(hours(75)))
	_, err = s.inc.Update(s.ctx, inc.Number, *status(incident.StatusClosed), incActor)
	s.fail(inc.Ref, err)
}

// searchStale is two days ago: search results missed recent catalog
// changes for ninety minutes (the burn episode of search-api and its
// alert). A SEV3, resolved, not closed yet, without a postmortem.
func (s *story) searchStale() {
	al := s.alert("search-api", "SearchIndexStale")
	if al == nil {
		return
	}
	start := al.StartsAt.Add(-minutes(3))
	s.tell(incident.Declaration{Title: "Search misses products changed in the last hour", Severity: "SEV3",
		FromAlert: al.Fingerprint, ImpactStarted: &start, Key: "demo-search-stale",
		Summary: "(demo) The search index stopped taking updates from event-bus; searches answered from an index up to 90 minutes old."},
		start, minutes(11), []step{
			{d: minutes(14), change: lead("goro@example.com")},
			{d: minutes(20), note: "The indexer's consumer is stuck on one oversized product event."},
			{d: minutes(24), change: stage(incident.StageIdentified)},
			{d: minutes(55), note: "Skipped the oversized event and reindexed that product by hand; the lag is shrinking."},
			{d: minutes(56), change: stage(incident.StageMonitoring)},
			{d: minutes(95), change: status(incident.StatusResolved)},
		})
}

// checkoutOpen is now: checkout-api burns its availability budget 24
// times too fast since 80 minutes (the demo's burn episode and its firing
// alert); the incident was declared minutes after the alert, its cause is
// identified, the rollback is under way.
func (s *story) checkoutOpen() {
	al := s.alert("checkout-api", "CheckoutApiAvailabilityBudgetBurn")
	if al == nil {
		return
	}
	start := s.now.Add(-80 * time.Minute).Truncate(time.Minute)
	origin := al.StartsAt
	s.tell(incident.Declaration{Title: "Checkout fails for a share of card payments", Severity: "SEV2",
		FromAlert: al.Fingerprint, ImpactStarted: &start, Key: "demo-checkout-errors",
		Summary: "(demo) Since the last deploy of checkout-api, about 2% of checkouts fail with a 502 from payment-gateway calls."},
		origin, minutes(6), []step{
			{d: minutes(8), change: lead("ada@example.com")},
			{d: minutes(10), change: comms("carla@example.com")},
			{d: minutes(14), note: "The errors are 502s on calls to payment-gateway, all from pods of the new checkout-api release."},
			{d: minutes(19), update: "About 2% of checkouts fail with a generic error; customers can retry. Investigating. Next update in 30 minutes."},
			{d: minutes(33), note: "The new HTTP client of the release reuses connections payment-gateway has already closed."},
			{d: minutes(35), change: stage(incident.StageIdentified)},
			{d: minutes(48), update: "Cause identified: a connection reuse bug in the new checkout-api release. Rolling back; next update in 30 minutes."},
		})
}

// Readiness reviews of the default checklist, answered as people would.
type answer struct {
	item, state, comment, evidence string
}

// review opens a review of service at t and answers it.
func (s *story) review(service string, t time.Time, answers []answer) {
	if s.err != nil {
		return
	}
	s.at(t)
	if _, _, err := s.rs.Open(s.ctx, service, "", Actor); s.fail("review of "+service, err) {
		return
	}
	for i, a := range answers {
		s.at(t.Add(time.Duration(i+1) * 3 * time.Minute))
		_, err := s.rs.Answer(s.ctx, service, "", readiness.Answer{Item: a.item, State: a.state, Comment: a.comment, Evidence: a.evidence}, Actor)
		if s.fail("review of "+service+", item "+a.item, err) {
			return
		}
	}
}

// paymentGatewayReview was answered three weeks ago, up to silver; the
// processor incident since has made it stale.
func (s *story) paymentGatewayReview() {
	s.review("payment-gateway", daysAgo(s.now, 21), []answer{
		{"requests-limits", readiness.Done, "", ""},
		{"product-owner", readiness.Done, "Ada Okafor decides for payments.", ""},
		{"users-known", readiness.Done, "checkout-api and invoice-worker; both teams in #payments-alerts.", ""},
		{"sre-review", readiness.Done, "", ""},
		{"diagram", readiness.Done, "", ""},
		{"expected-load", readiness.Done, "Peak 45 authorisations a second on Black Friday; 20% growth a year.", ""},
		{"db-connections", readiness.Done, "", ""},
		{"errors-reported", readiness.Done, "", ""},
		{"timeouts", readiness.Done, "checkout-api calls with a 3 s timeout.", ""},
		{"rollback", readiness.AcceptedRisk, "Rollback is a redeploy of the previous image (12 minutes); a canary is planned next quarter.", ""},
		{"reliability-contact", readiness.Done, "Dana Levi.", ""},
		{"synthetic-check", readiness.NotDone, "", ""},
		{"backup-restore", readiness.NotApplicable, "Stateless: its state lives in postgres-main.", ""},
	})
}

// postgresFirstReview was answered five weeks ago, before the failover:
// restoring from backup had not been tested.
func (s *story) postgresFirstReview() {
	s.review("postgres-main", daysAgo(s.now, 35), []answer{
		{"dependencies", readiness.NotApplicable, "postgres-main is the bottom of the stack: it depends on no other service.", ""},
		{"requests-limits", readiness.Done, "", ""},
		{"product-owner", readiness.Done, "Dana Levi owns the platform roadmap.", ""},
		{"users-known", readiness.Done, "Every service of the catalog that dependsOn it.", ""},
		{"sre-review", readiness.Done, "", ""},
		{"diagram", readiness.Done, "", ""},
		{"expected-load", readiness.Done, "", ""},
		{"db-connections", readiness.Done, "pgbouncer pools sized for three times the peak, across every replica.", ""},
		{"errors-reported", readiness.Done, "", ""},
		{"timeouts", readiness.Done, "statement_timeout of 5 s for every application role.", ""},
		{"rollback", readiness.Done, "", ""},
		{"reliability-contact", readiness.Done, "Chen Wei.", ""},
		{"load-test", readiness.Done, "", "https://docs.example.com/platform/postgres-main/load-test"},
		{"synthetic-check", readiness.Done, "", ""},
		{"backup-restore", readiness.NotDone, "Backups run nightly; a restore was never tried.", ""},
	})
}

// postgresReview is the review again after the failover, as the
// checklist asks: the incident made the first one stale; the new one
// keeps its answers, the restore is now tested, and it is closed with
// feedback on the checklist. Silver; gold is blocked only by the
// postmortem checks.
func (s *story) postgresReview() {
	t := daysAgo(s.now, 9)
	s.at(t)
	if _, err := s.rs.Current(s.ctx, "postgres-main", "", Actor); s.fail("review of postgres-main", err) {
		return
	}
	s.review("postgres-main", t.Add(20*time.Minute), []answer{
		{"backup-restore", readiness.Done, "Restored last night's backup to a scratch cluster after the failover: 38 minutes.", ""},
		{"rollback", readiness.Done, "Failover and failback rehearsed on staging, pgbouncer reload included.", ""},
	})
	if s.err != nil {
		return
	}
	s.at(t.Add(hours(2)))
	_, err := s.rs.Close(s.ctx, "postgres-main", "", "Ask whether a replica promotion was rehearsed end to end, clients included, not only the backups.", Actor)
	s.fail("review of postgres-main", err)
}

// authReview is under way: bronze, with gaps for silver.
func (s *story) authReview() {
	s.review("auth-service", daysAgo(s.now, 4), []answer{
		{"requests-limits", readiness.Done, "", ""},
		{"users-known", readiness.Done, "Every product signs in through it; teams reach identity in #identity.", ""},
		{"expected-load", readiness.Done, "", ""},
		{"errors-reported", readiness.Done, "", ""},
		{"db-connections", readiness.NotDone, "Pools sized for 6 replicas; the autoscaler now runs up to 12.", ""},
		{"timeouts", readiness.AcceptedRisk, "The mobile apps retry token checks without a timeout; their fix ships in the next release.", ""},
	})
}

// refreshReviews evaluates the open reviews again now, as the server
// does periodically: the payment-gateway review turns stale.
func (s *story) refreshReviews() {
	s.at(s.now)
	for _, svc := range []string{"payment-gateway", "auth-service"} {
		if _, err := s.rs.Current(s.ctx, svc, "", Actor); s.fail("review of "+svc, err) {
			return
		}
	}
}

// fill writes text into the sections of a drafted postmortem body named
// by their titles, after the section's help.
func fill(body string, sections map[string]string) string {
	for title, text := range sections {
		head := "\n## " + title + "\n"
		i := strings.Index(body, head)
		if i < 0 {
			body += head + "\n" + text + "\n"
			continue
		}
		at := i + len(head)
		rest := body[at:]
		next := strings.Index(rest, "\n## ")
		if next < 0 {
			next = len(rest)
		}
		if j := strings.Index(rest[:next], "-->\n"); j >= 0 {
			at += j + len("-->\n")
		}
		body = body[:at] + "\n" + text + "\n" + body[at:]
	}
	return body
}

// settleChat settles the chat messages the stories queued as a delivery
// loop with a chat configured would have: sent. A message claimed before
// (the demo alert message backing off) goes back to backing off.
func settleChat(ctx context.Context, db Store, now time.Time) error {
	for range 100 {
		items, err := db.ClaimOutbox(ctx, 100, time.Minute)
		if err != nil {
			return fmt.Errorf("demo chat: %w", err)
		}
		if len(items) == 0 {
			return nil
		}
		for i, it := range items {
			if it.Attempts > 0 {
				err = db.MarkRetry(ctx, it, now.Add(time.Minute), "slack: 503 Service Unavailable", 50)
			} else {
				err = db.MarkSent(ctx, it, notify.Ref{ChannelID: "CDEMOI" + strconv.Itoa(i), MessageID: strconv.FormatInt(now.Unix(), 10) + ".2" + strconv.Itoa(100+i)})
			}
			if err != nil {
				return fmt.Errorf("demo chat: %w", err)
			}
		}
	}
	return nil
}
