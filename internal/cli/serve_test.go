package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
)

const exampleCatalog = "../../examples/catalog"

// copyCatalog copies the example catalog to a temporary directory that a
// test may edit.
func copyCatalog(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(exampleCatalog, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(exampleCatalog, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755)
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644)
}

// cliVars is the environment of a CLI talking to srv with token.
func cliVars(srv *testServer, token string) map[string]string {
	return map[string]string{"TSUNA_SERVER": srv.url, "TSUNA_TOKEN": token}
}

func auditLen(t *testing.T, srv *testServer) int {
	t.Helper()
	var out struct{ Records []json.RawMessage }
	call(t, "GET", srv.url+"/api/v1/audit?limit=1000", adminSecret, "", &out)
	return len(out.Records)
}

func TestServerEndpoints(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn, "--catalog", exampleCatalog)
		u := srv.url

		// Public endpoints.
		for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
			if resp := call(t, "GET", u+path, "", "", nil); resp.StatusCode != 200 || !strings.Contains(bodyOf(resp), want) {
				t.Errorf("GET %s = %d", path, resp.StatusCode)
			}
		}
		var doc struct {
			OpenAPI string
			Paths   map[string]any
		}
		if resp := call(t, "GET", u+"/api/v1/openapi.json", "", "", &doc); resp.StatusCode != 200 || doc.OpenAPI != "3.1.0" || doc.Paths["/api/v1/catalog"] == nil {
			t.Errorf("openapi = %d %+v", resp.StatusCode, doc.OpenAPI)
		}

		// 401 without or with a wrong token, as problem+json.
		var p api.Problem
		resp := call(t, "GET", u+"/api/v1/services", "", "", &p)
		if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/problem+json" || p.Code != "unauthorized" || p.Status != 401 {
			t.Errorf("no token: %d %s %+v", resp.StatusCode, resp.Header.Get("Content-Type"), p)
		}
		if resp := call(t, "GET", u+"/api/v1/teams", "tsuna_wrong", "", nil); resp.StatusCode != 401 {
			t.Errorf("wrong token: %d", resp.StatusCode)
		}

		// Reads, with filters.
		var teams struct{ Teams []struct{ Name string } }
		call(t, "GET", u+"/api/v1/teams", adminSecret, "", &teams)
		if len(teams.Teams) != 4 || teams.Teams[0].Name != "identity" {
			t.Errorf("teams = %+v", teams)
		}
		var team struct {
			Name string
			Chat struct{ Channel string }
		}
		if call(t, "GET", u+"/api/v1/teams/payments", adminSecret, "", &team); team.Chat.Channel != "#payments-alerts" {
			t.Errorf("team payments = %+v", team)
		}
		if resp := call(t, "GET", u+"/api/v1/teams/nope", adminSecret, "", &p); resp.StatusCode != 404 || p.Code != "not_found" {
			t.Errorf("unknown team: %d %+v", resp.StatusCode, p)
		}
		type svcList struct {
			Services []struct {
				Name, Team, Lifecycle string
				Tier                  int
			}
		}
		var all, payments, tier2, experimental svcList
		call(t, "GET", u+"/api/v1/services", adminSecret, "", &all)
		call(t, "GET", u+"/api/v1/services?team=payments", adminSecret, "", &payments)
		call(t, "GET", u+"/api/v1/services?tier=2", adminSecret, "", &tier2)
		call(t, "GET", u+"/api/v1/services?lifecycle=experimental", adminSecret, "", &experimental)
		if len(all.Services) != 11 || len(payments.Services) != 3 || len(tier2.Services) != 3 || len(experimental.Services) != 1 || experimental.Services[0].Name != "recommendations" {
			t.Errorf("services: all %d, payments %d, tier 2 %d, experimental %+v", len(all.Services), len(payments.Services), len(tier2.Services), experimental.Services)
		}
		if resp := call(t, "GET", u+"/api/v1/services?tier=9", adminSecret, "", &p); resp.StatusCode != 422 || !strings.Contains(p.Detail, "tier") {
			t.Errorf("bad tier filter: %d %+v", resp.StatusCode, p)
		}
		var svc struct {
			Name  string
			Links struct{ Runbook string }
		}
		if call(t, "GET", u+"/api/v1/services/checkout-api", adminSecret, "", &svc); svc.Links.Runbook != "https://runbooks.example.com/checkout-api" {
			t.Errorf("service = %+v", svc)
		}
		if resp := call(t, "GET", u+"/api/v1/services/nope", adminSecret, "", nil); resp.StatusCode != 404 {
			t.Errorf("unknown service: %d", resp.StatusCode)
		}

		// Metrics count requests by route pattern and carry build info.
		metrics := bodyOf(call(t, "GET", u+"/metrics", "", "", nil))
		for _, want := range []string{`tsuna_build_info{`, `tsuna_http_requests_total{code="200",method="GET",route="/api/v1/services/{name}"}`, `tsuna_http_request_duration_seconds_bucket{method="GET",route="/api/v1/teams"`, `code="401"`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		// Every request got an id; logs never hold the token.
		if resp := call(t, "GET", u+"/api/v1/teams", adminSecret, "", nil); len(resp.Header.Get("X-Request-Id")) == 0 {
			t.Error("no X-Request-Id")
		}
		if strings.Contains(srv.stderr.String(), adminSecret) {
			t.Error("the server log holds the admin token")
		}
	})
}

func TestRolesAndTeamScope(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn, "--catalog", exampleCatalog)
		admin := cliVars(srv, adminSecret)

		mk := func(args ...string) string {
			r := run(t, admin, append([]string{"token", "create"}, args...)...)
			if r.code != 0 {
				t.Fatalf("token create %v: %d %s", args, r.code, r.stderr)
			}
			return strings.TrimSpace(r.stdout)
		}
		viewer := mk("--name", "dashboards", "--role", "viewer")
		editor := mk("--name", "payments-ci", "--role", "editor", "--team", "payments")
		if r := run(t, admin, "token", "create", "--name", "x", "--role", "editor", "--team", "nope"); r.code != 1 || !strings.Contains(r.stderr, "not in the catalog") {
			t.Errorf("editor of unknown team: %d %s", r.code, r.stderr)
		}
		if r := run(t, admin, "token", "create", "--name", "dashboards", "--role", "viewer"); r.code != 1 || !strings.Contains(r.stderr, "409") {
			t.Errorf("duplicate token name: %d %s", r.code, r.stderr)
		}

		// viewer: reads, may not apply or manage tokens.
		if resp := call(t, "GET", srv.url+"/api/v1/services", viewer, "", nil); resp.StatusCode != 200 {
			t.Errorf("viewer read: %d", resp.StatusCode)
		}
		if r := run(t, cliVars(srv, viewer), "apply", exampleCatalog); r.code != 1 || !strings.Contains(r.stderr, "403") {
			t.Errorf("viewer apply: %d %s", r.code, r.stderr)
		}
		var p api.Problem
		if resp := call(t, "GET", srv.url+"/api/v1/tokens", viewer, "", &p); resp.StatusCode != 403 || p.Code != "forbidden" {
			t.Errorf("viewer lists tokens: %d", resp.StatusCode)
		}
		if resp := call(t, "POST", srv.url+"/api/v1/tokens", editor, `{"name":"mine","role":"admin"}`, nil); resp.StatusCode != 403 {
			t.Errorf("editor creates a token: %d", resp.StatusCode)
		}

		// editor of payments: may change a payments service...
		dir := copyCatalog(t)
		edit(t, filepath.Join(dir, "services/payments.yaml"), "tier: 2\ndescription: Renders", "tier: 1\ndescription: Renders")
		before := auditLen(t, srv)
		if r := run(t, cliVars(srv, editor), "apply", dir); r.code != 0 || !strings.Contains(r.stdout, "update Service/invoice-worker") {
			t.Fatalf("editor changes own service: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if n := auditLen(t, srv); n != before+1 {
			t.Errorf("audit records %d -> %d, want one more", before, n)
		}
		var rec struct {
			Records []struct{ Actor, Source, Action, Name, RequestID string }
		}
		call(t, "GET", srv.url+"/api/v1/audit?actor=payments-ci", viewer, "", &rec)
		if len(rec.Records) != 1 || rec.Records[0].Name != "invoice-worker" || rec.Records[0].Source != "cli" || rec.Records[0].RequestID == "" {
			t.Errorf("audit of the editor's apply = %+v", rec.Records)
		}

		// ...but not another team's, and then nothing changes at all.
		edit(t, filepath.Join(dir, "services/payments.yaml"), "tier: 1\ndescription: Renders", "tier: 2\ndescription: Renders")
		edit(t, filepath.Join(dir, "services/storefront.yaml"), "name: catalog-api\nteam: storefront\ntier: 2", "name: catalog-api\nteam: storefront\ntier: 1")
		before = auditLen(t, srv)
		r := run(t, cliVars(srv, editor), "apply", dir)
		if r.code != 1 || !strings.Contains(r.stderr, "403") || !strings.Contains(r.stderr, "update Service/catalog-api (team storefront)") {
			t.Errorf("editor changes another team's service: %d %s", r.code, r.stderr)
		}
		var cat struct{ Tier int }
		call(t, "GET", srv.url+"/api/v1/services/catalog-api", viewer, "", &cat)
		var inv struct{ Tier int }
		call(t, "GET", srv.url+"/api/v1/services/invoice-worker", viewer, "", &inv)
		if cat.Tier != 2 || inv.Tier != 1 || auditLen(t, srv) != before {
			t.Errorf("a refused apply changed something: catalog-api tier %d, invoice-worker tier %d", cat.Tier, inv.Tier)
		}
		// Moving a service to another team is a change of both teams.
		dir2 := copyCatalog(t)
		edit(t, filepath.Join(dir2, "services/storefront.yaml"), "name: recommendations\nteam: storefront", "name: recommendations\nteam: payments")
		if r := run(t, cliVars(srv, editor), "apply", "--dry-run", dir2); r.code != 1 || !strings.Contains(r.stderr, "team storefront") {
			t.Errorf("editor takes another team's service: %d %s", r.code, r.stderr)
		}

		// Token list and revoke.
		if r := run(t, admin, "token", "list"); r.code != 0 || !strings.Contains(r.stdout, "payments-ci  editor") {
			t.Errorf("token list: %s", r.stdout)
		}
		if r := run(t, admin, "token", "revoke", "payments-ci"); r.code != 0 {
			t.Errorf("revoke: %d %s", r.code, r.stderr)
		}
		if resp := call(t, "GET", srv.url+"/api/v1/services", editor, "", nil); resp.StatusCode != 401 {
			t.Errorf("revoked token: %d", resp.StatusCode)
		}
		if r := run(t, admin, "token", "revoke", "nope"); r.code != 1 || !strings.Contains(r.stderr, "404") {
			t.Errorf("revoke unknown: %d %s", r.code, r.stderr)
		}
		if r := run(t, admin, "audit", "list", "--object", "Token/payments-ci"); r.code != 0 || !strings.Contains(r.stdout, "revoke") || !strings.Contains(r.stdout, "create") {
			t.Errorf("audit list of the token: %s %s", r.stdout, r.stderr)
		}
		if r := run(t, admin, "audit", "verify", "--server", srv.url); r.code != 0 || !strings.Contains(r.stdout, "intact") {
			t.Errorf("audit verify via server: %d %s %s", r.code, r.stdout, r.stderr)
		}
	})
}

func TestApplySemantics(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn)
		admin := cliVars(srv, adminSecret)
		r := run(t, admin, "apply", "--dry-run", exampleCatalog)
		if r.code != 0 || !strings.Contains(r.stdout, ": 15 created, 0 updated, 0 deleted; nothing applied") {
			t.Fatalf("dry run: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if n := auditLen(t, srv); n != 1 { // the bootstrap token
			t.Fatalf("dry run wrote %d audit records", n-1)
		}
		if r := run(t, admin, "apply", exampleCatalog); r.code != 0 || !strings.Contains(r.stdout, "applied: 15 created") {
			t.Fatalf("apply: %d %s %s", r.code, r.stdout, r.stderr)
		}
		n := auditLen(t, srv)
		if r := run(t, admin, "apply", exampleCatalog); r.code != 0 || strings.TrimSpace(r.stdout) != "no changes" {
			t.Errorf("unchanged re-apply: %s", r.stdout)
		}
		if auditLen(t, srv) != n {
			t.Error("an unchanged re-apply wrote audit records")
		}

		// An invalid catalog: 422 with each error's position, nothing applied.
		dir := copyCatalog(t)
		edit(t, filepath.Join(dir, "services/platform.yaml"), "tier: 2\ndescription: Sends", "tier: 5\ndescription: Sends")
		edit(t, filepath.Join(dir, "services/identity.yaml"), "team: identity", "team: identiti")
		os.Remove(filepath.Join(dir, "services/storefront.yaml")) // would delete 3 services if applied
		r = run(t, admin, "apply", dir)
		if r.code != 1 || !strings.Contains(r.stderr, "services/platform.yaml:24:7: tier 5 is out of range") ||
			!strings.Contains(r.stderr, `services/identity.yaml:4:7: unknown team "identiti"; did you mean "identity"?`) {
			t.Errorf("invalid apply: %d\n%s", r.code, r.stderr)
		}
		var p api.Problem
		body, _ := json.Marshal(api.ApplyRequest{Files: []api.ApplyFile{{Path: "x.yaml", Content: "apiVersion: tsuna/v1\nkind: Service\nname: a\nteam: nobody\n"}}})
		resp := call(t, "POST", srv.url+"/api/v1/catalog", adminSecret, string(body), &p)
		errs, _ := json.Marshal(p.Errors)
		var diags []catalog.Diagnostic
		json.Unmarshal(errs, &diags)
		if resp.StatusCode != 422 || len(diags) != 1 || diags[0].Pos() != (catalog.Pos{File: "x.yaml", Line: 4, Column: 7}) ||
			diags[0].Severity != "error" || !strings.HasPrefix(diags[0].Message, `unknown team "nobody"`) {
			t.Errorf("invalid catalog over the API: %d %s", resp.StatusCode, errs)
		}
		var svcs struct{ Services []json.RawMessage }
		call(t, "GET", srv.url+"/api/v1/services", adminSecret, "", &svcs)
		if len(svcs.Services) != 11 || auditLen(t, srv) != n {
			t.Errorf("an invalid apply changed the catalog: %d services", len(svcs.Services))
		}

		// Prune: a file removed deletes its objects, unless --prune=false.
		dir = copyCatalog(t)
		os.Remove(filepath.Join(dir, "services/storefront.yaml"))
		if r := run(t, admin, "apply", "--prune=false", dir); strings.TrimSpace(r.stdout) != "no changes" {
			t.Errorf("--prune=false: %s", r.stdout)
		}
		r = run(t, admin, "apply", "--output", "json", dir)
		var ar api.ApplyResponse
		if err := json.Unmarshal([]byte(r.stdout), &ar); err != nil || len(ar.Deleted) != 3 || ar.Deleted[0].Name != "catalog-api" {
			t.Errorf("prune: %s %v", r.stdout, err)
		}

		// Malformed bodies say what is wrong, by JSON field path.
		for body, want := range map[string]string{
			`{"files": [`:                   "JSON ends early",
			`{"files": "x"}`:                "files: must be an array",
			`{"files": [{"path": 1}]}`:      "files.path: must be a string",
			`{"files": [], "force": true}`:  "force: unknown field",
			`{"files": []}`:                 "files: empty",
			`{"files": [{"content": "a"}]}`: "files[0].path: required",
		} {
			var p api.Problem
			resp := call(t, "POST", srv.url+"/api/v1/catalog", adminSecret, body, &p)
			if resp.StatusCode != 422 || !strings.Contains(p.Detail, want) {
				t.Errorf("body %s: %d %q, want 422 %q", body, resp.StatusCode, p.Detail, want)
			}
		}
	})
}

func TestBodyLimit(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--max-body", "1")
	big := fmt.Sprintf(`{"files":[{"path":"a.yaml","content":%q}]}`, strings.Repeat("# padding\n", 200_000))
	var p api.Problem
	resp := call(t, "POST", srv.url+"/api/v1/catalog", adminSecret, big, &p)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || p.Code != "too_large" || !strings.Contains(p.Detail, "1 MiB limit") {
		t.Errorf("over the limit: %d %+v", resp.StatusCode, p)
	}
	if n := auditLen(t, srv); n != 1 {
		t.Errorf("an oversized apply wrote %d records", n-1)
	}
}
