"""Unit-test a stack that uses the vaultconf components: run a Pulumi program under recording mocks.

No Pulumi CLI, engine or provider is needed:

    import vaultconf
    from vaultconf.testing import run_under_mocks

    run = run_under_mocks(lambda: vaultconf.Policy("p", {"rules": {"kv/data/app/*": ["read"]}}))
    assert run.one("vault:index/policy:Policy").inputs["name"] == "p"

`run_under_mocks(program, config={"proj:key": "v"}, secret_config=("proj:key",))` returns a `MockRun` whose
`resources` are `Recorded` registrations (type, name, inputs, parent, dependencies, provider, which inputs and
outputs are secret); `of_type`, `one`, `named`, `children` and `parent_chain` look them up.

Why a custom monitor: `pulumi.runtime.Mocks.new_resource` only sees type, name and inputs. The registration
request also carries the parent URN, the dependencies, the provider reference and which inputs are secret;
`RecordingMonitor` keeps those. Every run starts from a fresh root stack and awaits every output and apply
(like `pulumi.runtime.test`), so an error raised inside an `apply` surfaces from `run_under_mocks`.
Computed outputs the components read (generated passwords, certificates, accessors) come from
`default_outputs`, deterministic stand-ins; pass `RecordingMocks(outputs=...)` for others.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Recorded:
    """One registered resource, as the engine would have seen it."""

    type: str
    name: str
    urn: str
    custom: bool
    inputs: dict[str, Any]  # wire (camelCase) names, secrets unwrapped
    secret_inputs: frozenset[str]  # top-level input names whose value is (or contains) a secret
    parent: str  # parent URN ("" for none)
    dependencies: tuple[str, ...]
    provider: str  # "urn::id" provider reference for custom resources ("" = default provider)
    providers: dict[str, str]  # package → provider reference (component resources)
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)  # register_outputs of a component, unwrapped
    secret_outputs: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()
    """Former names (`opts.aliases`): the alias's name, prefixed "/" when its former parent was the stack."""

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


def _ints(value: Any) -> Any:
    # The wire format (protobuf Struct) carries every number as a double; give back the ints the program
    # passed so schema checks see `replicas: 1`, not `1.0`.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    return value


def _unwrap(props: Mapping[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    plain: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in props.items():
        if rpc.is_rpc_secret(value):
            secret.add(key)
            value = rpc.unwrap_rpc_secret(value)
        plain[key] = _ints(value)
    return plain, frozenset(secret)


def _fake(seed: str, length: int = 40) -> str:
    # Deterministic stand-ins for provider-computed values: same inputs → same outputs, like a real refresh.
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return (digest * (length // len(digest) + 1))[:length]


_PEM = "-----BEGIN CERTIFICATE-----\nMOCK{}\n-----END CERTIFICATE-----"
_CSR = "-----BEGIN CERTIFICATE REQUEST-----\nMOCK{}\n-----END CERTIFICATE REQUEST-----"


def default_outputs(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Computed outputs the components read, for the resource types they create."""
    short = typ.rsplit(":", 1)[-1]
    if short == "RandomPassword":
        keepers = sorted((inputs.get("keepers") or {}).items())
        return {"result": _fake(f"{name}{keepers}", int(inputs.get("length", 32))), "bcryptHash": "mock"}
    if short in (
        "SecretBackendRootCert",
        "SecretBackendRootSignIntermediate",
        "SecretBackendIntermediateSetSigned",
    ):
        pem = _PEM.format(_fake(name, 16))
        return {
            "certificate": pem,
            "issuingCa": pem,
            "caChain": [pem],
            "serialNumber": _fake(name, 8),
            "certificateBundle": pem,
        }
    if short == "SecretBackendIntermediateCertRequest":
        return {"csr": _CSR.format(_fake(name, 16))}
    if short == "AuthBackendRoleSecretId":
        return {"secretId": _fake(f"sid{name}", 36), "accessor": _fake(f"acc{name}", 36)}
    if short == "AuthBackendRole" and typ.startswith("vault:appRole"):
        return {"roleId": _fake(f"rid{name}", 36)}
    if short in ("Mount", "AuthBackend", "SecretBackend", "SecretBackendV2"):
        return {"accessor": f"{short.lower()}_{_fake(name, 8)}"}
    if typ.startswith("kubernetes:"):
        meta = dict(inputs.get("metadata") or {})
        meta.setdefault("name", f"{name}-{_fake(name, 8)}")  # what auto-naming would do
        return {"metadata": meta}
    return {}


OutputsFn = Callable[[str, str, Mapping[str, Any]], dict[str, Any]]


class RecordingMocks(Mocks):
    """Mocks that echo inputs plus plausible computed outputs; the monitor fills `resources`."""

    def __init__(self, outputs: OutputsFn = default_outputs) -> None:
        self.outputs = outputs
        self.resources: list[Recorded] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        state = dict(args.inputs)
        state.update(self.outputs(args.typ, args.name, _unwrap(args.inputs)[0]))
        return (f"{args.name}-id" if args.custom or args.custom is None else "", state)

    def call(self, args: Any) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        with self._lock:
            self.calls.append((args.token, dict(args.args)))
        return {}, None

    def record(self, rec: Recorded) -> None:
        with self._lock:
            self.resources.append(rec)


def _alias(alias: Any) -> str:
    """An alias as Recorded.aliases shows it (the SDK sends alias specs; a bare URN alias is kept as is)."""
    if alias.WhichOneof("alias") == "urn":
        return str(alias.urn)
    spec = alias.spec
    return f"{'/' if spec.noParent else ''}{spec.name}"


class RecordingMonitor(MockMonitor):
    """A MockMonitor that also records parent, dependencies, providers and secretness."""

    mocks: RecordingMocks

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        inputs, secret = _unwrap(rpc.deserialize_properties(request.object))
        self.mocks.record(
            Recorded(
                type=request.type,
                name=request.name,
                urn=response.urn,
                custom=bool(request.custom),
                inputs=inputs,
                secret_inputs=secret,
                parent=request.parent,
                dependencies=tuple(request.dependencies),
                provider=request.provider,
                providers=dict(request.providers),
                id=response.id,
                aliases=tuple(_alias(a) for a in request.aliases),
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs, secret = _unwrap(rpc.deserialize_properties(request.outputs))
        for rec in self.mocks.resources:
            if rec.urn == request.urn:
                rec.outputs, rec.secret_outputs = outputs, secret
        return super().RegisterResourceOutputs(request)


@dataclass
class MockRun:
    """What a program registered, with lookups for assertions."""

    resources: list[Recorded]
    result: Any = None

    def of_type(self, typ: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str) -> Recorded:
        found = self.of_type(typ)
        if len(found) != 1:
            raise AssertionError(f"expected one {typ}, found {[r.name for r in found]}")
        return found[0]

    def named(self, name: str) -> Recorded:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one resource named {name!r}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> Recorded:
        for rec in self.resources:
            if rec.urn == urn:
                return rec
        raise AssertionError(f"no resource with URN {urn}")

    def parent_chain(self, rec: Recorded) -> list[str]:
        """Types from `rec`'s parent up to the top (the stack is not recorded)."""
        chain: list[str] = []
        urns = {r.urn: r for r in self.resources}
        parent = rec.parent
        while parent in urns:
            chain.append(urns[parent].type)
            parent = urns[parent].parent
        return chain

    def children(self, parent: Recorded) -> list[Recorded]:
        return [r for r in self.resources if r.parent == parent.urn]


def run_under_mocks(
    program: Callable[[], Any],
    project: str = "vaultconf",
    stack: str = "test",
    *,
    preview: bool = False,
    config: Mapping[str, str] | None = None,
    secret_config: tuple[str, ...] = (),
    mocks: RecordingMocks | None = None,
    settle: bool = False,
) -> MockRun:
    """Run `program` (a Pulumi program function) under recording mocks and return what it registered.

    `config` uses full keys ("project:key"); `secret_config` names the keys that are secret. Safe to call
    repeatedly in one process: each call gets a fresh root stack, monitor and RPC bookkeeping. `settle`
    awaits `vaultconf.settle.settle()` after the program, where `pulumi.run` awaits it on the real engine
    (the mocks' root stack never runs an async entrypoint, so `settle.install()` is a no-op here).
    """
    mocks = mocks or RecordingMocks()
    pulumi.runtime.set_all_config(dict(config or {}), list(secret_config))
    settings.ROOT.set(None)  # otherwise the previous run's Stack (other project/stack name) stays the root
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    holder: dict[str, Any] = {}

    def body() -> None:
        value = program()
        holder["result"] = _sync_await(pulumi.Output.from_input(value).future())

    async def settled_body() -> None:
        from vaultconf.settle import settle as settle_outputs

        value = program()
        await settle_outputs()  # before the value becomes an Output: settle must not wait on its own waiter
        holder["result"] = await pulumi.Output.from_input(value).future()

    _sync_await(run_pulumi_func(settled_body if settle else body))
    return MockRun(list(mocks.resources), holder.get("result"))


__all__ = [
    "STACK_TYPE",
    "MockRun",
    "OutputsFn",
    "Recorded",
    "RecordingMocks",
    "RecordingMonitor",
    "default_outputs",
    "run_under_mocks",
]
