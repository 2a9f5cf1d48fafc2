# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Cross-host VXLAN checks: vxlan_peer_mismatch and mtu_overhead (docs/contracts.md section 6).

Tunnel ends are the kernel VXLAN devices of the vxlan facts and the OVS interfaces of type vxlan of the
ovs facts (options remote_ip, key, dst_port; ``flow`` values are not compared).
They are paired across hosts by addresses and VNI: end A on host H1 with remote R pairs with
the end on the host that owns R (the vxlan facts list every address of their host) whose own remote
is an address of H1; among several, the one with the same VNI and port wins. Plain Python.
"""

from __future__ import annotations

import ipaddress
import shlex

from ansible_collections.cloudnet.triage.plugins.module_utils._arp import DigestError
from ansible_collections.cloudnet.triage.plugins.module_utils._findings import evidence, finding

__all__ = ["CHECKS", "VXLAN_SCHEMAS", "as_fleet", "check_mtu", "check_vxlan_peers", "pair_tunnels", "tunnel_ends"]

VXLAN_SCHEMAS = ("cloudnet.triage.vxlan/1",)
_OVERHEAD_V4 = 50
_OVERHEAD_V6 = 70


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _facts(host, entry):
    """The host's vxlan facts, None when absent; DigestError when they are malformed."""
    if not isinstance(entry, dict):
        raise DigestError(host, host, entry, "expected a dict of facts")
    facts = entry.get("vxlan")
    if facts is None:
        return None
    if not isinstance(facts, dict):
        raise DigestError(host, "vxlan", facts, "expected a dict of cloudnet.triage.vxlan/1 facts")
    if facts.get("schema") not in VXLAN_SCHEMAS:
        raise DigestError(host, "vxlan.schema", facts.get("schema"), "expected one of %s" % ", ".join(VXLAN_SCHEMAS))
    tunnels = facts.get("tunnels")
    if not isinstance(tunnels, list):
        raise DigestError(host, "vxlan.tunnels", tunnels, "expected a list")
    for index, tunnel in enumerate(tunnels):
        where = "vxlan.tunnels[%d]" % index
        if not isinstance(tunnel, dict):
            raise DigestError(host, where, tunnel, "expected a dict")
        if not isinstance(tunnel.get("device"), str):
            raise DigestError(host, where + ".device", tunnel.get("device"), "expected a device name")
        for key in ("vni", "port", "mtu", "underlay_mtu", "overhead"):
            value = tunnel.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise DigestError(host, "%s.%s" % (where, key), value, "expected an integer")
        for key in ("remote", "local", "group"):
            value = tunnel.get(key)
            if value is not None:
                try:
                    ipaddress.ip_address(value)
                except (TypeError, ValueError):
                    raise DigestError(host, "%s.%s" % (where, key), value, "expected an IP address")
    addresses = facts.get("addresses", [])
    if not isinstance(addresses, list) or any(not isinstance(row, list) or len(row) != 3 for row in addresses):
        raise DigestError(host, "vxlan.addresses", _short(addresses), "expected a list of [namespace, device, address]")
    return facts


def as_fleet(value):
    """Accept the fleet dict, or hostname -> vxlan facts (wrapped into fleet entries)."""
    if not isinstance(value, dict):
        raise DigestError("?", "fleet", _short(value), "expected a dict keyed by inventory hostname")
    if value and all(isinstance(entry, dict) and str(entry.get("schema", "")).startswith("cloudnet.triage.vxlan/")
                     for entry in value.values()):
        return dict((host, {"vxlan": entry}) for host, entry in value.items())
    return value


def _netns_addresses(entry):
    netns = entry.get("netns") if isinstance(entry, dict) else None
    rows = []
    for namespace in (netns or {}).get("namespaces") or ():
        if not isinstance(namespace, dict):
            continue
        label = "root" if namespace.get("root") else (namespace.get("name") or "pid")
        for addr in namespace.get("addresses") or ():
            if isinstance(addr, dict) and addr.get("address") and addr.get("scope") not in ("host", "link"):
                rows.append([label, addr.get("dev"), addr["address"]])
    return rows


def _ns_prefix(tunnel, socket=False):
    """Command prefix that enters the device's (or the socket's) namespace."""
    if socket and tunnel.get("socket_elsewhere"):
        if tunnel.get("socket_ns_root"):
            return []
        name = tunnel.get("socket_ns_name")
        return ["ip", "netns", "exec", name] if name else ["nsenter", "--net=/proc/<PID>/ns/net"]
    label = tunnel.get("ns_label")
    if not label or label == "root":
        return []
    if label.startswith("pid:"):
        return ["nsenter", "-t", label[4:], "-n"]
    return ["ip", "netns", "exec", label]


def _command(prefix, *args):
    return " ".join(shlex.quote(str(part)) for part in list(prefix) + list(args))


def _where(tunnel):
    label = tunnel.get("ns_label") or "root"
    return tunnel["device"] if label == "root" else "%s in namespace %s" % (tunnel["device"], label)


def _ns_field(tunnel):
    label = tunnel.get("ns_label")
    return None if not label or label == "root" else label


def tunnel_ends(fleet):
    """[(host, tunnel)] for every tunnel, the owner index {address: [host, ...]}, and not_checked."""
    ends, owners, not_checked = [], {}, []
    if not isinstance(fleet, dict):
        raise DigestError("?", "fleet", _short(fleet), "expected a dict keyed by inventory hostname")
    for host in sorted(fleet):
        entry = fleet[host]
        facts = _facts(host, entry)
        if entry.get("reachable") is False:
            continue
        rows = list(facts.get("addresses") or []) if facts else []
        rows.extend(_netns_addresses(entry))
        for _ns, _dev, address in rows:
            owners.setdefault(address, [])
            if host not in owners[address]:
                owners[address].append(host)
        for tunnel in _ovs_tunnel_ends(host, entry):
            ends.append((host, tunnel))
        if facts is None:
            not_checked.append({"check": "vxlan_peer", "host": host, "reason": "no vxlan_peer_check facts for this host"})
            continue
        for tunnel in facts["tunnels"]:
            ends.append((host, tunnel))
    return ends, owners, not_checked


def _ovs_number(host, where, value, default):
    """An OVS tunnel option as an int; None for ``flow`` (set per packet by the flows)."""
    if value is None:
        return default
    if value == "flow":
        return None
    try:
        return int(str(value), 0)
    except ValueError:
        raise DigestError(host, where, value, "expected a number or 'flow'")


def _ovs_tunnel_ends(host, entry):
    """OVS ports of type vxlan (OpenStack br-tun, OVN) as tunnel ends, from the host's ovs facts."""
    facts = entry.get("ovs")
    if not isinstance(facts, dict) or not facts.get("available", True):
        return []
    ends = []
    for b_index, bridge in enumerate(facts.get("bridges") or []):
        for p_index, port in enumerate((bridge or {}).get("ports") or []):
            for i_index, interface in enumerate((port or {}).get("interfaces") or []):
                if not isinstance(interface, dict) or interface.get("type") != "vxlan":
                    continue
                where = "ovs.bridges[%d].ports[%d].interfaces[%d].options" % (b_index, p_index, i_index)
                options = interface.get("options") or {}
                if not isinstance(options, dict):
                    raise DigestError(host, where, _short(options), "expected a dict")
                remote = options.get("remote_ip")
                local = options.get("local_ip")
                for key, value in (("remote_ip", remote), ("local_ip", local)):
                    if value not in (None, "flow"):
                        try:
                            ipaddress.ip_address(value)
                        except ValueError:
                            raise DigestError(host, "%s.%s" % (where, key), value, "expected an IP address or 'flow'")
                ends.append({
                    "kind": "ovs",
                    "bridge": bridge.get("name"),
                    "device": interface.get("name"),
                    "ns_label": "root",
                    "ns_id": None,
                    "vni": _ovs_number(host, where + ".key", options.get("key"), 0),
                    "remote": None if remote == "flow" else remote,
                    "local": None if local == "flow" else local,
                    "group": None,
                    "port": _ovs_number(host, where + ".dst_port", options.get("dst_port"), 4789),
                    "mtu": None,
                    "underlay_mtu": None,
                    "learning": None,
                    "fdb": None,
                    "route_to_remote": None,
                    "remote_is_local": False,
                })
    return ends


def _describe(host, tunnel):
    return {
        "host": host,
        "namespace": _ns_field(tunnel),
        "device": tunnel["device"],
        "vni": tunnel.get("vni"),
        "port": tunnel.get("port"),
        "remote": tunnel.get("remote"),
        "local": tunnel.get("local"),
        "mtu": tunnel.get("mtu"),
    }


def pair_tunnels(fleet):
    """Pair tunnel ends across hosts.

    Returns a list of ``{a, b, consistent, problems}``: ``b`` is null when no end on the remote's
    owner points back (``problems`` says why). Each end appears in at most one pair.
    """
    ends, owners, _skipped = tunnel_ends(fleet)
    by_host = {}
    for host, tunnel in ends:
        by_host.setdefault(host, []).append(tunnel)
    pairs, used = [], set()

    def key(host, tunnel):
        return (host, tunnel.get("ns_id"), tunnel["device"])

    for host, tunnel in ends:
        if key(host, tunnel) in used or not tunnel.get("remote"):
            continue
        remote = tunnel["remote"]
        peer_hosts = [name for name in owners.get(remote, []) if name != host]
        problems = []
        best = None
        for peer_host in peer_hosts:
            for candidate in by_host.get(peer_host, []):
                if key(peer_host, candidate) in used or not candidate.get("remote"):
                    continue
                if host not in owners.get(candidate["remote"], []):
                    continue
                score = (candidate.get("vni") == tunnel.get("vni"), candidate.get("port") == tunnel.get("port"))
                if best is None or score > best[0]:
                    best = (score, peer_host, candidate)
        used.add(key(host, tunnel))
        if best is None:
            if not owners.get(remote):
                problems.append("remote %s is owned by no host in the inventory" % remote)
            elif not peer_hosts:
                problems.append("remote %s is an address of this very host" % remote)
            else:
                problems.append("%s owns %s but has no tunnel end whose remote is an address of %s"
                                % (", ".join(peer_hosts), remote, host))
            pairs.append({"a": _describe(host, tunnel), "b": None, "consistent": False, "problems": problems})
            continue
        _score, peer_host, peer = best
        used.add(key(peer_host, peer))
        if peer.get("vni") != tunnel.get("vni") and None not in (peer.get("vni"), tunnel.get("vni")):
            problems.append("VNI differs: %s on %s, %s on %s" % (tunnel.get("vni"), host, peer.get("vni"), peer_host))
        if peer.get("port") != tunnel.get("port") and None not in (peer.get("port"), tunnel.get("port")):
            problems.append("UDP port differs: %s on %s, %s on %s" % (tunnel.get("port"), host, peer.get("port"), peer_host))
        pairs.append({"a": _describe(host, tunnel), "b": _describe(peer_host, peer),
                      "consistent": not problems, "problems": problems})
    return pairs


def _mismatch(summary, items, remedy, severity="critical", confidence="certain", check="vxlan_peer"):
    return finding("vxlan_peer_mismatch", severity, summary, items, remedy=remedy, confidence=confidence, check=check)


def _fact_line(tunnel):
    parts = ["vxlan id %s" % tunnel.get("vni")]
    for key in ("remote", "group", "local"):
        if tunnel.get(key):
            parts.append("%s %s" % (key, tunnel[key]))
    parts.append("dstport %s" % tunnel.get("port"))
    if tunnel.get("learning") is False:
        parts.append("nolearning")
    return " ".join(parts)


def check_vxlan_peers(fleet):
    """vxlan_peer_mismatch: the two ends disagree, the remote is nobody's, no route, no FDB entry."""
    ends, owners, not_checked = tunnel_ends(fleet)
    findings = []
    for pair in pair_tunnels(fleet):
        a = pair["a"]
        tunnel_a = _lookup(ends, a)
        if pair["b"] is None:
            problem = pair["problems"][0]
            if "this very host" in problem:
                continue  # reported below from remote_is_local, with the local evidence
            if "owned by no host" in problem:
                # A typo inside a subnet the fleet uses is likely; an address outside it may simply be a host
                # this run does not cover.
                inside = _in_fleet_subnet(fleet, a["remote"])
                findings.append(_mismatch(
                    "%s on %s sends to %s, an address no host in the inventory owns%s."
                    % (_where(tunnel_a), a["host"], a["remote"], " (a typo in the remote?)" if inside else ""),
                    [evidence(a["host"], _fact_line(tunnel_a), _ns_field(tunnel_a), a["device"])],
                    [_command(_ns_prefix(tunnel_a), "ip", "-d", "link", "show", "dev", a["device"]) + "  # check the remote"],
                    severity="warning", confidence="likely" if inside else "possible"))
                continue
            findings.append(_mismatch(
                "%s on %s points at %s, but no tunnel end there points back: %s."
                % (_where(tunnel_a), a["host"], a["remote"], problem),
                [evidence(a["host"], _fact_line(tunnel_a), _ns_field(tunnel_a), a["device"])],
                ["# on the remote's host: ip -d link show type vxlan  (in every namespace)"],
                severity="warning", confidence="likely"))
            continue
        if pair["consistent"]:
            continue
        b = pair["b"]
        tunnel_b = _lookup(ends, b)
        remedy = []
        if a["vni"] != b["vni"] or a["port"] != b["port"]:
            # Change one end like the other: an OVS end in place, a kernel end by re-creating it.
            target, reference = (b, tunnel_b), (a, tunnel_a)
            if tunnel_a.get("kind") == "ovs" and tunnel_b.get("kind") != "ovs":
                target, reference = reference, target
            (fix, fix_tunnel), ref = target, reference[0]
            if fix_tunnel.get("kind") == "ovs":
                remedy.append("ovs-vsctl set interface %s options:key=%s options:dst_port=%s  # on %s"
                              % (fix["device"], ref["vni"], ref["port"], fix["host"]))
            else:
                remedy.extend(_recreate(fix_tunnel, ref["vni"], ref["port"]))
            remedy.append("# or, if %s's end is the right one: give %s on %s id %s dstport %s"
                          % (fix["host"], ref["device"], ref["host"], fix["vni"], fix["port"]))
        findings.append(_mismatch(
            "The two ends of the VXLAN tunnel between %s and %s disagree: %s."
            % (a["host"], b["host"], "; ".join(pair["problems"])),
            [evidence(a["host"], _fact_line(tunnel_a), _ns_field(tunnel_a), a["device"]),
             evidence(b["host"], _fact_line(tunnel_b), _ns_field(tunnel_b), b["device"])],
            remedy))
    for host, tunnel in ends:
        remote = tunnel.get("remote") or tunnel.get("group")
        where = _where(tunnel)
        socket_where = "the root namespace" if tunnel.get("socket_ns_root") else \
            "namespace %s" % (tunnel.get("socket_ns_name") or tunnel.get("ns_label"))
        if remote and tunnel.get("route_to_remote") is False:
            findings.append(_mismatch(
                "%s on %s cannot reach its remote %s: %s, where the tunnel's socket lives, has no route to it."
                % (where, host, remote, socket_where),
                [evidence(host, "no route to %s in %s (ip route get failed)" % (remote, socket_where),
                          _ns_field(tunnel), tunnel["device"])],
                [_command(_ns_prefix(tunnel, socket=True), "ip", "route", "get", remote),
                 _command(_ns_prefix(tunnel, socket=True), "ip", "route", "add", remote,
                          "dev", tunnel.get("underlay") or "<underlay-device>")]))
        if tunnel.get("remote_is_local"):
            findings.append(_mismatch(
                "%s on %s sends to %s, an address of this very host: the tunnel loops back instead of reaching its peer."
                % (where, host, tunnel.get("remote")),
                [evidence(host, _fact_line(tunnel), _ns_field(tunnel), tunnel["device"])],
                ["# re-create %s with the peer host's underlay address as remote" % tunnel["device"]]))
        fdb = tunnel.get("fdb")
        if tunnel.get("learning") is False:
            if fdb is None:
                not_checked.append({"check": "vxlan_peer", "host": host,
                                    "reason": "FDB of %s could not be read" % tunnel["device"]})
            elif not any(entry.get("dst") for entry in fdb):
                # With nolearning only FDB entries (the remote's default 00:00:00:00:00:00 entry included) say
                # where to send: none with a destination means the device sends nothing anywhere.
                if tunnel.get("remote"):
                    why = "its default FDB entry towards the remote %s was deleted" % tunnel["remote"]
                    dst = tunnel["remote"]
                else:
                    why = "it has no remote"
                    dst = "<peer-underlay-address>"
                findings.append(_mismatch(
                    "%s on %s has nolearning and no FDB entry with a destination (%s): it sends nothing anywhere."
                    % (where, host, why),
                    [evidence(host, _fact_line(tunnel) + "; fdb: %d entries, none with dst" % len(fdb),
                              _ns_field(tunnel), tunnel["device"])],
                    [_command(_ns_prefix(tunnel), "bridge", "fdb", "append", "00:00:00:00:00:00", "dev",
                              tunnel["device"], "dst", dst)]))
    return findings, not_checked


def _recreate(tunnel, vni, port):
    """Commands that re-create ``tunnel`` with another VNI/port, where its socket lives, then move it back."""
    args = ["type", "vxlan", "id", vni]
    for key in ("remote", "group", "local"):
        if tunnel.get(key):
            args += [key, tunnel[key]]
    args += ["dstport", port]
    if tunnel.get("underlay") and tunnel.get("underlay_ifindex") is not None and tunnel.get("route_dev") != tunnel.get("underlay"):
        args += ["dev", tunnel["underlay"]]
    if tunnel.get("learning") is False:
        args.append("nolearning")
    device = tunnel["device"]
    commands = [_command(_ns_prefix(tunnel), "ip", "-d", "link", "show", device) + "  # note MAC, MTU, addresses first",
                _command(_ns_prefix(tunnel), "ip", "link", "del", device),
                _command(_ns_prefix(tunnel, socket=True), "ip", "link", "add", device, *args)]
    if tunnel.get("socket_elsewhere") and _ns_field(tunnel):
        commands.append(_command(_ns_prefix(tunnel, socket=True), "ip", "link", "set", device, "netns", _ns_field(tunnel)))
    commands.append("# then restore its MAC, MTU, addresses, FDB entries and tc redirects")
    return commands


def _lookup(ends, described):
    for host, tunnel in ends:
        if host == described["host"] and tunnel["device"] == described["device"] and \
                _ns_field(tunnel) == described["namespace"]:
            return tunnel
    raise KeyError(described)


def _in_fleet_subnet(fleet, address):
    """Whether ``address`` lies in a subnet some host of the fleet has an address in (netns facts)."""
    try:
        target = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in fleet.values():
        netns = entry.get("netns") if isinstance(entry, dict) else None
        for namespace in (netns or {}).get("namespaces") or ():
            for addr in (namespace or {}).get("addresses") or ():
                try:
                    network = ipaddress.ip_network("%s/%s" % (addr.get("address"), addr.get("prefixlen")), strict=False)
                except (TypeError, ValueError):
                    continue
                if target in network and network.prefixlen < network.max_prefixlen:
                    return True
    return False


def _feeders(entry, tunnel):
    """(device, mtu) of devices in the tunnel's namespace whose frames tc mirred redirects into it."""
    feeders = [(item.get("device"), item.get("mtu")) for item in tunnel.get("feeders") or () if isinstance(item, dict)]
    if feeders:
        return feeders
    netns = entry.get("netns") if isinstance(entry, dict) else None
    for namespace in (netns or {}).get("namespaces") or ():
        if not isinstance(namespace, dict) or namespace.get("id") != tunnel.get("ns_id"):
            continue
        mtus = dict((link.get("name"), link.get("mtu")) for link in namespace.get("links") or () if isinstance(link, dict))
        for rule in namespace.get("tc") or ():
            if isinstance(rule, dict) and rule.get("target") == tunnel["device"] and rule.get("dev") in mtus:
                feeders.append((rule["dev"], mtus[rule["dev"]]))
    return feeders


def check_mtu(fleet):
    """mtu_overhead: overlay MTU + overhead above the underlay MTU, the two ends' MTUs differ, DF pings fail."""
    ends, _owners, not_checked = tunnel_ends(fleet)
    findings = []
    effective = {}
    for host, tunnel in ends:
        if tunnel.get("kind") == "ovs":
            continue  # OVS sizes its tunnel packets from the datapath; the kernel ends carry the MTU facts
        mtu = tunnel.get("mtu")
        feeders = _feeders(fleet[host], tunnel)
        # Frames reach a Kata-style tunnel only through tc mirred from the pod's eth0: those bound its size.
        feeder_mtus = [value for _dev, value in feeders if isinstance(value, int)]
        if mtu is not None and feeder_mtus:
            mtu = min([mtu] + feeder_mtus)
        effective[(host, tunnel.get("ns_id"), tunnel["device"])] = mtu
        overhead = tunnel.get("overhead") or (_OVERHEAD_V6 if ":" in str(tunnel.get("remote") or "") else _OVERHEAD_V4)
        underlay_mtu = tunnel.get("underlay_mtu")
        where = _where(tunnel)
        if mtu is None or underlay_mtu is None:
            if tunnel.get("remote") or tunnel.get("group"):
                not_checked.append({"check": "vxlan_mtu", "host": host,
                                    "reason": "%s: underlay MTU unknown (no underlay device or route)" % tunnel["device"]})
            continue
        if mtu + overhead > underlay_mtu:
            fit = underlay_mtu - overhead
            fact = "mtu %s + %s bytes VXLAN overhead = %s > underlay %s mtu %s" % (
                mtu, overhead, mtu + overhead, tunnel.get("underlay") or "device", underlay_mtu)
            if feeders:
                fact += " (frames come in through tc mirred from %s)" % ", ".join(dev for dev, _mtu in feeders)
            remedy = [_command(_ns_prefix(tunnel), "ip", "link", "set", "dev", tunnel["device"], "mtu", fit)]
            for dev, _mtu in feeders:
                remedy.append(_command(_ns_prefix(tunnel), "ip", "link", "set", "dev", dev, "mtu", fit))
            remedy.append("# or raise the underlay MTU to %s on every hop: ip link set dev %s mtu %s"
                          % (mtu + overhead, tunnel.get("underlay") or "<underlay>", mtu + overhead))
            findings.append(finding(
                "mtu_overhead", "critical",
                "%s on %s carries frames up to %s bytes, which do not fit the underlay once encapsulated: "
                "small packets (ping) pass, full-size TCP segments (SSH, HTTP) are dropped."
                % (where, host, mtu),
                [evidence(host, fact, _ns_field(tunnel), tunnel["device"])],
                remedy=remedy, check="vxlan_mtu", remedy_host=host))
        active = tunnel.get("active")
        if isinstance(active, dict) and active.get("sent") and not active.get("ok") and active.get("too_big"):
            findings.append(finding(
                "mtu_overhead", "critical",
                "DF pings of %s bytes from %s's tunnel socket to %s are refused as too big: the path MTU is below what %s needs."
                % (active.get("size"), host, tunnel.get("remote"), tunnel["device"]),
                [evidence(host, "ping -M do -s %s %s: message too long, %s/%s replies"
                          % (active.get("size"), tunnel.get("remote"), active.get("received"), active.get("sent")),
                          _ns_field(tunnel), tunnel["device"])],
                remedy=["# find the path MTU: tracepath -n %s" % tunnel.get("remote")], check="vxlan_mtu"))
    for pair in pair_tunnels(fleet):
        a, b = pair["a"], pair["b"]
        if b is None:
            continue
        mtu_a = effective.get((a["host"], _lookup(ends, a).get("ns_id"), a["device"]))
        mtu_b = effective.get((b["host"], _lookup(ends, b).get("ns_id"), b["device"]))
        if mtu_a is not None and mtu_b is not None and mtu_a != mtu_b:
            low, high = (a, b) if mtu_a < mtu_b else (b, a)
            findings.append(finding(
                "mtu_overhead", "warning",
                "The two ends of the VXLAN tunnel between %s and %s use different MTUs (%s and %s): "
                "large frames from %s are dropped at %s." % (a["host"], b["host"], mtu_a, mtu_b, high["host"], low["host"]),
                [evidence(a["host"], "effective mtu %s" % mtu_a, a["namespace"], a["device"]),
                 evidence(b["host"], "effective mtu %s" % mtu_b, b["namespace"], b["device"])],
                remedy=[_command(_ns_prefix(_lookup(ends, high)), "ip", "link", "set", "dev", high["device"], "mtu",
                                 min(mtu_a, mtu_b))],
                confidence="likely", check="vxlan_mtu"))
    return findings, not_checked


CHECKS = (
    ("vxlan_peer", check_vxlan_peers),
    ("vxlan_mtu", check_mtu),
)
