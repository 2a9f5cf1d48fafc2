# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The fleet model: built once per diagnosis from validated facts; every rule and the picture read it.

What it holds (docs/architecture.md):

- ``hosts``: one HostState per inventory host (reachable, platform, the sections it has, its
  namespaces, OVS facts, tunnel ends, the neighbour digest, why something is missing);
- one index of owners by address (``owners``: ip -> [(host, ns, dev, mac, proxy)]), devices by MAC
  (``by_mac``), the MAC of each device (``dev_mac``), and the hosts owning each address (``address_hosts``,
  any device, loopback included: tunnel ends often live there);
- the L2 links between devices: veth pairs, tc mirred redirects (ingress and egress), Linux bridge
  membership, OVS bridges with their VLAN tags, VXLAN and OVS tunnel ends paired across hosts once
  (``pairs``), and the segments they join (``segment``);
- one path walker: ``transmit(device)`` / ``arrive(device)`` follow a frame sent out of / received on
  a device to where it ends, with the evidence of every hop; ``route(host, ns, address)`` answers
  which route, egress device and source a namespace uses for an address.

A device is keyed ``(host, namespace label, device name)`` (labels: model._identity); its namespace
inode and ifindex are kept in the facts the key points into. Plain Python.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import ARP_SCHEMA, VXLAN_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence
from ansible_collections.cloudnet.triage.plugins.module_utils.model._digest import build_digest, neighbour_rest, quick_check, validate_digest
from ansible_collections.cloudnet.triage.plugins.module_utils.model._facts import (
    FactsError,
    SECTION_MODULES,
    expectations,
    gaps,
    read_sections,
    short,
    unseen,
    validate_entry,
    validate_section,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.model import _platform
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import (
    ROOT_DISPLAY,
    end_identity,
    identity,
    label_identity,
    namespace_label,
    ns_field,
    socket_identity,
    where,
)

try:
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import vxlan_view
except ImportError:  # pragma: no cover - shipped together
    vxlan_view = None

__all__ = ["HostState", "Model", "NETNS_SECTIONS", "PlatformView", "build_model"]

_MAX_HOPS = 16
# The kernel datapath's master of every OVS port: not a bridge (the OVS bridges are in the OVS facts).
_DATAPATH = "ovs-system"
# Encapsulation overhead of a tunnel end: outer IP (20 or 40) + UDP (8) + VXLAN or Geneve header (8) + inner
# Ethernet (14); OVN adds its Geneve option (8).
_OVERHEAD_V4, _OVERHEAD_V6, _OVN_OPTION = 50, 70, 8
NETNS_SECTIONS = ("links", "addresses", "routes", "neighbours", "tc", "fdb", "sysctls")
# What a rule may declare it needs, and what to say when a host lacks it.
_MISSING = {
    "neighbours": "no arp_consistency or netns_probe facts for this host",
    "addresses": "no arp_consistency or netns_probe facts for this host",
    "links": "no netns_probe facts for this host",
    "routes": "no netns_probe facts for this host",
    "tc": "no netns_probe facts for this host",
    "fdb": "no FDB facts for this host (host_snapshot reads them)",
    "sysctls": "no netns_probe facts for this host",
    "tunnels": "no vxlan_peer_check facts for this host",
    "ovs": "no ovs_port_owner facts for this host",
    "sockets": "no listening sockets read on this host (host_snapshot reads them with extra_sections: [sockets])",
    "firewall": "no firewall rules read on this host (host_snapshot reads them with extra_sections: [firewall])",
    "processes": "no processes read on this host (host_snapshot reads them with extra_sections: [processes])",
    "files": "no files read on this host (host_snapshot reads them with extra_sections: [files])",
}


# The text lengths of the MACs ARP and ND resolve to (Ethernet, IPoIB): what the digest's neighbour MACs may be
# (model._facts check_mac); a device's MAC may be another length (GRE, 4 octets).
_ARP_MAC_LENGTHS = (17, 59)


class HostState(object):
    """One inventory host as the model knows it."""

    __slots__ = ("name", "reachable", "platform", "tier", "groups", "errors", "namespaces", "ovs", "ovs_reason", "ovn", "processes", "files",
                 "tunnels", "digest", "digest_source", "sections", "expect_ovs", "routes", "refusal", "gaps", "unseen",
                 "role", "platform_evidence", "neighbour_rest")

    def __init__(self, name, entry):
        self.name = name
        self.reachable = entry.get("reachable", True) is not False
        self.platform = entry.get("platform")
        self.tier = entry.get("tier")
        self.groups = list(entry.get("groups") or [])
        # Its part of the platform (model._platform ROLES) and why platform and role were decided: set by
        # build_fleet, else derived in _load_host from the facts.
        role = entry.get("role")
        self.role = role if isinstance(role, str) and role in _platform.roles_of(self.platform) else None
        evidence = entry.get("platform_evidence")
        self.platform_evidence = [str(item) for item in evidence] if isinstance(evidence, list) else []
        self.errors = list(entry.get("errors") or [])
        self.namespaces = None      # list of namespace facts (host/1 or netns/1), or None
        self.ovs = None             # OVS facts when available
        self.ovs_reason = None      # why OVS facts are not usable
        self.ovn = None             # OVN chassis facts (cloudnet.triage.ovn/1, docs/ovn.md) when the read had them
        self.processes = None       # [{pid, ns, comm, cmdline}] when the read took the processes section
        self.files = None           # {patterns, read, refused} when the read took the files section
        self.tunnels = None         # kernel tunnel ends (vxlan/1 tunnels) or None
        self.digest = None          # neighbour digest (arp/1) derived from namespace facts, or None
        self.digest_source = None   # "arp" when the input carried the digest itself (read again from it)
        self.neighbour_rest = None  # model._digest.Unexplained: the neighbour entries no plain owner explains
        self.sections = set()
        self.expect_ovs = {}
        self.routes = None          # {namespace label: [(network, route)]}, built on first use
        self.refusal = None         # why its facts were set aside (the one message), or None
        self.gaps = {}              # {section: why}: read in no or only some of its namespaces
        self.unseen = []            # what of the host its facts do not show (namespaces denied, a narrowed read)

    def lacks(self, need):
        """Why this host cannot give ``need``; None when it can."""
        if not self.reachable:
            return None  # reported once per family by the engine
        if need in self.sections:
            return None
        if need in self.gaps:
            return self.gaps[need]
        if self.refusal is not None:
            return "not evaluated: this host's facts were refused (%s)" % self.refusal
        if need == "ovs" and self.ovs_reason:
            return self.ovs_reason
        if need in NETNS_SECTIONS and self.namespaces is not None:
            return "the %s section was not read on this host (read: %s)" % (need, ", ".join(sorted(self.sections)) or "none")
        return _MISSING.get(need, "no %s facts for this host" % need)

    def root_namespace(self):
        """The host's own (root) namespace facts when that namespace was read, else None."""
        for namespace in self.namespaces or ():
            if namespace.get("root") and namespace.get("state", "ok") == "ok":
                return namespace
        return None

    def namespace(self, label):
        for namespace in self.namespaces or ():
            if namespace_label(namespace) == label:
                return namespace
        return None


class Model(object):
    """Indexes of one fleet: owners by address, devices by MAC, the links between devices, tunnel pairs."""

    def __init__(self):
        self.hosts = {}
        self.refused = []       # not_checked items for facts the validation refused
        self.owners = {}        # ip -> [(host, ns, dev, mac, proxy)]
        self.by_mac = {}        # mac -> [(host, ns, dev)]
        self.dev_mac = {}       # (host, ns, dev) -> mac
        self.ingress = {}       # (host, ns, dev) -> (mode, target) from an ingress redirect
        self.egress = {}        # (host, ns, dev) -> (mode, target) from an egress redirect
        self.veth = {}          # (host, ns, dev) -> (ns, dev) of the peer
        self.vxlan = {}         # (host, ns, dev) -> (vni, remote, local, port, mac)
        self.outbound = set()   # (host, ns, dev) whose transmitted frames have a known path
        self.outbound_idx = {}  # host -> {(ns index, dev index)} of the same, in that host's names
        self.plain = {}         # ip -> MAC of its first owner that forwards nothing (the fast path)
        self.mac_objects = {}
        self.address_hosts = {}  # ip -> [hosts owning it on any device]
        self.ends = []          # [(host, tunnel)]: kernel and OVS tunnel ends of reachable hosts
        self.end_index = {}     # (host, ns, dev) -> tunnel
        self.pairs = None       # computed once, on first use
        self.unseen_pairs = []  # pairs not judged: what would decide them is in facts a host did not show
        self.unjudged = []      # {host, kind, reason} of those, for the tunnel checks' not_checked
        self.peer = {}          # (host, ns, dev) -> [(host, ns, dev)] of consistent pairs
        self.masters = {}       # (host, ns, dev) -> (host, ns, bridge): Linux bridge and OVS membership
        self.vlan = {}          # (host, ns, dev) -> VLAN tag of an OVS access port
        self._parent = {}       # union-find of L2 segments
        self._open = None       # roots of segments that reach a medium the facts do not show
        self._linked_keys = None  # (host, ns, dev) of every device the link or OVS facts show
        self._moved = {}        # OVS internal ports moved into a namespace: (host, "", dev) -> (host, ns, dev)
        self.source = None      # the fleet dict the model was built from
        self._identities = {}   # host -> {namespace label: NamespaceIdentity}, built on first use
        self.outside = {}       # inventory hosts outside this run's limit: name -> the address the inventory gives
        self.traffic = None     # what the probes saw (diagnosis/2 traffic), set by the engine

    # -- building ---------------------------------------------------------------------------------

    def add_digest(self, host, digest):
        """Index a digest's owned addresses and paths (not its neighbour entries)."""
        names = digest["names"]
        paths = digest.get("paths") or {}
        ingress, egress, outbound = self.ingress, self.egress, self.outbound
        local_out = set()
        for ns, dev, mode, target in paths.get("mirred") or ():
            key = (host, names[ns], names[dev])
            if mode[0] == "i":
                ingress[key] = (mode[1], names[target])
            else:
                egress[key] = (mode[1], names[target])
                outbound.add(key)
                local_out.add((ns, dev))
        for ns_a, dev_a, ns_b, dev_b in paths.get("veth") or ():
            end_a = (names[ns_a], names[dev_a])
            end_b = (names[ns_b], names[dev_b])
            self.veth[(host,) + end_a] = end_b
            self.veth[(host,) + end_b] = end_a
            outbound.add((host,) + end_a)
            outbound.add((host,) + end_b)
            local_out.add((ns_a, dev_a))
            local_out.add((ns_b, dev_b))
        for ns, dev, vni, remote, local, port, mac in paths.get("vxlan") or ():
            key = (host, names[ns], names[dev])
            self.vxlan[key] = (vni, remote, local, port, mac)
            outbound.add(key)
            local_out.add((ns, dev))
            if mac:
                self.dev_mac[key] = mac
                self.by_mac.setdefault(mac, []).append(key)
        self.outbound_idx[host] = local_out
        owners, dev_mac, plain_first = self.owners, self.dev_mac, self.plain.setdefault
        shared = self.mac_objects.setdefault
        # A host owns its addresses on a few devices: one key and one owner tuple per device and MAC.
        made = {}
        for ns, dev, ip, mac in digest.get("owned") or ():
            if not isinstance(ip, str):
                raise TypeError("owned address")
            owner = made.get((ns, dev, mac))
            if owner is None:
                key = (host, names[ns], names[dev])
                # One object per MAC (JSON gives one per row): fewer cache misses when entries compare to it.
                owner = made[(ns, dev, mac)] = key + (shared(mac, mac), key in ingress)
                if mac and key not in dev_mac:
                    self._add_mac(key, owner[3])
            found = owners.get(ip)
            if found is None:
                owners[ip] = [owner]
            else:
                found.append(owner)
            if mac and not owner[4] and len(mac) in _ARP_MAC_LENGTHS:
                # Only a MAC an ARP entry may hold: an entry equal to it is then explained with values checked.
                plain_first(ip, owner[3])
        for ns, dev, mac in digest.get("macs") or ():
            key = (host, names[ns], names[dev])
            if key not in dev_mac:
                self._add_mac(key, mac)

    def _add_mac(self, key, mac):
        self.dev_mac[key] = mac
        found = self.by_mac.get(mac)
        if found is None:
            self.by_mac[mac] = [key]
        else:
            found.append(key)

    def _add_namespaces(self, state):
        """Host-level address ownership and bridge membership from the namespace facts."""
        host = state.name
        for namespace in state.namespaces or ():
            if namespace.get("state", "ok") != "ok":
                continue
            label = namespace_label(namespace)
            for addr in namespace.get("addresses") or ():
                if addr.get("address") and addr.get("scope") not in ("host", "link"):
                    self._own(addr["address"], host)
            for link in namespace.get("links") or ():
                if link.get("master"):
                    self.masters[(host, label, link["name"])] = (host, label, link["master"])

    def identity(self, host, label):
        """What the namespace ``label`` of ``host`` is (model._identity), for the remedy that runs in it:
        from the host's namespace facts (indexed once per host), else from the label alone (a host known by
        its arp/1 digest only, where labels are all that crossed)."""
        known = self._identities.get(host)
        if known is None:
            known = self._identities[host] = {}
            state = self.hosts.get(host)
            for namespace in (state.namespaces if state is not None else None) or ():
                if isinstance(namespace, dict):
                    known.setdefault(namespace_label(namespace), identity(namespace))
        found = known.get(label)
        return found if found is not None else label_identity(label)

    def hosts_owning(self, address):
        """Hosts that own ``address`` on any device (namespace facts) or as an ARP owner (digests)."""
        hosts = list(self.address_hosts.get(address, ()))
        for owner in self.owners.get(address, ()):
            if owner[0] not in hosts:
                hosts.append(owner[0])
        return hosts

    def _own(self, address, host):
        hosts = self.address_hosts.get(address)
        if hosts is None:
            self.address_hosts[address] = [host]
        elif host not in hosts:
            hosts.append(host)

    def _add_ovs(self, state):
        host = state.name
        for bridge in state.ovs.get("bridges") or ():
            for port in bridge.get("ports") or ():
                for interface in port.get("interfaces") or ():
                    name = interface.get("name")
                    if name and name != bridge.get("name"):
                        key = (host, "", name)
                        self.masters[key] = (host, "", bridge.get("name"))
                        if port.get("tag") is not None:
                            self.vlan[key] = port["tag"]
                    if interface.get("type") in ("vxlan", "geneve"):
                        end = _ovs_tunnel_end(host, bridge, interface)
                        if end is not None:
                            self.ends.append((host, end))

    # -- tunnels ------------------------------------------------------------------------------------

    def tunnel_pairs(self):
        """Pair tunnel ends across hosts, once: [{a, b, consistent, problems, cause}].

        ``b`` is None when nothing points back; ``cause`` says why in a word (unowned: no host owns the
        remote; local: the remote is this host's own; one_way: its owner has no end pointing back;
        differ: the ends disagree on VNI or port; None: consistent).

        End A on host H1 with remote R pairs with an end on a host that owns R (or whose local address is R)
        whose own remote is an address of H1; among several, the one with the same VNI and port wins.
        """
        if self.pairs is not None:
            return self.pairs
        by_host = {}
        for host, tunnel in self.ends:
            by_host.setdefault(host, []).append(tunnel)
        pairs, used = [], set()
        owning_of = {}

        def owners_of(address):
            found = owning_of.get(address)
            if found is None:
                found = owning_of[address] = self.hosts_owning(address)
            return found

        def key(host, tunnel):
            return (host, tunnel.get("ns_label") or "", tunnel["device"])

        def owns(host, address, tunnel):
            return host in owners_of(address) or tunnel.get("local") == address

        # Exact matches (same VNI and port) pair first, across the whole fleet, so a mismatched end never
        # takes the partner of a healthy one; what is left pairs by addresses alone.
        for exact in (True, False):
            for host, tunnel in self.ends:
                if key(host, tunnel) in used or not tunnel.get("remote"):
                    continue
                found = self._pair_one(host, tunnel, by_host, used, key, owns, owners_of, exact)
                if found is not None:
                    pairs.append(found)
        self.pairs = self._set_aside_unseen(pairs)
        return self.pairs

    def _set_aside_unseen(self, pairs):
        """Pairs whose "nothing there" rests on what a host's facts do not show (a namespace denied, a read
        narrowed by a pattern) are no finding: set aside in ``unseen_pairs``, said in ``unjudged``."""
        unseen = dict((name, state.unseen) for name, state in self.hosts.items() if state.reachable and state.unseen)
        if not unseen:
            return pairs
        kept = []
        for pair in pairs:
            a = pair["a"]
            hosts = ()
            if pair["b"] is None and pair["cause"] == "unowned":
                hosts = sorted(unseen)      # its owner may be any host's unseen part
            elif pair["b"] is None and pair["cause"] == "one_way":
                hosts = sorted(set([a["host"]] + self.hosts_owning(a["remote"])) & set(unseen))
            if not hosts:
                kept.append(pair)
                continue
            why = "tunnel end %s on %s to %s not evaluated: %s" % (
                where(a["namespace"] or "", a["device"]), a["host"], a["remote"],
                "; ".join("%s: %s" % (name, ", ".join(unseen[name][:3])) for name in hosts[:3]))
            denied = any(reason.endswith(" denied") for name in hosts for reason in unseen[name])
            self.unjudged.append({"host": a["host"], "kind": "denied" if denied else "not_evaluated", "reason": why})
            self.unseen_pairs.append(dict(pair, cause="unseen", problems=[why]))
        return kept

    def _pair_one(self, host, tunnel, by_host, used, key, owns, owners_of, exact):
        """The pair of one end; None while only exact matches are taken and this end has none."""
        remote = tunnel["remote"]
        owning = owners_of(remote)
        peer_hosts = sorted(set(name for name in owning if name != host) |
                            set(name for name in by_host if name != host and
                                any(t.get("local") == remote for t in by_host[name])))
        best = None
        for peer_host in peer_hosts:
            for candidate in by_host.get(peer_host, []):
                if key(peer_host, candidate) in used or not candidate.get("remote"):
                    continue
                if not owns(host, candidate["remote"], tunnel):
                    continue
                score = (candidate.get("vni") == tunnel.get("vni"), candidate.get("port") == tunnel.get("port"))
                if best is None or score > best[0]:
                    best = (score, peer_host, candidate)
        if exact and (best is None or best[0] != (True, True)):
            return None
        used.add(key(host, tunnel))
        problems = []
        if best is None:
            if not owning and not peer_hosts:
                cause = "unowned"
                problems.append("remote %s is owned by no host in the inventory" % remote)
            elif not peer_hosts:
                cause = "local"
                problems.append("remote %s is an address of this very host" % remote)
            else:
                cause = "one_way"
                problems.append("%s owns %s but has no tunnel end whose remote is an address of %s"
                                % (", ".join(peer_hosts), remote, host))
            return {"a": describe_end(host, tunnel), "b": None, "consistent": False, "problems": problems, "cause": cause}
        _score, peer_host, peer = best
        used.add(key(peer_host, peer))
        if peer.get("vni") != tunnel.get("vni") and None not in (peer.get("vni"), tunnel.get("vni")):
            problems.append("VNI differs: %s on %s, %s on %s" % (tunnel.get("vni"), host, peer.get("vni"), peer_host))
        if peer.get("port") != tunnel.get("port") and None not in (peer.get("port"), tunnel.get("port")):
            problems.append("UDP port differs: %s on %s, %s on %s" % (tunnel.get("port"), host, peer.get("port"), peer_host))
        if not problems:
            self.peer.setdefault(key(host, tunnel), []).append(key(peer_host, peer))
            self.peer.setdefault(key(peer_host, peer), []).append(key(host, tunnel))
        return {"a": describe_end(host, tunnel), "b": describe_end(peer_host, peer),
                "consistent": not problems, "problems": problems, "cause": "differ" if problems else None}

    def end(self, described):
        """The tunnel dict a pair's ``a``/``b`` describes."""
        return self.end_index[(described["host"], described["namespace"] or "", described["device"])]

    # -- walking ----------------------------------------------------------------------------------

    def arrive(self, key, trail, hops=0):
        """Where a frame received on device ``key`` ends: [(terminal key or None, trail)]."""
        redirect = self.ingress.get(key)
        if redirect is None or hops > _MAX_HOPS:
            return [(key, trail)]
        return self._redirected(key, "ingress", redirect, trail, hops)

    def _redirected(self, key, hook, redirect, trail, hops):
        """Follow a tc mirred redirect on ``hook`` of device ``key``: out of its target, or into it."""
        mode, target = redirect
        host, ns, dev = key
        step = evidence(host, "tc mirred on %s %s redirects frames %s %s" % (
            dev, hook, "out of" if mode == "e" else "into", target), ns_field(ns), dev)
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
            return self._redirected(key, "egress", redirect, trail, hops)
        peer = self.veth.get(key)
        if peer is not None:
            step = evidence(host, "veth %s is paired with %s" % (dev, where(peer[0], peer[1])), ns_field(ns), dev)
            return self.arrive((host,) + peer, trail + [step], hops + 1)
        tunnel = self.vxlan.get(key)
        if tunnel is not None:
            ends = self.far_ends(key)
            if not ends:
                step = evidence(host, "VXLAN %s VNI %s to %s:%s pairs with no tunnel end in the fleet" % (
                    dev, tunnel[0], tunnel[1], tunnel[3]), ns_field(ns), dev)
                return [(None, trail + [step])]
            result = []
            for far in ends:
                step = evidence(host, "VXLAN %s VNI %s to %s:%s pairs with %s on %s" % (
                    dev, tunnel[0], tunnel[1], tunnel[3], where(far[1], far[2]), far[0]), ns_field(ns), dev)
                result.extend(self.arrive(far, trail + [step], hops + 1))
            return result
        return [(None, trail)]

    def far_ends(self, key):
        """Tunnel ends on other hosts this tunnel device pairs with consistently (same VNI and port)."""
        self.tunnel_pairs()
        return sorted(self.peer.get(key, ()))

    def route(self, host, label, address):
        """(route, egress device, gateway, source) a namespace of ``host`` uses for ``address``; None without one.

        Longest prefix over the main table of the collected routes, lowest metric first (policy routing
        is not modelled)."""
        state = self.hosts.get(host)
        if state is None or state.namespaces is None:
            return None
        if state.routes is None:
            state.routes = {}
            for namespace in state.namespaces:
                rows = []
                for route in namespace.get("routes") or ():
                    if route.get("table", "main") != "main" or route.get("type", "unicast") not in ("unicast", "local"):
                        continue
                    try:
                        rows.append((ipaddress.ip_network(route.get("dst"), strict=False), route))
                    except (TypeError, ValueError):
                        continue
                rows.sort(key=lambda item: (-item[0].prefixlen, item[1].get("metric") or 0))
                state.routes[namespace_label(namespace)] = rows
        try:
            target = ipaddress.ip_address(address)
        except ValueError:
            return None
        for network, route in state.routes.get(label, ()):
            if network.version == target.version and target in network:
                return route, route.get("dev"), route.get("gateway"), route.get("prefsrc")
        return None

    # -- segments ---------------------------------------------------------------------------------

    def _find(self, key):
        parent = self._parent
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def _join(self, a, b):
        root_a, root_b = self._find(a), self._find(b)
        if root_a != root_b:
            self._parent[root_a] = root_b

    def _build_segments(self):
        # A bridge port and its bridge share a segment, unless an OVS VLAN tag puts the port in its own
        # (bridge, tag) domain; veths, redirects and consistent tunnel pairs join their ends. A port of an
        # OVS bridge that forwards by its flows (fail_mode secure: OVN's br-int, Neutron's) is a segment of
        # its own: which ports the flows join (a logical switch) is the controller's, not in these facts.
        programmed = self._programmed_bridges()
        for port, bridge in self.masters.items():
            if bridge in programmed or bridge[2] == _DATAPATH:
                continue
            tag = self.vlan.get(port)
            self._join(port, bridge if tag is None else bridge + ("vlan", tag))
        for key, peer in self.veth.items():
            self._join(key, (key[0],) + peer)
        for table in (self.ingress, self.egress):
            for key, (_mode, target) in table.items():
                self._join(key, (key[0], key[1], target))
        self.tunnel_pairs()
        for key, fars in self.peer.items():
            for far in fars:
                self._join(key, far)
        self._join_ovs_patches()
        self._join_moved_ports()
        self._join_trunked_vlans(programmed)
        self._open = self._open_roots(programmed)

    def _programmed_bridges(self):
        """(host, "", bridge) of the OVS bridges whose flows, not MAC learning, decide where frames go."""
        found = set()
        for name, state in self.hosts.items():
            for bridge in ((state.ovs or {}).get("bridges") or ()) if state.reachable else ():
                if bridge.get("fail_mode") == "secure":
                    found.add((name, "", bridge.get("name")))
        return found

    def _ovs_interfaces(self):
        """(host, bridge, port, interface) of every OVS interface of reachable hosts."""
        for name, state in self.hosts.items():
            if not state.reachable or state.ovs is None:
                continue
            for bridge in state.ovs.get("bridges") or ():
                for port in bridge.get("ports") or ():
                    for interface in port.get("interfaces") or ():
                        yield name, bridge, port, interface

    def _join_ovs_patches(self):
        # A patch port pair joins two bridges of one host as one wire would.
        for host, _bridge, _port, interface in self._ovs_interfaces():
            peer = (interface.get("options") or {}).get("peer")
            if interface.get("type") == "patch" and peer:
                self._join((host, "", interface.get("name")), (host, "", peer))

    def _moved_ports(self):
        """{(host, "", interface): (host, namespace, interface)} of OVS internal ports moved into a namespace
        (Neutron's qr-/qg- ports, a lab's netns: port): OVS names them in the root namespace, the kernel where
        they are. Only a name one namespace alone holds is taken."""
        moved = {}
        for name, state in self.hosts.items():
            if not state.reachable or state.ovs is None or not state.namespaces:
                continue
            where_ = {}
            for namespace in state.namespaces:
                if namespace.get("state", "ok") == "ok":
                    label = namespace_label(namespace)
                    for link in namespace.get("links") or ():
                        where_.setdefault(link.get("name"), []).append(label)
            for bridge in state.ovs.get("bridges") or ():
                for port in bridge.get("ports") or ():
                    for interface in port.get("interfaces") or ():
                        labels = where_.get(interface.get("name")) or ()
                        if interface.get("type") == "internal" and len(labels) == 1 and labels[0] != "":
                            moved[(name, "", interface["name"])] = (name, labels[0], interface["name"])
        return moved

    def _join_moved_ports(self):
        self._moved = self._moved_ports()
        for ovs_key, kernel_key in self._moved.items():
            self._join(kernel_key, ovs_key)

    def _join_trunked_vlans(self, programmed):
        """A VLAN of a learning OVS bridge reaches every bridge its untagged (trunk) ports join: the same tag
        there is the same domain (tunnel ports carry the tags across hosts)."""
        tags = {}
        for port, tag in self.vlan.items():
            bridge = self.masters.get(port)
            if bridge is not None and bridge not in programmed:
                tags.setdefault(bridge, set()).add(tag)
        if not tags:
            return
        by_root = {}
        for bridge in tags:
            by_root.setdefault(self._find(bridge), []).append(bridge)
        for bridges in by_root.values():
            for tag in set().union(*(tags[bridge] for bridge in bridges)):
                for bridge in bridges[1:]:
                    self._join(bridges[0] + ("vlan", tag), bridge + ("vlan", tag))

    def _open_roots(self, programmed):
        """Roots of the segments that reach a medium the facts do not show: a physical NIC, a veth whose peer
        is on no namespace of the host's facts, a tunnel end that pairs with nothing, a tap, a device the
        model knows only from a digest. Two owners on such segments may meet on that unseen wire."""
        internal = set((host, "", interface.get("name")) for host, _bridge, _port, interface in self._ovs_interfaces()
                       if interface.get("type") == "internal")
        internal.update(self._moved.values())
        open_keys = []
        for name, state in self.hosts.items():
            if not state.reachable:
                continue
            for namespace in state.namespaces or ():
                if namespace.get("state", "ok") != "ok":
                    continue
                label = namespace_label(namespace)
                for link in namespace.get("links") or ():
                    key = (name, label, link.get("name"))
                    if key not in internal and self._unseen_medium(key, link, programmed):
                        open_keys.append(key)
        for host, _bridge, _port, interface in self._ovs_interfaces():
            key = (host, "", interface.get("name"))
            kind = interface.get("type") or "system"
            if kind in ("vxlan", "geneve", "gre", "stt") and not self.peer.get(key):
                open_keys.append(key)
        roots = set(self._find(key) for key in open_keys)
        # A VLAN domain of a bridge that reaches an unseen wire reaches it too, through the trunk.
        for key in list(self._parent):
            if isinstance(key, tuple) and len(key) == 5 and key[3] == "vlan" and self._find(key[:3]) in roots:
                roots.add(self._find(key))
        return roots

    def _unseen_medium(self, key, link, programmed):
        kind = link.get("kind")
        flags = link.get("flags") or ()
        if "loopback" in flags or kind in ("bridge", "dummy", "ifb", "vrf", "bond", "team", "openvswitch", "nlmon"):
            return False   # their frames stay on the host, or go where their ports (each judged) take them
        if kind == "veth":
            return key not in self.veth
        if kind in ("vxlan", "geneve"):
            return not self.peer.get(key)
        master = self.masters.get(key)
        if master in programmed:
            return False   # the flows of a programmed bridge decide; its ports are segments of their own
        if master is not None and master[2] == _DATAPATH:
            return True    # an OVS port whose bridge this host's facts do not show
        return True     # physical, tap, macvlan, gretap...: a wire or a guest the facts do not show

    def moved_ports(self):
        """{(host, "", interface): (host, namespace, interface)} of the OVS internal ports moved into a namespace
        (see _moved_ports): the path walker follows them into their bridge."""
        if self._open is None:
            self._build_segments()
        return self._moved

    def segment(self, key):
        """An id of the L2 segment (broadcast domain) device ``key`` belongs to."""
        if self._open is None:
            self._build_segments()
        return self._find(key)

    def segment_open(self, key):
        """Whether the segment of device ``key`` reaches a medium the facts do not show (see _open_roots); a
        device the model holds no link facts for (a digest's) counts as one."""
        root = self.segment(key)
        if root in self._open:
            return True
        state = self.hosts.get(key[0])
        return state is None or state.namespaces is None or key not in self._linked()

    def _linked(self):
        linked = self._linked_keys
        if linked is None:
            linked = self._linked_keys = set()
            for name, state in self.hosts.items():
                for namespace in (state.namespaces or ()) if state.reachable else ():
                    label = namespace_label(namespace)
                    for link in namespace.get("links") or ():
                        linked.add((name, label, link.get("name")))
            for host, _bridge, _port, interface in self._ovs_interfaces():
                linked.add((host, "", interface.get("name")))
        return linked

    # -- reading ----------------------------------------------------------------------------------

    def reachable_hosts(self):
        return [state for name, state in sorted(self.hosts.items()) if state.reachable]

    def with_sections(self, needs):
        """Reachable hosts that have every section in ``needs``."""
        return [state for state in self.reachable_hosts() if all(need in state.sections for need in needs)]

    def for_rule(self, rule):
        """What ``rule`` reads: the model, or a view of the hosts of its platforms when it declares some."""
        return self if rule.platforms is None else PlatformView(self, rule.platforms)

    def digests(self):
        """(state, neighbour digest) of every reachable host that has one, in the source's order.

        A digest the model derived from namespace facts is kept; one the input carried as it is (arp
        facts) is read from the input again, so a fleet of 10,000 digests streams through the rules
        instead of being held twice."""
        for state in self.hosts.values():   # the source's order: build_model adds the hosts in it
            if not state.reachable or "neighbours" not in state.sections:
                continue
            digest = self.digest_of(state)
            if digest is not None:
                yield state, digest

    def neighbour_states(self):
        """The hosts digests() yields, in the same order, without reading their digests again: for rules that
        need only the entries no plain owner explains (HostState.neighbour_rest)."""
        for state in self.hosts.values():
            if state.reachable and "neighbours" in state.sections and state.neighbour_rest is not None:
                yield state

    def digest_of(self, state):
        """The neighbour digest of one host digests() would yield (read from the input again for arp facts)."""
        if state.digest is not None or state.digest_source != "arp":
            return state.digest
        entry = self.source[state.name]
        return entry.get("arp") if "arp" in entry else entry


class PlatformView(object):
    """The model as a rule narrowed to some platforms sees it: only the hosts it applies to, everything else
    (indexes, pairs, the walker) the model's own, so a platform's rule still correlates across the fleet."""

    def __init__(self, model, platforms):
        self._model = model
        self._platforms = tuple(platforms)

    def __getattr__(self, name):
        return getattr(self._model, name)

    def _applies(self, state):
        return state.platform in self._platforms

    def reachable_hosts(self):
        return [state for state in self._model.reachable_hosts() if self._applies(state)]

    def with_sections(self, needs):
        return [state for state in self._model.with_sections(needs) if self._applies(state)]

    def digests(self):
        for state, digest in self._model.digests():
            if self._applies(state):
                yield state, digest

    def neighbour_states(self):
        return (state for state in self._model.neighbour_states() if self._applies(state))

    @property
    def ends(self):
        return [(host, tunnel) for host, tunnel in self._model.ends if self._applies(self._model.hosts[host])]


def describe_end(host, tunnel):
    return {
        "host": host,
        "namespace": ns_field(tunnel.get("ns_label") or ""),
        "device": tunnel["device"],
        "vni": tunnel.get("vni"),
        "port": tunnel.get("port"),
        "remote": tunnel.get("remote"),
        "local": tunnel.get("local"),
        "mtu": tunnel.get("mtu"),
    }


def _ovs_number(host, where_, value, default):
    """An OVS tunnel option as an int; None for ``flow`` (set per packet by the flows)."""
    if value is None:
        return default
    if value == "flow":
        return None
    try:
        return int(str(value), 0)
    except ValueError:
        raise FactsError(host, where_, value, "expected a number or 'flow'")


def _ovs_tunnel_end(host, bridge, interface):
    """An OVS tunnel port (OpenStack br-tun, OVN's ovn-* ports) as a tunnel end."""
    options = interface.get("options") or {}
    where_ = "ovs.bridges[%s].interfaces[%s].options" % (bridge.get("name"), interface.get("name"))
    remote = options.get("remote_ip")
    local = options.get("local_ip")
    for field, value in (("remote_ip", remote), ("local_ip", local)):
        if value not in (None, "flow"):
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise FactsError(host, "%s.%s" % (where_, field), value, "expected an IP address or 'flow'")
    geneve = interface.get("type") == "geneve"
    six = ":" in str(remote or local or "")
    # OVN's ports (ovn-chassis-id) carry its one Geneve option: 4 bytes of option header, OVN_GENEVE_LEN 4
    # bytes of logical ports (ovn/controller/physical.h); VXLAN and plain Geneve carry none.
    ovn = "ovn-chassis-id" in (interface.get("external_ids") or {})
    overhead = (_OVERHEAD_V6 if six else _OVERHEAD_V4) + (_OVN_OPTION if geneve and ovn else 0)
    return {
        "kind": "ovs",
        "type": interface.get("type"),
        "ovn": ovn,
        "overhead": overhead,
        "bridge": bridge.get("name"),
        "device": interface.get("name"),
        "ns_label": "",
        "ns_id": None,
        "vni": _ovs_number(host, where_ + ".key", options.get("key"), 0),
        "remote": None if remote == "flow" else remote,
        "local": None if local == "flow" else local,
        "group": None,
        "port": _ovs_number(host, where_ + ".dst_port", options.get("dst_port"), 6081 if geneve else 4789),
        "mtu": None,
        "underlay_mtu": None,
        "learning": None,
        "fdb": None,
        "route_to_remote": None,
        "remote_is_local": False,
    }


def _refuse(model, state, key, exc, strict):
    if strict:
        raise exc
    reason = "facts refused by the engine: %s" % exc
    state.errors.append(reason)
    if state.refusal is None:
        state.refusal = "%s: %s = %s" % (SECTION_MODULES.get(key, "facts"), exc.field, short(exc.value, 60)) \
            if exc.field is not None else SECTION_MODULES.get(key, "facts")
    model.refused.append({"check": SECTION_MODULES.get(key, "facts"), "host": state.name, "reason": reason,
                          "kind": "refused"})


def _load_host(model, name, entry, strict):
    state = HostState(name, entry)
    model.hosts[name] = state
    for item in entry.get("refused") or ():
        # Refused before the model (a snapshot that did not decode): said once, with the host.
        if isinstance(item, dict):
            model.refused.append({"check": str(item.get("check") or "facts"), "host": name, "kind": "refused",
                                  "reason": str(item.get("reason") or "facts refused")})
            state.refusal = state.refusal or str(item.get("check") or "facts")
    sections = {}
    for key in ("host", "netns", "ovs", "vxlan", "arp"):
        facts = entry.get(key)
        if facts is None:
            continue
        try:
            sections[key] = validate_section(name, key, facts)
        except FactsError as exc:
            _refuse(model, state, key, exc, strict)
    try:
        state.expect_ovs = expectations(name, entry)
    except FactsError as exc:
        # Only what was expected of this host's OVS is unusable: its facts still count.
        if strict:
            raise
        reason = "expectations refused: %s" % exc
        state.errors.append(reason)
        model.refused.append({"check": "ovs_ports", "host": name, "reason": reason})
    if not state.reachable:
        return state
    netns = sections.get("host") or sections.get("netns")
    if netns is not None:
        state.namespaces = [ns for ns in netns.get("namespaces") or () if isinstance(ns, dict)]
        state.sections.update(read_sections(netns))
        # A section a namespace did not give, or no namespace read at all: not checked, never "nothing there".
        state.gaps = gaps(netns)
        state.unseen = unseen(netns, "host" if "host" in sections else "netns")
        if not any(ns.get("state", "ok") == "ok" for ns in state.namespaces):
            why = "no namespace of this host was read: %s" % ("; ".join(state.unseen) or "the read listed none")
            for section in NETNS_SECTIONS + ("tunnels", "sockets", "firewall"):
                state.gaps.setdefault(section, why)
        # The tunnel ends are derived from these sections: an end read without them is not judged either.
        for section in ("links", "addresses", "routes", "fdb", "tc"):
            if section in state.gaps:
                state.gaps.setdefault("tunnels", state.gaps[section])
        state.unseen.extend(why for why in state.gaps.values() if why not in state.unseen)
        state.sections.difference_update(state.gaps)
        model._add_namespaces(state)
    ovs = sections.get("ovs")
    if ovs is None and sections.get("host") is not None and isinstance(sections["host"].get("ovs"), dict):
        ovs = sections["host"]["ovs"]
    if ovs is not None:
        if ovs.get("available", True):
            state.ovs = ovs
            state.sections.add("ovs")
        else:
            state.ovs_reason = ovs.get("reason") or "OVS not available"
    if sections.get("host") is not None and isinstance(sections["host"].get("ovn"), dict):
        state.ovn = sections["host"]["ovn"]
    if sections.get("host") is not None:
        # Host-wide optional sections; per-namespace ones (sockets, firewall) stay in state.namespaces.
        state.processes = sections["host"].get("processes")
        state.files = sections["host"].get("files")
    if "role" not in entry and state.platform is not None:
        # A fleet that did not come through build_fleet (saved facts, sos reports, a filter's input): the role
        # from the validated facts, the platform as given.
        placement = _platform.classify_state(state)
        state.role = placement.role
        state.platform_evidence = state.platform_evidence or placement.evidence
    if "vxlan" in sections:
        state.tunnels = sections["vxlan"]["tunnels"]
        state.unseen.extend(item for item in unseen(sections["vxlan"], "vxlan") if item not in state.unseen)
        for _ns, _dev, address in sections["vxlan"].get("addresses") or ():
            model._own(address, name)
    elif netns is not None and vxlan_view is not None and "links" in state.sections:
        try:
            state.tunnels = vxlan_view(netns).get("tunnels") or []
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            _refuse(model, state, "host" if "host" in sections else "netns",
                    FactsError(name, "tunnels", "...", "tunnel ends not derivable: %s" % exc), strict)
    if state.tunnels is not None and "tunnels" not in state.gaps:
        state.sections.add("tunnels")
    digest = sections.get("arp")
    source = "arp"
    if digest is None and netns is not None:
        source = "host" if "host" in sections else "netns"
        try:
            digest = build_digest(netns, name)
        except FactsError as exc:
            _refuse(model, state, source, exc, strict)
            digest = None
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            # A shape the validation did not foresee: still this host's section only, and said.
            _refuse(model, state, source, FactsError(name, source + ".namespaces", "...",
                                                     "not readable as namespace facts (%s: %s)" % (type(exc).__name__, exc)),
                    strict)
            digest = None
    if digest is not None:
        try:
            quick_check(digest, name, values=source == "arp", defer=source == "arp")
            model.add_digest(name, digest)
        except FactsError as exc:
            _refuse(model, state, source, exc, strict)
            digest = None
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            try:
                validate_digest(digest, name)
                exc = FactsError(name, "arp", "...", "malformed digest")
            except FactsError as found:
                exc = found
            _refuse(model, state, source, exc, strict)
            digest = None
    if digest is None:
        # Without a digest the neighbour rules have nothing to read on this host, whatever the sections say.
        state.sections.difference_update(("neighbours", "addresses"))
    else:
        state.digest_source = source
        if source != "arp":
            state.digest = digest
        state.sections.update(section for section in ("neighbours", "addresses") if section not in state.gaps)
        if state.tunnels is None:
            # Kernel tunnel ends seen only through the digest still pair (and carry the walker).
            names = digest["names"]
            for ns, dev, vni, remote, local, port, mac in (digest.get("paths") or {}).get("vxlan") or ():
                model.ends.append((name, {"device": names[dev], "ns_label": names[ns], "vni": vni, "remote": remote,
                                          "local": local, "port": port, "mac": mac, "kind": "digest"}))
    return state


def _neighbour_pass(model, strict):
    """Once every host's owned addresses are indexed: each digest's neighbour entries against the plain owners,
    keeping the positions of those no plain owner explains (what arp_mac_mismatch reads) and checking their
    values where the input carried the digest itself. A bad entry refuses that host's neighbours only: the
    addresses it owns were checked already and stay known to the others."""
    # Fresh copies of the addresses, allocated one after the other: each entry's lookup then touches a compact
    # block instead of keys scattered among the index's other objects (fewer cache misses).
    model.plain = plain = {ip.encode().decode(): mac for ip, mac in model.plain.items()}
    for state, digest in model.digests():
        try:
            state.neighbour_rest = neighbour_rest(digest, state.name, plain, model.owners,
                                                  values=state.digest_source == "arp")
        except FactsError as exc:
            _refuse(model, state, state.digest_source, exc, strict)
            state.sections.discard("neighbours")
            state.digest = None


def build_model(fleet, strict=True):
    """The model of a fleet dict (docs/contracts.md section 5), or of a dict host -> arp digest.

    ``strict``: a malformed section raises FactsError (the ``diagnose`` filter); otherwise it is refused,
    listed in ``model.refused`` and the rest of the fleet is still modelled (the diagnose play)."""
    if not hasattr(fleet, "items"):
        raise FactsError("?", "fleet", short(fleet), "expected a dict keyed by inventory hostname")
    model = Model()
    model.source = fleet
    for name, entry in fleet.items():
        if isinstance(entry, dict) and (entry.get("schema") == ARP_SCHEMA or ("schema" in entry and "owned" in entry)):
            entry = {"arp": entry}   # a bare digest: the benchmark's and the arp filters' input
        elif isinstance(entry, dict) and str(entry.get("schema", "")).startswith(VXLAN_SCHEMA.rsplit("/", 1)[0] + "/"):
            entry = {"vxlan": entry}  # bare vxlan_peer_check facts: the vxlan filters' input
        try:
            validate_entry(name, entry)
        except FactsError as exc:
            if strict or not isinstance(name, str):
                raise
            state = HostState(name, {"reachable": False})
            model.hosts[name] = state
            _refuse(model, state, "facts", exc, strict)
            continue
        try:
            _load_host(model, name, entry, strict)
        except FactsError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            # A shape the validation did not foresee: this host's facts only, and said, never a crash.
            state = model.hosts.get(name) or HostState(name, {})
            model.hosts[name] = state
            state.reachable, state.sections = False, set()
            _refuse(model, state, "facts", FactsError(name, "facts", "...", "not readable (%s: %s)" % (
                type(exc).__name__, exc)), strict)
    _neighbour_pass(model, strict)
    for state in model.hosts.values():
        if not state.reachable:
            continue
        for tunnel in state.tunnels or ():
            # vxlan/1 shows the root namespace as "root/"; the model's label for it is "" (model._identity).
            label = tunnel.get("ns_label") or ""
            model.ends.append((state.name, dict(tunnel, ns_label="" if label == ROOT_DISPLAY else label)))
        if state.ovs is not None:
            try:
                model._add_ovs(state)
            except FactsError as exc:
                _refuse(model, state, "ovs", exc, strict)
                state.sections.discard("ovs")
    for host, tunnel in model.ends:
        if tunnel.get("kind") == "ovs" and tunnel.get("remote") and host in model.address_hosts.get(tunnel["remote"], ()):
            tunnel["remote_is_local"] = True   # an OVS tunnel port pointed at its own host
    model.ends.sort(key=lambda item: item[0])
    for host, tunnel in model.ends:
        model.end_index[(host, tunnel.get("ns_label") or "", tunnel["device"])] = tunnel
        # Where the end's remedies run, as data: read from the host's namespace facts once.
        namespaces = model.hosts[host].namespaces
        tunnel["ns_identity"] = end_identity(tunnel, namespaces)
        tunnel["socket_identity"] = socket_identity(tunnel, namespaces)
    return model
