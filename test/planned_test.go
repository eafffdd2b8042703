package test

import (
	"testing"
	"time"
)

// A plan whose only change is an output, or that only imports a resource,
// changes something when applied: it is `planned`, not `no_changes`, and a
// pull request's lock is kept for it.
func TestOutputOnlyAndImportOnlyPlansArePlannedAndKeepTheirLocks(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"envs/out/main.tf": `output "o" { value = "one" }` + "\n",
		"envs/imp/main.tf": `variable "v" { default = 1 }` + "\n",
	}
	w := watchInfra(t, files, "pull_requests: true", "lock_policy: strict", "ledger: false")
	work, d := w.work, w.d
	base := work.Head()

	work.Branch("output-only")
	work.change("refs/pull/1/head", map[string]string{"envs/out/main.tf": `output "o" { value = "two" }` + "\n"})
	work.Checkout(base).Branch("import-only")
	work.change("refs/pull/2/head", map[string]string{"envs/imp/main.tf": `variable "v" { default = 1 }
resource "terraform_data" "x" {}
import {
  to = terraform_data.x
  id = "existing"
}
`})

	runs := d.waitRuns(90*time.Second, "both pull requests planned", func(rs []daemonRun) bool {
		done := 0
		for _, r := range rs {
			if r.State != "queued" && r.State != "running" {
				done++
			}
		}
		return done == 2
	})
	for _, r := range runs {
		if r.State != "planned" || r.Summary.Add != 0 {
			t.Errorf("%s of %s: %s with %d to add, want planned with no resource to add", r.Ref, r.Workspace, r.State, r.Summary.Add)
		}
	}

	var locks struct {
		Locks []struct{ Workspace, Holder string } `json:"locks"`
	}
	landformJSON(t, 0, &locks, "--data-dir", w.dataDir, "locks", "--json")
	held := map[string]string{}
	for _, l := range locks.Locks {
		held[l.Workspace] = l.Holder
	}
	if held["envs/out"] != "pr/1" || held["envs/imp"] != "pr/2" || len(held) != 2 {
		t.Errorf("locks = %+v, want envs/out held by pr/1 and envs/imp by pr/2", locks.Locks)
	}
}
