// Package alertingtest holds Alertmanager webhook fixtures shared by the
// tests and load tools of every package: one realistic notification, so a
// change to the contract is made in one place.
package alertingtest

import (
	"fmt"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting"
)

// StartsAt is when the fixtures' alerts start.
var StartsAt = time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)

// Webhook is an Alertmanager webhook body (version "4") for one page alert
// named alertname of service, in its own group, with a summary, a
// description, a generator URL and a field tsuna does not read.
// A resolved one ends 10 minutes after it started.
func Webhook(status, service, alertname string) string {
	return WebhookAt(status, service, alertname, StartsAt)
}

// WebhookAt is Webhook with the alert starting at startsAt.
func WebhookAt(status, service, alertname string, startsAt time.Time) string {
	ends := "0001-01-01T00:00:00Z"
	if status == alerting.StateResolved {
		ends = startsAt.Add(10 * time.Minute).UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"%s\"}","truncatedAlerts":0,"status":%q,"receiver":"tsuna",
"groupLabels":{"alertname":%q},"commonLabels":{"alertname":%q,"service":%q,"severity":"page"},
"commonAnnotations":{"summary":"Checkout errors above 5%%","description":"5xx ratio is 7%%"},"externalURL":"http://127.0.0.1:9093",
"alerts":[{"status":%q,"labels":{"alertname":%q,"service":%q,"severity":"page"},"annotations":{"summary":"Checkout errors above 5%%"},
"startsAt":%q,"endsAt":%q,"generatorURL":"http://127.0.0.1:9090/graph?g0.expr=up","fingerprint":"fp-%s-%s"}],"newField":"ignored"}`,
		alertname, status, alertname, alertname, service, status, alertname, service,
		startsAt.UTC().Format(time.RFC3339), ends, service, alertname)
}

// Payload is a parsed notification of group with one alert per
// fingerprint, each labelled alertname=fingerprint.
func Payload(group, status string, fingerprints ...string) *alerting.Payload {
	p := &alerting.Payload{Version: "4", GroupKey: group, Status: status, Receiver: "tsuna"}
	for _, fp := range fingerprints {
		p.Alerts = append(p.Alerts, alerting.Alert{Status: status, Fingerprint: fp, Labels: map[string]string{"alertname": fp},
			StartsAt: StartsAt})
	}
	return p
}
