package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/app"
	"github.com/tsuna-sre/tsuna/internal/budget"
)

// TestCloseLeavesNoGoroutine starts every component (HTTP server, alert
// receiver, chat delivery loop), serves a request, stops, and checks that
// no goroutine they started is left running.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1.2"}`))
	}))
	defer slack.Close()
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Config{
		Listen: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "tsuna.db"), Catalog: "../../examples/catalog",
		Policy: budget.DefaultPolicy(), AlertmanagerToken: "am-secret", FallbackChannel: "#unrouted",
		SlackToken: "xoxb-test", SlackAPIURL: slack.URL, BootstrapToken: strings.Repeat("x", 40),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + a.Addr().String() + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	client.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
