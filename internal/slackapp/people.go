package slackapp

import (
	"context"
	"encoding/json"
	"io"
	"regexp"
	"slices"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
)

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

// people maps Slack users to catalog members, by the members' Slack IDs.
type people struct {
	teams []*catalog.Team
}

func (a *App) people(ctx context.Context) (*people, error) {
	teams, err := a.cfg.Store.Teams(ctx)
	if err != nil {
		return nil, err
	}
	return &people{teams: teams}, nil
}

// member returns the catalog member with Slack user ID id and the teams
// it belongs to.
func (p *people) member(id string) (*catalog.Member, []string) {
	var m *catalog.Member
	var teams []string
	for _, t := range p.teams {
		for i := range t.Members {
			if id != "" && t.Members[i].Slack == id {
				m = &t.Members[i]
				teams = append(teams, t.Name)
			}
		}
	}
	return m, teams
}

// actor is the incident actor behind Slack user id: the catalog member
// (by email) with the rights of its teams, else the Slack user ID, with
// the rights of anyone (declare, add notes). Its source is chat.
func (p *people) actor(id string) incident.Actor {
	a := incident.Actor{Name: id, Source: audit.SourceChat, Slack: id}
	if m, teams := p.member(id); m != nil {
		a.Name, a.Teams = m.Email, teams
	}
	return a
}

// person is how an incident names Slack user id: the catalog member's
// email, else the Slack ID.
func (p *people) person(id string) string {
	if m, _ := p.member(id); m != nil && m.Email != "" {
		return m.Email
	}
	return id
}

// slackID returns the Slack user ID of a person an incident names (a
// member's email, or a Slack ID), or "".
func (p *people) slackID(person string) string {
	if person == "" {
		return ""
	}
	if incident.IsSlackUser(person) {
		return person
	}
	for _, t := range p.teams {
		for _, m := range t.Members {
			if m.Email == person && m.Slack != "" {
				return m.Slack
			}
		}
	}
	return ""
}

// mentionRE matches a user mention as Slack escapes it in a command's
// text: <@U123> or <@U123|name>.
var mentionRE = regexp.MustCompile(`^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$`)

// userArg reads a user argument of a subcommand: a mention, a bare Slack
// user ID, or "me" (the caller). It returns "" for anything else.
func userArg(s, caller string) string {
	if s == "me" {
		return caller
	}
	if m := mentionRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	if incident.IsSlackUser(s) {
		return s
	}
	return ""
}

// teamOf returns the team named name, or nil.
func (p *people) teamOf(name string) *catalog.Team {
	i := slices.IndexFunc(p.teams, func(t *catalog.Team) bool { return t.Name == name })
	if i < 0 {
		return nil
	}
	return p.teams[i]
}
