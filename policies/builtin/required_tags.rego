# Built-in policy required_tags: resources created or updated with tags must
# carry every required tag key.
#
# Parameters, data.params.required_tags (absent: the policy does nothing):
#   keys: the tag keys every tagged resource needs, e.g. ["owner", "env"]
#
# Only resources whose planned attributes have a "tags" attribute are
# checked: a tags attribute that is null (the resource type has tags, none
# are set) is missing every key; a resource type without a tags attribute,
# or whose tags are unknown until apply, is ignored.
package landform.required_tags

params := data.params.required_tags

deny contains msg if {
	valid_params
	keys := params.keys # a local: cheaper than the rule's value in the loop
	some rc in input.plan.resource_changes
	tags := rc.change.after.tags
	some k in keys
	not tags[k] # tag values are strings: only an absent key is undefined
	writes(rc.change.actions)
	missing := sort([k | some k in keys; not tags[k]])
	msg := sprintf("%s: missing required tags: %s", [rc.address, concat(", ", missing)])
}

writes(actions) if {
	some action in actions
	action in {"create", "update"}
}

deny contains msg if {
	params
	not valid_params
	msg := "required_tags: parameter keys must be a list of tag keys"
}

valid_params if {
	is_object(params)
	is_array(params.keys)
	every k in params.keys { is_string(k) }
}
