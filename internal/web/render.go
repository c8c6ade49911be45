package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// layout is what the layout template reads besides the page's own data.
type layout struct {
	Me   *Principal
	Nav  []NavItem
	Path string
	Demo bool
	Data any
}

// render writes page t with data, 200.
func (c *Console) render(w http.ResponseWriter, r *http.Request, t *template.Template, p *Principal, data any) {
	c.renderStatus(w, r, http.StatusOK, t, p, data)
}

func (c *Console) renderStatus(w http.ResponseWriter, r *http.Request, status int, t *template.Template, p *Principal, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", layout{Me: p, Nav: c.nav, Path: r.URL.Path, Demo: c.demo, Data: data}); err != nil {
		c.log.Error("render page", "path", r.URL.Path, "err", err)
		http.Error(w, "the page could not be rendered; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorData struct {
	Title, Message string
	Status         int
}

// errorPage shows a message in the layout.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, p *Principal, status int, title, msg string) {
	c.renderStatus(w, r, status, c.pages["error"], p, errorData{Title: title, Message: msg, Status: status})
}

// statusOf maps a domain error code to the page's HTTP status.
var statusOf = map[string]int{
	tsuna.EINVALID:      http.StatusUnprocessableEntity,
	tsuna.EUNAUTHORIZED: http.StatusUnauthorized,
	tsuna.EFORBIDDEN:    http.StatusForbidden,
	tsuna.ENOTFOUND:     http.StatusNotFound,
	tsuna.ECONFLICT:     http.StatusConflict,
	tsuna.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	tsuna.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// fail shows err as a page: a domain error with its message, anything
// else logged and shown as a generic failure.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *Principal, err error) {
	if errors.Is(err, errNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound, "Not found", "There is no page at "+r.URL.Path+".")
		return
	}
	status, ok := statusOf[tsuna.ErrorCode(err)]
	if !ok {
		c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "request_id", w.Header().Get("X-Request-Id"), "err", err)
		c.errorPage(w, r, p, http.StatusInternalServerError, "Something went wrong",
			"The server could not answer; the error is in its log under request "+w.Header().Get("X-Request-Id")+".")
		return
	}
	c.errorPage(w, r, p, status, http.StatusText(status), tsuna.ErrorMessage(err))
}

// funcs are the templates' helpers. Nothing returns unescaped HTML.
var funcs = template.FuncMap{
	"pct": func(f *float64) string {
		if f == nil {
			return "—"
		}
		return fmtPct(*f)
	},
	"pctv": fmtPct,
	// sli shows an SLI to three decimals at most: 99.862%.
	"sli": func(f *float64) string {
		if f == nil {
			return "—"
		}
		return strconv.FormatFloat(slo.Round(*f, 3), 'f', -1, 64) + "%"
	},
	"num": func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
	"rate": func(f float64) string {
		if f >= 100 {
			return strconv.FormatFloat(f, 'f', 0, 64) + "×"
		}
		return strconv.FormatFloat(f, 'f', 2, 64) + "×"
	},
	"ago":  ago,
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"stateText": stateText,
	"query":     query,
	"join":      strings.Join,
	"add":       func(a, b int) int { return a + b },
	"budgetBar": budgetBar,
	"eq1":       func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) },
	"safeURL": func(s string) string {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return ""
		}
		return s
	},
}

func fmtPct(f float64) string {
	switch a := math.Abs(f); {
	case f == math.Trunc(f):
		return strconv.FormatFloat(f, 'f', 0, 64) + "%"
	case a >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64) + "%"
	case a >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(f, 'f', 2, 64) + "%"
}

// ago writes how long before now t was, for people.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// stateText names a budget state in words, so it reads without colour.
func stateText(s string) string {
	switch s {
	case budget.StateOK:
		return "OK"
	case budget.StateExhausted:
		return "Exhausted"
	case budget.StateNoData:
		return "No data"
	case budget.StateUnknown:
		return "Unknown"
	case stateBurning:
		return "Burning"
	}
	return s
}

// query builds "?k=v&..." from pairs, dropping empty values.
func query(kv ...any) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if v := fmt.Sprint(kv[i+1]); v != "" && v != "0" {
			q.Set(fmt.Sprint(kv[i]), v)
		}
	}
	if len(q) == 0 {
		return "?"
	}
	return "?" + q.Encode()
}

// budgetBar is the width (0-100) of a budget-left bar.
func budgetBar(f *float64) int {
	if f == nil || *f <= 0 {
		return 0
	}
	return int(math.Min(100, math.Round(*f)))
}
