"""A large stack configuration in the infra/config YAML format, generated at any scale.

Full size (scale 1.0): 1,000 users, 500 policies, 50 CAs (10 roots, 40 intermediates) with 200 roles,
100 AWS roles and 300 workloads (Deployments and Jobs) whose sidekicks read KV, a certificate and AWS
credentials, every read granted by the workload user's policy so `vaultconf validate` is clean.
"""

from __future__ import annotations

import pathlib
import shutil
from typing import Any

import yaml

FULL = {"users": 1000, "policies": 500, "roots": 10, "intermediates": 40, "pki_roles": 200,
        "aws_roles": 100, "workloads": 300}


def sizes(scale: float) -> dict[str, int]:
    return {k: max(1, round(v * scale)) for k, v in FULL.items()}


def generate(scale: float = 1.0) -> dict[str, dict[str, Any]]:
    """File name → YAML document for base/ (the overlay is written by `write`)."""
    n = sizes(scale)
    roots = [{"name": f"root-{i}", "mount": f"pki-root-{i}", "type": "root",
              "common_name": f"Bench Root CA {i}", "ttl": "87600h", "max_lease_ttl": "87600h",
              "key_type": "ec", "key_bits": 384} for i in range(n["roots"])]
    inters = [{"name": f"int-{i}", "mount": f"pki-int-{i}", "type": "intermediate",
               "issuer": f"root-{i % n['roots']}", "common_name": f"Bench Intermediate CA {i}",
               "ttl": "43800h", "max_lease_ttl": "43800h", "key_type": "ec", "key_bits": 256}
              for i in range(n["intermediates"])]
    pki_roles = [{"name": f"role-{i}", "ca": f"int-{i % n['intermediates']}",
                  "allowed_domains": [f"svc{i}.bench.example"], "allow_subdomains": True, "ttl": "72h",
                  "max_ttl": "720h", "key_type": "ec", "key_bits": 256, "server_flag": True}
                 for i in range(n["pki_roles"])]
    aws_roles = [{"name": f"aws-{i}", "credential_type": "iam_user", "policy_document": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                                                "Resource": [f"arn:aws:s3:::bench-{i}/*"]}]}}
                 for i in range(n["aws_roles"])]

    def grants(w: int) -> tuple[str, str, str]:
        role = w % n["pki_roles"]
        return (f"apps/data/team-{w}/*", f"pki-int-{role % n['intermediates']}/issue/role-{role}",
                f"aws/creds/aws-{w % n['aws_roles']}")

    policies = []
    for p in range(n["policies"]):
        kv, pki, aws = grants(p)
        # the certificate grant binds the one name its workload asks for (validate's least-privilege rule)
        cert_name = f"app-{p}.svc{p % n['pki_roles']}.bench.example"
        policies.append({"name": f"policy-{p}", "description": f"bench policy {p}",
                         "rules": {kv: ["read"], aws: ["read"],
                                   pki: {"capabilities": ["update"],
                                         "allowed_parameters": {"common_name": [cert_name]}}}})
    users = [{"name": f"user-{u}", "policies": [f"policy-{u % n['policies']}"],
              "namespaces": [f"ns-{u % 50}"], "token_ttl": "1h", "token_max_ttl": "24h"}
             for u in range(n["users"])]
    workloads = []
    for w in range(n["workloads"]):
        kv, pki, aws = grants(w % n["policies"])
        role = (w % n["policies"]) % n["pki_roles"]
        job = w % 5 == 4
        workloads.append({
            "name": f"app-{w}", "namespace": f"ns-{w % 50}", "kind": "Job" if job else "Deployment",
            "image": f"registry.example/app-{w}:1.0.{w}", "identity": {"user": f"user-{w}"},
            "secrets": [
                {"name": "db", "type": "kv", "path": kv.replace("*", "db"), "file": "db.json",
                 "format": "json"},
                {"name": "tls", "type": "pki", "path": pki,
                 "params": {"common_name": f"app-{w}.svc{role}.bench.example"}, "file": "tls",
                 "format": "cert"},
                {"name": "aws", "type": "aws", "path": aws, "file": "aws-credentials", "format": "aws"},
            ],
        })
    return {
        "users.yaml": {"settings": {"userpass_mount": "userpass"}, "users": users},
        "policies.yaml": {"policies": policies},
        "pki.yaml": {"pki": {"cas": roots + inters, "roles": pki_roles}},
        "aws.yaml": {"aws": {"engine": {"mount": "aws", "region": "eu-west-2", "default_lease_ttl": "1h",
                                        "max_lease_ttl": "12h"}, "roles": aws_roles}},
        "kv.yaml": {"kv": [{"name": "apps", "max_versions": 10, "secrets": []}]},
        "workloads.yaml": {"workloads": workloads},
    }


def write(directory: pathlib.Path, scale: float = 1.0, stack: str = "bench") -> pathlib.Path:
    """Write base/*.yaml and an empty `stack` overlay under `directory`; returns `directory`."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "base").mkdir(parents=True)
    (directory / stack).mkdir()
    for name, doc in generate(scale).items():
        (directory / "base" / name).write_text(yaml.safe_dump(doc, sort_keys=False, width=200))
    (directory / stack / "overlay.yaml").write_text("{}\n")
    return directory
