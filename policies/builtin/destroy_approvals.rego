# Built-in policy destroy_approvals: a plan that destroys or replaces
# anything needs more approvals.
#
# Parameters, data.params.destroy_approvals (absent: the policy does nothing):
#   count: the approvals needed, e.g. 2
#   from:  users or groups they must come from (optional; empty: anyone
#          allowed to approve)
package landform.destroy_approvals

params := data.params.destroy_approvals

destroys if {
	some rc in input.plan.resource_changes
	"delete" in rc.change.actions
}

require_approvals contains {"count": params.count, "from": object.get(params, "from", [])} if {
	valid_params
	destroys
}

deny contains msg if {
	params
	not valid_params
	msg := "destroy_approvals: parameter count must be a whole number of at least 1, from a list of users or groups"
}

valid_params if {
	is_object(params)
	is_number(params.count)
	params.count >= 1
	round(params.count) == params.count
	is_array(object.get(params, "from", []))
	every f in object.get(params, "from", []) { is_string(f) }
}
