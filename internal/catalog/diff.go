package catalog

import (
	"bytes"
	"cmp"
	"slices"
)

// Change actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Change is one object that an apply creates, updates or deletes.
type Change struct {
	Action string
	Kind   string
	Name   string
	// Before is the stored object; nil on create.
	Before *Object
	// After is the desired object; nil on delete.
	After *Object
}

// Teams returns the owning teams the change touches: the team before and
// the team after (they differ when a service moves between teams).
func (c Change) Teams() []string {
	var out []string
	if c.Before != nil {
		out = append(out, c.Before.Team)
	}
	if c.After != nil && (c.Before == nil || c.After.Team != c.Before.Team) {
		out = append(out, c.After.Team)
	}
	return out
}

// Diff compares the stored objects with the desired ones and returns the
// changes that make the store match, ordered so references stay valid:
// team creations and updates, then service changes, then team deletions.
// With prune false, objects missing from desired are kept.
func Diff(current, desired []Object, prune bool) []Change {
	type key struct{ kind, name string }
	have := make(map[key]*Object, len(current))
	for i := range current {
		have[key{current[i].Kind, current[i].Name}] = &current[i]
	}
	want := make(map[key]bool, len(desired))
	var changes []Change
	for i := range desired {
		d := &desired[i]
		k := key{d.Kind, d.Name}
		want[k] = true
		switch before := have[k]; {
		case before == nil:
			changes = append(changes, Change{Action: ActionCreate, Kind: d.Kind, Name: d.Name, After: d})
		case !bytes.Equal(before.Spec, d.Spec) || before.Team != d.Team:
			changes = append(changes, Change{Action: ActionUpdate, Kind: d.Kind, Name: d.Name, Before: before, After: d})
		}
	}
	if prune {
		for i := range current {
			c := &current[i]
			if !want[key{c.Kind, c.Name}] {
				changes = append(changes, Change{Action: ActionDelete, Kind: c.Kind, Name: c.Name, Before: c})
			}
		}
	}
	rank := func(c Change) int {
		switch {
		case c.Kind == KindTeam && c.Action != ActionDelete:
			return 0
		case c.Kind == KindService:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(changes, func(a, b Change) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Name, b.Name))
	})
	return changes
}
