package web

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/readiness"
)

// readinessPages registers the scorecard and the review pages. Rights
// are the API's (an editor of the service's team, or an admin, answers);
// answers are validated by the readiness domain (a comment for accepted
// risk and not applicable).
func (c *Console) readinessPages() {
	c.page("/readiness", NavItem{Label: "Readiness", Path: "/readiness", Order: 50}, "readiness.html", c.scorecard)
	c.page("/readiness/{service}", NavItem{}, "readiness-review.html", c.reviewPage)
	c.AddAction("/readiness/{service}/review", c.openReview)
	c.AddAction("/readiness/{service}/answers", c.answerReview)
	c.AddAction("/readiness/{service}/close", c.closeReview)
}

// maxBlockingShown bounds the blocking items a scorecard row names.
const maxBlockingShown = 6

type scorecardData struct {
	Team, Lifecycle    string
	Tier               int
	Teams              []*catalog.Team
	Lifecycles         []string
	Levels             []string // of the default checklist, lowest first
	Rows               []scoreRow
	Total, Page, Pages int
	ByLevel            []levelCount
	Never              int
}

type scoreRow struct {
	readiness.Row
	Shown []string // the first blocking items
	More  int
}

type levelCount struct {
	Level string
	Count int
}

func (c *Console) scorecard(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	q := r.URL.Query()
	f, err := catalog.ParseServiceFilter(q.Get)
	if err != nil {
		return nil, err
	}
	if len(f.Team) > maxFilter {
		return nil, tsuna.Errorf(tsuna.EINVALID, "team: %d characters; use at most %d", len(f.Team), maxFilter)
	}
	d := scorecardData{Team: f.Team, Tier: f.Tier, Lifecycle: f.Lifecycle, Lifecycles: catalog.Lifecycles, Page: 1}
	if v := q.Get("page"); v != "" {
		if d.Page, err = strconv.Atoi(v); err != nil || d.Page < 1 || d.Page > 100000 {
			return nil, tsuna.Errorf(tsuna.EINVALID, "page: %q is not a page number", v)
		}
	}
	cl, err := c.readiness.Checklist(ctx, "")
	if err != nil {
		return nil, err
	}
	d.Levels = cl.Levels
	rows, err := c.readiness.Scorecard(ctx, readiness.Filter{Team: f.Team, Tier: f.Tier, Lifecycle: f.Lifecycle})
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, row := range rows {
		if row.ReviewID == 0 {
			d.Never++
		} else {
			counts[row.Summary.Level]++
		}
	}
	for _, l := range slices.Backward(cl.Levels) {
		d.ByLevel = append(d.ByLevel, levelCount{Level: l, Count: counts[l]})
	}
	d.ByLevel = append(d.ByLevel, levelCount{Level: "", Count: counts[""]})
	d.Total = len(rows)
	d.Pages = max(1, (d.Total+pageSize-1)/pageSize)
	from := min((d.Page-1)*pageSize, d.Total)
	for _, row := range rows[from:min(from+pageSize, d.Total)] {
		sr := scoreRow{Row: row, Shown: row.Summary.Blocking}
		if len(sr.Shown) > maxBlockingShown {
			sr.Shown, sr.More = sr.Shown[:maxBlockingShown], len(sr.Shown)-maxBlockingShown
		}
		d.Rows = append(d.Rows, sr)
	}
	cat, err := c.snap.catalog(ctx)
	if err != nil {
		return nil, err
	}
	d.Teams = cat.teams
	return d, nil
}

type reviewData struct {
	Service    *catalog.Service
	Review     *readiness.Review // nil: never reviewed
	Summary    readiness.Summary
	Categories []reviewCategory
	CanEdit    bool
	CSRF       string
	Done       string
	Checklist  string
}

type reviewCategory struct {
	Name  string
	Items []reviewItem
}

type reviewItem struct {
	readiness.ItemResult
	Evidence []factValue
	// StateText is the state in words.
	StateText string
	// Choices are the answers a person may give this item.
	Choices []choice
	Blocks  bool
}

type choice struct{ Value, Label string }

type factValue struct{ Name, Value string }

// answerText names an answer or an item's state for people.
func answerText(s string) string { return strings.ReplaceAll(s, "_", " ") }

func (c *Console) reviewPage(r *http.Request, p *Principal) (any, error) {
	ctx := r.Context()
	svc, err := c.store.Service(ctx, r.PathValue("service"))
	if err != nil {
		return nil, err
	}
	d := reviewData{Service: svc, CanEdit: p.CanChange(svc.Team), CSRF: p.CSRF, Done: r.URL.Query().Get("done"), Checklist: readiness.DefaultChecklistName}
	rev, err := c.readiness.Current(ctx, svc.Name, "", audit.Actor{Name: p.Token.Name, Source: audit.SourceUI})
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	d.Review = rev
	items, sum := c.readiness.Items(rev)
	d.Summary = sum
	for _, it := range items {
		ri := reviewItem{ItemResult: it, StateText: answerText(it.State), Blocks: slices.Contains(sum.Blocking, it.Item.ID)}
		if it.Auto != nil {
			for _, k := range slices.Sorted(maps.Keys(it.Auto.Evidence)) {
				ri.Evidence = append(ri.Evidence, factValue{Name: k, Value: fmt.Sprint(it.Auto.Evidence[k])})
			}
		}
		states := readiness.AnswerStates
		if !it.Item.Manual && it.Item.Check != "" {
			states = []string{readiness.AcceptedRisk, readiness.NotApplicable} // the check decides done
		}
		for _, st := range states {
			ri.Choices = append(ri.Choices, choice{Value: st, Label: answerText(st)})
		}
		if n := len(d.Categories); n == 0 || d.Categories[n-1].Name != it.Category {
			d.Categories = append(d.Categories, reviewCategory{Name: it.Category})
		}
		d.Categories[len(d.Categories)-1].Items = append(d.Categories[len(d.Categories)-1].Items, ri)
	}
	return d, nil
}

// mayReview refuses a person who is neither an admin nor an editor of
// the service's team: the API's rule.
func (c *Console) mayReview(r *http.Request, p *Principal) (*catalog.Service, error) {
	svc, err := c.store.Service(r.Context(), r.PathValue("service"))
	if err != nil {
		return nil, err
	}
	if !p.CanChange(svc.Team) {
		return nil, tsuna.Errorf(tsuna.EFORBIDDEN, "token %q may not change the readiness review of %s: it needs an editor token of team %s, or an admin token; nothing was changed", p.Token.Name, svc.Name, svc.Team)
	}
	return svc, nil
}

func reviewURL(service, msg, anchor string) string {
	u := "/readiness/" + url.PathEscape(service) + "?done=" + url.QueryEscape(msg)
	if anchor != "" {
		u += "#" + anchor
	}
	return u
}

func (c *Console) openReview(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := c.mayReview(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	rev, created, err := c.readiness.Open(r.Context(), svc.Name, "", p.actor(w))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	msg := fmt.Sprintf("Opened review #%d against %s v%d.", rev.ID, rev.Checklist.Name, rev.Checklist.Version)
	if !created {
		msg = fmt.Sprintf("Review #%d is open and current; its checks were evaluated again.", rev.ID)
	}
	http.Redirect(w, r, reviewURL(svc.Name, msg, ""), http.StatusSeeOther)
}

func (c *Console) answerReview(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := c.mayReview(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	form := r.PostForm
	a := readiness.Answer{Item: form.Get("item"), State: form.Get("state"), Comment: strings.ReplaceAll(form.Get("comment"), "\r\n", "\n"),
		Evidence: strings.TrimSpace(form.Get("evidence"))}
	if _, err := c.readiness.Answer(r.Context(), svc.Name, "", a, p.actor(w)); err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, reviewURL(svc.Name, fmt.Sprintf("Answered %s: %s.", a.Item, answerText(a.State)), "item-"+a.Item), http.StatusSeeOther)
}

func (c *Console) closeReview(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := c.mayReview(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if _, err := c.readiness.Close(r.Context(), svc.Name, "", r.PostForm.Get("feedback"), p.actor(w)); err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, reviewURL(svc.Name, "Review closed; thank you for the feedback on the checklist.", ""), http.StatusSeeOther)
}
