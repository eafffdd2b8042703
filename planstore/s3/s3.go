package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/landform/landform"
	"github.com/landform/landform/planstore"
)

// Options configure a Store. Bucket and either Key or Unencrypted are
// required.
type Options struct {
	// Bucket holds the plans.
	Bucket string
	// Prefix is prepended to every key ("landform/plans" keeps plans under
	// landform/plans/runs/…); a "/" is appended when it lacks one.
	Prefix string

	// Region, Endpoint and PathStyle adjust the client New makes from the
	// standard AWS configuration chain: Region overrides AWS_REGION and
	// the profile's region; Endpoint (e.g. "http://127.0.0.1:7070") points
	// at an S3-compatible server; PathStyle addresses buckets as
	// ENDPOINT/BUCKET/KEY rather than BUCKET.ENDPOINT/KEY, which most
	// compatible servers need. They must be empty when Client is set.
	Region    string
	Endpoint  string
	PathStyle bool

	// Key is the AES-256 key (KeySize bytes; ParseKey reads its text form)
	// every object is encrypted with. Required unless Unencrypted is set.
	Key []byte
	// PreviousKeys are earlier keys: objects written under them are still
	// read (the key ID in an object's header picks the key), new ones are
	// written under Key only.
	PreviousKeys [][]byte
	// Unencrypted stores plans without client-side encryption (sha256
	// verification stays) and is the only way to have no Key: plan files
	// hold secrets, and that must be a decision, not a default.
	Unencrypted bool

	// SSE is the server-side encryption every PutObject asks for.
	SSE SSE

	// Client, when set, is used as is instead of a client made from the
	// standard configuration chain (tests use it).
	Client *awss3.Client

	// ListPageSize caps the keys per ListObjectsV2 page HighestRunID asks
	// for; 0 leaves the server's default (1,000 on AWS). For tests of
	// pagination.
	ListPageSize int32
}

// SSE is server-side encryption, which S3 applies on top of the client-side
// encryption of the plans.
type SSE struct {
	// Kind is "" (the bucket's default), "AES256" (SSE-S3), "aws:kms"
	// (SSE-KMS) or "aws:kms:dsse" (dual-layer SSE-KMS).
	Kind string
	// KMSKeyID is the KMS key (ID, ARN or alias) for the KMS kinds; empty
	// for the account's default S3 key. Not allowed with other kinds.
	KMSKeyID string
}

// Store keeps plan artifacts in one bucket under one prefix. It is safe for
// concurrent use, also by several processes (replicas) sharing the bucket.
type Store struct {
	client   *awss3.Client
	bucket   string
	prefix   string // "" or ends with "/"
	sealer   *sealer
	sse      SSE
	pageSize int32
}

// New checks o, makes the S3 client (from the standard AWS configuration
// chain unless o.Client is set) and checks that the bucket answers
// (HeadBucket). Returns EINVALID for invalid options — no bucket, no key
// without Unencrypted, a key that is not KeySize bytes, an unknown SSE kind
// — or a bucket that does not exist, and the AWS error for other failures
// (no credentials, access denied, an unreachable endpoint).
func New(ctx context.Context, o Options) (*Store, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	client := o.Client
	if client == nil {
		var loadOpts []func(*config.LoadOptions) error
		if o.Region != "" {
			loadOpts = append(loadOpts, config.WithRegion(o.Region))
		}
		cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
		if err != nil {
			return nil, fmt.Errorf("loading AWS configuration for the plan store: %w", err)
		}
		if cfg.Region == "" {
			return nil, landform.Errorf(landform.EINVALID, "plan store bucket %s: no AWS region: set the plan store's region or AWS_REGION", o.Bucket)
		}
		client = awss3.NewFromConfig(cfg, func(so *awss3.Options) {
			if o.Endpoint != "" {
				so.BaseEndpoint = aws.String(o.Endpoint)
			}
			so.UsePathStyle = o.PathStyle
		})
	}
	s := &Store{
		client:   client,
		bucket:   o.Bucket,
		prefix:   o.Prefix,
		sealer:   newSealer(clone(o.Key), cloneAll(o.PreviousKeys)),
		sse:      o.SSE,
		pageSize: o.ListPageSize,
	}
	if s.prefix != "" && !strings.HasSuffix(s.prefix, "/") {
		s.prefix += "/"
	}
	if _, err := client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String(o.Bucket)}); err != nil {
		if httpStatus(err) == http.StatusNotFound {
			return nil, landform.Errorf(landform.EINVALID, "plan store bucket %s does not exist", o.Bucket)
		}
		return nil, fmt.Errorf("checking plan store bucket %s: %w", o.Bucket, err)
	}
	return s, nil
}

func (o *Options) check() error {
	if o.Bucket == "" {
		return landform.Errorf(landform.EINVALID, "plan store bucket is empty")
	}
	if o.Client != nil && (o.Region != "" || o.Endpoint != "" || o.PathStyle) {
		return landform.Errorf(landform.EINVALID, "plan store bucket %s: region, endpoint and path style apply to the client New makes, not to a given client", o.Bucket)
	}
	switch {
	case o.Unencrypted && (o.Key != nil || o.PreviousKeys != nil):
		return landform.Errorf(landform.EINVALID, "plan store bucket %s: an encryption key is set and so is unencrypted: choose one", o.Bucket)
	case !o.Unencrypted && o.Key == nil:
		return landform.Errorf(landform.EINVALID, "plan store bucket %s: no encryption key: plans hold secrets; set a key (%d bytes, standard base64) or choose unencrypted explicitly", o.Bucket, KeySize)
	}
	for i, k := range append([][]byte{o.Key}, o.PreviousKeys...) {
		if !o.Unencrypted && len(k) != KeySize {
			what := "encryption key"
			if i > 0 {
				what = fmt.Sprintf("previous encryption key %d", i)
			}
			return landform.Errorf(landform.EINVALID, "plan store bucket %s: %s is %d bytes, want %d", o.Bucket, what, len(k), KeySize)
		}
	}
	switch o.SSE.Kind {
	case "", string(types.ServerSideEncryptionAes256):
		if o.SSE.KMSKeyID != "" {
			return landform.Errorf(landform.EINVALID, "plan store bucket %s: a KMS key ID needs server-side encryption aws:kms or aws:kms:dsse, not %q", o.Bucket, o.SSE.Kind)
		}
	case string(types.ServerSideEncryptionAwsKms), string(types.ServerSideEncryptionAwsKmsDsse):
	default:
		return landform.Errorf(landform.EINVALID, "plan store bucket %s: unknown server-side encryption %q: want AES256, aws:kms or aws:kms:dsse", o.Bucket, o.SSE.Kind)
	}
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return bytes.Clone(b)
}

func cloneAll(bs [][]byte) [][]byte {
	out := make([][]byte, len(bs))
	for i, b := range bs {
		out[i] = clone(b)
	}
	return out
}

// runsDir is the part of a key between the prefix and the run's name.
const runsDir = "runs/"

// objectSuffix ends the key of every run's object.
const objectSuffix = ".lfplan"

// key is the object key of runID's artifact.
func (s *Store) key(runID string) string {
	return s.prefix + runsDir + runID + objectSuffix
}

// conditionalConflictRetries bounds how often Put asks again when S3 says
// another conditional write of the same key is in progress (409
// ConditionalRequestConflict, which AWS documents as "retry").
const conditionalConflictRetries = 5

// Put stores a as the artifact of runID, sets a.SHA256 to the hex sha256 of
// a.Plan and returns it. Empty parts are stored as empty.
//
// Returns EINVALID for an invalid run ID or a nil a, and ECONFLICT when runID
// already has an artifact (Delete it first) or another Put of it is in
// progress; a is left unchanged on error.
func (s *Store) Put(ctx context.Context, runID string, a *landform.PlanArtifact) (string, error) {
	if err := checkRunID(runID); err != nil {
		return "", err
	}
	if a == nil {
		return "", landform.Errorf(landform.EINVALID, "plan artifact of run %s is nil", runID)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, err)
	}
	obj, sum, err := s.sealer.seal(runID, a)
	if err != nil {
		return "", err
	}
	key := s.key(runID)
	in := &awss3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		ContentLength: aws.Int64(int64(len(obj))),
		ContentType:   aws.String("application/octet-stream"),
		// Create only: S3 answers 412 when the key exists.
		IfNoneMatch: aws.String("*"),
	}
	if s.sse.Kind != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(s.sse.Kind)
	}
	if s.sse.KMSKeyID != "" {
		in.SSEKMSKeyId = aws.String(s.sse.KMSKeyID)
	}
	for attempt := 0; ; attempt++ {
		in.Body = bytes.NewReader(obj)
		_, err := s.client.PutObject(ctx, in)
		if err == nil {
			break
		}
		if httpStatus(err) == http.StatusPreconditionFailed || errorCode(err) == "PreconditionFailed" {
			return "", conflict(runID)
		}
		if errorCode(err) == "ConditionalRequestConflict" {
			if attempt == conditionalConflictRetries {
				return "", landform.Errorf(landform.ECONFLICT, "plan artifact of run %s is being stored by another writer", runID)
			}
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, ctx.Err())
			case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
			}
			continue
		}
		return "", fmt.Errorf("storing plan artifact of run %s in s3://%s/%s: %w", runID, s.bucket, key, err)
	}
	a.SHA256 = sum
	return sum, nil
}

// Get returns the artifact of runID after decrypting it and verifying each
// part against the manifest.
//
// Returns EINVALID for an invalid run ID, ENOTFOUND when runID has no
// artifact, and an error wrapping planstore.ErrCorrupt, naming the run and
// the object, when the object is not a plan envelope, was written under a
// key the store does not have, fails to decrypt (wrong key, altered, or
// stored for another run) or a part does not match its sha256.
func (s *Store) Get(ctx context.Context, runID string) (*landform.PlanArtifact, error) {
	if err := checkRunID(runID); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading plan artifact of run %s: %w", runID, err)
	}
	key := s.key(runID)
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if isNoSuchKey(err) {
			return nil, landform.Errorf(landform.ENOTFOUND, "plan artifact of run %s not found", runID)
		}
		return nil, fmt.Errorf("reading plan artifact of run %s from s3://%s/%s: %w", runID, s.bucket, key, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 && n < maxPrealloc {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants room to see EOF
	}
	_, err = buf.ReadFrom(out.Body)
	obj := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("reading plan artifact of run %s from s3://%s/%s: %w", runID, s.bucket, key, err)
	}
	a, err := s.sealer.open(runID, obj)
	if err != nil {
		return nil, fmt.Errorf("plan artifact of run %s (s3://%s/%s): %v: %w", runID, s.bucket, key, err, planstore.ErrCorrupt)
	}
	return a, nil
}

// maxPrealloc bounds the buffer Get allocates up front from the object's
// Content-Length (a larger object still reads, growing as it comes).
const maxPrealloc = 1 << 30

// Delete removes the artifact of runID. Deleting an absent artifact is not an
// error, so that a retried or repeated cleanup succeeds. Returns EINVALID for
// an invalid run ID.
func (s *Store) Delete(ctx context.Context, runID string) error {
	if err := checkRunID(runID); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting plan artifact of run %s: %w", runID, err)
	}
	key := s.key(runID)
	if _, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}); err != nil {
		if isNoSuchKey(err) {
			return nil
		}
		return fmt.Errorf("deleting plan artifact of run %s at s3://%s/%s: %w", runID, s.bucket, key, err)
	}
	return nil
}

// HighestRunID returns the highest run ID that is a decimal number (as the
// store's run IDs are) among the objects under the prefix, 0 when there is
// none: Landform's run IDs continue above it when the database was lost.
// Other IDs are ignored. It lists every object under the prefix.
func (s *Store) HighestRunID(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("listing plan artifacts: %w", err)
	}
	in := &awss3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix + runsDir)}
	if s.pageSize > 0 {
		in.MaxKeys = aws.Int32(s.pageSize)
	}
	var highest int64
	pages := awss3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("listing plan artifacts in s3://%s/%s: %w", s.bucket, s.prefix+runsDir, err)
		}
		for _, obj := range page.Contents {
			name, ok := strings.CutPrefix(aws.ToString(obj.Key), s.prefix+runsDir)
			if !ok {
				continue
			}
			if id, ok := strings.CutSuffix(name, objectSuffix); ok {
				if n, ok := decimalID(id); ok {
					highest = max(highest, n)
				}
			}
		}
	}
	return highest, nil
}

// decimalID returns the number a run ID names when it is a canonical
// positive decimal number.
func decimalID(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && n > 0 && strconv.FormatInt(n, 10) == id
}

// checkRunID accepts what planstore/fs accepts (keep the two in step): 1 to
// 128 letters, digits, '.', '-' and '_', starting with a letter or digit —
// safe as one segment of an object key.
func checkRunID(id string) error {
	ok := id != "" && len(id) <= 128 && isAlnum(id[0])
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = isAlnum(c) || c == '.' || c == '-' || c == '_'
	}
	if !ok {
		return landform.Errorf(landform.EINVALID, "invalid run ID %q: want letters, digits, '.', '-' or '_', starting with a letter or digit", id)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func conflict(runID string) error {
	return landform.Errorf(landform.ECONFLICT, "plan artifact of run %s already exists", runID)
}

// isNoSuchKey tells a missing object from a missing bucket (which is a
// configuration error, not a missing plan).
func isNoSuchKey(err error) bool {
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	return httpStatus(err) == http.StatusNotFound && errorCode(err) != "NoSuchBucket"
}

// httpStatus is the HTTP status of the S3 answer in err's chain, 0 when
// there is none.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// errorCode is the S3 error code in err's chain ("NoSuchKey",
// "PreconditionFailed", …), "" when there is none.
func errorCode(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
