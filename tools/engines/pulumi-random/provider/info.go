// Package provider maps the upstream Terraform random provider onto Pulumi tokens with the bridge, the way
// the Python SDK pulumi-random names them (random:index/randomPassword:RandomPassword, ...).
package provider

import (
	_ "embed"
	"os"
	"strings"

	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Version is the plugin version the Python SDK in requirements.txt asks for; set by build.sh.
var Version = "4.21.4"

// bridge-metadata.json is written by pulumi-tfgen-random (build.sh copies it here before building).
//
//go:embed bridge-metadata.json
var metadata []byte

// Info describes the bridged provider.
func Info() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pfbridge.ShimProvider(shim.NewProvider()),
		Name:         "random",
		Version:      Version,
		Description:  "Random values, bridged from the upstream Terraform random provider.",
		License:      "Apache-2.0",
		Publisher:    "vaultconf (built from source)",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		// Where tfgen reads the upstream docs (the module in the Go module cache; set by build.sh).
		UpstreamRepoPath: os.Getenv("RANDOM_UPSTREAM_DIR"),
	}
	// pulumi-random keeps the `random_` prefix in its names: random_password → random:index/randomPassword:RandomPassword.
	info.Resources = map[string]*tfbridge.ResourceInfo{}
	for _, name := range []string{"bytes", "id", "integer", "password", "pet", "shuffle", "string", "uuid"} {
		typ := "Random" + strings.ToUpper(name[:1]) + name[1:]
		info.Resources["random_"+name] = &tfbridge.ResourceInfo{
			Tok: tokens.Type("random:index/random" + typ[len("Random"):] + ":" + typ),
		}
	}
	info.SetAutonaming(255, "-")
	return info
}
