"""The JSON Schema (draft 2020-12) of the desired-state YAML, built here and published as
`vaultconf/schema/vaultconf.schema.json` (regenerate with `python -m vaultconf.config.schema_def`; a test
keeps the two equal). Descriptions double as the `fix` hints of schema findings and as editor help.
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

from sidekick import contract

SCHEMA_ID = "https://vaultconf.invalid/schema/vaultconf.schema.json"
SCHEMA_PATH = pathlib.Path(__file__).resolve().parent.parent / "schema" / "vaultconf.schema.json"

TTL_PATTERN = r"^([0-9]+|([0-9]+[smhdSMHD])+)$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
# Vault lowercases policy names and userpass usernames: a capital would show a diff on every run
LOWER_NAME = r"^[a-z0-9][a-z0-9_.@-]{0,62}$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
MOUNT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$"
CAPABILITIES = ["create", "read", "update", "patch", "delete", "list", "sudo", "deny", "subscribe", "recover"]


def _s(type_: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "description": description, **extra}


def ttl(description: str) -> dict[str, Any]:
    return {
        "description": f"{description} A duration such as 90s, 30m, 72h, 1h30m, 2d, or whole seconds.",
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": TTL_PATTERN},
        ],
    }


def name(description: str, pattern: str = NAME_PATTERN) -> dict[str, Any]:
    return _s("string", description, pattern=pattern)


def strings(description: str, pattern: str | None = None, min_items: int = 0) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "string", "minLength": 1}
    if pattern:
        item["pattern"] = pattern
    out = _s("array", description, items=item, uniqueItems=True)
    if min_items:
        out["minItems"] = min_items
    return out


def obj(
    description: str, properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict:
    out: dict[str, Any] = {
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    out.update(extra)
    return out


def named_list(description: str, ref: str) -> dict[str, Any]:
    return _s("array", description, items={"$ref": f"#/$defs/{ref}"})


EXTERNAL = _s(
    "boolean",
    "Owned by another stack (the platform stack of a split organisation, docs/scaling.md): declared here so "
    "references, paths and grants are checked, registered by nobody here; the stack named by "
    "vaultconf:platformStack must export it.",
)


def owned_or_external(
    properties: dict[str, Any], external_fields: list[str], owned_required: list[str], **owned: Any
) -> dict[str, Any]:
    """`external: true` keeps only the fields vaultconf needs to compute paths and check grants
    (`external_fields`); otherwise the object needs what creating it needs (`owned_required`, `owned`)."""
    otherwise: dict[str, Any] = dict(owned)
    if owned_required:
        otherwise["required"] = owned_required
        otherwise["properties"] = {k: properties[k] for k in owned_required}
    return {
        "if": {"properties": {"external": {"const": True}}, "required": ["external"]},
        "then": {"propertyNames": {"enum": external_fields}},
        "else": otherwise,
    }


POLICY_NAMES = strings(
    "Names of ACL policies (declared under `policies`, or Vault's built-in `default`).", LOWER_NAME
)

CAPABILITY_LIST = _s(
    "array",
    "Capabilities granted on the path.",
    items={"enum": CAPABILITIES},
    minItems=1,
    uniqueItems=True,
)

RULE = {
    "description": "Rule for one path: a capability list, or capabilities with parameter limits.",
    "anyOf": [
        CAPABILITY_LIST,
        obj(
            "Capabilities with parameter constraints.",
            {
                "capabilities": CAPABILITY_LIST,
                "allowed_parameters": _s(
                    "object",
                    "Parameter name -> allowed values (empty list: any value).",
                    additionalProperties={"type": "array"},
                ),
                "denied_parameters": _s(
                    "object",
                    "Parameter name -> denied values (empty list: any value).",
                    additionalProperties={"type": "array"},
                ),
                "required_parameters": strings("Parameters a request must carry."),
            },
            ["capabilities"],
        ),
    ],
}

POLICY = obj(
    "An ACL policy, from structured `rules` or raw `hcl`.",
    {
        "name": name("Policy name in Vault (lowercase: Vault lowercases it).", LOWER_NAME),
        "description": _s("string", "Free text for humans."),
        "rules": _s(
            "object",
            "Vault API path pattern -> rule. `*` at the end is a prefix glob, `+` matches one segment; "
            "e.g. kv/data/team/*: [read].",
            propertyNames={"pattern": r"^[^\s]+$"},
            additionalProperties={"$ref": "#/$defs/rule"},
            minProperties=1,
        ),
        "hcl": _s("string", "Raw HCL policy text, when structured rules cannot express it.", minLength=1),
        "lint_ignore": _s(
            "array",
            "Lint rules acknowledged for this policy (an operator policy that really needs sudo, ...). "
            "Escalations are not ignorable: a break-glass policy declares `admin` instead.",
            items={"enum": ["sudo", "root-wildcard", "wide-read"]},
            uniqueItems=True,
        ),
        "admin": obj(
            "A break-glass admin policy: its escalation findings are allowed and printed as an allowance.",
            {"reason": _s("string", "Why this policy may escalate (who holds it, how).", minLength=10)},
            ["reason"],
        ),
    },
    ["name"],
    oneOf=[{"required": ["rules"]}, {"required": ["hcl"]}],
)

CIDRS = strings("CIDR blocks, e.g. 10.0.0.0/8 (or single addresses).", r"^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$")

TOKEN_TYPE = {
    "enum": ["default", "service", "batch", "default-service", "default-batch"],
    "description": "Type of tokens issued at login (default: the mount's, normally service).",
}

MOUNT_DESCRIPTION = _s("string", "Description of the auth mount (Vault's `description`; default none).")

USER = obj(
    "A userpass user whose password Pulumi generates; its credentials Secret is emitted in each namespace.",
    {
        "name": name("Username (lowercase: Vault lowercases it).", LOWER_NAME),
        "description": _s("string", "Free text for humans."),
        "policies": POLICY_NAMES,
        "namespaces": strings("Kubernetes namespaces that receive the credentials Secret.", DNS_LABEL),
        "rotation": _s("integer", "Rotation counter: bump it to generate a new password.", minimum=0),
        "token_ttl": ttl("TTL of tokens issued at login."),
        "token_max_ttl": ttl("Maximum TTL of tokens issued at login."),
        # the rest of Vault's token parameters, so an adopted user keeps what it has (issue 13)
        "token_bound_cidrs": CIDRS,
        "token_explicit_max_ttl": ttl("Hard cap of tokens issued at login, renewals included (0: none)."),
        "token_no_default_policy": _s("boolean", "Tokens do not get the `default` policy."),
        "token_num_uses": _s("integer", "Uses per token (0, the default: unlimited).", minimum=0),
        "token_period": ttl("Periodic tokens: renewable forever by this period (0: not periodic)."),
        "token_type": TOKEN_TYPE,
        "adopted": _s(
            "boolean",
            "Written by `vaultconf import`: the user keeps its live password until `rotation` is bumped; its "
            "credentials Secret waits for the Pulumi secret password-<name> (docs/adoption.md).",
        ),
    },
    ["name", "policies"],
)

CA_PROPERTIES: dict[str, Any] = {
    "name": name("CA name (referenced by roles and by intermediates' `issuer`)."),
    "mount": _s("string", "Mount path (default: the name).", pattern=MOUNT_PATTERN),
    "type": {"enum": ["root", "intermediate"], "description": "root (self-signed) or intermediate."},
    "issuer": name("For an intermediate: the name of the CA that signs it."),
    "common_name": _s("string", "Subject common name of the CA certificate.", minLength=1),
    "organization": _s("string", "Subject organization."),
    "ttl": ttl("Validity of the CA certificate."),
    "max_lease_ttl": ttl("Mount max lease TTL (caps issued certificates)."),
    "key_type": {"enum": ["rsa", "ec", "ed25519"], "description": "CA key type."},
    "key_bits": _s("integer", "Key size (rsa: 2048/3072/4096, ec: 224/256/384/521).", minimum=0),
    "description": _s("string", "Mount description (default: vaultconf CA <common_name>)."),
    "issuing_certificates": strings("Issuing certificate URLs (default: from the Vault address)."),
    "crl_distribution_points": strings("CRL URLs (default: from the Vault address)."),
    "adopted": _s(
        "boolean",
        "Written by `vaultconf import`: the CA exists in Vault; its key stays, no CA is generated.",
    ),
    "external": EXTERNAL,
}
CA = obj(
    "A PKI mount holding a root CA, or an intermediate CA signed by another declared CA; or `external: "
    "true`: a CA another stack owns (name and mount only).",
    CA_PROPERTIES,
    ["name"],
    allOf=[
        owned_or_external(CA_PROPERTIES, ["name", "mount", "external"], ["type", "common_name"]),
        {
            "if": {"properties": {"type": {"const": "intermediate"}}, "required": ["type"]},
            "then": {"required": ["issuer"]},
        },
    ],
)

PKI_ROLE_PROPERTIES: dict[str, Any] = {
    "name": name("Role name (issue path: <ca mount>/issue/<name>)."),
    "ca": name("Name of the CA (under pki.cas) the role lives on."),
    "allowed_domains": strings("Domains certificates may be issued for.", min_items=1),
    "allow_subdomains": _s("boolean", "Allow subdomains of allowed_domains."),
    "allow_bare_domains": _s("boolean", "Allow the allowed_domains themselves."),
    "allow_localhost": _s("boolean", "Allow localhost."),
    "allow_ip_sans": _s("boolean", "Allow IP subject alternative names (default false)."),
    "allow_wildcard_certificates": _s(
        "boolean", "Allow wildcard names (*.example) in certificates (default false; Vault's is true)."
    ),
    "ttl": ttl("Default certificate TTL."),
    "max_ttl": ttl("Maximum certificate TTL."),
    "key_type": {"enum": ["rsa", "ec", "ed25519", "any"], "description": "Key type of issued keys."},
    "key_bits": _s("integer", "Key size of issued keys.", minimum=0),
    "server_flag": _s("boolean", "Certificates usable for TLS servers."),
    "client_flag": _s("boolean", "Certificates usable for TLS clients."),
    "external": EXTERNAL,
}
PKI_ROLE = obj(
    "A PKI role: which certificates a CA issues; or `external: true`: a role another stack owns (name and "
    "ca only).",
    PKI_ROLE_PROPERTIES,
    ["name", "ca"],
    allOf=[owned_or_external(PKI_ROLE_PROPERTIES, ["name", "ca", "external"], ["allowed_domains"])],
)

AWS_ENGINE_PROPERTIES: dict[str, Any] = {
    "mount": _s("string", "Mount path (default aws).", pattern=MOUNT_PATTERN),
    "region": _s("string", "AWS region.", minLength=1),
    "iam_endpoint": _s("string", "Custom IAM endpoint URL.", format="uri"),
    "sts_endpoint": _s("string", "Custom STS endpoint URL.", format="uri"),
    "default_lease_ttl": ttl("Default lease TTL of issued credentials."),
    "max_lease_ttl": ttl("Maximum lease TTL of issued credentials."),
    "adopted": _s(
        "boolean",
        "Written by `vaultconf import`: Vault keeps its root secret key (awsSecretKey is not needed).",
    ),
    "external": EXTERNAL,
}
AWS_ENGINE = obj(
    "The AWS secrets engine. Root credentials come from Pulumi secrets awsAccessKey / awsSecretKey. "
    "`external: true`: an engine another stack owns (mount only; no credentials needed here).",
    AWS_ENGINE_PROPERTIES,
    allOf=[owned_or_external(AWS_ENGINE_PROPERTIES, ["mount", "external"], [])],
)

AWS_ROLE_PROPERTIES: dict[str, Any] = {
    "name": name("Role name (credentials path: <mount>/creds/<name>)."),
    "credential_type": {
        "enum": ["iam_user", "assumed_role", "federation_token"],
        "description": "How Vault produces credentials.",
    },
    "policy_document": {
        "description": "Inline IAM policy (a mapping or a JSON string).",
        "type": ["object", "string"],
    },
    "policy_arns": strings("Managed IAM policy ARNs."),
    "role_arns": strings("IAM role ARNs (assumed_role)."),
    "default_sts_ttl": ttl("Default STS TTL."),
    "max_sts_ttl": ttl("Maximum STS TTL."),
    "external": EXTERNAL,
}
AWS_ROLE = obj(
    "An AWS role of the engine; or `external: true`: a role another stack owns (name only).",
    AWS_ROLE_PROPERTIES,
    ["name"],
    allOf=[
        owned_or_external(
            AWS_ROLE_PROPERTIES,
            ["name", "external"],
            ["credential_type"],
            anyOf=[
                {"required": ["policy_document"]},
                {"required": ["policy_arns"]},
                {"required": ["role_arns"]},
            ],
        )
    ],
)

KV_SECRET = obj(
    "A seeded KV secret: its key names live here, its values in Pulumi secrets.",
    {
        "name": _s(
            "string",
            "Path inside the store, e.g. billing/db.",
            pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
        ),
        "keys": strings(
            "Key names. Each value is the Pulumi secret kv-<store>-<path with / as ->-<key>.",
            r"^[A-Za-z0-9_.-]+$",
            1,
        ),
    },
    ["name", "keys"],
)

KV_STORE_PROPERTIES: dict[str, Any] = {
    "name": _s("string", "Mount path.", pattern=MOUNT_PATTERN),
    "max_versions": _s("integer", "Versions kept per secret (0: Vault default).", minimum=0),
    "cas_required": _s("boolean", "Require check-and-set on writes (not with seeded secrets)."),
    "delete_version_after": ttl("Delete versions older than this (default: never)."),
    "description": _s("string", "Mount description (default: vaultconf KV v2)."),
    "secrets": named_list("Seeded secrets.", "kv_secret"),
    "external": EXTERNAL,
}
KV_STORE = obj(
    "A KV version 2 mount; or `external: true`: a store another stack owns (name only).",
    KV_STORE_PROPERTIES,
    ["name"],
    allOf=[owned_or_external(KV_STORE_PROPERTIES, ["name", "external"], [])],
)

AUDIENCE = _s(
    "string",
    "Audience the service-account token must carry (default: kubernetes_auth.audience, else vault); the "
    "sidekick's projected token requests it.",
    pattern=r"^[!-~]{1,253}$",
)

K8S_ROLE = obj(
    "A kubernetes auth role binding service accounts in namespaces to policies.",
    {
        "name": name("Role name."),
        "service_accounts": strings("Bound service account names.", DNS_SUBDOMAIN, 1),
        "namespaces": strings("Bound namespaces.", DNS_LABEL, 1),
        "policies": POLICY_NAMES,
        "audience": AUDIENCE,
        "token_ttl": ttl("TTL of tokens issued at login."),
        "token_max_ttl": ttl("Maximum TTL of tokens issued at login."),
    },
    ["name", "service_accounts", "namespaces", "policies"],
)

APPROLE_ROLE = obj(
    "An AppRole role; its role_id and a secret_id are published as a Secret in each namespace.",
    {
        "name": name("Role name."),
        "policies": POLICY_NAMES,
        "namespaces": strings("Namespaces that receive the role_id/secret_id Secret.", DNS_LABEL),
        "token_ttl": ttl("TTL of tokens issued at login."),
        "token_max_ttl": ttl("Maximum TTL of tokens issued at login."),
        "secret_id_ttl": ttl(
            "Lifetime of secret IDs (default 30d; `pulumi up` re-issues one after a third of it; "
            "0: never expire)."
        ),
        "secret_id_num_uses": _s(
            "integer", "Logins per secret ID (0, the default: unlimited; each pod start uses one).", minimum=0
        ),
        "secret_id_bound_cidrs": CIDRS,
        "token_bound_cidrs": CIDRS,
        "rotation": _s("integer", "Rotation counter: bump it to issue a new secret ID.", minimum=0),
        "adopted": _s(
            "boolean",
            "Written by `vaultconf import`: existing secret IDs stay; none is issued (nor published) until "
            "`rotation` is bumped.",
        ),
    },
    ["name", "policies"],
)

# The workload secrets and the sidekick's timing are the sidekick's own config (sidekick/config.schema.json,
# sidekick.contract): derived from it here, never copied. What the YAML narrows, and why, is listed below.
_SIDEKICK = contract.schema()


def _sidekick(node: Any) -> Any:
    """A part of the sidekick's schema, its $refs (#/$defs/...) inlined so it stands alone in this one, and
    typed: the sidekick also reads hand-written text spellings ("yes", "2", " 5 "); the YAML takes each
    value in its JSON type only (a string branch beside a typed one, a string beside numbers in an enum,
    are dropped), so the layers after it receive typed values."""
    if isinstance(node, list):
        return [_sidekick(v) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**_sidekick(_SIDEKICK["$defs"][node["$ref"].rsplit("/", 1)[1]]), **_sidekick(rest)}
    out = {k: _sidekick(v) for k, v in node.items()}
    branches = out.get("anyOf")
    if branches and any(b.get("type") not in (None, "string") for b in branches):
        typed = [b for b in branches if b.get("type") != "string" and "enum" not in b]
        out.pop("anyOf")
        if len(typed) == 1:
            out = {**typed[0], **{k: v for k, v in out.items() if k != "title"}}
        else:
            out["anyOf"] = typed
    if "enum" in out and any(not isinstance(v, str) for v in out["enum"]):
        out["enum"] = [v for v in out["enum"] if not isinstance(v, str)]
    return out


_HOOK = _SIDEKICK["$defs"]["on_change"]["properties"]
_RESOURCE = _SIDEKICK["$defs"]["resource"]["properties"]
# Durations the component library reads (vaultconf.ttl: 90s, 30m, 72h, 1h30m, 2d) and hands on as seconds.
_COMPONENT_DURATIONS = ("update", "timeout", "debounce", "safety_buffer", "kv_update", "backoff_initial",
                        "backoff_cap")
_NARROWED: dict[str, Any] = {
    # argv only: the sidekick would split a string on spaces, a shell-like reading the YAML does not offer
    "exec": _sidekick(_HOOK["exec"]["anyOf"][0]) | {"description": "Command argv (no shell)."},
    # a file on the pod's volume: relative, below the output directory
    "file": {**_sidekick(_RESOURCE["file"]), "pattern": r"^[^/\s][^\s]*$"},
    # quoted: YAML 1.1 reads an unquoted 0640 as the number 416
    "mode": _s("string", 'File mode, octal, e.g. "0600" (default "0640").', pattern=r"^0?[0-7]{3}$"),
}


def _field(name: str, part: dict[str, Any]) -> Any:
    if name in _NARROWED:
        return _NARROWED[name]
    if name in _COMPONENT_DURATIONS:
        return ttl(part[name].get("description", ""))
    return _sidekick(part[name])


# Not offered by the YAML: signal hooks (the Workload refuses them: the app would need the sidekick's uid
# and PID namespace, where it could read the sidekick's credentials through /proc).
ON_CHANGE = obj(
    "What the sidekick does after rewriting the file: exactly one of exec or http, with optional timeout "
    "and debounce. No signal hooks: signalling the app needs its uid in a shared PID namespace, where it "
    "could read the sidekick's credentials through /proc.",
    {key: _field(key, _HOOK) for key in ("exec", "env", "http", "timeout", "debounce")},
    oneOf=[{"required": ["exec"]}, {"required": ["http"]}],
)

# The fields a Workload's secret takes (vaultconf.SidekickSecret); not offered: paths inside the sidekick's
# container (template_file), ownership (the pod's fsGroup decides), vault-sidekick's create/size, the
# one-shot retries and revoke_delay (the sidekick's defaults).
WORKLOAD_SECRET_FIELDS = ("name", "type", "path", "kv_version", "version", "params", "file", "format",
                          "template", "mode", "update", "renew", "revoke", "jitter")

WORKLOAD_SECRET = obj(
    "A secret the workload consumes; the sidekick writes it to the shared volume.",
    {
        **{key: _field(key, _RESOURCE) for key in WORKLOAD_SECRET_FIELDS},
        "on_change": {"$ref": "#/$defs/on_change"},
    },
    _SIDEKICK["$defs"]["resource"]["required"],
    # the sidekick's cross-field rules (a pki secret names its certificate; format template has a template)
    allOf=_sidekick(_SIDEKICK["$defs"]["resource"]["allOf"]),
)

IDENTITY = obj(
    "How the workload's sidekick logs in to Vault: exactly one of user, kubernetes_role, approle.",
    {
        "user": name(
            "A userpass user (under users) whose credentials Secret is in the workload's namespace.",
            LOWER_NAME,
        ),
        "kubernetes_role": name(
            "A kubernetes auth role bound to the workload's service account and namespace."
        ),
        "approle": name("An AppRole role whose secret is published in the workload's namespace."),
    },
    minProperties=1,
    maxProperties=1,
)

TIMING = obj(
    "When the sidekick refreshes (all optional; the sidekick's defaults otherwise).",
    {key: _field(key, _SIDEKICK["properties"]["timing"]["properties"])
     for key in _SIDEKICK["properties"]["timing"]["properties"]},
)

# Kubernetes label key (optional DNS prefix + name) and value; the selector labels stay the component's.
LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
LABELS = _s(
    "object",
    "Extra labels of the Deployment/Job and its pods (app.kubernetes.io/name and managed-by are set by "
    "vaultconf).",
    propertyNames={
        "pattern": LABEL_KEY,
        "not": {"enum": ["app.kubernetes.io/name", "app.kubernetes.io/managed-by"]},
    },
    additionalProperties={"type": "string", "pattern": r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"},
)

QUANTITIES = _s(
    "object",
    "cpu / memory quantities.",
    properties={"cpu": {"type": ["string", "number"]}, "memory": {"type": "string"}},
    additionalProperties=False,
)

WORKLOAD = obj(
    "An application run with the sidekick beside it.",
    {
        "name": name("Workload name (Deployment or Job name).", DNS_LABEL),
        "namespace": name("Kubernetes namespace.", DNS_LABEL),
        "kind": {
            "enum": ["Deployment", "Job"],
            "description": "Deployment (sidecar) or Job (one-shot init).",
        },
        "image": _s("string", "Application container image.", minLength=1),
        "command": _s("array", "Container command.", items={"type": "string"}),
        "args": _s("array", "Container args.", items={"type": "string"}),
        "env": _s("object", "Environment variables.", additionalProperties={"type": "string"}),
        "replicas": _s("integer", "Deployment replicas.", minimum=0),
        "service_account": name(
            "Service account the pod runs as (default: the workload name).", DNS_SUBDOMAIN
        ),
        "identity": {"$ref": "#/$defs/identity"},
        "secrets_dir": _s("string", "Where the app sees the secrets (default /etc/secrets).", pattern=r"^/"),
        "native_sidecar": _s("boolean", "Sidekick as a native sidecar (Kubernetes >= 1.29; default true)."),
        "resources": obj("App container resources.", {"requests": QUANTITIES, "limits": QUANTITIES}),
        "sidekick_resources": obj(
            "Sidekick container resources (default requests 10m/32Mi, limits 200m/64Mi).",
            {"requests": QUANTITIES, "limits": QUANTITIES},
        ),
        "sidekick_timing": {"$ref": "#/$defs/timing"},
        "ports": _s(
            "array",
            "TCP ports the app container listens on.",
            items={"type": "integer", "minimum": 1, "maximum": 65535},
            uniqueItems=True,
        ),
        "labels": LABELS,
        "run_as_user": _s(
            "integer",
            "App uid (default: the image's; never root). Signal hooks need the sidekick's.",
            minimum=1,
        ),
        "backoff_limit": _s("integer", "Job: retries before the Job fails (default 3).", minimum=0),
        "secrets": named_list("Secrets the workload consumes.", "workload_secret"),
    },
    ["name", "namespace", "kind", "image", "identity", "secrets"],
)

KUBERNETES_AUTH_PROPERTIES: dict[str, Any] = {
    "mount": _s("string", "Auth mount path (default kubernetes).", pattern=MOUNT_PATTERN),
    "description": MOUNT_DESCRIPTION,
    "kubernetes_host": _s(
        "string", "API server URL Vault uses for TokenReview.", pattern=r"^https?://"
    ),
    "audience": AUDIENCE,
    "token_reviewer": obj(
        "A dedicated TokenReview account: the stack creates the ServiceAccount, a long-lived "
        "token Secret and its one system:auth-delegator binding, and gives Vault that token, so "
        "workloads need no cluster-wide binding. Unset: each client's own token reviews itself.",
        {
            "namespace": name("Existing namespace of the ServiceAccount, e.g. vault.", DNS_LABEL),
            "service_account": name(
                "ServiceAccount name (default vault-token-reviewer).", DNS_SUBDOMAIN
            ),
        },
        ["namespace"],
    ),
    "roles": named_list("Kubernetes auth roles.", "kubernetes_role"),
    "external": _s(
        "boolean",
        "The mount and its config (host, CA, token reviewer) belong to another stack (docs/scaling.md): this "
        "stack registers only its roles on it; the stack named by vaultconf:platformStack must export it.",
    ),
}
KUBERNETES_AUTH = obj(
    "Kubernetes auth method.",
    KUBERNETES_AUTH_PROPERTIES,
    allOf=[owned_or_external(KUBERNETES_AUTH_PROPERTIES, ["mount", "external", "audience", "roles"], [])],
)

APPROLE_PROPERTIES: dict[str, Any] = {
    "mount": _s("string", "Auth mount path (default approle).", pattern=MOUNT_PATTERN),
    "description": MOUNT_DESCRIPTION,
    "roles": named_list("AppRole roles.", "approle_role"),
    "external": _s(
        "boolean",
        "The mount belongs to another stack (docs/scaling.md): this stack registers only its roles on it; "
        "the stack named by vaultconf:platformStack must export it.",
    ),
}
APPROLE = obj(
    "AppRole auth method.",
    APPROLE_PROPERTIES,
    allOf=[owned_or_external(APPROLE_PROPERTIES, ["mount", "external", "roles"], [])],
)

SETTINGS = obj(
    "Shared settings.",
    {
        "userpass_mount": _s("string", "Userpass auth mount path (default userpass).", pattern=MOUNT_PATTERN),
        "create_userpass_mount": _s("boolean", "Create the userpass mount (false: reuse an existing one)."),
        "userpass_mount_description": MOUNT_DESCRIPTION,
        "dev_overlay": _s(
            "boolean",
            "Only in a stack overlay: marks a development stack, the only kind that may "
            "run with `validation: warn` and use an http:// Vault address or skip-verify "
            "without a warning.",
        ),
    },
)

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "vaultconf desired state",
    "description": "One file of infra/config/base/ or infra/config/<stack>/; see docs/config.md.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "settings": {"$ref": "#/$defs/settings"},
        "users": named_list("Userpass users.", "user"),
        "policies": named_list("ACL policies.", "policy"),
        "pki": obj(
            "PKI CAs and roles.",
            {
                "cas": named_list("Certificate authorities.", "ca"),
                "roles": named_list("PKI roles.", "pki_role"),
            },
        ),
        "aws": obj(
            "AWS secrets engine and roles.",
            {"engine": {"$ref": "#/$defs/aws_engine"}, "roles": named_list("AWS roles.", "aws_role")},
        ),
        "kv": named_list("KV v2 stores.", "kv_store"),
        "kubernetes_auth": KUBERNETES_AUTH,
        "approle": APPROLE,
        "workloads": named_list("Workloads with their sidekick.", "workload"),
    },
    "$defs": {
        "settings": SETTINGS,
        "rule": RULE,
        "policy": POLICY,
        "user": USER,
        "ca": CA,
        "pki_role": PKI_ROLE,
        "aws_engine": AWS_ENGINE,
        "aws_role": AWS_ROLE,
        "kv_secret": KV_SECRET,
        "kv_store": KV_STORE,
        "kubernetes_role": K8S_ROLE,
        "approle_role": APPROLE_ROLE,
        "on_change": ON_CHANGE,
        "timing": TIMING,
        "workload_secret": WORKLOAD_SECRET,
        "identity": IDENTITY,
        "workload": WORKLOAD,
    },
}


def render() -> str:
    return json.dumps(SCHEMA, indent=2, sort_keys=False) + "\n"


def main() -> int:
    from . import schema_fast

    SCHEMA_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}", file=sys.stderr)
    print(f"wrote {schema_fast.write(json.loads(render()))}", file=sys.stderr)  # its compiled validator
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
