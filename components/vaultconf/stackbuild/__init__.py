"""The stack builder: a validated desired state (vaultconf.config) → the vaultconf components.

    result = vaultconf.config.validate(config_dir, "dev")        # YAML → typed model (no Pulumi)
    built = vaultconf.stackbuild.build(result.config, settings, [vault_provider, k8s_provider])

It lives beside the components rather than in `vaultconf.config`, so the config package stays pure (it
imports no component and no Pulumi SDK; tests/stack/test_layers.py checks it). `args` maps each model
object to its component's Args TypedDict; `build` creates the components in dependency order.
"""

from .build import Built, build, namespaces_of
from .settings import StackSettings

__all__ = ["Built", "StackSettings", "build", "namespaces_of"]
