package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/readiness"
)

// JobReadinessRefresh is the job kind of the periodic re-evaluation of
// open readiness reviews.
const JobReadinessRefresh = "readiness.refresh"

// buildReadiness builds the readiness service that the API, the console
// and the periodic job share, and registers the job's handler: it
// evaluates every open review's facts again (flipped checks, major
// incidents and new checklist versions make reviews stale, and the team
// is told once).
func (a *App) buildReadiness(ctx context.Context, inc *incident.Service, evaluator *budget.Evaluator) (*readiness.Service, error) {
	rs := readiness.New(a.db, readiness.Options{SLO: evaluator, Alerts: a.db, Incidents: readiness.IncidentsOf(inc), Postmortems: readiness.PostmortemsOf(a.db),
		GateLevel: a.cfg.ReadinessGateLevel, ConsoleURL: a.cfg.PublicURL, Log: a.log.With("component", "readiness")})
	if len(a.catalogFiles) > 0 {
		// Checklists of the catalog applied at start, as POST
		// /api/v1/catalog applies them.
		if _, err := rs.ApplyChecklists(ctx, a.catalogFiles, audit.Actor{Name: "tsuna serve --catalog", Source: audit.SourceCLI}, false); err != nil {
			return nil, fmt.Errorf("readiness checklists of %s: %w", a.cfg.Catalog, err)
		}
	}
	if lv := a.cfg.ReadinessGateLevel; lv != "" {
		cl, err := rs.Checklist(ctx, "")
		if err != nil {
			return nil, err
		}
		if cl.LevelIndex(lv) < 0 {
			return nil, tsuna.Errorf(tsuna.EINVALID, "--readiness-gate-level %q is not a level of checklist %s; use one of %s", lv, cl.Name, strings.Join(cl.Levels, ", "))
		}
		a.log.Info("deploy gate: production tier-1 services need a readiness level", "level", lv, "checklist", cl.Name)
	}
	log := a.log.With("component", "readiness")
	a.runner.Handle(JobReadinessRefresh, func(ctx context.Context, j jobs.Job) error {
		n, err := rs.Refresh(ctx)
		if err != nil {
			return fmt.Errorf("refresh open reviews: %w", err)
		}
		log.Info("readiness reviews evaluated again", "reviews", n)
		return nil
	})
	return rs, nil
}

// readinessTicks enqueues the re-evaluation once per period, keyed by the
// period's start, so across replicas it runs once per period.
func (a *App) readinessTicks(ctx context.Context) {
	every := a.cfg.ReadinessEvery
	if every <= 0 {
		every = 15 * time.Minute
	}
	t := time.NewTicker(min(every, time.Minute))
	defer t.Stop()
	for {
		now := time.Now().UTC()
		key := now.Truncate(every).Format(time.RFC3339)
		if created, err := a.runner.Enqueue(ctx, jobs.Job{Kind: JobReadinessRefresh, Key: key, RunAt: now, MaxAttempts: 3}); err != nil {
			if ctx.Err() == nil {
				a.log.Warn("readiness job", "err", fmt.Errorf("enqueue: %w", err))
			}
		} else if created {
			a.runner.Wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
