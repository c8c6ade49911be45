package catalog

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// File is one catalog source file.
type File struct {
	// Path names the file in diagnostics.
	Path string
	// Data is the file's content; when nil, Parse reads Path from disk.
	Data []byte
}

// Parse parses and validates files. It returns the catalog, or nil when any
// diagnostic is an error, and every diagnostic sorted by position. Files are
// parsed concurrently; the result does not depend on their order.
func Parse(files []File) (*Catalog, Diagnostics) {
	results := make([]fileResult, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for i := range next {
				results[i] = parseFile(&files[i])
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()

	var diags Diagnostics
	var teams []*Team
	var services []*Service
	var foreign []foreignSLO
	var refs []ruleRef
	indicators := map[string]*slo.Ratio{}
	for _, r := range results {
		diags = append(diags, r.diags...)
		teams = append(teams, r.teams...)
		services = append(services, r.services...)
		foreign = append(foreign, r.foreign...)
		refs = append(refs, r.ruleRefs...)
		maps.Copy(indicators, r.indicators)
	}
	c := &Catalog{Teams: teams, Services: services}
	diags = append(diags, validate(c, files, foreign, indicators, refs)...)
	diags.Sort()
	if diags.HasErrors() {
		return nil, diags
	}
	return c, diags
}

type fileResult struct {
	teams      []*Team
	services   []*Service
	ruleRefs   []ruleRef
	foreign    []foreignSLO
	indicators map[string]*slo.Ratio // OpenSLO SLI documents by name
	diags      Diagnostics
}

// docParser turns one file's YAML documents into objects, collecting
// diagnostics instead of stopping at the first.
type docParser struct {
	file     *File
	lines    *sourceLines
	diags    Diagnostics
	anchors  map[string]ast.Node
	interned map[string]map[string]string // see intern
}

func parseFile(f *File) fileResult {
	data := f.Data
	if data == nil {
		var err error
		if data, err = os.ReadFile(f.Path); err != nil {
			return fileResult{diags: Diagnostics{{File: f.Path, Line: 1, Column: 1, Severity: SeverityError,
				Message: fmt.Sprintf("cannot read the file: %v", err)}}}
		}
	}
	p := &docParser{file: f, lines: &sourceLines{data: data}}
	var res fileResult
	astFile, err := parser.ParseBytes(data, 0)
	if err != nil {
		p.syntaxError(err)
		res.diags = p.diags
		return res
	}
	for _, doc := range astFile.Docs {
		p.anchors = map[string]ast.Node{}
		body := p.unwrap(doc.Body)
		if body == nil {
			continue // an empty document, such as a leading "---"
		}
		if _, ok := body.(*ast.CommentGroupNode); ok {
			continue
		}
		switch obj := p.document(body).(type) {
		case *Team:
			if obj != nil {
				res.teams = append(res.teams, obj)
			}
		case *Service:
			if obj != nil {
				res.services = append(res.services, obj)
			}
		case []foreignSLO:
			res.foreign = append(res.foreign, obj...)
		case []ruleRef:
			res.ruleRefs = append(res.ruleRefs, obj...)
		case openSLOIndicator:
			if res.indicators == nil {
				res.indicators = map[string]*slo.Ratio{}
			}
			res.indicators[obj.name] = obj.ratio
		}
	}
	res.diags = p.diags
	return res
}

func (p *docParser) syntaxError(err error) {
	var se *yaml.SyntaxError
	pos := Pos{File: p.file.Path, Line: 1, Column: 1}
	msg := err.Error()
	if errors.As(err, &se) {
		msg = se.Message
		if se.Token != nil {
			pos.Line, pos.Column = se.Token.Position.Line, se.Token.Position.Column
		}
	}
	p.errorf(pos, "invalid YAML: %s; fix the syntax at this line (check indentation, quotes and the ':' after each key)", msg)
}

// sourceLines finds the text of a line on demand; most files need none.
type sourceLines struct {
	once  sync.Once
	data  []byte
	start []int
}

func (s *sourceLines) line(n int) string {
	s.once.Do(func() {
		s.start = append(s.start, 0)
		for i, c := range s.data {
			if c == '\n' {
				s.start = append(s.start, i+1)
			}
		}
	})
	if n < 1 || n > len(s.start) {
		return ""
	}
	end := len(s.data)
	if n < len(s.start) {
		end = s.start[n] - 1
	}
	return strings.TrimRight(string(s.data[s.start[n-1]:end]), "\r")
}

func (p *docParser) add(sev Severity, pos Pos, msg string) {
	p.diags = append(p.diags, Diagnostic{File: pos.File, Line: pos.Line, Column: pos.Column,
		Severity: sev, Message: msg, Source: p.lines.line(pos.Line)})
}

func (p *docParser) errorf(pos Pos, format string, args ...any) {
	p.add(SeverityError, pos, fmt.Sprintf(format, args...))
}

func (p *docParser) warnf(pos Pos, format string, args ...any) {
	p.add(SeverityWarning, pos, fmt.Sprintf(format, args...))
}

// pos returns the position of n: for a mapping, the position of its first key.
func (p *docParser) pos(n ast.Node) Pos {
	switch v := n.(type) {
	case *ast.MappingNode:
		if len(v.Values) > 0 {
			return p.pos(v.Values[0])
		}
	case *ast.MappingValueNode:
		return p.pos(v.Key)
	}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return Pos{File: p.file.Path, Line: tk.Position.Line, Column: tk.Position.Column}
		}
	}
	return Pos{File: p.file.Path, Line: 1, Column: 1}
}

// unwrap resolves anchors, aliases and tags to the node they stand for.
func (p *docParser) unwrap(n ast.Node) ast.Node {
	for range 64 { // bounded: an alias cannot refer to itself, but be safe
		switch v := n.(type) {
		case *ast.AnchorNode:
			if v.Name != nil {
				p.anchors[v.Name.String()] = v.Value
			}
			n = v.Value
		case *ast.AliasNode:
			if v.Value == nil {
				return nil
			}
			target, ok := p.anchors[v.Value.String()]
			if !ok {
				p.errorf(p.pos(v), "unknown alias *%s: define the anchor &%s before using it", v.Value, v.Value)
				return nil
			}
			n = target
		case *ast.TagNode:
			if v.Start != nil && v.Start.Value == "!!str" {
				if s, ok := v.Value.(ast.ScalarNode); ok && v.Value.GetToken() != nil {
					return &ast.StringNode{BaseNode: &ast.BaseNode{}, Token: v.Value.GetToken(), Value: fmt.Sprint(s.GetValue())}
				}
			}
			n = v.Value
		default:
			return n
		}
	}
	return n
}

// mappingPairs returns the key: value pairs of a mapping node. goccy/go-yaml
// represents a mapping of one pair as the pair itself.
func mappingPairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	}
	return nil, false
}

// entry is one key of a mapping with its value.
type entry struct {
	key   string
	pos   Pos      // position of the key
	value ast.Node // unwrapped; nil for an explicit null
}

// fields reads a mapping whose keys must be among allowed, reporting
// duplicates and unknown keys. what names the mapping in messages.
func (p *docParser) fields(n ast.Node, what string, allowed []string) (map[string]entry, bool) {
	pairs, ok := mappingPairs(n)
	if !ok {
		p.errorf(p.pos(n), "%s must be a mapping of key: value lines, got %s", what, describe(n))
		return nil, false
	}
	out := make(map[string]entry, len(pairs))
	for _, kv := range pairs {
		kpos := p.pos(kv.Key)
		if _, ok := kv.Key.(*ast.MergeKeyNode); ok {
			p.errorf(kpos, "merge keys (<<) are not supported in %s; write the fields out", what)
			continue
		}
		key := kv.Key.String()
		if prev, dup := out[key]; dup {
			p.errorf(kpos, "%s sets %q twice (first at line %d); keep one", what, key, prev.pos.Line)
			continue
		}
		if !slices.Contains(allowed, key) {
			if hint := didYouMean(key, allowed); hint != "" {
				p.errorf(kpos, "unknown field %q in %s%s", key, what, hint)
			} else {
				p.errorf(kpos, "unknown field %q in %s; allowed fields: %s", key, what, strings.Join(allowed, ", "))
			}
			continue
		}
		v := p.unwrap(kv.Value)
		if _, ok := v.(*ast.NullNode); ok {
			v = nil
		}
		out[key] = entry{key: key, pos: kpos, value: v}
	}
	return out, true
}

// valuePos is the position of e's value, or of its key when the value is empty.
func (p *docParser) valuePos(e entry) Pos {
	if e.value == nil {
		return e.pos
	}
	return p.pos(e.value)
}

func describe(n ast.Node) string {
	switch n.(type) {
	case nil, *ast.NullNode:
		return "nothing"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "an integer"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	}
	return "a " + strings.ToLower(n.Type().String())
}

// str reads a string field. A number or boolean is a type error: YAML reads
// `name: 123` or `name: yes`-like values as other types, and silently
// converting them hides mistakes.
func (p *docParser) str(e entry, what string) (string, bool) {
	switch v := e.value.(type) {
	case nil:
		return "", true
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	}
	hint := ""
	if _, ok := e.value.(ast.ScalarNode); ok {
		hint = fmt.Sprintf("; quote it: %s: %q", e.key, e.value.GetToken().Value)
	}
	p.errorf(p.valuePos(e), "%s must be a string, got %s%s", what, describe(e.value), hint)
	return "", false
}

// integer reads an integer field.
func (p *docParser) integer(e entry, what string) (int, bool) {
	if v, ok := e.value.(*ast.IntegerNode); ok {
		switch n := v.Value.(type) {
		case int64:
			if n >= -1<<31 && n < 1<<31 {
				return int(n), true
			}
		case uint64:
			if n < 1<<31 {
				return int(n), true
			}
		}
		p.errorf(p.valuePos(e), "%s %s is out of range", what, v.Token.Value)
		return 0, false
	}
	hint := ""
	if sn, ok := e.value.(*ast.StringNode); ok {
		hint = fmt.Sprintf("; remove the quotes: %s: %s", e.key, sn.Value)
	}
	p.errorf(p.valuePos(e), "%s must be an integer, got %s%s", what, describe(e.value), hint)
	return 0, false
}

// list reads a sequence field, returning its unwrapped items.
func (p *docParser) list(e entry, what string) ([]ast.Node, bool) {
	if e.value == nil {
		return nil, true
	}
	seq, ok := e.value.(*ast.SequenceNode)
	if !ok {
		p.errorf(p.valuePos(e), "%s must be a list (lines starting with \"- \"), got %s", what, describe(e.value))
		return nil, false
	}
	items := make([]ast.Node, len(seq.Values))
	for i, v := range seq.Values {
		items[i] = p.unwrap(v)
	}
	return items, true
}

// strList reads a list of strings, with the position of each item.
func (p *docParser) strList(e entry, what string) ([]string, []Pos) {
	items, ok := p.list(e, what)
	if !ok {
		return nil, nil
	}
	var out []string
	var pos []Pos
	for i, it := range items {
		s, ok := p.str(entry{key: e.key, pos: e.pos, value: it}, fmt.Sprintf("%s[%d]", what, i))
		if ok && s != "" {
			out = append(out, s)
			pos = append(pos, p.pos(it))
		} else if ok {
			p.errorf(p.pos(it), "%s[%d] is empty; remove the line or give a value", what, i)
		}
	}
	return out, pos
}

var headerFields = []string{"apiVersion", "kind"}

// document decodes one YAML document into a *Team or *Service, or nil.
func (p *docParser) document(body ast.Node) any {
	pairs, ok := mappingPairs(body)
	if !ok {
		p.errorf(p.pos(body), "a catalog document must be a mapping starting with `apiVersion: %s` and a kind, got %s", APIVersion, describe(body))
		return nil
	}
	docPos := p.pos(body)
	var apiVersion, kind, version, groups *entry
	for _, kv := range pairs {
		e := entry{key: kv.Key.String(), pos: p.pos(kv.Key), value: p.unwrap(kv.Value)}
		switch e.key {
		case "apiVersion":
			apiVersion = &e
		case "kind":
			kind = &e
		case "version":
			version = &e
		case "groups":
			groups = &e
		}
	}
	if apiVersion == nil && version == nil && groups != nil {
		return p.ruleFile(body)
	}
	if apiVersion == nil && version != nil {
		if v, _ := p.str(*version, "version"); v == slo.SourceSloth {
			return p.sloth(body, false)
		} else {
			p.errorf(p.valuePos(*version), "unknown Sloth spec version %q: tsuna reads %q", v, slo.SourceSloth)
			return nil
		}
	}
	if apiVersion == nil {
		p.errorf(docPos, "missing apiVersion: start the document with `apiVersion: %s`", APIVersion)
		return nil
	}
	v, ok := p.str(*apiVersion, "apiVersion")
	if !ok {
		return nil
	}
	k := ""
	if kind != nil {
		k, _ = p.str(*kind, "kind")
	}
	switch {
	case v == slo.SourceSlothCRD && k == "PrometheusServiceLevel":
		return p.sloth(body, true)
	case (v == slo.SourceOpenSLO || v == slo.SourceOpenSLOAlpha) && k == "SLO":
		return p.openSLO(body, v)
	case v == slo.SourceOpenSLO && k == "SLI":
		name, ratio := p.openSLOIndicator(body)
		return openSLOIndicator{name: name, ratio: ratio}
	case v == slo.SourceOpenSLO || v == slo.SourceOpenSLOAlpha:
		return nil // other OpenSLO kinds (Service, AlertPolicy, ...) carry nothing tsuna uses
	case v != APIVersion:
		p.errorf(p.valuePos(*apiVersion), "unknown apiVersion %q: use %q (Sloth's %q and OpenSLO's %q are read too)", v, APIVersion, slo.SourceSloth, slo.SourceOpenSLO)
		return nil
	}
	if kind == nil {
		p.errorf(docPos, "missing kind: add `kind: %s` or `kind: %s`", KindTeam, KindService)
		return nil
	}
	switch k {
	case KindTeam:
		return p.team(body, docPos)
	case KindService:
		return p.service(body, docPos)
	}
	p.errorf(p.valuePos(*kind), "unknown kind %q%s (kinds in %s: %s, %s)", k, didYouMean(k, []string{KindTeam, KindService}), APIVersion, KindTeam, KindService)
	return nil
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
	if e, ok := f["members"]; ok {
		items, _ := p.list(e, "members")
		emails := map[string]int{}
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
			if !slices.ContainsFunc(t.Members, func(m Member) bool { return m.Email == email }) {
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

var serviceFields = append(slices.Clone(headerFields),
	"name", "team", "tier", "lifecycle", "description", "links", "dependsOn", "chat", "labels", "slos")

var linkFields = []string{"runbook", "dashboard", "repo", "docs"}

func (p *docParser) service(body ast.Node, docPos Pos) *Service {
	f, ok := p.fields(body, "Service", serviceFields)
	if !ok {
		return nil
	}
	s := &Service{Pos: docPos, Tier: DefaultTier, Lifecycle: DefaultLifecycle}
	p.objectName(f, "Service", docPos, &s.Name, &s.Pos)
	if e, ok := f["team"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "team", docPos), "Service %q: missing team; add `team: <team name>` naming the team that owns it", s.Name)
	} else if v, ok := p.str(e, "team"); !ok {
	} else {
		s.Team = v
		s.teamPos = p.valuePos(e)
	}
	if e, ok := f["tier"]; ok && e.value != nil {
		if n, ok := p.integer(e, "tier"); !ok {
		} else if n < 1 || n > 3 {
			p.errorf(p.valuePos(e), "tier %d is out of range; use 1 (most critical), 2 or 3 (the default)", n)
		} else {
			s.Tier = n
		}
	}
	if e, ok := f["lifecycle"]; ok && e.value != nil {
		lifecycles := []string{LifecycleExperimental, LifecycleProduction, LifecycleDeprecated}
		if v, ok := p.str(e, "lifecycle"); !ok {
		} else if !slices.Contains(lifecycles, v) {
			p.errorf(p.valuePos(e), "lifecycle %q is not one of %s%s", v, strings.Join(lifecycles, ", "), didYouMean(v, lifecycles))
		} else {
			s.Lifecycle = v
		}
	}
	if e, ok := f["description"]; ok {
		s.Description, _ = p.str(e, "description")
	}
	if e, ok := f["links"]; ok && e.value != nil {
		lf, _ := p.fields(e.value, "links", linkFields)
		for _, name := range linkFields {
			le, ok := lf[name]
			if !ok {
				continue
			}
			u, ok := p.str(le, "links."+name)
			if ok && u != "" && !validURL(u) {
				p.errorf(p.valuePos(le), "links.%s %q is not an absolute http(s) URL; write it as https://host/path", name, u)
			}
			switch name {
			case "runbook":
				s.Links.Runbook = u
			case "dashboard":
				s.Links.Dashboard = u
			case "repo":
				s.Links.Repo = u
			case "docs":
				s.Links.Docs = u
			}
		}
	}
	if e, ok := f["dependsOn"]; ok {
		s.DependsOn, s.depPos = p.strList(e, "dependsOn")
	}
	if e, ok := f["chat"]; ok {
		p.chat(e, "Service", &s.Chat)
	}
	if e, ok := f["labels"]; ok && e.value != nil {
		p.labels(e, s)
	}
	if e, ok := f["slos"]; ok && e.value != nil {
		p.serviceSLOs(e, s)
	}
	if s.Name == "" {
		return nil
	}
	return s
}

func (p *docParser) labels(e entry, s *Service) {
	pairs, ok := mappingPairs(e.value)
	if !ok {
		p.errorf(p.valuePos(e), "labels must be a mapping of name: value, got %s", describe(e.value))
		return
	}
	s.Labels = make(map[string]string, len(pairs))
	for _, kv := range pairs {
		key := kv.Key.String()
		if !labelNameRE.MatchString(key) {
			p.errorf(p.pos(kv.Key), "label name %q is invalid; use letters, digits and '_', not starting with a digit (they become Prometheus labels)", key)
			continue
		}
		if _, dup := s.Labels[key]; dup {
			p.errorf(p.pos(kv.Key), "label %q is set twice; keep one", key)
			continue
		}
		v, _ := p.str(entry{key: key, pos: p.pos(kv.Key), value: p.unwrap(kv.Value)}, "labels."+key)
		s.Labels[key] = v
	}
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

// entryOr returns the position of field key if present, else def.
func (p *docParser) entryOr(f map[string]entry, key string, def Pos) Pos {
	if e, ok := f[key]; ok {
		return e.pos
	}
	return def
}

// openSLOIndicator is a standalone OpenSLO SLI, for indicatorRef.
type openSLOIndicator struct {
	name  string
	ratio *slo.Ratio
}
