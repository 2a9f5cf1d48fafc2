# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""vxlan_peer_mismatch: the two ends of a tunnel disagree (VNI, UDP port), a remote no host owns, a remote
that is the host's own, no route from the socket's namespace to the remote, or nolearning without an
FDB entry that sends anywhere. Kernel VXLAN devices and OVS tunnel ports are ends alike; the model pairs
them across hosts once."""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import comment, ovs_vsctl
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._tunnel import (
    end_command,
    end_fact,
    end_namespace,
    end_netns,
    end_where,
    socket_where,
)

__all__ = ["RULE", "evaluate"]

FAMILY = "vxlan_peer"


def _mismatch(summary, items, remedy, severity="critical", confidence="certain"):
    return finding("vxlan_peer_mismatch", severity, summary, items, remedy=remedy, confidence=confidence, check=FAMILY)


def _in_fleet_subnet(model, address):
    """Whether ``address`` lies in a subnet some host of the fleet has an address in."""
    try:
        target = ipaddress.ip_address(address)
    except ValueError:
        return False
    for state in model.reachable_hosts():
        for namespace in state.namespaces or ():
            for addr in namespace.get("addresses") or ():
                try:
                    network = ipaddress.ip_network("%s/%s" % (addr.get("address"), addr.get("prefixlen")), strict=False)
                except (TypeError, ValueError):
                    continue
                if target in network and network.prefixlen < network.max_prefixlen:
                    return True
    return False


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
    # "dev" and "name" before the device: a bare word may be a keyword of ip ("help", "up").
    commands = [end_command(tunnel, "ip", "-d", "link", "show", "dev", device) + "  # note MAC, MTU, addresses first",
                end_command(tunnel, "ip", "link", "del", "dev", device),
                end_command(tunnel, "ip", "link", "add", "name", device, *args, socket=True)]
    if tunnel.get("socket_elsewhere") and end_namespace(tunnel):
        commands.append(end_command(tunnel, "ip", "link", "set", "dev", device, "netns", end_netns(tunnel), socket=True))
    commands.append("# then restore its MAC, MTU, addresses, FDB entries and tc redirects")
    return commands


def _outside_note(model, host, tunnel, remote):
    """Why an unowned remote is not a finding: its owner may be a host this run did not read."""
    named = sorted(name for name, address in model.outside.items() if address == remote)
    unreachable = sorted(name for name, state in model.hosts.items() if not state.reachable)
    if named:
        reason = "tunnel end %s sends to %s, the address of %s, outside this run's limit" % (
            end_where(tunnel), remote, ", ".join(named))
        kind = "outside_limit"
    elif model.outside:
        reason = ("tunnel end %s sends to %s, owned by no host of this run; %d inventory host(s) are outside this "
                  "run's limit and may own it" % (end_where(tunnel), remote, len(model.outside)))
        kind = "outside_limit"
    elif unreachable:
        reason = ("tunnel end %s sends to %s, owned by no host that answered; not evaluated: unreachable %s"
                  % (end_where(tunnel), remote, ", ".join(unreachable)))
        kind = "unreachable"
    else:
        return None
    return {"check": FAMILY, "host": host, "kind": kind, "reason": reason}


def _kind(tunnel):
    return "Geneve" if tunnel.get("type") == "geneve" else "VXLAN"


def _encap_findings(model):
    """A chassis whose ovn-encap-ip is no address of its own: every tunnel to it from the others goes nowhere."""
    findings = []
    for state in model.reachable_hosts():
        if state.ovs is None or state.namespaces is None or "addresses" in state.gaps:
            continue
        announced = ((state.ovs.get("external_ids") or {}).get("ovn-encap-ip") or "")
        for address in [item.strip() for item in str(announced).split(",") if item.strip()]:
            if state.name in model.address_hosts.get(address, ()):
                continue
            pointing = sorted(set(host for host, tunnel in model.ends if tunnel.get("remote") == address and host != state.name))
            items = [evidence(state.name, "Open_vSwitch external_ids:ovn-encap-ip=%s; no device of %s holds %s"
                              % (announced, state.name, address))]
            items.extend(evidence(host, end_fact(tunnel), end_namespace(tunnel), tunnel["device"])
                         for host, tunnel in model.ends if host in pointing[:5] and tunnel.get("remote") == address)
            findings.append(_mismatch(
                "%s announces %s as its OVN tunnel address (ovn-encap-ip), an address it does not hold: "
                "the tunnels of the other chassis%s to it go nowhere." % (
                    state.name, address, " (%s)" % ", ".join(pointing[:5]) if pointing else ""),
                items,
                ["%s  # on %s" % (ovs_vsctl("set", "open_vswitch", ".", "external_ids:ovn-encap-ip=<an underlay address of %s>"
                                            % state.name), state.name),
                 comment("ovn-controller then updates its Encap record; the other chassis follow")]))
    return findings


def _pair_findings(model, notes):
    findings = []
    for pair in model.tunnel_pairs():
        a = pair["a"]
        tunnel_a = model.end(a)
        if pair["b"] is None:
            if pair["cause"] == "local":
                continue  # reported from remote_is_local, with the local evidence
            if pair["cause"] == "unowned":
                note = _outside_note(model, a["host"], tunnel_a, a["remote"])
                if note is not None:
                    notes.append(note)
                    continue
                # A typo inside a subnet the fleet uses is likely; an address outside it may simply be a host
                # this run does not cover.
                inside = _in_fleet_subnet(model, a["remote"])
                findings.append(_mismatch(
                    "%s on %s sends to %s, an address no host in the inventory owns%s."
                    % (end_where(tunnel_a), a["host"], a["remote"], " (a typo in the remote?)" if inside else ""),
                    [evidence(a["host"], end_fact(tunnel_a), end_namespace(tunnel_a), a["device"])],
                    [end_command(tunnel_a, "ip", "-d", "link", "show", "dev", a["device"]) + "  # check the remote"],
                    severity="warning", confidence="likely" if inside else "possible"))
                continue
            findings.append(_mismatch(
                "%s on %s points at %s, but no tunnel end there points back: %s."
                % (end_where(tunnel_a), a["host"], a["remote"], pair["problems"][0]),
                [evidence(a["host"], end_fact(tunnel_a), end_namespace(tunnel_a), a["device"])],
                ["# on the remote's host: ip -d link show type vxlan  (in every namespace)"],
                severity="warning", confidence="likely"))
            continue
        if pair["consistent"]:
            continue
        b = pair["b"]
        tunnel_b = model.end(b)
        remedy = []
        if a["vni"] != b["vni"] or a["port"] != b["port"]:
            # Change one end like the other: an OVS end in place, a kernel end by re-creating it.
            target, reference = (b, tunnel_b), (a, tunnel_a)
            if tunnel_a.get("kind") == "ovs" and tunnel_b.get("kind") != "ovs":
                target, reference = reference, target
            (fix, fix_tunnel), ref = target, reference[0]
            if fix_tunnel.get("kind") == "ovs":
                remedy.append("%s  # on %s" % (ovs_vsctl("set", "interface", fix["device"], "options:key=%s" % ref["vni"],
                                                         "options:dst_port=%s" % ref["port"]), fix["host"]))
            else:
                remedy.extend(_recreate(fix_tunnel, ref["vni"], ref["port"]))
            remedy.append(comment("or, if %s's end is the right one: give %s on %s id %s dstport %s"
                                  % (fix["host"], ref["device"], ref["host"], fix["vni"], fix["port"])))
        findings.append(_mismatch(
            "The two ends of the %s tunnel between %s and %s disagree: %s."
            % (_kind(tunnel_a), a["host"], b["host"], "; ".join(pair["problems"])),
            [evidence(a["host"], end_fact(tunnel_a), end_namespace(tunnel_a), a["device"]),
             evidence(b["host"], end_fact(tunnel_b), end_namespace(tunnel_b), b["device"])],
            remedy))
    return findings


def _end_findings(host, tunnel, notes):
    findings = []
    remote = tunnel.get("remote") or tunnel.get("group")
    where = end_where(tunnel)
    if remote and tunnel.get("route_to_remote") is False:
        findings.append(_mismatch(
            "%s on %s cannot reach its remote %s: %s, where the tunnel's socket lives, has no route to it."
            % (where, host, remote, socket_where(tunnel)),
            [evidence(host, "no route to %s in %s (ip route get failed)" % (remote, socket_where(tunnel)),
                      end_namespace(tunnel), tunnel["device"])],
            [end_command(tunnel, "ip", "route", "get", remote, socket=True),
             end_command(tunnel, "ip", "route", "add", remote, "dev", tunnel.get("underlay") or "<underlay-device>",
                         socket=True)]))
    if tunnel.get("remote_is_local"):
        findings.append(_mismatch(
            "%s on %s sends to %s, an address of this very host: the tunnel loops back instead of reaching its peer."
            % (where, host, tunnel.get("remote")),
            [evidence(host, end_fact(tunnel), end_namespace(tunnel), tunnel["device"])],
            [comment("re-create %s with the peer host's underlay address as remote" % tunnel["device"])]))
    fdb = tunnel.get("fdb")
    if tunnel.get("learning") is False:
        if fdb is None:
            notes.append({"check": FAMILY, "host": host, "reason": "FDB of %s could not be read" % tunnel["device"]})
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
                [evidence(host, end_fact(tunnel) + "; fdb: %d entries, none with dst" % len(fdb),
                          end_namespace(tunnel), tunnel["device"])],
                [end_command(tunnel, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", tunnel["device"], "dst", dst)]))
    return findings


def evaluate(model):
    notes = []
    findings = _encap_findings(model) + _pair_findings(model, notes)
    for host, tunnel in model.ends:
        if tunnel.get("kind") != "digest":
            findings.extend(_end_findings(host, tunnel, notes))
    return findings, notes


RULE = Rule("vxlan_peer_mismatch", FAMILY, needs=("tunnels",), evaluate=evaluate)
