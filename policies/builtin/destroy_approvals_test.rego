package landform.destroy_approvals_test

import data.landform.destroy_approvals

rc(address, actions) := {"address": address, "type": "terraform_data", "change": {"actions": actions}}

params := {"destroy_approvals": {"count": 2, "from": ["platform"]}}

test_requires_approvals_on_destroy if {
	plan := {"resource_changes": [rc("terraform_data.a", ["update"]), rc("terraform_data.b", ["delete"])]}
	destroy_approvals.require_approvals == {{"count": 2, "from": ["platform"]}} with input.plan as plan
		with data.params as params
}

test_requires_approvals_on_replace if {
	plan := {"resource_changes": [rc("terraform_data.a", ["create", "delete"])]}
	count(destroy_approvals.require_approvals) == 1 with input.plan as plan with data.params as params
}

test_from_defaults_to_anyone if {
	plan := {"resource_changes": [rc("terraform_data.b", ["delete"])]}
	destroy_approvals.require_approvals == {{"count": 1, "from": []}} with input.plan as plan
		with data.params as {"destroy_approvals": {"count": 1}}
}

test_nothing_without_destroys if {
	plan := {"resource_changes": [rc("terraform_data.a", ["update"]), rc("terraform_data.c", ["create"])]}
	count(destroy_approvals.require_approvals) == 0 with input.plan as plan with data.params as params
}

test_nothing_without_params if {
	plan := {"resource_changes": [rc("terraform_data.b", ["delete"])]}
	count(destroy_approvals.require_approvals) == 0 with input.plan as plan with data.params as {}
}

test_invalid_params_deny if {
	count(destroy_approvals.deny) == 1 with input.plan as {"resource_changes": []}
		with data.params as {"destroy_approvals": {"count": 0}}
	count(destroy_approvals.deny) == 1 with input.plan as {"resource_changes": []}
		with data.params as {"destroy_approvals": {"count": 1.5}}
}

test_params_not_an_object_deny if {
	count(destroy_approvals.deny) == 1 with input.plan as {"resource_changes": [rc("a.b", ["delete"]), rc("c.d", ["create"])]}
		with data.params as {"destroy_approvals": ["x"]}
}
