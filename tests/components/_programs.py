"""Small programs the component tests run under the recording mocks."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault
import vaultconf as vc

VAULT_ADDR = "http://vault.vault.svc:8200"
SIDEKICK = "ghcr.io/example/vault-sidekick:0.1.0"


def providers() -> pulumi.ResourceOptions:
    """What a stack passes: explicit providers, through opts only."""
    vp = vault.Provider("vault", address="http://127.0.0.1:8200", token="root")
    kp = k8s.Provider("k8s", kubeconfig="{}")
    return pulumi.ResourceOptions(providers=[vp, kp])


def reader_rules() -> dict[str, Any]:
    return {
        "kv/data/team-a/*": ["read"],
        "pki-int/issue/web": ["update"],
        "aws/creds/app": ["read"],
    }


def full_stack(rotation: int = 0, **workload: Any) -> dict[str, Any]:
    """Every component, wired the way infra/ wires them."""
    opts = providers()
    policy = vc.Policy("app-read", {"rules": reader_rules()}, opts=opts)
    user = vc.User(
        "app",
        {
            "policies": [policy, "default"],
            "namespaces": ["team-a", "team-b"],
            "vault_addr": VAULT_ADDR,
            "create_mount": True,
            "token_ttl": "1h",
            "token_max_ttl": "4h",
            "rotation": rotation,
        },
        opts=opts,
    )
    root = vc.CertificateAuthority(
        "pki-root", {"common_name": "Root CA", "vault_addr": VAULT_ADDR}, opts=opts
    )
    inter = vc.CertificateAuthority(
        "pki-int",
        {"common_name": "Intermediate CA", "issuer": root, "key_type": "ec", "key_bits": 256},
        opts=opts,
    )
    role = vc.PkiRole(
        "web",
        {
            "ca": inter,
            "allowed_domains": ["svc.cluster.local"],
            "allow_subdomains": True,
            "ttl": "24h",
            "max_ttl": "72h",
            "server_flag": True,
            "client_flag": False,
        },
        opts=opts,
    )
    engine = vc.AwsSecretsEngine(
        "aws",
        {
            "access_key": "AKIAEXAMPLE",
            "secret_key": pulumi.Output.secret("s3cr3t"),
            "region": "eu-west-1",
            "sts_endpoint": "https://sts.eu-west-1.amazonaws.com",
        },
        opts=opts,
    )
    aws_role = vc.AwsRole(
        "app-aws",
        {"engine": engine, "name": "app", "policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
        opts=opts,
    )
    kv = vc.KvStore(
        "kv",
        {
            "max_versions": 5,
            # no cas_required: Vault refuses seed writes without check-and-set (test_kv_cas.py)
            "secrets": {"team-a/db": pulumi.Output.secret({"password": "pw"})},
        },
        opts=opts,
    )
    k8s_auth = vc.KubernetesAuth(
        "k8s-auth",
        {
            "kubernetes_host": "https://kubernetes.default.svc",
            "roles": {
                "app": {
                    "service_accounts": ["app"],
                    "namespaces": ["team-a"],
                    "policies": [policy],
                    "audience": "vault",
                    "token_ttl": "15m",
                }
            },
        },
        opts=opts,
    )
    approle = vc.AppRole(
        "approle",
        {
            "roles": {"batch": {"policies": [policy], "namespaces": ["team-a"], "rotation": rotation}},
            "vault_addr": VAULT_ADDR,
        },
        opts=opts,
    )
    secrets = [
        {
            "name": "db",
            "type": "kv",
            "path": kv.data_path("team-a/db"),
            "format": "env",
            "update": "5m",
            "on_change": {"http": {"url": "http://127.0.0.1:8080/-/reload"}},
        },
        {
            "name": "tls",
            "type": "pki",
            "path": role.issue_path,
            "params": {"common_name": "web.team-a.svc.cluster.local"},
            "format": "bundle",
            "mode": "0600",
        },
        {"name": "aws", "type": "aws", "path": aws_role.creds_path, "format": "aws"},
    ]
    args: dict[str, Any] = {
        "namespace": "team-a",
        "image": "nginxinc/nginx-unprivileged:1.27",
        "auth": user,
        "sidekick_image": SIDEKICK,
        "vault_addr": VAULT_ADDR,
        "secrets": secrets,
        "ports": [8080],
    }
    args.update(workload)
    web = vc.Workload("web", args, opts=opts)
    return {
        "policy": policy,
        "user": user,
        "root": root,
        "inter": inter,
        "role": role,
        "engine": engine,
        "aws_role": aws_role,
        "kv": kv,
        "k8s_auth": k8s_auth,
        "approle": approle,
        "web": web,
    }
