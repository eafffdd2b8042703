package tokens_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/internal/tokens"
	"github.com/landform/landform/store/sqlite"
)

func TestResolver(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	viewer, vsum := tokens.New()
	expired, esum := tokens.New()
	if !strings.HasPrefix(viewer, tokens.Prefix) || len(viewer) != len(tokens.Prefix)+32 || viewer == expired {
		t.Fatalf("New() = %q, %q", viewer, expired)
	}
	for _, tok := range []*landform.APIToken{
		{Identity: "ci", Role: landform.RoleViewer, SHA256: vsum},
		{Identity: "old", Role: landform.RoleAdmin, SHA256: esum, ExpiresAt: now.Add(-time.Second)},
	} {
		if err := db.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	cfgToken := "config-token-of-alice"
	r := tokens.Resolver{
		Config: config.API{Tokens: []config.APIToken{{Identity: "alice", Role: landform.RoleAdmin, SHA256: tokens.SHA256(cfgToken)}}},
		Store:  db, Now: func() time.Time { return now },
	}
	for _, c := range []struct {
		token string
		want  landform.Principal
		ok    bool
	}{
		{cfgToken, landform.Principal{Identity: "alice", Role: landform.RoleAdmin, Via: "token"}, true},
		{viewer, landform.Principal{Identity: "ci", Role: landform.RoleViewer, Via: "token"}, true},
		{expired, landform.Principal{}, false},
		{"lf_unknown", landform.Principal{}, false},
		{"", landform.Principal{}, false},
	} {
		got, ok, err := r.Principal(ctx, c.token)
		if err != nil || ok != c.ok || got != c.want {
			t.Errorf("Principal(%.8s…) = %+v, %v, %v; want %+v, %v", c.token, got, ok, err, c.want, c.ok)
		}
	}
}
