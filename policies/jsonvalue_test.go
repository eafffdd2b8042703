package policies

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// jsonCases are documents jsonValue must read as OPA's own JSON reading
// does, or refuse as encoding/json does.
var jsonCases = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e10`, `-12.25E-3`, `123456789012345678901234567890`,
	`1e70000`, `[-1E-70000]`, `{"n":1e400}`, // too big for evaluation: refused, as OPA does (found by the fuzzer)
	`""`, `"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\ud83d\ude00"`, `"héllo ✓"`, "\"bad \xff utf8\"",
	` { "a" : [ 1 , { "b" : null } , "x" ] , "c" : { } } `,
	`{"a":1,"a":2}`, `{"k":1,"k":{"x":true},"j":[]}`,
	`{"resource_changes":[{"address":"a.b","change":{"actions":["delete","create"],"after":{"tags":{"owner":"me"}}}}]}`,
	// invalid
	``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `[1 2]`, `tru`, `nul`, `falsey`, `01`, `1.`, `.5`, `-`, `1e`, `+1`,
	`"unterminated`, "\"ctl \x01\"", `"bad \x escape"`, `"\u12"`, `{} {}`, `[]]`, `{"a":1}x`, `NaN`,
}

func TestJSONValueMatchesOPA(t *testing.T) {
	for _, doc := range jsonCases {
		checkJSONValue(t, []byte(doc))
	}
	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	if _, err := jsonValue([]byte(deep)); err == nil {
		t.Error("no error for JSON nested too deeply")
	}
	ok := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	checkJSONValue(t, []byte(ok))
	checkJSONValue(t, generatedPlan(t))
}

func FuzzJSONValue(f *testing.F) {
	for _, doc := range jsonCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkJSONValue(t, doc)
	})
}

// checkJSONValue compares jsonValue with encoding/json (is doc valid?) and
// ast.ValueFromReader (the value).
func checkJSONValue(t *testing.T, doc []byte) {
	t.Helper()
	got, err := jsonValue(doc)
	if !json.Valid(doc) {
		if err == nil {
			t.Errorf("%q: no error for invalid JSON", doc)
		}
		return
	}
	// ValueFromReader reads one value and ignores what follows; doc is
	// valid, so nothing does. Both refuse the same valid documents (numbers
	// too big for evaluation).
	want, wantErr := ast.ValueFromReader(bytes.NewReader(doc))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: jsonValue: %v, OPA: %v", doc, err, wantErr)
	}
	if err != nil {
		return
	}
	if got.Compare(want) != 0 {
		t.Errorf("%.200q:\n got %.300v\nwant %.300v", doc, got, want)
	}
	if got.Hash() != want.Hash() {
		t.Errorf("%.200q: hash differs", doc)
	}
}

// generatedPlan is a plan like the benchmark's: 0.3 MB of resource changes,
// built with testcloud's shapes.
func generatedPlan(t testing.TB) []byte {
	var rcs []map[string]any
	for i := range 600 {
		name := "r" + strings.Repeat("x", i%5)
		rcs = append(rcs, map[string]any{
			"address": "testcloud_instance." + name, "type": "testcloud_instance", "name": name,
			"change": map[string]any{
				"actions": []string{"create"},
				"before":  nil,
				"after":   map[string]any{"name": name, "size": 1.5, "tags": map[string]string{"owner": "o", "env": "e\n"}},
			},
		})
	}
	b, err := json.Marshal(map[string]any{"format_version": "1.2", "resource_changes": rcs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkParsePlan compares jsonValue with OPA's ast.ValueFromReader on
// a plan: the file in $PLAN_JSON, or a generated one.
func BenchmarkParsePlan(b *testing.B) {
	plan := generatedPlan(b)
	if p := os.Getenv("PLAN_JSON"); p != "" {
		var err error
		if plan, err = os.ReadFile(filepath.Clean(p)); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("jsonValue", func(b *testing.B) {
		b.SetBytes(int64(len(plan)))
		for b.Loop() {
			if _, err := jsonValue(plan); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ast.ValueFromReader", func(b *testing.B) {
		b.SetBytes(int64(len(plan)))
		for b.Loop() {
			if _, err := ast.ValueFromReader(bytes.NewReader(plan)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
