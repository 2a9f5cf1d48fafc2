# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""security_group_drop: a host firewall rule that drops an instance's traffic.

Read from the firewall section (collect/_firewall.py: nftables over netlink, iptables-nft and ebtables-nft
tables included, legacy iptables through ``iptables-legacy-save -c``; rules with counters, base chains with
policies, per namespace) and from br-int's flows of the native OVS firewall (collect/_ovs.py). Five shapes:

- OpenStack hybrid plug (iptables): per-port chains ``neutron-openvswi-{i,o,s}<port id[:10]>`` tied to the
  port's ``qvb<port id[:11]>`` device, ``neutron-openvswi-sg-chain`` and ``-sg-fallback``: an explicit DROP or
  REJECT in the ingress chain for ICMP, DHCP or the instance's address; the fallback that dropped packets
  while egress is allowed (the report's lopsided ingress/egress); a port whose chains are missing;
- CloudStack KVM (security_group.py): ``i-<acct>-<id>-VM``, ``...-VM-eg``, ``...-def``, ``BF-<bridge>*`` and
  the ebtables ``<vm>-in/-out``: a DROP before the chain's ACCEPTs, a final DROP that counted packets, a
  running VM (its qemu process) without its chain, ``net.bridge.bridge-nf-call-*`` off;
- nftables rulesets and plain iptables rules that drop traffic to or from an address an instance owns;
- the native OVS firewall (ML2/OVS ``firewall_driver=openvswitch``): a drop flow in the ingress tables
  (81, 82) or 93 that matches the port's ofport (``reg5``), MAC or address, or ICMP, while its egress is
  allowed; never on an OVN chassis, whose tables of the same numbers are OVN's own.

The lasting fix is in the security group (Neutron or CloudStack), never on the host: the agent writes the
rules again. The remedy lists the rule, shows the command that would delete it for a test, and says so.
Nothing is said about a host without firewall rules; what could not be read is a not-checked note.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import FAMILIES
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import namespace_label, ns_field
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "firewall"
CODE = "security_group_drop"

# Neutron's hybrid chains: the agent's binary name cut to 16 characters, "-", then i/o/s and the port id's
# first 10 characters (iptables_firewall.py, iptables_manager.get_chain_name).
_NEUTRON_PORT_CHAIN = re.compile(r"neutron-(openvswi|linuxbri)-([ios])([0-9a-f-]{1,10})\Z")
_NEUTRON_SG_CHAIN = re.compile(r"neutron-(openvswi|linuxbri)-sg-chain\Z")
_NEUTRON_FALLBACK = re.compile(r"neutron-(openvswi|linuxbri)-sg-fallback\Z")
# CloudStack (security_group.py): user VM chains, the bridge chains and the ebtables chains of a VM.
_CS_VM_CHAIN = re.compile(r"(i-\d+-\d+-VM)(-eg)?\Z")
_CS_DEF_CHAIN = re.compile(r"(i-\d+-\d+)-def\Z")
_CS_EB_CHAIN = re.compile(r"(i-\d+-\d+-VM)-(in|out|in-ips|out-ips)\Z")
_CS_BRIDGE_CHAIN = re.compile(r"BF-(.+?)(-IN|-OUT)?\Z")
_CS_VM_NAME = re.compile(r"(?:guest=|^)(i-\d+-\d+-VM)(?:,|\Z)")
_ICMP = re.compile(r"\b(icmp|icmpv6|ipv6-icmp|icmp6)\b|--icmp-type")
# iptables-nft writes --sport 67 --dport 68 as one 4-byte payload compare, which the reader prints as 0.67.0.68.
_DHCP = re.compile(r"\b(dport|sport)\s+(67|68)\b|\bbootp[cs]\b|\bpayload 0\.(67|68)\.0\.(67|68)\b")
_STATEFUL = re.compile(r"\b(state|conntrack|ct|ctstate)\b|INVALID")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(/\d{1,2})?(?![\d.])")
# A negated match (iptables `! -s NET`, old `-s ! NET`, nft `saddr != NET` / `!= { ... }` / `ne NET`) excludes the
# network: its addresses are the ones the rule does NOT drop, so they are removed before looking for addresses.
_NEGATED = re.compile(r"(?:!=|!|\bne\b)\s*(?:-{1,2}[\w-]+\s+)?(?:\{[^}]*\}?|[^\s{-]\S*)")
_DROPS = ("drop", "reject")
_ACCEPTS = ("accept",)
# Tables iptables-nft / ebtables-nft create: their rules are listed and deleted with those tools.
_COMPAT_TABLES = {"ip": ("filter", "nat", "mangle", "raw", "security"),
                  "ip6": ("filter", "nat", "mangle", "raw", "security"),
                  "bridge": ("filter", "nat", "broute")}
# Native OVS firewall tables (neutron/agent/linux/openvswitch_firewall/constants.py).
_EGRESS_TABLES = (71, 72, 73)
_INGRESS_TABLES = (81, 82)
_DROPPED_TABLE = 93
_LASTING = {
    "openstack": "the lasting fix is in the security group, not on this host (the agent writes these rules again): "
                 "openstack security group rule create --ingress --protocol icmp <group>  (or the port/protocol needed)",
    "cloudstack": "the lasting fix is in the security group, not on this host (the agent writes these rules again): "
                  "CloudStack authorizeSecurityGroupIngress (cmk authorize securitygroupingress ...) for the group",
    None: "if an agent (Neutron, CloudStack) manages this firewall, fix its security group rather than the host",
}


def _note(host, reason, blocking=None):
    item = {"check": FAMILY, "host": host, "reason": reason, "kind": "not_collected"}
    if blocking is not None:
        item["blocking"] = blocking
    return item


def _printable(name):
    """A name a remedy command may carry: printable, not read as an option."""
    return isinstance(name, str) and name != "" and name.isprintable() and not name.startswith("-")


def _platform(state, chains):
    if state.platform in ("openstack", "cloudstack"):
        return state.platform
    if any(_NEUTRON_SG_CHAIN.match(name) or _NEUTRON_PORT_CHAIN.match(name) for name in chains):
        return "openstack"
    if any(_CS_VM_CHAIN.match(name) or _CS_BRIDGE_CHAIN.match(name) for name in chains):
        return "cloudstack"
    return None


class _Namespace(object):
    """One namespace's firewall: its rules grouped by chain, in the order the chain runs them."""

    def __init__(self, model, state, namespace, firewall):
        self.model = model
        self.state = state
        self.label = namespace_label(namespace)
        self.display = ns_field(self.label)
        self.firewall = firewall
        self.grown = {}       # what grew during the probe (the host's, from the context)
        self.named = set()    # rules a finding names
        self.chains = {}      # (family, table, chain) -> [rule rows in order]
        self.declared = {}    # (family, table, chain) -> chain row
        for row in firewall.get("rules") or ():
            key = (row.get("family"), row.get("table"), row.get("chain"))
            self.chains.setdefault(key, []).append(row)
        for row in firewall.get("chains") or ():
            self.declared[(row.get("family"), row.get("table"), row.get("chain"))] = row

    def names(self):
        return set(key[2] for key in list(self.chains) + list(self.declared) if isinstance(key[2], str))

    def keys_named(self, name):
        return [key for key in set(self.chains) | set(self.declared) if key[2] == name]


def _rule_text(row):
    return row.get("rule") or ("(rule text not read; verdict %s)" % (row.get("verdict") or "?"))


def _counter(row):
    packets = row.get("packets")
    if packets is None:
        return "no counter"
    return "%d packets, %s bytes" % (packets, row.get("bytes") if row.get("bytes") is not None else "?")


def _tool(key, row):
    family, table, _chain = key
    source = row.get("source") if row else None
    if source == "iptables-legacy":
        return "ip6tables-legacy" if family == "ip6" else "iptables-legacy"
    if family in _COMPAT_TABLES and table in _COMPAT_TABLES[family]:
        return {"ip": "iptables-nft", "ip6": "ip6tables-nft", "bridge": "ebtables-nft"}[family]
    return "nft"


def _remedy(ns, key, row, position, platform):
    """List the chain with its counters, show the delete (for a test), and where the lasting fix is."""
    family, table, chain = key
    ident = ns.model.identity(ns.state.name, ns.label)
    tool = _tool(key, row)
    lines = []
    if not all(_printable(part) for part in (family, table, chain)):
        # A name no command line can carry as it is (a leading "-", a control character): list the whole table.
        lines.append(comment("the chain's name cannot be given on a command line (%r in table %r): list its table"
                             % (chain, table)))
        if tool != "nft" and _printable(table):
            lines.append(command(ident, tool, "-t", table, "-L", "--Lc") if tool == "ebtables-nft"
                         else command(ident, tool, "-t", table, "-L", "-n", "-v", "--line-numbers"))
        else:
            lines.append(command(ident, "nft", "-a", "list", "ruleset"))
    elif tool == "nft":
        lines.append(command(ident, "nft", "-a", "list", "chain", family, table, chain))
        if isinstance(row.get("handle"), int):
            lines.append(comment("to test without it (the agent or the ruleset file puts it back):"))
            lines.append(command(ident, "nft", "delete", "rule", family, table, chain, "handle", row["handle"]))
    elif tool == "ebtables-nft":
        lines.append(command(ident, "ebtables-nft", "-t", table, "-L", chain, "--Lc", "--Ln"))
        if position:
            lines.append(comment("to test without it (the agent puts it back):"))
            lines.append(command(ident, "ebtables-nft", "-t", table, "-D", chain, position))
    else:
        lines.append(command(ident, tool, "-t", table, "-L", chain, "-n", "-v", "--line-numbers"))
        if position:
            lines.append(comment("to test without it (the agent puts it back):"))
            lines.append(command(ident, tool, "-t", table, "-D", chain, position))
    lines.append(comment(_LASTING.get(platform) or _LASTING[None]))
    return lines


def _list_chain(ns, name):
    """The listing of chain ``name`` of the namespace's filter table with the tool that wrote it."""
    key = next((key for key in ns.keys_named(name) if key[1] == "filter"), ("ip", "filter", name))
    rows = ns.chains.get(key) or [{}]
    tool = _tool(key, rows[0])
    ident = ns.model.identity(ns.state.name, ns.label)
    if tool == "nft" or not _printable(name):
        return command(ident, "nft", "-a", "list", "table", key[0], key[1])
    return command(ident, tool, "-t", "filter", "-L", name, "-n", "-v", "--line-numbers")


def _where(key):
    family, table, chain = key
    return "%s table %s chain %s" % (family, table, chain)


def _grew(ns, key, row):
    """(packets, probe) the rule dropped during this run's probe, or None (legacy rules carry no handle there)."""
    return ns.grown.get((ns.label,) + tuple(key) + (row.get("handle"),))


def _rule_evidence(ns, key, row, position):
    grew = _grew(ns, key, row)
    ns.named.add(tuple(key) + (row.get("handle"),))
    return evidence(ns.state.name, "%s rule %s (%s): %s [%s]%s" % (
        _where(key), position, row.get("source") or "?", _rule_text(row), _counter(row),
        "; +%d packets during the probe %s" % grew if grew else ""), ns.display)


def _is_drop(row):
    verdict = row.get("verdict") or ""
    return verdict in _DROPS


def _jumps_to(row, pattern):
    verdict = row.get("verdict") or ""
    parts = verdict.split(" ", 1)
    return len(parts) == 2 and parts[0] in ("jump", "goto") and pattern.match(parts[1]) is not None


def _addresses_in(text):
    found = []
    for match in _IPV4.finditer(text or ""):
        try:
            found.append(ipaddress.ip_network(match.group(1) + (match.group(2) or ""), strict=False))
        except ValueError:
            continue
    return found


def _names_address(text, addresses):
    """The instance addresses a rule's text names (an address or a network that holds one)."""
    hit = []
    networks = [net for net in _addresses_in(_NEGATED.sub(" ", _DHCP.sub("", text))) if net.prefixlen > 0]
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if any(ip in net for net in networks):
            hit.append(address)
    return hit


def _what_drops(row, addresses):
    """Why a DROP/REJECT rule hits an instance's traffic: ICMP, DHCP, or its address; None when it names none."""
    text = row.get("rule") or ""
    reasons = []
    if _ICMP.search(text):
        reasons.append("ICMP")
    if _DHCP.search(text):
        reasons.append("DHCP (udp 67/68)")
    named = _names_address(text, addresses)
    if named:
        reasons.append("address %s" % ", ".join(named))
    return reasons


class _Context(object):
    """What one host's check knows: the model, its instance addresses and MACs."""

    def __init__(self, model, state, instance_addresses, grown=None):
        self.model = model
        self.state = state
        self.instance_addresses = instance_addresses
        self.grown = grown or {}   # (namespace label, family, table, chain, handle) -> (packets, probe)
        self.named = set()         # the rules a finding already names
        self.findings = []
        self.notes = []
        self.seen = set()

    def add(self, severity, confidence, summary, items, remedy):
        key = (summary,)
        if key in self.seen:
            return
        self.seen.add(key)
        self.findings.append(finding(CODE, severity, summary, items, remedy=remedy, confidence=confidence,
                                     check=FAMILY, remedy_host=self.state.name))


def _links(state):
    """{name: (namespace label, link)} of the host's devices."""
    found = {}
    for namespace in state.namespaces or ():
        if not isinstance(namespace, dict) or namespace.get("state", "ok") != "ok":
            continue
        for link in namespace.get("links") or ():
            if isinstance(link, dict) and isinstance(link.get("name"), str):
                found.setdefault(link["name"], (namespace_label(namespace), link))
    return found


def _ovs_interfaces(state):
    """[(bridge, port, interface)] of the host's OVS."""
    rows = []
    for bridge in (state.ovs or {}).get("bridges") or ():
        for port in bridge.get("ports") or ():
            for interface in port.get("interfaces") or ():
                rows.append((bridge, port, interface))
    return rows


def _addresses_of_mac(model, mac):
    """The addresses owned with ``mac`` anywhere in the fleet (the owners index, inverted once per model)."""
    if not mac:
        return []
    index = getattr(model, "_sg_mac_addresses", None)
    if index is None:
        index = {}
        for ip, owners in model.owners.items():
            for owner in owners:
                if owner[3]:
                    index.setdefault(owner[3], []).append(ip)
        try:
            model._sg_mac_addresses = index
        except AttributeError:
            pass   # a view that takes no attribute: build it again next time
    return sorted(index.get(mac.lower(), ()))


def _instance_addresses(model):
    """Addresses instances own: every address of an instance-tier host (its non-loopback, non-link ones)."""
    found = set()
    for state in model.reachable_hosts():
        if state.tier != "instance":
            continue
        for namespace in state.namespaces or ():
            for addr in namespace.get("addresses") or () if isinstance(namespace, dict) else ():
                if isinstance(addr, dict) and addr.get("scope") not in ("host", "link") and isinstance(addr.get("address"), str):
                    found.add(addr["address"])
    return found


# -- OpenStack hybrid plug ------------------------------------------------------------------------------


def _neutron_hybrid(ctx, ns, links):
    names = ns.names()
    if not any(_NEUTRON_SG_CHAIN.match(name) for name in names):
        return
    ports = {}
    for name in links:
        if name.startswith("qvb") and len(name) > 3:
            ports[name[3:13]] = name
    per_port = {}
    for name in names:
        found = _NEUTRON_PORT_CHAIN.match(name)
        if found:
            per_port.setdefault(found.group(3), {})[found.group(2)] = name
    prefix = next(_NEUTRON_SG_CHAIN.match(name).group(1) for name in names if _NEUTRON_SG_CHAIN.match(name))
    host = ctx.state.name
    for suffix, qvb in sorted(ports.items()):
        chains = per_port.get(suffix, {})
        addresses = _port_addresses(ctx, links, suffix)
        missing = [direction for direction in ("i", "o") if direction not in chains]
        if missing:
            wanted = ["neutron-%s-%s%s" % (prefix, direction, suffix) for direction in missing]
            items = [evidence(host, "port device %s is present (hybrid plug)" % qvb, ns.display, qvb),
                     evidence(host, "chain%s %s missing from the filter table, while neutron-%s-sg-chain exists" % (
                         "s" if len(wanted) > 1 else "", ", ".join(wanted), prefix), ns.display)]
            summary = ("Port %s on %s has no security group chain %s: the Neutron agent did not wire it into "
                       "neutron-%s-sg-chain, so its traffic meets only what the host's FORWARD chain does with "
                       "bridged traffic nobody claims, not what its security group allows." % (
                           qvb, host, ", ".join(wanted), prefix))
            remedy = [_list_chain(ns, "neutron-%s-sg-chain" % prefix),
                      comment("the agent rebuilds the chains of a port it knows: restart neutron-openvswitch-agent "
                              "and check that it binds the port"),
                      comment(_LASTING["openstack"])]
            ctx.add("critical", "likely", summary, items, remedy)
        ingress = chains.get("i")
        egress = chains.get("o")
        if ingress:
            _neutron_ingress(ctx, ns, qvb, ingress, egress, addresses)


def _port_addresses(ctx, links, suffix):
    """The instance addresses of a hybrid port: those owned with the MAC its qvo port's attached-mac names (the
    MAC of the VM's NIC), and the instance-tier addresses."""
    macs = set()
    for _bridge, _port, interface in _ovs_interfaces(ctx.state):
        name = interface.get("name") or ""
        if name[3:13] == suffix or (interface.get("external_ids") or {}).get("iface-id", "")[:10] == suffix:
            mac = (interface.get("external_ids") or {}).get("attached-mac")
            if isinstance(mac, str):
                macs.add(mac.lower())
    found = set()
    for mac in macs:
        found.update(_addresses_of_mac(ctx.model, mac))
    return sorted(found) or sorted(ctx.instance_addresses)


def _chain_rows(ns, name):
    for key in ns.keys_named(name):
        if key[1] == "filter":
            return key, ns.chains.get(key, [])
    return None, []


def _allowed_rows(rows):
    """Rows of an egress chain that let traffic on (RETURN/ACCEPT): those that counted packets first, then an
    unconditional one (Neutron's ``-j RETURN`` of a group that allows all egress)."""
    allowed = [row for row in rows if row.get("verdict") in ("return", "accept")]
    counted = [row for row in allowed if (row.get("packets") or 0) > 0]
    bare = [row for row in allowed if (row.get("rule") or "").strip() in ("return", "accept", "-j RETURN", "-j ACCEPT")]
    return counted + [row for row in bare if row not in counted]


def _neutron_ingress(ctx, ns, qvb, ingress, egress, addresses):
    host = ctx.state.name
    key, rows = _chain_rows(ns, ingress)
    if key is None:
        return
    _egress_key, egress_rows = _chain_rows(ns, egress) if egress else (None, [])
    allowed_out = _allowed_rows(egress_rows)
    lopsided = ""
    if allowed_out:
        lopsided = " while its egress is allowed (%s rule %d: %s)" % (
            egress, egress_rows.index(allowed_out[0]) + 1, _rule_text(allowed_out[0]))
    for position, row in enumerate(rows, 1):
        text = row.get("rule") or ""
        if _is_drop(row):
            why = _what_drops(row, addresses)
            if not why and not _STATEFUL.search(text):
                # Neutron writes no DROP into a port's ingress chain but the INVALID one: any other is a hand-made block.
                why = ["traffic matching '%s'" % (text or "everything")]
            if not why:
                continue
            items = [_rule_evidence(ns, key, row, position),
                     evidence(host, "chain %s filters what port %s receives (ingress)" % (ingress, qvb), ns.display, qvb)]
            if allowed_out:
                items.append(_rule_evidence(ns, _egress_key, allowed_out[0], egress_rows.index(allowed_out[0]) + 1))
            dropped = (row.get("packets") or 0) > 0
            summary = ("Security group rule on %s drops %s to the instance behind %s (%s rule %d%s)%s." % (
                host, " to ".join(why) if len(why) == 2 and why[1].startswith("address") else " and ".join(why), qvb,
                ingress, position, ", %d packets dropped" % row["packets"] if dropped else "", lopsided))
            ctx.add("critical", "certain", summary, items, _remedy(ns, key, row, position, "openstack"))
            return
        if _jumps_to(row, _NEUTRON_FALLBACK) and (row.get("packets") or 0) > 0:
            items = [_rule_evidence(ns, key, row, position),
                     evidence(host, "chain %s filters what port %s receives (ingress); no rule of its security group "
                              "allowed these packets" % (ingress, qvb), ns.display, qvb)]
            if allowed_out:
                items.append(_rule_evidence(ns, _egress_key, allowed_out[0], egress_rows.index(allowed_out[0]) + 1))
            summary = ("The security group of the instance behind %s on %s drops its inbound traffic: %d packets went "
                       "to the default-drop fallback (%s rule %d)%s." % (
                           qvb, host, row["packets"], ingress, position,
                           lopsided or ""))
            confidence = "certain" if allowed_out else "likely"
            ctx.add("critical", confidence, summary, items, _remedy(ns, key, row, position, "openstack"))
            return


# -- CloudStack KVM --------------------------------------------------------------------------------------


def _running_vms(state):
    """User VM names from the host's qemu processes (``-name guest=i-2-117-VM,...``)."""
    names = set()
    for process in state.processes or ():
        if not isinstance(process, dict):
            continue
        cmdline = process.get("cmdline") or []
        if not isinstance(cmdline, list):
            continue
        for index, word in enumerate(cmdline[:-1]):
            if word == "-name" and isinstance(cmdline[index + 1], str):
                found = _CS_VM_NAME.search(cmdline[index + 1])
                if found:
                    names.add(found.group(1))
    return names


def _cloudstack(ctx, ns, bridge_sysctls):
    host = ctx.state.name
    names = ns.names()
    bridges = sorted(set(_CS_BRIDGE_CHAIN.match(name).group(1) for name in names if _CS_BRIDGE_CHAIN.match(name)))
    vm_chains = set(_CS_VM_CHAIN.match(name).group(1) for name in names if _CS_VM_CHAIN.match(name) and not
                    _CS_VM_CHAIN.match(name).group(2))
    if not bridges and not vm_chains:
        return
    if ns.label == "":
        for vm in sorted(_running_vms(ctx.state) - vm_chains):
            items = [evidence(host, "VM %s runs on this host (its qemu process)" % vm),
                     evidence(host, "no chain %s in the filter table (security groups on bridge%s %s)" % (
                         vm, "s" if len(bridges) > 1 else "", ", ".join(bridges) or "?"), ns.display)]
            summary = ("VM %s runs on %s without its security group chain %s: the CloudStack agent did not program "
                       "it, so its traffic meets only the bridge chains (BF-%s) and not what its security group "
                       "allows." % (vm, host, vm, ", BF-".join(bridges) or "?"))
            remedy = [_list_chain(ns, "BF-%s-OUT" % bridges[0]) if bridges else _list_chain(ns, "FORWARD"),
                      comment("the agent programs the chains when the VM starts: a stop/start of the VM, or a "
                              "rule change in its security group, writes them again"),
                      comment(_LASTING["cloudstack"])]
            ctx.add("critical", "likely", summary, items, remedy)
    for key, rows in sorted(ns.chains.items(), key=lambda item: tuple(str(part) for part in item[0])):
        chain = key[2] or ""
        vm = _CS_VM_CHAIN.match(chain)
        eb = _CS_EB_CHAIN.match(chain)
        definition = _CS_DEF_CHAIN.match(chain)
        if vm:
            _cs_vm_chain(ctx, ns, key, rows, egress=bool(vm.group(2)))
        elif eb or definition:
            _cs_counted_drops(ctx, ns, key, rows, skip_sets=bool(definition))
    if bridges and ns.label == "":
        _bridge_netfilter(ctx, ns, bridge_sysctls, bridges)


def _cs_vm_chain(ctx, ns, key, rows, egress):
    host = ctx.state.name
    chain = key[2]
    direction = "outbound" if egress else "inbound"
    accepts = [position for position, row in enumerate(rows, 1) if row.get("verdict") in _ACCEPTS]
    for position, row in enumerate(rows, 1):
        if not _is_drop(row):
            continue
        later = [number for number in accepts if number > position]
        if later:
            accepted = rows[later[0] - 1]
            items = [_rule_evidence(ns, key, row, position), _rule_evidence(ns, key, accepted, later[0])]
            summary = ("Security group chain %s on %s drops %s traffic at rule %d before its ACCEPT rule%s %s%s: "
                       "what the group allows never gets there." % (
                           chain, host, direction, position, "s" if len(later) > 1 else "",
                           ", ".join(str(number) for number in later[:5]),
                           " (%d packets dropped)" % row["packets"] if (row.get("packets") or 0) > 0 else ""))
            ctx.add("critical", "certain", summary, items, _remedy(ns, key, row, position, "cloudstack"))
            return
        if position == len(rows) and (row.get("packets") or 0) > 0 and not egress:
            items = [_rule_evidence(ns, key, row, position)]
            summary = ("The security group of VM %s on %s drops its inbound traffic: the chain's final DROP "
                       "counted %d packets that no rule of the group allowed." % (
                           chain, host, row["packets"]))
            ctx.add("critical", "likely", summary, items, _remedy(ns, key, row, position, "cloudstack"))
            return


def _cs_counted_drops(ctx, ns, key, rows, skip_sets):
    """The -def chain and the ebtables chains hold anti-spoofing drops by design: only those that counted."""
    host = ctx.state.name
    for position, row in enumerate(rows, 1):
        text = row.get("rule") or ""
        if not _is_drop(row) or not (row.get("packets") or 0) > 0:
            continue
        if skip_sets and ("set" in text.split() or "match-set" in text):
            continue
        items = [_rule_evidence(ns, key, row, position)]
        summary = ("Security group chain %s on %s dropped %d packets of its VM (rule %d: %s)." % (
            key[2], host, row["packets"], position, _rule_text(row)))
        ctx.add("warning", "likely", summary, items, _remedy(ns, key, row, position, "cloudstack"))
        return


_BRIDGE_KEYS = (("net.bridge.bridge-nf-call-iptables", ("bridge_nf_call_iptables", "net.bridge.bridge-nf-call-iptables")),
                ("net.bridge.bridge-nf-call-arptables", ("bridge_nf_call_arptables", "net.bridge.bridge-nf-call-arptables")))


def _bridge_netfilter(ctx, ns, sysctls, bridges):
    host = ctx.state.name
    values = {}
    for name, keys in _BRIDGE_KEYS:
        for key in keys:
            if isinstance(sysctls, dict) and key in sysctls:
                values[name] = sysctls[key]
                break
    if not values:
        ctx.notes.append(_note(host, "%s not read on this host: whether bridged traffic of bridge %s reaches the "
                                     "security group chains is not checked" % (
                                         " and ".join(name for name, _keys in _BRIDGE_KEYS), ", ".join(bridges)),
                               blocking=False))
        return
    off = sorted(name for name, value in values.items() if value == 0)
    if not off:
        return
    items = [evidence(host, "%s = 0" % name, ns.display) for name in off]
    items.append(evidence(host, "security group chains BF-%s exist" % ", BF-".join(bridges), ns.display))
    summary = ("%s is 0 on %s: bridged traffic of %s bypasses the security group chains, so CloudStack's security "
               "groups are not applied there." % (" and ".join(off), host, ", ".join(bridges)))
    remedy = [command(None, "sysctl", name) for name in off]
    remedy += [comment("CloudStack's KVM agent needs them 1 (br_netfilter loaded): set them in /etc/sysctl.d and "
                       "restart cloudstack-agent"),
               command(None, "sysctl", "-w", "%s=1" % off[0])]
    ctx.add("warning", "certain", summary, items, remedy)


# -- plain nftables / iptables rules ------------------------------------------------------------------


def _sg_chain(name):
    return bool(name and (_NEUTRON_PORT_CHAIN.match(name) or _NEUTRON_SG_CHAIN.match(name)
                          or _NEUTRON_FALLBACK.match(name) or _CS_VM_CHAIN.match(name) or _CS_DEF_CHAIN.match(name)
                          or _CS_EB_CHAIN.match(name) or _CS_BRIDGE_CHAIN.match(name)))


def _plain_rules(ctx, ns, platform):
    host = ctx.state.name
    if not ctx.instance_addresses:
        return
    for key, rows in sorted(ns.chains.items(), key=lambda item: tuple(str(part) for part in item[0])):
        if _sg_chain(key[2]):
            continue
        for position, row in enumerate(rows, 1):
            if not _is_drop(row):
                continue
            named = _names_address(row.get("rule") or "", sorted(ctx.instance_addresses))
            if not named:
                continue
            what = [reason for reason in _what_drops(row, ()) if reason]
            dropped = (row.get("packets") or 0) > 0
            items = [_rule_evidence(ns, key, row, position),
                     evidence(host, "%s is an instance's address" % ", ".join(named), ns.display)]
            summary = ("%s on %s drops %straffic of the instance address %s (rule %d%s)." % (
                _where(key), host, " and ".join(what) + " " if what else "", ", ".join(named), position,
                ", %d packets dropped" % row["packets"] if dropped else ", no packet counted yet"))
            ctx.add("critical", "certain" if dropped else "likely", summary, items,
                    _remedy(ns, key, row, position, platform))
            break


# -- the native OVS firewall -------------------------------------------------------------------------


def _drops(flow):
    actions = flow.get("actions") or ""
    return actions == "drop" or "resubmit(,%d)" % _DROPPED_TABLE in actions or "goto_table:%d" % _DROPPED_TABLE in actions


def _flow_text(flow):
    return "table=%s, priority=%s, %s actions=%s (n_packets=%s)" % (
        flow.get("table"), flow.get("priority"), flow.get("match") or "", flow.get("actions"),
        flow.get("n_packets") if flow.get("n_packets") is not None else "?")


_TOWARDS = {"ingress": (("dl_dst", "eth_dst"), ("nw_dst", "ip_dst", "ipv6_dst")),
            "egress": (("dl_src", "eth_src"), ("nw_src", "ip_src", "ipv6_src"))}


def _matches_port(match, ofport, macs, addresses, direction=None):
    """Why a flow's match names the port: its ofport (reg5, in_port on egress), its MAC or address on the side the
    direction reads (destination for ingress, source for egress; both for table 93)."""
    fields = dict(part.partition("=")[::2] for part in match.split(",") if "=" in part)
    sides = [direction] if direction else list(_TOWARDS)
    mac_fields = [field for side in sides for field in _TOWARDS[side][0]]
    ip_fields = [field for side in sides for field in _TOWARDS[side][1]]
    why = []
    reg5 = fields.get("reg5")
    if reg5 is not None and ofport is not None:
        try:
            if int(reg5, 0) == ofport:
                why.append("reg5=%s (ofport %d)" % (reg5, ofport))
        except ValueError:
            pass
    if direction != "ingress" and fields.get("in_port") is not None and ofport is not None and fields["in_port"] == str(ofport):
        why.append("in_port=%d" % ofport)
    for field in mac_fields:
        if fields.get(field, "").lower() in macs:
            why.append("%s=%s" % (field, fields[field]))
    for field in ip_fields:
        if fields.get(field, "").split("/")[0] in addresses:
            why.append("%s=%s" % (field, fields[field]))
    return why


def _native_firewall(ctx):
    state = ctx.state
    host = state.name
    if not isinstance(state.ovs, dict):
        return
    if (state.ovs.get("external_ids") or {}).get("ovn-remote") or (isinstance(state.ovn, dict) and state.ovn.get("chassis")):
        return  # an OVN chassis: tables 71-94 are OVN's own pipeline, not Neutron's firewall
    for bridge in state.ovs.get("bridges") or ():
        dumped = bridge.get("firewall_flows")
        if bridge.get("name") != "br-int" or not isinstance(dumped, dict):
            continue
        flows = dumped.get("flows")
        ports = [(port, interface) for port in bridge.get("ports") or () for interface in port.get("interfaces") or ()
                 if (interface.get("external_ids") or {}).get("iface-id") or (interface.get("external_ids") or {}).get(
                     "attached-mac")]
        if flows is None:
            if ports:
                ctx.notes.append(_note(host, "native OVS firewall of br-int not checked: %s" % dumped.get("reason")))
            continue
        if not any(flow.get("table") in _EGRESS_TABLES + _INGRESS_TABLES for flow in flows):
            continue  # no native firewall on this bridge (iptables hybrid, or none)
        if dumped.get("truncated"):
            ctx.notes.append(_note(host, "br-int has more firewall flows than were read: those beyond were not "
                                         "checked", blocking=False))
        for port, interface in ports:
            _native_port(ctx, bridge, port, interface, flows)


def _native_port(ctx, bridge, port, interface, flows):
    host = ctx.state.name
    ids = interface.get("external_ids") or {}
    ofport = interface.get("ofport") if isinstance(interface.get("ofport"), int) else None
    macs = set(mac.lower() for mac in (ids.get("attached-mac"),) if isinstance(mac, str))
    addresses = set()
    for mac in macs:
        addresses.update(_addresses_of_mac(ctx.model, mac))
    egress = [flow for flow in flows if flow.get("table") in _EGRESS_TABLES and not _drops(flow)
              and _matches_port(flow.get("match") or "", ofport, macs, addresses, "egress")]
    name = interface.get("name")
    for flow in sorted(flows, key=lambda item: (-(item.get("priority") or 0), item.get("table") or 0)):
        if flow.get("table") not in _INGRESS_TABLES + (_DROPPED_TABLE,) or not _drops(flow):
            continue
        match = flow.get("match") or ""
        why = _matches_port(match, ofport, macs, addresses, None if flow.get("table") == _DROPPED_TABLE else "ingress")
        if not why:
            continue
        icmp = bool(_ICMP.search(match.replace(",", " ")))
        specific = icmp or any(word in match.split(",") for word in ("tcp", "udp", "sctp")) or "tp_dst" in match
        counted = (flow.get("n_packets") or 0) > 0
        if not specific and not (counted and egress):
            continue   # the per-port default deny that every port has: a fault only when it drops while egress passes
        if not specific and ("ct_mark=0x1" in match or "+inv" in match):
            continue   # connections marked invalid (a rule removed under them): Neutron's own clean-up, not a block
        items = [evidence(host, "br-int flow %s matches port %s (%s)" % (_flow_text(flow), name, ", ".join(why)),
                          None, name)]
        if egress:
            items.append(evidence(host, "egress allowed: br-int flow %s" % _flow_text(egress[0]), None, name))
        what = "ICMP" if icmp else ("its traffic (%s)" % match)
        summary = ("The native OVS firewall on %s drops %s to the instance on port %s (table %s%s)%s." % (
            host, what, name, flow.get("table"),
            ", %d packets dropped" % flow["n_packets"] if counted else "",
            " while its egress is allowed" if egress else ""))
        remedy = [command(None, "ovs-ofctl", "dump-flows", "br-int", "table=%s" % flow.get("table"))]
        if _printable(name):
            remedy.append(command(None, "ovs-vsctl", "get", "Interface", name, "ofport", "external_ids:iface-id"))
        remedy.append(comment("Neutron's agent owns these flows (deleting one lasts until it resyncs); "
                              + _LASTING["openstack"]))
        ctx.add("critical", "certain" if specific or counted else "likely", summary, items, remedy)
        return


# -- the rule ---------------------------------------------------------------------------------------


_PROBE_DROP = re.compile(r"rule (\S+) (\S+) (\S+) #(\d+) \((.*)\) \+(\d+)\Z")


def _probe_growth(model):
    """{host: {(namespace label, family, table, chain, handle): (packets, probe)}} of the drop rules whose counters
    grew during this run's probes (diagnosis/2 traffic, ``stops_at.drops``: only rounds that did not pass)."""
    grown = {}
    traffic = getattr(model, "traffic", None)
    for item in (traffic.get("paths") if isinstance(traffic, dict) else None) or ():
        if not isinstance(item, dict) or not isinstance(item.get("stops_at"), dict):
            continue
        if item.get("origin") == "port_matrix":
            continue   # management traffic between roles, not an instance's: required_port_blocked's
        probe = "%s from %s to %s" % (item.get("protocol") or "probe", item.get("source"), item.get("destination"))
        for drop in item["stops_at"].get("drops") or ():
            found = _PROBE_DROP.match(str(drop.get("counter") or "")) if isinstance(drop, dict) else None
            if found is None or not isinstance(drop.get("host"), str):
                continue
            label = drop.get("namespace") if isinstance(drop.get("namespace"), str) else ""
            key = (label if label != "root/" else "", found.group(1), found.group(2), found.group(3), int(found.group(4)))
            grown.setdefault(drop["host"], {})[key] = (int(found.group(6)), probe)
    return grown


_DPORT = re.compile(r"\bdport[\s=]+(\d+)\b")
# VXLAN (IANA and Linux's old default) and Geneve: what an overlay's underlay carries.
_TUNNEL_PORTS = frozenset((4789, 8472, 6081))


def _tunnel_ports(model):
    ports = set(_TUNNEL_PORTS)
    for _host, tunnel in getattr(model, "ends", None) or ():
        if isinstance(tunnel, dict) and isinstance(tunnel.get("port"), int):
            ports.add(tunnel["port"])
    return ports


def _grown_elsewhere(ctx, ns, platform):
    """A drop rule that dropped probe packets and that no finding above names: the counter that grew is the fault.

    Not a rule that drops an overlay's tunnel packets (its UDP port): the instance's frames inside are lost there,
    but that is the underlay's firewall, which traffic_stops_at names with the same counter."""
    host = ctx.state.name
    tunnels = None
    for key, rows in sorted(ns.chains.items(), key=lambda item: tuple(str(part) for part in item[0])):
        for position, row in enumerate(rows, 1):
            grew = _grew(ns, key, row)
            if not grew or not _is_drop(row) or tuple(key) + (row.get("handle"),) in ns.named:
                continue
            if tunnels is None:
                tunnels = _tunnel_ports(ctx.model)
            if any(int(port) in tunnels for port in _DPORT.findall(str(row.get("rule") or ""))):
                continue
            items = [_rule_evidence(ns, key, row, position)]
            summary = ("%s on %s dropped %d packets of the probe %s (rule %d: %s)." % (
                _where(key), host, grew[0], grew[1], position, _rule_text(row)))
            ctx.add("critical", "certain", summary, items, _remedy(ns, key, row, position, platform))


def _mixed(ns):
    """Rules of legacy iptables and of iptables-nft in one namespace: both run, which one the agent writes is not known."""
    sources = set()
    for (family, table, _chain), rows in ns.chains.items():
        for row in rows:
            if row.get("source") == "iptables-legacy":
                sources.add("legacy")
            elif family in ("ip", "ip6") and table in _COMPAT_TABLES["ip"]:
                sources.add("nft")
    return sources == {"legacy", "nft"}


def _check_host(model, state, instance_addresses, grown=None):
    ctx = _Context(model, state, instance_addresses, grown)
    links = _links(state)
    root_sysctls = None
    namespaces = []
    for namespace in state.namespaces or ():
        if not isinstance(namespace, dict) or namespace.get("state", "ok") != "ok":
            continue
        if namespace.get("root"):
            root_sysctls = namespace.get("sysctls")
        firewall = namespace.get("firewall")
        if not isinstance(firewall, dict):
            continue
        ns = _Namespace(model, state, namespace, firewall)
        ns.grown, ns.named = ctx.grown, ctx.named
        namespaces.append(ns)
    for ns in namespaces:
        has_rules = bool(ns.chains)
        for item in ns.firewall.get("not_read") or ():
            if not isinstance(item, dict):
                continue
            quiet = item.get("what") == "ebtables-legacy" and not has_rules
            ctx.notes.append(_note(state.name, "firewall of namespace %s not fully read (%s): %s" % (
                ns.display or "root/", item.get("what"), item.get("reason")), blocking=False if quiet else None))
        if not has_rules:
            continue
        if _mixed(ns):
            ctx.notes.append(_note(state.name, "namespace %s has rules in legacy iptables and in nftables "
                                               "(iptables-nft) at once: both run; which of them the agent maintains is "
                                               "not known, the rules of both were checked" % (ns.display or "root/"),
                                   blocking=False))
        platform = _platform(state, ns.names())
        _neutron_hybrid(ctx, ns, links)
        _cloudstack(ctx, ns, root_sysctls)
        _plain_rules(ctx, ns, platform)
        _grown_elsewhere(ctx, ns, platform)
    _native_firewall(ctx)
    return ctx.findings, ctx.notes


def evaluate(model):
    """Every hypervisor and network node with firewall facts: rules and flows that drop an instance's traffic."""
    findings, notes = [], []
    family = FAMILIES[FAMILY]
    instance_addresses = _instance_addresses(model)
    grown = _probe_growth(model)
    for state in model.with_sections(("firewall",)):
        if not family.applies(state.platform, state.tier):
            continue   # a guest's own firewall is instance_firewall's
        try:
            found, said = _check_host(model, state, instance_addresses, grown.get(state.name))
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            notes.append({"check": FAMILY, "host": state.name, "kind": "not_evaluated",
                          "reason": "firewall facts of this host not readable as rules (%s: %s)" % (
                              type(exc).__name__, exc)})
            continue
        findings.extend(found)
        notes.extend(said)
    return findings, notes


RULE = Rule(CODE, FAMILY, needs=("firewall",), evaluate=evaluate)
