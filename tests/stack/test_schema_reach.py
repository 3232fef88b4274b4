"""Every field of the YAML schema reaches a component argument: none is accepted and then dropped.

The fixture `tests/stack/data/reach/` sets every leaf of the JSON Schema once (the test first proves it
covers them all, so a new schema field fails here until it gets a value). The real stack program runs on it
under Pulumi mocks, and each leaf must then show up in what the program registered:

* text, lists, maps and durations are *found*: the value (a duration as its seconds, or as "<n>s") appears in
  some resource's inputs, looked for inside JSON text too (the sidekick config is a ConfigMap of JSON);
* booleans, enums and numbers are too common to be found by value, so they are *changed*: the program runs
  again with another value and must register something different.

A few fields are for people or for `vaultconf validate` only; they are listed in NOT_FOR_COMPONENTS, each
with the reason, and the test fails if one of them starts reaching a component (then drop it from the list).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import pathlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml
from vaultconf.config.schema_def import SCHEMA, TTL_PATTERN
from vaultconf.config.settings import seed_config_key
from vaultconf.testing import MockRun, RecordingMocks, default_outputs
from vaultconf.ttl import parse_ttl

from tests.stack._program import run_stack, stack_config

FIXTURE = pathlib.Path(__file__).resolve().parent / "data" / "reach"
EVERYTHING = FIXTURE / "base" / "everything.yaml"
OVERLAY_FILE = FIXTURE / "dev" / "overlay.yaml"  # for the few fields only an overlay may set
REVIEWER_JWT = "reach-reviewer-jwt"

NOT_FOR_COMPONENTS = {
    "users[].description": "free text for humans",
    "policies[].description": "free text for humans",
    "policies[].lint_ignore": "read by vaultconf validate's lint only",
    "pki.cas[].type": "checked by validate; the component knows an intermediate by its issuer",
    "settings.dev_overlay": "read by validate only (which stacks may use validation: warn)",
}

# `external: true` decides whether the stack registers the object at all (another stack owns it), not what it
# registers: an external object carries only its name and mount, so the flag cannot flip alone. The stack
# program's handling of it is tested in tests/stack/test_external.py.
OWNERSHIP = {"pki.cas[].external", "pki.roles[].external", "aws.engine.external", "aws.roles[].external",
             "kv[].external", "kubernetes_auth.external", "approle.external"}

# Another valid value for the leaves that are changed rather than found (default: the next enum member,
# `not` for booleans, +1 for integers, half for numbers).
OTHER = {
    "pki.cas[].key_bits": 521,
    "pki.roles[].key_bits": 384,
    "pki.cas[].key_type": "ec",  # only the first CA is changed: ec 384 -> rsa would need other bits
    "workloads[].kind": "Job",
    "workloads[].secrets[].type": "secret",
    "workloads[].secrets[].format": "yaml",
    "workloads[].secrets[].kv_version": 1,
    "aws.roles[].credential_type": "federation_token",
}
OTHER_KEY_TYPE = {"pki.cas[].key_type": ("rsa", {"key_bits": 2048})}


# --- the schema's leaves -------------------------------------------------------------------------------


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def schema_leaves(node: Mapping[str, Any] | None = None, path: str = "") -> dict[str, Mapping[str, Any]]:
    """Leaf path (`workloads[].secrets[].on_change.timeout`) -> its schema node."""
    node = _resolve(node if node is not None else SCHEMA)
    out: dict[str, Mapping[str, Any]] = {}
    if node.get("type") == "object" and "properties" in node:
        for key, sub in node["properties"].items():
            out.update(schema_leaves(sub, f"{path}.{key}" if path else key))
        return out
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict) and "$ref" in items:
        return schema_leaves(items, f"{path}[]")
    for branch in node.get("anyOf", ()):  # a policy rule: a capability list, or an object with more fields
        if branch.get("type") == "object" and "properties" in branch:
            for key, sub in branch["properties"].items():
                out.update(schema_leaves(sub, f"{path}.{key}"))
            return out
    return {path: node}


def instances(tree: Any, path: str) -> Iterator[tuple[list[Any], Any]]:
    """(location, value) of every instance of a leaf path in a YAML tree; a location is a list of keys and
    list indexes, so a copy of the tree can be changed at it."""
    # policies rules: path is `policies[].rules.capabilities` etc. with the rule's path as a dynamic key
    parts = re.findall(r"[^.\[\]]+|\[\]", path)

    def walk(node: Any, rest: list[str], where: list[Any]) -> Iterator[tuple[list[Any], Any]]:
        if not rest:
            yield where, node
            return
        head, tail = rest[0], rest[1:]
        if head == "[]":
            for i, item in enumerate(node if isinstance(node, list) else []):
                yield from walk(item, tail, [*where, i])
        elif isinstance(node, dict) and head in node:
            yield from walk(node[head], tail, [*where, head])
        elif isinstance(node, dict) and where and where[-1] == "rules":
            for key, rule in node.items():  # the rule's object form under a path pattern
                if isinstance(rule, dict):
                    yield from walk(rule, rest, [*where, key])

    yield from walk(tree, parts, [])


def _set(tree: Any, where: list[Any], value: Any) -> None:
    for key in where[:-1]:
        tree = tree[key]
    tree[where[-1]] = value


# --- running the stack on a tree -----------------------------------------------------------------------


def _outputs(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The mocks' outputs, plus what the token controller writes into a service-account-token Secret."""
    out = default_outputs(typ, name, inputs)
    if typ == "kubernetes:core/v1:Secret" and inputs.get("type") == "kubernetes.io/service-account-token":
        out["data"] = {"token": base64.b64encode(REVIEWER_JWT.encode()).decode()}
    return out


def run_tree(tree: Mapping[str, Any], tmp: pathlib.Path, overlay: Mapping[str, Any] | None = None) -> MockRun:
    config_dir = tmp / "config"
    (config_dir / "base").mkdir(parents=True, exist_ok=True)
    (config_dir / "dev").mkdir(exist_ok=True)
    overlay = OVERLAY if overlay is None else overlay
    (config_dir / "dev" / "overlay.yaml").write_text(yaml.safe_dump(dict(overlay)), encoding="utf-8")
    (config_dir / "base" / "everything.yaml").write_text(yaml.safe_dump(dict(tree)), encoding="utf-8")
    config = stack_config("dev", configDir=str(config_dir))
    for store in tree.get("kv", []):
        for secret in store.get("secrets", []):
            for key in secret["keys"]:
                config[f"vaultconf:{seed_config_key(store['name'], secret['name'], key)}"] = f"seed-{key}"
    return run_stack("dev", config, RecordingMocks(outputs=_outputs))


def _atoms(value: Any, out: set[Any]) -> None:
    """Every scalar and mapping key in `value`, looking inside JSON text and YAML-ish config files."""
    if isinstance(value, Mapping):
        for key, sub in value.items():
            out.add(str(key))
            _atoms(sub, out)
    elif isinstance(value, list | tuple):
        for sub in value:
            _atoms(sub, out)
    elif isinstance(value, str):
        out.add(value)
        if value[:1] in "{[":
            with contextlib.suppress(ValueError):
                _atoms(json.loads(value), out)
    else:
        out.add(value)


def registered(run: MockRun) -> tuple[set[Any], list[str]]:
    """The atoms of every input of every resource, and all string atoms (for substring search: HCL)."""
    atoms: set[Any] = set()
    for rec in run.resources:
        _atoms(rec.inputs, atoms)
        _atoms(rec.outputs, atoms)  # a component's register_outputs
    return atoms, [a for a in atoms if isinstance(a, str)]


def fingerprint(run: MockRun) -> list[str]:
    return sorted(json.dumps([r.type, r.name, r.inputs], sort_keys=True, default=str) for r in run.resources)


# --- finding a value -----------------------------------------------------------------------------------


def _found(value: Any, atoms: set[Any], texts: list[str]) -> bool:
    if isinstance(value, Mapping):
        return all(_found(k, atoms, texts) and _found(v, atoms, texts) for k, v in value.items())
    if isinstance(value, list):
        return all(_found(v, atoms, texts) for v in value)
    if isinstance(value, bool):
        return value in atoms
    if isinstance(value, int | float):
        return value in atoms or str(value) in atoms or f"{value}s" in atoms
    text = str(value)
    if re.fullmatch(TTL_PATTERN, text):  # a duration: components pass seconds, the sidekick config "<n>s"
        seconds = parse_ttl(text, "test", "value")
        if seconds in atoms or f"{seconds}s" in atoms:
            return True
    return text in atoms or any(text in t for t in texts)


def _changed_value(path: str, node: Mapping[str, Any], value: Any) -> Any:
    if path in OTHER:
        return OTHER[path]
    node = _resolve(node)
    if "enum" in node:
        options = [v for v in node["enum"] if v != value]
        return options[0]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return round(value / 2 + 0.1, 3)
    raise AssertionError(f"{path}: no other value for {value!r}")


def _changes_instead(value: Any) -> bool:
    """Booleans, enums and numbers are not distinctive enough to be found by value."""
    return isinstance(value, bool | int | float)


# --- the tests -----------------------------------------------------------------------------------------

TREE = yaml.safe_load(EVERYTHING.read_text(encoding="utf-8"))
OVERLAY = yaml.safe_load(OVERLAY_FILE.read_text(encoding="utf-8")) or {}
LEAVES = schema_leaves()


def test_the_fixture_sets_every_leaf_of_the_schema() -> None:
    missing = [
        path for path in LEAVES if not list(instances(TREE, path)) and not list(instances(OVERLAY, path))
    ]
    assert not missing, f"give these schema fields a value in {EVERYTHING} (or {OVERLAY_FILE}): {missing}"
    assert len(LEAVES) > 100  # the walk really went through the $refs


def _first(path: str) -> Any:
    """The fixture's first value at `path` (None when missing: the coverage test names it)."""
    return next(instances(TREE, path), (None, None))[1]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> MockRun:
    return run_tree(TREE, tmp_path_factory.mktemp("reach"))


def test_every_distinctive_value_is_found_in_a_registered_resource(baseline: MockRun) -> None:
    atoms, texts = registered(baseline)
    lost = []
    for path in LEAVES:
        for where, value in instances(TREE, path):
            if _changes_instead(value) or path in NOT_FOR_COMPONENTS:
                continue
            if not _found(value, atoms, texts):
                lost.append(f"{path} at {where}: {value!r}")
    assert not lost, "accepted by the schema but reaching no component:\n" + "\n".join(lost)


@pytest.mark.parametrize(
    "path",
    [p for p in LEAVES if p not in NOT_FOR_COMPONENTS and p not in OWNERSHIP and _changes_instead(_first(p))],
)
def test_changing_a_flag_enum_or_number_changes_what_is_registered(
    path: str, baseline: MockRun, tmp_path: pathlib.Path
) -> None:
    where, value = next(instances(TREE, path))
    tree = copy.deepcopy(TREE)
    other = _changed_value(path, LEAVES[path], value)
    _set(tree, where, other)
    if path in OTHER_KEY_TYPE:
        other, extra = OTHER_KEY_TYPE[path]
        _set(tree, where, other)
        for key, val in extra.items():
            _set(tree, [*where[:-1], key], val)
    changed = run_tree(tree, tmp_path)
    assert fingerprint(changed) != fingerprint(baseline), f"{path}: {value!r} -> {other!r} changed nothing"


def test_the_documented_exceptions_really_reach_nothing(baseline: MockRun, tmp_path: pathlib.Path) -> None:
    tree, overlay = copy.deepcopy(TREE), copy.deepcopy(OVERLAY)
    for path in NOT_FOR_COMPONENTS:
        if path == "pki.cas[].type":
            continue  # changing it alone fails validation (an intermediate needs an issuer)
        for doc in (tree, overlay):
            for where, value in list(instances(doc, path)):
                changed = (
                    not value
                    if isinstance(value, bool)
                    else []
                    if isinstance(value, list)
                    else "changed text"
                )
                _set(doc, where, changed)
    assert fingerprint(run_tree(tree, tmp_path, overlay)) == fingerprint(baseline)


def test_new_fields_reach_vault_and_kubernetes_as_named(baseline: MockRun) -> None:
    """Spot checks of the fields added for hardening, by name, where they land."""
    k8s_roles = {
        r.inputs["roleName"]: r.inputs
        for r in baseline.of_type("vault:kubernetes/authBackendRole:AuthBackendRole")
    }
    assert k8s_roles["reach-k8s"]["audience"] == "reach-role-audience"
    assert k8s_roles["reach-k8s-default"]["audience"] == "reach-audience"  # the mount's default
    config = baseline.one("vault:kubernetes/authBackendConfig:AuthBackendConfig")
    assert config.inputs["tokenReviewerJwt"] == REVIEWER_JWT and "tokenReviewerJwt" in config.secret_inputs
    binding = baseline.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").inputs
    assert binding["roleRef"]["name"] == "system:auth-delegator"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "reach-reviewer", "namespace": "reach-reviewers"}
    ]
    approle = baseline.one("vault:appRole/authBackendRole:AuthBackendRole").inputs
    assert approle["secretIdTtl"] == 4719 and approle["secretIdNumUses"] == 7
    assert approle["secretIdBoundCidrs"] == ["10.47.0.0/16"] and approle["tokenBoundCidrs"] == [
        "10.48.0.0/16"
    ]
    deployment = next(
        r.inputs for r in baseline.of_type("kubernetes:apps/v1:Deployment") if "reach-app" in r.name
    )
    pod = deployment["spec"]["template"]["spec"]
    token = next(v for v in pod["volumes"] if v["name"] == "vault-token")["projected"]["sources"][0]
    assert token["serviceAccountToken"]["audience"] == "reach-role-audience"
    app = next(c for c in pod["containers"] if c["name"] == "app")
    assert app["ports"] == [{"containerPort": 8765, "protocol": "TCP"}]
    assert app["securityContext"]["runAsUser"] == 4242
    assert deployment["spec"]["template"]["metadata"]["labels"]["reach.example/team"] == "reach-team"
