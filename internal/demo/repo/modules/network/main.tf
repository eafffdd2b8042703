terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}

variable "env" { type = string }

resource "testcloud_bucket" "flow_logs" {
  name       = "${var.env}-flow-logs"
  versioning = true
  tags       = { env = var.env }
}

output "name" { value = "${var.env}-net" }
