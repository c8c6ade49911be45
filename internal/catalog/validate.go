package catalog

import (
	"cmp"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

var (
	slackUserRE    = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	labelNameRE    = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	channelNameRE  = regexp.MustCompile(`^#?[a-z0-9][a-z0-9_-]{0,79}$`)
	channelIDRE    = regexp.MustCompile(`^[CGD][A-Z0-9]{8,20}$`)
	nameInvalidRun = regexp.MustCompile(`[^a-z0-9]+`)
)

// validName reports whether s is a DNS label: 1–63 lowercase letters,
// digits and '-', starting and ending with a letter or digit.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// suggestName returns a valid name close to s.
func suggestName(s string) string {
	n := strings.Trim(nameInvalidRun.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(n) > 63 {
		n = strings.Trim(n[:63], "-")
	}
	if n == "" {
		return "my-service"
	}
	return n
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func validChannel(s string) bool {
	return channelNameRE.MatchString(s) || channelIDRE.MatchString(s)
}

// didYouMean returns `; did you mean "x"?` for the candidate closest to s,
// or "" when none is close, computed when the message is formatted.
func didYouMean(s string, candidates []string) lazy {
	return func() string {
		if c := closest(s, candidates); c != "" {
			return fmt.Sprintf("; did you mean %q?", c)
		}
		return ""
	}
}

// closest returns the candidate within a few edits of s, or "".
func closest(s string, candidates []string) string {
	work := -1 // unbounded
	return closestWithin(s, candidates, &work)
}

// closestWithin is closest, spending at most *work edit-distance cells
// (unbounded when negative) and deducting those it spends. Names longer
// than MaxSuggestionLength get no suggestion.
func closestWithin(s string, candidates []string, work *int) string {
	if len(s) > MaxSuggestionLength {
		return ""
	}
	limit := max(1, len(s)/3) // the farthest a suggestion may be
	ls := strings.ToLower(s)
	rs := []rune(ls)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if len(c) > (len(rs)+limit)*utf8.UTFMax {
			continue
		}
		rc := []rune(strings.ToLower(c))
		if abs(len(rc)-len(rs)) >= bestDist {
			continue // at least that many edits
		}
		if *work >= 0 {
			cells := len(rs) * len(rc)
			if cells > *work {
				return best
			}
			*work -= cells
		}
		if d := distanceWithin(rs, rc, bestDist-1); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// distanceWithin is the Levenshtein edit distance between a and b when it is at most
// bound, else a number above bound; it stops as soon as a row exceeds it.
func distanceWithin(a, b []rune, bound int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > bound {
			return bound + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// validate checks what spans documents: duplicates, references between
// objects, and channels. It sorts c's teams and services by name and drops
// duplicates.
// It reports at most limit diagnostics, counting the others.
func validate(c *Catalog, files []File, foreign []foreignSLO, indicators map[string]*slo.Ratio, refs []ruleRef, levels []*SeverityLevel, limit int) report {
	d := &checker{report: report{limit: max(limit, 0)}, suggestionWork: suggestionWork}
	c.SeverityLevels = d.severityLevels(levels)
	byPos := func(a, b Pos) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	}
	slices.SortStableFunc(c.Teams, func(a, b *Team) int { return cmp.Or(strings.Compare(a.Name, b.Name), byPos(a.Pos, b.Pos)) })
	slices.SortStableFunc(c.Services, func(a, b *Service) int { return cmp.Or(strings.Compare(a.Name, b.Name), byPos(a.Pos, b.Pos)) })

	c.Teams = dedupe(c.Teams, func(t *Team) string { return t.Name }, func(dup, first *Team) {
		d.errorf(dup.Pos, "team %q is declared twice: here and at %s; keep one declaration", dup.Name, first.Pos)
	})
	c.Services = dedupe(c.Services, func(s *Service) string { return s.Name }, func(dup, first *Service) {
		d.errorf(dup.Pos, "service %q is declared twice: here and at %s; keep one declaration or rename one", dup.Name, first.Pos)
	})

	teamNames := make([]string, len(c.Teams))
	for i, t := range c.Teams {
		teamNames[i] = t.Name
	}
	serviceNames := make([]string, len(c.Services))
	for i, s := range c.Services {
		serviceNames[i] = s.Name
	}
	for _, s := range c.Services {
		team := c.Team(s.Team)
		switch {
		case s.Team == "":
			// reported by the parser as missing
		case team == nil:
			d.errorf(s.teamPos, "unknown team %q%s", s.Team, lazy(func() string {
				if c := d.closest(s.Team, teamNames); c != "" {
					return fmt.Sprintf("; did you mean %q?", c)
				}
				return ": declare it with `kind: Team` or name an existing team"
			}))
		case s.Channel(team) == "":
			d.warnf(s.Pos, "service %q has no chat channel: set chat.channel on team %q or on the service, or its alerts go to the fallback channel", s.Name, team.Name)
		}
		seen := map[string]bool{}
		for i, dep := range s.DependsOn {
			switch target := c.Service(dep); {
			case dep == s.Name:
				d.errorf(s.depPos[i], "service %q depends on itself; remove it from dependsOn", s.Name)
			case target == nil:
				d.errorf(s.depPos[i], "unknown dependency %q%s", dep, lazy(func() string {
					if c := d.closest(dep, serviceNames); c != "" {
						return fmt.Sprintf("; did you mean %q?", c)
					}
					return fmt.Sprintf(": declare a Service named %q or fix the name", dep)
				}))
			case seen[dep]:
				d.warnf(s.depPos[i], "dependency %q is listed twice; remove one", dep)
			case target.Lifecycle == LifecycleDeprecated && s.Lifecycle != LifecycleDeprecated:
				d.warnf(s.depPos[i], "service %q depends on %q, which is deprecated; plan a replacement", s.Name, dep)
			}
			seen[dep] = true
		}
	}
	d.linkSLOs(c, foreign, indicators)
	for _, r := range refs {
		switch {
		case r.kind == "service" && c.Service(r.name) == nil:
			d.errorf(r.pos, "alert label service=%q names no service of the catalog%s", r.name, d.didYouMean(r.name, serviceNames))
		case r.kind == "team" && c.Team(r.name) == nil:
			d.errorf(r.pos, "alert label team=%q names no team of the catalog%s", r.name, d.didYouMean(r.name, teamNames))
		}
	}
	d.fillSources(files)
	return d.report
}

// linkSLOs gives each SLO its service's team and runbook, resolves OpenSLO
// indicator references, and collects every SLO in c.SLOs.
func (d *checker) linkSLOs(c *Catalog, foreign []foreignSLO, indicators map[string]*slo.Ratio) {
	type key struct{ service, name string }
	declared := map[key]Pos{}
	add := func(o *slo.SLO, pos Pos) bool {
		if o.Name == "" || o.Service == "" {
			return false
		}
		k := key{o.Service, o.Name}
		if first, dup := declared[k]; dup {
			d.errorf(pos, "SLO %q of service %q is declared twice: here and at %s; keep one", o.Name, o.Service, first)
			return false
		}
		declared[k] = pos
		if svc := c.Service(o.Service); svc != nil {
			o.Team = svc.Team
			o.Runbook = svc.Links.Runbook
		}
		c.SLOs = append(c.SLOs, o)
		return true
	}
	for _, s := range c.Services {
		for _, o := range s.SLOs {
			if s.Links.Runbook == "" && o.SLI.Events == nil {
				d.warnf(s.Pos, "the alerts of SLO %q will have no runbook_url: set links.runbook on service %q", o.Name, s.Name)
			}
			add(o, s.Pos)
		}
	}
	for _, f := range foreign {
		if f.windows != nil {
			continue // linked below
		}
		if f.indicatorRef != "" {
			r, ok := indicators[f.indicatorRef]
			switch {
			case !ok:
				d.errorf(f.refPos, "indicatorRef %q names no OpenSLO SLI document; declare `kind: SLI` with metadata.name: %s", f.indicatorRef, f.indicatorRef)
			case r != nil:
				f.slo.SLI.Ratio = r
			}
		}
		svc := c.Service(f.slo.Service)
		if len(c.Services) > 0 && svc == nil {
			d.warnf(f.pos, "SLO %q is for service %q, which is not in the catalog: its alerts carry no team and no runbook", f.slo.Name, f.slo.Service)
		}
		if add(f.slo, f.pos) && svc != nil {
			svc.SLOs = append(svc.SLOs, f.slo) // stored and evaluated with its service
		}
		d.checkRoutingLabels(c, f)
	}
	d.linkAlertWindows(c, foreign)
	slices.SortFunc(c.SLOs, func(a, b *slo.SLO) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Name, b.Name))
	})
}

// checker collects the diagnostics of the checks across files.
type checker struct {
	report report
	// suggestionWork is what "did you mean" may still spend; see
	// suggestionWork.
	suggestionWork int
}

func (c *checker) errorf(pos Pos, format string, args ...any) {
	c.report.add(SeverityError, pos, format, args...)
}

func (c *checker) warnf(pos Pos, format string, args ...any) {
	c.report.add(SeverityWarning, pos, format, args...)
}

// closest is closest within the checker's suggestion work.
func (c *checker) closest(s string, candidates []string) string {
	return closestWithin(s, candidates, &c.suggestionWork)
}

// didYouMean is didYouMean within the checker's suggestion work, computed
// only if the diagnostic is kept.
func (c *checker) didYouMean(s string, candidates []string) lazy {
	return func() string {
		if m := c.closest(s, candidates); m != "" {
			return fmt.Sprintf("; did you mean %q?", m)
		}
		return ""
	}
}

// fillSources sets the source lines of the diagnostics, reading each file
// once, one at a time (from disk when its data was let go).
func (c *checker) fillSources(files []File) {
	byPath := make(map[string]*File, len(files))
	for i := range files {
		if _, ok := byPath[files[i].Path]; !ok {
			byPath[files[i].Path] = &files[i]
		}
	}
	ds := c.report.diags
	slices.SortStableFunc(ds, func(a, b Diagnostic) int { return cmp.Compare(a.File, b.File) })
	for len(ds) > 0 {
		n := 1
		for n < len(ds) && ds[n].File == ds[0].File {
			n++
		}
		if f := byPath[ds[0].File]; f != nil {
			if data, err := readFile(f); err == nil {
				(&sourceLines{data: data}).fill(ds[:n])
			}
		}
		ds = ds[n:]
	}
}

// dedupe drops from sorted every element whose name equals the one before
// it, reporting each dropped element with the first of its name.
func dedupe[T any](sorted []T, key func(T) string, report func(dup, first T)) []T {
	out := sorted[:0]
	for _, v := range sorted {
		if n := len(out); n > 0 {
			if key(v) == key(out[n-1]) {
				report(v, out[n-1])
				continue
			}
		}
		out = append(out, v)
	}
	return out
}
