terraform {
  required_version = ">= 1.5"
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}

provider "testcloud" {}

variable "instance_count" { type = number }
variable "size" { type = string }

module "app" {
  source         = "../../modules/app"
  env            = "staging"
  instance_count = var.instance_count
  size           = var.size
}

output "instance_ips" { value = module.app.instance_ips }
