terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}

provider "testcloud" {}

resource "testcloud_bucket" "zone_exports" {
  name = "dns-zone-exports"
  tags = { team = "platform" }
}
