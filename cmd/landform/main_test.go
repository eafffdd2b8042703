package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// runCLI runs the landform command line in-process and returns its exit code
// and outputs.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, errOut := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "landform ") {
		t.Fatalf("version: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "version", "--json")
	var v map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["version"] == "" {
		t.Fatalf("version --json: code %d, stdout %q", code, out)
	}
}

func TestGlobalFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--log-level", "loud", "version"}, `--log-level "loud"`},
		{[]string{"--log-format", "xml", "version"}, `--log-format "xml"`},
		{[]string{"no-such-command"}, `unknown command "no-such-command"`},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: code %d, stderr %q, want code 1 and %q", tc.args, code, errOut, tc.want)
		}
	}
}
