"""No secret value reaches a log or /metrics; secret files get the configured modes.

One real sidekick run (dev Vault, userpass, KV + PKI + leased OTP, a KV change, a password rotation)
creates known secret values; its log and /metrics are scanned for them, together with everything the
fault suite collected earlier in the same session (tests/faults/harness.py records both).
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.faults.harness import (
    COLLECTED_TEXTS,
    CREATED_SECRETS,
    Credentials,
    Sidekick,
    expected_files,
    kv_password,
    provision,
    put_kv,
    resources,
    secret_value,
    sidekick_tokens,
    tempdir,
    wait_for,
)
from tests.support.vault import VaultDevServer

pytestmark = pytest.mark.engines


def _file_values(sk: Sidekick) -> set[str]:
    """Secret values as delivered: the KV password, the OTP, the private key's body lines."""
    values = {kv_password(sk.out), json.loads((sk.out / "otp.json").read_text())["key"]}
    key_lines = (sk.out / "tls.key").read_text().splitlines()
    values.update(line for line in key_lines if len(line) >= 16 and not line.startswith("-----"))
    return {v for v in values if v}


def test_no_secret_in_logs_or_metrics_and_modes(vault_dev: VaultDevServer) -> None:
    vault = vault_dev
    prov = provision(vault)
    work = tempdir("security-")
    creds = Credentials(work / "creds", prov.username, prov.password)
    sk = Sidekick(work, vault.addr, creds.path, resources(prov))
    sk.start()
    try:
        sk.wait_ready(90)
        delivered = _file_values(sk)
        CREATED_SECRETS.update(delivered)
        # a change and a rotation, so new values pass through the log paths too
        new_kv = secret_value("kv")
        put_kv(vault, new_kv)
        new_pw = secret_value("pw")
        vault.request("POST", f"auth/userpass/users/{prov.username}/password", {"password": new_pw})
        creds.rotate(prov.username, new_pw)
        for accessor in sidekick_tokens(vault):
            vault.request("POST", "auth/token/revoke-accessor", {"accessor": accessor})
        wait_for("the changed KV value", lambda: kv_password(sk.out) == new_kv, 45)
        CREATED_SECRETS.add(vault.token)
        # modes as configured: db/otp 0600, the certificate files 0640 (resources() in the harness)
        want = {"db.json": 0o600, "otp.json": 0o600, "tls.crt": 0o640, "tls.key": 0o640, "tls.ca": 0o640}
        for path in expected_files(sk.out):
            mode = stat.S_IMODE(os.stat(path).st_mode)
            assert mode == want[path.name], f"{path.name}: mode {mode:04o}, configured {want[path.name]:04o}"
        state = sk.out / ".sidekick-state.json"
        assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
        state_text = state.read_text()
        assert not [v for v in CREATED_SECRETS if v in state_text], "secret values in the state file"
        sk.metrics()
        assert sk.stop() == 0
    finally:
        sk.kill()
    texts = COLLECTED_TEXTS
    assert any("sidekick log" in name for name, _ in texts) and any("/metrics" in n for n, _ in texts)
    assert "secret fetched" in sk.log_text(), "the log scan would be vacuous: nothing was logged"
    leaks = sorted({f"{name}: value {v[:4]}…" for name, text in texts for v in CREATED_SECRETS if v in text})
    assert not leaks, f"secret values found in {len(leaks)} places: {leaks[:10]}"
