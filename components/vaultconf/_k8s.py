"""Kubernetes Secrets as the components emit them."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

MANAGED_BY = {"app.kubernetes.io/managed-by": "vaultconf"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def canonical_json(value: Any) -> str:
    """Stable bytes for the same content, so an unchanged secret never shows a diff."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def opaque_secret(
    resource_name: str,
    name: str,
    namespace: str,
    values: pulumi.Input[Mapping[str, str]],
    opts: pulumi.ResourceOptions,
    labels: Mapping[str, str] | None = None,
) -> k8s.core.v1.Secret:
    """An Opaque Secret from plain text values, marked secret.

    `data` (base64, encoded here) rather than `stringData`: the API server folds stringData into data, so
    stringData never reads back and would show as a change on every refresh.
    """
    encoded: pulumi.Output[dict[str, str]] = pulumi.Output.from_input(values).apply(
        lambda vals: {k: b64(v) for k, v in sorted(vals.items())}
    )
    data: pulumi.Output[dict[str, str]] = pulumi.Output.secret(encoded)
    return k8s.core.v1.Secret(
        resource_name,
        metadata={"name": name, "namespace": namespace, "labels": {**MANAGED_BY, **(labels or {})}},
        type="Opaque",
        data=data,
        opts=opts,
    )
