package modules_test

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/landform/landform/modules"
)

// FuzzReferences feeds arbitrary configuration to the static evaluation of
// file references (repository content is untrusted): it must not panic,
// must finish quickly, must give the same answer twice, and everything it
// reports must stay inside the repository and point at a real line.
func FuzzReferences(f *testing.F) {
	_, forms := readForms()
	for _, form := range forms {
		f.Add([]byte(form.module))
	}
	for _, name := range []string{"envs/prod/main.tf", "modules/net/main.tf", "envs/json/main.tf.json"} {
		f.Add(monorepo()[name].Data)
	}
	f.Add([]byte(`locals { a = local.b, b = [local.a, local.a] }` + "\noutput \"x\" { value = file(local.a[0]) }\n"))
	f.Add([]byte(`output "x" { value = file(format("%[2]s/%s%%/%v", path.module, "a", [for k, v in var.m : "${k}/${v}"])) }`))
	f.Add([]byte(`output "x" { value = fileset(join("/", [path.module, var.d]...), lookup({}, "k", "*")) }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		name := "ws/main.tf"
		if len(src) > 0 && src[0] == '{' {
			name = "ws/main.tf.json"
		}
		tree := fstest.MapFS{
			name:             {Data: src},
			"ws/mod/main.tf": {Data: []byte(`output "m" { value = file("${path.module}/m.txt") }`)},
		}
		start := time.Now()
		ix := load(t, tree, modules.Options{Autodiscover: true})
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("loading took %v", d)
		}
		again := load(t, tree, modules.Options{Autodiscover: true})
		lines := strings.Count(string(src), "\n") + 1
		for _, w := range ix.Workspaces() {
			paths := ix.Paths(w.Dir)
			for _, p := range paths {
				if !fs.ValidPath(p) {
					t.Fatalf("Paths(%s) holds %q", w.Dir, p)
				}
			}
			unres := ix.Unresolved(w.Dir)
			for _, u := range unres {
				if u.File == name && (u.Line < 1 || u.Line > lines) {
					t.Fatalf("unresolved reference at line %d of a %d-line file: %+v", u.Line, lines, u)
				}
				for _, c := range u.CountedAs {
					if strings.HasPrefix(c, "../") || strings.HasPrefix(c, "/") {
						t.Fatalf("counted as a path outside the repository: %+v", u)
					}
				}
			}
			if diff := cmp.Diff(paths, again.Paths(w.Dir)); diff != "" {
				t.Fatalf("Paths differ between two loads:\n%s", diff)
			}
			if diff := cmp.Diff(unres, again.Unresolved(w.Dir)); diff != "" {
				t.Fatalf("Unresolved differs between two loads:\n%s", diff)
			}
		}
		// A changed path never panics AffectedBy, and a path read by a
		// module is still read.
		got := modules.AffectedBy(ix, ix, []string{"ws/mod/m.txt", "ws/x/../y", "ws/main.tf"})
		if ix.HasConfig("ws") && !slices.ContainsFunc(got, func(a modules.Affected) bool { return a.Workspace.Dir == "ws" }) {
			t.Fatalf("an edit of ws/main.tf does not affect ws: %+v", got)
		}
	})
}
