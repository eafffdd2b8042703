package pgtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/landform/landform/internal/logtail"
)

const (
	// startTimeout bounds initdb and the server's start.
	startTimeout = 60 * time.Second
	// stopTimeout bounds a fast shutdown before an immediate one.
	stopTimeout = 30 * time.Second
	// startAttempts is how many free ports Start tries: another process
	// can take the port between picking it and the server's bind.
	startAttempts = 3
	// Superuser is the cluster's superuser, which every DSN names; the
	// cluster trusts every local connection.
	Superuser = "postgres"
)

// Options configure a cluster.
type Options struct {
	// Durable keeps PostgreSQL's durability settings (fsync,
	// synchronous_commit and full_page_writes on), as a production
	// server has them: for benchmarks. Without it they are off, which
	// makes tests faster and loses nothing a test needs.
	Durable bool
	// Settings are more server settings (postgres -c name=value).
	Settings map[string]string
}

// Cluster is one running PostgreSQL server on 127.0.0.1, its data in a
// temporary directory, trusting local connections. Its fields are fixed
// once Start returns.
type Cluster struct {
	// Dir holds the data directory (data/) and the server's log
	// (postgres.log); Stop removes it.
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Version is the server's version ("15.14").
	Version string

	admin    *pgxpool.Pool
	proc     *process
	stopOnce sync.Once
	stopErr  error
}

// process is one running postgres; done is closed once Wait returned.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// running are the clusters started and not yet stopped: Main stops them.
var running = struct {
	sync.Mutex
	m map[*Cluster]bool
}{m: map[*Cluster]bool{}}

// Start initializes a new cluster in a temporary directory (initdb) and
// starts its server on a free port of 127.0.0.1 (postgres, not pg_ctl, so
// that the server is this process's child: the kernel stops it when the
// process dies without cleaning up). As root, which PostgreSQL refuses,
// initdb and the server run as the user "postgres". Stop it with Stop, or
// let Main stop it.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	version, major, err := serverVersion(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if major < minMajor {
		return nil, fmt.Errorf("pgtest: PostgreSQL %s in %s is too old: want %d or newer (15 is tested)", version, bin, minMajor)
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tempBase(cred != nil, opts.Durable), "landform-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{Dir: dir, Version: version}
	if err := c.start(ctx, bin, cred, opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	running.Lock()
	running.m[c] = true
	running.Unlock()
	return c, nil
}

// credential returns who runs initdb and the server: nil (this process's
// user) unless this process runs as root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(Superuser)
	if err != nil {
		return nil, fmt.Errorf("pgtest: PostgreSQL refuses to run as root, and there is no user %q to run it as (%v): run scripts/setup --with postgres", Superuser, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: user %s: %w", Superuser, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// tempBase returns where the cluster's directory goes: for a cluster that
// need not be durable, tmpfs (/dev/shm) when it has room — CREATE
// DATABASE writes some 300 files, which took 0.4 s on the ext4 disk of
// the machine docs/benchmarks.md describes and 0.01 s on its tmpfs; else
// os.TempDir(), unless the server runs as another user who cannot reach
// it; then /tmp.
func tempBase(otherUser, durable bool) string {
	if !durable && roomIn("/dev/shm", 1<<30) {
		return "/dev/shm"
	}
	base := os.TempDir()
	if !otherUser {
		return base
	}
	for d := base; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return base
		}
	}
}

// roomIn reports whether dir is a writable directory for everyone (as
// /tmp is) with at least bytes free.
func roomIn(dir string, bytes uint64) bool {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o003 != 0o003 {
		return false
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Bavail*uint64(st.Bsize) >= bytes
}

func (c *Cluster) start(ctx context.Context, bin string, cred *syscall.Credential, opts Options) error {
	data := filepath.Join(c.Dir, "data")
	if cred != nil {
		if err := os.Chown(c.Dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"--pgdata", data, "--username", Superuser, "--auth", "trust",
		"--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions")
	initdb.Env = childEnv(c.Dir)
	initdb.Dir = c.Dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}

	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": "", // TCP only: no socket directory to own
		"max_connections":         "300",
		"log_min_messages":        "warning",
	}
	if !opts.Durable {
		maps.Copy(settings, map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
	}
	maps.Copy(settings, opts.Settings)
	var err error
	for range startAttempts {
		port, perr := freePort()
		if perr != nil {
			return fmt.Errorf("pgtest: %w", perr)
		}
		if err = c.run(ctx, bin, cred, data, port, settings); err == nil {
			return nil
		}
		if !errors.Is(err, errPortTaken) {
			return err
		}
	}
	return err
}

var errPortTaken = errors.New("port taken")

// run starts the server on port and waits until it answers as this
// cluster, exits, or ctx ends.
func (c *Cluster) run(ctx context.Context, bin string, cred *syscall.Credential, data string, port int, settings map[string]string) error {
	logPath := filepath.Join(c.Dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	args := []string{"-D", data, "-p", strconv.Itoa(port)}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", k+"="+settings[k])
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Env, cmd.Dir = childEnv(c.Dir), c.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr(cred)
	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal goes with the thread that started the
		// child: keep this one until the server exits.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			logf.Close()
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: starting postgres: %w", err)
	}

	c.Port = port
	for {
		if err := c.connect(ctx, data); err == nil {
			c.proc = p
			return nil
		}
		select {
		case <-p.done:
			tail := c.Log()
			if strings.Contains(tail, "could not bind") || strings.Contains(tail, "already in use") {
				return fmt.Errorf("pgtest: postgres on port %d: %w\n%s", port, errPortTaken, tail)
			}
			return fmt.Errorf("pgtest: postgres exited before answering on port %d: %v\n%s", port, p.err, tail)
		case <-ctx.Done():
			kill(p)
			return fmt.Errorf("pgtest: postgres did not answer on port %d within %s\n%s", port, startTimeout, c.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// connect opens the admin pool and checks that the server answering on
// c.Port is this cluster's.
func (c *Cluster) connect(ctx context.Context, data string) error {
	cfg, err := pgxpool.ParseConfig(c.DSN("postgres"))
	if err != nil {
		return err
	}
	cfg.MaxConns = 2
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	var got string
	if err := pool.QueryRow(ctx, "SHOW data_directory").Scan(&got); err != nil {
		pool.Close()
		return err
	}
	if got != data {
		pool.Close()
		return fmt.Errorf("port %d is answered by the cluster in %s", c.Port, got)
	}
	c.admin = pool
	return nil
}

// DSN returns the connection string of database on the cluster, as its
// superuser over TCP.
func (c *Cluster) DSN(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, c.Port, url.PathEscape(database))
}

// CreateDatabase creates the empty database name (an SQL identifier) and
// returns its DSN.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	if _, err := c.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: creating database %s: %w", name, err)
	}
	return c.DSN(name), nil
}

// DropDatabase drops database name, closing the connections to it.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	if _, err := c.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: dropping database %s: %w", name, err)
	}
	return nil
}

// Stop stops the server (a fast shutdown, then an immediate one after
// stopTimeout), waits for it to exit and removes c.Dir. Stopping twice
// does nothing more.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		running.Lock()
		delete(running.m, c)
		running.Unlock()
		if c.admin != nil {
			c.admin.Close()
		}
		if p := c.proc; p != nil {
			_ = p.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
			select {
			case <-p.done:
			case <-time.After(stopTimeout):
				c.stopErr = fmt.Errorf("pgtest: postgres did not stop within %s\n%s", stopTimeout, c.Log())
				kill(p)
			}
		}
		if err := os.RemoveAll(c.Dir); err != nil && c.stopErr == nil {
			c.stopErr = fmt.Errorf("pgtest: %w", err)
		}
	})
	return c.stopErr
}

// kill stops p at once (SIGQUIT: an immediate shutdown, which also ends
// the server's children) and waits for it.
func kill(p *process) {
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Log returns the last lines the server wrote.
func (c *Cluster) Log() string { return logTail(filepath.Join(c.Dir, "postgres.log")) }

// logTail returns the last 40 lines of the log file path.
func logTail(path string) string { return logtail.Read(path, 40) }

// childEnv is initdb's and the server's environment: the C locale and
// nothing of the test's PG* variables.
func childEnv(home string) []string {
	return []string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C", "HOME=" + home, "TZ=UTC"}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
