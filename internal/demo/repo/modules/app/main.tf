terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}

variable "env" { type = string }
variable "instance_count" { type = number }
variable "size" { type = string }

module "network" {
  source = "../network"
  env    = var.env
}

resource "testcloud_instance" "app" {
  count = var.instance_count
  name  = "${var.env}-app-${count.index}"
  size  = var.size
  tags  = { env = var.env, network = module.network.name }
}

resource "testcloud_secret" "db" {
  name  = "${var.env}-db-password"
  value = sha256("${var.env}-${file("${path.module}/../../shared/db-seed.txt")}")
}

output "instance_ips" { value = testcloud_instance.app[*].ip }
