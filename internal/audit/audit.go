// Package audit defines the records of tsuna's append-only audit log and
// the hash chain that makes tampering with them detectable.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Sources of a mutation.
const (
	SourceAPI  = "api"
	SourceCLI  = "cli"
	SourceChat = "chat"
	SourceUI   = "ui"
)

// Record is one entry of the audit log.
type Record struct {
	Seq       int64           `json:"seq"`
	Time      time.Time       `json:"time"`
	Actor     string          `json:"actor"`
	Source    string          `json:"source"`
	Action    string          `json:"action"`
	Kind      string          `json:"kind"`
	Name      string          `json:"name"`
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	RequestID string          `json:"requestId,omitempty"`
	PrevHash  string          `json:"prevHash"`
	Hash      string          `json:"hash"`
}

// Genesis is the PrevHash of the first record.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Precision is the time precision records keep, so a record read back from
// any store hashes the same as when it was written.
const Precision = time.Microsecond

// ComputeHash returns the hash of r chained to r.PrevHash: SHA-256 over a
// JSON array of every field but Hash. JSON arrays are unambiguous, so two
// different records never hash the same input.
func ComputeHash(r *Record) string {
	fields := []any{r.Seq, r.Time.UTC().Truncate(Precision).Format(time.RFC3339Nano), r.Actor, r.Source,
		r.Action, r.Kind, r.Name, rawOrNull(r.Before), rawOrNull(r.After), r.RequestID, r.PrevHash}
	b, err := json.Marshal(fields)
	if err != nil {
		panic("audit: marshal: " + err.Error()) // before/after are valid JSON by construction
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func rawOrNull(m json.RawMessage) json.RawMessage {
	if len(m) == 0 {
		return json.RawMessage("null")
	}
	return m
}

// Seal sets r's sequence number, previous hash and hash to follow prev
// (nil for the first record).
func Seal(r *Record, prev *Record) {
	r.Time = r.Time.UTC().Truncate(Precision)
	if prev == nil {
		r.Seq, r.PrevHash = 1, Genesis
	} else {
		r.Seq, r.PrevHash = prev.Seq+1, prev.Hash
	}
	r.Hash = ComputeHash(r)
}

// Verifier checks records in sequence order, one at a time, so a log of any
// length is verified in constant memory.
type Verifier struct {
	prev    *Record
	checked int64
}

// Check verifies the next record. It returns a non-nil *Break at the first
// record whose sequence, link or hash does not hold.
func (v *Verifier) Check(r *Record) *Break {
	wantSeq, wantPrev := int64(1), Genesis
	if v.prev != nil {
		wantSeq, wantPrev = v.prev.Seq+1, v.prev.Hash
	}
	var reason string
	switch {
	case r.Seq != wantSeq:
		reason = "sequence gap: a record before it was deleted or inserted"
	case r.PrevHash != wantPrev:
		reason = "prevHash does not match the hash of the record before it"
	case ComputeHash(r) != r.Hash:
		reason = "content does not match its hash: the record was changed after it was written"
	}
	if reason != "" {
		return &Break{Seq: r.Seq, Reason: reason}
	}
	cp := *r
	v.prev = &cp
	v.checked++
	return nil
}

// Checked returns how many records verified so far.
func (v *Verifier) Checked() int64 { return v.checked }

// Break names the first record where the chain does not hold.
type Break struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// Actor is who makes a change, through which surface, in which request.
type Actor struct {
	Name      string
	Source    string
	RequestID string
}

// Record returns an unsealed record of action on the object kind/name by a.
func (a Actor) Record(t time.Time, action, kind, name string, before, after json.RawMessage) *Record {
	return &Record{Time: t, Actor: a.Name, Source: a.Source, Action: action, Kind: kind, Name: name,
		Before: before, After: after, RequestID: a.RequestID}
}

// Filter selects audit records; zero fields match everything.
type Filter struct {
	Actor  string
	Kind   string
	Name   string
	Since  time.Time
	Until  time.Time
	Before int64 // records with seq below this, for paging backwards
	Limit  int   // at most this many, newest first; 0 means 100
}

// Store reads the audit log.
type Store interface {
	// AuditRecords returns the records that match f, newest first.
	AuditRecords(ctx context.Context, f Filter) ([]Record, error)
	// VerifyAudit walks the whole log in order and checks its chain: how
	// many records verified, and the first break.
	VerifyAudit(ctx context.Context) (int64, *Break, error)
}
