package policies

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed builtin/*.rego
var builtinFS embed.FS

// BuiltinSet is the name of the policy set of built-in policies.
const BuiltinSet = "builtin"

// Builtin returns the built-in policy modules (file name → Rego source), their
// tests excluded: protect_types, max_destroys, required_tags,
// forbid_addresses and destroy_approvals, each in package
// landform.<name> and reading its parameters from data.params.<name>. A
// built-in whose parameters are absent decides nothing. Pass them, with the
// parameters of the ones wanted, to NewSet.
func Builtin() map[string]string {
	mods, err := readDir(builtinFS, "builtin", false)
	if err != nil {
		// The files are compiled in; a failure is a build defect.
		panic("policies: reading the embedded built-ins: " + err.Error())
	}
	return mods
}

// BuiltinFS returns the built-in policies and their tests as a file system
// (the files sit under "builtin"), for Test.
func BuiltinFS() fs.FS { return builtinFS }

func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }
