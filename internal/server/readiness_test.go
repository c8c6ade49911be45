package server

import (
	"strings"
	"testing"
)

// exerciseReadiness drives every readiness route, checked against the
// OpenAPI document: a review opened by the team's editor (a viewer and
// another team's editor refused), answers (refused without a comment),
// the scorecard with its level and blocking items, the export, closing
// with feedback.
func exerciseReadiness(t *testing.T, c *apiClient, admin, viewer, editor, otherEditor string) {
	t.Helper()
	base := "/api/v1/readiness/services/checkout-api"
	c.do("POST", base+"/review", viewer, map[string]any{}, 403)
	c.do("POST", base+"/review", otherEditor, map[string]any{}, 403)
	c.do("GET", base, viewer, nil, 404)
	var view struct {
		Review  struct{ ID int64 }
		Summary struct {
			Level    string
			Blocking []string
		}
	}
	c.decode(c.do("POST", base+"/review", editor, map[string]any{}, 201), &view)
	c.do("POST", base+"/review", editor, map[string]any{}, 200)
	c.do("POST", base+"/review", editor, map[string]any{"bogus": 1}, 422)
	c.do("POST", "/api/v1/readiness/services/nope/review", admin, map[string]any{}, 404)
	c.do("POST", base+"/answers", editor, map[string]any{"item": "product-owner", "state": "accepted_risk"}, 422)
	c.do("POST", base+"/answers", editor, map[string]any{"item": "runbook", "state": "done"}, 422)
	c.do("POST", base+"/answers", viewer, map[string]any{"item": "product-owner", "state": "done"}, 403)
	c.do("POST", base+"/answers", editor, map[string]any{"item": "product-owner", "state": "accepted_risk", "comment": "the team lead decides", "evidence": "https://wiki.example.com/po"}, 200)
	c.decode(c.do("GET", base, viewer, nil, 200), &view)
	var card struct {
		Services []struct {
			Service  string
			ReviewID int64
			Summary  struct{ Blocking []string }
		}
	}
	c.decode(c.do("GET", "/api/v1/readiness/scorecard?team=payments&tier=1", viewer, nil, 200), &card)
	if len(card.Services) == 0 || card.Services[0].Service != "checkout-api" || card.Services[0].ReviewID != view.Review.ID || len(card.Services[0].Summary.Blocking) == 0 {
		t.Errorf("scorecard: %+v", card)
	}
	c.do("GET", "/api/v1/readiness/scorecard?tier=9", viewer, nil, 422)
	var exp struct{ Body string }
	c.decode(c.do("GET", base+"/export", viewer, nil, 200), &exp)
	if !strings.Contains(exp.Body, "- [x] **Is a product owner named") {
		t.Errorf("export: %s", exp.Body)
	}
	c.do("POST", base+"/close", editor, map[string]any{"feedback": ""}, 422)
	c.do("POST", base+"/close", editor, map[string]any{"feedback": "ask about feature flags"}, 200)
	c.do("POST", base+"/close", editor, map[string]any{"feedback": "again"}, 409)
	c.do("POST", base+"/answers", editor, map[string]any{"item": "product-owner", "state": "done"}, 409)
	c.do("GET", "/api/v1/readiness/checklists", viewer, nil, 200)
	c.do("GET", "/api/v1/readiness/checklists/production-readiness/feedback", viewer, nil, 200)
	c.do("GET", "/api/v1/readiness/scorecard", "", nil, 401)
}
