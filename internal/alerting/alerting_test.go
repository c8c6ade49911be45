package alerting

import (
	"strings"
	"testing"
)

const body = `{"version":"4","groupKey":"g","status":"firing","receiver":"r","externalURL":"http://a:9093","newerField":{"x":1},
"alerts":[{"status":"firing","labels":{"alertname":"A","service":"s"},"startsAt":"2026-11-23T01:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f1"},
{"status":"firing","labels":{"alertname":"B"},"startsAt":"2026-11-23T01:00:00Z"}]}`

func TestParseAndDedup(t *testing.T) {
	p, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if p.Alerts[1].Fingerprint == "" || p.Alerts[1].Fingerprint != Fingerprint(map[string]string{"alertname": "B"}) {
		t.Errorf("missing fingerprint not computed: %q", p.Alerts[1].Fingerprint)
	}
	// The other Alertmanager of an HA pair: another URL, alerts in another order.
	other, _ := Parse([]byte(strings.Replace(body, "http://a:9093", "http://b:9093", 1)))
	other.Alerts[0], other.Alerts[1] = other.Alerts[1], other.Alerts[0]
	if p.DedupKey() != other.DedupKey() {
		t.Error("the same notification from two Alertmanagers has two dedup keys")
	}
	resolved, _ := Parse([]byte(strings.Replace(body, `"status":"firing","receiver"`, `"status":"resolved","receiver"`, 1)))
	if resolved.DedupKey() == p.DedupKey() {
		t.Error("the resolution has the firing notification's dedup key")
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	for in, want := range map[string]string{
		`{"version":"4"`: "invalid JSON",
		strings.Replace(body, `"version":"4"`, `"version":"3"`, 1):                                           `version: "3"`,
		strings.Replace(body, `"groupKey":"g"`, `"groupKey":""`, 1):                                          "groupKey: required",
		strings.Replace(body, `"status":"firing","receiver"`, `"status":"x","receiver"`, 1):                  `status: "x"`,
		strings.Replace(body, `"startsAt":"2026-11-23T01:00:00Z","endsAt"`, `"endsAt"`, 1):                   "alerts[0].startsAt: required",
		strings.Replace(body, `"alerts":[`, `"alerts":"no"`, 1)[:strings.Index(body, `"alerts":[`)+13] + "}": "alerts: must be",
	} {
		if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.40s...) = %v, want %q", in, err, want)
		}
	}
}

type dir map[string]Route

func (d dir) Channel(service, team string) (Route, bool) {
	r, ok := d[service+"/"+team]
	return r, ok
}

func TestRouteOf(t *testing.T) {
	p, _ := Parse([]byte(body))
	r := RouteOf(p, dir{"s/": {Service: "s", Team: "t", Channel: "#t"}}, "#fallback")
	if r.Channel != "#t" || !r.Routed {
		t.Errorf("route = %+v", r)
	}
	if r := RouteOf(p, dir{}, "#fallback"); r.Channel != "#fallback" || r.Routed || r.Service != "s" {
		t.Errorf("unrouted = %+v", r)
	}
}
