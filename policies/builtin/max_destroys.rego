# Built-in policy max_destroys: a limit on how many resources one plan may
# destroy or replace.
#
# Parameters, data.params.max_destroys (absent: the policy does nothing):
#   max: the number of destroys and replaces allowed (0 allows none)
package landform.max_destroys

params := data.params.max_destroys

# destroyed is the sorted addresses the plan destroys or replaces.
destroyed := sort([rc.address |
	some rc in input.plan.resource_changes
	"delete" in rc.change.actions
])

# shown lists at most ten of them in the message.
shown := concat(", ", array.slice(destroyed, 0, 10))

more := sprintf(" and %d more", [count(destroyed) - 10]) if {
	count(destroyed) > 10
} else := ""

deny contains msg if {
	valid_params
	count(destroyed) > params.max
	msg := sprintf("%d resources would be destroyed or replaced, more than the %v allowed: %s%s", [count(destroyed), params.max, shown, more])
}

deny contains msg if {
	params
	not valid_params
	msg := "max_destroys: parameter max must be a number of at least 0"
}

valid_params if {
	is_object(params)
	is_number(params.max)
	params.max >= 0
}
