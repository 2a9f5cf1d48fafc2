# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Which platform a host belongs to and which part of it the host is, from what it runs and holds.

A host's *placement* is (platform, role, evidence): the platform (``openstack``, ``cloudstack``,
``kubernetes``, ``generic``), its role in that platform (``ROLES``; None when nothing says) and the list of
reasons, each naming what was seen (a namespace, a process and its PID, an OVS port's external_ids, a file,
an inventory group or variable). The signatures are those of docs/openstack.md and docs/cloudstack.md
("What identifies each piece"), read from the projects' own sources (/work/shared/PLATFORMS.md).

Order of authority: the inventory (``cloudnet_platform``/``platform``, then platform groups) over what the
host shows, and what the host shows over what the rest of the fleet shows (a plain guest belongs to the one
platform the others show). The role likewise: role groups first, then the host's own signs, then its tier
(``instance`` is a guest or pod VM, ``network_node`` an OpenStack network node). Nothing here raises on
malformed facts: what does not have the expected shape is simply not a sign (the validation of the model
refuses it with its own reason). Plain Python.
"""

from __future__ import annotations

import re

__all__ = ["PLATFORM_GROUPS", "PLATFORM_NAMES", "Placement", "ROLE_GROUPS", "ROLES", "classify", "classify_entry",
           "classify_state", "has_role", "host_signs", "placements", "roles_of"]

PLATFORM_NAMES = ("openstack", "kubernetes", "cloudstack", "generic")

# The role vocabulary, per platform (a public interface: diagnosis.json hosts[].role, rules that ask has_role).
ROLES = {
    "openstack": ("network_node", "compute", "guest"),
    "cloudstack": ("management", "kvm_host", "virtual_router", "console_proxy", "secondary_storage", "guest"),
    "kubernetes": ("worker", "pod_vm"),
}

# Inventory group names that say which platform a host belongs to (the first platform matching wins).
PLATFORM_GROUPS = {
    "openstack": ("openstack", "neutron", "nova", "compute_nodes", "network_nodes"),
    "kubernetes": ("kubernetes", "k8s", "openshift", "ocp", "kube_node", "kube_control_plane", "peer_pods", "podvms"),
    "cloudstack": ("cloudstack", "acs", "cloudstack_hosts", "kvm_hosts", "cloudstack_management", "virtual_routers",
                   "system_vms", "systemvms", "cpvm", "ssvm"),
}

# Inventory group names that say the role, read only within the platform already decided (``workers`` is a
# Kubernetes role only on a Kubernetes host).
ROLE_GROUPS = {
    "openstack": {
        "network_node": ("network_nodes", "network_node", "neutron_network", "neutron_l3", "neutron_dhcp"),
        "compute": ("compute_nodes", "compute", "computes", "nova_compute"),
        "guest": ("guests", "guest", "instances", "instance", "vms"),
    },
    # The groups (and synonyms) docs/cloudstack.md "Inventory" names for the CloudStack rules (rules/_cloudstack.py).
    "cloudstack": {
        "management": ("management_servers", "management_server", "management", "cloudstack_management", "mgmt",
                       "mgmt_servers", "ms"),
        "kvm_host": ("kvm_hosts", "kvm_host", "kvm", "cloudstack_hosts", "cloudstack_kvm"),
        "virtual_router": ("virtual_routers", "virtual_router", "vrs", "vr", "routers", "domr"),
        "console_proxy": ("console_proxies", "console_proxy", "consoleproxy", "cpvm", "cpvms"),
        "secondary_storage": ("secondary_storage", "secondary_storage_vms", "secstorage", "ssvm", "ssvms"),
        "guest": ("guests", "guest", "instances", "instance", "vms"),
    },
    "kubernetes": {
        "worker": ("workers", "worker", "kube_node", "k8s_workers", "nodes"),
        "pod_vm": ("podvms", "pod_vms", "podvm", "peer_pods"),
    },
}

# Tier (roles/collect) -> role when the host shows nothing of its own: only tiers an inventory states (the
# collect role's default tier is hypervisor, so that one says nothing).
_TIER_ROLES = {
    ("openstack", "instance"): "guest",
    ("cloudstack", "instance"): "guest",
    ("kubernetes", "instance"): "pod_vm",
    ("openstack", "network_node"): "network_node",
}

# How many points of host signs decide a platform; one weak sign (a libvirtd, an apache2) does not.
_DECIDES = 2
_MAX_EVIDENCE = 8

# Neutron names a device for its port: prefix + the port UUID's first 11 characters (8 hex, '-', 2 hex).
_PORT_DEVICE = re.compile(r"^(tap|qvo|qvb|qbr|qr-|qg-|ha-|sg-|fg-)[0-9a-f]{8}-[0-9a-f]{2}$")
_CLOUDSTACK_LINK = re.compile(r"^(cloudbr\d+|cloud0|breth\d+-\d+)$")
# CloudStack's own VM names: i-<account>-<id>-VM guests, r-/v-/s-<id>-VM system VMs.
_CLOUDSTACK_NAMES = (
    (re.compile(r"^r-\d+-VM$"), "virtual_router", "CloudStack's name for a virtual router"),
    (re.compile(r"^v-\d+-VM$"), "console_proxy", "CloudStack's name for a console proxy VM"),
    (re.compile(r"^s-\d+-VM$"), "secondary_storage", "CloudStack's name for a secondary storage VM"),
    (re.compile(r"^i-\d+-\d+-VM$"), "guest", "CloudStack's name for a guest instance"),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Processes by program name (the basename of argv[0] or argv[1], or comm, which the kernel cuts at 15
# characters): (platform, role, what it is, points).
_PROGRAMS = {
    "neutron-dhcp-agent": ("openstack", "network_node", "Neutron's DHCP agent", 3),
    "neutron-l3-agent": ("openstack", "network_node", "Neutron's L3 agent", 3),
    "neutron-metadata-agent": ("openstack", "network_node", "Neutron's metadata agent", 3),
    "neutron-openvswitch-agent": ("openstack", None, "Neutron's Open vSwitch agent", 3),
    "neutron-linuxbridge-agent": ("openstack", None, "Neutron's Linux bridge agent", 3),
    "neutron-ovn-metadata-agent": ("openstack", "compute", "Neutron's OVN metadata agent", 3),
    "neutron-server": ("openstack", "network_node", "Neutron's API server", 3),
    "nova-compute": ("openstack", "compute", "Nova's compute service", 3),
    "kubelet": ("kubernetes", "worker", "the kubelet", 3),
    "kata-agent": ("kubernetes", "pod_vm", "the Kata agent (inside a pod VM)", 3),
    "agent-protocol-forwarder": ("kubernetes", "pod_vm", "the peer-pods agent protocol forwarder", 3),
    "cloud-api-adaptor": ("kubernetes", "worker", "the peer-pods cloud API adaptor", 3),
}
# Programs that only tell the role once the platform is known.
_ROLE_PROGRAMS = {
    "libvirtd": {"openstack": "compute", "cloudstack": "kvm_host"},
    "virtqemud": {"openstack": "compute", "cloudstack": "kvm_host"},
    "apache2": {"cloudstack": "virtual_router"},
}


class Placement(tuple):
    """(platform, role, evidence): evidence a list of short strings, each naming what it saw."""

    __slots__ = ()

    def __new__(cls, platform, role, evidence):
        return tuple.__new__(cls, (platform, role, list(evidence)))

    platform = property(lambda self: self[0])
    role = property(lambda self: self[1])
    evidence = property(lambda self: self[2])


class _Sign(object):
    __slots__ = ("platform", "role", "text", "points", "roles")

    def __init__(self, platform, role, text, points, roles=None):
        self.platform = platform    # None: says nothing of the platform
        self.role = role            # the role it shows on its platform, or None
        self.text = text
        self.points = points
        self.roles = roles          # {platform: role} for a sign whose meaning depends on the platform


def roles_of(platform):
    """The roles a platform knows (empty for generic and unknown platforms)."""
    return ROLES.get(platform, ())


def has_role(state, *roles):
    """Whether a HostState (or anything with ``role``) holds one of ``roles``."""
    return getattr(state, "role", None) in roles


def _shown(value, limit=64):
    """A name from the host as the evidence quotes it: control characters replaced, bounded."""
    text = _CONTROL.sub("?", str(value))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _dicts(value):
    return [item for item in value if isinstance(item, dict)] if isinstance(value, (list, tuple)) else []


def _strings(value):
    return [item for item in value if isinstance(item, str)] if isinstance(value, (list, tuple)) else []


def _basename(arg):
    return arg.rstrip("/").rsplit("/", 1)[-1]


def _program(row):
    """The names a process row answers to: basenames of argv[0..1] (interpreters run scripts), and comm."""
    args = _strings(row.get("cmdline"))
    names = [_basename(arg) for arg in args[:2] if arg and not arg.startswith("-")]
    comm = row.get("comm")
    if isinstance(comm, str) and comm:
        names.append(comm)
    # A script run as python3 /usr/bin/neutron-dhcp-agent: drop the interpreter's name suffixes.
    return [re.sub(r"\.py$", "", name) for name in names]


def _matches(names, program):
    for name in names:
        # comm is cut at 15 characters (TASK_COMM_LEN): a prefix of the program's name of that length.
        if name == program or (len(name) == 15 and program.startswith(name)):
            return True
    return False


def _namespace_signs(namespaces, signs):
    names_of = {}
    for namespace in _dicts(namespaces):
        name = namespace.get("name")
        if isinstance(name, str) and name:
            if namespace.get("id") is not None:
                names_of[namespace.get("id")] = name
            if name.startswith("qdhcp-"):
                signs.append(_Sign("openstack", "network_node", "namespace %s (Neutron's DHCP agent)" % _shown(name), 3))
            elif name.startswith("qrouter-"):
                signs.append(_Sign("openstack", "network_node", "namespace %s (Neutron's L3 agent)" % _shown(name), 3))
            elif name.startswith(("snat-", "fip-")):
                signs.append(_Sign("openstack", "network_node", "namespace %s (Neutron's DVR)" % _shown(name), 3))
            elif name.startswith("ovnmeta-"):
                signs.append(_Sign("openstack", "compute", "namespace %s (Neutron's OVN metadata agent, on a chassis "
                                   "with ports of that network)" % _shown(name), 3))
            elif name.startswith("cni-"):
                signs.append(_Sign("kubernetes", "worker", "namespace %s (a CNI pod sandbox)" % _shown(name), 3))
        inside = name if isinstance(name, str) else ""
        for link in _dicts(namespace.get("links")):
            dev = link.get("name")
            if not isinstance(dev, str):
                continue
            if dev.startswith(("ovn-k8s-", "cni0", "flannel", "cali", "cilium_")):
                signs.append(_Sign("kubernetes", "worker", "device %s (a Kubernetes CNI's)" % _shown(dev), 3))
            elif _CLOUDSTACK_LINK.match(dev):
                signs.append(_Sign("cloudstack", "kvm_host", "bridge %s (a CloudStack KVM host's traffic label or "
                                   "link-local bridge)" % _shown(dev), 3))
            elif _PORT_DEVICE.match(dev) and dev[:3] in ("qvo", "qvb", "qbr") and not inside:
                signs.append(_Sign("openstack", "compute", "device %s (os-vif hybrid plug of an instance port)" % _shown(dev), 3))
    return names_of


def _process_signs(processes, names_of, signs):
    for row in _dicts(processes):
        names = _program(row)
        pid = row.get("pid")
        where_ns = names_of.get(row.get("ns"))
        args = " ".join(_strings(row.get("cmdline")))
        for program, (platform, role, what, points) in _PROGRAMS.items():
            if _matches(names, program):
                signs.append(_Sign(platform, role, "process %s (pid %s): %s" % (program, _shown(pid), what), points))
        for program, roles in _ROLE_PROGRAMS.items():
            if _matches(names, program):
                signs.append(_Sign(None, None, "process %s (pid %s)" % (program, _shown(pid)), 1, roles))
        if _matches(names, "dnsmasq"):
            if "/var/lib/neutron/dhcp/" in args or (where_ns or "").startswith("qdhcp-"):
                signs.append(_Sign("openstack", "network_node", "process dnsmasq (pid %s) serving %s" % (
                    _shown(pid), _shown(where_ns or "a Neutron network")), 3))
        elif _matches(names, "haproxy"):
            if (where_ns or "").startswith("ovnmeta-") or "ovn-metadata" in args:
                signs.append(_Sign("openstack", "compute", "process haproxy (pid %s) in %s (OVN metadata proxy)" % (
                    _shown(pid), _shown(where_ns or "an ovnmeta- namespace")), 3))
            elif (where_ns or "").startswith(("qrouter-", "qdhcp-")) or "/var/lib/neutron/" in args:
                signs.append(_Sign("openstack", "network_node", "process haproxy (pid %s) in %s (Neutron's metadata "
                                   "proxy)" % (_shown(pid), _shown(where_ns or "a Neutron namespace")), 3))
        elif _matches(names, "keepalived"):
            if "/var/lib/neutron/ha_confs/" in args or (where_ns or "").startswith("qrouter-"):
                signs.append(_Sign("openstack", "network_node", "process keepalived (pid %s) of a Neutron HA router" % (
                    _shown(pid),), 3))
        elif _matches(names, "ovn-controller"):
            # OVN serves OpenStack and Kubernetes alike: a chassis, not a platform.
            signs.append(_Sign(None, None, "process ovn-controller (pid %s): an OVN chassis" % _shown(pid), 1,
                               {"openstack": "compute"}))
        elif _matches(names, "passwd_server_ip"):
            signs.append(_Sign("cloudstack", "virtual_router", "process passwd_server_ip (pid %s): the virtual "
                               "router's password server" % _shown(pid), 3))
        elif _matches(names, "java") or _matches(names, "jsvc"):
            lowered = args.lower()
            if "/usr/local/cloud/systemvm" in lowered or "type=consoleproxy" in lowered or "type=secstorage" in lowered:
                role = "console_proxy" if "consoleproxy" in lowered else (
                    "secondary_storage" if "secstorage" in lowered else None)
                signs.append(_Sign("cloudstack", role, "process java (pid %s): a CloudStack system VM agent%s" % (
                    _shown(pid), " (%s)" % role.replace("_", " ") if role else ""), 3))
            elif "cloudstack-agent" in lowered or "com.cloud.agent.agentshell" in lowered:
                signs.append(_Sign("cloudstack", "kvm_host", "process java (pid %s): the CloudStack KVM agent" % _shown(pid), 3))
            elif "cloudstack-management" in lowered or "org.apache.cloudstack.serverdaemon" in lowered:
                signs.append(_Sign("cloudstack", "management", "process java (pid %s): the CloudStack management "
                                   "server" % _shown(pid), 3))
        elif _matches(names, "cloudstack-agent"):
            signs.append(_Sign("cloudstack", "kvm_host", "process cloudstack-agent (pid %s)" % _shown(pid), 3))


def _ovs_signs(ovs, qdhcp_devices, signs):
    if not isinstance(ovs, dict):
        return
    seen = set()
    for bridge in _dicts(ovs.get("bridges")):
        for port in _dicts(bridge.get("ports")):
            for interface in _dicts(port.get("interfaces")) or [port]:
                name = interface.get("name")
                ids = interface.get("external_ids")
                if not isinstance(name, str) or not isinstance(ids, dict):
                    continue
                if "vm-uuid" in ids and "vm-uuid" not in seen:
                    seen.add("vm-uuid")
                    signs.append(_Sign("openstack", "compute", "OVS port %s external_ids vm-uuid=%s (os-vif plugged an "
                                       "instance)" % (_shown(name), _shown(ids.get("vm-uuid"), 40)), 3))
                elif "iface-id" in ids and _PORT_DEVICE.match(name) and name[:3] in ("tap", "qvo"):
                    if name in qdhcp_devices:
                        continue  # the DHCP port: its namespace already said so
                    key = "port:" + name[:3]
                    if key not in seen:
                        seen.add(key)
                        signs.append(_Sign("openstack", "compute", "OVS port %s external_ids iface-id=%s (a Neutron "
                                           "instance port)" % (_shown(name), _shown(ids.get("iface-id"), 40)), 2))
                if any(isinstance(key, str) and key.startswith("k8s.ovn.org") for key in ids) and "k8s" not in seen:
                    seen.add("k8s")
                    signs.append(_Sign("kubernetes", "worker", "OVS port %s external_ids k8s.ovn.org/* (ovn-kubernetes)"
                                       % _shown(name), 2))


def _file_signs(files, signs):
    if not isinstance(files, dict):
        return
    seen = set()
    for item in _dicts(files.get("read")):
        path = item.get("path")
        if not isinstance(path, str):
            continue
        base = _basename(path)
        if path == "/etc/cloudstack/agent/agent.properties":
            signs.append(_Sign("cloudstack", "kvm_host", "file %s (the CloudStack KVM agent's)" % path, 3))
        elif path.startswith("/var/lib/neutron/dhcp/") and "dhcp" not in seen:
            seen.add("dhcp")
            signs.append(_Sign("openstack", "network_node", "file %s (Neutron's DHCP agent state)" % _shown(path), 3))
        elif path.startswith("/var/lib/neutron/ha_confs/") and "ha" not in seen:
            seen.add("ha")
            signs.append(_Sign("openstack", "network_node", "file %s (a Neutron HA router's state)" % _shown(path), 3))
        elif path.startswith("/etc/neutron/") and base.endswith(".ini"):
            role = "network_node" if base in ("dhcp_agent.ini", "l3_agent.ini", "metadata_agent.ini") else (
                "compute" if "ovn_metadata" in base else None)
            signs.append(_Sign("openstack", role, "file %s (Neutron's configuration)" % _shown(path), 2))
        elif path.startswith(("/var/lib/cloud/", "/run/cloud-init/")) and "cloud-init" not in seen:
            seen.add("cloud-init")
            signs.append(_Sign(None, None, "file %s (cloud-init ran: a guest)" % _shown(path), 1,
                               {"openstack": "guest", "cloudstack": "guest"}))


def _socket_signs(namespaces, signs):
    for namespace in _dicts(namespaces):
        for row in _dicts(namespace.get("sockets")):
            if row.get("protocol") == "tcp" and row.get("port") == 3922:
                # Every CloudStack system VM's SSH (the link-local control side).
                signs.append(_Sign("cloudstack", None, "tcp/3922 listening (a CloudStack system VM's SSH)", 1))
                return


def host_signs(namespaces=None, ovs=None, processes=None, files=None, name=None):
    """Every sign of a platform or role in one host's facts (raw or validated; malformed parts are skipped)."""
    signs = []
    names_of = _namespace_signs(namespaces, signs)
    qdhcp_devices = set()
    for namespace in _dicts(namespaces):
        if str(namespace.get("name") or "").startswith(("qdhcp-", "qrouter-")):
            qdhcp_devices.update(link.get("name") for link in _dicts(namespace.get("links")))
    _process_signs(processes, names_of, signs)
    _ovs_signs(ovs, qdhcp_devices, signs)
    _file_signs(files, signs)
    _socket_signs(namespaces, signs)
    if isinstance(name, str):
        for pattern, role, what in _CLOUDSTACK_NAMES:
            if pattern.match(name):
                signs.append(_Sign("cloudstack", role, "inventory name %s (%s)" % (_shown(name), what), 2))
    return signs


def _group_names(groups):
    return set(str(group).lower() for group in groups or () if isinstance(group, (str, int)))


def _decide_platform(groups, signs):
    """(platform or None, evidence) from groups, then the host's signs."""
    lowered = _group_names(groups)
    for platform, names in PLATFORM_GROUPS.items():
        found = sorted(lowered.intersection(names))
        if found:
            return platform, ["inventory group %s" % _shown(found[0])]
    points = {}
    for sign in signs:
        if sign.platform is not None:
            points[sign.platform] = points.get(sign.platform, 0) + sign.points
    # Ties in the order the detection always had: OpenStack's namespaces, Kubernetes' links, CloudStack's bridges.
    best = None
    for platform in ("openstack", "kubernetes", "cloudstack"):
        if points.get(platform, 0) >= _DECIDES and (best is None or points[platform] > points[best]):
            best = platform
    if best is None:
        return None, []
    evidence = [sign.text for sign in signs if sign.platform == best]
    others = sorted(platform for platform in points if platform != best)
    if others:
        evidence.append("also signs of %s, fewer" % ", ".join(others))
    return best, evidence


def _decide_role(platform, groups, signs, tier):
    """(role or None, evidence) on ``platform``."""
    known = ROLES.get(platform)
    if not known:
        return None, []
    lowered = _group_names(groups)
    for role, names in ROLE_GROUPS.get(platform, {}).items():
        found = sorted(lowered.intersection(names))
        if found:
            return role, ["inventory group %s" % _shown(found[0])]
    points, texts = {}, {}
    for sign in signs:
        role = sign.role if sign.platform == platform else (sign.roles or {}).get(platform)
        if role in known and (sign.platform in (None, platform)):
            points[role] = points.get(role, 0) + sign.points
            texts.setdefault(role, []).append(sign.text)
    if points:
        # Most points; a tie goes to the vocabulary's order (network node before compute: an all-in-one host).
        role = max(known, key=lambda name: (points.get(name, 0), -known.index(name)))
        evidence = list(texts[role])
        others = [name for name in known if name != role and points.get(name)]
        if others:
            evidence.append("also signs of %s, fewer" % ", ".join(others))
        return role, evidence
    role = _TIER_ROLES.get((platform, tier))
    if role is not None:
        return role, ["no sign of its own: its tier %s" % tier]
    return None, []


def classify(groups=(), namespaces=None, ovs=None, processes=None, files=None, tier=None, name=None,
             platform=None, role=None, platform_reason=None):
    """The Placement of one host.

    ``platform``: the platform already decided (the inventory's, or the fleet's for a host with no sign of
    its own), ``platform_reason`` why; None/"auto" decides it here. ``role``: the inventory's role, kept when it
    is one of the platform's."""
    signs = host_signs(namespaces, ovs, processes, files, name)
    evidence = []
    if platform in (None, "auto"):
        platform, evidence = _decide_platform(groups, signs)
    elif platform_reason:
        evidence = [platform_reason] if isinstance(platform_reason, str) else list(platform_reason)
    if isinstance(role, str) and role in roles_of(platform):
        found, why = role, ["inventory role %s" % role]
    else:
        found, why = _decide_role(platform, groups, signs, tier)
    for text in why:
        if text not in evidence:
            evidence.append(text)
    if any(text.startswith("inventory") for text in evidence):
        # The inventory decided: still say what the host itself shows, agreeing or not.
        for sign in signs:
            agrees = (sign.platform == platform and sign.role in (None, found)) or (
                sign.platform is None and found is not None and (sign.roles or {}).get(platform) == found)
            if agrees and sign.text not in evidence:
                evidence.append("also seen: %s" % sign.text)
        against = sorted(set(sign.platform for sign in signs if sign.platform not in (None, platform)))
        if against:
            evidence.append("the host also shows signs of %s: the inventory's platform kept" % ", ".join(against))
    return Placement(platform, found, evidence[:_MAX_EVIDENCE])


def _entry_facts(entry):
    """(namespaces, ovs, processes, files) of a fleet entry (docs/contracts.md section 5), raw."""
    host = entry.get("host") if isinstance(entry.get("host"), dict) else None
    netns = host if host is not None else (entry.get("netns") if isinstance(entry.get("netns"), dict) else {})
    ovs = entry.get("ovs") if isinstance(entry.get("ovs"), dict) else (host or {}).get("ovs")
    return (netns.get("namespaces"), ovs, (host or {}).get("processes"), (host or {}).get("files"))


def classify_entry(name, entry, platform=None, role=None, platform_reason=None):
    """The Placement of one fleet entry (before the model: raw facts, never raises on their shape)."""
    if not isinstance(entry, dict):
        return Placement(platform if platform not in (None, "auto") else None, None, [])
    namespaces, ovs, processes, files = _entry_facts(entry)
    return classify(entry.get("groups") or (), namespaces, ovs, processes, files, entry.get("tier"), name,
                    platform, role, platform_reason)


def classify_state(state, platform=None):
    """The Placement of a HostState (model._fleet), its platform kept unless ``platform`` is given."""
    decided = platform if platform is not None else state.platform
    return classify(state.groups, state.namespaces, state.ovs, state.processes, state.files, state.tier,
                    state.name, decided if decided is not None else "auto")


def placements(model):
    """diagnosis.json ``hosts``: one item per host of the model, its platform, role and why, sorted by name."""
    rows = []
    for name in sorted(model.hosts, key=str):
        state = model.hosts[name]
        rows.append({"name": str(name), "platform": state.platform or "generic", "role": state.role,
                     "tier": state.tier, "reachable": bool(state.reachable),
                     "evidence": [str(item) for item in state.platform_evidence]})
    return rows
