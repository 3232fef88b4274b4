"""The vaultconf stack: load the YAML for this stack, validate it, build it with the components.

Per-stack settings live in Pulumi.<stack>.yaml (see docs/settings.md; their one definition is
vaultconf.config.settings); the Vault token comes from VAULT_TOKEN.
"""

from __future__ import annotations

import pathlib

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault
from vaultconf.config import UnusableInput, devstack, validate
from vaultconf.config import settings as needed
from vaultconf.errors import ConfigError
from vaultconf.settle import install as settle_outputs_linearly
from vaultconf.stackbuild import StackSettings, build, platform

HERE = pathlib.Path(__file__).resolve().parent

config = pulumi.Config()
overlay = config.get("overlay") or pulumi.get_stack()
# configDir (relative to the project root) lets a test or a policy demo point at another config tree
config_dir = HERE.parent / config.get("configDir") if config.get("configDir") else HERE / "config"

# 1. load + validate: nothing is registered unless the desired state is clean
try:
    result = validate(config_dir, overlay)
except UnusableInput as exc:
    raise pulumi.RunError(f"vaultconf: {exc}") from None
# validation: warn lets a policy-pack demo reach `pulumi preview --policy-pack`; only a dev overlay may use it
refused = devstack.warn_mode_refusal(config.get("validation"), overlay, result.dev)
if refused:
    raise pulumi.RunError(f"vaultconf: {refused}")
enforce = config.get("validation") != "warn"
for finding in result.findings:
    (pulumi.log.error if enforce and finding in result.errors else pulumi.log.warn)(str(finding))
if result.config is None or (enforce and result.errors):
    raise pulumi.RunError(
        f"vaultconf validate: {len(result.errors)} error(s) in {config_dir} ({overlay}); "
        f"run `vaultconf validate --stack {overlay}` for the list"
    )

# 2. every setting and secret this desired state needs, checked at once: one error lists all that are missing
absent = needed.missing(
    result.config,
    lambda s: (config.get_secret(s.key) if s.secret else config.get(s.key)) is not None,
)
if absent:
    raise pulumi.RunError(f"vaultconf: {needed.report(pulumi.get_stack(), absent)}")

# 3. providers, explicit: every component gets them through opts. A stack naming `external: true` objects
# configures them only once the platform stack (vaultconf:platformStack) is seen to export each one
gate = platform.gate(result.config, config.get("platformStack"))
vault_provider = vault.Provider(
    "vault",
    address=gate.wrap(config.require("vaultAddress")),
    ca_cert_file=config.get("vaultCaCertFile"),
    skip_tls_verify=config.get_bool("vaultSkipTlsVerify"),
    skip_child_token=config.get_bool("vaultSkipChildToken"),
)
render_dir = config.get("renderYamlTo")
k8s_provider = k8s.Provider(
    "kubernetes",
    kubeconfig=None if render_dir else config.get("kubeconfig"),
    context=None if render_dir else gate.wrap(config.get("kubeContext")),
    render_yaml_to_directory=render_dir,
    enable_server_side_apply=None if render_dir else True,
)

# 4. build
settings = StackSettings(
    vault_addr=config.get("podVaultAddress") or config.require("vaultAddress"),
    sidekick_image=config.require("sidekickImage"),
    secret=config.require_secret,
    vault_ca_secret=config.get("vaultCaSecret"),
    create_namespaces=config.get_bool("createNamespaces") is not False,
    kubernetes_ca_cert=config.get("kubernetesCaCert"),
    enforce_policy_analysis=enforce,
)
try:
    built = build(result.config, settings, [vault_provider, k8s_provider])
except ConfigError as exc:
    raise pulumi.RunError(f"vaultconf: {exc}") from None

platform.publish(result.config)  # what other stacks may name with `external: true` (docs/scaling.md)
pulumi.export("overlay", overlay)
pulumi.export("policies", sorted(built.policies))
pulumi.export("users", sorted(built.users))
pulumi.export("workloads", sorted(built.workloads))
pulumi.export("issue_paths", {name: role.issue_path for name, role in built.pki_roles.items()})

# 5. wait for the outputs in linear time before the SDK's own drain loop (vaultconf/settle.py says why)
settle_outputs_linearly()
