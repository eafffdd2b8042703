# The state lives outside the repository, beside the test cloud: landform
# demo writes its directory here.
terraform {
  backend "local" { path = "@STATE_DIR@/envs-prod.tfstate" }
}
