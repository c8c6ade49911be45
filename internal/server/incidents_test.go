package server

import (
	"strings"
	"testing"
)

// exerciseIncidents runs every incident operation through c, against the
// example catalog: TestAPIMatchesOpenAPIDocument checks each exchange.
func exerciseIncidents(t *testing.T, c *apiClient, admin, viewer, editor, otherEditor string) {
	t.Helper()
	var inc struct {
		Ref    string
		Status string
		Lead   string
	}
	decl := map[string]any{"title": "Checkout errors", "services": []string{"checkout-api"}, "severity": "SEV2", "idempotencyKey": "k-1"}
	c.decode(c.do("POST", "/api/v1/incidents", viewer, decl, 201), &inc)
	c.do("POST", "/api/v1/incidents", viewer, decl, 200) // replayed: the same incident
	c.do("POST", "/api/v1/incidents", viewer, map[string]any{"title": ""}, 422)
	c.do("POST", "/api/v1/incidents", viewer, map[string]any{"title": "x", "services": []string{"nope"}}, 422)
	c.do("POST", "/api/v1/incidents", viewer, map[string]any{"fromAlert": "nope"}, 404)
	c.do("POST", "/api/v1/incidents", "", decl, 401)
	ref := "/api/v1/incidents/" + inc.Ref
	c.do("GET", "/api/v1/incidents?status=active&limit=10", viewer, nil, 200)
	c.do("GET", "/api/v1/incidents?status=bogus", viewer, nil, 422)
	c.do("GET", ref, viewer, nil, 200)
	c.do("GET", "/api/v1/incidents/INC-999", viewer, nil, 404)
	c.do("GET", "/api/v1/incidents/nope", viewer, nil, 422)
	c.do("PATCH", ref, viewer, map[string]any{"severity": "SEV1"}, 403)
	c.do("PATCH", ref, otherEditor, map[string]any{"severity": "SEV1"}, 403)
	c.do("PATCH", ref, editor, map[string]any{"severity": "SEV1", "stage": "identified", "roles": map[string]string{"comms": "ana@example.com"}}, 200)
	c.do("PATCH", ref, editor, map[string]any{"status": "closed"}, 409)
	c.do("PATCH", ref, editor, map[string]any{"timestamps": map[string]any{"impactStarted": "2030-01-01T00:00:00Z", "detected": nil}}, 422)
	c.do("PATCH", ref, editor, map[string]any{"bogus": 1}, 422)
	c.do("POST", ref+"/timeline", viewer, map[string]any{"kind": "note", "text": "saw 500s"}, 201)
	c.do("POST", ref+"/timeline", viewer, map[string]any{"kind": "update", "text": "rolling back"}, 403)
	c.do("POST", ref+"/timeline", editor, map[string]any{"kind": "update", "text": "rolling back", "time": "2030-01-01T00:00:00Z"}, 201)
	c.do("PATCH", ref, admin, map[string]any{"status": "resolved"}, 200)
	c.decode(c.do("GET", ref+"/timeline", viewer, nil, 200), &struct{}{})
	if md := string(c.do("GET", ref+"/timeline?format=markdown", viewer, nil, 200)); !strings.Contains(md, "| note |") {
		t.Errorf("markdown timeline:\n%s", md)
	}
	c.do("GET", "/api/v1/incidents/metrics?since=30d&by=team", viewer, nil, 200)
	c.do("GET", "/api/v1/incidents/metrics?by=nope", viewer, nil, 422)
	c.do("GET", "/api/v1/incidents/severities", viewer, nil, 200)
}
