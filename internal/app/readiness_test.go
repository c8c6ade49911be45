package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/app"
	"github.com/tsuna-sre/tsuna/internal/budget"
)

// TestReadinessRefreshJob: open readiness reviews are evaluated again by
// the periodic job, with nobody reading them: a SEV2 incident on the
// service makes its review stale, and the team's channel is told.
func TestReadinessRefreshJob(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	token := strings.Repeat("x", 40)
	a, err := app.New(ctx, app.Config{
		Listen: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "tsuna.db"), Catalog: "../../examples/catalog",
		Policy: budget.DefaultPolicy(), BootstrapToken: token, ReadinessEvery: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	base := "http://" + a.Addr().String()
	call := func(method, path, body string, want int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d\n%s", method, path, resp.StatusCode, want, b)
		}
		return b
	}
	call("POST", "/api/v1/readiness/services/checkout-api/review", `{}`, 201)
	call("POST", "/api/v1/incidents", `{"title":"Checkout down","severity":"SEV2","services":["checkout-api"]}`, 201)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var card struct {
			Services []struct {
				Service string
				Stale   *struct{ Reason string }
			}
		}
		json.Unmarshal(call("GET", "/api/v1/readiness/scorecard?team=payments", "", 200), &card)
		stale := ""
		for _, s := range card.Services {
			if s.Service == "checkout-api" && s.Stale != nil {
				stale = s.Stale.Reason
			}
		}
		if stale != "" {
			if !strings.Contains(stale, "SEV2 incident INC-1 hit the service") {
				t.Errorf("stale because %q", stale)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the review never turned stale: the periodic re-evaluation did not run")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out := call("GET", "/api/v1/outbox", "", 200); !strings.Contains(string(out), "Readiness review of checkout-api is stale") {
		t.Errorf("the team was not told:\n%s", out)
	}
}
