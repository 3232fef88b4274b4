"""Workload: an app Deployment (or Job) with the sidekick delivering its Vault secrets beside it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from vaultconf import names
from vaultconf._base import Component, count, require, start
from vaultconf._k8s import MANAGED_BY
from vaultconf._types import Input
from vaultconf.acl import PolicyRules
from vaultconf.auth import SidekickAuth
from vaultconf.binding import binding_problem
from vaultconf.errors import ConfigError
from vaultconf.sidecar import SidekickParts, SidekickSecret, hardened, sidekick_container
from vaultconf.user import User

DEFAULT_APP_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}
FS_GROUP = 65532


class WorkloadArgs(TypedDict, total=False):
    """Arguments of `Workload`."""

    namespace: str
    """Kubernetes namespace (required; must exist)."""
    image: Input[str]
    """The app image (required)."""
    kind: Literal["Deployment", "Job"]
    """Default "Deployment". A Job gets the sidekick one-shot, as a plain init container."""
    command: Sequence[str]
    args: Sequence[str]
    env: Mapping[str, str]
    ports: Sequence[int]
    replicas: int
    """Deployment replicas (default 1)."""
    backoff_limit: int
    """Job retries (default 3)."""
    service_account_name: str
    """Pod service account (default "default"; for kubernetes auth it must be one the role binds)."""
    create_service_account: bool
    """Create the ServiceAccount `service_account_name` names, in `namespace`, with no automounted token
    (default True; never for "default", which every namespace has). False when something else manages it."""
    auth: SidekickAuth | User
    """How the sidekick logs in (required): a User, or user/kubernetes_auth/app_role `.sidekick_auth(...)`."""
    policies: Sequence[PolicyRules]
    """Plain rules of the identity's policies for the read check, when `auth` does not know them."""
    secrets: Sequence[SidekickSecret]
    """What the sidekick delivers (required)."""
    sidekick_image: Input[str]
    """The sidekick image (required)."""
    vault_addr: str
    """Vault URL as pods reach it (required)."""
    vault_ca_secret: str
    """Secret (key ca.crt) with the CA that signs Vault's certificate."""
    output_dir: str
    """Where the app sees its secrets (default "/etc/secrets")."""
    native_sidecar: bool
    """Default True (Kubernetes >= 1.29). False puts the sidekick in `containers` behind a one-shot init."""
    resources: Mapping[str, Any]
    """App container requests/limits."""
    sidekick_resources: Mapping[str, Any]
    sidekick_timing: Mapping[str, Any]
    """The sidekick config's `timing` (renew_fraction, safety_buffer, kv_update, backoff_initial/_cap)."""
    run_as_user: int
    """App uid (default: the image's, which must not be root)."""
    labels: Mapping[str, str]


class Workload(Component):
    """A Deployment or Job whose pods get their Vault secrets from the sidekick."""

    name: str
    """Kubernetes name of the Deployment/Job and prefix of its ConfigMap."""
    namespace: str
    kind: str
    sidekick_config: dict[str, Any]
    """The rendered sidekick config (the contract)."""
    pod_spec: dict[str, Any]

    def __init__(
        self, resource_name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(Workload, resource_name, args, WorkloadArgs)
        self.namespace = names.dns_label(
            require(args, "namespace", who, 'set namespace, e.g. "team-a"'), who, "namespace"
        )
        image = require(args, "image", who, "set the app image")
        sidekick_image = require(args, "sidekick_image", who, "set sidekick_image (see sidekick_image/)")
        self.kind = args.get("kind", "Deployment")
        if self.kind not in ("Deployment", "Job"):
            raise ConfigError(who, "kind", f"{self.kind!r} is not Deployment or Job", "use one of them")
        self.name = names.k8s_name(resource_name)
        service_account = names.dns_subdomain(
            args.get("service_account_name", "default"), who, "service_account_name"
        )
        auth = _auth(require(args, "auth", who, "pass a User or a .sidekick_auth(...) login"), who)
        _check_binding(auth, self.namespace, service_account, who)
        policies = args.get("policies", auth.policy_rules)
        if policies is None:
            pulumi.log.warn(
                f"{who}: the identity's policies are not known as plain rules (raw HCL or bare names), "
                "so its secrets cannot be checked before deploy; pass `policies`"
            )
        parts = sidekick_container(
            image=sidekick_image,
            vault_addr=require(args, "vault_addr", who, 'set vault_addr, e.g. "https://vault:8200"'),
            auth=auth,
            secrets=require(args, "secrets", who, "list the secrets the sidekick should deliver"),
            config_map=names.k8s_name(self.name, "sidekick"),
            output_dir=args.get("output_dir", "/etc/secrets"),
            mode="one-shot" if self.kind == "Job" else "sidecar",
            native_sidecar=args.get("native_sidecar", True),
            vault_ca_secret=args.get("vault_ca_secret"),
            resources=args.get("sidekick_resources"),
            policies=policies,
            component=who,
            timing=args.get("sidekick_timing"),
        )
        self.sidekick_config = parts.one_shot_config if self.kind == "Job" else parts.config
        labels = {"app.kubernetes.io/name": self.name, **MANAGED_BY, **dict(args.get("labels", {}))}
        self.pod_spec = _pod_spec(args, who, parts, image, service_account)
        replicas = count(args.get("replicas", 1), who, "replicas")
        backoff = count(args.get("backoff_limit", 3), who, "backoff_limit")
        create_account = args.get("create_service_account", True)
        super().__init__(resource_name, opts)

        meta = {"name": self.name, "namespace": self.namespace, "labels": labels}
        pod_deps: list[pulumi.Resource] = []
        if create_account and service_account != "default":
            pod_deps.append(self._service_account(service_account, resource_name))
        config_map = k8s.core.v1.ConfigMap(
            self.child("sidekick-config"),
            metadata={**meta, "name": names.k8s_name(self.name, "sidekick")},
            data=parts.config_files,
            opts=self.opts(),
        )
        pod_deps.append(config_map)
        # A config change must roll the pods: the config's hash goes into the pod template.
        template = {
            "metadata": {
                "labels": labels,
                "annotations": {
                    "vaultconf.io/sidekick-config": hashlib.sha256(
                        "".join(parts.config_files.values()).encode()
                    ).hexdigest()[:16]
                },
            },
            "spec": self.pod_spec,
        }
        workload: pulumi.CustomResource
        if self.kind == "Deployment":
            workload = k8s.apps.v1.Deployment(
                self.child("deployment"),
                metadata=meta,
                spec={
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app.kubernetes.io/name": self.name}},
                    "template": template,
                },
                opts=self.opts(depends_on=pod_deps),
            )
        else:
            workload = k8s.batch.v1.Job(
                self.child("job"),
                metadata=meta,
                spec={"backoffLimit": backoff, "template": template},
                opts=self.opts(depends_on=pod_deps),
            )
        self.resource = workload
        self.register_outputs({"name": self.name, "namespace": self.namespace, "kind": self.kind})

    def _service_account(self, name: str, resource_name: str) -> k8s.core.v1.ServiceAccount:
        """The pod's ServiceAccount. Stacks built before the Workload created it registered it at the top
        level as `sa-<namespace>-<name>`; the alias adopts that resource instead of replacing it."""
        return k8s.core.v1.ServiceAccount(
            self.child(names.SERVICE_ACCOUNT_CHILD),
            metadata={"name": name, "namespace": self.namespace, "labels": dict(MANAGED_BY)},
            automount_service_account_token=False,
            opts=self.opts(
                aliases=[
                    pulumi.Alias(
                        name=names.legacy_service_account(self.namespace, name),
                        parent=pulumi.ROOT_STACK_RESOURCE,
                    )
                ]
            ),
        )


def _pod_spec(
    args: Mapping[str, Any], who: str, parts: SidekickParts, image: Any, service_account: str
) -> dict[str, Any]:
    """The pod: app + sidekick, hardened for the restricted Pod Security Standard."""
    run_as = args.get("run_as_user")
    if run_as is not None and (isinstance(run_as, bool) or not isinstance(run_as, int) or run_as <= 0):
        raise ConfigError(
            who,
            "run_as_user",
            f"{run_as!r} is not a non-root uid",
            "use a uid > 0 (the restricted Pod Security Standard forbids root)",
        )
    # Signal hooks are refused. With every capability dropped a process may only signal its own uid, so
    # the app would have to run as the sidekick's uid in a shared PID namespace, where it can read the
    # sidekick's environment, memory and mounts (the Vault login credentials) through /proc/PID. With
    # different uids the signal cannot be sent (no CAP_KILL under the restricted Pod Security Standard).
    for i, entry in enumerate(parts.config["resources"]):
        if "signal" in entry.get("on_change", {}):
            raise ConfigError(
                who,
                f"secrets[{i}].on_change.signal",
                "a signal hook needs the app to share the sidekick's uid and PID namespace, which lets "
                "the app read the sidekick's Vault credentials through /proc",
                'use an http hook (e.g. {"http": {"url": "http://127.0.0.1:8080/-/reload"}}) or let the '
                "app watch its files",
            )
    app = _app_container(args, image, parts.app_volume_mount, run_as)
    pod_spec: dict[str, Any] = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "fsGroup": FS_GROUP,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "shareProcessNamespace": False,
        "initContainers": parts.init_containers,
        "containers": [app, *parts.containers],
        "volumes": [
            *parts.volumes,
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        ],
    }
    if args.get("kind") == "Job":
        pod_spec["restartPolicy"] = "Never"
    return pod_spec


def _auth(value: Any, who: str) -> SidekickAuth:
    if isinstance(value, User):
        return value.sidekick_auth()
    if isinstance(value, SidekickAuth):
        return value
    raise ConfigError(who, "auth", f"{value!r} is not a login", "pass a User or a .sidekick_auth(...) result")


def _check_binding(auth: SidekickAuth, namespace: str, service_account: str, who: str) -> None:
    what = f"the {auth.method} login" + (f" of role {auth.role!r}" if auth.role else "")
    problem = binding_problem(
        auth.method, what, auth.namespaces, auth.service_accounts, namespace, service_account, "the identity"
    )
    if problem is not None:
        field, trouble, fix = problem
        raise ConfigError(who, "service_account_name" if field == "service_account" else field, trouble, fix)


def _app_container(
    args: Mapping[str, Any], image: Any, secrets_mount: dict[str, Any], run_as: int | None
) -> dict[str, Any]:
    app: dict[str, Any] = {
        "name": "app",
        "image": image,
        "securityContext": hardened(run_as),
        "resources": dict(args.get("resources", DEFAULT_APP_RESOURCES)),
        "volumeMounts": [secrets_mount, {"name": "tmp", "mountPath": "/tmp"}],
    }
    if args.get("command"):
        app["command"] = list(args["command"])
    if args.get("args"):
        app["args"] = list(args["args"])
    if args.get("env"):
        app["env"] = [{"name": k, "value": v} for k, v in sorted(dict(args["env"]).items())]
    if args.get("ports"):
        app["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in args["ports"]]
    return app
