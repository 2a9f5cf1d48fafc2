# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""instance_firewall: the guest's own firewall (its root namespace) drops what the first ping or DHCP needs.

- a base chain on the input or output hook whose policy is DROP, with no rule (in it or in a chain it jumps to)
  that accepts ICMP, everything, or established traffic: pings and the replies to the guest's own traffic die;
- a rule that drops or rejects ICMP (ICMPv6: neighbour discovery) or DHCP (udp 67/68), with its counters.

Rules come from the firewall section (collect/_firewall.py: nftables over netlink, legacy iptables-save). What
a source did not read (legacy tables without their tool) is said not checked, and a DROP policy is then not
called unanswered, since the accept may live in what was not read. All platforms: the guest's firewall is the
guest's, whatever cloud runs it.
"""

from __future__ import annotations

import re

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._guest import FAMILY, guests, not_collected, root_namespace
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "classify", "evaluate"]

CODE = "instance_firewall"
_NEEDS = ("firewall",)
_HOOKS = ("input", "output")
_IP_FAMILIES = ("ip", "ip6", "inet")
_ICMP = re.compile(r"(?:^|\s)(?:-p|--protocol|protocol|l4proto|nexthdr)\s+(?:icmp|icmpv6|ipv6-icmp|1|58)\b|"
                   r"\bicmp(?:v6)?\s+type\b|--icmp(?:v6)?-type\b", re.IGNORECASE)
_DHCP = re.compile(r"(?:dport|sport|dports|sports|th dport|th sport|udp dport|udp sport)\s+[\d,:{} ]*\b6[78]\b")
_UDP = re.compile(r"\budp\b|-p\s+17\b", re.IGNORECASE)
_ESTABLISHED = re.compile(r"ESTABLISHED|\bct\s+state\b|xt match (?:conntrack|state)\b|(?:^|\s)ct(?:\s|$)", re.IGNORECASE)
_VERDICT_WORDS = ("accept", "drop", "reject", "queue", "continue", "return")
# An ICMP rule narrowed to a type drops what a ping needs only for echo (8, 0) or neighbour discovery (133-136).
_ICMP_TYPED = re.compile(r"--icmp(?:v6)?-type\s+(\S+)|\bicmp(?:v6)?\s+type\s+(\S+)|\bpayload\s+(\d+)", re.IGNORECASE)
_PING_TYPES = ("any", "echo-request", "echo-reply", "8", "0", "128", "129", "neighbour-solicitation",
               "neighbour-advertisement", "neighbor-solicitation", "neighbor-advertisement", "133", "134", "135", "136",
               "router-solicitation", "router-advertisement")
_MAX_DEPTH = 8


def classify(rule_text):
    """What a rule matches, from its text: {icmp, dhcp, established, everything}."""
    text = rule_text or ""
    bare = [word for word in text.replace("-j", " ").split() if word.lower() not in _VERDICT_WORDS]
    typed = [next(group for group in found.groups() if group) for found in _ICMP_TYPED.finditer(text)]
    icmp = bool(_ICMP.search(text))
    ping = icmp and (not typed or any(kind.lower().split("/")[0] in _PING_TYPES for kind in typed))
    if ping and not typed and re.search(r"xt match icmp", text):
        ping = None   # iptables-nft's "-m icmp --icmp-type N": a type the netlink rule does not show
    return {
        "icmp": icmp,
        "ping": ping,
        "dhcp": bool(_DHCP.search(text)) and bool(_UDP.search(text) or "th " in text),
        "established": bool(_ESTABLISHED.search(text)),
        "everything": not bare,
    }


def _counter(rule):
    if rule.get("packets") is None:
        return "no counter"
    return "%s packets, %s bytes" % (rule["packets"], rule.get("bytes"))


def _rule_fact(rule):
    return "%s %s %s chain %s: %s [%s] (%s)" % (
        rule.get("source"), rule.get("family"), rule.get("table"), rule.get("chain"),
        rule.get("rule") or "(every packet)", rule.get("verdict"), _counter(rule))


def _rules_of(rules, family, table, chain):
    return [rule for rule in rules if (rule.get("family"), rule.get("table"), rule.get("chain")) == (family, table, chain)]


def _accepts(rules, family, table, chain, want, depth=0, seen=None):
    """Whether the chain (or one it jumps to) has an accept rule matching ``want`` (icmp or established)."""
    seen = set() if seen is None else seen
    if depth > _MAX_DEPTH or chain in seen:
        return False
    seen.add(chain)
    for rule in _rules_of(rules, family, table, chain):
        verdict = (rule.get("verdict") or "").lower()
        kind = classify(rule.get("rule"))
        if verdict == "accept" and (kind[want] or (kind["everything"] and rule.get("rule") is not None)):
            return True
        if verdict.startswith(("jump ", "goto ")) and _accepts(rules, family, table, verdict.split(None, 1)[1], want,
                                                               depth + 1, seen):
            return True
    return False


def _remove(rule, rules):
    """The remedy that removes one rule, in the tool that holds it (never a hand-built shell line)."""
    names = [str(rule.get(key) or "") for key in ("family", "table", "chain")]
    if any(not name or name.startswith("-") for name in names):
        # a name the tool would read as an option: say what to remove, run nothing
        return comment("remove the rule %s" % _rule_fact(rule))
    if rule.get("source") == "iptables-legacy":
        tool = "ip6tables" if rule.get("family") == "ip6" else "iptables"
        position = _rules_of(rules, rule.get("family"), rule.get("table"), rule.get("chain")).index(rule) + 1
        return command(None, tool, "-t", rule.get("table"), "-D", rule.get("chain"), str(position))
    if rule.get("handle") is not None:
        return command(None, "nft", "delete", "rule", rule.get("family"), rule.get("table"), rule.get("chain"),
                       "handle", str(rule["handle"]))
    return command(None, "nft", "-a", "list", "chain", rule.get("family"), rule.get("table"), rule.get("chain"))


def _policy_findings(host, firewall, incomplete):
    found = []
    rules = [rule for rule in firewall.get("rules") or () if isinstance(rule, dict)]
    for chain in firewall.get("chains") or ():
        if not isinstance(chain, dict) or chain.get("family") not in _IP_FAMILIES:
            continue
        if (chain.get("hook") or "").lower() not in _HOOKS or (chain.get("policy") or "").lower() != "drop":
            continue
        family, table, name = chain.get("family"), chain.get("table"), chain.get("chain")
        icmp = _accepts(rules, family, table, name, "icmp")
        established = _accepts(rules, family, table, name, "established")
        if icmp and established:
            continue
        if incomplete:
            continue   # the accept may be in the rules that were not read (said as not checked)
        lacking = [what for what, ok in (("ICMP", icmp), ("established/related traffic", established)) if not ok]
        hook = chain.get("hook").lower()
        items = [evidence(host, "%s %s %s chain %s (hook %s): policy DROP; no rule accepts %s" % (
            chain.get("source"), family, table, name, hook, " or ".join(lacking)))]
        items.extend(evidence(host, _rule_fact(rule)) for rule in _rules_of(rules, family, table, name)[:5])
        lost = []
        if not icmp:
            lost.append("pings to the guest" if hook == "input" else "the guest's own pings")
        if not established:
            lost.append("the replies to the guest's own traffic (DNS, DHCP renewals, its pings)" if hook == "input"
                        else "the guest's answers (to pings, to connections)")
        summary = ("The guest %s's own firewall drops by default on %s (%s %s chain %s, policy DROP) and accepts no %s: "
                   "%s are dropped inside the guest."
                   % (host, hook, family, table, name, " and no ".join(lacking), " and ".join(lost)))
        if any(not str(part or "") or str(part).startswith("-") for part in (family, table, name)):
            remedy = [comment("accept established/related traffic and ICMP in %s %s chain %s" % (family, table, name))]
        elif chain.get("source") == "iptables-legacy":
            tool = "ip6tables" if family == "ip6" else "iptables"
            remedy = [command(None, tool, "-t", table, "-I", name, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
                              "-j", "ACCEPT"),
                      command(None, tool, "-t", table, "-I", name, "-p", "ipv6-icmp" if family == "ip6" else "icmp",
                              "-j", "ACCEPT")]
        else:
            remedy = [command(None, "nft", "insert", "rule", family, table, name, "ct", "state", "established,related",
                              "accept"),
                      command(None, "nft", "insert", "rule", family, table, name, "meta", "l4proto", "{", "icmp,",
                              "ipv6-icmp", "}", "accept")]
        remedy.append(comment("and make it last in the guest's saved firewall configuration"))
        found.append(finding(CODE, "critical", summary, items, remedy=remedy, check=FAMILY, remedy_host=host))
    return found


def _drop_findings(host, firewall):
    found = []
    rules = [rule for rule in firewall.get("rules") or () if isinstance(rule, dict)]
    # what a guest forwards (its containers) is not what it receives or sends itself
    forwarding = set((chain.get("family"), chain.get("table"), chain.get("chain")) for chain in firewall.get("chains") or ()
                     if isinstance(chain, dict) and (chain.get("hook") or "").lower() == "forward")
    for rule in rules:
        if rule.get("family") not in _IP_FAMILIES:
            continue
        if (rule.get("family"), rule.get("table"), rule.get("chain")) in forwarding:
            continue
        if (rule.get("verdict") or "").lower() not in ("drop", "reject"):
            continue
        kind = classify(rule.get("rule"))
        if kind["ping"] is False and not kind["dhcp"]:
            continue
        if kind["ping"] is None and not kind["dhcp"]:
            what = "ICMP of a type its rule text does not show (echo, if it is, stops every ping)"
        elif kind["ping"]:
            what = "ICMP (ping%s)" % (", neighbour discovery" if rule.get("family") in ("ip6", "inet") else "")
        else:
            what = "DHCP (udp 67/68: leases are not renewed)"
        grown = rule.get("packets")
        seen = (" and has dropped %s packets already" % grown) if grown else ""
        summary = ("The guest %s's own firewall drops %s: rule in %s %s chain %s%s." % (
            host, what, rule.get("family"), rule.get("table"), rule.get("chain"), seen))
        found.append(finding(CODE, "critical", summary, [evidence(host, _rule_fact(rule))],
                             remedy=[_remove(rule, rules), comment("and in the guest's saved firewall configuration")],
                             confidence="possible" if kind["ping"] is None and not kind["dhcp"] else "certain",
                             check=FAMILY, remedy_host=host))
    return found


def evaluate(model):
    """Every guest: its root namespace's firewall lets ICMP, DHCP and established traffic through."""
    findings, notes = [], []
    for state in guests(model, _NEEDS):
        host = state.name
        namespace = root_namespace(state)
        firewall = namespace.get("firewall") if namespace is not None else None
        if not isinstance(firewall, dict):
            notes.append(not_collected(host, "the guest's own firewall (root namespace) was not read"))
            continue
        unread = [item for item in firewall.get("not_read") or () if isinstance(item, dict)]
        for item in unread:
            notes.append(not_collected(host, "guest firewall %s not checked: %s" % (item.get("what"), item.get("reason"))))
        # legacy ebtables never being read says nothing about the ip tables a guest's policy lives in
        incomplete = [item for item in unread if item.get("what") != "ebtables-legacy"]
        findings.extend(_drop_findings(host, firewall))
        findings.extend(_policy_findings(host, firewall, incomplete))
    return findings, notes


RULE = Rule(CODE, FAMILY, needs=_NEEDS, evaluate=evaluate)
