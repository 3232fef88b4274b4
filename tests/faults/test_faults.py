"""Fault injection against a real sidekick process and a real (file-storage) Vault.

For every fault: files once written are never partial or missing (a watcher samples them throughout),
valid secrets keep being served while Vault is away, the sidekick recovers without a restart, /readyz
tells the truth, and exit codes are as documented (0 clean stop, 1 runtime failure, 2 bad configuration).
Timings are short (20 s certificates and leases, a 3 s backoff cap); every wait is bounded and polled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.faults.conftest import Scenario
from tests.faults.harness import (
    SIDEKICK,
    Sidekick,
    all_present,
    expected_files,
    kv_password,
    otp_key,
    otp_lease,
    put_kv,
    secret_value,
    sidekick_tokens,
    wait_for,
)

pytestmark = pytest.mark.engines

START = 90.0      # first secrets written, on a loaded machine
RECOVER = 45.0    # backoff cap 3 s + Vault start/unseal + one refresh round


def _started(sc: Scenario, **kwargs: object) -> Sidekick:
    sk = sc.sidekick(**kwargs).start()  # type: ignore[arg-type]
    sk.wait_ready(START, "the first secrets to be written (/readyz 200)")
    assert all_present(expected_files(sk.out)), sorted(os.listdir(sk.out))
    return sk


def _new_kv_arrives(sc: Scenario, sk: Sidekick, timeout: float = RECOVER) -> str:
    """Change the KV secret in Vault and wait until the sidekick has written it (proves it recovered)."""
    value = secret_value("kv")
    put_kv(sc.vault, value)
    wait_for("the changed KV value to reach db.json", lambda: kv_password(sk.out) == value, timeout)
    return value


def not_ready_details(sk: Sidekick) -> str:
    """What the sidekick last logged about why it is not ready ("" if nothing)."""
    records = [r for r in sk.log_records() if r.get("msg") == "not ready"]
    return str(records[-1].get("details", "")) if records else ""


def test_vault_down_at_start(scenario: Scenario) -> None:
    sc = scenario
    sc.vault.stop()
    sk = sc.sidekick().start()
    body = sk.wait_not_ready(START, "/readyz to answer (503) while Vault is down")
    assert body == "not ready\n"  # the why goes to the log, never to the port
    assert "not written yet" in not_ready_details(sk)
    assert not any(p.exists() for p in expected_files(sk.out)), "files written without Vault"
    # it keeps retrying (capped), it does not exit
    wait_for("login failures to be counted", lambda: sk.metric("sidekick_login_failures_total") >= 2, 30)
    assert sk.alive(), sk.tail()
    sc.vault.start()
    sk.wait_ready(RECOVER + START, "/readyz 200 once Vault is back")
    watcher = sc.watch(sk)
    assert kv_password(sk.out) == sc.prov.kv_value
    _new_kv_arrives(sc, sk)
    watcher.stop()
    watcher.assert_clean()
    assert sk.stop() == 0, sk.tail()


def test_vault_stopped_and_restarted_mid_lease(scenario: Scenario) -> None:
    sc = scenario
    sk = _started(sc)
    watcher = sc.watch(sk)
    before = {p: p.read_bytes() for p in expected_files(sk.out)}
    sc.vault.stop()
    # While the secrets are still valid the pod stays ready and keeps its files.
    time.sleep(1.0)
    status, body = sk.ready()
    assert status == 200, f"not ready while every secret is still valid: {body}"
    assert all_present(before), "a file disappeared when Vault went away"
    # The 20 s certificate and lease run out: readiness must now say so (stale files are not valid).
    body = sk.wait_not_ready(40, "/readyz 503 once the 20 s secrets expire with Vault down")
    assert body == "not ready\n", body
    wait_for("the log to say what expired", lambda: "expired" in not_ready_details(sk), 15)
    assert sk.metric("sidekick_resource_ready", '{resource="tls"}') == 0
    assert all_present(before), "files were removed while Vault was away"
    assert sk.metric("sidekick_resource_failures_total", '{resource="tls"}') >= 1
    sc.vault.start()
    sk.wait_ready(RECOVER, "/readyz 200 after Vault restarted")
    wait_for("a new certificate after the restart",
             lambda: (sk.out / "tls.crt").read_bytes() != before[sk.out / "tls.crt"], RECOVER)
    _new_kv_arrives(sc, sk)
    watcher.stop()
    watcher.assert_clean()
    assert sk.alive()
    assert sk.stop() == 0, sk.tail()


def test_vault_sealed(scenario: Scenario) -> None:
    sc = scenario
    sk = _started(sc)
    watcher = sc.watch(sk)
    failures = sk.metric("sidekick_resource_failures_total", '{resource="db"}')
    sc.vault.seal()
    wait_for("KV re-reads to fail while sealed",
             lambda: sk.metric("sidekick_resource_failures_total", '{resource="db"}') > failures, 30)
    status, body = sk.ready()
    assert status == 200, f"sealed Vault, still-valid secrets: must stay ready ({body})"
    assert kv_password(sk.out) == sc.prov.kv_value
    sc.vault.unseal()
    _new_kv_arrives(sc, sk)
    sk.wait_ready(RECOVER)
    watcher.stop()
    watcher.assert_clean()
    assert sk.stop() == 0, sk.tail()


def test_token_revoked(scenario: Scenario) -> None:
    sc = scenario
    sk = _started(sc)
    watcher = sc.watch(sk)
    logins = sk.metric("sidekick_logins_total")
    accessors = sidekick_tokens(sc.vault)
    assert accessors, "the sidekick's token is not in Vault"
    for accessor in accessors:
        sc.vault.request("POST", "auth/token/revoke-accessor", {"accessor": accessor})
    _new_kv_arrives(sc, sk)
    assert sk.metric("sidekick_logins_total") > logins, "new data read without logging in again?"
    sk.wait_ready(RECOVER)
    watcher.stop()
    watcher.assert_clean()
    assert sk.stop() == 0, sk.tail()


def test_lease_revoked(scenario: Scenario) -> None:
    sc = scenario
    sk = _started(sc)
    watcher = sc.watch(sk)
    lease = wait_for("the OTP lease in the state file", lambda: otp_lease(sk.out), 30)
    key = otp_key(sk.out)
    sc.vault.request("PUT", "sys/leases/revoke", {"lease_id": lease})
    # The sidekick must replace the revoked secret, within the lease's 20 s TTL.
    wait_for("a new OTP after its lease was revoked",
             lambda: otp_key(sk.out) not in ("", key) and otp_lease(sk.out) not in ("", lease), 30)
    status, _ = sk.ready()
    assert status == 200
    watcher.stop()
    watcher.assert_clean()
    assert sk.stop() == 0, sk.tail()


def test_token_max_ttl_reached(short_token_scenario: Scenario) -> None:
    sc = short_token_scenario
    sk = _started(sc)
    watcher = sc.watch(sk)
    # A 4 s token renewable up to 10 s: the sidekick must notice the cap and log in again, repeatedly.
    wait_for("two more logins (token max_ttl reached twice)", lambda: sk.metric("sidekick_logins_total") >= 3,
             40, 0.5)
    assert sk.metric("sidekick_login_failures_total") == 0, sk.tail()
    _new_kv_arrives(sc, sk)
    sk.wait_ready(RECOVER)
    watcher.stop()
    watcher.assert_clean()
    assert sk.stop() == 0, sk.tail()


def test_password_rotated_relogin(scenario: Scenario) -> None:
    sc = scenario
    sk = _started(sc)
    watcher = sc.watch(sk)
    logins = sk.metric("sidekick_logins_total")
    new_password = secret_value("pw")
    sc.vault.request("POST", f"auth/userpass/users/{sc.prov.username}/password", {"password": new_password})
    sc.creds.rotate(sc.prov.username, new_password)  # kubelet-style ..data symlink swap
    for accessor in sidekick_tokens(sc.vault):  # force a login now rather than in an hour
        sc.vault.request("POST", "auth/token/revoke-accessor", {"accessor": accessor})
    _new_kv_arrives(sc, sk)
    assert sk.metric("sidekick_logins_total") > logins
    watcher.stop()
    watcher.assert_clean()
    assert sk.stop() == 0, sk.tail()


def test_output_dir_unwritable_then_writable(scenario: Scenario) -> None:
    sc = scenario
    sk = _started(sc)
    watcher = sc.watch(sk)
    os.chmod(sk.out, 0o500)  # the sidekick runs as uid 65534, owner of the directory
    try:
        value = secret_value("kv")
        put_kv(sc.vault, value)
        wait_for("write failures to be counted",
                 lambda: sk.metric("sidekick_resource_failures_total", '{resource="db"}') >= 1, 30)
        assert kv_password(sk.out) == sc.prov.kv_value, "the old file must stay in place, whole"
        assert any(r.get("msg") == "cannot write the secret files" for r in sk.log_records()), sk.tail()
        assert sk.alive()
    finally:
        os.chmod(sk.out, 0o750)
    wait_for("the new KV value once the directory is writable", lambda: kv_password(sk.out) == value,
             RECOVER)
    sk.wait_ready(RECOVER)
    leftovers = [n for n in os.listdir(sk.out) if "sidekick-tmp" in n]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    watcher.stop()
    watcher.assert_clean()
    assert sk.stop() == 0, sk.tail()


def test_sigterm_revokes_leases(scenario: Scenario) -> None:
    sc = scenario
    sk = _started(sc, otp_revoke=True)
    lease = wait_for("the OTP lease in the state file", lambda: otp_lease(sk.out), 30)
    assert _otp_leases(sc), "no OTP lease in Vault while the sidekick runs"
    assert sk.stop(signal.SIGTERM, 30) == 0, sk.tail()
    # every OTP lease this sidekick obtained is gone: the current one revoked at shutdown, older ones
    # revoked when they were replaced (revoke: true)
    left = _otp_leases(sc)
    assert left == [], f"leases still alive after SIGTERM with revoke: {left}; log:\n{sk.tail(40)}"
    assert any(r.get("msg") == "sidekick stopped" for r in sk.log_records()), sk.tail()
    # A second run on the same volume must not adopt a revoked lease from the state file.
    sk2 = sc.sidekick("sk2", otp_revoke=True, out=sk.out).start()
    sk2.wait_ready(START)
    assert wait_for("a fresh OTP lease", lambda: otp_lease(sk.out) not in ("", lease), 30)
    assert sk2.stop() == 0, sk2.tail()


def _otp_leases(sc: Scenario) -> list[str]:
    body = sc.vault.request("LIST", "sys/leases/lookup/ssh/creds/otp", ok=(200, 404))
    return list((body.get("data") or {}).get("keys") or [])


def test_corrupted_state_file(scenario: Scenario) -> None:
    sc = scenario
    sk = _started(sc)
    assert sk.stop() == 0, sk.tail()
    state = sk.out / ".sidekick-state.json"
    assert json.loads(state.read_text())["resources"], "no state saved"
    state.write_text('{"version": 1, "resources": {"tls": ')  # truncated, as after a crash mid-write
    sk2 = sc.sidekick("sk2", out=sk.out).start()  # same volume
    watcher = sc.watch(sk2)
    sk2.wait_ready(START, "/readyz 200 despite a corrupted state file")
    assert any("state file" in str(r.get("msg")) for r in sk2.log_records()), sk2.tail()
    wait_for("a valid state file again", lambda: json.loads(state.read_text())["resources"], 30)
    _new_kv_arrives(sc, sk2)
    watcher.stop()
    watcher.assert_clean()
    assert sk2.stop() == 0, sk2.tail()


def test_exit_codes(scenario: Scenario) -> None:
    sc = scenario
    # 2: bad configuration, one line naming the problem
    bad = sc.dir / "bad.yaml"
    bad.write_text("vault:\n  addr: http://127.0.0.1:1\n"
                   "resources:\n  - name: x\n    type: nope\n    path: a\n")
    proc = subprocess.run([str(SIDEKICK), "--config", str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "nope" in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    # 0: one-shot fetches everything and exits
    ok = sc.sidekick("oneshot", extra={"one_shot": True, "listen": ""})
    ok.start()
    assert ok.wait_exit(START) == 0, ok.tail()
    assert all_present(expected_files(ok.out))
    # 1: one-shot with Vault down gives up after its retries
    sc.vault.stop()
    down = sc.sidekick("oneshot-down", extra={"one_shot": True, "listen": "", "retries": 2})
    down.start()
    assert down.wait_exit(60) == 1, down.tail()
