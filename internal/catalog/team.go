package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// teamKind reads `apiVersion: tsuna/v1`, `kind: Team`.
var teamKind = docKind{
	apiVersions: []string{APIVersion},
	kind:        KindTeam,
	read: func(p *docParser, h *header, res *fileResult) {
		if t := p.team(h.body, h.pos); t != nil {
			res.teams = append(res.teams, t)
		}
	},
}

var teamFields = append(slices.Clone(headerFields), "name", "chat", "members", "oncall")

func (p *docParser) team(body ast.Node, docPos Pos) *Team {
	f, ok := p.fields(body, "Team", teamFields)
	if !ok {
		return nil
	}
	t := &Team{Pos: docPos}
	p.objectName(f, "Team", docPos, &t.Name, &t.Pos)
	if e, ok := f["chat"]; ok {
		p.chat(e, "Team", &t.Chat)
	}
	emails := map[string]int{} // index in members of each valid email
	if e, ok := f["members"]; ok {
		items, _ := p.list(e, "members")
		for i, it := range items {
			what := fmt.Sprintf("members[%d]", i)
			mf, ok := p.fields(it, what, []string{"name", "email", "slack"})
			if !ok {
				continue
			}
			var m Member
			if e, ok := mf["name"]; ok {
				m.Name, _ = p.str(e, what+".name")
			}
			if e, ok := mf["email"]; !ok || e.value == nil {
				p.errorf(p.pos(it), "%s: missing email; add `email: someone@example.com` (on-call lists refer to members by email)", what)
			} else if s, ok := p.str(e, what+".email"); !ok {
			} else if !validEmail(s) {
				p.errorf(p.valuePos(e), "%s.email %q is not an email address; write it as name@domain", what, s)
			} else if first, dup := emails[s]; dup {
				p.errorf(p.valuePos(e), "%s.email %q is already used by members[%d]; each member appears once", what, s, first)
			} else {
				m.Email = s
				emails[s] = i
			}
			if e, ok := mf["slack"]; ok {
				if s, ok := p.str(e, what+".slack"); !ok {
				} else if s != "" && !slackUserRE.MatchString(s) {
					p.errorf(p.valuePos(e), "%s.slack %q is not a Slack user ID; use the member ID from their Slack profile, such as U024BE7LH", what, s)
				} else {
					m.Slack = s
				}
			}
			t.Members = append(t.Members, m)
		}
	}
	if e, ok := f["oncall"]; ok {
		list, pos := p.strList(e, "oncall")
		for i, email := range list {
			if _, member := emails[email]; !member {
				p.errorf(pos[i], "oncall[%d] %q is not a member of team %q; add them to members or fix the email", i, email, t.Name)
			}
		}
		t.Oncall = list
	}
	if t.Name == "" {
		return nil
	}
	return t
}

func (p *docParser) chat(e entry, kind string, c *Chat) {
	if e.value == nil {
		return
	}
	cf, ok := p.fields(e.value, kind+" chat", []string{"channel"})
	if !ok {
		return
	}
	ce, ok := cf["channel"]
	if !ok {
		return
	}
	v, ok := p.str(ce, "chat.channel")
	if !ok {
		return
	}
	if v != "" && !validChannel(v) {
		p.errorf(p.valuePos(ce), "chat.channel %q is not a Slack channel: use its name (lowercase letters, digits, '-' and '_', at most 80, such as #team-payments) or its ID (such as C024BE91L)", v)
		return
	}
	c.Channel = v
}

// objectName reads and checks the required name of a Team or Service.
func (p *docParser) objectName(f map[string]entry, kind string, docPos Pos, name *string, pos *Pos) {
	e, ok := f["name"]
	if !ok || e.value == nil {
		p.errorf(p.entryOr(f, "name", docPos), "%s: missing name; add `name: <lowercase-name>`", kind)
		return
	}
	v, ok := p.str(e, "name")
	if !ok {
		return
	}
	*pos = p.valuePos(e)
	*name = v // kept even when invalid, so references to it resolve
	if !validName(v) {
		p.errorf(*pos, "invalid %s name %q: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (such as %q)", strings.ToLower(kind), v, suggestName(v))
		return
	}
}
