# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Cross-host neighbour correlation: arp_mac_mismatch, duplicate_ip, stale_neighbour.

Every neighbour entry (IP -> MAC) is compared with the interfaces that own the IP anywhere in the
fleet. Owners are indexed by IP once (a hash join, never nested loops over hosts), and the paths a
frame can take between devices are followed where the digests describe them:

- a veth sends what it transmits to its peer;
- a tc mirred redirect on a device's ingress sends what the device receives out of another device
  (Kata / peer-pods: the pod's eth0 is a proxy for a tunnel);
- a VXLAN device sends what it transmits to the tunnel end it pairs with on another host (same VNI
  and port, each end's remote owned by the other's host).

A frame addressed to MAC M that ends its walk on a device whose MAC is not M is dropped there: that
is seed 001's fault. Plain Python; the check API is docs/contracts.md section 6.
"""

from __future__ import annotations

__all__ = [
    "CHECKS",
    "check_arp",
    "correlate",
    "fleet_digests",
    "local_findings",
]

import gc
import shlex
from itertools import compress
from operator import eq, itemgetter, not_

from ansible_collections.cloudnet.triage.plugins.module_utils._arp import (
    ARP_SCHEMA,
    DigestError,
    build_digest,
    quick_check,
    validate_digest,
)
from ansible_collections.cloudnet.triage.plugins.module_utils._findings import evidence, finding

CHECK_NAME = "arp_consistency"
_MAX_HOPS = 16
_UNRESOLVED = ("failed", "incomplete")
# Entries the kernel will verify again soon: a wrong MAC there heals itself more often than not.
_SELF_HEALING = ("stale", "delay", "probe")
_SAMPLE = 5
_IP = itemgetter(2)
_STATE = itemgetter(4)
_UNRESOLVED_SET = frozenset(_UNRESOLVED)
_MAC = itemgetter(3)


def _prefix(ns):
    """Command prefix that runs a command in the namespace a digest label names."""
    if not ns:
        return []
    if ns.startswith("pid:"):
        return ["nsenter", "-t", ns[4:], "-n"]
    return ["ip", "netns", "exec", ns]


def _command(ns, *args):
    return " ".join(shlex.quote(str(part)) for part in _prefix(ns) + list(args))


def _where(ns, dev):
    return "%s in namespace %s" % (dev, ns) if ns else "%s" % dev


def _ns_field(ns):
    return ns or None


class _Fleet(object):
    """Indexes of one fleet's digests: owners by IP, devices by MAC, the paths between devices."""

    def __init__(self):
        self.owners = {}        # ip -> [(host, ns, dev, mac, proxy)]
        self.by_mac = {}        # mac -> [(host, ns, dev)]
        self.dev_mac = {}       # (host, ns, dev) -> mac
        self.ingress = {}       # (host, ns, dev) -> (mode, target) from an ingress redirect
        self.egress = {}        # (host, ns, dev) -> (mode, target) from an egress redirect
        self.veth = {}          # (host, ns, dev) -> (ns, dev) of the peer
        self.vxlan = {}         # (host, ns, dev) -> (vni, remote, local, port, mac)
        self.vx_by_key = {}     # (vni, port) -> [(host, ns, dev)]
        self.outbound = set()   # (host, ns, dev) whose transmitted frames have a known path
        self.outbound_idx = {}  # host -> {(ns index, dev index)} of the same, in that host's names
        self.plain = {}         # ip -> MAC of its first owner that forwards nothing (the fast path)
        self.mac_objects = {}
        self.pairs = {}
        self.hosts = []

    # -- indexing -------------------------------------------------------------------------------

    def add(self, host, digest):
        """Index a digest's owned addresses and paths (not its neighbour entries)."""
        names = digest["names"]
        paths = digest.get("paths") or {}
        ingress, egress, outbound = self.ingress, self.egress, self.outbound
        for ns, dev, mode, target in paths.get("mirred") or ():
            key = (host, names[ns], names[dev])
            if mode[0] == "i":
                ingress[key] = (mode[1], names[target])
            else:
                egress[key] = (mode[1], names[target])
                outbound.add(key)
        for ns_a, dev_a, ns_b, dev_b in paths.get("veth") or ():
            end_a = (names[ns_a], names[dev_a])
            end_b = (names[ns_b], names[dev_b])
            self.veth[(host,) + end_a] = end_b
            self.veth[(host,) + end_b] = end_a
            outbound.add((host,) + end_a)
            outbound.add((host,) + end_b)
        for ns, dev, vni, remote, local, port, mac in paths.get("vxlan") or ():
            key = (host, names[ns], names[dev])
            self.vxlan[key] = (vni, remote, local, port, mac)
            self.vx_by_key.setdefault((vni, port), []).append(key)
            outbound.add(key)
            if mac:
                self.dev_mac[key] = mac
                self.by_mac.setdefault(mac, []).append(key)
        local_out = set()
        for ns, dev, _mode, _target in paths.get("mirred") or ():
            if _mode[0] == "e":
                local_out.add((ns, dev))
        for ns_a, dev_a, ns_b, dev_b in paths.get("veth") or ():
            local_out.add((ns_a, dev_a))
            local_out.add((ns_b, dev_b))
        for row in paths.get("vxlan") or ():
            local_out.add((row[0], row[1]))
        self.outbound_idx[host] = local_out
        owners, dev_mac, by_mac, plain = self.owners, self.dev_mac, self.by_mac, self.plain
        shared = self.mac_objects.setdefault
        for ns, dev, ip, mac in digest.get("owned") or ():
            if not isinstance(ip, str):
                raise TypeError("owned address")
            # One object per MAC (JSON gives one per row): fewer cache misses when entries compare to it.
            mac = shared(mac, mac)
            key = (host, names[ns], names[dev])
            proxy = key in ingress
            owner = key + (mac, proxy)
            found = owners.get(ip)
            if found is None:
                owners[ip] = [owner]
            else:
                found.append(owner)
            if mac and not proxy and ip not in plain:
                plain[ip] = mac
            if mac and key not in dev_mac:
                dev_mac[key] = mac
                found = by_mac.get(mac)
                if found is None:
                    by_mac[mac] = [key]
                else:
                    found.append(key)
        for ns, dev, mac in digest.get("macs") or ():
            key = (host, names[ns], names[dev])
            if key not in dev_mac:
                dev_mac[key] = mac
                found = by_mac.get(mac)
                if found is None:
                    by_mac[mac] = [key]
                else:
                    found.append(key)
        self.hosts.append(host)

    # -- walking --------------------------------------------------------------------------------

    def arrive(self, key, trail, hops=0):
        """Where a frame received on device ``key`` ends: [(terminal key or None, trail)]."""
        redirect = self.ingress.get(key)
        if redirect is None or hops > _MAX_HOPS:
            return [(key, trail)]
        mode, target = redirect
        host, ns, dev = key
        step = evidence(host, "tc mirred on %s ingress redirects frames %s %s" % (
            dev, "out of" if mode == "e" else "into", target), _ns_field(ns), dev)
        nxt = (host, ns, target)
        if mode == "e":
            return self.transmit(nxt, trail + [step], hops + 1)
        return self.arrive(nxt, trail + [step], hops + 1)

    def transmit(self, key, trail, hops=0):
        """Where a frame sent out of device ``key`` ends; terminal None when the medium is unknown."""
        if hops > _MAX_HOPS:
            return [(None, trail)]
        host, ns, dev = key
        redirect = self.egress.get(key)
        if redirect is not None:
            mode, target = redirect
            step = evidence(host, "tc mirred on %s egress redirects frames %s %s" % (
                dev, "out of" if mode == "e" else "into", target), _ns_field(ns), dev)
            nxt = (host, ns, target)
            if mode == "e":
                return self.transmit(nxt, trail + [step], hops + 1)
            return self.arrive(nxt, trail + [step], hops + 1)
        peer = self.veth.get(key)
        if peer is not None:
            step = evidence(host, "veth %s is paired with %s" % (dev, _where(peer[0], peer[1])), _ns_field(ns), dev)
            return self.arrive((host,) + peer, trail + [step], hops + 1)
        tunnel = self.vxlan.get(key)
        if tunnel is not None:
            ends = self.far_ends(key)
            if not ends:
                step = evidence(host, "VXLAN %s VNI %s to %s:%s pairs with no tunnel end in the fleet" % (
                    dev, tunnel[0], tunnel[1], tunnel[3]), _ns_field(ns), dev)
                return [(None, trail + [step])]
            result = []
            for far in ends:
                step = evidence(host, "VXLAN %s VNI %s to %s:%s pairs with %s on %s" % (
                    dev, tunnel[0], tunnel[1], tunnel[3], _where(far[1], far[2]), far[0]), _ns_field(ns), dev)
                result.extend(self.arrive(far, trail + [step], hops + 1))
            return result
        return [(None, trail)]

    def _hosts_owning(self, ip):
        return {owner[0] for owner in self.owners.get(ip, ())}

    def far_ends(self, key):
        """Tunnel ends on other hosts this VXLAN device pairs with (same VNI and port)."""
        found = self.pairs.get(key)
        if found is not None:
            return found
        host = key[0]
        vni, remote, local, port, _mac = self.vxlan[key]
        candidates = self.vx_by_key.get((vni, port), ())
        remote_hosts = self._hosts_owning(remote) if remote else None
        found = []
        for other in candidates:
            if other[0] == host:
                continue
            o_remote = self.vxlan[other][1]
            o_local = self.vxlan[other][2]
            if remote_hosts is not None and other[0] not in remote_hosts and o_local != remote:
                continue
            if o_remote and host not in self._hosts_owning(o_remote) and o_remote != local:
                continue
            if remote_hosts is None and not o_remote:
                continue   # two multicast / FDB-only ends: pairing would be a guess
            found.append(other)
        found.sort()
        self.pairs[key] = found
        return found


def _entry_fact(ip, mac, state):
    return "neighbour %s lladdr %s (%s)" % (ip, mac or "none", state)


def _severity(state):
    return "warning" if state in _SELF_HEALING else "critical"


class _Result(object):
    def __init__(self):
        self.mismatches = []
        self.duplicates = []
        self.stale = []
        self.not_checked = []


def _path_mismatch(host, ns, dev, ip, mac, state, owner, terminal, tmac, trail, check, fix_entry=False):
    """The frame reaches a device whose MAC is not the one the entry resolves to: seed 001.

    The remedy gives the far device the entry's MAC when the entry holds a proxy's MAC (what ARP
    announces for the address, the seed's fix), or corrects the entry when it leads there directly."""
    o_host, o_ns, o_dev = owner[:3]
    t_host, t_ns, t_dev = terminal
    items = [evidence(host, _entry_fact(ip, mac, state), _ns_field(ns), dev)]
    if owner[:3] != terminal:
        items.append(evidence(o_host, "%s owns %s with MAC %s" % (o_dev, ip, owner[3]), _ns_field(o_ns), o_dev))
    items.extend(trail)
    items.append(evidence(t_host, "%s has MAC %s, not %s: frames to %s are dropped here" % (
        t_dev, tmac, mac, mac), _ns_field(t_ns), t_dev))
    summary = ("%s resolves %s to %s (%s on %s), but frames for it end on %s on %s, whose MAC is %s: "
               "they are dropped there." % (host, ip, mac, _where(o_ns, o_dev), o_host, _where(t_ns, t_dev), t_host, tmac))
    remedy_host = host if fix_entry else t_host
    if fix_entry and state == "permanent":
        remedy = [_command(ns, "ip", "neigh", "replace", ip, "lladdr", tmac, "dev", dev, "nud", "permanent")]
    elif fix_entry:
        remedy = [_command(ns, "ip", "neigh", "del", ip, "dev", dev)]
    else:
        remedy = [
            _command(t_ns, "ip", "link", "set", "dev", t_dev, "down"),
            _command(t_ns, "ip", "link", "set", "dev", t_dev, "address", mac),
            _command(t_ns, "ip", "link", "set", "dev", t_dev, "up"),
        ]
    return finding("arp_mac_mismatch", _severity(state), summary, items, remedy=remedy,
                   confidence="certain", check=check, remedy_host=remedy_host)


def _plain_mismatch(fleet, host, ns, dev, ip, mac, state, owners, check):
    """No owner of the address carries the MAC the entry resolves to."""
    owners = sorted(owners)
    items = [evidence(host, _entry_fact(ip, mac, state), _ns_field(ns), dev)]
    macs = []
    for o_host, o_ns, o_dev, o_mac, _proxy in owners:
        items.append(evidence(o_host, "%s owns %s with MAC %s" % (o_dev, ip, o_mac or "none"), _ns_field(o_ns), o_dev))
        if o_mac and o_mac not in macs:
            macs.append(o_mac)
    holders = sorted(fleet.by_mac.get(mac, ()))
    for h_host, h_ns, h_dev in holders[:_SAMPLE]:
        items.append(evidence(h_host, "%s has MAC %s but does not own %s" % (h_dev, mac, ip), _ns_field(h_ns), h_dev))
    # A static entry or a MAC known to belong to another device is a certain fault; an unknown MAC may
    # be a proxy-ARP responder outside the fleet.
    confidence = "certain" if (holders or state == "permanent") and len(macs) == 1 else "likely"
    summary = "%s resolves %s to %s on %s, but %s is owned by %s with MAC %s." % (
        host, ip, mac, _where(ns, dev), ip,
        ", ".join("%s on %s" % (_where(o[1], o[2]), o[0]) for o in owners[:_SAMPLE]),
        " / ".join(macs) or "none")
    if len(macs) == 1 and state == "permanent":
        remedy = [_command(ns, "ip", "neigh", "replace", ip, "lladdr", macs[0], "dev", dev, "nud", "permanent")]
    else:
        remedy = [_command(ns, "ip", "neigh", "del", ip, "dev", dev)]
    return finding("arp_mac_mismatch", _severity(state), summary, items, remedy=remedy,
                   confidence=confidence, check=check, remedy_host=host)


def _check_entry(fleet, host, ns, dev, ip, mac, state, owners, check):
    """Compare one resolved neighbour entry with the owners of its address (slow path)."""
    if any(o[0] == host and o[1] == ns for o in owners):
        return "ok"   # an entry for an address of its own namespace
    key = (host, ns, dev)
    # 1. The entry's own device leads somewhere known (veth, redirect, tunnel): follow it.
    if key in fleet.outbound:
        owner_keys = {o[:3]: o for o in owners}
        owner_spaces = {o[:2] for o in owners}
        for terminal, trail in fleet.transmit(key, []):
            if terminal is None:
                continue
            tmac = fleet.dev_mac.get(terminal)
            if terminal[:2] in owner_spaces and tmac == mac:
                return "ok"   # delivered to the namespace owning the address (weak host model)
            if terminal not in owner_keys:
                continue
            if tmac is None:
                return "ok"
            return _path_mismatch(host, ns, dev, ip, mac, state, owner_keys[terminal], terminal, tmac, trail, check,
                                  fix_entry=True)
    # 2. Owners carrying the MAC: a frame switched to them is received there; follow redirects.
    unknown = False
    bad = None
    for owner in sorted(owners):
        if owner[3] != mac:
            continue
        if not owner[4]:
            return "ok"
        for terminal, trail in fleet.arrive(owner[:3], []):
            if terminal is None:
                unknown = True
                continue
            tmac = fleet.dev_mac.get(terminal)
            if tmac is None or tmac == mac:
                return "ok"
            if bad is None:
                bad = (owner, terminal, tmac, trail)
    if bad is not None:
        return _path_mismatch(host, ns, dev, ip, mac, state, bad[0], bad[1], bad[2], bad[3], check)
    if unknown:
        return "unknown"
    # 3. Linux answers ARP for any local address on every interface: a MAC of another device in a
    #    namespace that owns the address still delivers (seen on OVS ports answering for mp0).
    owner_spaces = {o[:2] for o in owners}
    for holder in fleet.by_mac.get(mac, ()):
        if holder[:2] in owner_spaces and holder not in fleet.ingress:
            return "ok"
    # 4. Devices elsewhere with that MAC which redirect into an owner (a proxy that owns no address).
    owner_keys = {o[:3] for o in owners}
    for holder in sorted(fleet.by_mac.get(mac, ())):
        if holder not in fleet.ingress:
            continue
        for terminal, trail in fleet.arrive(holder, []):
            if terminal in owner_keys:
                tmac = fleet.dev_mac.get(terminal)
                if tmac is None or tmac == mac:
                    return "ok"
                owner = next(o for o in owners if o[:3] == terminal)
                return _path_mismatch(host, ns, dev, ip, mac, state, owner, terminal, tmac, trail, check)
    return _plain_mismatch(fleet, host, ns, dev, ip, mac, state, owners, check)


def _joined(fleet, owners):
    """Group the owners of one address into sets joined by a path (a proxy and what it fronts)."""
    parent = {o[:3]: o[:3] for o in owners}

    def find(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for owner in owners:
        if not owner[4]:
            continue
        for terminal, _trail in fleet.arrive(owner[:3], []):
            if terminal in parent:
                parent[find(terminal)] = find(owner[:3])
    groups = {}
    for owner in owners:
        groups.setdefault(find(owner[:3]), []).append(owner)
    return list(groups.values())


def _duplicates(fleet, ip, owners, resolved, check):
    """A duplicate: owners of one address, not joined by a path, with different MACs."""
    groups = _joined(fleet, owners)
    if len(groups) < 2:
        return None
    clashing = []
    for pos, group in enumerate(groups):
        macs = {o[3] for o in group}
        for other in groups[pos + 1:]:
            if macs & {o[3] for o in other}:
                continue   # same MAC: anycast / VRRP-style sharing, not a clash
            for a in group:
                for b in other:
                    # Isolated namespaces on one host may reuse tenant addresses legitimately.
                    if a[0] != b[0] or a[1] == b[1]:
                        clashing.append((a, b))
    if not clashing:
        return None
    involved = []
    for a, b in clashing:
        for owner in (a, b):
            if owner not in involved:
                involved.append(owner)
    involved.sort()
    items = [evidence(o[0], "%s owns %s with MAC %s" % (o[2], ip, o[3] or "none"), _ns_field(o[1]), o[2])
             for o in involved]
    seen_by = resolved.get(ip)
    if seen_by:
        items.append(evidence(seen_by[0], "neighbour %s lladdr %s (%s)" % (ip, seen_by[3], seen_by[4]),
                              _ns_field(seen_by[1]), seen_by[2]))
    summary = "%s is owned by %d interfaces with different MACs and no path between them: %s." % (
        ip, len(involved), ", ".join("%s on %s (%s)" % (_where(o[1], o[2]), o[0], o[3]) for o in involved[:_SAMPLE]))
    remedy = ["%s: %s" % (o[0], _command(o[1], "ip", "-br", "address", "show", "to", ip)) for o in involved[:_SAMPLE]]
    remedy.append("remove %s from every interface but the one that should own it (ip address del %s/<prefix> dev <device>)" % (ip, ip))
    # Someone resolving the address proves the clash reaches traffic; otherwise it may be isolated.
    severity = "critical" if seen_by else "warning"
    return finding("duplicate_ip", severity, summary, items, remedy=remedy,
                   confidence="certain" if seen_by else "likely", check=check)


def _stale(fleet, host, digest, owners_index, check):
    """FAILED/INCOMPLETE entries for route gateways and tunnel peers of this host."""
    names = digest["names"]
    gateways = {}
    for ns, dev, ip in digest.get("gateways") or ():
        gateways.setdefault((names[ns], ip), names[dev])
    peers = {}
    for ns, dev, vni, remote, _local, port, _mac in (digest.get("paths") or {}).get("vxlan") or ():
        if remote:
            peers.setdefault(remote, (names[ns], names[dev], vni, port))
    found = []
    for ns_i, dev_i, ip, _mac, state in digest.get("neighbours") or ():
        if state not in _UNRESOLVED:
            continue
        ns, dev = names[ns_i], names[dev_i]
        role = None
        if (ns, ip) in gateways:
            role = "gateway"
        elif ip in peers:
            role = "tunnel peer"
        if role is None:
            continue
        items = [evidence(host, _entry_fact(ip, None, state), _ns_field(ns), dev)]
        if role == "gateway":
            items.append(evidence(host, "routes in this namespace go via %s dev %s" % (ip, gateways[(ns, ip)]),
                                  _ns_field(ns), gateways[(ns, ip)]))
        else:
            p_ns, p_dev, vni, port = peers[ip]
            items.append(evidence(host, "VXLAN %s VNI %s sends to %s:%s" % (p_dev, vni, ip, port), _ns_field(p_ns), p_dev))
        holders = sorted(owners_index.get(ip, ()))
        for o in holders[:_SAMPLE]:
            items.append(evidence(o[0], "%s owns %s with MAC %s" % (o[2], ip, o[3] or "none"), _ns_field(o[1]), o[2]))
        if not holders:
            items.append(evidence(None, "no host in this run owns %s" % ip))
        summary = "%s cannot resolve its %s %s on %s: the neighbour entry is %s." % (
            host, role, ip, _where(ns, dev), state.upper())
        remedy = [_command(ns, "arping", "-c", "3", "-I", dev, ip),
                  _command(ns, "ip", "neigh", "del", ip, "dev", dev)]
        found.append(finding("stale_neighbour", "warning", summary, items, remedy=remedy,
                             confidence="certain" if state == "failed" else "likely", check=check, remedy_host=host))
    return found


def fleet_digests(fleet):
    """(host, digest) for each reachable host with arp or netns facts, plus not_checked items.

    Accepts the fleet dict of docs/contracts.md section 5, or a dict host -> arp digest."""
    if not hasattr(fleet, "items"):
        raise DigestError("?", "fleet", fleet, "expected a dict keyed by host")
    digests, not_checked, unreachable = [], [], []
    for host, entry in fleet.items():
        if not isinstance(entry, dict):
            raise DigestError(host, "fleet[%s]" % host, entry, "expected a dict")
        if entry.get("schema") == ARP_SCHEMA or ("schema" in entry and "owned" in entry):
            digests.append((host, entry))
            continue
        reachable = entry.get("reachable", True)
        if not isinstance(reachable, bool):
            raise DigestError(host, "reachable", reachable, "expected a boolean")
        if not reachable:
            unreachable.append(host)
            not_checked.append({"check": CHECK_NAME, "host": host,
                                "reason": "host unreachable: its neighbour entries and addresses were not compared"})
            continue
        digest = entry.get("arp")
        if digest is None and entry.get("netns") is not None:
            digest = build_digest(entry["netns"], host)
        if digest is None:
            not_checked.append({"check": CHECK_NAME, "host": host,
                                "reason": "no arp_consistency or netns_probe facts for this host"})
            continue
        if not isinstance(digest, dict):
            raise DigestError(host, "arp", digest, "expected a dict")
        digests.append((host, digest))
    return digests, not_checked, unreachable


def _index(digests):
    fleet = _Fleet()
    for host, digest in digests:
        quick_check(digest, host)
        try:
            fleet.add(host, digest)
        except DigestError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            validate_digest(digest, host)   # names the field; re-raise below if it finds nothing
            raise DigestError(host, "arp", "...", "malformed digest")
    return fleet


def correlate(digests, unreachable=(), check=CHECK_NAME, want=("mismatch", "duplicate", "stale")):
    """Run the neighbour correlation over [(host, digest)]; returns a _Result."""
    # The index is 100,000s of small tuples that live until the end: the cyclic GC would rescan them
    # again and again (quadratic on large fleets) and can free nothing, so it pauses meanwhile.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _correlate(digests, unreachable, check, want)
    finally:
        if enabled:
            gc.enable()


def _correlate(digests, unreachable, check, want):
    result = _Result()
    fleet = _index(digests)
    owners_index = fleet.owners
    # Addresses with owners of different MACs: candidates for duplicate_ip (checked after the entries).
    dup_candidates = {}
    if "duplicate" in want:
        for ip, owners in owners_index.items():
            if len(owners) > 1:
                first = owners[0][3]
                for owner in owners:
                    if owner[3] != first:
                        dup_candidates[ip] = owners
                        break
    resolved = {}
    do_mismatch = "mismatch" in want
    if do_mismatch:
        # Fresh copies of the addresses, allocated one after the other: the fast path's lookups then
        # touch a compact block instead of keys scattered among the index's other objects (fewer cache
        # and TLB misses on fleets of millions of addresses).
        fleet.plain = {ip.encode().decode(): mac for ip, mac in fleet.plain.items()}
    plain_get = fleet.plain.get
    for host, digest in digests:
        names = digest["names"]
        local_out = fleet.outbound_idx.get(host) or ()
        unowned = []
        try:
            rows = digest.get("neighbours") or ()
            if dup_candidates:
                for row in rows:
                    if row[2] in dup_candidates and row[3] is not None:
                        seen = (host, names[row[0]], names[row[1]], row[3], row[4])
                        if row[2] not in resolved or seen < resolved[row[2]]:
                            resolved[row[2]] = seen
            if not do_mismatch:
                rows = ()
            elif not local_out:
                # The fast path for whole tables at C speed: keep only the entries whose address has no
                # plain owner with the entry's MAC (most entries of a healthy fleet are dropped here).
                rows = list(compress(rows, map(not_, map(eq, map(plain_get, map(_IP, rows)), map(_MAC, rows)))))
                if not unreachable:
                    rows = list(compress(rows, map(owners_index.__contains__, map(_IP, rows))))
            for ns_i, dev_i, ip, mac, state in rows:
                # Fast path: the address's first plain owner has this MAC (or the entry has none).
                if plain_get(ip) == mac and (not local_out or (ns_i, dev_i) not in local_out):
                    continue
                owners = owners_index.get(ip)
                if owners is None:
                    if unreachable and mac is not None and len(unowned) < 1000:
                        unowned.append(ip)
                    continue
                if mac is None:
                    continue
                if not isinstance(mac, str) or not isinstance(state, str):
                    raise TypeError("neighbour")
                ns = names[ns_i]
                dev = names[dev_i]
                if (ns_i, dev_i) not in local_out:
                    for owner in owners:
                        if owner[3] == mac and not owner[4]:
                            break
                    else:
                        owner = None
                    if owner is not None:
                        continue
                verdict = _check_entry(fleet, host, ns, dev, ip, mac, state, owners, check)
                if verdict == "unknown":
                    if unreachable:
                        unowned.append(ip)
                elif verdict != "ok":
                    result.mismatches.append(verdict)
            if "stale" in want and not _UNRESOLVED_SET.isdisjoint(map(_STATE, digest.get("neighbours") or ())):
                result.stale.extend(_stale(fleet, host, digest, owners_index, check))
        except DigestError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            validate_digest(digest, host)
            raise DigestError(host, "arp", "...", "malformed digest")
        if unowned:
            result.not_checked.append({
                "check": check, "host": host,
                "reason": "%d neighbour entries not evaluated: no reachable host owns their address or the far end "
                          "of its path (unreachable: %s): %s" % (
                              len(unowned), ", ".join(sorted(unreachable)), ", ".join(sorted(set(unowned))[:_SAMPLE]))})
    for ip, owners in dup_candidates.items():
        dup = _duplicates(fleet, ip, owners, resolved, check)
        if dup is not None:
            result.duplicates.append(dup)
    return result


def check_arp(fleet):
    """The check of docs/contracts.md section 6: all three neighbour finding codes in one pass."""
    digests, not_checked, unreachable = fleet_digests(fleet)
    result = correlate(digests, unreachable)
    return result.mismatches + result.duplicates + result.stale, not_checked + result.not_checked


def local_findings(digest):
    """What one host shows on its own: mismatches between its namespaces, stale gateway/peer entries."""
    result = correlate([(digest.get("host") or "localhost", digest)])
    return result.mismatches + result.duplicates + result.stale


CHECKS = ((CHECK_NAME, check_arp),)
