// Package readiness runs production readiness reviews: a service is
// reviewed against a versioned checklist (a catalog document, or the one
// tsuna ships); automated items are decided by facts tsuna already knows,
// manual items by people whose answers record who, when and until when;
// the service's level is the highest whose items are all done or accepted.
// A review turns stale when its checklist changes, a major incident hits
// the service or a fact flips, and the team is told once.
package readiness

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/readiness/fact"
)

// Answers a person gives.
const (
	Done          = "done"
	NotDone       = "not_done"
	AcceptedRisk  = "accepted_risk"
	NotApplicable = "not_applicable"
)

// AnswerStates lists the answers a person may give.
var AnswerStates = []string{Done, NotDone, AcceptedRisk, NotApplicable}

// States of an item in a review, besides the four answers.
const (
	// Unanswered: a manual item nobody answered.
	Unanswered = "unanswered"
	// Expired: its manual answer is older than the item's expiry.
	Expired = "expired"
	// Unknown: its check depends on a fact tsuna cannot read now.
	Unknown = "unknown"
	// Skipped: the item does not apply to the service's tier or lifecycle.
	Skipped = "skipped"
)

// Review statuses.
const (
	StatusOpen       = "open"
	StatusClosed     = "closed"
	StatusSuperseded = "superseded"
)

// Limits.
const (
	MaxComment  = 2000
	MaxFeedback = 4000
	MaxEvidence = 2000
)

// Answer is a person's answer to one item of a review.
type Answer struct {
	Item    string `json:"item"`
	State   string `json:"state"`
	Comment string `json:"comment,omitempty"`
	// Evidence is a link, such as a load test report.
	Evidence  string    `json:"evidence,omitempty"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Auto is what an item's check decided, with the fact values it read.
type Auto struct {
	Result   fact.Result    `json:"result"`
	Evidence map[string]any `json:"evidence,omitempty"`
	Error    string         `json:"error,omitempty"`
}

// Staleness says why a review no longer describes the service.
type Staleness struct {
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// Review is a service's review against one version of a checklist: a
// snapshot of the checklist, the checks' results and people's answers.
type Review struct {
	ID        int64  `json:"id"`
	Service   string `json:"service"`
	Team      string `json:"team"`
	Tier      int    `json:"tier"`
	Lifecycle string `json:"lifecycle"`
	// Checklist is the checklist as it was when the review was opened.
	Checklist   *catalog.Checklist `json:"checklist"`
	Status      string             `json:"status"`
	OpenedBy    string             `json:"openedBy"`
	OpenedAt    time.Time          `json:"openedAt"`
	ClosedBy    string             `json:"closedBy,omitempty"`
	ClosedAt    *time.Time         `json:"closedAt,omitempty"`
	EvaluatedAt time.Time          `json:"evaluatedAt"`
	// Auto maps item IDs to the checks' results at EvaluatedAt.
	Auto map[string]Auto `json:"auto"`
	// Answers maps item IDs to people's answers.
	Answers map[string]Answer `json:"answers"`
	Stale   *Staleness        `json:"stale,omitempty"`
	Summary Summary           `json:"summary"`
}

// Summary is a review's level and what blocks the next, as of At.
type Summary struct {
	// Level is the highest level reached; "" when none.
	Level string `json:"level"`
	// Next is the level above, "" at the top.
	Next string `json:"next,omitempty"`
	// Blocking lists the items that keep the service from Next.
	Blocking []string `json:"blocking"`
	// Counts counts items by state.
	Counts map[string]int `json:"counts"`
	// ValidUntil is when the first answer that counts expires: the
	// summary must be computed again then.
	ValidUntil *time.Time `json:"validUntil,omitempty"`
	At         time.Time  `json:"at"`
}

// ItemResult is one item of a review as it stands.
type ItemResult struct {
	Category string                 `json:"category"`
	Item     *catalog.ChecklistItem `json:"item"`
	State    string                 `json:"state"`
	// Why explains the state in a sentence.
	Why    string  `json:"why"`
	Auto   *Auto   `json:"auto,omitempty"`
	Answer *Answer `json:"answer,omitempty"`
}

// counts reports whether a state lets the service reach the item's level.
func counts(state string) bool {
	return state == Done || state == AcceptedRisk || state == NotApplicable || state == Skipped
}

// Assess computes every item's state and the review's summary at now.
func Assess(r *Review, now time.Time) ([]ItemResult, Summary) { return assess(r, now, true) }

// Summarize is the Summary of Assess, without saying why each item is in
// its state (what a scorecard of every service needs).
func Summarize(r *Review, now time.Time) Summary {
	_, sum := assess(r, now, false)
	return sum
}

// assess is Assess; the items' results are returned, with why, only when
// explain is set.
func assess(r *Review, now time.Time, explain bool) ([]ItemResult, Summary) {
	cl := r.Checklist
	var out []ItemResult
	sum := Summary{Counts: map[string]int{}, Blocking: []string{}, At: now}
	// blocked[i]: an item of level i does not count.
	blocked := make([]bool, len(cl.Levels))
	var blockers [][]string = make([][]string, len(cl.Levels))
	for _, cat := range cl.Categories {
		for i := range cat.Items {
			it := &cat.Items[i]
			res := itemState(it, r, now, explain)
			if explain {
				res.Category = cat.Name
				out = append(out, res)
			}
			sum.Counts[res.State]++
			if li := cl.LevelIndex(it.Level); li >= 0 && !counts(res.State) {
				blocked[li] = true
				blockers[li] = append(blockers[li], it.ID)
			}
			if res.Answer != nil && res.State != Expired && res.State != Skipped {
				if sum.ValidUntil == nil || res.Answer.ExpiresAt.Before(*sum.ValidUntil) {
					t := res.Answer.ExpiresAt
					sum.ValidUntil = &t
				}
			}
		}
	}
	reached := -1
	for i := range cl.Levels {
		if blocked[i] {
			break
		}
		reached = i
	}
	if reached >= 0 {
		sum.Level = cl.Levels[reached]
	}
	if reached+1 < len(cl.Levels) {
		sum.Next = cl.Levels[reached+1]
		sum.Blocking = blockers[reached+1]
	}
	return out, sum
}

func itemState(it *catalog.ChecklistItem, r *Review, now time.Time, explain bool) ItemResult {
	res := ItemResult{Item: it}
	if !it.AppliesTo(r.Tier, r.Lifecycle) {
		res.State = Skipped
		if explain {
			res.Why = fmt.Sprintf("does not apply to a tier %d %s service", r.Tier, r.Lifecycle)
		}
		return res
	}
	var auto *Auto
	if it.Check != "" {
		if a, ok := r.Auto[it.ID]; ok {
			auto = &a
		} else {
			auto = &Auto{Result: fact.Unknown}
		}
		res.Auto = auto
	}
	if a, ok := r.Answers[it.ID]; ok {
		res.Answer = &a
		if !now.Before(a.ExpiresAt) {
			res.State = Expired
			if explain {
				res.Why = fmt.Sprintf("answered %s by %s on %s, expired on %s: answer again", strings.ReplaceAll(a.State, "_", " "), a.By, a.At.Format(time.DateOnly), a.ExpiresAt.Format(time.DateOnly))
			}
			if auto != nil && !it.Manual {
				// The check still decides an automated item.
				res.State, res.Why = autoState(auto)
			}
			return res
		}
		switch a.State {
		case AcceptedRisk:
			res.State = AcceptedRisk
			if explain {
				res.Why = fmt.Sprintf("risk accepted by %s: %s", a.By, a.Comment)
			}
			return res
		case NotApplicable:
			res.State = NotApplicable
			if explain {
				res.Why = fmt.Sprintf("not applicable, says %s: %s", a.By, a.Comment)
			}
			return res
		case NotDone:
			res.State = NotDone
			if explain {
				res.Why = fmt.Sprintf("not done, says %s", a.By)
			}
			return res
		case Done:
			if auto != nil && auto.Result == fact.False {
				res.State = NotDone
				if explain {
					res.Why = fmt.Sprintf("confirmed by %s, but the check fails: %s", a.By, it.Check)
				}
				return res
			}
			res.State = Done
			if explain {
				res.Why = fmt.Sprintf("confirmed by %s on %s", a.By, a.At.Format(time.DateOnly))
			}
			return res
		}
	}
	if auto == nil {
		res.State, res.Why = Unanswered, "nobody answered yet"
		return res
	}
	res.State, res.Why = autoState(auto)
	if it.Manual && res.State == Done {
		res.State, res.Why = Unanswered, "the check passes; a person must confirm"
	}
	return res
}

func autoState(a *Auto) (string, string) {
	switch a.Result {
	case fact.True:
		return Done, "the check passes"
	case fact.False:
		return NotDone, "the check fails"
	}
	if a.Error != "" {
		return Unknown, "the check could not be evaluated: " + a.Error
	}
	return Unknown, "the check reads a fact tsuna cannot read now"
}

// ValidateAnswer checks a person's answer to item of r, with errors naming
// the field and what to change.
func ValidateAnswer(r *Review, a Answer) error {
	it := findItem(r.Checklist, a.Item)
	if it == nil {
		var ids []string
		for _, i := range r.Checklist.Items() {
			ids = append(ids, i.ID)
		}
		return tsuna.Errorf(tsuna.EINVALID, "item: %q is not an item of checklist %s version %d%s", a.Item, r.Checklist.Name, r.Checklist.Version, suggest(a.Item, ids))
	}
	if !slices.Contains(AnswerStates, a.State) {
		return tsuna.Errorf(tsuna.EINVALID, "state: %q; answer %s", a.State, strings.Join(AnswerStates, ", "))
	}
	a.Comment = strings.TrimSpace(a.Comment)
	switch {
	case (a.State == AcceptedRisk || a.State == NotApplicable) && a.Comment == "":
		what := "why the risk is accepted"
		if a.State == NotApplicable {
			what = "why the item does not apply"
		}
		return tsuna.Errorf(tsuna.EINVALID, "comment: required for %s; say %s", a.State, what)
	case len(a.Comment) > MaxComment || !utf8.ValidString(a.Comment):
		return tsuna.Errorf(tsuna.EINVALID, "comment: %d bytes; keep it under %d bytes of UTF-8", len(a.Comment), MaxComment)
	case (a.State == Done || a.State == NotDone) && !it.Manual:
		return tsuna.Errorf(tsuna.EINVALID, "state: item %s is decided by its check (%s); a person may only answer %s or %s (with a comment)", it.ID, it.Check, AcceptedRisk, NotApplicable)
	}
	if a.Evidence != "" {
		u, err := url.Parse(a.Evidence)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(a.Evidence) > MaxEvidence {
			return tsuna.Errorf(tsuna.EINVALID, "evidence: %q is not an http(s) link of at most %d bytes; link the report", a.Evidence, MaxEvidence)
		}
	}
	return nil
}

func suggest(s string, cands []string) string {
	best, bestD := "", 3
	for _, c := range cands {
		if d := distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return "; items: " + strings.Join(cands, ", ")
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev = cur
	}
	return prev[len(rb)]
}

func findItem(c *catalog.Checklist, id string) *catalog.ChecklistItem {
	for _, it := range c.Items() {
		if it.ID == id {
			return it
		}
	}
	return nil
}

// Digest is the SHA-256 of a checklist's canonical JSON: two applies of
// one version must have the same.
func Digest(c *catalog.Checklist) string {
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// compiled caches the programs of checklists by digest.
var compiled sync.Map // digest → map[item]*fact.Program

// Programs returns the compiled check of every item of c that has one.
func Programs(c *catalog.Checklist) (map[string]*fact.Program, error) {
	d := Digest(c)
	if p, ok := compiled.Load(d); ok {
		return p.(map[string]*fact.Program), nil
	}
	out := map[string]*fact.Program{}
	for _, it := range c.Items() {
		if it.Check == "" {
			continue
		}
		p, err := fact.Compile(it.Check)
		if err != nil {
			return nil, fmt.Errorf("checklist %s item %s: %w", c.Name, it.ID, err)
		}
		out[it.ID] = p
	}
	compiled.Store(d, out)
	return out, nil
}

// Evaluate runs every applicable check of c over v.
func Evaluate(c *catalog.Checklist, v fact.Values) (map[string]Auto, error) {
	progs, err := Programs(c)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Auto, len(progs))
	for id, p := range progs {
		res, err := p.Eval(v)
		a := Auto{Result: res, Evidence: make(map[string]any, len(p.Refs))}
		for _, ref := range p.Refs {
			if val, ok := v[ref]; ok {
				a.Evidence[ref] = val
			} else {
				a.Evidence[ref] = nil
			}
		}
		if err != nil {
			a.Error = err.Error()
		}
		out[id] = a
	}
	return out, nil
}

// Flipped returns the items whose check went from true to false or back
// between before and after, sorted.
func Flipped(before, after map[string]Auto) []string {
	var out []string
	for id, b := range before {
		a, ok := after[id]
		if ok && b.Result != fact.Unknown && a.Result != fact.Unknown && a.Result != b.Result {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
