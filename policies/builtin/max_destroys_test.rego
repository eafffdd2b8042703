package landform.max_destroys_test

import data.landform.max_destroys

rc(address, actions) := {"address": address, "type": "terraform_data", "change": {"actions": actions}}

plan := {"resource_changes": [
	rc("terraform_data.a", ["delete"]),
	rc("terraform_data.b", ["create", "delete"]),
	rc("terraform_data.c", ["update"]),
	rc("terraform_data.d", ["create"]),
]}

test_denies_over_the_limit if {
	max_destroys.deny == {"2 resources would be destroyed or replaced, more than the 1 allowed: terraform_data.a, terraform_data.b"} with input.plan as plan
		with data.params as {"max_destroys": {"max": 1}}
}

test_allows_at_the_limit if {
	count(max_destroys.deny) == 0 with input.plan as plan with data.params as {"max_destroys": {"max": 2}}
}

test_zero_allows_none if {
	count(max_destroys.deny) == 1 with input.plan as plan with data.params as {"max_destroys": {"max": 0}}
	count(max_destroys.deny) == 0 with input.plan as {"resource_changes": [plan.resource_changes[2]]}
		with data.params as {"max_destroys": {"max": 0}}
}

test_lists_ten_addresses if {
	many := {"resource_changes": [rc(sprintf("terraform_data.r%02d", [i]), ["delete"]) | some i in numbers.range(1, 12)]}
	some msg in max_destroys.deny with input.plan as many with data.params as {"max_destroys": {"max": 3}}
	endswith(msg, "terraform_data.r10 and 2 more")
	startswith(msg, "12 resources would be destroyed")
}

test_nothing_without_params if {
	count(max_destroys.deny) == 0 with input.plan as plan with data.params as {}
}

test_invalid_params_deny if {
	count(max_destroys.deny) == 1 with input.plan as plan with data.params as {"max_destroys": {"max": "1"}}
}

test_params_not_an_object_deny if {
	count(max_destroys.deny) == 1 with input.plan as {"resource_changes": [rc("a.b", ["delete"]), rc("c.d", ["create"])]}
		with data.params as {"max_destroys": ["x"]}
}
