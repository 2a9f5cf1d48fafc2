# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Host facts (cloudnet.triage.host/1) of a small CloudStack zone, built in Python for the rule tests."""

from __future__ import annotations

import itertools

AGENT = "/etc/cloudstack/agent/agent.properties"
PROPERTIES = "public.network.device=cloudbr0\nprivate.network.device=cloudbr1\nguest.network.device=cloudbr1\n" \
             "network.bridge.type=native\nhost=198.18.40.10\n"
_IDS = itertools.count(4026531000)


def link(name, kind=None, master=None, up=True, ifindex=None):
    return {"ifindex": ifindex or 10, "name": name, "kind": kind, "mac": "52:54:00:00:00:01", "mtu": 1500,
            "operstate": "up" if up else "down",
            "flags": ["broadcast", "multicast", "up", "lower_up"] if up else ["broadcast", "multicast"],
            "master": master, "link_netnsid": None, "peer": None, "vxlan": None}


def addr(dev, address, prefixlen=24, scope="global"):
    return {"dev": dev, "address": address, "prefixlen": prefixlen, "family": 6 if ":" in address else 4,
            "scope": scope, "ifindex": 10, "flags": ["permanent"]}


def listener(port, address="0.0.0.0", process="java"):
    return {"protocol": "tcp", "family": 4, "address": address, "port": port, "state": "listen", "dev": None,
            "inode": 1000 + port, "pid": 4242, "process": process, "uid": 0, "ifindex": None}


def rule(text, verdict, chain="INPUT", table="filter", packets=5, source="iptables-legacy", family="ip"):
    return {"family": family, "table": table, "chain": chain, "handle": 3, "rule": text, "verdict": verdict,
            "packets": packets, "bytes": packets * 60, "source": source}


def chain(name="INPUT", policy="accept", table="filter", family="ip", hook="input", source="iptables-legacy"):
    return {"family": family, "table": table, "chain": name, "hook": hook, "priority": 0, "policy": policy,
            "source": source}


def host(name, links=(), addresses=(), sockets=(), rules=(), chains=(), files=None, refused=(), sections=None):
    ns = {"id": next(_IDS), "name": None, "root": True, "holder_pids": [1], "state": "ok", "entered": 0,
          "links": [link("lo", ifindex=1)] + list(links),
          "addresses": [addr("lo", "127.0.0.1", 8, "host")] + list(addresses),
          "routes": [], "neighbours": [], "fdb": [], "tc": [], "sysctls": {"ip_forward": 0},
          "sockets": list(sockets), "firewall": {"rules": list(rules), "chains": list(chains), "not_read": []}}
    read = [{"path": path, "size": len(text), "mtime": 0, "truncated": False, "redacted": 0, "content": text}
            for path, text in (files or {}).items()]
    facts = {"schema": "cloudnet.triage.host/1", "host": name, "errors": [], "reader": {"entered": 1, "namespaces": 1},
             "sections": list(sections or ["links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls",
                                           "sockets", "firewall", "processes", "files"]),
             "namespaces": [ns], "processes": [],
             "files": {"patterns": [AGENT], "read": read, "refused": list(refused)}}
    return facts


def entry(facts, groups, tier="hypervisor"):
    return {"groups": list(groups), "platform": "cloudstack", "tier": tier, "reachable": True, "host": facts}


def kvm(name, address, bridges=("cloudbr0", "cloudbr1"), properties=PROPERTIES, cloud0=True, uplinks=True, extra=(),
        sockets=(22, 16509), groups=("kvm_hosts",), **kwargs):
    links, addresses = [], [addr("cloudbr0", address)]
    for index, bridge in enumerate(bridges):
        links.append(link(bridge, "bridge"))
        links.append(link("eth%d" % index, "veth", master=bridge, up=uplinks))
    if cloud0:
        links.append(link("cloud0", "bridge"))
        addresses.append(addr("cloud0", "169.254.0.1", 16, "link"))
    files = {AGENT: properties} if properties is not None else {}
    return entry(host(name, links + list(extra), addresses, [listener(port) for port in sockets], files=files, **kwargs),
                 groups)


def management(name, address, sockets=(8080, 8250), groups=("management_servers",), **kwargs):
    return entry(host(name, [link("eth0", "veth")], [addr("eth0", address)], [listener(port) for port in sockets],
                      **kwargs), groups)


def zone(**overrides):
    fleet = {"mgmt1": management("mgmt1", "198.18.40.10"), "kvm1": kvm("kvm1", "198.18.40.11"),
             "kvm2": kvm("kvm2", "198.18.40.12")}
    fleet.update(overrides)
    return fleet
