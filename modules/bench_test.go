package modules_test

import (
	"context"
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/landform/landform/modules"
)

// synthRepo generates a monorepo of nWS workspaces (envs/teamT/wsK) and
// nMod local modules on four levels (modules/lL/mJ, each calling two of the
// next level), so that module chains are four deep. Every workspace calls
// two modules and reads a shared file; level-3 modules read one too.
func synthRepo(nWS, nMod int) fstest.MapFS {
	files := fstest.MapFS{}
	put := func(name, data string) { files[name] = &fstest.MapFile{Data: []byte(data)} }
	perLevel := nMod / 4
	for l := range 4 {
		for j := range perLevel {
			dir := fmt.Sprintf("modules/l%d/m%d", l, j)
			main := fmt.Sprintf("resource \"terraform_data\" \"r%d\" {\n  input = var.name\n}\n", j)
			if l < 3 {
				for _, k := range []int{j % perLevel, (j*7 + 3) % perLevel} {
					main += fmt.Sprintf("module \"c%d\" {\n  source = \"../../l%d/m%d\"\n  name   = var.name\n}\n", k, l+1, k)
				}
			} else {
				main += fmt.Sprintf("locals {\n  cfg = jsondecode(file(\"${path.module}/../../../shared/l3-%d.json\"))\n}\n", j%10)
			}
			put(dir+"/main.tf", main)
			put(dir+"/variables.tf", "variable \"name\" {\n  type = string\n}\n")
			put(dir+"/outputs.tf", "output \"id\" {\n  value = terraform_data.r"+fmt.Sprint(j)+".id\n}\n")
		}
	}
	for i := range nWS {
		dir := fmt.Sprintf("envs/team%d/ws%d", i/50, i)
		put(dir+"/main.tf", fmt.Sprintf(`terraform {
  required_version = ">= 1.5.0"
}

module "a" {
  source = "../../../modules/l%d/m%d"
  name   = "ws%d"
}

module "b" {
  source = "../../../modules/l0/m%d"
  name   = "ws%d-b"
}

resource "terraform_data" "policy" {
  input = file("${path.module}/../../../shared/policy-%d.json")
}
`, i%4, i%perLevel, i, (i*3)%perLevel, i, i%20))
		put(dir+"/backend.tf", "terraform {\n  backend \"local\" {}\n}\n")
		put(dir+"/terraform.tfvars", fmt.Sprintf("env = \"ws%d\"\n", i))
		put(dir+"/README.md", "# workspace\n")
	}
	for i := range 20 {
		put(fmt.Sprintf("shared/policy-%d.json", i), "{}\n")
	}
	for i := range 10 {
		put(fmt.Sprintf("shared/l3-%d.json", i), "{}\n")
	}
	return files
}

// BenchmarkLoadAndAffected measures what a new commit costs: loading its
// index (after its parent's, with the parent's cache) and computing the
// affected set of a one-module change. Each iteration changes the module
// again, so the changed directory is really parsed every time.
func BenchmarkLoadAndAffected(b *testing.B) {
	ctx := context.Background()
	for _, size := range []struct{ ws, mod int }{{300, 60}, {2000, 300}} {
		base := synthRepo(size.ws, size.mod)
		const changed = "modules/l2/m5/main.tf"
		for _, mode := range []string{"cold", "cache", "cache+dirhash"} {
			b.Run(fmt.Sprintf("ws=%d/mod=%d/%s", size.ws, size.mod, mode), func(b *testing.B) {
				var cache *modules.Cache
				if mode != "cold" {
					cache = modules.NewCache(0)
				}
				opts := modules.Options{Autodiscover: true, Cache: cache}
				mkFS := func(files fstest.MapFS) fs.FS {
					if mode == "cache+dirhash" {
						return newHashedFS(files)
					}
					return newMemFS(files)
				}
				baseIx, err := modules.Load(ctx, mkFS(base), opts)
				if err != nil {
					b.Fatal(err)
				}
				var affected int
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					head := withChanges(base, map[string]*string{
						changed: ptr(string(base[changed].Data) + fmt.Sprintf("# change %d\n", i)),
					})
					headFS := mkFS(head)
					b.StartTimer()

					headIx, err := modules.Load(ctx, headFS, opts)
					if err != nil {
						b.Fatal(err)
					}
					affected = len(modules.AffectedBy(baseIx, headIx, []string{changed}))
				}
				b.ReportMetric(float64(affected), "affected")
			})
		}
	}
}

// BenchmarkAffectedBy measures AffectedBy alone, on indexes already built.
func BenchmarkAffectedBy(b *testing.B) {
	ctx := context.Background()
	files := synthRepo(2000, 300)
	ix, err := modules.Load(ctx, newMemFS(files), modules.Options{Autodiscover: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		changed []string
	}{
		{"one-module", []string{"modules/l2/m5/main.tf"}},
		{"shared-file", []string{"shared/policy-3.json"}},
		{"5000-paths", func() []string {
			var out []string
			for i := range 5000 {
				out = append(out, fmt.Sprintf("envs/team%d/ws%d/main.tf", (i%2000)/50, i%2000))
			}
			return out
		}()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				modules.AffectedBy(ix, ix, tc.changed)
			}
		})
	}
}

func TestSynthRepo(t *testing.T) {
	ix := load(t, synthRepo(200, 40), modules.Options{Autodiscover: true})
	if n := len(ix.Workspaces()); n != 200 {
		t.Errorf("%d workspaces, want 200", n)
	}
	if got := ix.Modules("envs/team0/ws1"); len(got) < 4 {
		t.Errorf("Modules(ws1) = %v, want a chain of four levels", got)
	}
	if n := len(modules.AffectedBy(ix, ix, []string{"modules/l3/m0/main.tf"})); n == 0 {
		t.Error("a level-3 module affects nothing")
	}
}
