package readiness_test

import (
	"context"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/readiness"
)

// fakePostmortems holds postmortems and their actions as the store would
// answer for one service.
type fakePostmortems struct {
	list    []*postmortem.Postmortem
	actions map[int64][]*postmortem.Action
	asked   postmortem.Filter
}

func (f *fakePostmortems) Postmortems(_ context.Context, flt postmortem.Filter) ([]*postmortem.Postmortem, error) {
	f.asked = flt
	return f.list, nil
}

func (f *fakePostmortems) Actions(_ context.Context, flt postmortem.ActionFilter) ([]*postmortem.Action, error) {
	var out []*postmortem.Action
	for _, a := range f.actions[flt.Postmortem] {
		if a.Status == postmortem.ActionOpen && a.Due != nil && a.Due.Before(flt.OverdueAt) {
			out = append(out, a)
		}
	}
	return out, nil
}

// TestPostmortemFactsFromPostmortems: the postmortem facts a checklist
// asks about (gold needs them) come from tsuna's postmortems: a resolved
// major incident without a published postmortem is missing one (a draft
// does not count, an open incident is not due yet), and open follow-ups
// past their due day of the service's postmortems are overdue.
func TestPostmortemFactsFromPostmortems(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-48*time.Hour), now.Add(48*time.Hour)
	f := &fakePostmortems{
		list: []*postmortem.Postmortem{
			{ID: 1, Incident: "INC-1", Status: postmortem.StatusPublished},
			{ID: 2, Incident: "INC-2", Status: postmortem.StatusDraft},
		},
		actions: map[int64][]*postmortem.Action{
			1: {{Status: postmortem.ActionOpen, Due: &past}, {Status: postmortem.ActionOpen, Due: &future}, {Status: postmortem.ActionDone, Due: &past}},
			2: {{Status: postmortem.ActionOpen, Due: &past}},
		},
	}
	incidents := []readiness.Incident{
		{Ref: "INC-1", Severity: "SEV1", Resolved: true},
		{Ref: "INC-2", Severity: "SEV2", Resolved: true},
		{Ref: "INC-3", Severity: "SEV1", Resolved: true},
		{Ref: "INC-4", Severity: "SEV1"},
	}
	missing, overdue, err := readiness.PostmortemsOf(f).Postmortems(context.Background(), "checkout-api", incidents, now)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 2 || overdue != 2 {
		t.Errorf("missing %d, overdue %d; want 2 (INC-2 has only a draft, INC-3 none) and 2 (one of each postmortem)", missing, overdue)
	}
	if f.asked.Service != "checkout-api" {
		t.Errorf("postmortems asked for service %q", f.asked.Service)
	}
}
