"""The real Vault is the oracle for privilege escalation; `vaultconf validate` must agree with it.

For every policy of tests/engines/escalation_corpus.py, a token holding ONLY that policy tries every attempt
of tests/support/escalation_attempts.py against one Vault set up like the shipped stack (the world is reset
after each policy). Then the real CLI, `vaultconf validate --format json --stack dev`, runs as a subprocess on
a temporary copy of infra/config with that policy and a user holding it. Both directions are asserted:

* Vault allowed an escalation -> validate reports an error naming the policy (caught; else a miss);
* Vault allowed only a wide read -> validate reports a finding (warning or error) naming the policy;
* Vault refused every attempt -> validate reports no error for the policy (else a false positive), and no
  warning either (issue 11's own check: a safe policy gets no finding).

The counts are printed and recorded in docs/policy-analysis.md ("Oracle").
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from tests.engines.escalation_corpus import CORPUS, EscalationCase
from tests.fixtures.engines import engine_path
from tests.support.escalation_attempts import ATTEMPTS, Attempt
from tests.support.escalation_world import Actor, World, oracle_world
from tests.support.vault import VaultError

pytestmark = pytest.mark.engines

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = ROOT / "infra" / "config"
HOLDER = "oracle-holder"


@dataclasses.dataclass
class Verdict:
    """What Vault let one policy's holder do."""

    case: EscalationCase
    rules: dict[str, list[str]]
    escalations: list[str] = dataclasses.field(default_factory=list)
    wide_reads: list[str] = dataclasses.field(default_factory=list)

    @property
    def kind(self) -> str:
        return "escalation" if self.escalations else "wide-read" if self.wide_reads else "safe"


def _render(rules: dict[str, list[str]]) -> str:
    from vaultconf.hcl import render_policy

    return render_policy(rules)


def try_policy(world: World, case: EscalationCase) -> Verdict:
    """Every attempt, in order, by a holder of the case's policy and nothing else, up to the first escalation.

    A policy on which every attempt fails ran them all; test_every_attempt_can_succeed shows each attempt
    works, so such a verdict means "refused", not "untested".
    """
    verdict = Verdict(case, case.concrete_rules(world.userpass_accessor))
    actor = world.new_actor(case.name, _render(verdict.rules))
    try:
        for each in ATTEMPTS:
            evidence = _run(world, actor, each)
            if evidence and each.kind == "wide-read":
                verdict.wide_reads.append(f"{each.name}: {evidence}")
            elif evidence:
                verdict.escalations.append(f"{each.name}: {evidence}")
                break  # one proof is enough; later attempts would start from a changed world
    finally:
        world.drop_actor(actor)
        world.reset_if_dirty()
    return verdict


def _run(world: World, actor: Actor, each: Attempt) -> str | None:
    try:
        return each.run(world, actor)
    except (VaultError, OSError, KeyError) as err:  # the harness, not the policy, failed
        raise AssertionError(f"{actor.policy}: attempt '{each.name}' broke: {err}") from err


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    binary = engine_path("vault")
    try:
        with oracle_world(binary) as configured:
            yield configured
    except VaultError as err:
        pytest.fail(f"the oracle Vault failed: {err}", pytrace=False)


@pytest.fixture(scope="module")
def verdicts(world: World, pending_analysis: dict[str, Any]) -> dict[str, Verdict]:
    # pending_analysis is requested first so that validate already runs while Vault is tried.
    return {case.name: try_policy(world, case) for case in CORPUS}


# --- the analysis, through the real CLI ---------------------------------------------------------------------

def _validate(config_dir: pathlib.Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "VAULTCONF_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "vaultconf.cli", "validate", "--config-dir", str(config_dir), "--stack", "dev",
         "--format", "json"],
        capture_output=True, text=True, timeout=120, env=env, cwd=config_dir.parent, check=False)
    if proc.returncode not in (0, 1):
        raise AssertionError(f"vaultconf validate exited {proc.returncode}: {proc.stderr.strip()}")
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def findings_for(doc: dict[str, Any], policy: str) -> list[dict[str, Any]]:
    """The findings about `policy`: its `policy` key (docs/policy-analysis.md), else its field path."""
    return [finding for stack in doc["stacks"] for finding in stack["findings"]
            if finding.get("policy") == policy
            or str(finding.get("field", "")).startswith(f"policies[{policy}]")]


def analyse(case: EscalationCase, rules: dict[str, list[str]], workdir: pathlib.Path) -> list[dict[str, Any]]:
    """validate's findings for the shipped config plus this policy and a user holding it."""
    config = workdir / case.name / "config"
    shutil.copytree(SHIPPED_CONFIG, config)
    policy = {"name": case.name, "description": case.why, "rules": rules}
    extra = {"policies": [policy], "users": [{"name": HOLDER, "policies": [case.name]}]}
    (config / "base" / "zz-oracle.yaml").write_text(yaml.safe_dump(extra, sort_keys=False), encoding="utf-8")
    return findings_for(_validate(config), case.name)


@pytest.fixture(scope="module")
def pending_analysis(world: World) -> Iterator[dict[str, Future[list[dict[str, Any]]]]]:
    """validate runs for every policy, started in the background as soon as the accessor is known, so
    they overlap the attempts against Vault (they need nothing else from it)."""
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="escalation-oracle-"))
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        yield {case.name: pool.submit(analyse, case, case.concrete_rules(world.userpass_accessor), workdir)
               for case in CORPUS}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def analysis(pending_analysis: dict[str, Future[list[dict[str, Any]]]],
             verdicts: dict[str, Verdict]) -> dict[str, list[dict[str, Any]]]:
    return {name: future.result(timeout=600) for name, future in pending_analysis.items()}


# --- tests --------------------------------------------------------------------------------------------------

def test_corpus_spans_every_family() -> None:
    assert len(CORPUS) >= 40
    assert len({c.name for c in CORPUS}) == len(CORPUS)
    families = {c.family for c in CORPUS}
    assert families >= {"acl-policy", "mounts", "raw-seal-leases", "userpass", "auth-roles", "token",
                        "identity", "engine-config", "wide-read"}
    for family in families:
        expects = {c.expect for c in CORPUS if c.family == family}
        assert "safe" in expects and expects - {"safe"}, f"family {family} needs dangerous and safe cases"


def test_shipped_config_alone_has_no_error() -> None:
    doc = _validate(SHIPPED_CONFIG)
    assert doc["errors"] == 0, doc


# For each attempt, a corpus policy that must let it through.
PROOFS = {
    "read_other_team": "esc-read-all-kv", "rewrite_own_policy": "esc-acl-own",
    "other_password": "esc-up-password",
    "create_user": "esc-up-users", "own_user_policies": "esc-up-own-policies",
    "approle_secret_id": "esc-ar-secret-id", "approle_role": "esc-ar-roles", "kube_role": "esc-k8s-roles",
    "kube_repoint": "esc-k8s-config", "jwt_role": "esc-jwt-roles", "jwt_repoint": "esc-jwt-config",
    "token_role": "esc-tok-ops", "join_group": "esc-id-group-name", "entity_policies": "esc-id-own-entity",
    "alias_takeover": "esc-id-alias", "remount": "esc-remount", "raw_read": "esc-raw",
    "enable_mount": "esc-auth-enable", "tune_mount": "esc-mount-tune", "disable_mount": "esc-mount-disable",
    "audit": "esc-audit-enable", "plugin": "esc-plugin", "revoke_others": "esc-revoke-prefix",
    "orphan_token": "esc-tok-orphan", "pki_role": "esc-pki-role", "pki_sign": "esc-pki-sign-int",
    "aws": "esc-aws-root", "database": "esc-db-config", "seal": "esc-seal",
    "foreign_certificate": "esc-pki-sign",
}


def test_every_attempt_can_succeed(world: World, pending_analysis: dict[str, Any]) -> None:
    """An attempt that can never succeed (a broken one) would make dangerous policies look safe.

    (pending_analysis only starts the validate runs early, to overlap this test.)"""
    cases = {c.name: c for c in CORPUS}
    assert set(PROOFS) == {a.run.__name__ for a in ATTEMPTS}, "every attempt needs a proving policy"
    failed = []
    for each in ATTEMPTS:
        case = cases[PROOFS[each.run.__name__]]
        actor = world.new_actor(case.name, _render(case.concrete_rules(world.userpass_accessor)))
        try:
            if not _run(world, actor, each):
                failed.append(f"'{each.name}' failed for {case.name} {case.rules}")
        finally:
            world.drop_actor(actor)
            world.reset_if_dirty()
    assert not failed, "\n".join(failed)


def test_vault_allows_what_the_corpus_predicts(verdicts: dict[str, Verdict]) -> None:
    """Guards the attempts themselves: a dangerous policy Vault 'refused' would hide a broken attempt."""
    wrong = [f"{v.case.name} {v.rules}: corpus says {v.case.expect}, Vault: {v.kind} "
             f"{v.escalations or v.wide_reads}" for v in verdicts.values() if v.kind != v.case.expect]
    assert not wrong, "\n".join(wrong)


def test_analysis_agrees_with_vault(verdicts: dict[str, Verdict], analysis: dict[str, list[dict[str, Any]]],
                                    request: pytest.FixtureRequest) -> None:
    def errors(name: str) -> list[dict[str, Any]]:
        return [f for f in analysis[name] if f["severity"] == "error"]

    allowed = [v for v in verdicts.values() if v.kind == "escalation"]
    wide = [v for v in verdicts.values() if v.kind == "wide-read"]
    refused = [v for v in verdicts.values() if v.kind == "safe"]
    misses = [v for v in allowed if not errors(v.case.name)]
    unwarned = [v for v in wide if not analysis[v.case.name]]
    false_positives = [v for v in refused if errors(v.case.name)]
    # Issue 11's own check is stricter: a safe policy gets no finding at all, not even a warning.
    noisy = [v for v in refused if analysis[v.case.name] and v not in false_positives]
    counts = (f"escalation oracle: corpus {len(verdicts)}, escalations Vault allowed {len(allowed)}, "
              f"caught {len(allowed) - len(misses)}, misses {len(misses)}; "
              f"wide reads Vault allowed {len(wide)}, "
              f"reported {len(wide) - len(unwarned)}; refused everything {len(refused)}, "
              f"false positives {len(false_positives)}, warnings on them {len(noisy)}")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(counts)
    print(counts)
    problems = (
        [f"MISS {v.case.name} {v.rules}: Vault allowed {v.escalations[0]}; validate: "
         f"{[f['message'] for f in analysis[v.case.name]] or 'no finding'}" for v in misses]
        + [f"UNREPORTED WIDE READ {v.case.name} {v.rules}: Vault allowed {v.wide_reads[0]}" for v in unwarned]
        + [f"FALSE POSITIVE {v.case.name} {v.rules}: Vault refused every attempt; validate: "
           f"{[f['message'] for f in errors(v.case.name)]}" for v in false_positives]
        + [f"WARNING ON A SAFE POLICY {v.case.name} {v.rules}: Vault refused every attempt; validate: "
           f"{[f['message'] for f in analysis[v.case.name]]}" for v in noisy]
    )
    assert not problems, counts + "\n" + "\n".join(problems)
