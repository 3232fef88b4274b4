"""One organisation split across stacks (docs/scaling.md), on the real engine: a platform stack owning the
userpass and kubernetes auth mounts, a CA with its roles, the AWS engine with a role and a KV store; two team
stacks whose YAML names those with `external: true` and owns its policies, users, workloads (and team B its
kubernetes auth role, on the platform's mount). One Vault dev server, the session's kube-apiserver, one file
backend, the real `infra/` program for every stack.

The platform goes up first, then both teams at once through `vaultconf.split` (the Automation API runner);
then: the teams' objects are in Vault and Kubernetes (real reads; a team user, with the password its stack
published, and team B's ServiceAccount, through the platform's kubernetes mount, each issue a certificate from
the platform's CA), no stack registered the platform's objects but the platform, every stack's preview is
empty (`--expect-no-changes`), and a team naming a CA the platform does not export fails its preview and its
up with one clear error (the object, its file and line, what to write) before anything reaches Vault.
"""

from __future__ import annotations

import base64
import json
import pathlib
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.stack import SIDEKICK_IMAGE, copy_project
from tests.fixtures.engines import engine_path
from tests.support.kube import SERVICE_ACCOUNT_ISSUER, KubeAPIServer
from tests.support.pulumi import REQUIRED_ENGINES, WRAPPER, Workspace, new_workspace
from tests.support.vault import VaultDevServer

pytestmark = [pytest.mark.engines, pytest.mark.slow]

PLATFORM = "split-platform"
TEAMS = ("split-team-a", "split-team-b")
BAD = "split-team-bad"
PLATFORM_REF = f"organization/vaultconf/{PLATFORM}"
OVERLAY = "dev"

PLATFORM_YAML = """\
settings:
  userpass_mount: userpass-split
policies:
  - name: split-ops
    rules:
      kv-split/metadata/ops/*: [list]
users:
  - name: split-ops
    policies: [split-ops]
pki:
  cas:
    - {name: split-ca, mount: pki-split, type: root, common_name: Split Root CA, ttl: 87600h, key_type: ec,
       key_bits: 256}
  roles:
    - {name: team-a-web, ca: split-ca, allowed_domains: [team-a.svc], allow_subdomains: true, max_ttl: 72h,
       key_type: ec, key_bits: 256}
    - {name: team-b-api, ca: split-ca, allowed_domains: [team-b.svc], allow_subdomains: true, max_ttl: 72h,
       key_type: ec, key_bits: 256}
aws:
  engine: {mount: aws-split, region: eu-west-2}
  roles:
    - name: team-a-deploy
      credential_type: iam_user
      policy_arns: ["arn:aws:iam::123456789012:policy/deploy"]
kv:
  - name: kv-split
kubernetes_auth:
  mount: kubernetes-split
  kubernetes_host: KUBE_URL
  roles:
    - {name: split-ops, service_accounts: [ops], namespaces: [split-ops], policies: [split-ops]}
"""


def team_yaml(team: str, namespace: str, role: str, aws: bool, kubernetes: bool = False) -> str:
    """A team's tree: the platform's objects it names (`external: true`), its own policy, user, workload."""
    cn = f"web.{team}.svc"
    aws_section = "aws:\n  engine: {mount: aws-split, external: true}\n  roles:\n" \
                  "    - {name: team-a-deploy, external: true}\n" if aws else ""
    aws_rule = "      aws-split/creds/team-a-deploy: [read]\n" if aws else ""
    aws_secret = ("      - {name: aws, type: aws, path: aws-split/creds/team-a-deploy, file: aws-creds, "
                  "format: aws}\n") if aws else ""
    # team B's workload logs in with its service account, through a role on the platform's kubernetes mount
    identity = f"{{kubernetes_role: {team}-app}}" if kubernetes else f"{{user: {team}-app}}"
    k8s_section = (f"kubernetes_auth:\n  mount: kubernetes-split\n  external: true\n  roles:\n"
                   f"    - {{name: {team}-app, service_accounts: [{team}-app], namespaces: [{namespace}], "
                   f"policies: [{team}-app]}}\n") if kubernetes else ""
    return f"""\
settings:
  userpass_mount: userpass-split
  create_userpass_mount: false
pki:
  cas:
    - {{name: split-ca, mount: pki-split, external: true}}
  roles:
    - {{name: {role}, ca: split-ca, external: true}}
{aws_section}{k8s_section}kv:
  - {{name: kv-split, external: true}}
policies:
  - name: {team}-app
    rules:
      kv-split/data/{team}/*: [read]
      pki-split/issue/{role}:
        capabilities: [update]
        allowed_parameters:
          common_name: [{cn}]
{aws_rule}users:
  - name: {team}-app
    policies: [{team}-app]
    namespaces: [{namespace}]
workloads:
  - name: {team}-app
    namespace: {namespace}
    kind: Deployment
    image: registry.example/{team}:1.0
    identity: {identity}
    secrets:
      - {{name: db, type: kv, path: kv-split/data/{team}/db, file: db.json, format: json}}
      - {{name: tls, type: pki, path: pki-split/issue/{role}, params: {{common_name: {cn}}}, file: tls,
         format: cert}}
{aws_secret}"""


BAD_YAML = """\
pki:
  cas:
    - {name: split-ca, mount: pki-split, external: true}
    - {name: split-missing, mount: pki-missing, external: true}
policies:
  - name: split-bad
    rules:
      pki-missing/issue/x: [update]
"""

TREES = {
    PLATFORM: PLATFORM_YAML,
    "split-team-a": team_yaml("team-a", "split-a", "team-a-web", aws=True),
    "split-team-b": team_yaml("team-b", "split-b", "team-b-api", aws=False, kubernetes=True),
    BAD: BAD_YAML,
}


@dataclass
class Split:
    vault: VaultDevServer
    kube: KubeAPIServer
    ws: Workspace
    project: pathlib.Path

    def run(self, stack: str, *args: str, check: bool = True) -> dict[str, object]:
        result = self.ws.run(*args, "--stack", stack, check=check)
        return {"code": result.returncode, "out": result.stdout + result.stderr}

    def resources(self, stack: str) -> list[dict[str, object]]:
        exported = json.loads(self.ws.run("stack", "export", "--stack", stack).stdout)
        return list(exported.get("deployment", {}).get("resources") or [])


def _write_trees(project: pathlib.Path, kube_url: str) -> None:
    for stack, text in TREES.items():
        text = text.replace("KUBE_URL", kube_url)
        root = project / "split" / stack
        (root / "base").mkdir(parents=True)
        (root / OVERLAY).mkdir()
        (root / "base" / "main.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        (root / OVERLAY / "overlay.yaml").write_text("settings:\n  dev_overlay: true\n", encoding="utf-8")


def _init(split: Split, stack: str) -> None:
    ws = split.ws
    ws.run("stack", "init", stack, "--secrets-provider", "passphrase")
    values = {
        "vaultconf:configDir": f"split/{stack}",
        "vaultconf:overlay": OVERLAY,
        "vaultconf:vaultAddress": split.vault.addr,
        "vaultconf:podVaultAddress": split.vault.addr,
        "vaultconf:sidekickImage": SIDEKICK_IMAGE,
        "vaultconf:kubeconfig": str(split.kube.kubeconfig),
    }
    if stack != PLATFORM:
        values["vaultconf:platformStack"] = PLATFORM_REF
    for key, value in values.items():
        ws.run("config", "set", "--stack", stack, key, "--", value)
    if stack == PLATFORM:  # Vault runs outside the cluster: the platform's kubernetes mount takes its CA
        ws.run("config", "set", "--stack", stack, "vaultconf:kubernetesCaCert", "--", split.kube.ca_pem)
    if stack == PLATFORM:  # the AWS engine's root keys: Vault stores them, nothing calls AWS here
        for key, value in (("awsAccessKey", "AKIASPLITTEST0000000"), ("awsSecretKey", "split-secret-key")):
            ws.run("config", "set", "--stack", stack, f"vaultconf:{key}", "--secret", input_text=value)


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory, kube_apiserver: KubeAPIServer) -> Iterator[Split]:
    for name in (*REQUIRED_ENGINES, "vault"):
        engine_path(name)
    from tests.support.vault import start_dev

    work = tmp_path_factory.mktemp("split")
    project = copy_project(work / "project")
    _write_trees(project, kube_apiserver.url)
    vault = start_dev()
    try:
        ws = new_workspace(project, state_dir=work / "state", env={"VAULT_TOKEN": vault.token})
        env = Split(vault, kube_apiserver, ws, project)
        for stack in TREES:
            _init(env, stack)
        yield env
        for stack in (*TEAMS, PLATFORM):
            ws.run("destroy", "--yes", "--skip-preview", "--stack", stack, check=False)
    finally:
        vault.stop()


@pytest.fixture(scope="module")
def applied(split: Split) -> Split:
    """Platform up, then both teams up at once (vaultconf.split: the Automation API runner)."""
    from vaultconf import split as runner

    runs = runner.run(split.project, PLATFORM, TEAMS, env=split.ws.env(), pulumi=str(WRAPPER))
    assert [r.stack for r in runs] == [PLATFORM, *TEAMS] and all(r.ok for r in runs), \
        "\n".join(r.line() for r in runs)
    assert all(r.changes.get("create") for r in runs)
    return split


def test_team_objects_exist_in_vault_and_kubernetes(applied: Split) -> None:
    client = applied.vault.new_client()
    for team, namespace in (("team-a", "split-a"), ("team-b", "split-b")):
        user = client.read(f"auth/userpass-split/users/{team}-app")
        assert user is not None and user["data"]["token_policies"] == [f"{team}-app"]
        policy = client.sys.read_acl_policy(f"{team}-app")["data"]["policy"]
        assert f"kv-split/data/{team}/*" in policy
        secret = applied.kube.get(f"/api/v1/namespaces/{namespace}/secrets/vault-{team}-app")
        password = base64.b64decode(secret["data"]["password"]).decode()
        deployment = applied.kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{team}-app")
        assert deployment["metadata"]["name"] == f"{team}-app"
        # the team's user, with the password its stack published, gets a certificate from the platform's
        # CA through the platform's role: the grants checked by validate hold in Vault
        as_team = applied.vault.new_client()
        as_team.token = None
        login = as_team.adapter.post(f"/v1/auth/userpass-split/login/{team}-app", json={"password": password})
        as_team.token = login["auth"]["client_token"]
        role = "team-a-web" if team == "team-a" else "team-b-api"
        issued = as_team.adapter.post(f"/v1/pki-split/issue/{role}", json={"common_name": f"web.{team}.svc"})
        assert "BEGIN CERTIFICATE" in issued["data"]["certificate"]


def test_only_the_platform_registers_the_platform_objects(applied: Split) -> None:
    owned = ("vault:index/mount:Mount", "vault:index/authBackend:AuthBackend", "vault:pkiSecret/",
             "vault:aws/", "vault:kubernetes/authBackendConfig:")

    def platform_kinds(stack: str) -> list[str]:
        return sorted(str(r["type"]) for r in applied.resources(stack)
                      if str(r["type"]).startswith(owned))

    assert platform_kinds(PLATFORM), "the platform registers its mounts, CA, roles and AWS engine"
    for team in TEAMS:
        assert platform_kinds(team) == [], f"{team} registered platform objects"
        types = {str(r["type"]) for r in applied.resources(team)}
        assert {"vaultconf:index:User", "vaultconf:index:Policy", "vaultconf:index:Workload"} <= types
    outputs = json.loads(applied.ws.run("stack", "output", "--json", "--stack", PLATFORM).stdout)
    exported = outputs["vaultconf"]
    assert exported["cas"] == {"split-ca": {"mount": "pki-split"}}
    assert set(exported["pki_roles"]) == {"team-a-web", "team-b-api"}
    assert exported["aws_engine"] == {"mount": "aws-split"}
    assert exported["kubernetes_auth"] == {"mount": "kubernetes-split"} and exported["approle"] is None
    assert set(exported["aws_roles"]) == {"team-a-deploy"}


def test_a_team_role_lives_on_the_platforms_kubernetes_mount(applied: Split) -> None:
    client = applied.vault.new_client()
    role = client.read("auth/kubernetes-split/role/team-b-app")["data"]
    assert role["bound_service_account_namespaces"] == ["split-b"]
    assert role["token_policies"] == ["team-b-app"]
    config = client.read("auth/kubernetes-split/config")["data"]  # the platform's
    assert config["kubernetes_host"] == applied.kube.url
    team_b = {str(r["type"]) for r in applied.resources("split-team-b")}
    assert "vault:kubernetes/authBackendRole:AuthBackendRole" in team_b
    deployment = applied.kube.get("/apis/apps/v1/namespaces/split-b/deployments/team-b-app")
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert any(v["name"] == "vault-token" for v in volumes)  # the projected service-account token
    # the workload's ServiceAccount (the team stack's) logs in through the platform's mount and config
    # (TokenReview by the API server, the client's own token as reviewer: an auth-delegator), then issues
    # its certificate from the platform's CA
    binding = "split-team-b-app-auth-delegator"
    applied.kube.bind_cluster_role(binding, "system:auth-delegator", "split-b", "team-b-app")
    try:
        jwt = applied.kube.request_token("split-b", "team-b-app", audiences=["vault", SERVICE_ACCOUNT_ISSUER],
                                         expiration_seconds=600)
        as_pod = applied.vault.new_client()
        as_pod.token = None
        login = as_pod.adapter.post("/v1/auth/kubernetes-split/login",
                                    json={"role": "team-b-app", "jwt": jwt})
        assert login["auth"]["policies"] == ["default", "team-b-app"]
        as_pod.token = login["auth"]["client_token"]
        issued = as_pod.adapter.post("/v1/pki-split/issue/team-b-api", json={"common_name": "web.team-b.svc"})
        assert "BEGIN CERTIFICATE" in issued["data"]["certificate"]
    finally:
        applied.kube.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{binding}")


def test_every_stack_previews_no_changes(applied: Split) -> None:
    from vaultconf import split as runner

    runs = runner.run(applied.project, PLATFORM, TEAMS, preview=True, expect_no_changes=True,
                      env=applied.ws.env(), pulumi=str(WRAPPER))
    assert all(r.ok and not r.changes for r in runs), "\n".join(r.line() for r in runs)


def test_a_team_naming_a_ca_the_platform_does_not_export_fails_clearly(applied: Split) -> None:
    got = applied.run(BAD, "preview", check=False)
    out = str(got["out"])
    assert got["code"] != 0
    assert "pki.cas[split-missing].external" in out
    assert f"CA 'split-missing' is `external: true`, but stack '{PLATFORM_REF}' does not export it" in out
    assert "(it exports: split-ca)" in out
    assert "split/split-team-bad/base/main.yaml:4" in out  # the file and line of the declaration
    assert "declare it (without `external`) under pki.cas in the platform stack's tree" in out
    assert "Traceback" not in out and "split-ca'" not in out  # the CA the platform exports is fine
    # `up` stops at the same check, before anything reaches Vault: the providers wait for it
    up = applied.run(BAD, "up", "--yes", "--skip-preview", check=False)
    assert up["code"] != 0 and "CA 'split-missing' is `external: true`" in str(up["out"])
    assert "split-bad" not in applied.vault.new_client().sys.list_acl_policies()["data"]["keys"]
