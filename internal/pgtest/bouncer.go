package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBouncer is what StartBouncer returns, wrapped, when it finds no
// pgbouncer binary.
var ErrNoBouncer = errors.New("pgbouncer not found: run scripts/setup --with postgres")

// Bouncer is a PgBouncer in front of a Cluster, on a free port of
// 127.0.0.1, trusting the cluster's superuser and routing every database
// name to the cluster: what many deployments put between their services
// and PostgreSQL.
type Bouncer struct {
	// Port is its TCP port on 127.0.0.1.
	Port int
	// Mode is its pool_mode: "session", "transaction" or "statement".
	Mode string

	dir  string
	proc *process
}

// bouncerBin returns the pgbouncer binary: on PATH, else Debian's
// /usr/sbin/pgbouncer (not on a user's PATH).
func bouncerBin() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	const debian = "/usr/sbin/pgbouncer"
	if fi, err := os.Stat(debian); err == nil && fi.Mode().Perm()&0o111 != 0 {
		return debian, nil
	}
	return "", ErrNoBouncer
}

// StartBouncer starts a PgBouncer with pool_mode mode in front of c. As
// root (which PgBouncer refuses) it runs as the user "postgres". Stop it
// with Stop.
func StartBouncer(ctx context.Context, c *Cluster, mode string) (*Bouncer, error) {
	bin, err := bouncerBin()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tempBase(cred != nil, false), "landform-pgbouncer-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	b := &Bouncer{Mode: mode, dir: dir}
	if err := b.start(ctx, bin, cred, c); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return b, nil
}

func (b *Bouncer) start(ctx context.Context, bin string, cred *syscall.Credential, c *Cluster) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var err error
	if b.Port, err = freePort(); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	users := filepath.Join(b.dir, "users.txt")
	ini := filepath.Join(b.dir, "pgbouncer.ini")
	files := map[string]string{
		users: fmt.Sprintf("%q \"\"\n", Superuser),
		ini: fmt.Sprintf(`[databases]
* = host=127.0.0.1 port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = %s
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = %s
`, c.Port, b.Port, users, b.Mode, filepath.Join(b.dir, "pgbouncer.log")),
	}
	for path, text := range files {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	if cred != nil {
		for _, p := range []string{b.dir, users, ini} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("pgtest: %w", err)
			}
		}
	}
	cmd := exec.Command(bin, ini)
	cmd.Env, cmd.Dir = childEnv(b.dir), b.dir
	cmd.SysProcAttr = sysProcAttr(cred)
	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the parent-death signal goes with this thread
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: starting pgbouncer: %w", err)
	}
	b.proc = p
	for {
		conn, err := pgx.Connect(ctx, b.DSN("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("pgtest: pgbouncer exited before answering on port %d: %v\n%s", b.Port, p.err, b.Log())
		case <-ctx.Done():
			kill(p)
			return fmt.Errorf("pgtest: pgbouncer did not answer on port %d within %s: %v\n%s", b.Port, startTimeout, err, b.Log())
		case <-time.After(20 * time.Millisecond): // nothing to wait on before it listens
		}
	}
}

// DSN returns the connection string of database through the bouncer. In
// transaction and statement modes it asks pgx for the query mode such
// poolers need (no named prepared statements: exec).
func (b *Bouncer) DSN(database string) string {
	dsn := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, b.Port, url.PathEscape(database))
	if b.Mode != "session" {
		dsn += "&default_query_exec_mode=exec"
	}
	return dsn
}

// Route returns dsn (of a database on the bouncer's cluster) through the
// bouncer.
func (b *Bouncer) Route(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	return b.DSN(strings.TrimPrefix(u.Path, "/")), nil
}

// Log returns the last lines pgbouncer wrote.
func (b *Bouncer) Log() string { return logTail(filepath.Join(b.dir, "pgbouncer.log")) }

// Stop stops pgbouncer (SIGINT, then SIGQUIT) and removes its directory.
func (b *Bouncer) Stop() error {
	if b.proc != nil {
		_ = b.proc.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-b.proc.done:
		case <-time.After(stopTimeout):
			kill(b.proc)
		}
	}
	return os.RemoveAll(b.dir)
}

// NewBouncer starts a PgBouncer with pool_mode mode in front of the shared
// cluster for the test, stopped when it ends. Under -short, a missing
// pgbouncer skips the test (as missing PostgreSQL binaries do).
func NewBouncer(t testing.TB, mode string) *Bouncer {
	t.Helper()
	c := Shared(t)
	b, err := StartBouncer(t.Context(), c, mode)
	if errors.Is(err, ErrNoBouncer) && testing.Short() {
		t.Skipf("pgtest: %v; skipped under -short", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Error(err)
		}
	})
	return b
}
