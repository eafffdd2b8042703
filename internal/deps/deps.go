// Package deps holds blank imports of modules that packages being written
// depend on, so go.mod keeps them while their first users land. Remove an
// import once a package of the module imports it.
package deps

import (
	_ "github.com/aws/aws-sdk-go-v2/service/sts"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/pgxpool"
)
