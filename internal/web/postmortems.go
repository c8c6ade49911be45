package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

// postmortemPages registers the postmortem pages and forms: the library
// (filters, full-text search, the reading list), a postmortem (its text,
// TTx figures, the budget each SLO spent, follow-ups, and for its editors
// the editor with a server-side preview and blameless hints, review and
// publication) and the follow-ups. Every rule is the postmortem domain's,
// checked by postmortem.Service as for the API; changes are audited with
// source ui.
func (c *Console) postmortemPages() {
	c.page("/postmortems", NavItem{Label: "Postmortems", Path: "/postmortems", Order: 47}, "postmortems.html", c.pmLibrary)
	c.page("/postmortems/{ref}", NavItem{}, "postmortem.html", c.pmPage)
	c.page("/followups", NavItem{Label: "Follow-ups", Path: "/followups", Order: 48}, "followups.html", c.pmFollowups)
	c.AddAction("/postmortems", c.pmDraft)
	c.AddAction("/postmortems/{ref}/edit", c.pmEdit)
	c.AddAction("/postmortems/{ref}/status", c.pmStatus)
	c.AddAction("/postmortems/{ref}/actions", c.pmAddAction)
	c.AddAction("/followups/{id}", c.pmUpdateAction)
}

// pmActor is the signed-in person as a postmortem actor: the API's rule
// (an admin changes every postmortem, an editor its team's, a viewer
// reads), source ui.
func pmActor(w http.ResponseWriter, p *Principal) postmortem.Actor {
	a := postmortem.Actor{Name: p.Token.Name, Source: audit.SourceUI, Admin: p.IsAdmin(), ReadOnly: p.Token.Role == auth.RoleViewer}
	if w != nil {
		a.RequestID = w.Header().Get("X-Request-Id")
	}
	if p.Token.Role == auth.RoleEditor && p.Token.Team != "" {
		a.Teams = []string{p.Token.Team}
	}
	return a
}

// pmReviewer reports whether the person is one of p's reviewers.
func pmReviewer(pm *postmortem.Postmortem, p *Principal) bool {
	return p.Token.Role != auth.RoleViewer && slices.Contains(pm.Reviewers, p.Token.Name)
}

// Limits of the library page.
const (
	pmMaxFilter    = 200 // bytes of a filter's text
	pmLibraryShown = 100
	pmHitsShown    = 50
	pmReadingShown = 10
)

type pmLibraryData struct {
	Q, Service, Team, Severity, Label, Since, Until string
	Teams                                           []*catalog.Team
	Levels                                          []string
	Searched                                        bool
	Hits                                            []pmHit
	Rows                                            []*postmortem.Postmortem
	More                                            bool
	Reading                                         []*postmortem.Postmortem
	InProgress                                      []*postmortem.Postmortem
	Labels                                          []string
	CanDraft                                        bool
	CSRF, Done                                      string
}

type pmHit struct {
	P       *postmortem.Postmortem
	Excerpt template.HTML
	Rank    float64
}

// pmDay reads a date field (YYYY-MM-DD) of a filter.
func pmDay(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return time.Time{}, tsuna.Errorf(tsuna.EINVALID, "%s: %q is not a date; write it as 2026-11-23", field, tsuna.Truncate(v, 40))
	}
	return t, nil
}

func (c *Console) pmLevels(r *http.Request) []string {
	levels := catalog.DefaultSeverityLevels()
	if c.incidents != nil {
		if lv, err := c.incidents.LevelsContext(r.Context()); err == nil {
			levels = lv
		}
	}
	out := make([]string, len(levels))
	for i, l := range levels {
		out[i] = l.Name
	}
	return out
}

func (c *Console) pmLibrary(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	q := r.URL.Query()
	d := pmLibraryData{Q: strings.TrimSpace(q.Get("q")), Service: strings.TrimSpace(q.Get("service")), Team: q.Get("team"), Severity: q.Get("severity"),
		Label: q.Get("label"), Since: q.Get("since"), Until: q.Get("until"), CSRF: p.CSRF, Done: q.Get("done"),
		CanDraft: p.Token.Role != auth.RoleViewer && c.incidents != nil}
	for field, v := range map[string]string{"service": d.Service, "team": d.Team, "severity": d.Severity, "label": d.Label} {
		if len(v) > pmMaxFilter {
			return nil, tsuna.Errorf(tsuna.EINVALID, "%s: %d characters; use at most %d", field, len(v), pmMaxFilter)
		}
	}
	if len(d.Q) > postmortem.MaxQuery {
		return nil, tsuna.Errorf(tsuna.EINVALID, "q: a search of %d characters; use at most %d", len(d.Q), postmortem.MaxQuery)
	}
	f := postmortem.Filter{Service: d.Service, Team: d.Team, Severity: d.Severity, Label: d.Label}
	var err error
	if f.Since, err = pmDay("since", d.Since); err != nil {
		return nil, err
	}
	if f.Until, err = pmDay("until", d.Until); err != nil {
		return nil, err
	}
	if !f.Until.IsZero() {
		f.Until = f.Until.AddDate(0, 0, 1) // the whole day
	}
	d.Levels = c.pmLevels(r)
	cat, err := c.snap.catalog(ctx)
	if err != nil {
		return nil, err
	}
	d.Teams = cat.teams
	labels := map[string]bool{postmortem.LabelRecommended: true}
	if d.Q != "" {
		d.Searched = true
		f.Limit = pmHitsShown
		hits, err := c.pms.Search(ctx, d.Q, f)
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			d.Hits = append(d.Hits, pmHit{P: h.Postmortem, Excerpt: marked(h.Excerpt, h.Marks, nil), Rank: h.Rank})
			for _, l := range h.Postmortem.Labels {
				labels[l] = true
			}
		}
	} else {
		f.Limit = pmLibraryShown + 1
		if d.Rows, err = c.pms.Library(ctx, f); err != nil {
			return nil, err
		}
		if len(d.Rows) > pmLibraryShown {
			d.Rows, d.More = d.Rows[:pmLibraryShown], true
		}
		for _, pm := range d.Rows {
			for _, l := range pm.Labels {
				labels[l] = true
			}
		}
	}
	if d.Label != "" {
		labels[d.Label] = true
	}
	d.Labels = slices.Sorted(func(yield func(string) bool) {
		for l := range labels {
			if !yield(l) {
				return
			}
		}
	})
	unfiltered := d.Q == "" && d.Service == "" && d.Team == "" && d.Severity == "" && d.Label == "" && d.Since == "" && d.Until == ""
	if unfiltered {
		if d.Reading, err = c.pms.ReadingList(ctx, pmReadingShown); err != nil {
			return nil, err
		}
	}
	if unfiltered && p.Token.Role != auth.RoleViewer {
		// Drafts and reviews the person may read: their team's, or every
		// one for an admin.
		a := pmActor(nil, p)
		for _, st := range []string{postmortem.StatusInReview, postmortem.StatusDraft} {
			list, err := c.pms.List(ctx, postmortem.Filter{Status: st, Team: p.Token.Team, Limit: 20}, a)
			if err != nil {
				return nil, err
			}
			d.InProgress = append(d.InProgress, list...)
		}
	}
	return d, nil
}

// pmDraft drafts the postmortem of an incident from the library's form;
// drafting again opens the one it has.
func (c *Console) pmDraft(w http.ResponseWriter, r *http.Request, p *Principal) {
	req := postmortem.DraftRequest{Incident: strings.TrimSpace(r.PostForm.Get("incident")), Timeline: r.PostForm.Get("timeline")}
	pm, created, err := c.pms.Draft(r.Context(), req, pmActor(w, p))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	msg := "Drafted " + pm.Ref + " from " + pm.Incident + "."
	if !created {
		msg = pm.Incident + " has this postmortem already; nothing else was drafted."
	}
	http.Redirect(w, r, pmURL(pm.Ref, msg, ""), http.StatusSeeOther)
}

func pmURL(ref, msg, anchor string) string {
	u := "/postmortems/" + url.PathEscape(ref)
	if msg != "" {
		u += "?done=" + url.QueryEscape(msg)
	}
	if anchor != "" {
		u += "#" + anchor
	}
	return u
}

type pmPageData struct {
	P          *postmortem.Postmortem
	Body       template.HTML
	Intervals  []pmInterval
	Budget     []pmBudget
	Actions    pmActionList
	Related    []*postmortem.Postmortem
	CanEdit    bool
	CanPublish bool // a reviewer, or an editor
	Overdue    bool
	CSRF, Done string
	// The editor: the text being edited, its preview and hints.
	Edit       pmEdit
	Previewing bool
	Preview    template.HTML
	Hints      []pmHintRow
	Error      string
	Types      []string
	Priorities []string
}

type pmEdit struct {
	Title, Body, Labels string
	Revision            int
}

type pmInterval struct {
	Name, Origin, Value string
	Known               bool
}

type pmBudget struct {
	postmortem.BudgetSpent
	Chart *chart
}

type pmHintRow struct {
	Line, Column int
	Phrase       string
	Suggestion   string
	Context      template.HTML
}

// pmActionList is a table of follow-ups with their forms, which go back
// to Back.
type pmActionList struct {
	Rows       []pmActionRow
	CSRF, Back string
	// ShowPM names each action's postmortem.
	ShowPM bool
}

type pmActionRow struct {
	*postmortem.Action
	Overdue   bool
	CanChange bool
}

func (c *Console) pmPage(r *http.Request, p *Principal) (any, error) {
	pm, err := c.pms.Get(r.Context(), r.PathValue("ref"), pmActor(nil, p))
	if err != nil {
		return nil, err
	}
	d, err := c.pmData(r, p, pm)
	if err != nil {
		return nil, err
	}
	if d.CanEdit {
		d.Hints = c.pmHints(pm.Body)
	}
	return d, nil
}

// pmData gathers what the postmortem page shows.
func (c *Console) pmData(r *http.Request, p *Principal, pm *postmortem.Postmortem) (*pmPageData, error) {
	ctx := r.Context()
	a := pmActor(nil, p)
	now := c.now()
	d := &pmPageData{P: pm, Body: pmHTML(pm.Body), CanEdit: postmortem.CanEdit(pm, a), CSRF: p.CSRF, Done: r.URL.Query().Get("done"),
		Edit:  pmEdit{Title: pm.Title, Body: pm.Body, Labels: strings.Join(pm.Labels, ", "), Revision: pm.Revision},
		Types: postmortem.ActionTypes, Priorities: postmortem.Priorities}
	d.CanPublish = d.CanEdit || pmReviewer(pm, p)
	d.Overdue = pm.Status != postmortem.StatusPublished && pm.Due != nil && now.After(pm.Due.AddDate(0, 0, 1))
	for _, iv := range pm.Facts.Intervals {
		row := pmInterval{Name: strings.ToUpper(iv.Name), Origin: iv.Origin, Value: "unknown: a timestamp is missing"}
		if iv.Seconds != nil {
			row.Value, row.Known = pmDuration(*iv.Seconds), true
		}
		d.Intervals = append(d.Intervals, row)
	}
	for _, b := range pm.Facts.Budget {
		d.Budget = append(d.Budget, pmBudget{BudgetSpent: b, Chart: budgetSpentChart(b)})
	}
	acts, err := c.pms.PostmortemActions(ctx, pm.Ref, a)
	if err != nil {
		return nil, err
	}
	d.Actions = pmActionList{CSRF: p.CSRF, Back: "/postmortems/" + url.PathEscape(pm.Ref) + "#actions-h"}
	for _, act := range acts {
		d.Actions.Rows = append(d.Actions.Rows, pmActionRow{Action: act, Overdue: act.Overdue(now), CanChange: pmMayChangeAction(act, p) || d.CanEdit})
	}
	if pm.Status == postmortem.StatusPublished {
		if d.Related, err = c.pms.Related(ctx, pm.Services, pm.Labels, pm.ID, 5); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// pmMayChangeAction is whether the person may close an action, as far as
// a page can tell without its postmortem: an admin, an editor of its
// team, or its owner. The domain decides on the server.
func pmMayChangeAction(a *postmortem.Action, p *Principal) bool {
	if p.Token.Role == auth.RoleViewer {
		return false
	}
	return p.IsAdmin() || p.CanChange(a.Team) && p.Token.Team != "" || strings.EqualFold(a.Owner, p.Token.Name)
}

// headingRE finds heading tags in goldmark's output, which holds no raw
// HTML: every "<" of the text is escaped.
var headingRE = regexp.MustCompile(`<(/?)h([1-5])>`)

// pmHTML renders a postmortem's Markdown safely (postmortem.HTML drops raw
// HTML and dangerous links), its headings one level down so the page's
// title stays the only h1.
func pmHTML(md string) template.HTML {
	out := headingRE.ReplaceAllStringFunc(string(postmortem.HTML(md)), func(tag string) string {
		m := headingRE.FindStringSubmatch(tag)
		n, _ := strconv.Atoi(m[2])
		return "<" + m[1] + "h" + strconv.Itoa(n+1) + ">"
	})
	return template.HTML(out) // goldmark's safe output, with heading tags renumbered
}

// maxHintsShown bounds the hints the editor lists.
const maxHintsShown = 50

// pmHints lists the blameless hints of text, each with its line, the
// phrase marked.
func (c *Console) pmHints(text string) []pmHintRow {
	var out []pmHintRow
	for i, h := range postmortem.Hints(text, c.pms.Phrases()) {
		if i == maxHintsShown {
			break
		}
		start := strings.LastIndexByte(text[:h.Offset], '\n') + 1
		end := len(text)
		if j := strings.IndexByte(text[h.Offset:], '\n'); j >= 0 {
			end = h.Offset + j
		}
		// At most about 120 bytes each side of the phrase.
		from, to := max(start, h.Offset-120), min(end, h.Offset+h.Length+120)
		for from > start && !utf8Start(text, from) {
			from--
		}
		for to < end && !utf8Start(text, to) {
			to++
		}
		line := text[from:to]
		ctx := marked(line, [][2]int{{h.Offset - from, h.Offset - from + h.Length}}, []string{h.Suggestion})
		if from > start {
			ctx = "…" + ctx
		}
		if to < end {
			ctx += "…"
		}
		out = append(out, pmHintRow{Line: h.Line, Column: h.Column, Phrase: h.Phrase, Suggestion: h.Suggestion, Context: ctx})
	}
	return out
}

func utf8Start(s string, i int) bool { return i >= len(s) || s[i]&0xC0 != 0x80 }

// marked escapes text and wraps the byte ranges of marks in <mark>, with
// titles[i] as the i-th mark's title when given: the only markup it adds.
// Ranges out of order, overlapping or outside the text are skipped.
func marked(text string, marks [][2]int, titles []string) template.HTML {
	var b strings.Builder
	at := 0
	for i, m := range marks {
		if m[0] < at || m[1] <= m[0] || m[1] > len(text) || !utf8Start(text, m[0]) || !utf8Start(text, m[1]) {
			continue
		}
		b.WriteString(html.EscapeString(text[at:m[0]]))
		if i < len(titles) && titles[i] != "" {
			b.WriteString(`<mark title="` + html.EscapeString(titles[i]) + `">`)
		} else {
			b.WriteString("<mark>")
		}
		b.WriteString(html.EscapeString(text[m[0]:m[1]]))
		b.WriteString("</mark>")
		at = m[1]
	}
	b.WriteString(html.EscapeString(text[at:]))
	return template.HTML(b.String()) // every piece of text escaped above
}

// pmDuration writes seconds for people: 45 s, 12 min 30 s, 3 h 05 min.
func pmDuration(s float64) string {
	d := time.Duration(math.Round(s)) * time.Second
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h >= 48:
		return fmt.Sprintf("%d d %d h", h/24, h%24)
	case h > 0:
		return fmt.Sprintf("%d h %02d min", h, m)
	case m > 0:
		return fmt.Sprintf("%d min %02d s", m, sec)
	}
	return fmt.Sprintf("%d s", sec)
}

// budgetSpentChart draws an SLO's budget left over the incident. It reads
// without colour: the data is a solid line, the budget left when the
// impact started and when it ended are dashed lines named in text, and
// the summary says the figures in words.
func budgetSpentChart(b postmortem.BudgetSpent) *chart {
	if len(b.Points) == 0 {
		return nil
	}
	from, to := b.Points[0].Time, b.Points[len(b.Points)-1].Time
	if !to.After(from) {
		to = from.Add(time.Minute)
	}
	lo, hi := b.Points[0].Remaining, b.Points[0].Remaining
	ts := make([]time.Time, len(b.Points))
	vs := make([]float64, len(b.Points))
	step := to.Sub(from)
	for i, pt := range b.Points {
		ts[i], vs[i] = pt.Time, pt.Remaining
		lo, hi = math.Min(lo, pt.Remaining), math.Max(hi, pt.Remaining)
		if i > 0 {
			step = min(step, pt.Time.Sub(b.Points[i-1].Time))
		}
	}
	pad := math.Max((hi-lo)*0.2, 0.5)
	pl := newPlot(fmt.Sprintf("Error budget left of %s / %s during the incident", b.Service, b.SLO), from, to, lo-pad, hi+pad)
	pl.line(ts, vs, max(step, time.Second))
	if b.RemainingBefore != nil && b.RemainingAfter != nil {
		before, after := *b.RemainingBefore, *b.RemainingAfter
		if math.Abs(pl.y(before)-pl.y(after)) < 16 { // labels would overlap: one says both
			pl.ref(before, "when the impact started: "+fmtPct(before)+"; when it ended: "+fmtPct(after), "ref-objective")
		} else {
			pl.ref(before, "when the impact started: "+fmtPct(before), "ref-objective")
			pl.ref(after, "when it ended: "+fmtPct(after), "ref-freeze")
		}
	}
	for i := 0; i <= 4; i++ {
		v := pl.ymin + (pl.ymax-pl.ymin)*float64(i)/4
		pl.c.YTicks = append(pl.c.YTicks, tick{At: pl.y(v), Label: strconv.FormatFloat(v, 'f', 1, 64) + "%"})
	}
	layout := "15:04"
	if to.Sub(from) > 24*time.Hour {
		layout = "Jan 2 15:04"
	}
	for i := 0; i <= 4; i++ {
		t := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / 4))
		pl.c.XTicks = append(pl.c.XTicks, tick{At: pl.x(t), Label: t.UTC().Format(layout)})
	}
	if b.Spent != nil {
		pl.c.Summary = fmt.Sprintf("Budget left went from %s when the impact started (%s UTC) to %s when it ended (%s UTC): %s points of the period's budget spent.",
			fmtPct(*b.RemainingBefore), b.From.UTC().Format("2006-01-02 15:04"), fmtPct(*b.RemainingAfter), b.To.UTC().Format("2006-01-02 15:04"), fmtPct(*b.Spent))
	} else {
		pl.c.Summary = summary(vs, fmtPct, "Budget left")
	}
	return pl.c
}

// pmEdit saves the editor's form, or with op=preview renders the text
// and its hints without saving: the page works without JavaScript.
func (c *Console) pmEdit(w http.ResponseWriter, r *http.Request, p *Principal) {
	a := pmActor(w, p)
	pm, err := c.pms.Get(r.Context(), r.PathValue("ref"), a)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	form := r.PostForm
	ed := pmEdit{Title: strings.TrimSpace(form.Get("title")), Body: strings.ReplaceAll(form.Get("body"), "\r\n", "\n"), Labels: form.Get("labels")}
	ed.Revision, _ = strconv.Atoi(form.Get("revision"))
	show := func(status int, msg string, preview bool) {
		d, err := c.pmData(r, p, pm)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		d.Edit, d.Error, d.Previewing = ed, msg, preview
		if len(ed.Body) <= postmortem.MaxBody {
			d.Hints = c.pmHints(ed.Body)
			if preview {
				d.Preview = pmHTML(ed.Body)
			}
		}
		c.renderStatus(w, r, status, c.pages["/postmortems/{ref}"], p, d)
	}
	if !postmortem.CanEdit(pm, a) {
		c.fail(w, r, p, tsuna.Errorf(tsuna.EFORBIDDEN, "editing %s needs one of its authors, an editor of team %s or an admin; nothing was changed", pm.Ref, pm.Team))
		return
	}
	if len(ed.Body) > postmortem.MaxBody {
		show(http.StatusUnprocessableEntity, fmt.Sprintf("body: %d bytes, over the limit of %d; shorten it. Nothing was saved.", len(ed.Body), postmortem.MaxBody), false)
		return
	}
	if form.Get("op") == "preview" {
		show(http.StatusOK, "", true)
		return
	}
	labels := splitList(ed.Labels)
	ch := postmortem.Change{Title: &ed.Title, Body: &ed.Body, Labels: &labels, Revision: ed.Revision}
	if _, err := c.pms.Edit(r.Context(), pm.Ref, ch, a); err != nil {
		switch tsuna.ErrorCode(err) {
		case tsuna.EINVALID:
			show(http.StatusUnprocessableEntity, tsuna.ErrorMessage(err)+". Nothing was saved.", false)
		case tsuna.ECONFLICT:
			show(http.StatusConflict, tsuna.ErrorMessage(err)+". Your text is kept below; nothing was saved.", false)
		default:
			c.fail(w, r, p, err)
		}
		return
	}
	http.Redirect(w, r, pmURL(pm.Ref, "Saved.", ""), http.StatusSeeOther)
}

// splitList reads a list typed as "a, b c".
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}

// pmStatus moves a postmortem: for review (with reviewers), published,
// or back to draft. Who may is the domain's rule.
func (c *Console) pmStatus(w http.ResponseWriter, r *http.Request, p *Principal) {
	ref, a := r.PathValue("ref"), pmActor(w, p)
	var pm *postmortem.Postmortem
	var err error
	var msg string
	switch st := r.PostForm.Get("status"); st {
	case postmortem.StatusInReview:
		pm, err = c.pms.Review(r.Context(), ref, splitList(r.PostForm.Get("reviewers")), a)
		msg = "Sent for review."
	case postmortem.StatusPublished:
		pm, err = c.pms.Publish(r.Context(), ref, a)
		msg = "Published: it is in the library."
	case postmortem.StatusDraft:
		pm, err = c.pms.Reopen(r.Context(), ref, a)
		msg = "Back to draft."
	default:
		err = tsuna.Errorf(tsuna.EINVALID, "status: %q; use in_review, published or draft", tsuna.Truncate(st, 40))
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, pmURL(pm.Ref, msg, ""), http.StatusSeeOther)
}

// pmAddAction adds a follow-up action from the postmortem page.
func (c *Console) pmAddAction(w http.ResponseWriter, r *http.Request, p *Principal) {
	form := r.PostForm
	na := postmortem.NewAction{Title: strings.TrimSpace(form.Get("title")), Type: form.Get("type"), Owner: strings.TrimSpace(form.Get("owner")),
		Priority: form.Get("priority")}
	if v := form.Get("due"); v != "" {
		due, err := pmDay("due", v)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		na.Due = &due
	}
	act, err := c.pms.AddAction(r.Context(), r.PathValue("ref"), na, pmActor(w, p))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, pmURL(act.PostmortemRef, fmt.Sprintf("Follow-up #%d added.", act.ID), "actions-h"), http.StatusSeeOther)
}

// pmUpdateAction marks a follow-up done, won't do (with a reason) or open
// again, and goes back to the page the form was on.
func (c *Console) pmUpdateAction(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.fail(w, r, p, tsuna.Errorf(tsuna.ENOTFOUND, "%q is not a follow-up number", tsuna.Truncate(r.PathValue("id"), 40)))
		return
	}
	form := r.PostForm
	status := form.Get("status")
	ch := postmortem.ActionChange{Status: &status}
	if reason := strings.TrimSpace(form.Get("reason")); reason != "" || status == postmortem.ActionWontDo {
		ch.Reason = &reason
	}
	act, err := c.pms.UpdateAction(r.Context(), id, ch, pmActor(w, p))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	msg := fmt.Sprintf("Follow-up #%d: %s.", act.ID, strings.ReplaceAll(act.Status, "_", " "))
	back := localPath(form.Get("back"))
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	http.Redirect(w, r, back+sep+"done="+url.QueryEscape(msg), http.StatusSeeOther)
}

type pmFollowupsData struct {
	Team, Show string
	Teams      []*catalog.Team
	Shows      []pmChoice
	Groups     []pmTeamGroup
	Total      int
	Capped     bool
	Done       string
	Back       string
}

type pmChoice struct{ Value, Label string }

type pmTeamGroup struct {
	Team    string
	List    pmActionList
	Overdue int
}

// maxFollowupsShown bounds the follow-ups the page lists.
const maxFollowupsShown = 500

func (c *Console) pmFollowups(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	q := r.URL.Query()
	d := pmFollowupsData{Team: q.Get("team"), Show: q.Get("show"), Done: q.Get("done"),
		Shows: []pmChoice{{"overdue", "overdue"}, {postmortem.ActionOpen, "open"}, {postmortem.ActionDone, "done"}, {postmortem.ActionWontDo, "won't do"}}}
	if len(d.Team) > pmMaxFilter {
		return nil, tsuna.Errorf(tsuna.EINVALID, "team: %d characters; use at most %d", len(d.Team), pmMaxFilter)
	}
	if d.Show == "" {
		d.Show = "overdue"
	}
	now := c.now()
	d.Back = "/followups" + query("team", d.Team, "show", d.Show)
	f := postmortem.ActionFilter{Team: d.Team, Limit: maxFollowupsShown + 1}
	switch d.Show {
	case "overdue":
		f.OverdueAt = now
	case postmortem.ActionOpen, postmortem.ActionDone, postmortem.ActionWontDo:
		f.Status = d.Show
	default:
		return nil, tsuna.Errorf(tsuna.EINVALID, "show: %q; use overdue, open, done or wont_do", tsuna.Truncate(d.Show, 40))
	}
	acts, err := c.pms.Actions(ctx, f)
	if err != nil {
		return nil, err
	}
	if len(acts) > maxFollowupsShown {
		acts, d.Capped = acts[:maxFollowupsShown], true
	}
	d.Total = len(acts)
	slices.SortStableFunc(acts, func(a, b *postmortem.Action) int { return strings.Compare(a.Team, b.Team) })
	for _, act := range acts {
		if n := len(d.Groups); n == 0 || d.Groups[n-1].Team != act.Team {
			d.Groups = append(d.Groups, pmTeamGroup{Team: act.Team, List: pmActionList{CSRF: p.CSRF, Back: d.Back, ShowPM: true}})
		}
		g := &d.Groups[len(d.Groups)-1]
		row := pmActionRow{Action: act, Overdue: act.Overdue(now), CanChange: pmMayChangeAction(act, p)}
		if row.Overdue {
			g.Overdue++
		}
		g.List.Rows = append(g.List.Rows, row)
	}
	cat, err := c.snap.catalog(ctx)
	if err != nil {
		return nil, err
	}
	d.Teams = cat.teams
	return d, nil
}

// pmRelatedShown bounds the related postmortems a service or an incident
// page lists.
const pmRelatedShown = 5

// pmRelated returns the published postmortems of services, leaving out
// the postmortem named own (an incident's own), for the service and
// incident pages; none without the postmortem pages.
func (c *Console) pmRelated(r *http.Request, services []string, own string) ([]*postmortem.Postmortem, error) {
	if c.pms == nil || len(services) == 0 {
		return nil, nil
	}
	var exclude int64
	if own != "" {
		exclude, _ = postmortem.ParseRef(own)
	}
	return c.pms.Related(r.Context(), services, nil, exclude, pmRelatedShown)
}
