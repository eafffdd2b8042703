package storage

import (
	"strings"
	"testing"
	"time"

	"github.com/landform/landform/config"
	"github.com/landform/landform/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestWithPoolSize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u:p@h:5432/db?sslmode=disable", "postgres://u:p@h:5432/db?pool_max_conns=7&sslmode=disable"},
		{"postgresql://h/db", "postgresql://h/db?pool_max_conns=7"},
		{"host=h dbname=db", "host=h dbname=db pool_max_conns=7"},
	} {
		if got := withPoolSize(c.in, 7); got != c.want {
			t.Errorf("withPoolSize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestOpenStorePostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	t.Setenv("TEST_DSN", dsn)
	s, err := OpenStore(t.Context(), config.Store{Kind: config.StorePostgres, DSNEnv: "TEST_DSN", MaxConns: 3}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, err := s.AcquireLease(t.Context(), "poll", "me", time.Minute); err != nil || !ok {
		t.Fatalf("a lease on the opened store: %v, %v", ok, err)
	}
	if !Shared(config.Store{Kind: config.StorePostgres}) || Shared(config.Store{}) {
		t.Error("Shared is wrong")
	}
	t.Setenv("TEST_DSN", "postgres://nobody:secret-pw@127.0.0.1:1/none")
	if _, err := OpenStore(t.Context(), config.Store{Kind: config.StorePostgres, DSNEnv: "TEST_DSN"}, t.TempDir()); err == nil || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("an unreachable database: %v", err)
	}
}
