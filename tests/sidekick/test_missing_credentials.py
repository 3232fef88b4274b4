"""A credentials file that lacks what its login needs is a permanent error: the real sidekick process, in
one-shot mode, exits 1 at once with one line naming the file and what is missing, never a secret, and
never asks Vault (before, these errors counted as network errors: six retries over 20-27 s)."""

from __future__ import annotations

import json
import pathlib

import pytest

from tests.sidekick.test_one_shot import PASSWORD, FakeVault, messages, sidekick, vault  # noqa: F401

CASES = {
    # file contents -> (what the error line must name)
    "no-password": ({"method": "userpass", "username": "app"}, "no password for userpass login"),
    "no-username": ({"method": "userpass", "password": PASSWORD}, "no username for userpass login"),
    "no-method": ({"username": "app", "password": PASSWORD}, "no token for token login"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_missing_credential_fails_at_once(case: str, vault: FakeVault,  # noqa: F811
                                          tmp_path: pathlib.Path) -> None:
    body, missing = CASES[case]
    creds = tmp_path / "login"
    creds.write_text(json.dumps(body))
    out = tmp_path / "out"
    result, took = sidekick(f"-vault={vault.addr}", f"-auth={creds}", "-one-shot", f"-output={out}",
                            "-cn=secret:secret/app:fmt=json,file=app.json")
    assert result.returncode == 1, result.stderr
    assert took < 3.0, took  # interpreter start-up only: no retry, no backoff
    assert vault.requests == []  # nothing was sent: the file alone decides
    errors = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")
              and json.loads(line).get("level") == "error"]
    final = [e for e in errors if "permanent error" in e["msg"]]
    assert len(final) == 1, result.stderr
    assert [e["msg"] for e in errors].count("Vault login failed") == 1, result.stderr  # tried once only
    assert str(creds) in final[0]["error"] and missing in final[0]["error"], final[0]
    assert PASSWORD not in result.stderr and "Traceback" not in result.stderr
    assert "one-shot: giving up, cannot log in to Vault (a permanent error, not retried)" in messages(
        result.stderr)
    assert not (out / "app.json").exists()


HUGE = b'{"method": "userpass", "username": "app", "password": "' + b"p" * 70_000 + b'"}'


# A file that is not UTF-8 is already refused when the configuration is read (exit 2); one that is too
# large for a login (but not for the start-up check) is refused at the first login (exit 1).
@pytest.mark.parametrize("content, says, code", [
    (HUGE, "larger than 64 KiB", 1),
    (b'{"method": "userpass", "username": "app\xff"}', "not UTF-8 text", 2),
])
def test_a_huge_or_binary_credentials_file_fails_at_once(content: bytes, says: str, code: int,
                                                          vault: FakeVault,  # noqa: F811
                                                          tmp_path: pathlib.Path) -> None:
    """Hostile input on the credentials mount: read through the bounded reader, refused without a retry."""
    creds = tmp_path / "login"
    creds.write_bytes(content)
    result, took = sidekick(f"-vault={vault.addr}", f"-auth={creds}", "-one-shot",
                            f"-output={tmp_path / 'out'}", "-cn=secret:secret/app:fmt=json,file=app.json")
    assert result.returncode == code, result.stderr
    assert took < 3.0, took
    assert vault.requests == []
    assert says in result.stderr and "Traceback" not in result.stderr
    assert "p" * 100 not in result.stderr  # the content never reaches the log
