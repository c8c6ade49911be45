package auth

import (
	"strings"
	"testing"
	"time"
)

func TestRoles(t *testing.T) {
	admin := &Token{Name: "a", Role: RoleAdmin}
	editor := &Token{Name: "e", Role: RoleEditor, Team: "payments"}
	viewer := &Token{Name: "v", Role: RoleViewer}
	now := time.Now()
	revoked := &Token{Name: "r", Role: RoleAdmin, RevokedAt: &now}
	for _, tc := range []struct {
		tok  *Token
		team string
		want bool
	}{
		{admin, "payments", true}, {admin, "storefront", true},
		{editor, "payments", true}, {editor, "storefront", false}, {editor, "", false},
		{viewer, "payments", false}, {revoked, "payments", false}, {nil, "payments", false},
	} {
		if got := tc.tok.CanChangeTeam(tc.team); got != tc.want {
			t.Errorf("%+v may change %q = %v, want %v", tc.tok, tc.team, got, tc.want)
		}
	}
	if !admin.IsAdmin() || editor.IsAdmin() || revoked.IsAdmin() || !viewer.CanRead() || revoked.CanRead() {
		t.Error("IsAdmin/CanRead wrong")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		tok  Token
		want string
	}{
		{Token{Name: "ci", Role: RoleViewer}, ""},
		{Token{Name: "Bad Name", Role: RoleViewer}, "name:"},
		{Token{Name: "x", Role: "root"}, "role:"},
		{Token{Name: "x", Role: RoleEditor}, "team:"},
		{Token{Name: "x", Role: RoleAdmin, Team: "t"}, "team:"},
	} {
		err := tc.tok.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.tok, err, tc.want)
		}
	}
}

func TestSecrets(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b || !strings.HasPrefix(a, TokenPrefix) || len(a) < 50 {
		t.Fatalf("secrets %q %q", a, b)
	}
	again := strings.Clone(a)
	if HashSecret(a) == HashSecret(b) || HashSecret(a) != HashSecret(again) || strings.Contains(HashSecret(a), a) {
		t.Fatal("hash")
	}
}
