package s3test_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/landform/landform/internal/s3test"
)

func TestServer(t *testing.T) {
	srv := s3test.Start(t)
	if !strings.HasPrefix(srv.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint = %q, want loopback", srv.Endpoint)
	}
	bucket := srv.Bucket(t, "landform-plans")
	c := srv.Client()
	body := []byte("hello from s3test")
	if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("a/b.txt"), Body: bytes.NewReader(body),
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/b.txt")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("GetObject = %q, %v; want %q", got, err, body)
	}
	// The posix backend: the object is a file under Dir.
	if b, err := os.ReadFile(filepath.Join(srv.Dir, bucket, "a", "b.txt")); err != nil || !bytes.Equal(b, body) {
		t.Errorf("object file = %q, %v; want %q", b, err, body)
	}

	// Signatures are checked: a wrong secret is refused.
	bad := s3.New(s3.Options{
		Region:       srv.Region,
		BaseEndpoint: aws.String(srv.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(srv.AccessKey, "wrong-secret", ""),
	})
	if _, err := bad.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}); err == nil {
		t.Error("a request signed with the wrong secret succeeded")
	}

	env := strings.Join(srv.Env(), "\n")
	for _, want := range []string{
		"AWS_ACCESS_KEY_ID=" + srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + srv.SecretKey,
		"AWS_REGION=" + srv.Region,
		"AWS_ENDPOINT_URL_S3=" + srv.Endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
	} {
		if !strings.Contains(env, want) {
			t.Errorf("Env() lacks %s", want)
		}
	}
}

// Two servers in one test are independent.
func TestTwoServers(t *testing.T) {
	a, b := s3test.Start(t), s3test.Start(t)
	if a.Endpoint == b.Endpoint {
		t.Fatalf("both servers on %s", a.Endpoint)
	}
	a.Bucket(t, "only-in-a")
	if _, err := b.Client().HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: aws.String("only-in-a")}); err == nil {
		t.Error("server b has server a's bucket")
	}
}
