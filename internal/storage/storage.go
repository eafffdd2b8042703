// Package storage opens the stores the server config names: the run store
// (SQLite in the data directory, or PostgreSQL shared by replicas) and the
// plan store (a directory in the data directory, or an S3 bucket with
// plans encrypted by Landform).
package storage

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	planfs "github.com/landform/landform/planstore/fs"
	plans3 "github.com/landform/landform/planstore/s3"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/store"
	"github.com/landform/landform/store/sqlite"
)

var _ store.Store = (*sqlite.DB)(nil)

// SQLiteFile is the SQLite store's file in the data directory.
const SQLiteFile = "landform.db"

// PlansDir is the local plan store's directory in the data directory.
const PlansDir = "plans"

// OpenStore opens the run store of cfg (data directory dataDir for
// SQLite), migrating it to this version's schema.
func OpenStore(ctx context.Context, cfg config.Store, dataDir string) (store.Store, error) {
	switch cfg.Kind {
	case "", config.StoreSQLite:
		return sqlite.Open(ctx, filepath.Join(dataDir, SQLiteFile))
	case config.StorePostgres:
		return openPostgres(ctx, cfg)
	}
	return nil, landform.Errorf(landform.EINVALID, "store.kind: unknown store %q", cfg.Kind)
}

// Shared reports whether several daemons may share the run store of cfg
// (replicas): PostgreSQL's, not SQLite's.
func Shared(cfg config.Store) bool { return cfg.Kind == config.StorePostgres }

// OpenPlans opens the plan store of cfg (data directory dataDir for the
// local one).
func OpenPlans(ctx context.Context, cfg config.Plans, dataDir string) (runner.PlanStore, error) {
	switch cfg.Kind {
	case "", config.PlansFS:
		return planfs.New(filepath.Join(dataDir, PlansDir))
	case config.PlansS3:
		text, err := cfg.EncryptionKey(nil, nil)
		if err != nil {
			return nil, err
		}
		key, err := plans3.ParseKey(text)
		if err != nil {
			return nil, fmt.Errorf("plans: encryption key: %w", err)
		}
		return plans3.New(ctx, plans3.Options{
			Bucket: cfg.Bucket, Prefix: cfg.Prefix, Region: cfg.Region, Endpoint: cfg.Endpoint, PathStyle: cfg.PathStyle,
			Key: key, SSE: plans3.SSE{Kind: cfg.SSE, KMSKeyID: cfg.SSEKMSKeyID},
		})
	}
	return nil, landform.Errorf(landform.EINVALID, "plans.kind: unknown plan store %q", cfg.Kind)
}
