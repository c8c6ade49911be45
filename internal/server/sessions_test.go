package server

import (
	"context"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// exerciseSessions drives the console sessions' routes, checked against
// the OpenAPI document: a person lists and ends only their own sessions,
// an admin everyone's; ending one is audited, and ending it again changes
// nothing. viewerName and adminName are the tokens' names.
func exerciseSessions(t *testing.T, c *apiClient, db *store.DB, admin, adminName, viewer, viewerName, editor string) {
	t.Helper()
	ctx := context.Background()
	mk := func(token string) *auth.Session {
		_, id := auth.NewSessionSecret()
		s := &auth.Session{ID: id, Token: token, Via: "token", ExpiresAt: time.Now().Add(time.Hour)}
		if err := db.CreateSession(ctx, s, auth.HashSecret("secret-"+id), audit.Actor{Name: token, Source: audit.SourceUI}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	mine, theirs := mk(viewerName), mk(adminName)
	count := func(token, query string) map[string]bool {
		var l api.SessionList
		c.decode(c.do("GET", "/api/v1/sessions"+query, token, nil, 200), &l)
		ids := map[string]bool{}
		for _, s := range l.Sessions {
			ids[s.ID] = true
		}
		return ids
	}
	if ids := count(viewer, ""); len(ids) != 1 || !ids[mine.ID] {
		t.Errorf("a viewer lists sessions %v, want only its own %s", ids, mine.ID)
	}
	if ids := count(admin, ""); !ids[mine.ID] || !ids[theirs.ID] {
		t.Errorf("an admin lists sessions %v, want everyone's", ids)
	}
	if ids := count(admin, "?token="+viewerName); len(ids) != 1 || !ids[mine.ID] {
		t.Errorf("an admin listing %s's sessions: %v", viewerName, ids)
	}
	c.do("GET", "/api/v1/sessions?token="+adminName, viewer, nil, 403)
	c.do("GET", "/api/v1/sessions", "", nil, 401)

	c.do("DELETE", "/api/v1/sessions/"+theirs.ID, viewer, nil, 403)
	c.do("DELETE", "/api/v1/sessions/"+mine.ID, editor, nil, 403)
	var ended auth.Session
	c.decode(c.do("DELETE", "/api/v1/sessions/"+mine.ID, viewer, nil, 200), &ended)
	if ended.RevokedAt == nil {
		t.Errorf("ended session %+v has no revokedAt", ended)
	}
	c.do("DELETE", "/api/v1/sessions/"+mine.ID, viewer, nil, 200)
	c.do("DELETE", "/api/v1/sessions/nope", admin, nil, 404)
	c.do("DELETE", "/api/v1/sessions/"+theirs.ID, admin, nil, 200)
	if ids := count(viewer, ""); len(ids) != 0 {
		t.Errorf("after ending it, a viewer lists %v", ids)
	}
	if ids := count(viewer, "?ended=true"); !ids[mine.ID] {
		t.Errorf("?ended=true lists %v, want the ended session", ids)
	}
	recs, err := db.AuditRecords(ctx, audit.Filter{Kind: auth.KindSession, Name: mine.ID})
	if err != nil {
		t.Fatal(err)
	}
	revokes := 0
	for _, r := range recs {
		if r.Action == "revoke" {
			revokes++
			if r.Actor != viewerName || r.Source != audit.SourceAPI {
				t.Errorf("revoke audited as %s from %s, want %s from api", r.Actor, r.Source, viewerName)
			}
		}
	}
	if revokes != 1 {
		t.Errorf("%d revoke records for session %s, want 1 (ending it again changes nothing)", revokes, mine.ID)
	}
}
