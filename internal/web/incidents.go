package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// incidentPages registers the incident pages and forms. Every rule (who
// may declare, add notes, change the status) is the incident domain's,
// checked on the server by incident.Service as for the API.
func (c *Console) incidentPages() {
	c.page("/incidents", NavItem{Label: "Incidents", Path: "/incidents", Order: 45}, "incidents.html", c.incidentList)
	c.page("/incidents/new", NavItem{}, "incident-new.html", c.incidentNew)
	c.page("/incidents/metrics", NavItem{}, "incident-metrics.html", c.incidentMetrics)
	c.page("/incidents/{ref}", NavItem{}, "incident.html", c.incidentPage)
	c.AddAction("/incidents", c.declareIncident)
	c.AddAction("/incidents/{ref}/notes", c.noteIncident)
	c.AddAction("/incidents/{ref}", c.changeIncident)
}

// incidentActor is the signed-in person as an incident actor: the API's
// rule (an admin changes every incident, an editor its team's), source ui.
func incidentActor(w http.ResponseWriter, p *Principal) incident.Actor {
	a := incident.Actor{Name: p.Token.Name, Source: audit.SourceUI, Admin: p.IsAdmin()}
	if w != nil {
		a.RequestID = w.Header().Get("X-Request-Id")
	}
	if p.Token.Role == auth.RoleEditor && p.Token.Team != "" {
		a.Teams = []string{p.Token.Team}
	}
	return a
}

// maxFilter bounds a list filter's text.
const maxFilter = 200

// statusFilters are the list's status choices: "open" is triage and active.
var statusFilters = append([]string{"open"}, incident.Statuses...)

type incidentsData struct {
	Status, Severity, Team, Service string
	Statuses                        []string
	Levels                          []catalog.SeverityLevel
	Teams                           []*catalog.Team
	Rows                            []*incident.Incident
	Before, Next                    int64
	Done                            string
}

func (c *Console) incidentList(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	q := r.URL.Query()
	d := incidentsData{Status: q.Get("status"), Severity: q.Get("severity"), Team: strings.TrimSpace(q.Get("team")),
		Service: strings.TrimSpace(q.Get("service")), Statuses: statusFilters, Done: q.Get("done")}
	for field, v := range map[string]string{"severity": d.Severity, "team": d.Team, "service": d.Service} {
		if len(v) > maxFilter {
			return nil, tsuna.Errorf(tsuna.EINVALID, "%s: %d characters; use at most %d", field, len(v), maxFilter)
		}
	}
	f := incident.Filter{Severity: d.Severity, Team: d.Team, Service: d.Service, Limit: pageSize + 1}
	switch {
	case d.Status == "open":
		f.Status = []string{incident.StatusTriage, incident.StatusActive}
	case d.Status != "":
		if !slices.Contains(incident.Statuses, d.Status) {
			return nil, tsuna.Errorf(tsuna.EINVALID, "status: %q; use open or one of %s", d.Status, strings.Join(incident.Statuses, ", "))
		}
		f.Status = []string{d.Status}
	}
	if v := q.Get("before"); v != "" {
		n, err := incident.ParseRef(v)
		if err != nil {
			return nil, tsuna.Errorf(tsuna.EINVALID, "before: %s", tsuna.ErrorMessage(err))
		}
		f.Before, d.Before = n, n
	}
	var err error
	if d.Levels, err = c.incidents.LevelsContext(ctx); err != nil {
		return nil, err
	}
	if d.Rows, err = c.incidents.List(ctx, f); err != nil {
		return nil, err
	}
	if len(d.Rows) > pageSize {
		d.Rows = d.Rows[:pageSize]
		d.Next = d.Rows[pageSize-1].Number
	}
	cat, err := c.snap.catalog(ctx)
	if err != nil {
		return nil, err
	}
	d.Teams = cat.teams
	return d, nil
}

type incidentNewData struct {
	Levels   []catalog.SeverityLevel
	Services []string // offered as suggestions; empty when the catalog is large
	Key      string
	Error    string
	CSRF     string
	// The form's values, kept when it is shown again with an error.
	Title, Severity, Service, Summary string
	Triage                            bool
}

// maxSuggested bounds the services offered as suggestions in the form.
const maxSuggested = 500

func (c *Console) incidentNew(r *http.Request, p *Principal) (any, error) {
	d := incidentNewData{Key: "ui-" + randomHex(12), CSRF: p.CSRF, Service: r.URL.Query().Get("service")}
	if len(d.Service) > maxFilter {
		d.Service = ""
	}
	return d, c.fillDeclare(r, &d)
}

// fillDeclare adds the severity levels and service suggestions to the
// declaration form.
func (c *Console) fillDeclare(r *http.Request, d *incidentNewData) error {
	var err error
	if d.Levels, err = c.incidents.LevelsContext(r.Context()); err != nil {
		return err
	}
	if d.Severity == "" && len(d.Levels) > 0 {
		d.Severity = d.Levels[min(1, len(d.Levels)-1)].Name // the domain's default
	}
	cat, err := c.snap.catalog(r.Context())
	if err != nil {
		return err
	}
	if len(cat.services) <= maxSuggested {
		for _, svc := range cat.services {
			d.Services = append(d.Services, svc.Name)
		}
	}
	return nil
}

// declareIncident declares an incident from the form; anyone signed in
// may. The form's key makes a double submit declare once.
func (c *Console) declareIncident(w http.ResponseWriter, r *http.Request, p *Principal) {
	form := r.PostForm
	d := incident.Declaration{Title: strings.TrimSpace(form.Get("title")), Summary: strings.TrimSpace(strings.ReplaceAll(form.Get("summary"), "\r\n", "\n")),
		Severity: form.Get("severity"), Triage: form.Get("triage") == "on", Key: form.Get("key")}
	service := strings.TrimSpace(form.Get("service"))
	if service != "" {
		d.Services = []string{service}
	}
	if d.Key == "" || !strings.HasPrefix(d.Key, "ui-") {
		c.fail(w, r, p, tsuna.Errorf(tsuna.EINVALID, "key: the form has no key; reload the page and send it again"))
		return
	}
	inc, created, err := c.incidents.Declare(r.Context(), d, incidentActor(w, p))
	if tsuna.ErrorCode(err) == tsuna.EINVALID {
		// Show the form again with what was typed and what to change.
		nd := incidentNewData{Key: d.Key, CSRF: p.CSRF, Error: tsuna.ErrorMessage(err), Title: d.Title, Severity: d.Severity,
			Service: service, Summary: d.Summary, Triage: d.Triage}
		if ferr := c.fillDeclare(r, &nd); ferr != nil {
			c.fail(w, r, p, ferr)
			return
		}
		c.renderStatus(w, r, http.StatusUnprocessableEntity, c.pages["/incidents/new"], p, nd)
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	msg := "Declared " + inc.Ref + "."
	if !created {
		msg = inc.Ref + " was already declared by this form (it was sent twice); nothing else was declared."
	}
	http.Redirect(w, r, "/incidents/"+inc.Ref+"?done="+url.QueryEscape(msg), http.StatusSeeOther)
}

// maxTimelineShown bounds the timeline entries a page shows.
const maxTimelineShown = 1000

type incidentData struct {
	Inc       *incident.Incident
	Entries   []incident.Entry
	More      bool
	CanChange bool
	Moves     []string // statuses it may go to, its own first
	Stages    []string
	Levels    []catalog.SeverityLevel
	Level     catalog.SeverityLevel
	Times     []namedTime
	CSRF      string
	NoteKey   string
	Done      string
	// Related are published postmortems of its services (with the
	// postmortem pages).
	Related []*postmortem.Postmortem
}

type namedTime struct {
	Name string
	At   *time.Time
}

// timeNames name the timestamps for people, in order.
var timeNames = map[string]string{"impactStarted": "Impact started", "detected": "Detected", "reported": "Reported",
	"acknowledged": "Acknowledged", "mitigated": "Mitigated", "resolved": "Resolved", "closed": "Closed"}

func (c *Console) findIncident(r *http.Request) (*incident.Incident, error) {
	n, err := incident.ParseRef(r.PathValue("ref"))
	if err != nil {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "%s", tsuna.ErrorMessage(err))
	}
	return c.incidents.Get(r.Context(), n)
}

func (c *Console) incidentPage(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	inc, err := c.findIncident(r)
	if err != nil {
		return nil, err
	}
	d := incidentData{Inc: inc, CanChange: incident.CanChange(inc, incidentActor(nil, p)), CSRF: p.CSRF, NoteKey: "ui-" + randomHex(12),
		Done: r.URL.Query().Get("done"), Stages: incident.Stages}
	if d.Entries, err = c.incidents.Timeline(ctx, inc.Number, incident.TimelineFilter{Limit: maxTimelineShown + 1}); err != nil {
		return nil, err
	}
	if len(d.Entries) > maxTimelineShown {
		d.Entries, d.More = d.Entries[:maxTimelineShown], true
	}
	if d.Levels, err = c.incidents.LevelsContext(ctx); err != nil {
		return nil, err
	}
	for _, l := range d.Levels {
		if l.Name == inc.Severity {
			d.Level = l
		}
	}
	d.Moves = []string{inc.Status}
	for _, st := range incident.Statuses {
		if incident.CanMove(inc.Status, st) {
			d.Moves = append(d.Moves, st)
		}
	}
	for _, name := range incident.TimestampNames {
		d.Times = append(d.Times, namedTime{Name: timeNames[name], At: *inc.Timestamps.Field(name)})
	}
	if d.Related, err = c.pmRelated(r, inc.Services, inc.Postmortem); err != nil {
		return nil, err
	}
	return d, nil
}

// noteIncident adds a note to the timeline; anyone signed in may. The
// form's key adds it once however often it is sent.
func (c *Console) noteIncident(w http.ResponseWriter, r *http.Request, p *Principal) {
	inc, err := c.findIncident(r)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	key := r.PostForm.Get("key")
	if !strings.HasPrefix(key, "ui-") {
		c.fail(w, r, p, tsuna.Errorf(tsuna.EINVALID, "key: the form has no key; reload the page and send it again"))
		return
	}
	text := strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("text"), "\r\n", "\n"))
	if _, err := c.incidents.Note(r.Context(), inc.Number, text, time.Time{}, key, incidentActor(w, p)); err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/incidents/"+inc.Ref+"?done="+url.QueryEscape("Note added.")+"#timeline-h", http.StatusSeeOther)
}

// changeIncident changes the status, stage, severity or lead: the fields
// of the form that differ from the incident. Who may is the domain's rule
// (its lead, an editor of its team, an admin), checked by Update.
func (c *Console) changeIncident(w http.ResponseWriter, r *http.Request, p *Principal) {
	inc, err := c.findIncident(r)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	form := r.PostForm
	var ch incident.Change
	set := func(field string, cur string) *string {
		if _, ok := form[field]; !ok {
			return nil
		}
		v := strings.TrimSpace(form.Get(field))
		if v == cur {
			return nil
		}
		return &v
	}
	ch.Status = set("status", inc.Status)
	if ch.Status == nil || *ch.Status == incident.StatusActive {
		ch.Stage = set("stage", inc.Stage)
	}
	ch.Severity = set("severity", inc.Severity)
	ch.Lead = set("lead", inc.Lead)
	if ch.Status != nil && *ch.Status == incident.StatusMerged {
		ch.MergedInto = set("mergedInto", inc.MergedInto)
	}
	if ch.Status == nil && ch.Stage == nil && ch.Severity == nil && ch.Lead == nil {
		http.Redirect(w, r, "/incidents/"+inc.Ref+"?done="+url.QueryEscape("Nothing changed."), http.StatusSeeOther)
		return
	}
	if _, err := c.incidents.Update(r.Context(), inc.Number, ch, incidentActor(w, p)); err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/incidents/"+inc.Ref+"?done="+url.QueryEscape("Saved."), http.StatusSeeOther)
}

type metricsData struct {
	Since, By    string
	Periods, Bys []string
	Report       *incident.Report
	Charts       []distChart
	Intervals    []intervalInfo
	Table        []distTableRow
}

// distTableRow is one interval of one group in the table of figures.
type distTableRow struct {
	First            bool // the group's first row
	Key              string
	Incidents        int
	Name             string
	Count, Missing   int
	Median, P90, Max string
}

type intervalInfo struct {
	Key, Name, Origin string
}

// intervals are the metrics' intervals, in order.
var intervals = []intervalInfo{
	{"ttd", "TTD", incident.Origins["ttd"]},
	{"tta", "TTA", incident.Origins["tta"]},
	{"ttm", "TTM", incident.Origins["ttm"]},
	{"ttr", "TTR", incident.Origins["ttr"]},
}

func (c *Console) incidentMetrics(r *http.Request, p *Principal) (any, error) {
	q := r.URL.Query()
	d := metricsData{Since: q.Get("since"), By: q.Get("by"), Periods: []string{"7d", "30d", "90d", "180d", "365d"},
		Bys: []string{incident.BySeverity, incident.ByTeam, incident.ByService}, Intervals: intervals}
	if d.Since == "" {
		d.Since = "90d"
	}
	if d.By == "" {
		d.By = incident.BySeverity
	}
	span, err := slo.ParseDuration(d.Since)
	if err != nil || span <= 0 || span > 3*366*24*time.Hour {
		return nil, tsuna.Errorf(tsuna.EINVALID, "since: %q; use a period such as 30d or 90d, at most 3 years", d.Since)
	}
	now := c.now()
	if d.Report, err = c.incidents.Metrics(r.Context(), now.Add(-span), now, d.By); err != nil {
		return nil, err
	}
	for _, iv := range intervals {
		d.Charts = append(d.Charts, newDistChart(iv, d.Report))
	}
	if len(d.Report.Groups) > 0 {
		for _, g := range append(slices.Clone(d.Report.Groups), d.Report.All) {
			for i, iv := range intervals {
				dist := pickDist(g, iv.Key)
				row := distTableRow{First: i == 0, Key: g.Key, Incidents: g.Incidents, Name: iv.Name, Count: dist.Count, Missing: dist.Missing,
					Median: fmtSecondsp(dist.Median), P90: fmtSecondsp(dist.P90), Max: fmtSecondsp(dist.Max)}
				d.Table = append(d.Table, row)
			}
		}
	}
	return d, nil
}

// distChart draws one interval's distribution per group as horizontal
// marks on a shared time axis. It reads without colour: the median is a
// bar, the 90th percentile a thick line continuing it, the maximum an
// open circle, and every figure is written beside its row.
type distChart struct {
	Title, Origin, Summary string
	W, H                   int
	Left, Right            float64
	LabelX, TextX, TickY   float64
	Rows                   []distRow
	Ticks                  []tick
	Bottom                 float64
	Empty                  bool
}

type distRow struct {
	Label            string
	Y                float64 // the row's centre
	BarY, BarW       float64 // the median's bar
	Median, P90, Max float64 // x positions
	Has              bool
	Text             string
}

// pickDist returns group g's distribution of interval key.
func pickDist(g incident.Group, key string) incident.Distribution {
	switch key {
	case "ttd":
		return g.TTD
	case "tta":
		return g.TTA
	case "ttm":
		return g.TTM
	}
	return g.TTR
}

func fmtSecondsp(s *float64) string {
	if s == nil {
		return "—"
	}
	return fmtSeconds(*s)
}

func newDistChart(iv intervalInfo, rep *incident.Report) distChart {
	ch := distChart{Title: iv.Name, Origin: iv.Origin, W: 960, Left: 150, Right: 520}
	ch.LabelX, ch.TextX = ch.Left-10, ch.Right+20
	groups := rep.Groups
	pick := func(g incident.Group) incident.Distribution { return pickDist(g, iv.Key) }
	var top float64
	for _, g := range groups {
		if m := pick(g).Max; m != nil && *m > top {
			top = *m
		}
	}
	step, ticks := durationTicks(top)
	scale := func(s float64) float64 {
		if step <= 0 {
			return ch.Left
		}
		return round1(ch.Left + (ch.Right-ch.Left)*s/(step*float64(ticks)))
	}
	const rowH = 30
	var parts []string
	for i, g := range groups {
		dist := pick(g)
		row := distRow{Label: g.Key, Y: float64(20 + i*rowH)}
		if dist.Count > 0 {
			row.Has = true
			row.Median, row.P90, row.Max = scale(*dist.Median), scale(*dist.P90), scale(*dist.Max)
			row.BarY, row.BarW = row.Y-7, round1(max(row.Median-ch.Left, 1))
			row.Text = fmt.Sprintf("median %s · p90 %s · max %s · n=%d", fmtSeconds(*dist.Median), fmtSeconds(*dist.P90), fmtSeconds(*dist.Max), dist.Count)
			parts = append(parts, fmt.Sprintf("%s: median %s, p90 %s, max %s over %d incidents", g.Key, fmtSeconds(*dist.Median), fmtSeconds(*dist.P90), fmtSeconds(*dist.Max), dist.Count))
		} else {
			row.Text = "no incident with both times"
		}
		if dist.Missing > 0 {
			row.Text += fmt.Sprintf(", %d missing", dist.Missing)
		}
		ch.Rows = append(ch.Rows, row)
	}
	ch.Bottom = float64(8 + len(groups)*rowH)
	ch.H = int(ch.Bottom) + 26
	ch.TickY = ch.Bottom + 16
	for i := 0; i <= ticks; i++ {
		ch.Ticks = append(ch.Ticks, tick{At: scale(step * float64(i)), Label: fmtSeconds(step * float64(i))})
	}
	ch.Empty = len(parts) == 0
	if ch.Empty {
		ch.Summary = "No incident of the period has both of its times."
	} else {
		ch.Summary = strings.Join(parts, "; ") + "."
	}
	return ch
}

// durationTicks returns a round tick step (seconds) and how many ticks
// cover top.
func durationTicks(top float64) (float64, int) {
	if top <= 0 {
		return 60, 4
	}
	for _, s := range []float64{60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400} {
		if n := int(top/s) + 1; n <= 6 {
			return s, max(n, 1)
		}
	}
	s := 30 * 86400 * float64(int(top/(30*86400*6))+1)
	return s, int(top/s) + 1
}

// fmtSeconds writes a duration for people: 45 s, 12 min, 3.5 h, 2.1 d.
func fmtSeconds(s float64) string {
	switch {
	case s < 60:
		return strconv.FormatFloat(s, 'f', 0, 64) + " s"
	case s < 3600:
		return trimZero(strconv.FormatFloat(s/60, 'f', 1, 64)) + " min"
	case s < 86400:
		return trimZero(strconv.FormatFloat(s/3600, 'f', 1, 64)) + " h"
	}
	return trimZero(strconv.FormatFloat(s/86400, 'f', 1, 64)) + " d"
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }
