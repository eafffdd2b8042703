package policies_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/policies"
)

// benchParams turns every built-in on, with limits the generated plans
// break (so that each built-in has work to do and messages to produce).
var benchParams = map[string]any{
	"protect_types":     map[string]any{"types": []string{"testcloud_bucket", "aws_db_instance"}},
	"max_destroys":      map[string]any{"max": 5},
	"required_tags":     map[string]any{"keys": []string{"owner", "env"}},
	"forbid_addresses":  map[string]any{"addresses": []string{"module.core.*", "testcloud_secret.root"}},
	"destroy_approvals": map[string]any{"count": 2, "from": []string{"platform"}},
}

// BenchmarkEvalBuiltins evaluates the built-ins, all on, with one prepared
// set over generated plans of about 1 MB and 10 MB, and runs the opa CLI
// (`opa eval` with the same modules, parameters and input) on the same
// plans for comparison: ms/eval is one Set.Eval (the plan's parse
// included), opa-cli-ms one `opa eval` process, cli/lib their ratio.
func BenchmarkEvalBuiltins(b *testing.B) {
	dir := b.TempDir()
	opa, buildErr := buildOPA(b, dir)
	builtinFiles := writeBuiltins(b, dir)
	paramsFile := filepath.Join(dir, "params.json")
	writeJSON(b, paramsFile, map[string]any{"params": benchParams})

	set, err := policies.NewSet(policies.BuiltinSet, policies.Builtin(), benchParams, landform.EnforceDeny)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1MB", 1 << 20}, {"10MB", 10 << 20}} {
		plan := generatePlan(size.bytes)
		in := policies.Input{Plan: plan, Workspace: policies.InputWorkspace{Name: "bench", Dir: "bench", Repo: "infra"}}
		// The CLI's input is the same document: Input marshals to it.
		inputFile := filepath.Join(dir, "input-"+size.name+".json")
		writeJSON(b, inputFile, in)
		b.Run(size.name, func(b *testing.B) {
			ctx := context.Background()
			var d policies.Decision
			b.SetBytes(int64(len(plan)))
			start := time.Now()
			for b.Loop() {
				d, err = set.Eval(ctx, in)
				if err != nil {
					b.Fatal(err)
				}
			}
			perEval := float64(time.Since(start).Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(perEval, "ms/eval")
			if len(d.Deny) == 0 || len(d.RequireApprovals) != 1 {
				b.Fatalf("decision on the generated plan: %d deny, %d require_approvals", len(d.Deny), len(d.RequireApprovals))
			}
			if buildErr != nil {
				b.Logf("skipping the opa CLI comparison: building opa failed: %v", buildErr)
				return
			}
			cliMS := runOPA(b, opa, builtinFiles, paramsFile, inputFile, len(d.Deny))
			b.ReportMetric(cliMS, "opa-cli-ms")
			b.ReportMetric(cliMS/perEval, "cli/lib")
		})
	}
}

// buildOPA builds the opa CLI of the version go.mod requires into dir:
// `go build github.com/open-policy-agent/opa`, and when that fails because
// go.sum lacks the sums of packages only the CLI imports (go mod tidy drops
// them), again with copies of go.mod and go.sum in dir (-modfile, -mod=mod),
// so that the module's own files are never written.
func buildOPA(b *testing.B, dir string) (string, error) {
	b.Helper()
	bin := filepath.Join(dir, "opa")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/open-policy-agent/opa").CombinedOutput()
	if err == nil {
		return bin, nil
	}
	b.Logf("go build github.com/open-policy-agent/opa: %v; building with a copy of go.mod and go.sum", err)
	gomod, err2 := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err2 != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err2)
	}
	modfile := filepath.Join(dir, "go.mod")
	for _, f := range [][2]string{{string(bytes.TrimSpace(gomod)), modfile}, {strings.TrimSuffix(string(bytes.TrimSpace(gomod)), ".mod") + ".sum", filepath.Join(dir, "go.sum")}} {
		data, err := os.ReadFile(f[0])
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(f[1], data, 0o644); err != nil {
			return "", err
		}
	}
	out2, err2 := exec.CommandContext(ctx, "go", "build", "-modfile="+modfile, "-mod=mod", "-o", bin, "github.com/open-policy-agent/opa").CombinedOutput()
	if err2 != nil {
		return "", fmt.Errorf("go build github.com/open-policy-agent/opa: %w\n%s\nwith a copy of go.mod: %w\n%s", err, out, err2, out2)
	}
	return bin, nil
}

// runOPA runs `opa eval` over the input three times, checks that it denies
// what Set.Eval denied, and returns the mean wall time in milliseconds.
func runOPA(b *testing.B, opa string, modules []string, paramsFile, inputFile string, wantDeny int) float64 {
	b.Helper()
	args := []string{"eval", "--format", "json", "--input", inputFile, "--data", paramsFile}
	for _, m := range modules {
		args = append(args, "--data", m)
	}
	args = append(args, "data.landform")
	const runs = 3
	var total time.Duration
	var out []byte
	for range runs {
		cmd := exec.Command(opa, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		var err error
		out, err = cmd.Output()
		total += time.Since(start)
		if err != nil {
			b.Fatalf("opa %v: %v\n%s", args, err, stderr.String())
		}
	}
	var res struct {
		Result []struct {
			Expressions []struct {
				Value map[string]struct {
					Deny []string `json:"deny"`
				} `json:"value"`
			} `json:"expressions"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Result) != 1 || len(res.Result[0].Expressions) != 1 {
		b.Fatalf("opa eval output: %v\n%.2000s", err, out)
	}
	deny := 0
	for _, pkg := range res.Result[0].Expressions[0].Value {
		deny += len(pkg.Deny)
	}
	if deny != wantDeny {
		b.Fatalf("opa eval denied %d times, Set.Eval %d", deny, wantDeny)
	}
	return float64(total.Microseconds()) / 1000 / runs
}

// writeBuiltins writes the built-in modules under dir/builtin for the CLI
// and returns their paths.
func writeBuiltins(b *testing.B, dir string) []string {
	b.Helper()
	mods := policies.Builtin()
	var files []string
	for _, name := range slices.Sorted(maps.Keys(mods)) {
		p := filepath.Join(dir, "builtin", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(mods[name]), 0o644); err != nil {
			b.Fatal(err)
		}
		files = append(files, p)
	}
	return files
}

func writeJSON(b *testing.B, path string, v any) {
	b.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// generatePlan returns a plan JSON document of about size bytes, shaped
// like terraform show -json: many resource_changes, mostly creates and
// updates of tagged instances, some no-ops, every 50th a destroy (of a
// bucket: protected), every 100th missing a tag.
func generatePlan(size int) []byte {
	type change struct {
		Actions      []string       `json:"actions"`
		Before       map[string]any `json:"before"`
		After        map[string]any `json:"after"`
		AfterUnknown map[string]any `json:"after_unknown"`
	}
	type rc struct {
		Address      string `json:"address"`
		Mode         string `json:"mode"`
		Type         string `json:"type"`
		Name         string `json:"name"`
		ProviderName string `json:"provider_name"`
		Change       change `json:"change"`
	}
	var rcs []rc
	n := 0
	for est := 0; est < size; n++ {
		typ, actions := "testcloud_instance", []string{"create"}
		switch {
		case n%50 == 0:
			typ, actions = "testcloud_bucket", []string{"delete"}
		case n%7 == 0:
			actions = []string{"no-op"}
		case n%3 == 0:
			actions = []string{"update"}
		}
		name := fmt.Sprintf("r%06d", n)
		tags := map[string]any{"owner": "team-" + name[len(name)-2:], "env": "prod", "cost_center": "cc-1234", "service": "web"}
		if n%100 == 1 {
			delete(tags, "env")
		}
		attrs := map[string]any{"id": "i-" + name, "name": name, "size": "small", "ip": "10.0.0.1", "tags": tags}
		c := change{Actions: actions, Before: attrs, After: attrs, AfterUnknown: map[string]any{"ip": false}}
		switch actions[0] {
		case "create":
			c.Before = nil
		case "delete":
			c.After = nil
		}
		r := rc{Address: typ + "." + name, Mode: "managed", Type: typ, Name: name, ProviderName: "registry.terraform.io/landform/testcloud", Change: c}
		rcs = append(rcs, r)
		b, err := json.Marshal(r)
		if err != nil {
			panic(err)
		}
		est += len(b) + 1
	}
	data, err := json.Marshal(map[string]any{
		"format_version":    "1.2",
		"terraform_version": "1.11.4",
		"resource_changes":  rcs,
	})
	if err != nil {
		panic(err)
	}
	return data
}
