"""The Kubernetes "restricted" Pod Security Standard (baseline + restricted controls) as one function.

Written from the published standard (kubernetes.io/docs/concepts/security/pod-security-standards/,
policy version "latest"): `restricted_violations(pod_spec, annotations)` returns one line per violated
control, [] when the pod would be admitted in a namespace labelled `pod-security.kubernetes.io/enforce:
restricted`. Pod specs use the API's camelCase field names (as Pulumi's wire format does).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# restricted: only these volume types
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                   "projected", "secret"}
# baseline: safe sysctls
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
SECCOMP_OK = {"RuntimeDefault", "Localhost"}
APPARMOR_OK = {"RuntimeDefault", "Localhost"}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for kind in CONTAINER_LISTS:
        for c in spec.get(kind) or []:
            yield f"{kind}[{c.get('name', '?')}]", c


def restricted_violations(spec: Mapping[str, Any], annotations: Mapping[str, str] | None = None) -> list[str]:
    """Violations of the restricted standard by this pod spec (and pod annotations, for AppArmor)."""
    out: list[str] = []
    psc: Mapping[str, Any] = spec.get("securityContext") or {}
    annotations = annotations or {}

    # ---- baseline
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            out.append(f"{field}: must be unset or false")
    if (psc.get("windowsOptions") or {}).get("hostProcess"):
        out.append("securityContext.windowsOptions.hostProcess: must not be true")
    for vol in spec.get("volumes") or []:
        kinds = [k for k in vol if k != "name"]
        if "hostPath" in kinds:
            out.append(f"volumes[{vol.get('name')}]: hostPath volumes are forbidden")
        elif not kinds or any(k not in ALLOWED_VOLUMES for k in kinds):
            out.append(f"volumes[{vol.get('name')}]: type {kinds} is not allowed (restricted)")
    for sysctl in psc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            out.append(f"securityContext.sysctls: {sysctl.get('name')} is not a safe sysctl")
    out.extend(_selinux("securityContext", psc))
    out.extend(_apparmor("securityContext", psc))
    for key, value in annotations.items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and value not in (
                "runtime/default", "") and not value.startswith("localhost/"):
            out.append(f"annotation {key}: AppArmor profile {value!r} is not allowed")

    # ---- restricted, pod level
    pod_nonroot = psc.get("runAsNonRoot") is True
    if psc.get("runAsNonRoot") is False:
        out.append("securityContext.runAsNonRoot: must not be false")
    if psc.get("runAsUser") == 0:
        out.append("securityContext.runAsUser: must not be 0")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if pod_seccomp is not None and pod_seccomp not in SECCOMP_OK:
        out.append(f"securityContext.seccompProfile.type: {pod_seccomp!r} (RuntimeDefault or Localhost)")

    for where, c in containers(spec):
        sc: Mapping[str, Any] = c.get("securityContext") or {}
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            out.append(f"{where}: windowsOptions.hostProcess must not be true")
        if sc.get("privileged"):
            out.append(f"{where}: privileged must be unset or false")
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                out.append(f"{where}: hostPort {port.get('hostPort')} is forbidden")
        if sc.get("procMount") not in (None, "Default"):
            out.append(f"{where}: procMount must be Default")
        out.extend(_selinux(where, sc))
        out.extend(_apparmor(where, sc))
        caps = sc.get("capabilities") or {}
        added = [a for a in caps.get("add") or [] if a != "NET_BIND_SERVICE"]
        if added:
            out.append(f"{where}: capabilities.add {added} (only NET_BIND_SERVICE may be added)")
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"{where}: capabilities.drop must include ALL")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where}: allowPrivilegeEscalation must be false")
        nonroot = sc.get("runAsNonRoot")
        if nonroot is False or (nonroot is None and not pod_nonroot):
            out.append(f"{where}: runAsNonRoot must be true (here or in the pod securityContext)")
        if sc.get("runAsUser") == 0:
            out.append(f"{where}: runAsUser must not be 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type")
        if seccomp is not None and seccomp not in SECCOMP_OK:
            out.append(f"{where}: seccompProfile.type {seccomp!r} (RuntimeDefault or Localhost)")
        if seccomp is None and pod_seccomp is None:
            out.append(f"{where}: seccompProfile must be RuntimeDefault or Localhost (here or pod level)")
    return out


def _selinux(where: str, sc: Mapping[str, Any]) -> list[str]:
    opts = sc.get("seLinuxOptions") or {}
    out = []
    if opts.get("type", "") not in SELINUX_TYPES:
        out.append(f"{where}: seLinuxOptions.type {opts.get('type')!r} is not allowed")
    if opts.get("user") or opts.get("role"):
        out.append(f"{where}: seLinuxOptions.user/role must be unset")
    return out


def _apparmor(where: str, sc: Mapping[str, Any]) -> list[str]:
    profile = (sc.get("appArmorProfile") or {}).get("type")
    if profile is not None and profile not in APPARMOR_OK:
        return [f"{where}: appArmorProfile.type {profile!r} is not allowed"]
    return []


def pod_templates(kind: str, spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod template of a Deployment/Job/CronJob spec ({} when none)."""
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return spec.get("template") or {}
