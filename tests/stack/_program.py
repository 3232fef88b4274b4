"""Run the real infra/__main__.py under recording mocks."""

from __future__ import annotations

import datetime
import functools
import pathlib
import runpy
from collections.abc import Mapping

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from vaultconf.testing import MockRun, RecordingMocks, run_under_mocks

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "infra" / "__main__.py"
SEEDED = (
    "kv-apps-billing-db-username",
    "kv-apps-billing-db-password",
    "kv-apps-reports-smtp-username",
    "kv-apps-reports-smtp-password",
)
SECRETS = ("awsAccessKey", "awsSecretKey", *SEEDED)


@functools.cache
def cluster_ca_pem() -> str:
    """A real self-signed CA certificate: Vault parses kubernetes_ca_cert when the config is written."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-cluster-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def stack_config(stack: str, **extra: str) -> dict[str, str]:
    config = {
        "vaultconf:kubernetesCaCert": cluster_ca_pem(),
        "vaultconf:overlay": stack,
        "vaultconf:vaultAddress": "http://127.0.0.1:8200",
        "vaultconf:podVaultAddress": "http://vault.vault.svc:8200",
        "vaultconf:sidekickImage": "example/sidekick:test",
        "vaultconf:renderYamlTo": "/tmp/vaultconf-render-unused",
    }
    config.update({f"vaultconf:{key}": f"secret-value-of-{key}" for key in SECRETS})
    config.update({f"vaultconf:{k}": v for k, v in extra.items()})
    return config


def run_stack(
    stack: str, config: Mapping[str, str] | None = None, mocks: RecordingMocks | None = None
) -> MockRun:
    cfg = dict(config) if config is not None else stack_config(stack)
    return run_under_mocks(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        project="vaultconf",
        stack=stack,
        config=cfg,
        secret_config=tuple(k for k in cfg if k.split(":", 1)[1] in SECRETS),
        mocks=mocks,
    )
