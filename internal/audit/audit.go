// Package audit defines the records of tsuna's append-only audit log and
// the hash chain that makes tampering with them detectable.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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
	// MAC is HMAC-SHA256 of Hash with the server's audit key: only a holder
	// of the key can write a record that verifies. Empty on records written
	// before the key existed.
	MAC string `json:"mac,omitempty"`
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
// (nil for the first record), and its MAC when key is set.
func Seal(r *Record, prev *Record, key []byte) {
	r.Time = r.Time.UTC().Truncate(Precision)
	if prev == nil {
		r.Seq, r.PrevHash = 1, Genesis
	} else {
		r.Seq, r.PrevHash = prev.Seq+1, prev.Hash
	}
	r.Hash = ComputeHash(r)
	if len(key) > 0 {
		r.MAC = ComputeMAC(key, r)
	}
}

// ComputeMAC returns HMAC-SHA256 of r's hash with key, in hex. The hash
// covers every field and the chain before it, so the MAC does too.
func ComputeMAC(key []byte, r *Record) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(r.Hash))
	return hex.EncodeToString(m.Sum(nil))
}

// Verifier checks records in sequence order, one at a time, so a log of any
// length is verified in constant memory. With a Key it also checks each
// record's MAC; with a Checkpoint, that the checkpointed record is still
// there, unchanged.
type Verifier struct {
	// Key is the audit key; nil checks the hash chain only.
	Key []byte
	// Checkpoint, when set, must be found in the log.
	Checkpoint *Checkpoint

	prev    *Record
	checked int64
	unkeyed int64
	keyed   bool
	found   bool
}

// Check verifies the next record. It returns a non-nil *Break at the first
// record whose sequence, link, hash or MAC does not hold.
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
	case v.Checkpoint != nil && r.Seq == v.Checkpoint.Seq && r.Hash != v.Checkpoint.Hash:
		reason = "the checkpointed record was rewritten: its hash differs from the checkpoint's"
	case len(v.Key) > 0 && r.MAC == "" && v.keyed:
		reason = "record without a MAC after keyed records: written without the audit key, or its MAC removed"
	case len(v.Key) > 0 && r.MAC != "" && !hmac.Equal([]byte(r.MAC), []byte(ComputeMAC(v.Key, r))):
		reason = "MAC does not match: the record was forged or rewritten by someone without the audit key (or the key is not this server's)"
	}
	if reason != "" {
		return &Break{Seq: r.Seq, Reason: reason}
	}
	if r.MAC != "" {
		v.keyed = true
	} else {
		v.unkeyed++
	}
	if v.Checkpoint != nil && r.Seq == v.Checkpoint.Seq {
		v.found = true
	}
	cp := *r
	v.prev = &cp
	v.checked++
	return nil
}

// Finish checks what only the end of the log can tell: that the checkpoint
// was reached. Call it after the last record.
func (v *Verifier) Finish() *Break {
	if v.Checkpoint != nil && !v.found {
		return &Break{Seq: v.Checkpoint.Seq, Reason: fmt.Sprintf(
			"checkpoint record %d is missing: the log ends at record %d, so records were deleted (truncated)", v.Checkpoint.Seq, v.Checked())}
	}
	return nil
}

// Checked returns how many records verified so far.
func (v *Verifier) Checked() int64 { return v.checked }

// Unkeyed returns how many verified records carry no MAC.
func (v *Verifier) Unkeyed() int64 { return v.unkeyed }

// Checkpoint names a record of the log by its sequence and hash. Kept
// outside the database, it proves later that the log up to it was neither
// truncated nor rewritten.
type Checkpoint struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// String writes the checkpoint as "seq:hash", as `tsuna audit verify
// --checkpoint` reads it.
func (c Checkpoint) String() string { return fmt.Sprintf("%d:%s", c.Seq, c.Hash) }

// ParseCheckpoint reads "seq:hash".
func ParseCheckpoint(s string) (*Checkpoint, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 || len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("checkpoint %q: write it as SEQ:HASH, as tsuna audit checkpoint prints it", s)
	}
	return &Checkpoint{Seq: n, Hash: hash}, nil
}

// Verification is the result of verifying the log.
type Verification struct {
	OK       bool   `json:"ok"`
	Verified int64  `json:"verified"`
	Break    *Break `json:"break"`
	// Unkeyed counts records without a MAC (written before the audit key).
	Unkeyed int64 `json:"unkeyed"`
	// Keyed says whether MACs were checked.
	Keyed bool `json:"keyed"`
	// Head is the last record verified: a checkpoint to keep.
	Head *Checkpoint `json:"head,omitempty"`
}

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
	// VerifyAudit walks the whole log in order and checks its chain, its
	// MACs, and the checkpoint when one is given.
	VerifyAudit(ctx context.Context, cp *Checkpoint) (Verification, error)
	// AuditHead returns the newest record's checkpoint; nil when empty.
	AuditHead(ctx context.Context) (*Checkpoint, error)
}
