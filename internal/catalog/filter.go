package catalog

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
)

// Tiers range from MinTier (most critical) to MaxTier.
const (
	MinTier = 1
	MaxTier = 3
)

// Lifecycles lists the lifecycle stages, in order.
var Lifecycles = []string{LifecycleExperimental, LifecycleProduction, LifecycleDeprecated}

// ValidTier reports whether n is a tier.
func ValidTier(n int) bool { return n >= MinTier && n <= MaxTier }

// ValidLifecycle reports whether s is a lifecycle stage.
func ValidLifecycle(s string) bool {
	for _, l := range Lifecycles {
		if s == l {
			return true
		}
	}
	return false
}

// ServiceFilter selects services; zero fields match everything.
type ServiceFilter struct {
	Team      string
	Tier      int
	Lifecycle string
	// After and Limit page the list: services named after After, at most
	// Limit of them (0: all).
	After string
	Limit int
}

// ParseServiceFilter reads a filter from query values (team, tier,
// lifecycle), as the API and the console take them.
func ParseServiceFilter(get func(string) string) (ServiceFilter, error) {
	f := ServiceFilter{Team: get("team"), Lifecycle: get("lifecycle")}
	if v := get("tier"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !ValidTier(n) {
			return f, tsuna.Errorf(tsuna.EINVALID, "tier: %q is not a tier; use 1, 2 or 3", v)
		}
		f.Tier = n
	}
	if l := f.Lifecycle; l != "" && !ValidLifecycle(l) {
		return f, tsuna.Errorf(tsuna.EINVALID, "lifecycle: %q is not a lifecycle; use experimental, production or deprecated", l)
	}
	return f, nil
}

// ApplyOptions control an apply.
type ApplyOptions struct {
	// Prune deletes stored objects missing from the desired catalog.
	Prune bool
	// DryRun computes the changes and writes nothing.
	DryRun bool
	// Actor is recorded in the audit log.
	Actor audit.Actor
	// Authorize is called with the changes before anything is written; an
	// error aborts the apply.
	Authorize func([]Change) error
	// BaseRevision, when set, is the revision the caller's catalog was
	// based on (from a dry run); if the stored catalog changed since, the
	// apply is refused with a conflict naming what changed.
	BaseRevision *int64
	// Revision, when set, receives the revision of the result: the one the
	// changes were computed against on a dry run, the new one otherwise.
	Revision *int64
}

// Store keeps the applied catalog.
type Store interface {
	Teams(ctx context.Context) ([]*Team, error)
	Team(ctx context.Context, name string) (*Team, error)
	Services(ctx context.Context, f ServiceFilter) ([]*Service, error)
	// CountServices returns how many services match f, ignoring its paging.
	CountServices(ctx context.Context, f ServiceFilter) (int, error)
	Service(ctx context.Context, name string) (*Service, error)
	// ApplyCatalog makes the stored catalog equal to desired, in one
	// transaction with one audit record per changed object, and returns
	// the changes.
	ApplyCatalog(ctx context.Context, desired []Object, opts ApplyOptions) ([]Change, error)
}

// Authorize allows an admin every change and an editor only changes to
// objects its team owns, before and after; a viewer none.
func Authorize(tok *auth.Token, changes []Change) error {
	if tok == nil || tok.Role == auth.RoleViewer {
		name, role := "", auth.RoleViewer
		if tok != nil {
			name, role = tok.Name, tok.Role
		}
		return tsuna.Errorf(tsuna.EFORBIDDEN, "token %q is a %s: applying the catalog needs an editor or admin token", name, role)
	}
	var denied []string
	for _, ch := range changes {
		for _, team := range ch.Teams() {
			if !tok.CanChangeTeam(team) {
				denied = append(denied, fmt.Sprintf("%s %s/%s (team %s)", ch.Action, ch.Kind, ch.Name, team))
				break
			}
		}
	}
	if len(denied) == 0 {
		return nil
	}
	more := ""
	if len(denied) > 10 {
		more = fmt.Sprintf(" and %d more", len(denied)-10)
		denied = denied[:10]
	}
	return &tsuna.Error{Code: tsuna.EFORBIDDEN, Details: denied, Message: fmt.Sprintf(
		"token %q (%s of team %s) may only change objects of its team; this apply would %s%s; nothing was applied",
		tok.Name, tok.Role, tok.Team, strings.Join(denied, ", "), more)}
}
