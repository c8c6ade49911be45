package server

import (
	"strconv"
	"strings"
	"testing"
)

// exercisePostmortems runs every postmortem operation of the API document
// through c: a draft from a resolved incident, the library and search,
// edits, the lifecycle, actions, hints, the onboarding preview and the
// GitHub webhook's refusal of an unsigned delivery.
func exercisePostmortems(t *testing.T, c *apiClient, admin, viewer, editor, otherEditor string) {
	t.Helper()
	var inc struct{ Ref string }
	c.decode(c.do("POST", "/api/v1/incidents", admin, map[string]any{"title": "Checkout pool exhausted", "services": []string{"checkout-api"}, "lead": "ada@example.com"}, 201), &inc)
	c.do("PATCH", "/api/v1/incidents/"+inc.Ref, admin, map[string]any{"status": "resolved"}, 200)

	var pm struct {
		Ref      string
		Revision int
	}
	c.do("POST", "/api/v1/postmortems", otherEditor, map[string]any{"incident": inc.Ref}, 403)
	c.do("POST", "/api/v1/postmortems", editor, map[string]any{"incident": "INC-999"}, 404)
	c.do("POST", "/api/v1/postmortems", editor, map[string]any{"incident": inc.Ref, "template": "nope"}, 422)
	c.decode(c.do("POST", "/api/v1/postmortems", editor, map[string]any{"incident": inc.Ref, "timeline": "key"}, 201), &pm)
	c.do("POST", "/api/v1/postmortems", editor, map[string]any{"incident": inc.Ref}, 200)
	ref := "/api/v1/postmortems/" + pm.Ref
	c.do("GET", ref, editor, nil, 200)
	c.do("GET", "/api/v1/postmortems/"+inc.Ref+"?format=markdown", editor, nil, 200)
	c.do("GET", ref, otherEditor, nil, 404) // a draft, outside its team
	c.do("GET", ref+"?format=pdf", editor, nil, 422)
	c.do("GET", "/api/v1/postmortems?status=draft", editor, nil, 200)
	c.do("PATCH", ref, viewer, map[string]any{"body": "x"}, 404)
	c.do("PATCH", ref, editor, map[string]any{"body": "# Pool\n\nThe pool was exhausted; failover was slow.", "labels": []string{"recommended"}, "revision": pm.Revision}, 200)
	c.do("PATCH", ref, editor, map[string]any{"body": "stale", "revision": pm.Revision}, 409)
	c.do("PATCH", ref, editor, map[string]any{"labels": []string{"Not A Label"}}, 422)
	c.do("GET", ref+"/revisions", editor, nil, 200)
	c.do("POST", ref+"/status", editor, map[string]any{"status": "published"}, 409)
	c.do("POST", ref+"/status", editor, map[string]any{"status": "in_review", "reviewers": []string{"chen@example.com"}}, 200)
	c.do("POST", ref+"/status", editor, map[string]any{"status": "bogus"}, 422)
	c.do("POST", ref+"/status", admin, map[string]any{"status": "published"}, 200)
	c.do("GET", ref, otherEditor, nil, 200) // published: anyone reads it
	c.do("GET", "/api/v1/postmortems?label=recommended", viewer, nil, 200)
	c.do("GET", "/api/v1/postmortems/search?q=failover", viewer, nil, 200)
	c.do("GET", "/api/v1/postmortems/search?q="+strings.Repeat("a", 300), viewer, nil, 422)
	c.do("POST", ref+"/export", editor, nil, 503) // no tracker configured

	c.do("POST", ref+"/actions", editor, map[string]any{"title": "Alert on pool saturation", "type": "detect", "owner": "nobody@example.com"}, 422)
	var act struct{ ID int }
	c.decode(c.do("POST", ref+"/actions", editor, map[string]any{"title": "Alert on pool saturation", "type": "detect", "owner": "chen@example.com", "due": "2020-01-06T00:00:00Z"}, 201), &act)
	c.do("POST", ref+"/actions", otherEditor, map[string]any{"title": "x", "type": "detect", "owner": "chen@example.com"}, 403)
	c.do("GET", ref+"/actions", viewer, nil, 200)
	c.do("GET", "/api/v1/actions?overdue=true&team=payments", viewer, nil, 200)
	c.do("GET", "/api/v1/actions?overdue=maybe", viewer, nil, 422)
	c.do("PATCH", "/api/v1/actions/nope", editor, map[string]any{"status": "done"}, 422)
	c.do("PATCH", "/api/v1/actions/"+strconv.Itoa(act.ID), editor, map[string]any{"status": "wont_do"}, 422)
	c.do("PATCH", "/api/v1/actions/"+strconv.Itoa(act.ID), otherEditor, map[string]any{"status": "done"}, 403)
	c.do("PATCH", "/api/v1/actions/"+strconv.Itoa(act.ID), editor, map[string]any{"status": "done"}, 200)

	c.do("POST", "/api/v1/postmortems/hints", viewer, map[string]any{"body": "It was human error: they forgot to <script>x</script>"}, 200)
	c.do("POST", "/api/v1/postmortems/hints", viewer, map[string]any{"text": "x"}, 422)
	c.do("GET", "/api/v1/onboarding/preview?team=payments", viewer, nil, 200)
	c.do("GET", "/api/v1/onboarding/preview?team=nobody", viewer, nil, 404)
	c.do("GET", "/api/v1/onboarding/preview", viewer, nil, 422)
	c.do("POST", "/hooks/github", "", map[string]any{"action": "closed"}, 401)
}
