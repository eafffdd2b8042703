package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/s3test"
	"github.com/landform/landform/planstore"
	"github.com/landform/landform/planstore/planstoretest"
	plans3 "github.com/landform/landform/planstore/s3"
	"github.com/landform/landform/runner"
)

var _ runner.PlanStore = (*plans3.Store)(nil)

// testKey returns a fixed 32-byte key that differs by seed.
func testKey(seed byte) []byte {
	return bytes.Repeat([]byte{seed}, plans3.KeySize)
}

// bucketNames hands out bucket names unique within the test binary.
var bucketNames = struct {
	sync.Mutex
	n int
}{}

func newBucket(t *testing.T, srv *s3test.Server) string {
	t.Helper()
	bucketNames.Lock()
	bucketNames.n++
	name := fmt.Sprintf("plans-%d", bucketNames.n)
	bucketNames.Unlock()
	return srv.Bucket(t, name)
}

// newStore returns a store on srv with o; o.Client defaults to srv's.
func newStore(t *testing.T, srv *s3test.Server, o plans3.Options) *plans3.Store {
	t.Helper()
	if o.Client == nil {
		o.Client = srv.Client()
	}
	s, err := plans3.New(t.Context(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestSuite(t *testing.T) {
	srv := s3test.Start(t)
	planstoretest.Run(t, func(t *testing.T) planstoretest.Store {
		return newStore(t, srv, plans3.Options{Bucket: newBucket(t, srv), Prefix: "landform/plans", Key: testKey(1)})
	})
}

func TestSuiteUnencrypted(t *testing.T) {
	srv := s3test.Start(t)
	planstoretest.Run(t, func(t *testing.T) planstoretest.Store {
		return newStore(t, srv, plans3.Options{Bucket: newBucket(t, srv), Unencrypted: true})
	})
}

// TestStandardChain: without a client, New takes credentials from the
// standard chain (here the environment) and applies region, endpoint and
// path style.
func TestStandardChain(t *testing.T) {
	srv := s3test.Start(t)
	bucket := newBucket(t, srv)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	// Nothing from this machine's AWS files, nor its endpoint and region
	// (set below as options).
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	s, err := plans3.New(t.Context(), plans3.Options{
		Bucket:    bucket,
		Region:    srv.Region,
		Endpoint:  srv.Endpoint,
		PathStyle: true,
		Key:       testKey(1),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a := planstoretest.Artifact("chain")
	if _, err := s.Put(t.Context(), "1", a); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.Get(t.Context(), "1")
	if err != nil || got.Text != a.Text {
		t.Fatalf("Get = %v, %v", got, err)
	}

	// Without a region anywhere, New says so.
	_, err = plans3.New(t.Context(), plans3.Options{Bucket: bucket, Endpoint: srv.Endpoint, PathStyle: true, Key: testKey(1)})
	if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "region") {
		t.Errorf("New without a region: %v, want EINVALID about the region", err)
	}
}

// rawObject returns the bytes S3 holds under key.
func rawObject(t *testing.T, srv *s3test.Server, bucket, key string) []byte {
	t.Helper()
	out, err := srv.Client().GetObject(t.Context(), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// putRaw stores b under key, replacing what is there.
func putRaw(t *testing.T, srv *s3test.Server, bucket, key string, b []byte) {
	t.Helper()
	if _, err := srv.Client().PutObject(t.Context(), &awss3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b),
	}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

// wantCorrupt fails the test unless Get(runID) is an ErrCorrupt naming the
// run and containing each of detail, with no data.
func wantCorrupt(t *testing.T, s *plans3.Store, runID string, detail ...string) {
	t.Helper()
	a, err := s.Get(t.Context(), runID)
	if !errors.Is(err, planstore.ErrCorrupt) {
		t.Fatalf("Get(%s) = %v, want ErrCorrupt", runID, err)
	}
	if a != nil {
		t.Error("Get returned data along with the corruption error")
	}
	msg := err.Error()
	for _, d := range append([]string{"run " + runID}, detail...) {
		if !strings.Contains(msg, d) {
			t.Errorf("error %q does not say %q", msg, d)
		}
	}
}

// secretArtifact is an artifact whose parts carry recognisable secrets.
func secretArtifact() *landform.PlanArtifact {
	return &landform.PlanArtifact{
		Plan: []byte("PK\x03\x04 tfplan with db_password=CANARY-plan-9f2c\x00\x01"),
		JSON: []byte(`{"format_version":"1.2","resource_changes":[{"change":{"after":{"password":"CANARY-json-77ab"}}}]}`),
		Text: "Terraform will perform the following actions:\n  + password = \"CANARY-text-e41d\"\nPlan: 1 to add, 0 to change, 0 to destroy.\n",
	}
}

func TestStoredObjectIsEncrypted(t *testing.T) {
	srv := s3test.Start(t)
	bucket := newBucket(t, srv)
	s := newStore(t, srv, plans3.Options{Bucket: bucket, Prefix: "p", Key: testKey(1)})
	a := secretArtifact()
	sum, err := s.Put(t.Context(), "42", a)
	if err != nil {
		t.Fatal(err)
	}
	obj := rawObject(t, srv, bucket, "p/runs/42.lfplan")
	if !bytes.HasPrefix(obj, []byte("LFPLAN\x01\x01")) {
		t.Errorf("object starts %q, want the LFPLAN header, version 1, mode AES-256-GCM", obj[:min(8, len(obj))])
	}
	for _, leak := range [][]byte{
		a.Plan, a.JSON, []byte(a.Text),
		[]byte("CANARY"), []byte("password"), []byte("format_version"), []byte("Plan:"), []byte("PK\x03\x04"),
		[]byte(sum), []byte("sha256"), []byte("plan.tfplan"), []byte(`"run_id"`),
		testKey(1)[:8],
	} {
		if bytes.Contains(obj, leak) {
			t.Errorf("the stored object contains %q in clear", leak)
		}
	}
	// The unencrypted store, by contrast, does show the text: the check
	// above would notice a plaintext object.
	plain := newStore(t, srv, plans3.Options{Bucket: bucket, Prefix: "plain", Unencrypted: true})
	if _, err := plain.Put(t.Context(), "42", secretArtifact()); err != nil {
		t.Fatal(err)
	}
	if obj := rawObject(t, srv, bucket, "plain/runs/42.lfplan"); !bytes.Contains(obj, []byte("CANARY-text-e41d")) {
		t.Error("the unencrypted object does not hold the text: the leak check proves nothing")
	}
}

func TestKeys(t *testing.T) {
	srv := s3test.Start(t)
	bucket := newBucket(t, srv)
	o := func(mod func(*plans3.Options)) plans3.Options {
		opts := plans3.Options{Bucket: bucket, Key: testKey(1)}
		mod(&opts)
		return opts
	}
	s := newStore(t, srv, o(func(*plans3.Options) {}))
	a := planstoretest.Artifact("keys")
	if _, err := s.Put(t.Context(), "42", a); err != nil {
		t.Fatal(err)
	}

	t.Run("another key", func(t *testing.T) {
		other := newStore(t, srv, o(func(o *plans3.Options) { o.Key = testKey(2) }))
		wantCorrupt(t, other, "42", "another key")
	})
	t.Run("no key", func(t *testing.T) {
		plain := newStore(t, srv, o(func(o *plans3.Options) { o.Key, o.Unencrypted = nil, true }))
		wantCorrupt(t, plain, "42", "no encryption key")
	})
	t.Run("rotated", func(t *testing.T) {
		// The new key reads objects of the old one listed as previous,
		// and writes with the new key only.
		rotated := newStore(t, srv, o(func(o *plans3.Options) { o.Key, o.PreviousKeys = testKey(2), [][]byte{testKey(1)} }))
		got, err := rotated.Get(t.Context(), "42")
		if err != nil || got.Text != a.Text {
			t.Fatalf("Get with the old key as previous = %v, %v", got, err)
		}
		if _, err := rotated.Put(t.Context(), "43", planstoretest.Artifact("new key")); err != nil {
			t.Fatal(err)
		}
		wantCorrupt(t, s, "43", "another key")
	})
	t.Run("planted cleartext", func(t *testing.T) {
		// Someone who can write to the bucket stores an unencrypted plan:
		// a store with a key refuses it.
		plain := newStore(t, srv, o(func(o *plans3.Options) { o.Key, o.Unencrypted = nil, true }))
		if _, err := plain.Put(t.Context(), "44", planstoretest.Artifact("planted")); err != nil {
			t.Fatal(err)
		}
		wantCorrupt(t, s, "44", "unencrypted")
	})
}

func TestTampered(t *testing.T) {
	srv := s3test.Start(t)
	bucket := newBucket(t, srv)
	s := newStore(t, srv, plans3.Options{Bucket: bucket, Key: testKey(1)})
	if _, err := s.Put(t.Context(), "42", planstoretest.Artifact("tampered")); err != nil {
		t.Fatal(err)
	}
	const key = "runs/42.lfplan"
	orig := rawObject(t, srv, bucket, key)
	flip := func(i int) []byte {
		b := bytes.Clone(orig)
		b[i] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name   string
		obj    []byte
		detail string
	}{
		{"magic", flip(0), "not a Landform plan object"},
		{"version", flip(6), "format version"},
		{"mode", flip(7), "stored unencrypted"},
		{"key ID", flip(8), "another key"},
		{"nonce", flip(16), "decryption failed"},
		{"first ciphertext byte", flip(28), "decryption failed"},
		{"middle", flip(len(orig) / 2), "decryption failed"},
		{"tag", flip(len(orig) - 1), "decryption failed"},
		{"truncated", orig[:len(orig)-1], "decryption failed"},
		{"extended", append(bytes.Clone(orig), 0), "decryption failed"},
		{"header only", orig[:28], "decryption failed"},
		{"short", orig[:10], "not a Landform plan object"},
		{"empty", nil, "not a Landform plan object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			putRaw(t, srv, bucket, key, tc.obj)
			wantCorrupt(t, s, "42", tc.detail)
		})
	}
	putRaw(t, srv, bucket, key, orig)
	if _, err := s.Get(t.Context(), "42"); err != nil {
		t.Errorf("Get of the restored object: %v", err)
	}
}

// An object copied to another run's key does not open there: the run ID is
// authenticated.
func TestCopiedToAnotherRun(t *testing.T) {
	srv := s3test.Start(t)
	for _, tc := range []struct {
		name   string
		o      plans3.Options
		detail string
	}{
		{"encrypted", plans3.Options{Key: testKey(1)}, "stored for another run"},
		{"unencrypted", plans3.Options{Unencrypted: true}, `manifest is for run "42"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := newBucket(t, srv)
			tc.o.Bucket = bucket
			s := newStore(t, srv, tc.o)
			if _, err := s.Put(t.Context(), "42", planstoretest.Artifact("original")); err != nil {
				t.Fatal(err)
			}
			putRaw(t, srv, bucket, "runs/43.lfplan", rawObject(t, srv, bucket, "runs/42.lfplan"))
			wantCorrupt(t, s, "43", tc.detail)
			if _, err := s.Get(t.Context(), "42"); err != nil {
				t.Errorf("Get of the original: %v", err)
			}
		})
	}
}

// Without encryption the sha256s still catch a changed part.
func TestUnencryptedPartChanged(t *testing.T) {
	srv := s3test.Start(t)
	bucket := newBucket(t, srv)
	s := newStore(t, srv, plans3.Options{Bucket: bucket, Unencrypted: true})
	a := planstoretest.Artifact("parts")
	if _, err := s.Put(t.Context(), "42", a); err != nil {
		t.Fatal(err)
	}
	orig := rawObject(t, srv, bucket, "runs/42.lfplan")
	for part, marker := range map[string]string{
		"plan.tfplan": "binary plan",
		"plan.json":   "format_version",
		"plan.txt":    "to add",
	} {
		t.Run(part, func(t *testing.T) {
			i := bytes.LastIndex(orig, []byte(marker))
			if i < 0 {
				t.Fatalf("%q not in the object", marker)
			}
			b := bytes.Clone(orig)
			b[i] ^= 0x20
			putRaw(t, srv, bucket, "runs/42.lfplan", b)
			wantCorrupt(t, s, "42", part, "sha256")
		})
	}
}

// recorder is an HTTP client that notes each request's method, path,
// query and headers before sending it.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request // clones without bodies
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	c := req.Clone(req.Context())
	c.Body = nil
	r.reqs = append(r.reqs, c)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// requests returns the recorded requests of method whose URL's raw query
// contains query.
func (r *recorder) requests(method, query string) []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*http.Request
	for _, req := range r.reqs {
		if req.Method == method && strings.Contains(req.URL.RawQuery, query) {
			out = append(out, req)
		}
	}
	return out
}

// TestRequestHeaders: every Put asks for the configured server-side
// encryption and is conditional. versitygw ignores SSE headers (it stores
// files as they come), so the test checks what the store sends.
func TestRequestHeaders(t *testing.T) {
	srv := s3test.Start(t)
	for _, tc := range []struct {
		sse        plans3.SSE
		kind, kmsK string
	}{
		{plans3.SSE{}, "", ""},
		{plans3.SSE{Kind: "AES256"}, "AES256", ""},
		{plans3.SSE{Kind: "aws:kms", KMSKeyID: "alias/landform-plans"}, "aws:kms", "alias/landform-plans"},
		{plans3.SSE{Kind: "aws:kms:dsse"}, "aws:kms:dsse", ""},
	} {
		t.Run("sse="+tc.kind, func(t *testing.T) {
			rec := &recorder{}
			client := srv.Client(func(o *awss3.Options) { o.HTTPClient = rec })
			s := newStore(t, srv, plans3.Options{Bucket: newBucket(t, srv), Key: testKey(1), SSE: tc.sse, Client: client})
			if _, err := s.Put(t.Context(), "42", planstoretest.Artifact("sse")); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if _, err := s.Get(t.Context(), "42"); err != nil {
				t.Fatalf("Get: %v", err)
			}
			puts := rec.requests(http.MethodPut, "")
			if len(puts) != 1 {
				t.Fatalf("%d PUT requests, want 1", len(puts))
			}
			h := puts[0].Header
			if got := h.Get("X-Amz-Server-Side-Encryption"); got != tc.kind {
				t.Errorf("x-amz-server-side-encryption = %q, want %q", got, tc.kind)
			}
			if got := h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != tc.kmsK {
				t.Errorf("x-amz-server-side-encryption-aws-kms-key-id = %q, want %q", got, tc.kmsK)
			}
			if got := h.Get("If-None-Match"); got != "*" {
				t.Errorf("If-None-Match = %q, want *", got)
			}
			// The headers are signed, so a proxy cannot drop them unseen.
			if tc.kind != "" && !strings.Contains(h.Get("Authorization"), "x-amz-server-side-encryption") {
				t.Errorf("x-amz-server-side-encryption is not among the signed headers: %s", h.Get("Authorization"))
			}
		})
	}
}

func TestPrefixes(t *testing.T) {
	srv := s3test.Start(t)
	bucket := newBucket(t, srv)
	stores := map[string]*plans3.Store{}
	for _, p := range []string{"", "a", "ab", "a/b/"} {
		stores[p] = newStore(t, srv, plans3.Options{Bucket: bucket, Prefix: p, Key: testKey(1)})
	}
	if _, err := stores["a"].Put(t.Context(), "7", planstoretest.Artifact("in a")); err != nil {
		t.Fatal(err)
	}
	rawObject(t, srv, bucket, "a/runs/7.lfplan") // the layout
	for p, s := range stores {
		if p == "a" {
			continue
		}
		if _, err := s.Get(t.Context(), "7"); landform.ErrorCode(err) != landform.ENOTFOUND {
			t.Errorf("prefix %q: Get(7) = %v, want ENOTFOUND", p, err)
		}
		if n, err := s.HighestRunID(t.Context()); err != nil || n != 0 {
			t.Errorf("prefix %q: HighestRunID = %d, %v; want 0", p, n, err)
		}
		// The same run ID under another prefix is another artifact.
		if _, err := s.Put(t.Context(), "7", planstoretest.Artifact("in "+p)); err != nil {
			t.Errorf("prefix %q: Put(7): %v", p, err)
		}
	}
	got, err := stores["a"].Get(t.Context(), "7")
	if err != nil || got.Text != planstoretest.Artifact("in a").Text {
		t.Errorf("prefix a: Get(7) = %v, %v; want its own artifact", got, err)
	}
}

func TestHighestRunIDPages(t *testing.T) {
	srv := s3test.Start(t)
	bucket := newBucket(t, srv)
	rec := &recorder{}
	client := srv.Client(func(o *awss3.Options) { o.HTTPClient = rec })
	s := newStore(t, srv, plans3.Options{Bucket: bucket, Prefix: "x", Key: testKey(1), Client: client, ListPageSize: 2})
	for _, id := range []string{"3", "17", "9", "100", "2", "run-5000", "05000"} {
		if _, err := s.Put(t.Context(), id, planstoretest.Artifact(id)); err != nil {
			t.Fatal(err)
		}
	}
	// Objects that are not the store's: ignored.
	putRaw(t, srv, bucket, "x/runs/9999.txt", []byte("x"))
	putRaw(t, srv, bucket, "x/runs/sub/8888.lfplan", []byte("x"))
	putRaw(t, srv, bucket, "x/7777.lfplan", []byte("x"))
	n, err := s.HighestRunID(t.Context())
	if err != nil || n != 100 {
		t.Fatalf("HighestRunID = %d, %v; want 100", n, err)
	}
	// 10 objects under x/runs/, 2 per page.
	if lists := rec.requests(http.MethodGet, "list-type=2"); len(lists) != 5 {
		t.Errorf("%d ListObjectsV2 requests, want 5 pages of 2", len(lists))
	}
}

func TestNewRefuses(t *testing.T) {
	srv := s3test.Start(t)
	bucket := newBucket(t, srv)
	client := srv.Client()
	for _, tc := range []struct {
		name string
		o    plans3.Options
		want string
	}{
		{"no bucket", plans3.Options{Key: testKey(1)}, "bucket is empty"},
		{"no key", plans3.Options{Bucket: bucket}, "no encryption key"},
		{"empty key", plans3.Options{Bucket: bucket, Key: []byte{}}, "is 0 bytes"},
		{"short key", plans3.Options{Bucket: bucket, Key: testKey(1)[:16]}, "is 16 bytes, want 32"},
		{"short previous key", plans3.Options{Bucket: bucket, Key: testKey(1), PreviousKeys: [][]byte{{1}}}, "previous encryption key 1 is 1 bytes"},
		{"key and unencrypted", plans3.Options{Bucket: bucket, Key: testKey(1), Unencrypted: true}, "choose one"},
		{"unknown sse", plans3.Options{Bucket: bucket, Key: testKey(1), SSE: plans3.SSE{Kind: "aes256"}}, "unknown server-side encryption"},
		{"kms key without kms", plans3.Options{Bucket: bucket, Key: testKey(1), SSE: plans3.SSE{Kind: "AES256", KMSKeyID: "k"}}, "KMS key ID"},
		{"endpoint with a client", plans3.Options{Bucket: bucket, Key: testKey(1), Endpoint: "http://x"}, "given client"},
		{"missing bucket", plans3.Options{Bucket: "no-such-bucket", Key: testKey(1)}, "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Client = client
			_, err := plans3.New(t.Context(), tc.o)
			if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want EINVALID saying %q", err, tc.want)
			}
		})
	}
}

// A bucket that disappears is an error, never "no such plan".
func TestBucketGone(t *testing.T) {
	srv := s3test.Start(t)
	bucket := newBucket(t, srv)
	s := newStore(t, srv, plans3.Options{Bucket: bucket, Key: testKey(1)})
	if _, err := srv.Client().DeleteBucket(t.Context(), &awss3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(t.Context(), "1")
	if err == nil || landform.ErrorCode(err) == landform.ENOTFOUND {
		t.Errorf("Get in a deleted bucket = %v, want an error other than ENOTFOUND", err)
	}
	if !strings.Contains(fmt.Sprint(err), bucket) {
		t.Errorf("error %v does not name the bucket", err)
	}
}

func TestParseKey(t *testing.T) {
	k := plans3.NewKey()
	key, err := plans3.ParseKey("  " + k + "\n")
	if err != nil || len(key) != plans3.KeySize {
		t.Fatalf("ParseKey(NewKey()) = %x, %v", key, err)
	}
	if plans3.NewKey() == k {
		t.Error("NewKey returned the same key twice")
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{" \n", "empty"},
		{"AAAA", "is 3 bytes, want 32"},
		{strings.Repeat("A", 44), "is 33 bytes, want 32"},
		{strings.Repeat("_", 43) + "=", "not standard base64"},       // URL-safe alphabet
		{"c2VjcmV0LXZhbHVlLW5vdC1iYXNlNjQ=!", "not standard base64"}, // trailing junk
	} {
		_, err := plans3.ParseKey(tc.in)
		if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseKey(%q) = %v, want EINVALID saying %q", tc.in, err, tc.want)
		}
		if tc.in != "" && strings.TrimSpace(tc.in) != "" && err != nil && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
			t.Errorf("ParseKey's error echoes the key text: %v", err)
		}
	}
}
