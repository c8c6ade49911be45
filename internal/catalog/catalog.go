// Package catalog reads, validates and compares the service catalog: the
// YAML files in which product teams declare their teams and services.
package catalog

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// APIVersion is the only apiVersion tsuna's own documents use.
const APIVersion = "tsuna/v1"

// Kinds of catalog objects.
const (
	KindTeam    = "Team"
	KindService = "Service"
)

// Lifecycle stages of a service.
const (
	LifecycleExperimental = "experimental"
	LifecycleProduction   = "production"
	LifecycleDeprecated   = "deprecated"
)

// Default values applied to omitted fields.
const (
	DefaultTier      = 3
	DefaultLifecycle = LifecycleProduction
)

// Catalog is a validated set of teams and services, each sorted by name,
// and every SLO: those of services and those of foreign specs (Sloth,
// OpenSLO), sorted by service and name.
type Catalog struct {
	Teams    []*Team
	Services []*Service
	SLOs     []*slo.SLO
	// AlertWindows are the teams' own alert windows (Sloth's AlertWindows
	// documents), at most one per period; each SLO of that period has them.
	AlertWindows []*slo.WindowSet
	// SeverityLevels are the incident severity levels the catalog
	// declares; none means the defaults (DefaultSeverityLevels).
	SeverityLevels []SeverityLevel
}

// Team is a group of people that owns services and is reached in one chat
// channel.
type Team struct {
	Name    string   `json:"name"`
	Chat    Chat     `json:"chat,omitzero"`
	Members []Member `json:"members,omitempty"`
	// Oncall lists member emails in escalation order.
	Oncall []string `json:"oncall,omitempty"`

	Pos Pos `json:"-"`
}

// Chat says where a team or service is reached.
type Chat struct {
	Channel string `json:"channel,omitempty"`
}

// Member is a person in a team.
type Member struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
	// Slack is the member's Slack user ID, such as U024BE7LH.
	Slack string `json:"slack,omitempty"`
}

// Service is a deployable unit owned by one team.
type Service struct {
	Name        string            `json:"name"`
	Team        string            `json:"team"`
	Tier        int               `json:"tier"`
	Lifecycle   string            `json:"lifecycle"`
	Description string            `json:"description,omitempty"`
	Links       Links             `json:"links,omitzero"`
	DependsOn   []string          `json:"dependsOn,omitempty"`
	Chat        Chat              `json:"chat,omitzero"`
	Labels      map[string]string `json:"labels,omitempty"`
	SLOs        []*slo.SLO        `json:"slos,omitempty"`

	Pos     Pos   `json:"-"` // position of the name
	teamPos Pos   // position of the team value
	depPos  []Pos // position of each dependsOn item
}

// Links point to a service's operational documents.
type Links struct {
	Runbook   string `json:"runbook,omitempty"`
	Dashboard string `json:"dashboard,omitempty"`
	Repo      string `json:"repo,omitempty"`
	Docs      string `json:"docs,omitempty"`
}

// Channel returns the chat channel alerts for s go to: its own, else its
// team's, else "".
func (s *Service) Channel(team *Team) string {
	if s.Chat.Channel != "" {
		return s.Chat.Channel
	}
	if team != nil {
		return team.Chat.Channel
	}
	return ""
}

// Object is one catalog object in the canonical form that is stored and
// compared: its kind, name, owning team and JSON spec.
type Object struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Team is the owning team: the service's team, or the team's own name.
	Team string `json:"team"`
	// Spec is the canonical JSON of the object.
	Spec json.RawMessage `json:"spec"`
}

// Objects returns every object of c in canonical form, teams first, each
// kind sorted by name.
func (c *Catalog) Objects() []Object {
	out := make([]Object, 0, len(c.Teams)+len(c.Services))
	for _, t := range c.Teams {
		out = append(out, Object{Kind: KindTeam, Name: t.Name, Team: t.Name, Spec: mustJSON(t)})
	}
	for _, s := range c.Services {
		out = append(out, Object{Kind: KindService, Name: s.Name, Team: s.Team, Spec: mustJSON(s)})
	}
	// Severity levels belong to no team: only an admin changes them.
	for _, l := range c.SeverityLevels {
		out = append(out, Object{Kind: KindSeverityLevel, Name: l.Name, Spec: mustJSON(l)})
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("catalog: marshal: " + err.Error()) // only plain types: cannot fail
	}
	return b
}

// Team returns the team named name, or nil.
func (c *Catalog) Team(name string) *Team {
	i, ok := slices.BinarySearchFunc(c.Teams, name, func(t *Team, n string) int { return strings.Compare(t.Name, n) })
	if !ok {
		return nil
	}
	return c.Teams[i]
}

// Service returns the service named name, or nil.
func (c *Catalog) Service(name string) *Service {
	i, ok := slices.BinarySearchFunc(c.Services, name, func(s *Service, n string) int { return strings.Compare(s.Name, n) })
	if !ok {
		return nil
	}
	return c.Services[i]
}
