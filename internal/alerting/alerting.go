// Package alerting receives Alertmanager notifications: it checks the
// webhook payload, computes the key that makes replays and HA pairs count
// once, and routes each alert group to the owning team's chat channel.
package alerting

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Alert states, of a notification and of each of its alerts.
const (
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Payload is Alertmanager's webhook body, version "4". Unknown fields are
// ignored: newer Alertmanagers add some.
type Payload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Parse decodes and checks a webhook body. Its errors name the JSON field.
func Parse(body []byte) (*Payload, error) {
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("body: invalid JSON at byte %d", se.Offset)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%s: must be %s", te.Field, te.Type)
		}
		return nil, fmt.Errorf("body: invalid JSON: %v", err)
	}
	switch {
	case p.Version != "4":
		return nil, fmt.Errorf("version: %q is not supported; tsuna reads Alertmanager's webhook version \"4\"", p.Version)
	case p.GroupKey == "":
		return nil, errors.New("groupKey: required")
	case p.Status != StateFiring && p.Status != StateResolved:
		return nil, fmt.Errorf("status: %q; want firing or resolved", p.Status)
	case len(p.Alerts) == 0:
		return nil, errors.New("alerts: empty; a notification carries at least one alert")
	}
	for i := range p.Alerts {
		a := &p.Alerts[i]
		switch {
		case a.Status != StateFiring && a.Status != StateResolved:
			return nil, fmt.Errorf("alerts[%d].status: %q; want firing or resolved", i, a.Status)
		case a.StartsAt.IsZero():
			return nil, fmt.Errorf("alerts[%d].startsAt: required", i)
		case len(a.Labels) == 0:
			return nil, fmt.Errorf("alerts[%d].labels: empty", i)
		}
		if a.Fingerprint == "" {
			a.Fingerprint = Fingerprint(a.Labels)
		}
	}
	return &p, nil
}

// Fingerprint identifies an alert by its labels, for Alertmanagers that do
// not send one.
func Fingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// DedupKey is the same for every delivery of one notification: its group,
// its status and the set of (fingerprint, startsAt, endsAt) of its alerts.
func (p *Payload) DedupKey() string {
	items := make([]string, len(p.Alerts))
	for i, a := range p.Alerts {
		items[i] = a.Fingerprint + "|" + a.StartsAt.UTC().Format(time.RFC3339Nano) + "|" + a.EndsAt.UTC().Format(time.RFC3339Nano)
	}
	slices.Sort(items)
	sum := sha256.Sum256([]byte(p.GroupKey + "\x00" + p.Status + "\x00" + strings.Join(items, "\x00")))
	return hex.EncodeToString(sum[:])
}

// Route is where a notification goes.
type Route struct {
	Service string `json:"service"`
	Team    string `json:"team"`
	Channel string `json:"channel"`
	// Routed is false when the notification went to the fallback channel.
	Routed bool `json:"routed"`
	// Mention is the Slack user ID of the team's first on-call member.
	Mention   string `json:"mention,omitempty"`
	Runbook   string `json:"runbook,omitempty"`
	Dashboard string `json:"dashboard,omitempty"`
}

// Directory finds services and teams of the catalog.
type Directory interface {
	Channel(service, team string) (Route, bool)
}

// RouteOf routes a notification: alert → service (label service) → team
// (label team, else the service's team) → channel (the service's, else the
// team's, else fallback).
func RouteOf(p *Payload, dir Directory, fallback string) Route {
	label := func(k string) string {
		if v := p.CommonLabels[k]; v != "" {
			return v
		}
		for _, a := range p.Alerts {
			if v := a.Labels[k]; v != "" {
				return v
			}
		}
		return ""
	}
	service, team := label("service"), label("team")
	if r, ok := dir.Channel(service, team); ok && r.Channel != "" {
		r.Routed = true
		return r
	}
	return Route{Service: service, Team: team, Channel: fallback}
}
