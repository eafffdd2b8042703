package storage

import (
	"context"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/store"
)

// openPostgres opens the PostgreSQL store of cfg.
func openPostgres(ctx context.Context, cfg config.Store) (store.Store, error) {
	return nil, landform.Errorf(landform.EINVALID, "store.kind postgres: not available in this build yet")
}
