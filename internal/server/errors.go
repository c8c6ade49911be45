package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
)

// statusOf maps each domain error code to its HTTP status: the one place
// where that mapping lives.
var statusOf = map[string]int{
	tsuna.EINVALID:      http.StatusUnprocessableEntity,
	tsuna.EUNAUTHORIZED: http.StatusUnauthorized,
	tsuna.EFORBIDDEN:    http.StatusForbidden,
	tsuna.ENOTFOUND:     http.StatusNotFound,
	tsuna.ECONFLICT:     http.StatusConflict,
	tsuna.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	tsuna.EUNAVAILABLE:  http.StatusServiceUnavailable,
	tsuna.EINTERNAL:     http.StatusInternalServerError,
}

// error writes err as application/problem+json. Internal errors are logged
// with their cause and answered with a generic message.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	code := tsuna.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestIDFrom(r.Context()), "err", err)
	}
	var details any
	var e *tsuna.Error
	if errors.As(err, &e) {
		details = e.Details
	}
	s.writeProblem(w, r, status, code, tsuna.ErrorMessage(err), details)
}

// problem writes a problem that is not a domain error, such as a 405.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	s.writeProblem(w, r, status, code, detail, nil)
}

func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string, details any) {
	p := api.Problem{
		Type: "urn:tsuna:problem:" + code, Title: http.StatusText(status), Status: status,
		Detail: detail, Code: code, RequestID: requestIDFrom(r.Context()), Errors: details,
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decode reads a JSON body into v strictly: unknown fields, trailing data
// and wrong types are errors that name the JSON field path.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return tsuna.Errorf(tsuna.EINVALID, "Content-Type %q: send application/json", ct)
	}
	body := http.MaxBytesReader(w, r.Body, s.maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return tsuna.Errorf(tsuna.EINVALID, "body: unexpected data after the JSON object; send one object")
		}
		return nil
	}
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tpe *time.ParseError
	switch {
	case errors.As(err, &tpe):
		return tsuna.Errorf(tsuna.EINVALID, "body: timestamp %q is not in RFC 3339; write it as 2026-01-02T15:04:05Z", strings.Trim(tpe.Value, `"`))
	case errors.As(err, &tooLarge):
		return tsuna.Errorf(tsuna.ETOOLARGE, "request body is over the %d MiB limit; split the request or raise tsuna serve --max-body", s.maxBody>>20)
	case errors.As(err, &syntax):
		return tsuna.Errorf(tsuna.EINVALID, "body: invalid JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		return tsuna.Errorf(tsuna.EINVALID, "%s: must be %s, got %s", fieldPath(typ), jsonType(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.EOF):
		return tsuna.Errorf(tsuna.EINVALID, "body: empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return tsuna.Errorf(tsuna.EINVALID, "body: JSON ends early; send a complete object")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return tsuna.Errorf(tsuna.EINVALID, "%s: unknown field; see /api/v1/openapi.json for the request schema", strings.Trim(f, `"`))
	}
	return tsuna.Errorf(tsuna.EINVALID, "body: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func fieldPath(e *json.UnmarshalTypeError) string {
	if e.Field == "" {
		return "body"
	}
	return e.Field
}

func jsonType(kind string) string {
	switch kind {
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	if strings.HasPrefix(kind, "int") || strings.HasPrefix(kind, "uint") || strings.HasPrefix(kind, "float") {
		return "a number"
	}
	return fmt.Sprintf("a %s", kind)
}
