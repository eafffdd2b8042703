// Command idlecost measures what `landform serve` costs when nothing
// changes: it serves N bare repositories over smart HTTP (git http-backend
// on loopback), runs the daemon on them with a poll interval, waits until
// every repository is watched, then measures the daemon's CPU time, peak
// resident memory and the fetches it made over the measurement window.
//
//	go run ./test/bench/idlecost -repos 200 -interval 10s -duration 5m
//
// It prints the results and their ratios to the targets (2% of a core,
// 150 MB, zero fetches).
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	var (
		repos    = flag.Int("repos", 200, "repositories to watch")
		interval = flag.Duration("interval", 10*time.Second, "poll interval")
		duration = flag.Duration("duration", 5*time.Minute, "measurement window, after all repos are watched")
		bin      = flag.String("landform", "", "landform binary (default: build one)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *repos, *interval, *duration, *bin); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, n int, interval, window time.Duration, bin string) error {
	tmp, err := os.MkdirTemp("", "landform-idlecost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "landform")
		if err := sh(ctx, "", "go", "build", "-o", bin, "github.com/landform/landform/cmd/landform"); err != nil {
			return err
		}
	}

	// One small repository, copied into n bare repositories.
	src := filepath.Join(tmp, "src")
	for _, d := range []string{"envs/a", "envs/b", "modules/m"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, d, "main.tf"), []byte(`resource "terraform_data" "x" {}`+"\n"), 0o644); err != nil {
			return err
		}
	}
	if err := sh(ctx, src, "git", "init", "--quiet", "--initial-branch=main"); err != nil {
		return err
	}
	if err := sh(ctx, src, "git", "add", "--all"); err != nil {
		return err
	}
	if err := sh(ctx, src, "git", "-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "--quiet", "-m", "one"); err != nil {
		return err
	}
	root := filepath.Join(tmp, "remotes")
	for i := range n {
		if err := sh(ctx, tmp, "git", "clone", "--quiet", "--bare", src, filepath.Join(root, fmt.Sprintf("r%03d.git", i))); err != nil {
			return err
		}
	}

	var listings, fetches atomic.Int64
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return err
	}
	backend := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
			listings.Add(1)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte("command=ls-refs")) {
				listings.Add(1)
			} else {
				fetches.Add(1)
			}
		}
		backend.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	var cfg strings.Builder
	fmt.Fprintf(&cfg, "data_dir: %s\nlisten: 127.0.0.1:0\nparallel: 2\nledger: false\nrepos:\n", filepath.Join(tmp, "data"))
	for i := range n {
		fmt.Fprintf(&cfg, "  - name: r%03d\n    url: %s/r%03d.git\n    poll_interval: %s\n", i, srv.URL, i, interval)
	}
	cfgPath := filepath.Join(tmp, "landform.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		return err
	}

	cmd := exec.CommandContext(ctx, bin, "serve", "--config", cfgPath)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	watched := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		count := 0
		for sc.Scan() {
			if strings.Contains(sc.Text(), "watching branch") {
				if count++; count == n {
					close(watched)
				}
			}
		}
	}()
	select {
	case <-watched:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Minute):
		return fmt.Errorf("not all %d repos watched after 10 minutes", n)
	}
	warm := time.Since(start)
	pid := cmd.Process.Pid
	cpu0, err := cpuTime(pid)
	if err != nil {
		return err
	}
	f0, l0, c0 := fetches.Load(), listings.Load(), conns.Load()
	t0 := time.Now()
	fmt.Fprintf(os.Stderr, "all %d repos watched after %s (clones included); measuring for %s\n", n, warm.Round(time.Millisecond), window)
	select {
	case <-time.After(window):
	case <-ctx.Done():
		return ctx.Err()
	}
	cpu1, err := cpuTime(pid)
	if err != nil {
		return err
	}
	elapsed := time.Since(t0)
	hwm, rss, err := memory(pid)
	if err != nil {
		return err
	}
	cpu := cpu1 - cpu0
	share := cpu.Seconds() / elapsed.Seconds()
	f, l := fetches.Load()-f0, listings.Load()-l0
	expected := float64(n) * elapsed.Seconds() / interval.Seconds()
	fmt.Printf("repos %d, interval %s, window %s\n", n, interval, elapsed.Round(time.Second))
	fmt.Printf("ref listings %d (expected about %.0f, ratio %.2f)\n", l, expected, float64(l)/expected)
	fmt.Printf("fetches %d (target 0)\n", f)
	fmt.Printf("new TCP connections %d (%.2f per listing)\n", conns.Load()-c0, float64(conns.Load()-c0)/float64(max(l, 1)))
	fmt.Printf("daemon CPU %.2fs = %.2f%% of a core (target 2%%: ratio %.2f)\n", cpu.Seconds(), 100*share, share/0.02)
	fmt.Printf("daemon peak RSS %.1f MB, RSS at end %.1f MB (target 150 MB: ratio %.2f)\n", hwm, rss, hwm/150)
	return nil
}

// cpuTime returns a process's user+system CPU time from /proc.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the ")" closing the command name; utime and stime are
	// fields 14 and 15 of the whole line.
	s := string(b)
	rest := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, err1 := strconv.ParseInt(rest[11], 10, 64)
	st, err2 := strconv.ParseInt(rest[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, nil
}

// memory returns a process's peak and current resident set in MB.
func memory(pid int) (hwm, rss float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmHWM:":
			hwm = kb / 1024
		case "VmRSS:":
			rss = kb / 1024
		}
	}
	return hwm, rss, nil
}

func sh(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	return cmd.Run()
}
