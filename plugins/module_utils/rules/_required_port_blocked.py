# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""required_port_blocked: a port of CloudStack's port matrix (rules/_cloudstack.PORT_MATRIX) that a role's host
does not listen on, a firewall rule on it that drops it, or a probe of it that was refused or not answered.

Roles come from inventory groups (``_cloudstack.ROLE_GROUPS``) and the role the model recognised from a host's own
signs (``HostState.role``). Three kinds of evidence, merged per host and port:

- the listening side, from the target's sockets section: no TCP listener on the port (or only on loopback);
- the target's firewall (iptables INPUT, nftables input hook chains): a DROP/REJECT rule for the port ahead of any
  rule accepting it, or a DROP policy with no rule accepting it (only when the chain jumps nowhere else); accepts
  limited by source or interface are decided with the connecting hosts' addresses, else the finding is possible;
- the probes (``diagnosis._plan`` plans TCP connects of the matrix between inventory hosts, to addresses their
  facts hold, within ``cloudnet_probe_rounds``): a reset or no answer.

Only a host of a role owes its sockets and firewall (a guest or a switch stand-in does not): the rule concerns the
hosts with a role (``_concerned``) and needs one of the two sections of each; the engine says a role's host that has
neither, the rule which half it could not read of a host that has the other.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._cloudstack import (
    PORT_MATRIX,
    ROLE_GROUPS,
    VNC,
    arrives_on,
    hosts_by_role,
    input_chains,
    link_local_devices,
    matches_port,
    matrix_flows,
    reachable_address,
    roles_of,
    rule_matches,
    service_addresses,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "ports"
_LOOPBACK = ("127.", "::1")


def _concerned(state, model):
    """The hosts of a CloudStack role (inventory group, the role the model recognised, a system VM's name)."""
    return bool(roles_of(state))


def _requirements(roles):
    """[(target role, ports, [requirements])] of the matrix lines that apply to this inventory, one per target role and
    port set (8250 is the agents' of KVM hosts and system VMs alike); 9090 only between two management servers or more."""
    grouped = []
    for requirement in PORT_MATRIX:
        if requirement.ports == (9090,) and len(roles["management_servers"]) < 2:
            continue
        for target, ports, lines in grouped:
            if (target, ports) == (requirement.target, requirement.ports):
                lines.append(requirement)
                break
        else:
            grouped.append((requirement.target, requirement.ports, [requirement]))
    return grouped


def _needed_by(lines, roles):
    """What needs the port, for the summary: the lines whose source role has hosts here (or clients), else the first."""
    kept = [line for line in lines if line.source is None or roles[line.source]] or lines[:1]
    parts = []
    for line in kept:
        names = ", ".join(state.name for state in roles[line.source]) if line.source else ""
        parts.append("%s%s" % (line.what, " (%s)" % names if names else ""))
    return "; ".join(parts)


class _Case(object):
    """What is wrong with one requirement on one target host: evidence gathered from the three sources."""

    __slots__ = ("target", "requirement", "problems", "items", "remedy", "confidence", "sources", "possible")

    def __init__(self, target, requirement):
        self.target = target
        self.requirement = requirement
        self.problems = []
        self.items = []
        self.remedy = []
        self.confidence = "likely"
        self.sources = []
        self.possible = False   # only a firewall that may let the sources through: a warning, not a critical


def _listening(state, requirement, case):
    """A problem when no TCP listener of the host's own namespace takes any of the requirement's ports."""
    root = state.root_namespace()
    if root is None or root.get("sockets") is None:
        return
    rows = [row for row in root["sockets"] if isinstance(row, dict) and row.get("protocol") == "tcp"
            and row.get("port") in requirement.ports]
    reachable = [row for row in rows if not str(row.get("address")).startswith(_LOOPBACK)]
    if reachable:
        return
    ports = sorted(set(row.get("port") for row in root["sockets"] if isinstance(row, dict) and row.get("protocol") == "tcp"))
    if rows:
        case.problems.append("listens on %s only on %s" % (requirement.port_text(), ", ".join(
            sorted(set("%s:%s" % (row.get("address"), row.get("port")) for row in rows)))))
        case.items.append(evidence(state.name, "TCP listeners on %s: %s, all on loopback" % (
            requirement.port_text(), ", ".join("%s:%s (%s)" % (row.get("address"), row.get("port"), row.get("process") or "?")
                                               for row in rows))))
    else:
        case.problems.append("nothing listens on %s" % requirement.port_text())
        case.items.append(evidence(state.name, "TCP listeners of the host's own namespace: %s; none on %s" % (
            ", ".join(str(port) for port in ports) or "none", requirement.port_text())))
    case.confidence = "certain"
    case.remedy.append(command(None, "ss", "-ltnp"))


# A source or input-interface match of an accept: iptables (-s, ! -s, -i), nftables (ip saddr, iifname).
_SADDR = re.compile(r"(!\s+)?(?:-s|--source)\s+(!\s+)?([^\s]+)|\bip6?\s+saddr\s+(!=\s*)?(\{[^}]*\}|[^\s]+)")
_IIF_MATCH = re.compile(r"(!\s+)?(?:-i|--in-interface)\s+(!\s+)?[^\s]+|\biif(?:name)?\s+(!=\s*)?(\{[^}]*\}|[^\s]+)")


def _limited_accept(rule, port):
    """(source networks or None, negated, on an interface) of an accept that would take ``port`` but for its source
    or interface match; None when it is no such accept (or a source it names cannot be read)."""
    if not isinstance(rule, dict) or rule.get("verdict") != "accept":
        return None
    text = rule_matches(rule.get("rule"))
    sources = _SADDR.search(text)
    interface = _IIF_MATCH.search(text) is not None
    if sources is None and not interface:
        return None
    bare = _IIF_MATCH.sub(" ", _SADDR.sub(" ", text))
    if not matches_port({"rule": bare}, port):
        return None
    if sources is None:
        return None, False, interface
    negated = bool(sources.group(1) or sources.group(2) or sources.group(4))
    words = (sources.group(3) or sources.group(5) or "").strip("{} ")
    networks = []
    for word in re.split(r"[,\s]+", words):
        if not word:
            continue
        try:
            networks.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            return (), negated, interface   # a set name (@allowed) or a host name: not decidable here
    return networks, negated, interface


def _covers(networks, negated, address):
    try:
        address = ipaddress.ip_address(address)
    except (TypeError, ValueError):
        return None
    inside = any(address.version == network.version and address in network for network in networks)
    return inside != negated


def _verdict_chain(rules, port, interfaces, peers=None):
    """(dropping rule or None, accepted, maybe, partly) walking one chain's rules in order for a new TCP connection to ``port``
    arriving on one of ``interfaces`` (empty: not known, every rule may take it). ``peers``: {host: address} of the
    hosts that connect (None: not known); an accept limited by source decides for the peers its source covers, and
    ``maybe`` lists the accepts that may take some or all of them but cannot be decided from the facts; ``partly``: the
    source-limited accepts covered some peers, not all (the others are decided blocked)."""
    maybe, left = [], dict(peers) if peers else None
    for rule in rules:
        if not matches_port(rule, port) or not arrives_on(rule, interfaces):
            limited = _limited_accept(rule, port) if arrives_on(rule, interfaces) else None
            if limited is None:
                continue
            networks, negated, interface = limited
            if networks is None and interfaces:
                return None, True, maybe, False   # only an interface match, and it takes the NIC the peers reach
            if networks is None or not networks or left is None or (interface and not interfaces):
                maybe.append(rule)   # an interface not known, a source set, or no peer address: cannot tell
                continue
            covered = [name for name, address in left.items() if _covers(networks, negated, address)]
            for name in covered:
                del left[name]
            if covered and not left:
                return None, True, maybe, False
            continue
        if rule.get("verdict") == "accept":
            return None, True, maybe, False
        if rule.get("verdict") in ("drop", "reject"):
            return rule, False, maybe, bool(peers) and left is not None and len(left) < len(peers)
    return None, False, maybe, bool(peers) and left is not None and len(left) < len(peers)


def _firewall(state, requirement, case, peers=None):
    root = state.root_namespace()
    if root is None or not isinstance(root.get("firewall"), dict):
        return
    firewall = root["firewall"]
    chains = input_chains(root)
    policies = dict(((c.get("family"), c.get("table"), c.get("chain")), c.get("policy"))
                    for c in firewall.get("chains") or () if isinstance(c, dict))
    # The ports that count: those of a choice the host listens on (libvirtd on 16514 only), else all of them.
    listening = [row.get("port") for row in root.get("sockets") or () if isinstance(row, dict)
                 and row.get("protocol") == "tcp" and row.get("port") in requirement.ports]
    candidates = (requirement.ports[0],) if requirement is VNC else (
        tuple(port for port in requirement.ports if port in listening) or requirement.ports)
    # Where the connections arrive: the link-local NIC for a system VM's SSH, else the NICs of its global addresses.
    interfaces = link_local_devices(state) if requirement.link_local else sorted(
        set(dev for _address, _prefix, dev in service_addresses(state) if dev))
    for key in sorted(chains, key=lambda item: tuple(str(part) for part in item)):
        rules = [rule for rule in firewall.get("rules") or () if isinstance(rule, dict)
                 and (rule.get("family"), rule.get("table"), rule.get("chain")) == key]
        dropping, accepted, maybe, partly = None, False, [], False
        for candidate in candidates:
            dropping, accepted, maybe, partly = _verdict_chain(rules, candidate, interfaces, peers)
            if accepted or dropping is None:
                break   # one of the ports gets through: the requirement is met by it
        where = "%s %s chain %s" % (key[0], key[1], key[2])
        if maybe and not partly and not accepted:
            # Accepts limited by source or interface that the facts cannot decide: possibly blocked, not certainly.
            case.possible = True
            case.items.append(evidence(state.name, "%s: accepts limited by source or interface that may take %s: %s" % (
                where, requirement.port_text(), "; ".join(repr(rule.get("rule")) for rule in maybe[:4]))))
        if dropping is not None:
            case.problems.append("a firewall rule %sdrops %s" % ("may " if case.possible else "", requirement.port_text()))
            case.items.append(evidence(state.name, "%s: %r -> %s (%s packets)" % (
                where, dropping.get("rule"), dropping.get("verdict"), dropping.get("packets"))))
            narrowed = re.search(r"saddr|-s |iifname|-i |ct state|--state", rule_matches(dropping.get("rule")))
            case.confidence = "certain" if not case.possible and not narrowed else case.confidence
            case.remedy.extend(_show_chain(dropping.get("source"), key))
            case.remedy.append(comment("remove the rule or narrow it so that %s reach %s" % (_sources(requirement), state.name)))
            return
        if not accepted and policies.get(key) == "drop" and not any(
                str(rule.get("verdict") or "").startswith(("jump", "goto")) for rule in rules):
            case.problems.append("the %s policy is DROP and no rule %saccepts %s" % (
                where, "that can be decided " if case.possible else "", requirement.port_text()))
            case.items.append(evidence(state.name, "%s policy drop; its rules: %s" % (
                where, "; ".join("%s -> %s" % (rule.get("rule"), rule.get("verdict")) for rule in rules[:6]) or "none")))
            case.remedy.extend(_show_chain(next((c.get("source") for c in firewall.get("chains") or () if isinstance(c, dict)
                                                 and (c.get("family"), c.get("table"), c.get("chain")) == key), None), key))
            case.remedy.append(comment("accept %s from %s ahead of the policy" % (requirement.port_text(), _sources(requirement))))
            return


def _peers(roles, lines, target):
    """{host: its address the target sees} of the hosts that connect on these lines; None when clients outside the
    inventory connect too, or a connecting host shows no address (then a source limit cannot be decided)."""
    peers = {}
    for line in lines:
        if line.source is None:
            return None
        for state in roles[line.source]:
            if state.name == target.name:
                continue
            address = reachable_address(target, state)
            if address is None:
                return None
            peers[state.name] = address
    return peers or None


def _sources(requirement):
    return requirement.source.replace("_", " ") if requirement.source else "clients"


def _show_chain(source, key):
    """The command that lists the chain with rule numbers or handles, in the tool that owns it."""
    family, table, name = (str(part) for part in key)
    # nft and iptables read a word that begins with "-" as an option wherever it stands: such names are listed
    # with their whole table (or ruleset) instead of being named.
    if source == "iptables-legacy":
        tool = "iptables-legacy" if family == "ip" else "ip6tables-legacy"
        if name.startswith("-") or table.startswith("-"):
            return [command(None, tool + "-save", "-c")]
        return [command(None, tool, "-t", table, "-L", name, "-n", "-v", "--line-numbers")]
    if table.startswith("-") or family.startswith("-"):
        return [command(None, "nft", "-a", "list", "ruleset")]
    if name.startswith("-"):
        return [command(None, "nft", "-a", "list", "table", family, table)]
    return [command(None, "nft", "-a", "list", "chain", family, table, name)]


def _probes(model, roles, groups, cases):
    """Port-matrix probes that were refused or not answered, added to their target's case."""
    traffic = getattr(model, "traffic", None) or {}
    by_name = dict((state.name, state) for role in roles.values() for state in role)
    for item in traffic.get("paths") or ():
        if not isinstance(item, dict) or item.get("origin") != "port_matrix" or item.get("result") not in ("refused", "failed"):
            continue
        if not isinstance(item.get("destination"), str) or not isinstance(item.get("port"), int):
            continue   # not a summary traffic_of wrote: nothing to say about it
        owners = [host for host in model.hosts_owning(item.get("destination")) or () if host in by_name]
        if not owners:
            continue
        target = by_name[owners[0]]
        key = _case_key(target, item.get("port"), groups)
        if key is None:
            continue
        requirement = next(lines[0] for role, ports, lines in groups if (role, ports) == key[1:])
        case = cases.setdefault(key, _Case(target, requirement))
        answer = "refused (%s from %s)" % (item.get("answer"), item.get("answered_by")) if item.get("result") == "refused" \
            else "no answer to %s attempts" % item.get("sent")
        refused = item.get("result") == "refused"
        case.problems.append("a probe from %s was %s" % (item.get("source"), "refused" if refused else "not answered"))
        case.items.append(evidence(item.get("source"), "tcp/%s from %s to %s (%s): %s" % (
            item.get("port"), item.get("source"), item.get("destination"), target.name, answer)))
        case.sources.append(item.get("source"))
        if item.get("result") == "refused":
            case.confidence = "certain"


def _case_key(target, port, groups):
    """The (host, target role, ports) a probed port belongs to, or None."""
    roles = roles_of(target)
    for role, ports, _lines in groups:
        if role in roles and port in ports:
            return (target.name, role, ports)
    return None


def evaluate(model):
    """The port matrix between the inventory's roles: listeners, firewall rules on the way in, and the probes."""
    findings, notes = [], []
    roles = hosts_by_role(model)
    if not any(roles.values()):
        if model.reachable_hosts():
            notes.append({"check": FAMILY, "host": None, "kind": "not_evaluated",
                          "reason": "the port matrix was not checked: no inventory group names a CloudStack role (%s)"
                                    % ", ".join(ROLE_GROUPS)})
        return findings, notes
    groups = _requirements(roles)
    for state in sorted(set(state for members in roles.values() for state in members), key=lambda item: item.name):
        halves = [(section, what, state.lacks(section)) for section, what in (
            ("sockets", "its listening side"), ("firewall", "its firewall rules"))]
        if all(why is not None for _section, _what, why in halves):
            continue   # neither half: the engine says it (needs_any)
        for _section, what, why in halves:
            if why is not None:
                notes.append({"check": FAMILY, "host": state.name, "kind": "not_collected",
                              "reason": "port matrix: %s not checked: %s" % (what, why)})
    cases = {}
    for role, ports, lines in groups:
        requirement = lines[0]
        for target in roles[role]:
            case = _Case(target, requirement)
            if requirement.listen:
                _listening(target, requirement, case)
            _firewall(target, requirement, case, _peers(roles, lines, target))
            if case.problems:
                cases[(target.name, role, ports)] = case
    _probes(model, roles, groups, cases)
    order = [(role, ports) for role, ports, _lines in groups]
    for key in sorted(cases, key=lambda item: (item[0], order.index(item[1:]))):
        case = cases[key]
        name, role, ports = key
        lines = next(found for r, p, found in groups if (r, p) == (role, ports))
        requirement = case.requirement
        summary = "%s on %s (%s) is blocked: %s. Needed because %s: without it %s." % (
            requirement.port_text(), name, role.replace("_", " "), "; ".join(case.problems),
            _needed_by(lines, roles), _consequence(requirement))
        hosts = [name] + sorted(set(source for source in case.sources if source and source != name))
        # Only a firewall that may let the sources through (no listener missing, no probe refused): possibly blocked.
        possible = case.possible and case.confidence != "certain" and not case.sources
        findings.append(finding("required_port_blocked", "warning" if possible else "critical", summary, case.items,
                                hosts=hosts, remedy=case.remedy or [command(None, "ss", "-ltnp")],
                                confidence="possible" if possible else case.confidence, check=FAMILY, remedy_host=name))
    return findings, notes


_CONSEQUENCES = {
    8250: "hosts and system VMs go Disconnected/Alert and no VM can be started or stopped",
    22: "hosts cannot be added or set up",
    3922: "the system VM cannot be configured: network changes, passwords, user-data and health checks do not reach it",
    16509: "live migration between KVM hosts fails",
    9090: "the management servers of the cluster do not see each other",
    8080: "neither the API nor the UI answers",
    443: "consoles do not open in the browser",
    5900: "VM consoles stay black",
}


def _consequence(requirement):
    for port in requirement.ports:
        if port in _CONSEQUENCES:
            return _CONSEQUENCES[port]
    return "the role's traffic fails"


def probe_targets(model, rounds):
    """The port matrix as TCP connects from a host of one role to an address a host of another role holds: they
    take the first half of a plan's rounds (rules/_rule.py ``probes``)."""
    return (rounds + 1) // 2, [
        (source, address, port, "port_matrix", "%s (%s) to %s (%s) tcp/%d: %s" % (
            source, requirement.source, target, requirement.target, port, requirement.what))
        for source, target, address, port, requirement in matrix_flows(model)]


# Only the hosts of a role owe their sockets and firewall (a guest or a switch stand-in does not): one of the two is
# needed; the engine says a host with neither, the rule which of the two it could not read.
RULE = Rule("required_port_blocked", FAMILY, needs=(), evaluate=evaluate, platforms=("cloudstack",),
            needs_any=(("sockets", "firewall"),), hosts=_concerned, probes=probe_targets)
