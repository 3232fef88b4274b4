"""vaultconf: Vault configuration as code for Kubernetes workloads, as Pulumi components."""
