# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""instance_link_down: the guest's NIC is down, has no carrier or no address, or its network configuration names a
NIC the kernel does not have (the template's eth0 on a VM whose NIC is ens3: CloudStack's "templates" issue).

The NICs checked are the guest's primary NIC (the one its default route leaves by; else the first), every NIC its
configuration names, and every NIC with an address. A NIC nothing configures and nothing uses is left alone (a
spare). The configuration comes from the files section (rules/_guest_config.py); without it the name check is
said not checked, the link checks still run. All platforms: a guest's own links do not depend on the cloud.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._guest import FAMILY, addresses_of, each_guest, nics, not_collected, root_namespace
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._guest_config import claims, guest_entries, unmatched
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

CODE = "instance_link_down"
_NEEDS = ("links", "addresses", "routes")


def _default_dev(namespace):
    for route in namespace.get("routes") or ():
        if isinstance(route, dict) and route.get("dst") in ("0.0.0.0/0", "::/0") and route.get("table", "main") == "main":
            return route.get("dev")
    return None


def _has_address(namespace, dev):
    return bool(addresses_of(namespace, dev, 4) or addresses_of(namespace, dev, 6))


def _where(entry):
    return "%s line %s" % (entry["file"], entry["line"]) if entry.get("line") else entry["file"]


def _named(entry):
    if entry["name"]:
        return entry["name"]
    parts = ["name %s" % glob for glob in entry["names"]] + (["MAC %s" % entry["mac"]] if entry["mac"] else [])
    return "the NIC matching %s" % " and ".join(parts)


def _template_finding(host, missing, unclaimed, nic_names):
    items = [evidence(host, "%s (%s) configures %s" % (_where(entry), entry["format"], _named(entry)))
             for entry in missing]
    for nic in unclaimed:
        items.append(evidence(host, "the kernel's NIC %s (MAC %s) is named by no network configuration%s" % (
            nic["name"], nic.get("mac"), "" if nic["addressed"] else " and has no address"), None, nic["name"]))
    wanted = ", ".join(sorted(set(_named(entry) for entry in missing)))
    have = ", ".join(nic["name"] for nic in unclaimed)
    summary = ("The guest %s's network configuration names %s, which this guest does not have: its NIC%s %s stay%s "
               "unconfigured (the template was made for another NIC name)."
               % (host, wanted, "s" if len(unclaimed) > 1 else "", have, "" if len(unclaimed) > 1 else "s"))
    remedy = [command(None, "ip", "-br", "link", "show")]
    for entry in missing:
        if entry["name"] and len(unclaimed) == 1:
            remedy.append(comment("in %s: configure %s instead of %s (or build the template with net.ifnames=0 "
                                  "biosdevname=0, or match the NIC by MAC)"
                                  % (entry["file"], unclaimed[0]["name"], entry["name"])))
        else:
            remedy.append(comment("in %s: name a NIC this guest has (%s)" % (entry["file"], ", ".join(nic_names))))
    return finding(CODE, "critical", summary, items, remedy=remedy, check=FAMILY, remedy_host=host)


def _link_findings(host, namespace, link, primary, configured):
    name = link["name"]
    flags = link.get("flags") or []
    role = "primary NIC" if primary else "NIC"
    fact = "%s: operstate %s, flags %s" % (name, link.get("operstate"), ",".join(flags) or "none")
    if "up" not in flags:
        return finding(CODE, "critical", "The guest %s's %s %s is administratively down." % (host, role, name),
                       [evidence(host, fact, None, name)],
                       remedy=[command(None, "ip", "link", "set", "dev", name, "up")], check=FAMILY, remedy_host=host)
    if "lower_up" not in flags or link.get("operstate") in ("down", "lowerlayerdown"):
        return finding(CODE, "critical", "The guest %s's %s %s has no carrier: nothing is plugged in at the other end "
                       "(the hypervisor's tap or vnet is down or gone)." % (host, role, name),
                       [evidence(host, fact, None, name)],
                       remedy=[command(None, "ip", "link", "show", "dev", name),
                               comment("on the hypervisor: the tap/vnet of this NIC must exist, be up and sit on its "
                                       "bridge")], check=FAMILY, remedy_host=host)
    expects = [entry for entry in configured if entry.get("address") is not False]
    if not _has_address(namespace, name) and (primary or expects):
        said = ("; its configuration (%s) asks for one" % _where(expects[0])) if expects else ""
        return finding(CODE, "critical", "The guest %s's %s %s is up but has no address: DHCP never completed or the "
                       "address was never configured%s." % (host, role, name, said),
                       [evidence(host, fact + "; no IPv4 or global IPv6 address", None, name)],
                       remedy=[command(None, "ip", "address", "show", "dev", name),
                               comment("DHCP: does the guest's DHCP client run on %s, and does the network's DHCP server "
                                       "answer (dhcp_server_down)?" % name)],
                       # a fact, but its cause may be upstream (no DHCP server): a certain cause there ranks first
                       confidence="likely", check=FAMILY, remedy_host=host)
    return None


def _check(state, findings, notes):
    host = state.name
    namespace = root_namespace(state)
    if namespace is None:
        notes.append(not_collected(host, "the guest's own (root) namespace was not read"))
        return
    cards = nics(namespace)
    addressed = set(nic["name"] for nic in cards if _has_address(namespace, nic["name"]))
    entries, problems = [], []
    if state.files is None:
        notes.append(not_collected(host, "the guest's network configuration was not read (no files section): the "
                                         "NIC names it expects were not checked"))
    else:
        entries, problems, _paths = guest_entries(state.files)
        for problem in problems:
            notes.append(not_collected(host, "network configuration %s%s not checked: %s" % (
                problem["file"], " line %s" % problem["line"] if problem.get("line") else "", problem["reason"])))
    missing, unclaimed = unmatched(entries, [{"name": nic["name"], "mac": nic.get("mac"),
                                              "addressed": nic["name"] in addressed} for nic in cards])
    explained = set()
    if missing and unclaimed:
        findings.append(_template_finding(host, missing, unclaimed, [nic["name"] for nic in cards]))
        explained = set(nic["name"] for nic in unclaimed if not nic["addressed"])
    if not cards:
        links = sorted(str(link.get("name")) for link in namespace.get("links") or () if isinstance(link, dict))
        findings.append(finding(CODE, "critical", "The guest %s has no network interface besides loopback." % host,
                                [evidence(host, "links: %s" % (", ".join(links) or "none"))],
                                remedy=[command(None, "ip", "link", "show")], check=FAMILY, remedy_host=host))
        return
    primary = _default_dev(namespace)
    if primary not in set(nic["name"] for nic in cards):
        primary = cards[0]["name"]
    for link in cards:
        name = link["name"]
        configured = [entry for entry in entries if not entry["virtual"] and claims(entry, link)]
        if name != primary and not configured and name not in addressed:
            continue   # a spare NIC nothing configures
        if name in explained:
            continue   # the template finding says why it has no address
        found = _link_findings(host, namespace, link, name == primary, configured)
        if found is not None:
            findings.append(found)


evaluate = each_guest(_NEEDS, _check, "Every guest: its NICs up, with carrier and an address; every NIC its configuration names present.")


RULE = Rule(CODE, FAMILY, needs=_NEEDS, evaluate=evaluate)
