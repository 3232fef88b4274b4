"""A Vault configuration stack built from the vaultconf components (scaffolded by `pulumi new`).

One team's app: a policy that reads its KV secrets, a userpass user whose generated password is published
as a Kubernetes Secret in the app's namespace, a KV v2 store seeded from a Pulumi secret, and the app's
Deployment with the vault sidekick writing the secret to a shared volume. Components take providers only
through `opts`. Unit-test it with `vaultconf.testing.run_under_mocks` (see the library's README).
"""

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault
import vaultconf

config = pulumi.Config()
namespace = config.get("namespace") or "team-a"
pod_vault_addr = config.get("podVaultAddress") or config.require("vaultAddress")

vault_provider = vault.Provider("vault", address=config.require("vaultAddress"))
k8s_provider = k8s.Provider("kubernetes", context=config.get("kubeContext"))
opts = pulumi.ResourceOptions(providers=[vault_provider, k8s_provider])

ns = k8s.core.v1.Namespace(
    "ns", metadata={"name": namespace}, opts=pulumi.ResourceOptions(provider=k8s_provider)
)

kv = vaultconf.KvStore("kv", {
    "max_versions": 10,
    "secrets": {"app/db": config.require_secret("dbPassword").apply(lambda p: {"password": p})},
}, opts=opts)

reader = vaultconf.Policy("app-read", {"rules": {"kv/data/app/*": ["read"]}}, opts=opts)

user = vaultconf.User("app", {
    "policies": [reader],
    "create_mount": True,
    "namespaces": [namespace],
    "vault_addr": pod_vault_addr,
}, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ns])))

app = vaultconf.Workload("app", {
    "namespace": namespace,
    "image": "nginxinc/nginx-unprivileged:1.27",
    "auth": user,
    "sidekick_image": config.require("sidekickImage"),
    "vault_addr": pod_vault_addr,
    "secrets": [{"name": "db", "type": "kv", "path": kv.data_path("app/db"), "format": "env"}],
}, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ns, kv])))

pulumi.export("policy", reader.name)
pulumi.export("username", user.username)
