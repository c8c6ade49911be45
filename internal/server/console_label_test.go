package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestConsoleRouteLabel: requests the console serves are counted under
// route "console", whatever their path or the console's own patterns, so
// a client cannot grow /metrics through console paths; API paths keep
// their patterns, and unknown API paths stay "unmatched".
func TestConsoleRouteLabel(t *testing.T) {
	console := http.NewServeMux()
	console.HandleFunc("GET /services/{name}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })
	console.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	reg := prometheus.NewRegistry()
	s := New(Config{Store: downStore{}, Console: console, Registry: reg})
	for _, path := range []string{"/services/a", "/services/b", "/nope/1", "/nope/2", "/static/x.css", "/api/v1/nope", "/healthz"} {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "tsuna_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var route, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "route":
					route = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			got[route+" "+code] += m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"console 200": 2, "console 404": 3, "unmatched 404": 1, "/healthz 200": 1}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("tsuna_http_requests_total{route,code=%q} = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
