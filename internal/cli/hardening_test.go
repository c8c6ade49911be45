package cli_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tsuna-sre/tsuna/internal/catalog"

	"github.com/tsuna-sre/tsuna/internal/alerting/alertingtest"
	"github.com/tsuna-sre/tsuna/internal/cli"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
)

// pipeline sends n raw HTTP/1.1 requests on one connection and reads the
// answers, so tens of thousands of requests take seconds.
func pipeline(t *testing.T, addr string, n int, request func(i int) string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		w := bufio.NewWriter(conn)
		for i := range n {
			w.WriteString(request(i))
		}
		w.Flush()
	}()
	r := bufio.NewReader(conn)
	for range n {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("read answer: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// TestMetricsStayBoundedUnderRandomMethodsAndPaths sends 50,000 requests
// with made-up methods (some 8 KB long) and paths, without a token:
// /metrics stays small, because no label takes a value from the client.
func TestMetricsStayBoundedUnderRandomMethodsAndPaths(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"))
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			pipeline(t, srv.addr, 12500, func(i int) string {
				method := fmt.Sprintf("M%dX%d", c, rand.Int64())
				if i%1000 == 0 {
					method = strings.Repeat("Q", 8000) + method
				}
				return fmt.Sprintf("%s /p/%d/%x HTTP/1.1\r\nHost: x\r\n\r\n", method, i, rand.Int64())
			})
		})
	}
	wg.Wait()
	m := bodyOf(call(t, "GET", "http://"+srv.addr+"/metrics", "", "", nil))
	t.Logf("/metrics is %d bytes after 50,000 requests with random methods and paths", len(m))
	if len(m) > 100<<10 {
		t.Errorf("/metrics is %d KB after 50,000 random requests; want under 100 KB", len(m)>>10)
	}
	if !strings.Contains(m, `method="other"`) {
		t.Error("unknown methods are not counted as other")
	}
}

// TestUnauthenticatedSlowBodyAnsweredFromHeaders sends headers that
// announce a body, without a token, and no body: tsuna answers 401 and
// closes the connection at once, rather than hold it to drain the body.
func TestUnauthenticatedSlowBodyAnsweredFromHeaders(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"))
	for _, path := range []string{"/api/v1/catalog", "/hooks/alertmanager"} {
		conn, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", path)
		conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound, not a measure: the old server held it 120 s
		r := bufio.NewReader(conn)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("%s: no answer before the body: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 401 {
			t.Errorf("%s: %d, want 401", path, resp.StatusCode)
		}
		if _, err := r.ReadByte(); err != io.EOF {
			t.Errorf("%s: the connection is held after the 401 (%v); want it closed", path, err)
		}
		conn.Close()
	}
}

// TestBearerSchemeIsCaseInsensitive: RFC 7235 makes auth schemes
// case-insensitive.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"))
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		req, _ := http.NewRequest("GET", srv.url+"/api/v1/whoami", nil)
		req.Header.Set("Authorization", scheme+" "+adminSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%q scheme: %d", scheme, resp.StatusCode)
		}
	}
}

// TestWebhookIsStrict refuses what Alertmanager never sends: a token
// without its scheme, data after the JSON object, two objects, a negative
// truncatedAlerts, a NUL in a label.
func TestWebhookIsStrict(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--alertmanager-token", amSecret)
	hook := "http://" + srv.addr + "/hooks/alertmanager"
	good := alertingtest.Webhook("firing", "checkout-api", "Strict")
	send := func(auth, body string) int {
		req, _ := http.NewRequest("POST", hook, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name, auth, body string
		want             int
	}{
		{"token without Bearer", amSecret, good, 401},
		{"garbage after the body", "Bearer " + amSecret, good + "garbage", 422},
		{"two objects", "Bearer " + amSecret, good + good, 422},
		{"negative truncatedAlerts", "Bearer " + amSecret, strings.Replace(good, `"truncatedAlerts":0`, `"truncatedAlerts":-1`, 1), 422},
		{"NUL in a label", "Bearer " + amSecret, strings.Replace(good, `"severity":"page"}`, `"severity":"pa\u0000ge"}`, 1), 422},
		{"lowercase bearer", "bearer " + amSecret, good, 200},
	} {
		if got := send(tc.auth, tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	var list struct{ Total int }
	call(t, "GET", srv.url+"/api/v1/alerts", adminSecret, "", &list)
	if list.Total != 1 {
		t.Errorf("%d alerts stored, want only the valid one", list.Total)
	}
}

// TestWebhookWithNULFailsAloneNeighboursCommit sends 300 valid webhooks at
// once with one that PostgreSQL cannot store: the bad one gets a 4xx and
// every valid one is stored.
func TestWebhookWithNULFailsAloneNeighboursCommit(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn, "--alertmanager-token", amSecret)
		hook := "http://" + srv.addr + "/hooks/alertmanager"
		var wg sync.WaitGroup
		codes := make([]int, 301)
		for i := range 301 {
			wg.Go(func() {
				body := alertingtest.Webhook("firing", "svc", fmt.Sprintf("N%d", i))
				if i == 150 {
					body = strings.Replace(body, `"groupKey":"{}`, `"groupKey":"\u0000{}`, 1)
				}
				req, _ := http.NewRequest("POST", hook, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+amSecret)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			})
		}
		wg.Wait()
		for i, c := range codes {
			if want := map[bool]int{true: 422, false: 200}[i == 150]; c != want {
				t.Errorf("webhook %d: %d, want %d", i, c, want)
			}
		}
		var list struct{ Total int }
		call(t, "GET", srv.url+"/api/v1/alerts", adminSecret, "", &list)
		if list.Total != 300 {
			t.Errorf("%d alerts stored, want the 300 valid ones", list.Total)
		}
	})
}

// TestEventCountsBoundedNoOverflow pushes counts that would overflow a
// per-minute sum and wash out bad events, and a key with NUL: each is
// refused with its field, and the budget still shows the bad event.
func TestEventCountsBoundedNoOverflow(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(`apiVersion: tsuna/v1
kind: Team
name: batch
---
apiVersion: tsuna/v1
kind: Service
name: nightly
team: batch
slos:
  - name: jobs
    objective: 99
    sli: {events: {}}
`), 0o644)
		srv := startServer(t, dsn, "--catalog", dir)
		url := srv.url + "/api/v1/services/nightly/slos/jobs/events"
		now := time.Now().UTC().Add(-time.Minute).Truncate(time.Minute).Format(time.RFC3339)
		push := func(key string, good, total int64) (int, string) {
			var p struct{ Detail string }
			k, _ := json.Marshal(key)
			body := fmt.Sprintf(`{"events":[{"key":%s,"timestamp":%q,"good":%d,"total":%d}]}`, k, now, good, total)
			resp := call(t, "POST", url, adminSecret, body, &p)
			return resp.StatusCode, p.Detail
		}
		if c, d := push("bad", 0, 10); c != 200 {
			t.Fatalf("a bad event: %d %s", c, d)
		}
		const max = int64(9223372036854775807)
		for _, k := range []string{"wash1", "wash2"} {
			if c, d := push(k, max, max); c != 422 || !strings.Contains(d, "events[0].total") {
				t.Errorf("push of %d events: %d %q, want 422 naming events[0].total", max, c, d)
			}
		}
		if c, d := push("nul\u0000key", 1, 1); c != 422 || !strings.Contains(d, "events[0].key") {
			t.Errorf("key with NUL: %d %q", c, d)
		}
		var st struct{ SLI *float64 }
		call(t, "GET", srv.url+"/api/v1/services/nightly/slos/jobs", adminSecret, "", &st)
		if st.SLI == nil || *st.SLI != 0 {
			t.Errorf("SLI after the refused pushes = %v, want 0 (the bad event stands)", st.SLI)
		}
	})
}

// TestLastAdminCannotBeRevoked keeps a way in: the last active admin
// token cannot be revoked; a break-glass token made straight in the
// database, audited, can do it after an admin is made.
func TestLastAdminCannotBeRevoked(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn)
		vars := cliVars(srv, adminSecret)
		if r := run(t, vars, "token", "revoke", "bootstrap"); r.code == 0 || !strings.Contains(r.stderr, "last active admin") {
			t.Fatalf("revoking the last admin: %d %s", r.code, r.stderr)
		}
		r := run(t, nil, "token", "create", "--db", dsn, "--name", "glass", "--role", "admin")
		secret := strings.TrimSpace(r.stdout)
		if r.code != 0 || !strings.HasPrefix(secret, "tsuna_") {
			t.Fatalf("break glass: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, cliVars(srv, secret), "token", "revoke", "bootstrap"); r.code != 0 {
			t.Fatalf("revoke with two admins: %s", r.stderr)
		}
		var recs struct {
			Records []struct{ Actor, Name string }
		}
		call(t, "GET", srv.url+"/api/v1/audit?kind=Token", secret, "", &recs)
		found := false
		for _, rec := range recs.Records {
			found = found || rec.Name == "glass" && strings.HasPrefix(rec.Actor, "break-glass")
		}
		if !found {
			t.Errorf("the break-glass token is not audited as such: %+v", recs.Records)
		}
	})
}

// TestAuditVerifyMissingDatabaseFails: verify on a path with no database
// says so and creates nothing.
func TestAuditVerifyMissingDatabaseFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nothing-here.db")
	r := run(t, nil, "audit", "verify", "--db", path)
	if r.code == 0 || !strings.Contains(r.stderr, "no database at") {
		t.Errorf("verify of a missing database: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("verify created a database")
	}
}

// TestAuditVerifyCLIWithKeyAndCheckpoint runs the documented flow: the
// server logs a checkpoint; verify with the key file and the checkpoint
// passes, and names a truncation after records are deleted.
func TestAuditVerifyCLIWithKeyAndCheckpoint(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "t.db")
	srv := startServer(t, db, "--catalog", exampleCatalog)
	key := filepath.Join(dir, "tsuna-audit.key")
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit key: %v %v, want a 0600 file beside the database", fi, err)
	}
	r := run(t, cliVars(srv, adminSecret), "audit", "checkpoint")
	cp := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.Contains(cp, ":") {
		t.Fatalf("checkpoint: %s %s", r.stdout, r.stderr)
	}
	if !strings.Contains(srv.stderr.String(), "audit checkpoint") {
		t.Error("the server does not log a checkpoint")
	}
	srv.stop()
	if r := run(t, nil, "audit", "verify", "--db", db, "--checkpoint", cp); r.code != 0 || !strings.Contains(r.stdout, "MACs") {
		t.Fatalf("verify intact: %d %s %s", r.code, r.stdout, r.stderr)
	}
	sqlExec(t, db, `DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE seq > 3`)
	if r := run(t, nil, "audit", "verify", "--db", db, "--checkpoint", cp); r.code == 0 || !strings.Contains(r.stdout, "truncated") {
		t.Errorf("verify after truncation: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestDurationsInDaysAndWeeks: times ago are read in d and w too, as SLO
// windows are written.
func TestDurationsInDaysAndWeeks(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--catalog", exampleCatalog)
	for _, path := range []string{"/api/v1/audit?since=7d", "/api/v1/audit?since=2w", "/api/v1/services/checkout-api/slos/availability/history?from=7d&step=1d"} {
		if resp := call(t, "GET", srv.url+path, adminSecret, "", nil); resp.StatusCode == 422 {
			t.Errorf("%s: 422 %s", path, bodyOf(resp))
		}
	}
	if r := run(t, cliVars(srv, adminSecret), "audit", "list", "--since", "7d"); r.code != 0 {
		t.Errorf("audit list --since 7d: %s", r.stderr)
	}
}

// TestStaleCatalogRevisionConflicts applies from two checkouts of one
// revision: the second is refused with 409 naming the first's change,
// also for an editor (not a 403 about the other team's object).
func TestStaleCatalogRevisionConflicts(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn, "--catalog", exampleCatalog)
		files := readCatalog(t, exampleCatalog)
		var plan struct{ Revision int64 }
		body, _ := json.Marshal(map[string]any{"files": files, "dryRun": true})
		call(t, "POST", srv.url+"/api/v1/catalog", adminSecret, string(body), &plan)
		// Another admin changes a service in between.
		changed := readCatalog(t, exampleCatalog)
		for i, f := range changed {
			if strings.Contains(f["content"], "name: checkout-api") {
				changed[i]["content"] = strings.Replace(f["content"], "tier: 1", "tier: 2", 1)
			}
		}
		body, _ = json.Marshal(map[string]any{"files": changed})
		if resp := call(t, "POST", srv.url+"/api/v1/catalog", adminSecret, string(body), nil); resp.StatusCode != 200 {
			t.Fatalf("first apply: %d %s", resp.StatusCode, bodyOf(resp))
		}
		// The stale plan is refused, naming the change.
		var p struct{ Detail string }
		body, _ = json.Marshal(map[string]any{"files": files, "baseRevision": plan.Revision})
		if resp := call(t, "POST", srv.url+"/api/v1/catalog", adminSecret, string(body), &p); resp.StatusCode != 409 || !strings.Contains(p.Detail, "Service/checkout-api") {
			t.Errorf("stale apply: %d %q, want 409 naming Service/checkout-api", resp.StatusCode, p.Detail)
		}
		var tok struct{ Secret string }
		call(t, "POST", srv.url+"/api/v1/tokens", adminSecret, `{"name":"pay-ci","role":"editor","team":"payments"}`, &tok)
		if resp := call(t, "POST", srv.url+"/api/v1/catalog", tok.Secret, string(body), &p); resp.StatusCode != 409 {
			t.Errorf("stale apply by an editor: %d %q, want 409", resp.StatusCode, p.Detail)
		}
	})
}

// TestListsArePaged: a list answers at most its limit, a cursor to the
// next page, and the total.
func TestListsArePaged(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--alertmanager-token", amSecret, "--catalog", exampleCatalog)
	for i := range 25 {
		call(t, "POST", "http://"+srv.addr+"/hooks/alertmanager", amSecret, alertingtest.Webhook("firing", "checkout-api", fmt.Sprintf("P%d", i)), nil)
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		var page struct {
			Alerts []struct{ Fingerprint string }
			Next   string
			Total  int
		}
		call(t, "GET", srv.url+"/api/v1/alerts?limit=10&cursor="+cursor, adminSecret, "", &page)
		if len(page.Alerts) > 10 || page.Total != 25 {
			t.Fatalf("page of %d alerts, total %d", len(page.Alerts), page.Total)
		}
		for _, a := range page.Alerts {
			seen[a.Fingerprint] = true
		}
		if page.Next == "" {
			break
		}
		cursor, _ = strings.CutPrefix(page.Next, "")
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 25 {
		t.Errorf("%d distinct alerts over the pages, want 25", len(seen))
	}
	var svcs struct {
		Services []struct{ Name string }
		Next     string
		Total    int
	}
	call(t, "GET", srv.url+"/api/v1/services?limit=4", adminSecret, "", &svcs)
	if len(svcs.Services) != 4 || svcs.Next == "" || svcs.Total != 11 {
		t.Errorf("services page: %d, next %q, total %d", len(svcs.Services), svcs.Next, svcs.Total)
	}
	if r := run(t, cliVars(srv, adminSecret), "alerts", "list"); r.code != 0 || strings.Count(r.stdout, "\n") < 26 {
		t.Errorf("alerts list does not follow the pages: %s", r.stdout)
	}
}

// TestRequestIDAndSourceBounded: a client's X-Request-Id is kept only when
// short and plain, and X-Tsuna-Source only when it names a known surface.
func TestRequestIDAndSourceBounded(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"))
	req, _ := http.NewRequest("POST", "http://"+srv.addr+"/api/v1/tokens", strings.NewReader(`{"name":"x1","role":"viewer"}`))
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	req.Header.Set("X-Request-Id", strings.Repeat("<script>", 100))
	req.Header.Set("X-Tsuna-Source", "ui")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := resp.Header.Get("X-Request-Id"); len(id) > 64 || strings.Contains(id, "<") {
		t.Errorf("request id %q kept", id)
	}
	var recs struct {
		Records []struct{ Source, RequestID string }
	}
	call(t, "GET", srv.url+"/api/v1/audit?kind=Token&limit=1", adminSecret, "", &recs)
	if len(recs.Records) != 1 || recs.Records[0].Source != "api" || strings.Contains(recs.Records[0].RequestID, "<") {
		t.Errorf("audit = %+v, want source api and a server-made request id", recs.Records)
	}
}

// TestBootstrapSecretNeverInTheLog starts a server whose stderr is not a
// terminal: the first admin secret goes to a 0600 file whose path is
// logged, never to the log; secrets are read from files.
func TestBootstrapSecretNeverInTheLog(t *testing.T) {
	dir := t.TempDir()
	slackFile := filepath.Join(dir, "slack-token")
	os.WriteFile(slackFile, []byte("xoxb-from-a-file-secret\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "t.db"), "--slack-token-file", slackFile, "--log-format", "json"},
			cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: stderr, Getenv: func(string) string { return "" }})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), `"msg":"listening"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	logs := stderr.String()
	b, err := os.ReadFile(filepath.Join(dir, "tsuna-bootstrap-token"))
	secret := strings.TrimSpace(string(b))
	if err != nil || !strings.HasPrefix(secret, "tsuna_") {
		t.Fatalf("no bootstrap token file: %v\n%s", err, logs)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "tsuna-bootstrap-token")); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %o", fi.Mode().Perm())
	}
	if strings.Contains(logs, secret) || strings.Contains(logs, "xoxb-from-a-file-secret") {
		t.Error("a secret reached the log")
	}
	if !strings.Contains(logs, "tsuna-bootstrap-token") {
		t.Error("the log does not say where the token is")
	}
}

// readCatalog reads a catalog directory as the apply request's files.
func readCatalog(t *testing.T, dir string) []map[string]string {
	t.Helper()
	files, err := catalog.ReadFiles([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]string, len(files))
	for i, f := range files {
		out[i] = map[string]string{"path": f.Path, "content": string(f.Data)}
	}
	return out
}

// sqlExec runs statements on a SQLite database, as someone with access
// to the file could.
func sqlExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
