package policies

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/landform/landform"
)

// TestTimeout is how long one Rego test may run.
const TestTimeout = 5 * time.Second

// TestResult is the outcome of one Rego unit test.
type TestResult struct {
	// Package is the test's package ("landform.tags_test"), Name its rule
	// ("test_denies_untagged").
	Package string `json:"package"`
	Name    string `json:"name"`
	// File and Line locate the test, File relative to the directory tested.
	File string `json:"file"`
	Line int    `json:"line"`
	// Pass is true when the test passed. A test that did not pass was
	// skipped (todo_test_*: Skip), failed (its body was false or undefined:
	// Fail) or errored (neither, and Error says why).
	Pass  bool   `json:"pass"`
	Skip  bool   `json:"skip,omitempty"`
	Fail  bool   `json:"fail,omitempty"`
	Error string `json:"error,omitempty"`
	// Output is what the test printed (print()).
	Output   string        `json:"output,omitempty"`
	Duration time.Duration `json:"duration"`
}

// Test runs the Rego unit tests of the directory tree dir in fsys, as `opa
// test` does: every rule named test_* (todo_test_* is skipped) of every
// .rego file, the *_test.rego files and the policies they test parsed
// together as Rego v1, built-in function errors raised, each test limited to
// TestTimeout. The results are sorted by file and line.
//
// A failing test is a result, not an error. Test returns an error when the
// directory cannot be read within LoadDir's limits, holds no .rego file, a
// policy module (not *_test.rego) is outside package landform, or the
// modules do not parse or compile (EINVALID naming file:line:col); and an
// error wrapping ctx.Err() when ctx ends first.
func Test(ctx context.Context, fsys fs.FS, dir string) ([]TestResult, error) {
	files, err := readDir(fsys, dir, true)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, landform.Errorf(landform.EINVALID, "policy directory %s: no .rego files", dir)
	}
	modules, err := parseTestModules(files)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "policy directory %s: %s", dir, err)
	}
	compiler := ast.NewCompiler().
		WithCapabilities(capabilities()).
		WithEnablePrintStatements(true).
		WithDefaultRegoVersion(ast.RegoV1)
	runner := tester.NewRunner().
		SetCompiler(compiler).
		SetDefaultRegoVersion(ast.RegoV1).
		SetModules(modules).
		RaiseBuiltinErrors(true).
		CapturePrintOutput(true).
		SetTimeout(TestTimeout)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		if e := asASTErrors(err); e != nil {
			return nil, landform.Errorf(landform.EINVALID, "policy directory %s: %s", dir, formatErrors(e))
		}
		return nil, fmt.Errorf("running the tests of %s: %w", dir, err)
	}
	var results []TestResult
	for r := range ch {
		results = append(results, testResult(r))
	}
	if err := ctx.Err(); err != nil {
		return results, fmt.Errorf("running the tests of %s: %w", dir, err)
	}
	slices.SortFunc(results, func(a, b TestResult) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name))
	})
	return results, nil
}

// parseTestModules parses every file as Rego v1; the policy modules (not
// *_test.rego) must be under package landform, as NewSet requires.
func parseTestModules(files map[string]string) (map[string]*ast.Module, error) {
	policies := map[string]string{}
	var errs ast.Errors
	modules := map[string]*ast.Module{}
	for name, src := range files {
		if !isTestFile(name) {
			policies[name] = src
			continue
		}
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			if e := asASTErrors(err); e != nil {
				errs = append(errs, e...)
				continue
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if m != nil {
			modules[name] = m
		}
	}
	if len(policies) > 0 {
		parsed, err := parseModules(policies)
		if err != nil {
			if len(errs) > 0 {
				return nil, fmt.Errorf("%s\n%w", formatErrors(errs), err)
			}
			return nil, err
		}
		for name, m := range parsed {
			modules[name] = m
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(formatErrors(errs))
	}
	return modules, nil
}

func testResult(r *tester.Result) TestResult {
	tr := TestResult{
		Package:  strings.TrimPrefix(r.Package, "data."),
		Name:     r.Name,
		Pass:     r.Pass(),
		Skip:     r.Skip,
		Fail:     r.Fail && r.Error == nil,
		Output:   string(r.Output),
		Duration: r.Duration,
	}
	if r.Location != nil {
		tr.File, tr.Line = r.Location.File, r.Location.Row
	}
	switch {
	case r.Error != nil:
		tr.Error = errorText(r.Error)
	case r.Fail:
		tr.Error = "test is false or undefined"
	}
	return tr
}

// WriteTestResults writes results as `opa test -v` does: each test under
// its file, "data.<package>.<name>: PASS (duration)" (FAIL, ERROR or
// SKIPPED), errors and printed output indented below, then the counts.
// Durations are rounded to the microsecond.
func WriteTestResults(w io.Writer, results []TestResult) error {
	var pass, fail, skip, errored int
	var b strings.Builder
	lastFile := ""
	for _, r := range results {
		if r.File != lastFile {
			if lastFile != "" {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "%s:\n", r.File)
			lastFile = r.File
		}
		outcome := "PASS"
		switch {
		case r.Skip:
			outcome = "SKIPPED"
			skip++
		case r.Pass:
			pass++
		case r.Fail:
			outcome = "FAIL"
			fail++
		default:
			outcome = "ERROR"
			errored++
		}
		fmt.Fprintf(&b, "data.%s.%s: %s", r.Package, r.Name, outcome)
		if !r.Skip {
			fmt.Fprintf(&b, " (%s)", r.Duration.Round(time.Microsecond))
		}
		b.WriteByte('\n')
		if r.Error != "" && !r.Fail {
			fmt.Fprintf(&b, "  %s\n", r.Error)
		}
		if out := strings.TrimSpace(r.Output); out != "" {
			for line := range strings.SplitSeq(out, "\n") {
				fmt.Fprintf(&b, "  %s\n", line)
			}
		}
	}
	b.WriteString(strings.Repeat("-", 80) + "\n")
	total := len(results)
	for _, c := range []struct {
		label string
		n     int
	}{{"PASS", pass}, {"FAIL", fail}, {"SKIPPED", skip}, {"ERROR", errored}} {
		if c.n > 0 {
			fmt.Fprintf(&b, "%s: %d/%d\n", c.label, c.n, total)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
