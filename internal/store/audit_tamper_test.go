package store_test

import (
	"context"
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// keyedLog applies the base catalog to a store keyed with a test key and
// returns the head checkpoint an operator would have kept.
func keyedLog(t *testing.T, db *store.DB) *audit.Checkpoint {
	t.Helper()
	key := sha256.Sum256([]byte("test audit key"))
	db.SetAuditKey(key[:])
	ctx := context.Background()
	if _, err := db.ApplyCatalog(ctx, parse(t, base), catalog.ApplyOptions{Prune: true, Actor: actor}); err != nil {
		t.Fatal(err)
	}
	head, err := db.AuditHead(ctx)
	if err != nil || head == nil || head.Seq != 4 {
		t.Fatalf("head = %+v, %v", head, err)
	}
	if res, err := db.VerifyAudit(ctx, head); err != nil || !res.OK || !res.Keyed || res.Unkeyed != 0 {
		t.Fatalf("intact keyed log: %+v, %v", res, err)
	}
	return head
}

// rehashFrom recomputes the hash chain from seq on, as an attacker with
// database access (but without the audit key) would, so the plain chain
// verifies again.
func rehashFrom(t *testing.T, db *store.DB, seq int64) {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT seq FROM audit_log WHERE seq >= ` + itoa(seq) + ` ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for rows.Next() {
		var n int64
		rows.Scan(&n)
		seqs = append(seqs, n)
	}
	rows.Close()
	for _, n := range seqs {
		var prev string
		db.SQL().QueryRow(`SELECT hash FROM audit_log WHERE seq = ` + itoa(n-1)).Scan(&prev)
		if n == 1 {
			prev = audit.Genesis
		}
		recs, err := db.AuditRecords(context.Background(), audit.Filter{Before: n + 1, Limit: 1})
		if err != nil || len(recs) != 1 {
			t.Fatal(err)
		}
		r := recs[0]
		r.PrevHash = prev
		r.Hash = audit.ComputeHash(&r)
		if _, err := db.SQL().Exec(`UPDATE audit_log SET prev_hash = '` + r.PrevHash + `', hash = '` + r.Hash + `' WHERE seq = ` + itoa(n)); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAuditTamperingDetectedWithKeyAndCheckpoint tampers with the audit log
// as someone with database access but without the audit key would, in each
// way the plain hash chain missed, and finds each one named by verify.
func TestAuditTamperingDetectedWithKeyAndCheckpoint(t *testing.T) {
	cases := []struct {
		name, want string
		tamper     func(t *testing.T, db *store.DB)
	}{
		{"deleted newest record", "truncated", func(t *testing.T, db *store.DB) {
			tamper(t, db, `DELETE FROM audit_log WHERE seq = 4`)
		}},
		{"all records deleted", "truncated", func(t *testing.T, db *store.DB) {
			tamper(t, db, `DELETE FROM audit_log`)
		}},
		{"forged appended record", "MAC does not match", func(t *testing.T, db *store.DB) {
			var prev string
			db.SQL().QueryRow(`SELECT hash FROM audit_log WHERE seq = 4`).Scan(&prev)
			r := audit.Record{Seq: 5, Actor: "mallory", Source: "api", Action: "create", Kind: "Token", Name: "backdoor", PrevHash: prev}
			r.Hash = audit.ComputeHash(&r)
			r.MAC = strings.Repeat("ab", 32) // a guess: mallory has no key
			if _, err := db.SQL().Exec(`INSERT INTO audit_log (seq, time, actor, source, action, kind, name, request_id, prev_hash, hash, mac)
				VALUES (5, '0001-01-01 00:00:00', 'mallory', 'api', 'create', 'Token', 'backdoor', '', '` + prev + `', '` + r.Hash + `', '` + r.MAC + `')`); err != nil {
				t.Fatal(err)
			}
		}},
		{"forged appended record without a MAC", "without a MAC", func(t *testing.T, db *store.DB) {
			var prev string
			db.SQL().QueryRow(`SELECT hash FROM audit_log WHERE seq = 4`).Scan(&prev)
			r := audit.Record{Seq: 5, Actor: "mallory", Source: "api", Action: "create", Kind: "Token", Name: "backdoor", PrevHash: prev}
			r.Hash = audit.ComputeHash(&r)
			if _, err := db.SQL().Exec(`INSERT INTO audit_log (seq, time, actor, source, action, kind, name, request_id, prev_hash, hash)
				VALUES (5, '0001-01-01 00:00:00', 'mallory', 'api', 'create', 'Token', 'backdoor', '', '` + prev + `', '` + r.Hash + `')`); err != nil {
				t.Fatal(err)
			}
		}},
		{"rewritten and re-hashed middle record", "MAC does not match", func(t *testing.T, db *store.DB) {
			tamper(t, db, `UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`)
			rehashFrom(t, db, 2)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
				head := keyedLog(t, db)
				tc.tamper(t, db)
				// The plain chain is fooled by some of these; the key or the
				// checkpoint is not.
				res, err := db.VerifyAudit(context.Background(), head)
				if err != nil {
					t.Fatal(err)
				}
				if res.OK || res.Break == nil || !strings.Contains(res.Break.Reason, tc.want) {
					t.Fatalf("verify after %s = %+v; want a break saying %q", tc.name, res, tc.want)
				}
			})
		})
	}
}
