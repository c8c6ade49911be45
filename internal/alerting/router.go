package alerting

import (
	"context"

	"github.com/tsuna-sre/tsuna/internal/catalog"
)

// Catalog finds the services and teams that alerts are routed to.
type Catalog interface {
	Service(ctx context.Context, name string) (*catalog.Service, error)
	Team(ctx context.Context, name string) (*catalog.Team, error)
}

// CatalogDirectory routes with the stored catalog.
type CatalogDirectory struct {
	Ctx     context.Context
	Catalog Catalog
}

// Channel finds the route of a service (or, without one, of a team): the
// service's channel, else its team's; the mention is the team's first
// on-call member.
func (d CatalogDirectory) Channel(service, team string) (Route, bool) {
	r := Route{Service: service, Team: team}
	var channel string
	if service != "" {
		if svc, err := d.Catalog.Service(d.Ctx, service); err == nil {
			if team == "" {
				team = svc.Team
			}
			r.Team, r.Runbook, r.Dashboard, channel = team, svc.Links.Runbook, svc.Links.Dashboard, svc.Chat.Channel
		}
	}
	if team == "" {
		return r, false
	}
	t, err := d.Catalog.Team(d.Ctx, team)
	if err != nil {
		return r, false
	}
	if channel == "" {
		channel = t.Chat.Channel
	}
	if len(t.Oncall) > 0 {
		for _, m := range t.Members {
			if m.Email == t.Oncall[0] {
				r.Mention = m.Slack
			}
		}
	}
	r.Channel = channel
	return r, channel != ""
}
