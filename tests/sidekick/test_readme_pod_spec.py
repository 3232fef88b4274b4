"""vault-sidekick's README pod spec args, unchanged, against a real Vault with an -auth userpass file.

Its own module, so its own dev Vault: the README uses the fixed mounts `secret/` (KV v1 here, as in the
README's era) and `mysql/`. Two README lines cannot work against any Vault without outside systems and are
adapted: `aws:aws/creds/...` needs AWS, and `pki:project1/certs/example.com` is not a PKI endpoint, so the
same options are used with `pki:project1/issue/example-dot-com`.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

import pytest
import yaml

from tests.fixtures.engines import engine_path
from tests.sidekick import vaultkit as vk
from tests.sidekick.pg import Postgres
from tests.support.vault import VaultDevServer

pytestmark = pytest.mark.engines

README_ARGS = [
    "-output=/etc/secrets",
    "-cn=pki:project1/certs/example.com:common_name=commons.example.com,revoke=true,update=2h",
    "-cn=secret:secret/db/prod/username:file=.credentials",
    "-cn=secret:secret/db/prod/password:retries=1",
    "-cn=secret:secret/data/db/dev/username:file=.kv2credentials",
    "-cn=aws:aws/creds/s3_backup_policy:file=.s3_creds",
]
README_RENEWAL = "-cn=mysql:mysql/creds/my_database:fmt=yaml,renew=true"


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    pg = Postgres(engine_path("initdb"), engine_path("postgres"))
    try:
        yield pg
    finally:
        pg.stop()


def test_readme_pod_spec_args(vault_dev: VaultDevServer, tmp_path: pathlib.Path, postgres: Postgres) -> None:
    vault_dev.request("DELETE", "sys/mounts/secret")
    vk.mount_kv(vault_dev, "secret", 1)
    vk.kv_put(vault_dev, "secret", "db/prod/username", {"value": "produser"}, 1)
    vk.kv_put(vault_dev, "secret", "db/prod/password", {"value": "prod-Secret-pw"}, 1)
    vk.kv_put(vault_dev, "secret", "data/db/dev/username", {"value": "devuser"}, 1)
    vk.mount_pki(vault_dev, "project1", role="example-dot-com")
    vk.mount_database(vault_dev, "mysql", postgres.url, "my_database", ttl="1h", max_ttl="2h")
    pol = vk.policy(vault_dev, "sidekick")
    vk.userpass(vault_dev, "userpass", pol, "readme-Pa55word")
    auth = tmp_path / "vault-auth.yml"  # vault-sidekick's -auth file, YAML form
    auth.write_text("method: userpass\nusername: app\npassword: readme-Pa55word\n")
    out = tmp_path / "secrets"
    args = [a.replace("/etc/secrets", str(out)) for a in README_ARGS if not a.startswith("-cn=aws:")]
    args = [a.replace("project1/certs/example.com", "project1/issue/example-dot-com") for a in args]
    side = vk.Sidekick([f"-vault={vault_dev.addr}", f"-auth={auth}", "-listen=", "-logtostderr=true",
                        *args, README_RENEWAL], tmp_path)
    expected = ["example-dot-com.pki", ".credentials", "password.secret", ".kv2credentials",
                "my_database.mysql"]
    try:
        side.wait_for("every file", lambda: all((out / f).exists() for f in expected), timeout=60)
    finally:
        assert side.stop() == 0
    assert yaml.safe_load((out / ".credentials").read_text()) == {"value": "produser"}
    assert yaml.safe_load((out / "password.secret").read_text()) == {"value": "prod-Secret-pw"}
    assert yaml.safe_load((out / ".kv2credentials").read_text()) == {"value": "devuser"}
    cert = yaml.safe_load((out / "example-dot-com.pki").read_text())
    assert cert["certificate"].startswith("-----BEGIN CERTIFICATE-----") and "private_key" in cert
    db = yaml.safe_load((out / "my_database.mysql").read_text())
    assert set(db) == {"username", "password"}
    assert "readme-Pa55word" not in side.log_path.read_text()
    state = json.loads((out / ".sidekick-state.json").read_text())
    assert "my_database.mysql" in state["resources"]  # the renewable lease is tracked for a restart
