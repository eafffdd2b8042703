package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// checkLedgerRefConflicts reports each watched branch that lies on the
// ledger branch's path, or under it: git cannot hold both refs/heads/main
// and refs/heads/main/ledger, so every ledger push would fail. (Equal
// names are reported by decodeRepo.) A repo watching only its remote's
// default branch cannot be checked here: the config does not know its name.
func checkLedgerRefConflicts(d *decoder, p string, rs RepoSettings, ledgerBranch *yaml.Node, branches map[string]*branchAt) {
	lb := rs.LedgerBranch
	for _, name := range rs.Branches {
		if name == lb || !(strings.HasPrefix(lb, name+"/") || strings.HasPrefix(name, lb+"/")) {
			continue
		}
		if ledgerBranch != nil {
			d.errorf(ledgerBranch, joinPath(p, "ledger_branch"),
				"%q cannot be created next to the watched branch %q (git refs cannot be both a branch and a directory of branches); choose a ledger branch outside it", lb, name)
			continue
		}
		b := branches[name]
		d.errorf(b.node, b.path, "%q cannot exist next to the ledger branch %q (git refs cannot be both a branch and a directory of branches); set ledger_branch to another branch", name, lb)
	}
}
