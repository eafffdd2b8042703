// Package s3test runs a real S3 server for tests: versitygw
// (github.com/versity/versitygw) with its posix backend in the test's
// temporary directory, on a loopback port, with fixed test credentials. A
// bucket is a directory under Server.Dir.
//
// The binary is built by `scripts/setup --with s3` and found through
// .tools/tools.env (test/tftest). Without it Start fails the test — a skip
// would hide the S3 tests in CI — except under `go test -short`, where it
// skips.
//
// Nothing here reaches the network beyond 127.0.0.1, and the clients it
// makes never consult the environment, shared AWS config files or the
// instance metadata service.
package s3test

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/landform/landform/internal/logtail"
	"github.com/landform/landform/test/tftest"
)

// The fixed credentials and region of every server Start runs.
const (
	AccessKey = "LANDFORMTESTACCESSKEY"
	SecretKey = "landform-test-secret-key-0123456789abcdef"
	Region    = "us-east-1"
)

const (
	// startTimeout bounds how long versitygw may take to answer.
	startTimeout = 30 * time.Second
	// stopTimeout bounds a graceful stop before the process is killed.
	stopTimeout = 10 * time.Second
	// startAttempts is how many free ports Start tries: another process
	// can take the port between tftest.FreePort and versitygw's bind.
	startAttempts = 3
)

// Server is one running versitygw. Its fields are fixed once Start returns.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT (no
	// trailing slash). Clients must use path-style addressing.
	Endpoint string
	// Region, AccessKey and SecretKey are what clients sign requests with
	// (the package constants of the same names).
	Region    string
	AccessKey string
	SecretKey string
	// Dir is the posix backend's root: bucket NAME is the directory
	// Dir/NAME and object KEY the file Dir/NAME/KEY, which tests may read
	// or damage directly.
	Dir string

	log string // what versitygw writes to stdout and stderr

	stopOnce sync.Once
	proc     *process
}

// process is one running versitygw; done is closed once Wait returned.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts a fresh versitygw and stops it when the test ends. It fails
// the test (skips it under -short) when `scripts/setup --with s3` has not
// installed versitygw, and fails it when the server does not come up.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binary(t)
	tmp := t.TempDir()
	s := &Server{
		Region:    Region,
		AccessKey: AccessKey,
		SecretKey: SecretKey,
		Dir:       filepath.Join(tmp, "data"),
		log:       filepath.Join(tmp, "versitygw.log"),
	}
	if err := os.Mkdir(s.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("s3test: the end of %s:\n%s", s.log, s.logTail())
		}
	})
	var err error
	for range startAttempts {
		if err = s.start(bin, tftest.FreePort(t)); err == nil {
			return s
		}
	}
	t.Fatal(err)
	return nil
}

// binary returns the path of versitygw from .tools/tools.env.
func binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		// tftest.Load fails the test without scripts/setup; -short runs
		// on a bare machine skip instead.
		if p, _ := shortLookup(); p == "" {
			t.Skip("s3test: no versitygw (run scripts/setup --with s3); skipped under -short")
		}
	}
	tools := tftest.Load(t)
	if tools.VersityGW == "" {
		t.Fatal("s3test: no versitygw in .tools/tools.env; run scripts/setup --with s3 (make test does)")
	}
	if _, err := os.Stat(tools.VersityGW); err != nil {
		t.Fatalf("s3test: %v; run scripts/setup --with s3", err)
	}
	return tools.VersityGW
}

// shortLookup finds VERSITYGW in .tools/tools.env above the working
// directory without failing anything.
func shortLookup() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
	f, err := os.Open(filepath.Join(dir, ".tools", "tools.env"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "VERSITYGW="); ok {
			if _, err := os.Stat(p); err != nil {
				return "", err
			}
			return p, nil
		}
	}
	return "", sc.Err()
}

// start runs versitygw on port and waits until it answers HTTP, it exits,
// or startTimeout passes.
func (s *Server) start(bin string, port int) error {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin,
		"--port", addr,
		"--access", AccessKey,
		"--secret", SecretKey,
		"--region", Region,
		"--quiet",
		"posix", s.Dir)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("s3test: starting versitygw: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()

	endpoint := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.After(startTimeout)
	for {
		// Any answer will do: unsigned requests get 403 AccessDenied.
		resp, err := client.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			if resp.Header.Get("Server") != "VERSITYGW" {
				// Someone else took the port.
				kill(p)
				return fmt.Errorf("s3test: %s is answered by another server (%q)", addr, resp.Header.Get("Server"))
			}
			s.Endpoint, s.proc = endpoint, p
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("s3test: versitygw exited before answering on %s: %v\n%s", addr, p.err, s.logTail())
		case <-deadline:
			kill(p)
			return fmt.Errorf("s3test: versitygw did not answer on %s within %s\n%s", addr, startTimeout, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop stops the server (SIGTERM, then SIGKILL after stopTimeout) and
// waits for it to exit.
func (s *Server) stop() {
	s.stopOnce.Do(func() {
		p := s.proc
		if p == nil {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			kill(p)
		}
	})
}

func kill(p *process) {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// childEnv is versitygw's environment: the test's, less what versitygw
// reads as configuration (VGW_*, ROOT_*) and AWS settings.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VGW_") || strings.HasPrefix(kv, "ROOT_") || strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// logTail returns the last lines versitygw wrote.
func (s *Server) logTail() string { return logtail.Read(s.log, 40) }

// Client returns an S3 client of the server: static credentials, the
// server's region and endpoint, path-style addressing, then optFns (e.g. to
// set an HTTPClient that records requests). It reads nothing from the
// environment.
func (s *Server) Client(optFns ...func(*s3.Options)) *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	}, optFns...)
}

// Bucket creates bucket name (a valid S3 bucket name: 3 to 63 lowercase
// letters, digits, '-' and '.') and returns name. It fails the test when
// the server refuses, e.g. because the bucket exists.
func (s *Server) Bucket(t testing.TB, name string) string {
	t.Helper()
	if _, err := s.Client().CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: creating bucket %s: %v", name, err)
	}
	return name
}

// Env returns the environment variables that point an AWS SDK or CLI, or
// Terraform's s3 backend, at the server: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_DEFAULT_REGION,
// AWS_ENDPOINT_URL_S3 and AWS_EC2_METADATA_DISABLED=true. Path-style
// addressing has no standard variable: set it in the client's own
// configuration (use_path_style for Terraform's backend).
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + s.Region,
		"AWS_DEFAULT_REGION=" + s.Region,
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}
