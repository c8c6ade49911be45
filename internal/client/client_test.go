package client

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/api"
)

const secret = "tsuna_supersecret_token_value_0123456789"

// TestErrorsNeverHoldTheToken checks every failure path of the client: an
// unreachable server, an error answer, and a garbled answer.
func TestErrorsNeverHoldTheToken(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()

	var sawAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = r.Header.Get("Authorization")
		if r.URL.Path == "/api/v1/tokens" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(403)
			w.Write([]byte(`{"status":403,"detail":"token \"x\" is a viewer","code":"forbidden"}`))
			return
		}
		w.Write([]byte("not json"))
	}))
	defer srv.Close()

	for name, call := range map[string]func() error{
		"unreachable": func() error { _, err := New(dead, secret, "cli").Tokens(context.Background()); return err },
		"problem":     func() error { _, err := New(srv.URL, secret, "cli").Tokens(context.Background()); return err },
		"garbled": func() error {
			_, err := New(srv.URL, secret, "cli").Apply(context.Background(), api.ApplyRequest{})
			return err
		},
	} {
		err := call()
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "supersecret") {
			t.Errorf("%s: error holds the token: %v", name, err)
		}
	}
	if sawAuth != "Bearer "+secret {
		t.Errorf("server saw Authorization %q", sawAuth)
	}
	_, err := New(srv.URL, secret, "cli").Tokens(context.Background())
	if e, ok := err.(*Error); !ok || e.Status != 403 || e.Problem.Code != "forbidden" || !strings.Contains(err.Error(), "is a viewer") {
		t.Errorf("problem not decoded: %#v", err)
	}
}
