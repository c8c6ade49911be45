package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// TestSessions: a session is found by its secret's hash only while it is
// live, its token too; signing in and out are audited with the console's
// source; the secret is stored nowhere.
func TestSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		if err := db.CreateToken(ctx, &auth.Token{Name: "ada", Role: auth.RoleViewer}, auth.HashSecret("tsuna_ada"), actor); err != nil {
			t.Fatal(err)
		}
		ui := audit.Actor{Name: "ada", Source: audit.SourceUI}
		now := time.Now()
		secret, id := auth.NewSessionSecret()
		s := &auth.Session{ID: id, Token: "ada", ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateSession(ctx, s, auth.HashSecret(secret), ui); err != nil {
			t.Fatal(err)
		}
		got, tok, err := db.SessionBySecretHash(ctx, auth.HashSecret(secret), now)
		if err != nil || got.ID != id || tok.Name != "ada" || tok.Role != auth.RoleViewer {
			t.Fatalf("live session: %+v %+v %v", got, tok, err)
		}
		if _, _, err := db.SessionBySecretHash(ctx, secret, now); tsuna.ErrorCode(err) != tsuna.EUNAUTHORIZED {
			t.Errorf("looked up by the secret itself: %v, want unauthorized (only hashes are stored)", err)
		}
		if _, _, err := db.SessionBySecretHash(ctx, auth.HashSecret(secret), now.Add(2*time.Hour)); tsuna.ErrorCode(err) != tsuna.EUNAUTHORIZED {
			t.Errorf("after expiry: %v, want unauthorized", err)
		}
		if err := db.TouchSession(ctx, id, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		list, err := db.Sessions(ctx, "ada", false)
		if err != nil || len(list) != 1 || !list[0].LastSeenAt.After(list[0].CreatedAt) {
			t.Fatalf("sessions of ada: %+v %v", list, err)
		}
		if _, err := db.RevokeSession(ctx, id, ui); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RevokeSession(ctx, id, ui); err != nil { // ending it again changes nothing
			t.Fatal(err)
		}
		if _, _, err := db.SessionBySecretHash(ctx, auth.HashSecret(secret), now); tsuna.ErrorCode(err) != tsuna.EUNAUTHORIZED {
			t.Errorf("after sign-out: %v, want unauthorized", err)
		}
		if list, _ := db.Sessions(ctx, "ada", false); len(list) != 0 {
			t.Errorf("live sessions after sign-out: %d", len(list))
		}
		if _, err := db.RevokeSession(ctx, "nope", ui); tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
			t.Errorf("ending an unknown session: %v, want not found", err)
		}
		recs, err := db.AuditRecords(ctx, audit.Filter{Kind: auth.KindSession, Name: id})
		if err != nil || len(recs) != 2 || recs[0].Action != "revoke" || recs[1].Action != "create" || recs[0].Source != audit.SourceUI {
			t.Errorf("audit of the session: %+v %v, want create then one revoke, source ui", recs, err)
		}
		// Revoking the token ends its sessions.
		secret2, id2 := auth.NewSessionSecret()
		if err := db.CreateSession(ctx, &auth.Session{ID: id2, Token: "ada", ExpiresAt: now.Add(time.Hour)}, auth.HashSecret(secret2), ui); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RevokeToken(ctx, "ada", actor); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.SessionBySecretHash(ctx, auth.HashSecret(secret2), now); tsuna.ErrorCode(err) != tsuna.EUNAUTHORIZED {
			t.Errorf("session of a revoked token: %v, want unauthorized", err)
		}
	})
}
