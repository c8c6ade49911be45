package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyToken
)

// requestID takes a sane X-Request-Id from the client or makes one, and
// returns it in the response.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	})
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe counts and times each request by route pattern, and logs it.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		holder := &tokenHolder{} // filled by authed, read here for the log
		r = r.WithContext(context.WithValue(r.Context(), keyToken, holder))
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		// Every label value comes from a fixed set: the route patterns, the
		// standard methods and the status codes tsuna answers. A client
		// cannot grow /metrics by what it sends.
		route := r.Pattern // set by the mux on this request
		switch {
		case holder.console:
			route = "console" // every console page under one label
		case route == "" || route == "/":
			route = "unmatched"
		default:
			if _, p, ok := strings.Cut(route, " "); ok {
				route = p
			}
		}
		method := metricMethod(r.Method)
		s.requests.WithLabelValues(method, route, strconv.Itoa(metricStatus(sw.status))).Inc()
		s.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
		if route == "/metrics" || route == "/healthz" || route == "/readyz" {
			return
		}
		s.log.Info("request", "method", method, "route", route, "path", r.URL.Path, "status", sw.status,
			"duration", elapsed, "request_id", requestIDFrom(r.Context()), "actor", actorName(r.Context()))
	})
}

// metricMethod maps a request method to a label value: the standard
// methods as themselves, anything else to "other".
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// metricStatus bounds a status code to the range HTTP defines.
func metricStatus(code int) int {
	if code < 100 || code > 599 {
		return 0
	}
	return code
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
// The scheme is matched case-insensitively (RFC 7235).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// refuseEarly prepares an answer given before the body was read: the
// connection is closed after it rather than drained, so a client that
// sends its body slowly holds nothing.
func refuseEarly(w http.ResponseWriter) {
	http.NewResponseController(w).SetReadDeadline(time.Now())
	w.Header().Set("Connection", "close")
}

// deadline gives every request a deadline: the handler's context ends
// after timeout (or when the client goes away), and reading the body must
// finish within bodyTimeout.
func (s *Server) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.bodyTimeout))
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authed requires a valid bearer token and puts it in the context. It
// answers from the headers alone, before any body is read.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			refuseEarly(w)
			w.Header().Set("WWW-Authenticate", `Bearer realm="tsuna"`)
			s.error(w, r, tsuna.Errorf(tsuna.EUNAUTHORIZED, "missing token: send Authorization: Bearer <token> (tsuna reads TSUNA_TOKEN)"))
			return
		}
		tok, err := s.store.TokenBySecretHash(r.Context(), auth.HashSecret(secret))
		if err != nil {
			refuseEarly(w)
			if tsuna.ErrorCode(err) == tsuna.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tsuna", error="invalid_token"`)
			}
			s.error(w, r, err)
			return
		}
		if holder, ok := r.Context().Value(keyToken).(*tokenHolder); ok {
			holder.tok = tok
		} else {
			r = r.WithContext(context.WithValue(r.Context(), keyToken, &tokenHolder{tok: tok}))
		}
		h(w, r)
	})
}

// tokenHolder carries, from the handlers back to observe, the request's
// token and whether the console served it.
type tokenHolder struct {
	tok     *auth.Token
	console bool
}

// servedByConsole marks r as served by the console, for its route label.
func servedByConsole(r *http.Request) {
	if h, ok := r.Context().Value(keyToken).(*tokenHolder); ok {
		h.console = true
	}
}

func tokenFrom(ctx context.Context) *auth.Token {
	if h, ok := ctx.Value(keyToken).(*tokenHolder); ok {
		return h.tok
	}
	return nil
}

func actorName(ctx context.Context) string {
	if t := tokenFrom(ctx); t != nil {
		return t.Name
	}
	return ""
}

// actor returns who makes the request's changes, for the audit log. A
// client may name its surface: cli, or api by default; anything else is
// ignored (the console and chat are served by tsuna itself and say so).
func actor(r *http.Request) audit.Actor {
	src := audit.SourceAPI
	if r.Header.Get(api.HeaderSource) == audit.SourceCLI {
		src = audit.SourceCLI
	}
	return audit.Actor{Name: actorName(r.Context()), Source: src, RequestID: requestIDFrom(r.Context())}
}
