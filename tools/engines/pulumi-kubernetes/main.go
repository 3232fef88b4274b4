// Command pulumi-resource-kubernetes serves the real pulumi-kubernetes provider.
//
// The upstream main embeds schema files that its release build generates (they are not in the module zip);
// build.sh generates them here from the module's own schema.json (see gen/), then this file embeds them.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
