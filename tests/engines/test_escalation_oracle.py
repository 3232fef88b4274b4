"""The real Vault is the oracle for privilege escalation; `vaultconf validate` must agree with it.

For every policy of tests/engines/escalation_corpus.py, a token holding ONLY that policy tries every attempt
of tests/support/escalation_attempts.py against one Vault set up like the shipped stack (the world is reset
after each policy). Then the real CLI, `vaultconf validate --format json --stack dev`, runs as a subprocess on
a temporary copy of infra/config with that policy and a user holding it. Both directions are asserted:

* Vault allowed an escalation -> validate reports an error naming the policy (caught; else a miss);
* Vault allowed only a wide read -> validate reports a finding (warning or error) naming the policy;
* Vault refused every attempt -> validate reports no error for the policy (else a false positive).

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
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from tests.engines.escalation_corpus import CORPUS, EscalationCase
from tests.fixtures.engines import engine_path
from tests.support.escalation_attempts import ATTEMPTS
from tests.support.escalation_world import World, oracle_world
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
    succeeded: set[str] = dataclasses.field(default_factory=set)  # names of the attempts Vault allowed

    @property
    def kind(self) -> str:
        return "escalation" if self.escalations else "wide-read" if self.wide_reads else "safe"


def _render(rules: dict[str, list[str]]) -> str:
    from vaultconf.hcl import render_policy

    return render_policy(rules)


def try_policy(world: World, case: EscalationCase) -> Verdict:
    """Every attempt, in order, by a holder of the case's policy and nothing else.

    After an escalation the world is reset and the holder re-created, so each attempt starts from the
    shipped state (an earlier success, e.g. joining the privileged group, must not lend its rights).
    """
    verdict = Verdict(case, case.concrete_rules(world.userpass_accessor))
    hcl = _render(verdict.rules)
    actor = world.new_actor(case.name, hcl)
    try:
        for each in ATTEMPTS:
            try:
                evidence = each.run(world, actor)
            except (VaultError, OSError, KeyError) as err:  # the harness, not the policy, failed
                raise AssertionError(f"{case.name}: attempt '{each.name}' broke: {err}") from err
            if not evidence:
                continue
            verdict.succeeded.add(each.name)
            if each.kind == "wide-read":
                verdict.wide_reads.append(f"{each.name}: {evidence}")
                continue
            verdict.escalations.append(f"{each.name}: {evidence}")
            world.drop_actor(actor)
            world.reset()
            actor = world.new_actor(case.name, hcl)
    finally:
        world.drop_actor(actor)
        world.reset()
    return verdict


@pytest.fixture(scope="module")
def verdicts() -> Iterator[dict[str, Verdict]]:
    binary = engine_path("vault")
    try:
        with oracle_world(binary) as world:
            yield {case.name: try_policy(world, case) for case in CORPUS}
    except VaultError as err:
        pytest.fail(f"the oracle Vault failed: {err}", pytrace=False)


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


def analyse(verdict: Verdict, workdir: pathlib.Path) -> list[dict[str, Any]]:
    """validate's findings for the shipped config plus this policy and a user holding it."""
    config = workdir / verdict.case.name / "config"
    shutil.copytree(SHIPPED_CONFIG, config)
    policy = {"name": verdict.case.name, "description": verdict.case.why, "rules": verdict.rules}
    extra = {"policies": [policy],
             "users": [{"name": HOLDER, "policies": [verdict.case.name]}]}
    (config / "base" / "zz-oracle.yaml").write_text(yaml.safe_dump(extra, sort_keys=False), encoding="utf-8")
    return findings_for(_validate(config), verdict.case.name)


@pytest.fixture(scope="module")
def analysis(verdicts: dict[str, Verdict]) -> Iterator[dict[str, list[dict[str, Any]]]]:
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="escalation-oracle-"))
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = pool.map(lambda v: analyse(v, workdir), verdicts.values())
            found = dict(zip(verdicts, answers, strict=True))
        yield found
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


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


def test_every_attempt_succeeds_somewhere(verdicts: dict[str, Verdict]) -> None:
    """An attempt Vault never allows may be broken, and would make dangerous policies look safe."""
    proven = set().union(*(v.succeeded for v in verdicts.values()))
    assert not {a.name for a in ATTEMPTS} - proven


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
    counts = (f"escalation oracle: corpus {len(verdicts)}, escalations Vault allowed {len(allowed)}, "
              f"caught {len(allowed) - len(misses)}, misses {len(misses)}; "
              f"wide reads Vault allowed {len(wide)}, "
              f"reported {len(wide) - len(unwarned)}; refused everything {len(refused)}, "
              f"false positives {len(false_positives)}")
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
    )
    assert not problems, counts + "\n" + "\n".join(problems)
