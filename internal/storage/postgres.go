package storage

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/store"
	"github.com/landform/landform/store/postgres"
)

var (
	_ store.Store    = (*postgres.DB)(nil)
	_ runner.Signals = (*postgres.DB)(nil) // replicas wake each other
)

// openPostgres opens the PostgreSQL store of cfg.
func openPostgres(ctx context.Context, cfg config.Store) (store.Store, error) {
	dsn, err := cfg.DSN(nil, nil)
	if err != nil {
		return nil, err
	}
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return nil, landform.Errorf(landform.EINVALID, "store: the postgres connection string is empty")
	}
	if cfg.MaxConns > 0 {
		dsn = withPoolSize(dsn, cfg.MaxConns)
	}
	listen, err := cfg.ListenDSN(nil, nil)
	if err != nil {
		return nil, err
	}
	return postgres.Open(ctx, dsn, postgres.WithListenDSN(strings.TrimSpace(listen)))
}

// withPoolSize sets pgxpool's pool_max_conns in dsn, a URL
// (postgres://…) or keyword/value pairs ("host=… dbname=…").
func withPoolSize(dsn string, n int) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("pool_max_conns", strconv.Itoa(n))
			u.RawQuery = q.Encode()
			return u.String()
		}
		return dsn // postgres.Open reports what is wrong with it
	}
	return dsn + " pool_max_conns=" + strconv.Itoa(n)
}
