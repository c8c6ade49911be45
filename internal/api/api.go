// Package api holds the types that cross the wire between tsuna's HTTP
// server and its clients: request and response bodies that are not domain
// types themselves, problem details, and header names. The server and the
// client both import it; it imports only domain packages, so a client links
// no database driver.
package api

import (
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
)

// HeaderSource lets a client say which surface a change comes from
// (audit.SourceCLI, ...).
const HeaderSource = "X-Tsuna-Source"

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"requestId,omitempty"`
	// Errors lists each validation finding, with its file:line:column or
	// JSON field path.
	Errors any `json:"errors,omitempty"`
}

// ApplyRequest is the body of POST /api/v1/catalog: the catalog files, as
// `tsuna lint` reads them, so errors name their file, line and column.
type ApplyRequest struct {
	Files []ApplyFile `json:"files"`
	// Prune deletes stored objects missing from files; default true.
	Prune  *bool `json:"prune,omitempty"`
	DryRun bool  `json:"dryRun,omitempty"`
	// BaseRevision is the catalog revision the files were checked
	// against (a dry run's revision); if the catalog changed since, the
	// apply answers 409 naming what changed, and applies nothing.
	BaseRevision *int64 `json:"baseRevision,omitempty"`
}

// ApplyFile is one catalog file.
type ApplyFile struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// ObjectRef names a catalog object.
type ObjectRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// ApplyResponse says what an apply changed (or would, on a dry run).
type ApplyResponse struct {
	DryRun bool `json:"dryRun"`
	// Revision is the catalog's revision after the apply, or the one a
	// dry run computed its changes against.
	Revision int64               `json:"revision"`
	Created  []ObjectRef         `json:"created"`
	Updated  []ObjectRef         `json:"updated"`
	Deleted  []ObjectRef         `json:"deleted"`
	Warnings catalog.Diagnostics `json:"warnings"`
}

// CreateTokenRequest is the body of POST /api/v1/tokens.
type CreateTokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
	Team string `json:"team,omitempty"`
}

// CreateTokenResponse carries the new token's secret, shown this once.
type CreateTokenResponse struct {
	Token  *auth.Token `json:"token"`
	Secret string      `json:"secret"`
}

// TokenList is the body of GET /api/v1/tokens.
type TokenList struct {
	Tokens []*auth.Token `json:"tokens"`
	// Next is the cursor of the next page; absent on the last.
	Next string `json:"next,omitempty"`
	// Total counts every item that matches, across pages.
	Total int `json:"total"`
}

// TeamList is the body of GET /api/v1/teams.
type TeamList struct {
	Teams []*catalog.Team `json:"teams"`
	// Next is the cursor of the next page; absent on the last.
	Next string `json:"next,omitempty"`
	// Total counts every item that matches, across pages.
	Total int `json:"total"`
}

// ServiceList is the body of GET /api/v1/services.
type ServiceList struct {
	Services []*catalog.Service `json:"services"`
	// Next is the cursor of the next page; absent on the last.
	Next string `json:"next,omitempty"`
	// Total counts every item that matches, across pages.
	Total int `json:"total"`
}

// SLOList is the body of GET /api/v1/slos.
type SLOList struct {
	SLOs []budget.Status `json:"slos"`
	// Next is the cursor of the next page; absent on the last.
	Next string `json:"next,omitempty"`
	// Total counts every item that matches, across pages.
	Total int `json:"total"`
}

// SLOHistory is the body of GET .../slos/{slo}/history.
type SLOHistory struct {
	Service string         `json:"service"`
	SLO     string         `json:"slo"`
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Step    string         `json:"step"`
	Points  []budget.Point `json:"points"`
}

// EventsRequest is the body of POST .../slos/{slo}/events.
type EventsRequest struct {
	Events []budget.Event `json:"events"`
}

// EventsResponse says how many pushed events were new.
type EventsResponse struct {
	Received   int `json:"received"`
	Added      int `json:"added"`
	Duplicates int `json:"duplicates"`
}

// AlertList is the body of GET /api/v1/alerts.
type AlertList struct {
	Alerts []alerting.StoredAlert `json:"alerts"`
	// Next is the cursor of the next page; absent on the last.
	Next string `json:"next,omitempty"`
	// Total counts every item that matches, across pages.
	Total int `json:"total"`
}

// WebhookResponse answers Alertmanager's webhook.
type WebhookResponse struct {
	Result  string `json:"result"` // stored or duplicate
	Channel string `json:"channel"`
	Routed  bool   `json:"routed"`
}

// AuditList is the body of GET /api/v1/audit.
type AuditList struct {
	Records []audit.Record `json:"records"`
	// Next is the cursor of the next page; absent on the last.
	Next string `json:"next,omitempty"`
}

// AuditVerification is the body of GET /api/v1/audit/verify.
type AuditVerification = audit.Verification

// AuditHead is the body of GET /api/v1/audit/head: the newest record's
// checkpoint, null on an empty log.
type AuditHead struct {
	Head *audit.Checkpoint `json:"head"`
}
