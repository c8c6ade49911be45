package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/delivery"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// builtinPages registers the console's own pages and forms.
func (c *Console) builtinPages() {
	for name, file := range map[string]string{"signin": "signin.html", "error": "error.html"} {
		b, err := templateFS.ReadFile("templates/" + file)
		if err != nil {
			panic("web: " + err.Error())
		}
		c.pages[name] = template.Must(template.Must(c.base.Clone()).Parse(string(b)))
	}
	c.page("/{$}", NavItem{Label: "Home", Path: "/", Order: 10}, "home.html", c.home)
	c.page("/services", NavItem{Label: "Services", Path: "/services", Order: 20}, "services.html", c.services)
	c.page("/services/{name}", NavItem{}, "service.html", c.service)
	c.page("/services/{name}/slos/{slo}", NavItem{}, "slo.html", c.sloPage)
	c.page("/teams", NavItem{Label: "Teams", Path: "/teams", Order: 30}, "teams.html", c.teams)
	c.page("/teams/{name}", NavItem{}, "team.html", c.team)
	c.page("/alerts", NavItem{Label: "Alerts", Path: "/alerts", Order: 40}, "alerts.html", c.alerts)
	c.page("/audit", NavItem{Label: "Audit log", Path: "/audit", Order: 60}, "audit.html", c.auditLog)
	c.page("/account", NavItem{}, "account.html", c.account)
	c.AddAction("/account/sessions/revoke", c.revokeSession)
	c.AddAction("/services/{name}/slos/{slo}/events", c.recordEvents)
	c.mux.Handle("/", c.authed(func(w http.ResponseWriter, r *http.Request, p *Principal) { c.fail(w, r, p, errNotFound) }))
}

// sloRow is an SLO's status with what a row shows.
type sloRow struct {
	budget.Status
	State string // console state
}

func rowOf(s budget.Status) sloRow { return sloRow{Status: s, State: consoleState(&s)} }

// scopeTeam is the team a page is about: ?team=, else the person's own
// team; "" is every team.
func scopeTeam(r *http.Request, p *Principal) string {
	if v, ok := r.URL.Query()["team"]; ok {
		return v[0]
	}
	return p.Token.Team
}

type homeData struct {
	Team        string
	Teams       []*catalog.Team
	Evaluated   time.Time
	Counts      map[string]int
	Total       int
	Urgent      []sloRow
	Firing      []alertRow
	FiringCount int
	Frozen      []budget.Decision
	FrozenCount int
	Services    int
}

func (c *Console) home(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	cat, err := c.snap.catalog(ctx)
	if err != nil {
		return nil, err
	}
	st := c.snap.statuses(ctx, cat)
	d := homeData{Team: scopeTeam(r, p), Teams: cat.teams, Evaluated: st.at, Counts: map[string]int{}}
	if d.Team != "" && cat.teamByName[d.Team] == nil {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "team %q is not in the catalog", d.Team)
	}
	if d.Team == "" {
		d.Counts, d.Total, d.Services = st.counts, len(st.statuses), len(cat.services)
	}
	for _, i := range st.ranked {
		s := &st.statuses[i]
		if d.Team != "" && s.Team != d.Team {
			continue
		}
		state := consoleState(s)
		if d.Team != "" {
			d.Total++
			d.Counts[state]++
		} else if len(d.Urgent) == 15 {
			break
		}
		if len(d.Urgent) < 15 && (state == stateBurning || state == budget.StateExhausted || len(d.Urgent) < 8) {
			d.Urgent = append(d.Urgent, rowOf(*s))
		}
	}
	if d.Team != "" {
		for _, svc := range cat.services {
			if svc.Team == d.Team {
				d.Services++
			}
		}
	}
	// Deploy gate: the policy's decision for each service in scope, from
	// the same statuses.
	for _, dec := range st.deniedBy(c.policy) {
		if d.Team != "" && cat.byName[dec.Service].Team != d.Team {
			continue
		}
		d.FrozenCount++
		if len(d.Frozen) < 10 {
			d.Frozen = append(d.Frozen, dec)
		}
	}
	alerts, err := c.store.Alerts(ctx, alerting.Filter{State: alerting.StateFiring, Team: d.Team, Limit: 10})
	if err != nil {
		return nil, err
	}
	d.FiringCount = len(alerts)
	for _, a := range alerts {
		d.Firing = append(d.Firing, alertRow{StoredAlert: a})
	}
	return d, nil
}

// pageSize is the rows of one page of a list.
const pageSize = 50

type servicesData struct {
	Q, Team, Lifecycle, Budget string
	Tier                       int
	Teams                      []*catalog.Team
	Lifecycles, States         []string
	Rows                       []serviceRow
	Total, Page, Pages         int
	Evaluated                  time.Time
}

type serviceRow struct {
	*catalog.Service
	State string
	SLOs  int
}

func (c *Console) services(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	q := r.URL.Query()
	f, err := catalog.ParseServiceFilter(q.Get)
	if err != nil {
		return nil, err
	}
	d := servicesData{Q: strings.TrimSpace(q.Get("q")), Team: f.Team, Tier: f.Tier, Lifecycle: f.Lifecycle, Budget: q.Get("budget"),
		Lifecycles: catalog.Lifecycles, States: []string{budget.StateExhausted, stateBurning, budget.StateOK, budget.StateNoData, budget.StateUnknown, "none"}, Page: 1}
	if len(d.Q) > 200 {
		return nil, tsuna.Errorf(tsuna.EINVALID, "q: a search of %d characters; use at most 200", len(d.Q))
	}
	if d.Budget != "" && !slices.Contains(d.States, d.Budget) {
		return nil, tsuna.Errorf(tsuna.EINVALID, "budget: %q is not a budget state; use one of %s", d.Budget, strings.Join(d.States, ", "))
	}
	if v := q.Get("page"); v != "" {
		if d.Page, err = strconv.Atoi(v); err != nil || d.Page < 1 || d.Page > 100000 {
			return nil, tsuna.Errorf(tsuna.EINVALID, "page: %q is not a page number", v)
		}
	}
	cat, err := c.snap.catalog(ctx)
	if err != nil {
		return nil, err
	}
	d.Teams = cat.teams
	st := c.snap.statuses(ctx, cat)
	d.Evaluated = st.at
	needle := strings.ToLower(d.Q)
	from := (d.Page - 1) * pageSize
	for _, svc := range cat.services {
		if (f.Team != "" && svc.Team != f.Team) || (f.Tier != 0 && svc.Tier != f.Tier) || (f.Lifecycle != "" && svc.Lifecycle != f.Lifecycle) {
			continue
		}
		if needle != "" && !strings.Contains(svc.Name, needle) && !strings.Contains(strings.ToLower(svc.Description), needle) {
			continue
		}
		state, ok := st.service[svc.Name]
		if !ok {
			state = "none"
		}
		if d.Budget != "" && state != d.Budget {
			continue
		}
		if d.Total >= from && len(d.Rows) < pageSize {
			d.Rows = append(d.Rows, serviceRow{Service: svc, State: state, SLOs: len(svc.SLOs)})
		}
		d.Total++
	}
	d.Pages = max(1, (d.Total+pageSize-1)/pageSize)
	return d, nil
}

type serviceData struct {
	Service    *catalog.Service
	Team       *catalog.Team
	Channel    string
	DependsOn  []string
	Dependents []string
	SLOs       []sloRow
	Gate       budget.Decision
	Alerts     []alertRow
	Missing    map[string]bool // dependencies not in the catalog
	// Related are published postmortems of the service (with the
	// postmortem pages).
	Related []*postmortem.Postmortem
}

func (c *Console) service(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	cat, err := c.snap.catalog(ctx)
	if err != nil {
		return nil, err
	}
	svc := cat.byName[r.PathValue("name")]
	if svc == nil {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "service %q is not in the catalog; search for it on the services page", r.PathValue("name"))
	}
	d := serviceData{Service: svc, Team: cat.teamByName[svc.Team], DependsOn: svc.DependsOn, Dependents: cat.dependents[svc.Name], Missing: map[string]bool{}}
	d.Channel = svc.Channel(d.Team)
	for _, dep := range svc.DependsOn {
		if cat.byName[dep] == nil {
			d.Missing[dep] = true
		}
	}
	statuses := c.budget.Evaluate(ctx, svc.SLOs, c.now())
	for _, s := range statuses {
		d.SLOs = append(d.SLOs, rowOf(s))
	}
	d.Gate = c.policy.Gate(svc.Name, svc.Tier, statuses)
	alerts, err := c.store.Alerts(ctx, alerting.Filter{Service: svc.Name, Limit: 20})
	if err != nil {
		return nil, err
	}
	if d.Alerts, err = c.withDeliveries(r, alerts); err != nil {
		return nil, err
	}
	if d.Related, err = c.pmRelated(r, []string{svc.Name}, ""); err != nil {
		return nil, err
	}
	return d, nil
}

type sloData struct {
	Service     *catalog.Service
	SLO         *slo.SLO
	Status      sloRow
	Burn        []burnRow
	SLIChart    *chart
	BudgetChart *chart
	BurnChart   *chart
	HistoryErr  string
	Points      []budget.Point
	Gate        budget.Decision
	Rules       []slo.Rule
	RulesYAML   string
	CanRecord   bool
	EventKey    string
	Now         string
	Done        string
	CSRF        string
}

type burnRow struct {
	Severity    string
	Long, Short string
	Factor      float64
	LongRate    *float64
	ShortRate   *float64
	Firing      bool
}

func (c *Console) findSLO(r *http.Request) (*catalog.Service, *slo.SLO, error) {
	svc, err := c.store.Service(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, nil, err
	}
	for _, o := range svc.SLOs {
		if o.Name == r.PathValue("slo") {
			return svc, o, nil
		}
	}
	return nil, nil, tsuna.Errorf(tsuna.ENOTFOUND, "service %q has no SLO %q", svc.Name, r.PathValue("slo"))
}

func (c *Console) sloPage(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	svc, o, err := c.findSLO(r)
	if err != nil {
		return nil, err
	}
	now := c.now()
	statuses := c.budget.Evaluate(ctx, svc.SLOs, now)
	d := sloData{Service: svc, SLO: o, Gate: c.policy.Gate(svc.Name, svc.Tier, statuses), Done: r.URL.Query().Get("done"), CSRF: p.CSRF}
	for _, s := range statuses {
		if s.SLO == o.Name {
			d.Status = rowOf(s)
		}
	}
	for _, bw := range o.BurnWindows() { // the team's AlertWindows where it set them
		b := burnRow{Severity: bw.Severity, Long: slo.FormatDuration(bw.Long), Short: slo.FormatDuration(bw.Short), Factor: bw.Factor}
		if v, ok := d.Status.BurnRates[b.Long]; ok {
			b.LongRate = &v
		}
		if v, ok := d.Status.BurnRates[b.Short]; ok {
			b.ShortRate = &v
		}
		b.Firing = b.LongRate != nil && b.ShortRate != nil && *b.LongRate > bw.Factor && *b.ShortRate > bw.Factor
		d.Burn = append(d.Burn, b)
	}
	// History over the period, about 180 points.
	period := o.Window.Length()
	step := (period / 180).Truncate(time.Minute)
	// A whole number of steps back from now, so the last point is now and
	// the chart's "now" is the status shown above it.
	from := now.Add(-time.Duration(period/step) * step)
	points, err := c.budget.History(ctx, o, from, now, step)
	if err != nil {
		d.HistoryErr = err.Error()
	} else {
		d.Points = points
		freeze := c.policy.FreezeBelow[svc.Tier]
		d.SLIChart = sliChart(points, o.Objective, from, now)
		d.BudgetChart = budgetChart(points, freeze, from, now)
		d.BurnChart = burnChart(points, from, now)
	}
	if groups := o.Groups(); len(groups) > 0 {
		for _, g := range groups {
			for _, rule := range g.Rules {
				if rule.Alert != "" {
					d.Rules = append(d.Rules, rule)
				}
			}
		}
		var y bytes.Buffer
		if err := slo.WriteRules(&y, []*slo.SLO{o}, slo.Options{GroupPrefix: slo.DefaultGroupPrefix}, slo.FormatPrometheus, svc.Name); err == nil {
			d.RulesYAML = y.String()
		}
	}
	if o.SLI.Events != nil && p.CanChange(svc.Team) {
		d.CanRecord = true
		d.EventKey = "ui-" + randomHex(8)
		d.Now = now.UTC().Format("2006-01-02T15:04")
	}
	return d, nil
}

// recordEvents stores a count of good and total events entered by a
// person, for an SLO whose events are pushed: the API's rules (an editor
// of the service's team, or an admin; the same validation), audited.
func (c *Console) recordEvents(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, o, err := c.findSLO(r)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if !p.CanChange(svc.Team) {
		c.fail(w, r, p, tsuna.Errorf(tsuna.EFORBIDDEN, "token %q may not record events for service %q: it needs an editor token of team %s, or an admin token; nothing was recorded", p.Token.Name, svc.Name, svc.Team))
		return
	}
	form := r.PostForm
	good, err1 := strconv.ParseInt(strings.TrimSpace(form.Get("good")), 10, 64)
	total, err2 := strconv.ParseInt(strings.TrimSpace(form.Get("total")), 10, 64)
	at, err3 := time.ParseInLocation("2006-01-02T15:04", form.Get("time"), time.UTC)
	switch {
	case err1 != nil:
		err = tsuna.Errorf(tsuna.EINVALID, "good: %q is not a whole number; nothing was recorded", form.Get("good"))
	case err2 != nil:
		err = tsuna.Errorf(tsuna.EINVALID, "total: %q is not a whole number; nothing was recorded", form.Get("total"))
	case err3 != nil:
		err = tsuna.Errorf(tsuna.EINVALID, "time: %q is not a time such as 2026-01-02T15:04 (UTC); nothing was recorded", form.Get("time"))
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	events := []budget.Event{{Key: form.Get("key"), Timestamp: at, Good: good, Total: total}}
	if err := budget.ValidateEvents(o, events, c.now()); err != nil {
		c.fail(w, r, p, err)
		return
	}
	added, err := c.store.AddEventsAudited(r.Context(), svc.Name, o.Name, events, p.actor(w))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	msg := fmt.Sprintf("Recorded %d good of %d events at %s.", good, total, at.Format("2006-01-02 15:04 UTC"))
	if added == 0 {
		msg = "These events were already recorded (the form was sent twice); nothing changed."
	}
	http.Redirect(w, r, "/services/"+url.PathEscape(svc.Name)+"/slos/"+url.PathEscape(o.Name)+"?done="+url.QueryEscape(msg), http.StatusSeeOther)
}

type teamsData struct {
	Rows []teamRow
}

type teamRow struct {
	*catalog.Team
	Services int
	Counts   map[string]int
}

func (c *Console) teams(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	cat, err := c.snap.catalog(ctx)
	if err != nil {
		return nil, err
	}
	st := c.snap.statuses(ctx, cat)
	rows := map[string]*teamRow{}
	var d teamsData
	for _, t := range cat.teams {
		d.Rows = append(d.Rows, teamRow{Team: t, Counts: map[string]int{}})
	}
	for i := range d.Rows {
		rows[d.Rows[i].Name] = &d.Rows[i]
	}
	for _, svc := range cat.services {
		if t := rows[svc.Team]; t != nil {
			t.Services++
		}
	}
	for name, counts := range st.byTeam {
		if t := rows[name]; t != nil {
			t.Counts = counts
		}
	}
	return d, nil
}

type teamData struct {
	Team      *catalog.Team
	Oncall    []catalog.Member
	Services  []serviceRow
	SLOs      []sloRow
	Evaluated time.Time
}

func (c *Console) team(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	cat, err := c.snap.catalog(ctx)
	if err != nil {
		return nil, err
	}
	t := cat.teamByName[r.PathValue("name")]
	if t == nil {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "team %q is not in the catalog", r.PathValue("name"))
	}
	st := c.snap.statuses(ctx, cat)
	d := teamData{Team: t, Evaluated: st.at}
	for _, email := range t.Oncall {
		m := catalog.Member{Email: email}
		for _, mem := range t.Members {
			if mem.Email == email {
				m = mem
			}
		}
		d.Oncall = append(d.Oncall, m)
	}
	for _, svc := range cat.services {
		if svc.Team == t.Name {
			state, ok := st.service[svc.Name]
			if !ok {
				state = "none"
			}
			d.Services = append(d.Services, serviceRow{Service: svc, State: state, SLOs: len(svc.SLOs)})
		}
	}
	for _, i := range st.ranked {
		if st.statuses[i].Team == t.Name {
			d.SLOs = append(d.SLOs, rowOf(st.statuses[i]))
		}
	}
	return d, nil
}

type alertRow struct {
	alerting.StoredAlert
	Chat []delivery.Record
}

type alertsData struct {
	State, Team, Service string
	Unrouted             bool
	Teams                []*catalog.Team
	Rows                 []alertRow
	Limit                int
}

// withDeliveries joins each alert with the chat messages of its group.
func (c *Console) withDeliveries(r *http.Request, alerts []alerting.StoredAlert) ([]alertRow, error) {
	var keys []string
	for _, a := range alerts {
		if !slices.Contains(keys, a.GroupKey) {
			keys = append(keys, a.GroupKey)
		}
	}
	recs, err := c.store.LatestDeliveries(r.Context(), keys)
	if err != nil {
		return nil, err
	}
	rows := make([]alertRow, len(alerts))
	for i, a := range alerts {
		rows[i].StoredAlert = a
		for _, rec := range recs {
			if rec.Key == a.GroupKey {
				rows[i].Chat = append(rows[i].Chat, rec)
			}
		}
	}
	return rows, nil
}

func (c *Console) alerts(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	q := r.URL.Query()
	d := alertsData{State: q.Get("state"), Team: q.Get("team"), Service: q.Get("service"), Unrouted: q.Get("routed") == "false", Limit: 100}
	f := alerting.Filter{State: d.State, Team: d.Team, Service: d.Service, Unrouted: d.Unrouted, Limit: d.Limit}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	alerts, err := c.store.Alerts(ctx, f)
	if err != nil {
		return nil, err
	}
	if d.Rows, err = c.withDeliveries(r, alerts); err != nil {
		return nil, err
	}
	cat, err := c.snap.catalog(ctx)
	if err != nil {
		return nil, err
	}
	d.Teams = cat.teams
	return d, nil
}

type auditData struct {
	Actor, Object, Since, Until string
	Records                     []audit.Record
	Verify                      *audit.Verification
	VerifiedAt                  time.Time
	VerifyErr                   string
	Admin                       bool
	Next                        int64
}

func (c *Console) auditLog(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	q := r.URL.Query()
	d := auditData{Actor: strings.TrimSpace(q.Get("actor")), Object: strings.TrimSpace(q.Get("object")), Since: q.Get("since"), Until: q.Get("until")}
	f := audit.Filter{Actor: d.Actor, Limit: pageSize}
	if d.Object != "" {
		kind, name, ok := strings.Cut(d.Object, "/")
		if !ok {
			return nil, tsuna.Errorf(tsuna.EINVALID, "object: %q; write KIND/NAME, such as Service/checkout-api", d.Object)
		}
		f.Kind, f.Name = kind, name
	}
	var err error
	if f.Since, err = parseTime("since", d.Since, c.now()); err != nil {
		return nil, err
	}
	if f.Until, err = parseTime("until", d.Until, c.now()); err != nil {
		return nil, err
	}
	if v := q.Get("before"); v != "" {
		if f.Before, err = strconv.ParseInt(v, 10, 64); err != nil || f.Before < 1 {
			return nil, tsuna.Errorf(tsuna.EINVALID, "before: %q is not a record number", v)
		}
	}
	if d.Records, err = c.store.AuditRecords(ctx, f); err != nil {
		return nil, err
	}
	if len(d.Records) == pageSize {
		d.Next = d.Records[len(d.Records)-1].Seq
	}
	v, err := c.snap.verify(ctx, p.IsAdmin())
	switch {
	case err != nil:
		d.VerifyErr = err.Error()
	case v != nil:
		d.Verify, d.VerifiedAt = &v.Verification, v.at
	}
	d.Admin = p.IsAdmin()
	return d, nil
}

// parseTime reads a filter time: RFC 3339, a date-time from a form
// (2026-01-02T15:04, UTC), or a duration ago (24h).
func parseTime(field, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := slo.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, tsuna.Errorf(tsuna.EINVALID, "%s: %q is not a time; use 2026-01-02T15:04 (UTC), RFC 3339 or a duration ago such as 24h", field, v)
}

type accountData struct {
	CSRF     string
	Admin    bool
	Sessions []*auth.Session
	All      bool
	Done     string
}

func (c *Console) account(r *http.Request, p *Principal) (any, error) {
	d := accountData{CSRF: p.CSRF, Admin: p.IsAdmin(), Done: r.URL.Query().Get("done"), All: p.IsAdmin() && r.URL.Query().Get("all") == "1"}
	who := p.Token.Name
	if d.All {
		who = ""
	}
	var err error
	d.Sessions, err = c.store.Sessions(r.Context(), who, false)
	return d, err
}
