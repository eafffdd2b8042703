package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// localPath checks p, a path on the machine Landform runs on, and returns
// it cleaned: "~" and "~/…" are expanded to the home directory, and a
// relative path is joined to base, the directory of the server config. On
// failure it returns a message saying why p is refused.
func localPath(p, base string) (string, string) {
	switch {
	case p == "":
		return "", "must not be empty"
	case p == "~" || strings.HasPrefix(p, "~/"):
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return "", fmt.Sprintf("cannot expand %q: the home directory is unknown ($HOME is not set)", p)
		}
		return filepath.Join(home, p[1:]), ""
	case strings.HasPrefix(p, "~"):
		return "", fmt.Sprintf(`cannot expand %q: only "~/" is expanded; write the path out`, p)
	case filepath.IsAbs(p):
		return filepath.Clean(p), ""
	}
	return filepath.Join(base, p), ""
}
