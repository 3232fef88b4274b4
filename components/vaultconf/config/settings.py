"""The stack's Pulumi settings (`Pulumi.<stack>.yaml` and its secrets): one definition for everyone.

The stack program (infra/__main__.py) asks `missing()` before it reads anything, so a stack lacking several
settings fails once, naming every one with the command that sets it, instead of one `pulumi preview` per key.
`vaultconf validate --stack X --check-settings` runs the same check against `Pulumi.X.yaml` without the Pulumi
CLI, and docs/settings.md documents the same list (a test keeps the page and SETTINGS equal).
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable, Iterable
from typing import Any

from .findings import Finding, Loc, UnusableInput
from .model import Config

NAMESPACE = "vaultconf"  # the Pulumi project name: keys are `vaultconf:<key>`
MAX_STACK_FILE = 1 << 20  # a Pulumi.<stack>.yaml larger than this is not a settings file


def adopted_password_key(user: str) -> str:
    """Optional Pulumi secret holding an adopted user's current password (its Secret is published with it)."""
    return f"password-{user}"


def seed_config_key(store: str, secret: str, key: str) -> str:
    """Pulumi config key holding one seeded KV value (set with `pulumi config set --secret`)."""
    flat = f"{store}-{secret}".replace("/", "-")
    return f"kv-{flat}-{key}"


@dataclasses.dataclass(frozen=True)
class Setting:
    """One Pulumi config key the stack program reads."""

    key: str
    meaning: str
    example: str = ""  # what to write for a plain value; secrets are typed at the prompt (never argv)
    secret: bool = False
    required: bool = False

    @property
    def full_key(self) -> str:
        return f"{NAMESPACE}:{self.key}"

    def command(self) -> str:
        """The exact `pulumi config set` line that supplies it."""
        if self.secret:
            # without a value pulumi prompts (or reads stdin): the secret stays off argv and shell history
            return f"pulumi config set --secret {self.full_key}"
        return f"pulumi config set {self.full_key} {self.example}".rstrip()


# Every key infra/__main__.py reads, in the order docs/settings.md lists them.
SETTINGS: tuple[Setting, ...] = (
    Setting("vaultAddress", "Vault address for the Pulumi provider (the token comes from VAULT_TOKEN)",
            "https://vault.example:8200", required=True),
    Setting("sidekickImage", "the sidekick image every workload runs",
            "ghcr.io/example/vaultconf-sidekick:0.1.0", required=True),
    Setting("overlay", "overlay directory under infra/config/ (default: the stack name)", "dev"),
    Setting("configDir", "another config tree, relative to the project root (tests, policy demos)",
            "infra/config"),
    Setting("validation", "`enforce` (default); `warn` only to demonstrate the policy pack", "enforce"),
    Setting("podVaultAddress", "Vault address as pods reach it (default: vaultAddress)",
            "https://vault.vault.svc:8200"),
    Setting("vaultCaCertFile", "CA bundle file the provider trusts for Vault's TLS", "/etc/vault-ca/ca.crt"),
    Setting("vaultSkipTlsVerify", "provider: skip TLS verification (tests only)", "false"),
    Setting("vaultSkipChildToken", "provider: use VAULT_TOKEN directly instead of a child token", "false"),
    Setting("vaultCaSecret", "Secret (key ca.crt) with Vault's CA, mounted into sidekicks", "vault-ca"),
    Setting("kubeconfig", "kubeconfig file (default: the ambient one)", "~/.kube/config"),
    Setting("kubeContext", "kubeconfig context", "kind-dev"),
    Setting("renderYamlTo", "render manifests into this directory instead of applying them", "rendered"),
    Setting("createNamespaces", "false: the namespaces exist already", "true"),
    Setting("platformStack", "the stack owning the YAML's `external: true` objects; its `vaultconf` output "
            "must export each (docs/scaling.md)", "organization/vaultconf/platform"),
    Setting("kubernetesCaCert", "PEM of the cluster CA for Vault's kubernetes auth; needed when Vault runs "
            "outside the cluster", '-- "$(cat ca.crt)"'),
)
BY_KEY = {s.key: s for s in SETTINGS}
AWS_SECRETS = (
    Setting("awsAccessKey", "access key id of the AWS secrets engine's root credentials", secret=True),
    Setting("awsSecretKey", "secret access key of the AWS secrets engine's root credentials", secret=True),
)


def secrets_for(cfg: Config) -> list[Setting]:
    """The Pulumi secrets this desired state needs: AWS root keys if it has an AWS engine, one per seeded
    KV key (the same names infra's build() asks for)."""
    owned_engine = cfg.aws_engine is not None and not cfg.aws_engine.external  # else another stack's
    out: list[Setting] = list(AWS_SECRETS) if owned_engine else []
    if cfg.aws_engine is not None and cfg.aws_engine.adopted:  # keeps the secret key Vault holds
        out = [s for s in out if s.key != "awsSecretKey"]
    for store in cfg.kv:
        for seeded in store.secrets:
            for key in seeded.keys:
                meaning = f"value of key '{key}' seeded into {store.name}/{seeded.name}"
                out.append(Setting(seed_config_key(store.name, seeded.name, key), meaning, secret=True))
    return out


def required_for(cfg: Config) -> list[Setting]:
    return [s for s in SETTINGS if s.required] + secrets_for(cfg)


def missing(cfg: Config, present: Callable[[Setting], bool]) -> list[Setting]:
    """Required settings and secrets for which `present(setting)` is false, in a stable order."""
    return [s for s in required_for(cfg) if not present(s)]


def report(stack: str, absent: Iterable[Setting]) -> str:
    """One message naming every missing setting with the command that sets it."""
    items = list(absent)
    lines = [f"stack '{stack}' is missing {len(items)} setting(s); set each with (see docs/settings.md):"]
    lines += [f"  {s.command()}" for s in items]
    return "\n".join(lines)


# --- Pulumi.<stack>.yaml, for `vaultconf validate --check-settings` ---------------------------------------


def stack_file(project_dir: pathlib.Path, stack: str) -> pathlib.Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def find_project_dir(start: pathlib.Path) -> pathlib.Path | None:
    """The nearest directory at or above `start` holding Pulumi.yaml."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    return None


def read_stack_file(path: pathlib.Path) -> dict[str, Any]:
    """`config:` of a Pulumi.<stack>.yaml as {full key: value}; {} when the file does not exist yet
    (`pulumi config set` creates it). Secrets are `{secure: ...}` mappings: present, never decrypted."""
    from .tree import load_file, plain

    if not path.exists():
        return {}
    if path.stat().st_size > MAX_STACK_FILE:
        raise UnusableInput(Loc(str(path), 0), f"larger than {MAX_STACK_FILE} bytes",
                            "point at the stack's Pulumi.<stack>.yaml")
    doc = plain(load_file(path))
    config = doc.get("config") if isinstance(doc, dict) else None
    if doc is not None and not isinstance(doc, dict):
        raise UnusableInput(Loc(str(path), 1), "not a Pulumi stack settings file (the top level is not a "
                            "mapping)", "start the file with `config:`")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise UnusableInput(Loc(str(path), 1), "`config:` is not a mapping", "write `config:` followed by "
                            "indented `vaultconf:key: value` lines")
    # Pulumi accepts a bare key for the project's own namespace
    return {(k if ":" in k else f"{NAMESPACE}:{k}"): v for k, v in config.items()}


def check_stack_file(cfg: Config, path: pathlib.Path, stack: str) -> list[Finding]:
    """A finding per required setting or secret that `path` does not hold, each with its command."""
    values = read_stack_file(path)
    absent = missing(cfg, lambda s: values.get(s.full_key) not in (None, ""))
    try:
        shown = str(path.resolve().relative_to(pathlib.Path.cwd().resolve()))
    except ValueError:
        shown = str(path)
    loc = Loc(shown, 0)
    return [
        Finding("settings", loc, s.full_key, f"missing {'secret' if s.secret else 'setting'} for stack "
                f"'{stack}' ({s.meaning})", s.command())
        for s in absent
    ]
