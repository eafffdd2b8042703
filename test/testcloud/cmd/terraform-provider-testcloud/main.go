// Command terraform-provider-testcloud serves the testcloud provider
// (registry.terraform.io/landform/testcloud) over plugin protocol 6. Terraform
// starts it; run by hand it only says so.
package main

import (
	"context"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/landform/landform/test/testcloud"
)

// version is the provider version; builds may set it with
// -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	err := providerserver.Serve(context.Background(), testcloud.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/landform/testcloud",
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err)
	}
}
