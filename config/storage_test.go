package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/landform/landform/config"
)

func TestParseServerStoreAndPlans(t *testing.T) {
	s, err := config.ParseServer("landform.yaml", []byte(`store: {kind: postgres, dsn_env: LANDFORM_DATABASE_URL, listen_dsn_env: LANDFORM_LISTEN_URL, max_conns: 20, lease_ttl: 10s}
plans:
  kind: s3
  bucket: landform-plans
  prefix: plans/
  region: us-east-1
  endpoint: http://127.0.0.1:7070/
  path_style: true
  encryption_key_env: LANDFORM_PLAN_KEY
  sse: {kind: "aws:kms", kms_key_id: alias/landform}
`+repo0))
	if err != nil {
		t.Fatal(err)
	}
	if want := (config.Store{Kind: "postgres", DSNEnv: "LANDFORM_DATABASE_URL", ListenDSNEnv: "LANDFORM_LISTEN_URL", MaxConns: 20, LeaseTTL: 10 * time.Second}); s.Store != want {
		t.Errorf("Store = %+v, want %+v", s.Store, want)
	}
	want := config.Plans{Kind: "s3", Bucket: "landform-plans", Prefix: "plans/", Region: "us-east-1", Endpoint: "http://127.0.0.1:7070",
		PathStyle: true, EncryptionKeyEnv: "LANDFORM_PLAN_KEY", SSE: "aws:kms", SSEKMSKeyID: "alias/landform"}
	if s.Plans != want {
		t.Errorf("Plans = %+v, want %+v", s.Plans, want)
	}
	dsn, err := s.Store.DSN(func(string) (string, bool) { return "postgres://landform:pw@db/landform", true }, nil)
	if err != nil || dsn != "postgres://landform:pw@db/landform" {
		t.Errorf("DSN = %q, %v", dsn, err)
	}
}

func TestParseServerStoreAndPlansErrors(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"store: {kind: mysql}\n", `store.kind: want sqlite or postgres, got "mysql"`},
		{"store: {kind: postgres}\n", "a postgres store needs its connection string"},
		{"store: {kind: postgres, dsn: postgres://u:hunter2@h/db}\n", "inline secrets are not allowed"},
		{"store: {dsn_env: X}\n", "a sqlite store lives in data_dir and takes no connection string"},
		{"store: {kind: postgres, dsn_env: X, max_conns: 0}\n", "store.max_conns: want 1 to 1000"},
		{"store: {kind: postgres, dsn_env: X, lease_ttl: 1s}\n", "store.lease_ttl: want between 3s and 10m"},
		{"store: {lease_ttl: 10s}\n", "lease_ttl is for replicas on a postgres store"},
		{"store: {listen_dsn_env: X}\n", "listen_dsn is for replicas on a postgres store"},
		{"store: {kind: postgres, dsn_env: X, listen_dsn_env: Y, listen_dsn_file: /f}\n", "cannot be used with listen_dsn_env"},
		{"store: {kind: postgres, dsn_env: X, listen_dsn: postgres://u:p@h/db}\n", "inline secrets are not allowed"},
		{"plans: {kind: gcs}\n", `plans.kind: want fs or s3, got "gcs"`},
		{"plans: {bucket: b}\n", "plans on local disk (kind fs, the default) take no bucket"},
		{"plans: {kind: s3, region: us-east-1, encryption_key_env: K}\n", `missing required field "bucket"`},
		{"plans: {kind: s3, bucket: b-1, encryption_key_env: K}\n", `missing required field "region"`},
		{"plans: {kind: s3, bucket: b-1, region: us-east-1}\n", "plans on s3 are encrypted by Landform"},
		{"plans: {kind: s3, bucket: Bad_Bucket, region: us-east-1, encryption_key_env: K}\n", "is not an S3 bucket name"},
		{"plans: {kind: s3, bucket: b-1, region: mars, encryption_key_env: K}\n", `"mars" is not a region`},
		{"plans: {kind: s3, bucket: b-1, region: us-east-1, encryption_key_env: K, endpoint: ftp://x}\n", "want an http(s) URL"},
		{"plans: {kind: s3, bucket: b-1, region: us-east-1, encryption_key_env: K, endpoint: 'http://ak:sk@x'}\n", "credentials do not go in the URL"},
		{"plans: {kind: s3, bucket: b-1, region: us-east-1, encryption_key: c2VjcmV0}\n", "inline secrets are not allowed"},
		{"plans: {kind: s3, bucket: b-1, region: us-east-1, encryption_key_env: K, secret_access_key: x}\n", "inline secrets are not allowed"},
		{"plans: {kind: s3, bucket: b-1, region: us-east-1, encryption_key_env: K, sse: {kind: none}}\n", "want AES256 or aws:kms"},
		{"plans: {kind: s3, bucket: b-1, region: us-east-1, encryption_key_env: K, sse: {kind: AES256, kms_key_id: k}}\n", "kms_key_id needs kind: aws:kms"},
	} {
		_, err := config.ParseServer("landform.yaml", []byte(c.file+repo0))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.file, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error shows a secret: %v", c.file, err)
		}
	}
}
