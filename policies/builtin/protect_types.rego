# Built-in policy protect_types: no destroy or replace of resources whose
# type is protected.
#
# Parameters, data.params.protect_types (absent: the policy does nothing):
#   types: resource types to protect, e.g. ["aws_db_instance", "testcloud_bucket"]
#   warn:  true to warn instead of deny (default false)
package landform.protect_types

params := data.params.protect_types

# hits holds [address, action, type] for each protected resource the plan
# destroys ("destroy") or replaces ("replace").
hits contains [rc.address, action, rc.type] if {
	valid_params
	types := {t | some t in params.types}
	some rc in input.plan.resource_changes
	rc.type in types
	"delete" in rc.change.actions
	action := action_name(rc.change.actions)
}

# A replace is delete+create in either order; delete alone is a destroy.
action_name(actions) := "replace" if {
	"create" in actions
} else := "destroy"

deny contains msg if {
	some [address, action, type] in hits
	not warn_only
	msg := sprintf("%s: %s of a protected resource type (%s)", [address, action, type])
}

warn contains msg if {
	some [address, action, type] in hits
	warn_only
	msg := sprintf("%s: %s of a protected resource type (%s)", [address, action, type])
}

warn_only if params.warn == true

deny contains msg if {
	params
	not valid_params
	msg := "protect_types: parameter types must be a list of resource types, warn a boolean"
}

valid_params if {
	is_object(params)
	is_array(params.types)
	every t in params.types { is_string(t) }
	is_boolean(object.get(params, "warn", false))
}
