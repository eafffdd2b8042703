package landform.required_tags_test

import data.landform.required_tags

rc(address, actions, after) := {"address": address, "type": "testcloud_instance", "change": {"actions": actions, "after": after}}

params := {"required_tags": {"keys": ["owner", "env"]}}

test_denies_missing_keys if {
	plan := {"resource_changes": [
		rc("testcloud_instance.a", ["create"], {"name": "a", "tags": {"owner": "me"}}),
		rc("testcloud_instance.b", ["update"], {"name": "b", "tags": null}),
		rc("testcloud_instance.c", ["delete", "create"], {"name": "c", "tags": {}}),
	]}
	required_tags.deny == {
		"testcloud_instance.a: missing required tags: env",
		"testcloud_instance.b: missing required tags: env, owner",
		"testcloud_instance.c: missing required tags: env, owner",
	} with input.plan as plan
		with data.params as params
}

test_allows_tagged_untaggable_and_deleted if {
	plan := {"resource_changes": [
		rc("testcloud_instance.a", ["create"], {"tags": {"owner": "me", "env": "prod", "extra": "x"}}),
		rc("terraform_data.b", ["create"], {"input": "x"}),
		rc("testcloud_instance.c", ["delete"], null),
		rc("testcloud_instance.d", ["no-op"], {"tags": {}}),
	]}
	count(required_tags.deny) == 0 with input.plan as plan with data.params as params
}

test_nothing_without_params if {
	plan := {"resource_changes": [rc("testcloud_instance.a", ["create"], {"tags": {}})]}
	count(required_tags.deny) == 0 with input.plan as plan with data.params as {}
}

test_invalid_params_deny if {
	count(required_tags.deny) == 1 with input.plan as {"resource_changes": []}
		with data.params as {"required_tags": {"keys": "owner"}}
}

test_params_not_an_object_deny if {
	count(required_tags.deny) == 1 with input.plan as {"resource_changes": [rc("a.b", ["create"], {"tags": {}})]}
		with data.params as {"required_tags": ["x"]}
}
