package landform.forbid_addresses_test

import data.landform.forbid_addresses

rc(address, actions) := {"address": address, "type": "terraform_data", "change": {"actions": actions}}

plan := {"resource_changes": [
	rc("terraform_data.core", ["update"]),
	rc("module.net.terraform_data.vpc[\"a.b\"]", ["delete", "create"]),
	rc("terraform_data.web[0]", ["create"]),
	rc("terraform_data.web0", ["delete"]),
	rc("terraform_data.quiet", ["no-op"]),
	rc("data.terraform_remote_state.x", ["read"]),
]}

test_exact_match if {
	forbid_addresses.deny == {
		"terraform_data.core: update of a forbidden address (terraform_data.core)",
		"terraform_data.web[0]: create of a forbidden address (terraform_data.web[0])",
	} with input.plan as plan
		with data.params as {"forbid_addresses": {"addresses": ["terraform_data.core", "terraform_data.web[0]"]}}
}

test_star_matches_any_characters if {
	forbid_addresses.deny == {"module.net.terraform_data.vpc[\"a.b\"]: delete+create of a forbidden address (module.net.*)"} with input.plan as plan
		with data.params as {"forbid_addresses": {"addresses": ["module.net.*"]}}
}

test_brackets_are_not_special if {
	count(forbid_addresses.deny) == 0 with input.plan as plan
		with data.params as {"forbid_addresses": {"addresses": ["terraform_data.web[0-9]*"]}}
}

test_no_ops_and_reads_allowed if {
	count(forbid_addresses.deny) == 0 with input.plan as plan
		with data.params as {"forbid_addresses": {"addresses": ["terraform_data.quiet", "data.*"]}}
}

test_nothing_without_params if {
	count(forbid_addresses.deny) == 0 with input.plan as plan with data.params as {}
}

test_invalid_params_deny if {
	count(forbid_addresses.deny) == 1 with input.plan as plan
		with data.params as {"forbid_addresses": {"addresses": [1]}}
}

test_params_not_an_object_deny if {
	count(forbid_addresses.deny) == 1 with input.plan as {"resource_changes": [rc("a.b", ["delete"]), rc("c.d", ["create"])]}
		with data.params as {"forbid_addresses": ["x"]}
}
