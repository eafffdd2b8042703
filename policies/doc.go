// Package policies evaluates Landform's policies: Rego v1 modules in
// package landform or any package under it, run over a Terraform plan's JSON
// (terraform show -json) and the run's context.
//
// Every package's deny, warn and require_approvals rules are collected:
//
//   - deny and warn are sets (or arrays) of strings, or of objects with a
//     "msg" string; deny := true is read as one message; any other value
//     is shown as its JSON text, so that a malformed deny still denies;
//   - require_approvals is a set (or array, or one object) of
//     {"count": N, "from": ["user-or-group", ...]}; "from" may also be one
//     string, and may be absent (anyone allowed to approve).
//
// The input document is
//
//	{"plan": <terraform show -json>,
//	 "workspace": {"name": "…", "dir": "…", "repo": "…"},
//	 "commit": "…", "author": "…", "pull_request": 12}
//
// and data.params.<name> holds the parameters a policy set was given.
//
// A Set is compiled and its query prepared once (NewSet); Eval then costs
// one parse of the plan JSON and one evaluation. Everything fails closed:
// a module that does not parse or compile is an EINVALID error naming
// file:line:col, an evaluation error or an expired deadline is an error,
// never an empty decision.
//
// Policies come from repositories and are not trusted: modules are read with
// size limits (LoadDir), and the built-in functions that reach outside the
// evaluation (http.send, net.lookup_ip_addr, opa.runtime) are not available
// to them.
//
// The built-in policies (Builtin) are documented in builtin/*.rego; Test
// runs a directory's Rego unit tests the way `opa test` does.
package policies
