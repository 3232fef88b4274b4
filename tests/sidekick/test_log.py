"""JSON logs never carry secret values."""

from __future__ import annotations

import io
import json

from sidekick.log import Logger


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_and_levels() -> None:
    out = io.StringIO()
    log = Logger(out, "info")
    log.debug("hidden")
    log.info("hello", resource="db", n=3)
    [record] = lines(out)
    assert record["msg"] == "hello" and record["resource"] == "db" and record["n"] == 3
    assert record["level"] == "info" and str(record["ts"]).endswith("Z")


def test_registered_values_are_masked_everywhere() -> None:
    out = io.StringIO()
    log = Logger(out)
    log.redact("res:db", {"password": "hunter2-very-secret", "nested": {"k": "another-secret"}})
    log.error("failed with hunter2-very-secret inside", error="x another-secret y")
    text = out.getvalue()
    assert "hunter2" not in text and "another-secret" not in text and "[redacted]" in text


def test_secretish_field_names_are_masked_but_paths_kept() -> None:
    out = io.StringIO()
    log = Logger(out)
    log.info("login", token="abc", password="p", secret_id="s", token_file="/var/run/token", path="kv/x")
    [record] = lines(out)
    assert record["token"] == record["password"] == record["secret_id"] == "[redacted]"
    assert record["token_file"] == "/var/run/token" and record["path"] == "kv/x"


def test_rotated_values_replace_old_ones() -> None:
    log = Logger(io.StringIO())
    log.redact("res:a", "first-secret")
    log.redact("res:a", "second-secret")
    assert log.scrub("first-secret second-secret") == "first-secret [redacted]"
    log.redact("res:b", "x")  # tiny values are not masked (they would garble every line)
    assert log.scrub("x marks") == "x marks"


def test_pem_lines_are_masked() -> None:
    log = Logger(io.StringIO())
    key = "-----BEGIN KEY-----\nMIIBVwIBADANBgkqhkiG9w0BAQEFAASCAUEwggE9AgEAAkEA\n-----END KEY-----"
    log.redact("res:tls", {"private_key": key})
    assert "MIIBVwIBADAN" not in log.scrub("oops: MIIBVwIBADANBgkqhkiG9w0BAQEFAASCAUEwggE9AgEAAkEA")
