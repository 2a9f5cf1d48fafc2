# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""arp_mac_mismatch: a neighbour entry whose MAC the frame's path does not end on (seed 001's root cause).

Every resolved neighbour entry (IP -> MAC) is compared with the interfaces that own the IP anywhere in
the fleet (the model's owners index: a hash join, never nested loops over hosts), following the paths
the model knows: veth pairs, tc mirred redirects (Kata / peer-pods: the pod's eth0 is a proxy for a
tunnel), VXLAN ends paired across hosts. A frame addressed to MAC M that ends its walk on a device whose
MAC is not M is dropped there.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import ns_field, where
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._neighbour import SAMPLE, entry_fact, severity_of
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._ovn import nb_fix, responder
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule, paused_gc

__all__ = ["RULE", "evaluate"]

FAMILY = "arp_consistency"


def _path_mismatch(model, host, ns, dev, ip, mac, state, owner, terminal, tmac, trail, fix_entry=False):
    """The frame reaches a device whose MAC is not the one the entry resolves to: seed 001.

    The remedy gives the far device the entry's MAC when the entry holds a proxy's MAC (what ARP
    announces for the address, the seed's fix), or corrects the entry when it leads there directly."""
    o_host, o_ns, o_dev = owner[:3]
    t_host, t_ns, t_dev = terminal
    items = [evidence(host, entry_fact(ip, mac, state), ns_field(ns), dev)]
    if owner[:3] != terminal:
        items.append(evidence(o_host, "%s owns %s with MAC %s" % (o_dev, ip, owner[3]), ns_field(o_ns), o_dev))
    items.extend(trail)
    items.append(evidence(t_host, "%s has MAC %s, not %s: frames to %s are dropped here" % (
        t_dev, tmac, mac, mac), ns_field(t_ns), t_dev))
    summary = ("%s resolves %s to %s (%s on %s), but frames for it end on %s on %s, whose MAC is %s: "
               "they are dropped there." % (host, ip, mac, where(o_ns, o_dev), o_host, where(t_ns, t_dev), t_host, tmac))
    remedy_host = host if fix_entry else t_host
    if fix_entry and state == "permanent":
        remedy = [command(model.identity(host, ns), "ip", "neigh", "replace", ip, "lladdr", tmac, "dev", dev, "nud", "permanent")]
    elif fix_entry:
        remedy = [command(model.identity(host, ns), "ip", "neigh", "del", ip, "dev", dev)]
    else:
        far = model.identity(t_host, t_ns)
        remedy = [
            command(far, "ip", "link", "set", "dev", t_dev, "down"),
            command(far, "ip", "link", "set", "dev", t_dev, "address", mac),
            command(far, "ip", "link", "set", "dev", t_dev, "up"),
        ]
    return finding("arp_mac_mismatch", severity_of(state), summary, items, remedy=remedy,
                   confidence="certain", check=FAMILY, remedy_host=remedy_host)


def _plain_mismatch(model, host, ns, dev, ip, mac, state, owners):
    """No owner of the address carries the MAC the entry resolves to."""
    owners = sorted(owners)
    items = [evidence(host, entry_fact(ip, mac, state), ns_field(ns), dev)]
    macs = []
    for o_host, o_ns, o_dev, o_mac, _proxy in owners:
        items.append(evidence(o_host, "%s owns %s with MAC %s" % (o_dev, ip, o_mac or "none"), ns_field(o_ns), o_dev))
        if o_mac and o_mac not in macs:
            macs.append(o_mac)
    holders = sorted(model.by_mac.get(mac, ()))
    for h_host, h_ns, h_dev in holders[:SAMPLE]:
        items.append(evidence(h_host, "%s has MAC %s but does not own %s" % (h_dev, mac, ip), ns_field(h_ns), h_dev))
    # A static entry or a MAC known to belong to another device is a certain fault; an unknown MAC may
    # be a proxy-ARP responder outside the model.
    confidence = "certain" if (holders or state == "permanent") and len(macs) == 1 else "likely"
    summary = "%s resolves %s to %s on %s, but %s is owned by %s with MAC %s." % (
        host, ip, mac, where(ns, dev), ip,
        ", ".join("%s on %s" % (where(o[1], o[2]), o[0]) for o in owners[:SAMPLE]),
        " / ".join(macs) or "none")
    announced = responder(model, ip, mac) if state != "permanent" else []
    if announced:
        # OVN's ARP responder answers from the logical port's addresses: deleting the entry only brings the
        # same wrong MAC back; the record is what to fix.
        r_host, r_port, r_chassis = announced[0]
        items.append(evidence(r_host, "Southbound Port_Binding %s (chassis %s) announces %s at %s: OVN's ARP responder "
                                      "answers with it" % (r_port, r_chassis or "none", ip, mac)))
        summary += (" The wrong MAC comes from OVN's ARP responder: the addresses of logical port %s say %s; fix that "
                    "record (Northbound, or the CMS that owns it), not the neighbour entry." % (r_port, mac))
        confidence = "certain"
        remedy = [nb_fix(r_port, macs[0] if len(macs) == 1 else "<MAC>", ip),
                  comment("or correct the port in the CMS that owns it (Neutron, ovn-kubernetes), which writes it back"),
                  command(model.identity(host, ns), "ip", "neigh", "del", ip, "dev", dev) + "  # afterwards"]
    elif len(macs) == 1 and state == "permanent":
        remedy = [command(model.identity(host, ns), "ip", "neigh", "replace", ip, "lladdr", macs[0], "dev", dev, "nud", "permanent")]
    else:
        remedy = [command(model.identity(host, ns), "ip", "neigh", "del", ip, "dev", dev)]
    return finding("arp_mac_mismatch", severity_of(state), summary, items, remedy=remedy,
                   confidence=confidence, check=FAMILY, remedy_host=host)


def _check_entry(model, host, ns, dev, ip, mac, state, owners):
    """Compare one resolved neighbour entry with the owners of its address (slow path)."""
    if any(o[0] == host and o[1] == ns for o in owners):
        return "ok"   # an entry for an address of its own namespace
    key = (host, ns, dev)
    # 1. The entry's own device leads somewhere known (veth, redirect, tunnel): follow it.
    if key in model.outbound:
        owner_keys = {o[:3]: o for o in owners}
        owner_spaces = {o[:2] for o in owners}
        for terminal, trail in model.transmit(key, []):
            if terminal is None:
                continue
            tmac = model.dev_mac.get(terminal)
            if terminal[:2] in owner_spaces and tmac == mac:
                return "ok"   # delivered to the namespace owning the address (weak host model)
            if terminal not in owner_keys:
                continue
            if tmac is None:
                return "ok"
            return _path_mismatch(model, host, ns, dev, ip, mac, state, owner_keys[terminal], terminal, tmac, trail,
                                  fix_entry=True)
    # 2. Owners carrying the MAC: a frame switched to them is received there; follow redirects.
    unknown = False
    bad = None
    for owner in sorted(owners):
        if owner[3] != mac:
            continue
        if not owner[4]:
            return "ok"
        for terminal, trail in model.arrive(owner[:3], []):
            if terminal is None:
                unknown = True
                continue
            tmac = model.dev_mac.get(terminal)
            if tmac is None or tmac == mac:
                return "ok"
            if bad is None:
                bad = (owner, terminal, tmac, trail)
    if bad is not None:
        return _path_mismatch(model, host, ns, dev, ip, mac, state, bad[0], bad[1], bad[2], bad[3])
    if unknown:
        return "unknown"
    # 3. Linux answers ARP for any local address on every interface: a MAC of another device in a
    #    namespace that owns the address still delivers (seen on OVS ports answering for mp0).
    owner_spaces = {o[:2] for o in owners}
    for holder in model.by_mac.get(mac, ()):
        if holder[:2] in owner_spaces and holder not in model.ingress:
            return "ok"
    # 4. Devices elsewhere with that MAC which redirect into an owner (a proxy that owns no address).
    owner_keys = {o[:3] for o in owners}
    for holder in sorted(model.by_mac.get(mac, ())):
        if holder not in model.ingress:
            continue
        for terminal, trail in model.arrive(holder, []):
            if terminal in owner_keys:
                tmac = model.dev_mac.get(terminal)
                if tmac is None or tmac == mac:
                    return "ok"
                owner = next(o for o in owners if o[:3] == terminal)
                return _path_mismatch(model, host, ns, dev, ip, mac, state, owner, terminal, tmac, trail)
    return _plain_mismatch(model, host, ns, dev, ip, mac, state, owners)


@paused_gc
def evaluate(model):
    """Every resolved neighbour entry of every host against the owners of its address."""
    findings, notes = [], []
    unreachable = sorted(name for name, state in model.hosts.items() if not state.reachable)
    owners_index = model.owners
    plain_get = model.plain.get
    for state in model.neighbour_states():
        host = state.name
        rest = state.neighbour_rest
        names = rest.names
        local_out = model.outbound_idx.get(host) or ()
        unowned = []
        if local_out:
            # Entries on a device whose frames have a known path are followed even when a plain owner
            # explains them: all of them.
            rows = model.digest_of(state).get("neighbours") or ()
        elif unreachable:
            # Entries for addresses nobody reachable owns are counted as not evaluated.
            rows = list(map((model.digest_of(state).get("neighbours") or ()).__getitem__, rest.positions))
        else:
            # The model's neighbour pass kept the entries whose address has no plain owner with the entry's
            # MAC (most entries of a healthy model are explained there) and somebody owns.
            rows = rest.owned
        for ns_i, dev_i, ip, mac, entry_state in rows:
            if plain_get(ip) == mac and (not local_out or (ns_i, dev_i) not in local_out):
                continue
            owners = owners_index.get(ip)
            if owners is None:
                if unreachable and mac is not None and len(unowned) < 1000:
                    unowned.append(ip)
                continue
            if mac is None:
                continue
            ns = names[ns_i]
            dev = names[dev_i]
            if (ns_i, dev_i) not in local_out:
                if any(owner[3] == mac and not owner[4] for owner in owners):
                    continue
            verdict = _check_entry(model, host, ns, dev, ip, mac, entry_state, owners)
            if verdict == "unknown":
                if unreachable:
                    unowned.append(ip)
            elif verdict != "ok":
                findings.append(verdict)
        if unowned:
            notes.append({
                "check": FAMILY, "host": host,
                "reason": "%d neighbour entries not evaluated: no reachable host owns their address or the far end "
                          "of its path (unreachable: %s): %s" % (
                              len(unowned), ", ".join(unreachable), ", ".join(sorted(set(unowned))[:SAMPLE]))})
    return findings, notes


RULE = Rule("arp_mac_mismatch", FAMILY, needs=("neighbours", "addresses"), evaluate=evaluate)
