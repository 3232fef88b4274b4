// Command pulumi-tfgen-random generates the Pulumi schema and bridge metadata of the random provider.
package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"vaultconf.local/engines/pulumi-random/provider"
)

func main() { pftfgen.Main("random", provider.Info()) }
