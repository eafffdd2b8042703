package config

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Store is where the daemon keeps runs, the queue, locks, leases and
// sessions:
//
//	store:
//	  kind: postgres                    # sqlite (default: data_dir/landform.db) or postgres
//	  dsn_env: LANDFORM_DATABASE_URL    # or dsn_file: postgres://user@host/db?sslmode=…
//	  listen_dsn_env: LANDFORM_LISTEN_URL   # optional, or listen_dsn_file: where replicas LISTEN,
//	                                    # when dsn goes through a transaction-pooling proxy
//	  max_conns: 10                     # the pool's size (postgres)
//	  lease_ttl: 30s                    # how long a dead replica's poll lease lasts (postgres)
//
// Replicas of the daemon share one PostgreSQL store (and one S3 plan
// store); SQLite serves one daemon.
type Store struct {
	// Kind is StoreSQLite (the default) or StorePostgres.
	Kind string
	// DSNEnv or DSNFile hold the PostgreSQL connection string (it may
	// hold a password, so it is never in the config itself).
	DSNEnv, DSNFile string
	// ListenDSNEnv or ListenDSNFile hold the connection string replicas
	// hold LISTEN on (their signals), when it is not the pool's: the
	// pool's may go through PgBouncer in transaction mode, which does not
	// carry LISTEN. Optional.
	ListenDSNEnv, ListenDSNFile string
	// MaxConns bounds the pool; 0 for the driver's default.
	MaxConns int
	// LeaseTTL is how long replicas' leases last unrenewed (0: the
	// default, 30s): how long repositories go unpolled when the polling
	// replica dies.
	LeaseTTL time.Duration
}

// The store kinds.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// DSN reads the PostgreSQL connection string (see API.Identity for
// lookupEnv and readFile).
func (s Store) DSN(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	return readSecret("store dsn file", s.DSNEnv, s.DSNFile, lookupEnv, readFile)
}

// ListenDSN reads the connection string replicas LISTEN on, "" when none
// is configured (the pool's is used).
func (s Store) ListenDSN(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	if s.ListenDSNEnv == "" && s.ListenDSNFile == "" {
		return "", nil
	}
	return readSecret("store listen dsn file", s.ListenDSNEnv, s.ListenDSNFile, lookupEnv, readFile)
}

// Secrets returns the connection strings and their passwords, when they
// can be read now, for redaction.
func (s Store) Secrets() []string {
	var out []string
	dsn, err := s.DSN(nil, nil)
	if err == nil && dsn != "" {
		out = append(out, dsnSecrets(dsn)...)
	}
	if l, err := s.ListenDSN(nil, nil); err == nil && l != "" {
		out = append(out, dsnSecrets(l)...)
	}
	return out
}

// dsnSecrets are a connection string and its password.
func dsnSecrets(dsn string) []string {
	out := []string{dsn}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			out = append(out, pw)
		}
	}
	return out
}

// Plans is where plan artifacts are kept:
//
//	plans:
//	  kind: s3                          # fs (default: data_dir/plans) or s3
//	  bucket: landform-plans
//	  prefix: plans/                    # optional
//	  region: us-east-1
//	  endpoint: http://s3.internal:7070 # optional: an S3-compatible server
//	  path_style: true                  # optional: bucket in the path, not the host name
//	  encryption_key_env: LANDFORM_PLAN_KEY   # or encryption_key_file: base64 of 32 random bytes
//	  sse: {kind: aws:kms, kms_key_id: alias/landform}   # optional server-side encryption
//
// Plans hold secrets, so on S3 they are encrypted by Landform (AES-256-GCM)
// before they leave the process: the key is required. Credentials for S3
// come from the standard AWS chain (environment, shared files, the
// instance's role).
type Plans struct {
	// Kind is PlansFS (the default) or PlansS3.
	Kind                      string
	Bucket, Prefix, Region    string
	Endpoint                  string
	PathStyle                 bool
	EncryptionKeyEnv, KeyFile string
	SSE                       string // "", "AES256" or "aws:kms"
	SSEKMSKeyID               string
}

// The plan store kinds.
const (
	PlansFS = "fs"
	PlansS3 = "s3"
)

// EncryptionKey reads the plan encryption key's text (base64 of 32
// bytes; planstore/s3 parses it).
func (p Plans) EncryptionKey(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	return readSecret("plan encryption key file", p.EncryptionKeyEnv, p.KeyFile, lookupEnv, readFile)
}

// Secrets returns the encryption key when it can be read now, for
// redaction.
func (p Plans) Secrets() []string {
	if k, err := p.EncryptionKey(nil, nil); err == nil && k != "" {
		return []string{strings.TrimSpace(k)}
	}
	return nil
}

var (
	storeFields = []string{"kind", "dsn_env", "dsn_file", "listen_dsn_env", "listen_dsn_file", "max_conns", "lease_ttl"}
	storeInline = func() map[string]string {
		msg := "inline secrets are not allowed: a connection string may hold a password; name an environment variable with store.dsn_env or a file with store.dsn_file"
		return map[string]string{"dsn": msg, "url": msg, "password": msg, "connection_string": msg, "listen_dsn": msg}
	}()
	plansFields = []string{"kind", "bucket", "prefix", "region", "endpoint", "path_style", "encryption_key_env", "encryption_key_file", "sse"}
	plansInline = func() map[string]string {
		msg := "inline secrets are not allowed: name an environment variable with plans.encryption_key_env or a file with plans.encryption_key_file; S3 credentials come from the standard AWS chain"
		return map[string]string{"encryption_key": msg, "key": msg, "access_key_id": msg, "secret_access_key": msg, "aws_access_key_id": msg, "aws_secret_access_key": msg}
	}()
	sseFields = []string{"kind", "kms_key_id"}
	// s3Bucket is a bucket name S3 accepts (DNS-compatible).
	s3Bucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// awsRegion is a region's shape: us-east-1, eu-central-2, us-gov-west-1.
	awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
)

// decodeStore decodes the store mapping n at p.
func (sp *serverParser) decodeStore(p string, n *yaml.Node) Store {
	d := sp.d
	s := Store{Kind: StoreSQLite}
	var dsnKey, listenKey *yaml.Node
	ok := d.objectRefusing(n, p, storeFields, storeInline, func(name, fp string, k, v *yaml.Node) {
		switch name {
		case "kind":
			if str, ok := d.str(v, fp); ok {
				if str != StoreSQLite && str != StorePostgres {
					d.errorf(v, fp, "want sqlite or postgres, got %q", str)
				} else {
					s.Kind = str
				}
			}
		case "dsn_env", "dsn_file":
			if d.oneOf(&dsnKey, k, fp) {
				sp.secretRef(fp, v, name == "dsn_env", &s.DSNEnv, &s.DSNFile)
			}
		case "listen_dsn_env", "listen_dsn_file":
			if d.oneOf(&listenKey, k, fp) {
				sp.secretRef(fp, v, name == "listen_dsn_env", &s.ListenDSNEnv, &s.ListenDSNFile)
			}
		case "lease_ttl":
			if ttl, ok := d.duration(v, fp); ok {
				if ttl < 3*time.Second || ttl > 10*time.Minute {
					d.errorf(v, fp, "want between 3s and 10m, got %s", v.Value)
				} else {
					s.LeaseTTL = ttl
				}
			}
		case "max_conns":
			if i, ok := d.integer(v, fp); ok {
				if i < 1 || i > 1000 {
					d.errorf(v, fp, "want 1 to 1000, got %d", i)
				} else {
					s.MaxConns = i
				}
			}
		}
	})
	if !ok {
		return s
	}
	switch {
	case s.Kind == StorePostgres && dsnKey == nil && !hasKeyOf(n, storeInline):
		d.errorf(n, p, "a postgres store needs its connection string: name it with dsn_env or dsn_file")
	case s.Kind == StoreSQLite && s.LeaseTTL != 0:
		d.errorf(n, p, "lease_ttl is for replicas on a postgres store; a sqlite store serves one daemon")
	case s.Kind == StoreSQLite && listenKey != nil:
		d.errorf(listenKey, joinPath(p, listenKey.Value), "a sqlite store takes no connection string; listen_dsn is for replicas on a postgres store")
	case s.Kind == StoreSQLite && dsnKey != nil:
		d.errorf(dsnKey, joinPath(p, dsnKey.Value), "a sqlite store lives in data_dir and takes no connection string; did you mean kind: postgres?")
	}
	return s
}

// decodePlans decodes the plans mapping n at p.
func (sp *serverParser) decodePlans(p string, n *yaml.Node) Plans {
	d := sp.d
	pl := Plans{Kind: PlansFS}
	var keyKey *yaml.Node
	given := map[string]*yaml.Node{}
	ok := d.objectRefusing(n, p, plansFields, plansInline, func(name, fp string, k, v *yaml.Node) {
		given[name] = k
		switch name {
		case "kind":
			if str, ok := d.str(v, fp); ok {
				if str != PlansFS && str != PlansS3 {
					d.errorf(v, fp, "want fs or s3, got %q", str)
				} else {
					pl.Kind = str
				}
			}
		case "bucket":
			if str, ok := d.str(v, fp); ok {
				if !s3Bucket.MatchString(str) || strings.Contains(str, "..") {
					d.errorf(v, fp, "%q is not an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens", str)
				} else {
					pl.Bucket = str
				}
			}
		case "prefix":
			if str, ok := d.str(v, fp); ok {
				if strings.HasPrefix(str, "/") || strings.Contains(str, "..") || strings.ContainsAny(str, "\\\x00") {
					d.errorf(v, fp, "a key prefix such as plans/: relative, no .., no backslash")
				} else {
					pl.Prefix = str
				}
			}
		case "region":
			if str, ok := d.str(v, fp); ok {
				if !awsRegion.MatchString(str) {
					d.errorf(v, fp, "%q is not a region such as us-east-1", str)
				} else {
					pl.Region = str
				}
			}
		case "endpoint":
			if str, ok := d.str(v, fp); ok {
				u, err := url.Parse(str)
				switch {
				case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
					d.errorf(v, fp, "want an http(s) URL such as https://s3.internal:7070, got %q", str)
				case u.User != nil:
					d.errorf(v, fp, "credentials do not go in the URL: S3 credentials come from the standard AWS chain")
				default:
					pl.Endpoint = strings.TrimRight(str, "/")
				}
			}
		case "path_style":
			if b, ok := d.boolean(v, fp); ok {
				pl.PathStyle = b
			}
		case "encryption_key_env", "encryption_key_file":
			if d.oneOf(&keyKey, k, fp) {
				sp.secretRef(fp, v, name == "encryption_key_env", &pl.EncryptionKeyEnv, &pl.KeyFile)
			}
		case "sse":
			d.object(v, fp, sseFields, func(sname, sfp string, _, sv *yaml.Node) {
				str, ok := d.str(sv, sfp)
				if !ok {
					return
				}
				switch sname {
				case "kind":
					if str != "AES256" && str != "aws:kms" {
						d.errorf(sv, sfp, "want AES256 or aws:kms, got %q", str)
					} else {
						pl.SSE = str
					}
				case "kms_key_id":
					pl.SSEKMSKeyID = str
				}
			})
		}
	})
	if !ok {
		return pl
	}
	if pl.Kind == PlansFS {
		for _, name := range plansFields[1:] {
			if k, ok := given[name]; ok {
				d.errorf(k, joinPath(p, name), "plans on local disk (kind fs, the default) take no %s; did you mean kind: s3?", name)
				break
			}
		}
		return pl
	}
	if pl.Bucket == "" && given["bucket"] == nil {
		d.errorf(n, p, `missing required field "bucket" (plans on s3)`)
	}
	if pl.Region == "" && given["region"] == nil {
		d.errorf(n, p, `missing required field "region" (plans on s3)`)
	}
	if keyKey == nil && !hasKeyOf(n, plansInline) {
		d.errorf(n, p, "plans on s3 are encrypted by Landform: name the key with encryption_key_env or encryption_key_file (base64 of 32 random bytes)")
	}
	if pl.SSEKMSKeyID != "" && pl.SSE != "aws:kms" {
		d.errorf(given["sse"], joinPath(p, "sse"), "kms_key_id needs kind: aws:kms")
	}
	return pl
}
