# Built-in policy forbid_addresses: resources no plan may change.
#
# Parameters, data.params.forbid_addresses (absent: the policy does nothing):
#   addresses: resource addresses, e.g. ["aws_iam_role.admin", "module.core.*"]
#
# An address matches exactly, or as a pattern where "*" stands for any run
# of characters (dots and brackets included); no other character is special,
# so "aws_instance.web[0]" matches only itself. Any create, update, delete or
# replace of a matching resource is denied; no-ops and reads are not.
package landform.forbid_addresses

params := data.params.forbid_addresses

deny contains msg if {
	valid_params
	ex := exact # locals: cheaper than the rules' values in the loop
	ch := changing
	some rc in input.plan.resource_changes
	rc.address in ex
	some action in rc.change.actions
	action in ch
	msg := sprintf("%s: %s of a forbidden address (%s)", [rc.address, concat("+", rc.change.actions), rc.address])
}

deny contains msg if {
	valid_params
	gs := globs
	count(gs) > 0
	ch := changing
	some rc in input.plan.resource_changes
	some [pattern, g] in gs
	glob.match(g, null, rc.address)
	some action in rc.change.actions
	action in ch
	msg := sprintf("%s: %s of a forbidden address (%s)", [rc.address, concat("+", rc.change.actions), pattern])
}

# exact holds the addresses without "*", globs the others as [pattern,
# glob pattern] pairs; computed once per evaluation.
exact := {a | some a in params.addresses; not contains(a, "*")}

globs := [[a, escape_glob(a)] | some a in params.addresses; contains(a, "*")]

changing := {"create", "update", "delete"}

# escape_glob leaves "*" as the only special character of a glob pattern.
escape_glob(pattern) := strings.replace_n(
	{"\\": "\\\\", "[": "\\[", "]": "\\]", "{": "\\{", "}": "\\}", "?": "\\?"},
	pattern,
)

deny contains msg if {
	params
	not valid_params
	msg := "forbid_addresses: parameter addresses must be a list of addresses"
}

valid_params if {
	is_object(params)
	is_array(params.addresses)
	every a in params.addresses { is_string(a) }
}
