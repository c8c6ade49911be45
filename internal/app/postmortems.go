package app

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/github"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/server"
)

// PostmortemConfig is what `tsuna serve` is told about postmortems.
type PostmortemConfig struct {
	// GitHubRepo (owner/name) receives exported postmortems and tracked
	// actions, with the token in GitHubTokenFile; "" exports none.
	GitHubRepo, GitHubTokenFile string
	// GitHubAPIURL is GitHub Enterprise's (or a test server's) API; "" is
	// api.github.com.
	GitHubAPIURL string
	// GitHubWebhookSecretFile holds the secret of the issues webhook
	// (/hooks/github); "" refuses every delivery (the periodic sync still
	// closes actions whose issue was closed).
	GitHubWebhookSecretFile string
	// Tick is how often each replica enqueues the periodic postmortem jobs
	// (digests, tracker sync, onboarding sweep): 1 minute by default.
	Tick time.Duration
}

// buildPostmortems builds the postmortem service, registers its jobs and
// metrics, and returns the server's configuration of it.
func (a *App) buildPostmortems(inc *incident.Service, evaluator *budget.Evaluator) (server.PostmortemsConfig, error) {
	cfg := a.cfg.Postmortems
	var out server.PostmortemsConfig
	opts := postmortem.Options{Incidents: inc, Linker: inc, Budget: evaluator, Jobs: a.runner, ConsoleURL: a.cfg.PublicURL,
		Levels: inc.Levels, Log: a.log.With("component", "postmortems")}
	if cfg.GitHubRepo != "" {
		gh, err := github.New(github.Config{Repo: cfg.GitHubRepo, TokenFile: cfg.GitHubTokenFile, BaseURL: cfg.GitHubAPIURL})
		if err != nil {
			return out, err
		}
		opts.Tracker = gh
		a.log.Info("postmortems and tracked actions export to GitHub", "repo", cfg.GitHubRepo)
	}
	if cfg.GitHubWebhookSecretFile != "" {
		b, err := os.ReadFile(cfg.GitHubWebhookSecretFile)
		if err != nil {
			return out, tsuna.Errorf(tsuna.EINVALID, "--github-webhook-secret-file %s: cannot read it", cfg.GitHubWebhookSecretFile)
		}
		if out.WebhookSecret = []byte(strings.TrimSpace(string(b))); len(out.WebhookSecret) < 16 {
			return out, tsuna.Errorf(tsuna.EINVALID, "--github-webhook-secret-file %s: use a secret of at least 16 characters", cfg.GitHubWebhookSecretFile)
		}
	}
	svc := postmortem.New(a.db, opts)
	if len(a.catalogFiles) > 0 {
		// The templates of the catalog applied at start are stored like
		// those applied later (POST /api/v1/catalog): every replica drafts
		// from the newest version.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := svc.ApplyTemplates(ctx, a.catalogFiles, audit.Actor{Name: "tsuna serve --catalog", Source: audit.SourceCLI}, false); err != nil {
			return out, fmt.Errorf("postmortem templates of %s: %w", a.cfg.Catalog, err)
		}
	}
	for kind, h := range svc.Handlers() {
		a.runner.Handle(kind, h)
	}
	a.registry.MustRegister(postmortem.NewCollector(a.db, a.log.With("component", "postmortems")))
	a.postmortems = svc
	out.Service = svc
	return out, nil
}

// postmortemTicks enqueues the periodic postmortem jobs on every tick;
// jobs are keyed, so across replicas each runs once.
func (a *App) postmortemTicks(ctx context.Context) {
	every := a.cfg.Postmortems.Tick
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := a.postmortems.Tick(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("postmortem jobs", "err", fmt.Errorf("tick: %w", err))
		} else {
			a.runner.Wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// chatPostmortems gives the Slack app, which is built before the
// postmortem service (that drafts from the incidents the app serves), the
// service: every call comes after New has built both.
type chatPostmortems struct{ a *App }

// Draft drafts the postmortem of an incident.
func (c chatPostmortems) Draft(ctx context.Context, req postmortem.DraftRequest, a postmortem.Actor) (*postmortem.Postmortem, bool, error) {
	return c.a.postmortems.Draft(ctx, req, a)
}

// URL returns the console link of a postmortem.
func (c chatPostmortems) URL(p *postmortem.Postmortem) string { return c.a.postmortems.URL(p) }
