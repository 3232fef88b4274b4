"""One contract, checked from both ends: every sidekick config the component library can emit
(`sidekick_container`, which `Workload` uses) is accepted by the sidekick's own loader unchanged, and loads
to the same meaning — names, paths, files, formats, modes, durations as typed seconds, hooks, timing."""

from __future__ import annotations

import copy
import json
import pathlib
import tempfile
from typing import Any

import vaultconf as vc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sidekick import contract
from sidekick.config import Config
from sidekick.config_file import checker, fold_case, load_file
from vaultconf.ttl import parse_ttl

DURATIONS = st.one_of(st.integers(0, 10**6), st.sampled_from(["90s", "5m", "1h30m", "2d", "45", "0s"]))
NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,9}", fullmatch=True)
SEGMENT = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,5}", fullmatch=True).filter(lambda s: s not in (".", ".."))
PARAMS = st.dictionaries(st.from_regex(r"[a-z][a-z_]{0,7}", fullmatch=True),
                         st.one_of(st.text(max_size=8), st.integers(-5, 5000)), max_size=3)


@st.composite
def hooks(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["exec"] = draw(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3))
        if draw(st.booleans()):
            out["env"] = draw(st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True),
                                              st.text(max_size=8), max_size=2))
    else:
        out["http"] = {"url": draw(st.sampled_from(["http://127.0.0.1:8080/-/reload", "https://app:8443/r"]))}
        if draw(st.booleans()):
            out["http"]["method"] = draw(st.sampled_from(["GET", "POST", "PUT"]))
    for key in ("timeout", "debounce"):
        if draw(st.booleans()):
            out[key] = draw(DURATIONS)
    return out


@st.composite
def secret(draw: Any, name: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(contract.TYPES))
    out: dict[str, Any] = {"name": name, "type": kind,
                           "path": "/".join(draw(st.lists(SEGMENT, min_size=2, max_size=4)))}
    if draw(st.booleans()):
        out["path"] = f"/{out['path']}/"  # slashes around are trimmed by the component
    params = draw(PARAMS)
    if kind == "pki":
        params["common_name"] = "a.example"
    if params:
        out["params"] = params
    optional: dict[str, st.SearchStrategy[Any]] = {
        "kv_version": st.sampled_from([1, 2]),
        "version": st.integers(1, 50),
        "file": st.lists(SEGMENT, min_size=1, max_size=3).map("/".join).map(lambda f: f"{name}-{f}"),
        "format": st.sampled_from(contract.FORMATS),
        "mode": st.sampled_from(["0600", "0640", "0440", "600", "0400"]),
        "update": DURATIONS,
        "renew": st.booleans(),
        "revoke": st.booleans(),
        "jitter": st.floats(0, 1),
        "on_change": hooks(),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            out[key] = draw(strategy)
    if out.get("format") == "template":
        out["template"] = draw(st.text(min_size=1, max_size=20))
    return out


@st.composite
def secrets(draw: Any) -> list[dict[str, Any]]:
    # names share no prefix, so files never collide (a collision is the sidekick's Claims' refusal)
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique_by=lambda n: n.lower()[:1]))
    return [draw(secret(f"{i}{name}")) for i, name in enumerate(names)]


TIMING = st.fixed_dictionaries({}, optional={
    "renew_fraction": st.floats(0.1, 0.95),
    "safety_buffer": DURATIONS, "kv_update": DURATIONS, "backoff_initial": DURATIONS,
    "backoff_cap": DURATIONS,
})


def expected_format(given: dict[str, Any]) -> str:
    return given.get("format") or {"pki": "cert", "aws": "aws"}.get(given["type"], "json")


def assert_same_meaning(given: dict[str, Any], res: Any) -> None:
    assert (res.name, res.type, res.path) == (given["name"], given["type"], given["path"].strip("/"))
    assert res.filename == given.get("file", given["name"])
    assert res.format == expected_format(given)
    assert res.mode == int(given.get("mode", "0640"), 8)
    params = dict(given.get("params") or {})
    if "version" in given:
        params["version"] = given["version"]
    assert res.params == params and res.kv_version == given.get("kv_version", 0)
    assert res.update == (parse_ttl(given["update"], "t", "update") if "update" in given else None)
    assert (res.renew, res.revoke) == (given.get("renew", True), given.get("revoke", False))
    assert res.jitter == given.get("jitter", 0.1) and res.max_jitter == 0.0
    assert res.template == given.get("template", "")
    hook = given.get("on_change") or {}
    assert res.hooks.exec == hook.get("exec", [])
    assert res.hooks.env == hook.get("env", {})
    web = hook.get("http") or {}
    assert (res.hooks.http_url, res.hooks.http_method) == (web.get("url", ""), web.get("method", "POST"))
    assert res.hooks.exec_timeout == parse_ttl(hook.get("timeout", 60), "t", "timeout")
    assert res.hooks.debounce == parse_ttl(hook.get("debounce", 1), "t", "debounce")
    assert not res.hooks.signal_name


AUTH = vc.SidekickAuth(method="userpass", mount="userpass", secret_name="vault-login")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secrets(), TIMING, st.sampled_from(["sidecar", "one-shot"]))
def test_every_emitted_config_loads_unchanged_to_the_same_meaning(
        given: list[dict[str, Any]], timing: dict[str, Any], mode: str) -> None:
    parts = vc.sidekick_container(image="sidekick:1", vault_addr="https://vault.example:8200", auth=AUTH,
                                  secrets=copy.deepcopy(given), config_map="cm", mode=mode,  # type: ignore[arg-type]
                                  timing=timing)
    with tempfile.TemporaryDirectory() as tmp:
        for file_name, text in parts.config_files.items():
            data = json.loads(text)
            assert fold_case(copy.deepcopy(data)) == data  # nothing for the sidekick to normalise
            checker().check(data)  # the sidekick's schema, as the sidekick enforces it
            path = pathlib.Path(tmp) / file_name
            path.write_text(text)
            cfg = load_file(str(path))
            assert isinstance(cfg, Config)
            cfg.validate()  # its cross-field checks too: file claims, one owner per file
            assert cfg.one_shot == (file_name == "sidekick-once.json")
            assert (cfg.vault_addr, cfg.auth_method, cfg.auth_mount) == (
                "https://vault.example:8200", "userpass", "userpass")
            assert len(cfg.resources) == len(given)
            for want, res in zip(given, cfg.resources, strict=True):
                assert_same_meaning(want, res)
            defaults = Config()
            assert cfg.renew_fraction == timing.get("renew_fraction", defaults.renew_fraction)
            for key in ("safety_buffer", "kv_update", "backoff_initial", "backoff_cap"):
                want = parse_ttl(timing[key], "t", key) if key in timing else getattr(defaults, key)
                assert getattr(cfg, key) == want, key


def test_durations_travel_as_numbers() -> None:
    """Typed once: the component turns "5m" into 300 and the sidekick reads a number, no text re-parse."""
    parts = vc.sidekick_container(image="s", vault_addr="https://v:8200", auth=AUTH, config_map="cm",
                                  secrets=[{"name": "a", "type": "kv", "path": "kv/a", "update": "5m",
                                            "on_change": {"exec": ["/x"], "timeout": "1m"}}],
                                  timing={"kv_update": "2m"})
    entry = parts.config["resources"][0]
    assert entry["update"] == 300 and entry["on_change"]["timeout"] == 60
    assert parts.config["timing"] == {"kv_update": 120}


def test_a_file_two_secrets_would_write_is_refused_at_preview() -> None:
    """The sidekick's own file rules (sidekick.outputs.Claims) run in the component: a certificate's
    tls.crt claimed by another secret, or a '..' name the sidekick reserves, fail `pulumi preview`."""
    import pytest

    cert = {"name": "a", "type": "pki", "path": "pki/issue/web", "params": {"common_name": "a.example"},
            "file": "tls"}
    for file, message in (("tls.crt", "both write"), ("..b", "starts with '..'")):
        other = {"name": "b", "type": "kv", "path": "kv/b", "file": file}
        with pytest.raises(vc.ConfigError, match=message):
            vc.sidekick_container(image="s", vault_addr="https://v:8200", auth=AUTH, config_map="cm",
                                  secrets=[cert, other])  # type: ignore[list-item]
