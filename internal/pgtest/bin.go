package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoBinaries is what BinDir returns, wrapped, when it finds no
// PostgreSQL server binaries.
var ErrNoBinaries = errors.New("PostgreSQL 15 binaries not found: run scripts/setup --with postgres")

// minMajor is the oldest PostgreSQL the harness and the store need
// (DROP DATABASE … WITH (FORCE) came in 13); 15 is what is tested.
const minMajor = 13

// BinDir returns the directory holding initdb and postgres: the one
// $LANDFORM_PG_BIN names (and then no other), else `pg_config --bindir`,
// else the newest /usr/lib/postgresql/*/bin (Debian's layout, not on
// PATH). The error wraps ErrNoBinaries when none has them.
func BinDir() (string, error) {
	if dir := os.Getenv("LANDFORM_PG_BIN"); dir != "" {
		if err := hasServer(dir); err != nil {
			return "", fmt.Errorf("%w (LANDFORM_PG_BIN=%s: %v)", ErrNoBinaries, dir, err)
		}
		return dir, nil
	}
	var tried []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if hasServer(dir) == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major first: "9.6" < "15" as numbers.
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(b) - majorOf(a) })
	for _, dir := range dirs {
		if hasServer(dir) == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("%w (no LANDFORM_PG_BIN, no pg_config on PATH, no /usr/lib/postgresql/*/bin)", ErrNoBinaries)
	}
	return "", fmt.Errorf("%w (no initdb and postgres in %s)", ErrNoBinaries, strings.Join(tried, ", "))
}

func majorOf(dir string) int {
	n, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	if err != nil {
		return 0
	}
	return n
}

// hasServer checks that dir holds executable initdb and postgres.
func hasServer(dir string) error {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s is not executable", filepath.Join(dir, name))
		}
	}
	return nil
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(\.\d+)?`)

// serverVersion returns the version `postgres --version` prints ("15.14")
// and its major number.
func serverVersion(ctx context.Context, bin string) (string, int, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "postgres"), "--version").Output()
	if err != nil {
		return "", 0, fmt.Errorf("postgres --version: %w", err)
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return "", 0, fmt.Errorf("postgres --version printed %q", strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(m[1])
	return m[1] + m[2], major, nil
}
