"""What a live Vault holds beyond the YAML (`unmanaged`, `--purge`); `import` lives in config/importer.py.

Never reads a secret value: policies, role and mount settings only. KV data is not listed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from .adoption import BUILTIN_AUTH, BUILTIN_MOUNTS, BUILTIN_POLICIES, _mounts
from .model import Config
from .vault_http import VaultClient

# purge order: objects inside mounts first, then policies, then the mounts themselves
ORDER = (
    "userpass user",
    "pki role",
    "aws role",
    "kubernetes role",
    "approle role",
    "policy",
    "auth mount",
    "mount",
)


@dataclasses.dataclass(frozen=True)
class Unmanaged:
    kind: str
    name: str
    delete_path: str

    def __str__(self) -> str:
        return f"unmanaged {self.kind}: {self.name}"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "path": self.delete_path}


def find_unmanaged(client: VaultClient, cfg: Config) -> list[Unmanaged]:
    out: list[Unmanaged] = []
    ca_mounts = {c.mount: c.name for c in cfg.cas}
    engines = _mounts(client, "sys/mounts")
    wanted_mounts = set(ca_mounts) | {s.name for s in cfg.kv}
    if cfg.aws_engine:
        wanted_mounts.add(cfg.aws_engine.mount)
    for path, info in sorted(engines.items()):
        if path in BUILTIN_MOUNTS:
            continue
        if path not in wanted_mounts:
            out.append(Unmanaged("mount", f"{path} ({info['type']})", f"sys/mounts/{path}"))
        elif info["type"] == "pki":
            wanted = {r.name for r in cfg.pki_roles if r.ca == ca_mounts.get(path)}
            out += [
                Unmanaged("pki role", f"{path}/roles/{r}", f"{path}/roles/{r}")
                for r in client.list(f"{path}/roles")
                if r not in wanted
            ]
        elif info["type"] == "aws":
            wanted = {r.name for r in cfg.aws_roles}
            out += [
                Unmanaged("aws role", f"{path}/roles/{r}", f"{path}/roles/{r}")
                for r in client.list(f"{path}/roles")
                if r not in wanted
            ]
    auths = _mounts(client, "sys/auth")
    wanted_auth = {
        cfg.userpass_mount: ("userpass", "users", "userpass user", {u.name.lower() for u in cfg.users}),
        cfg.kubernetes_mount: (
            "kubernetes",
            "role",
            "kubernetes role",
            {r.name for r in cfg.kubernetes_roles},
        ),
        cfg.approle_mount: ("approle", "role", "approle role", {r.name.lower() for r in cfg.approle_roles}),
    }
    in_use = {
        cfg.userpass_mount: bool(cfg.users),
        cfg.kubernetes_mount: bool(cfg.kubernetes_roles),
        cfg.approle_mount: bool(cfg.approle_roles),
    }
    for path, info in sorted(auths.items()):
        if path in BUILTIN_AUTH:
            continue
        spec = wanted_auth.get(path)
        if spec is None or spec[0] != info["type"] or not in_use.get(path):
            out.append(Unmanaged("auth mount", f"{path} ({info['type']})", f"sys/auth/{path}"))
            continue
        _type, sub, kind, wanted = spec
        out += [
            Unmanaged(kind, f"auth/{path}/{sub}/{n}", f"auth/{path}/{sub}/{n}")
            for n in client.list(f"auth/{path}/{sub}")
            if n not in wanted
        ]
    wanted_policies = {p.name for p in cfg.policies} | BUILTIN_POLICIES
    out += [
        Unmanaged("policy", n, f"sys/policies/acl/{n}")
        for n in client.list("sys/policies/acl")
        if n not in wanted_policies
    ]
    return sorted(out, key=lambda u: (ORDER.index(u.kind), u.name))


def purge(client: VaultClient, items: list[Unmanaged]) -> Iterator[str]:
    for item in sorted(items, key=lambda u: ORDER.index(u.kind)):
        client.delete(item.delete_path)
        yield f"deleted {item.kind}: {item.name}"


# --- import: config/importer.py (re-exported here, where the CLI has always found it) -----------------------

from .importer import ImportResult, import_vault  # noqa: E402

__all__ = ["ImportResult", "Unmanaged", "find_unmanaged", "import_vault", "purge"]
