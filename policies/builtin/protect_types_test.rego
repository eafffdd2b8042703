package landform.protect_types_test

import data.landform.protect_types

rc(address, type, actions) := {"address": address, "type": type, "change": {"actions": actions}}

plan := {"resource_changes": [
	rc("testcloud_bucket.logs", "testcloud_bucket", ["delete"]),
	rc("testcloud_bucket.data", "testcloud_bucket", ["delete", "create"]),
	rc("testcloud_bucket.new", "testcloud_bucket", ["create"]),
	rc("testcloud_instance.web", "testcloud_instance", ["delete"]),
]}

params := {"protect_types": {"types": ["testcloud_bucket"]}}

test_denies_destroy_and_replace_of_protected_types if {
	protect_types.deny == {
		"testcloud_bucket.logs: destroy of a protected resource type (testcloud_bucket)",
		"testcloud_bucket.data: replace of a protected resource type (testcloud_bucket)",
	} with input.plan as plan
		with data.params as params
	count(protect_types.warn) == 0 with input.plan as plan with data.params as params
}

test_allows_other_types_and_creates if {
	count(protect_types.deny) == 0 with input.plan as {"resource_changes": [plan.resource_changes[2], plan.resource_changes[3]]}
		with data.params as params
}

test_warn_instead_of_deny if {
	p := {"protect_types": {"types": ["testcloud_bucket"], "warn": true}}
	count(protect_types.deny) == 0 with input.plan as plan with data.params as p
	count(protect_types.warn) == 2 with input.plan as plan with data.params as p
}

test_nothing_without_params if {
	count(protect_types.deny) == 0 with input.plan as plan with data.params as {}
}

test_invalid_params_deny if {
	protect_types.deny == {"protect_types: parameter types must be a list of resource types, warn a boolean"} with input.plan as {"resource_changes": []}
		with data.params as {"protect_types": {"types": "testcloud_bucket"}}
}

test_params_not_an_object_deny if {
	count(protect_types.deny) == 1 with input.plan as plan with data.params as {"protect_types": "testcloud_bucket"}
}
