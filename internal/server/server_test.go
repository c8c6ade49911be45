package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
)

// downStore is a store whose database does not answer.
type downStore struct{ Store }

func (downStore) Ping(context.Context) error {
	return &tsuna.Error{Code: tsuna.EUNAVAILABLE, Message: "database unreachable"}
}

func TestReadyzWhenDatabaseDown(t *testing.T) {
	s := New(Config{Store: downStore{}})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	var p api.Problem
	json.Unmarshal(w.Body.Bytes(), &p)
	if w.Code != http.StatusServiceUnavailable || p.Code != tsuna.EUNAVAILABLE || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("readyz with the database down = %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != 200 {
		t.Fatalf("healthz must not depend on the database: %d", w.Code)
	}
}

func TestUnknownRouteIsProblem(t *testing.T) {
	s := New(Config{Store: downStore{}})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/nope", nil))
	if w.Code != 404 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unknown route = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("PUT", "/api/v1/teams", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") == "" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("wrong method = %d, Allow %q, %s", w.Code, w.Header().Get("Allow"), w.Body)
	}
}
