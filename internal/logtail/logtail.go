// Package logtail reads the end of a log file, for the errors of the test
// servers the harnesses start (PostgreSQL, PgBouncer, the S3 server).
package logtail

import (
	"fmt"
	"os"
	"strings"
)

// Read returns the last n lines of the file at path, or, when it cannot
// be read, a line saying why.
func Read(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
