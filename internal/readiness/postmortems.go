package readiness

import (
	"context"
	"time"

	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

// PostmortemLister reads postmortems and their actions; the store
// (postmortem.Store) implements it.
type PostmortemLister interface {
	Postmortems(ctx context.Context, f postmortem.Filter) ([]*postmortem.Postmortem, error)
	Actions(ctx context.Context, f postmortem.ActionFilter) ([]*postmortem.Action, error)
}

// PostmortemsOf makes tsuna's postmortems the source of the postmortem
// facts: resolved major incidents without a published postmortem, and
// follow-ups of the service's postmortems past their due day.
func PostmortemsOf(l PostmortemLister) PostmortemSource { return postmortemSource{l} }

type postmortemSource struct{ l PostmortemLister }

func (s postmortemSource) Postmortems(ctx context.Context, service string, incidents []Incident, now time.Time) (missing, overdue int, err error) {
	list, err := s.l.Postmortems(ctx, postmortem.Filter{Service: service, Since: now.Add(-2 * Window), Limit: postmortem.MaxList})
	if err != nil {
		return 0, 0, err
	}
	published := map[string]bool{}
	for _, p := range list {
		if p.Status == postmortem.StatusPublished {
			published[p.Incident] = true
		}
		acts, err := s.l.Actions(ctx, postmortem.ActionFilter{Postmortem: p.ID, OverdueAt: now, Limit: postmortem.MaxActions})
		if err != nil {
			return 0, 0, err
		}
		overdue += len(acts)
	}
	for _, i := range incidents {
		if i.Resolved && !published[i.Ref] {
			missing++
		}
	}
	return missing, overdue, nil
}
