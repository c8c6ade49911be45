package web

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// stateBurning is a budget state of the console: the SLO's burn-rate
// alert condition holds (its budget may not be spent yet).
const stateBurning = "burning"

// snapshots keep the catalog and the budget status of every SLO in
// memory, for the pages that show all of them (home, services, team).
// The catalog is reloaded when the audit log's head moves (every catalog
// change writes to it, whichever replica made it); statuses are evaluated
// again after their TTL, in the background, while the previous ones are
// shown with their time.
type snapshots struct {
	store  Store
	budget Budget
	log    *slog.Logger
	ttl    time.Duration
	now    func() time.Time

	loadMu   sync.Mutex // one catalog load at a time
	mu       sync.Mutex
	cat      *catalogSnap
	stat     *statusSnap
	busy     bool // a background evaluation runs
	verified *verification
	walking  bool // a verification walk runs
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func newSnapshots(s Store, b Budget, log *slog.Logger, ttl time.Duration, now func() time.Time) *snapshots {
	ctx, cancel := context.WithCancel(context.Background())
	return &snapshots{store: s, budget: b, log: log, ttl: ttl, now: now, ctx: ctx, cancel: cancel}
}

func (s *snapshots) close() {
	s.cancel()
	s.wg.Wait()
}

// catalogSnap is the catalog as of one audit head.
type catalogSnap struct {
	head       int64
	teams      []*catalog.Team
	teamByName map[string]*catalog.Team
	services   []*catalog.Service // by name
	byName     map[string]*catalog.Service
	dependents map[string][]string // service -> services that depend on it
	slos       []*slo.SLO
}

// statusSnap is the status of every SLO of one catalog at one time.
type statusSnap struct {
	cat      *catalogSnap
	at       time.Time
	statuses []budget.Status // in the catalog's SLO order
	ranked   []int           // indexes, most urgent first
	service  map[string]string
	counts   map[string]int // SLOs by console state
	slosOf   map[string][]budget.Status
	byTeam   map[string]map[string]int // team -> console state -> SLOs

	gateOnce sync.Once
	denied   []budget.Decision // services the policy freezes now, by name
}

// deniedBy returns the deploy gate's denials of every service, decided
// once per snapshot.
func (st *statusSnap) deniedBy(p budget.Policy) []budget.Decision {
	st.gateOnce.Do(func() {
		for _, svc := range st.cat.services {
			if d := p.Gate(svc.Name, svc.Tier, st.slosOf[svc.Name]); !d.Allow {
				st.denied = append(st.denied, d)
			}
		}
	})
	return st.denied
}

// auditHead returns the sequence number of the newest audit record.
func auditHead(ctx context.Context, s audit.Store) (int64, error) {
	cp, err := s.AuditHead(ctx)
	if err != nil || cp == nil {
		return 0, err
	}
	return cp.Seq, nil
}

// catalog returns the current catalog, reloading it when it changed.
func (s *snapshots) catalog(ctx context.Context) (*catalogSnap, error) {
	head, err := auditHead(ctx, s.store)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	cur := s.cat
	s.mu.Unlock()
	if cur != nil && cur.head == head {
		return cur, nil
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	s.mu.Lock()
	cur = s.cat
	s.mu.Unlock()
	if cur != nil && cur.head >= head {
		return cur, nil
	}
	// Read the head first: a change committed while loading moves it
	// again, and the next request reloads.
	teams, err := s.store.Teams(ctx)
	if err != nil {
		return nil, err
	}
	svcs, err := s.store.Services(ctx, catalog.ServiceFilter{})
	if err != nil {
		return nil, err
	}
	c := &catalogSnap{head: head, teams: teams, teamByName: make(map[string]*catalog.Team, len(teams)), services: svcs,
		byName: make(map[string]*catalog.Service, len(svcs)), dependents: map[string][]string{}}
	for _, t := range teams {
		c.teamByName[t.Name] = t
	}
	for _, svc := range svcs {
		c.byName[svc.Name] = svc
		for _, d := range svc.DependsOn {
			c.dependents[d] = append(c.dependents[d], svc.Name)
		}
		c.slos = append(c.slos, svc.SLOs...)
	}
	s.mu.Lock()
	s.cat = c
	s.mu.Unlock()
	return c, nil
}

// statuses returns the statuses of cat's SLOs: fresh ones, or the last
// ones while newer are evaluated in the background. A catalog seen for
// the first time is evaluated at once.
func (s *snapshots) statuses(ctx context.Context, cat *catalogSnap) *statusSnap {
	s.mu.Lock()
	st := s.stat
	if st != nil && st.cat == cat {
		if s.now().Sub(st.at) >= s.ttl && !s.busy {
			s.busy = true
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				fresh := s.evaluate(s.ctx, cat)
				s.mu.Lock()
				defer s.mu.Unlock()
				s.busy = false
				if s.ctx.Err() == nil && (s.stat == nil || s.stat.at.Before(fresh.at)) {
					s.stat = fresh
				}
			}()
		}
		s.mu.Unlock()
		return st
	}
	s.mu.Unlock()
	fresh := s.evaluate(ctx, cat)
	s.mu.Lock()
	if s.stat == nil || s.stat.cat != cat || s.stat.at.Before(fresh.at) {
		s.stat = fresh
	}
	s.mu.Unlock()
	return fresh
}

// evaluate computes every status of cat and ranks them.
func (s *snapshots) evaluate(ctx context.Context, cat *catalogSnap) *statusSnap {
	now := s.now()
	st := &statusSnap{cat: cat, at: now, statuses: s.budget.Evaluate(ctx, cat.slos, now),
		service: map[string]string{}, counts: map[string]int{}, slosOf: map[string][]budget.Status{}, byTeam: map[string]map[string]int{}}
	st.ranked = make([]int, len(st.statuses))
	for i := range st.statuses {
		st.ranked[i] = i
		state := consoleState(&st.statuses[i])
		st.counts[state]++
		svc := st.statuses[i].Service
		st.slosOf[svc] = append(st.slosOf[svc], st.statuses[i])
		if st.byTeam[st.statuses[i].Team] == nil {
			st.byTeam[st.statuses[i].Team] = map[string]int{}
		}
		st.byTeam[st.statuses[i].Team][state]++
		if cur, ok := st.service[svc]; !ok || urgency(state) < urgency(cur) {
			st.service[svc] = state
		}
	}
	slices.SortStableFunc(st.ranked, func(a, b int) int { return compareStatus(&st.statuses[a], &st.statuses[b]) })
	return st
}

// consoleState is the state a person looks for: burning (an alert
// condition holds) before the evaluator's states.
func consoleState(s *budget.Status) string {
	if len(s.Firing) > 0 && s.State != budget.StateExhausted {
		return stateBurning
	}
	return s.State
}

// urgency orders console states, most urgent first.
func urgency(state string) int {
	switch state {
	case budget.StateExhausted:
		return 0
	case stateBurning:
		return 1
	case budget.StateOK:
		return 2
	case budget.StateNoData:
		return 3
	}
	return 4
}

// compareStatus ranks statuses: exhausted, burning (page before
// ticket), then by budget left, least first; no data and unknown last.
func compareStatus(a, b *budget.Status) int {
	if c := cmp.Compare(urgency(consoleState(a)), urgency(consoleState(b))); c != 0 {
		return c
	}
	if c := cmp.Compare(pageFirst(a), pageFirst(b)); c != 0 {
		return c
	}
	ra, rb := 1e18, 1e18
	if a.BudgetRemaining != nil {
		ra = *a.BudgetRemaining
	}
	if b.BudgetRemaining != nil {
		rb = *b.BudgetRemaining
	}
	if c := cmp.Compare(ra, rb); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Service, b.Service); c != 0 {
		return c
	}
	return cmp.Compare(a.SLO, b.SLO)
}

func pageFirst(s *budget.Status) int {
	if slices.Contains(s.Firing, slo.SeverityPage) {
		return 0
	}
	return 1
}

// verification is the audit chain's state as of one head.
type verification struct {
	head int64
	at   time.Time
	audit.Verification
}

// verify returns the last verification of the audit chain, and starts a
// new walk in the background, at most every 5 minutes, when the head moved
// or an hour passed, and walk is set (an admin looks: the API's rule for walking the log). Nil
// means no walk finished yet. One walk runs at a time.
func (s *snapshots) verify(ctx context.Context, walk bool) (*verification, error) {
	head, err := auditHead(ctx, s.store)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.verified
	if walk && !s.walking && (v == nil || (v.head != head || s.now().Sub(v.at) >= time.Hour) && s.now().Sub(v.at) >= 5*time.Minute) {
		s.walking = true
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			res, err := s.store.VerifyAudit(s.ctx, nil)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.walking = false
			if err != nil {
				if s.ctx.Err() == nil {
					s.log.Warn("verify the audit log", "err", err)
				}
				return
			}
			s.verified = &verification{head: head, at: s.now(), Verification: res}
		}()
	}
	return v, nil
}
