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
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
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

// Limits on a notification, checked before it is stored.
const (
	MaxAlerts    = 1000    // alerts in one notification
	MaxLabels    = 100     // labels or annotations of one alert
	MaxTextBytes = 1 << 16 // bytes in one label, annotation, key or URL
)

// Parse decodes and checks a webhook body strictly: one JSON object and
// nothing after it, the fields Alertmanager sends with sane values, and no
// text with NUL bytes or beyond MaxTextBytes. Its errors name the JSON field.
func Parse(body []byte) (*Payload, error) {
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(&p)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return nil, errors.New("body: unexpected data after the JSON object; send one notification per request")
		}
	}
	if err != nil {
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
	case len(p.Alerts) > MaxAlerts:
		return nil, fmt.Errorf("alerts: %d alerts; at most %d in one notification (lower max_alerts in the webhook_config)", len(p.Alerts), MaxAlerts)
	case p.TruncatedAlerts < 0:
		return nil, fmt.Errorf("truncatedAlerts: %d; must be 0 or more", p.TruncatedAlerts)
	}
	for field, v := range map[string]string{"groupKey": p.GroupKey, "receiver": p.Receiver, "externalURL": p.ExternalURL} {
		if err := checkText(field, v); err != nil {
			return nil, err
		}
	}
	for field, m := range map[string]map[string]string{"groupLabels": p.GroupLabels, "commonLabels": p.CommonLabels, "commonAnnotations": p.CommonAnnotations} {
		if err := checkMap(field, m); err != nil {
			return nil, err
		}
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
		for field, v := range map[string]string{"fingerprint": a.Fingerprint, "generatorURL": a.GeneratorURL} {
			if err := checkText(fmt.Sprintf("alerts[%d].%s", i, field), v); err != nil {
				return nil, err
			}
		}
		for field, m := range map[string]map[string]string{"labels": a.Labels, "annotations": a.Annotations} {
			if err := checkMap(fmt.Sprintf("alerts[%d].%s", i, field), m); err != nil {
				return nil, err
			}
		}
		if a.Fingerprint == "" {
			a.Fingerprint = Fingerprint(a.Labels)
		}
	}
	return &p, nil
}

// checkText refuses text no store or chat can keep: NUL bytes, invalid
// UTF-8, or more than MaxTextBytes.
func checkText(field, v string) error {
	switch {
	case len(v) > MaxTextBytes:
		return fmt.Errorf("%s: %d bytes; at most %d", field, len(v), MaxTextBytes)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%s: contains a NUL character", field)
	case !utf8.ValidString(v):
		return fmt.Errorf("%s: not valid UTF-8", field)
	}
	return nil
}

func checkMap(field string, m map[string]string) error {
	if len(m) > MaxLabels {
		return fmt.Errorf("%s: %d entries; at most %d", field, len(m), MaxLabels)
	}
	for k, v := range m {
		if err := checkText(field+" key", k); err != nil {
			return err
		}
		if err := checkText(field+"."+k, v); err != nil {
			return err
		}
	}
	return nil
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
