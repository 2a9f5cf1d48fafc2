# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""One unpacked sos report -> the ``cloudnet.triage.host/1`` facts the live reader returns, as far as the text
allows, marked ``source: sos``.

Both layouts: sos >= 4.3 writes each namespace's commands under ``sos_commands/networking/namespaces/<ns>/``,
sos 4.0-4.2 writes them flat in ``sos_commands/networking/`` (``ip_netns_exec_<ns>_<command>``). What the text
cannot give (namespace inodes, the nsid tables, live counter growth, probes; and per namespace in the flat
layout: link kinds, neighbours, FDB, tc) is listed in ``offline.not_checked`` for the diagnosis to say
"not checked (offline)", never filled with a guess. Every problem names the report and the file.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import time

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import HOST_SCHEMA, OVS_SCHEMA
from ansible_collections.cloudnet.triage.plugins.module_utils.offline._text import (
    error_text,
    parse_addresses,
    parse_fdb,
    parse_neighbours,
    parse_netns_list,
    parse_ovs_show,
    parse_ovsdb_list,
    parse_routes,
    parse_sysctls,
    parse_tc_filters,
)

__all__ = ["FILE_CAP", "KNOWN_MAJOR", "ReportError", "SOURCE", "is_report", "read_report"]

SOURCE = "sos"
# sos majors whose layout this reader knows; another one is read as the closest and said.
KNOWN_MAJOR = ("3", "4")
# One command's output larger than this is not read (a report is kilobytes per command).
FILE_CAP = 32 << 20
_PLATFORM_CAP = 64 << 10
_RAW_CAP = 256 << 10
_NET = "sos_commands/networking"
_OVS = "sos_commands/openvswitch"
# Files sos copies that say which platform a host serves (Neutron's DHCP and HA state, CloudStack's agent).
_PLATFORM_DIRS = ("var/lib/neutron/dhcp", "var/lib/neutron/ha_confs", "etc/neutron", "etc/cloudstack/agent")
_STATISTICS = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped", "tx_dropped", "rx_errors", "tx_errors")
_FDB_KINDS = frozenset(("bridge", "vxlan"))


class ReportError(ValueError):
    """A report that gives no host facts at all: the message names the report and the file."""


def is_report(path):
    """True for the root directory of an unpacked sos report."""
    return os.path.isdir(os.path.join(path, "sos_commands")) or (
        os.path.isfile(os.path.join(path, "version.txt")) and os.path.isdir(os.path.join(path, "sos_logs")))


def _ns_id(host, name):
    """A stable stand-in for a namespace inode (text has none): the same report always gives the same ids."""
    digest = hashlib.sha1(("%s\0%s" % (host, name or "")).encode("utf-8", "replace")).hexdigest()
    return (int(digest[:12], 16) | 1) & ((1 << 48) - 1) or 1


class _Report(object):
    """Reads files of one unpacked report; remembers what it read and what was wrong with it."""

    def __init__(self, root, name):
        self.root = os.path.realpath(root)
        self.name = name
        self.problems = []      # [(file, message)]
        self.read_count = 0
        self._listed = {}       # rel -> sorted names: a flat layout is listed once, not once per namespace
        self._real_dirs = {}    # directory rel -> its real path, resolved once

    def path(self, rel):
        return os.path.join(self.root, *rel.split("/"))

    def exists(self, rel):
        return os.path.exists(self.path(rel))

    def listdir(self, rel):
        listed = self._listed.get(rel)
        if listed is None:
            try:
                listed = sorted(os.listdir(self.path(rel)))
            except OSError:
                listed = []
            self._listed[rel] = listed
        return listed

    def read(self, rel, cap=FILE_CAP):
        """The text of one file, None when absent; sos's own error text instead of output is a problem, None."""
        # Never follow a link out of the report (an unpacked archive holds none; a directory given may): the
        # directory resolved once, the file itself must be no link.
        directory, _sep, name = rel.rpartition("/")
        parent = self._real_dirs.get(directory)
        if parent is None:
            parent = self._real_dirs[directory] = os.path.realpath(self.path(directory) if directory else self.root)
        real = os.path.join(parent, name)
        if not (parent == self.root or parent.startswith(self.root + os.sep)) or os.path.islink(real) \
                or not os.path.isfile(real):
            return None
        try:
            size = os.path.getsize(real)
            if size > cap:
                self.problems.append((rel, "larger than %d bytes: not read" % cap))
                return None
            with open(real, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except OSError as exc:
            self.problems.append((rel, "cannot be read: %s" % exc))
            return None
        self.read_count += 1
        failed = error_text(text)
        if failed is not None:
            self.problems.append((rel, "sos saved an error instead of the output: %s" % failed))
            return None
        return text

    def first(self, rels):
        """(rel, text) of the first of ``rels`` that is there, else (None, None)."""
        for rel in rels:
            if self.exists(rel):
                text = self.read(rel)
                return rel, text
        return None, None


def _version(report):
    """(version text, major) from version.txt or sos_reports/manifest.json; (None, None) when neither says."""
    text = report.read("version.txt", cap=1 << 16)
    if text:
        found = re.search(r"^\s*(?:sosreport|sos)\s*:\s*(\S+)", text, re.M)
        if found:
            return found.group(1), found.group(1).split(".")[0]
    manifest = report.read("sos_reports/manifest.json", cap=8 << 20)
    if manifest:
        try:
            version = str(json.loads(manifest).get("version") or "")
        except (ValueError, AttributeError):
            version = ""
        if version:
            return version, version.split(".", maxsplit=1)[0]
    return None, None


def _hostname(report):
    for rel in ("sos_commands/host/hostname", "sos_commands/general/hostname", "hostname"):
        text = report.read(rel, cap=1 << 12)
        if text and text.strip():
            return text.strip().splitlines()[0].strip(), rel
    found = re.match(r"^sosreport-(.+?)-(?:\d{4}-\d{2}-\d{2}|\d{8})", os.path.basename(report.root))
    if found:
        return found.group(1), None
    return None, None


def _flat_name(ns, command):
    return "ip_netns_exec_%s_%s" % (ns, command)


class _Namespace(object):
    __slots__ = ("name", "facts", "links", "by_name", "by_index")

    def __init__(self, name, facts):
        self.name = name
        self.facts = facts
        self.links = facts.get("links") or []
        self.by_name = dict((link["name"], link) for link in self.links)
        self.by_index = dict((link["ifindex"], link) for link in self.links)


def _namespace_names(report, layout):
    """The namespaces sos saw: `ip netns`, then the per-namespace directories or flat file prefixes."""
    text = report.read(_NET + "/ip_netns", cap=1 << 20) if report.exists(_NET + "/ip_netns") else None
    listed = parse_netns_list(text)
    names = [name for name, _nsid in listed]
    if layout == "namespaces":
        for name in report.listdir(_NET + "/namespaces"):
            if name not in names:
                names.append(name)
    return names, dict((name, nsid) for name, nsid in listed if nsid is not None)


def _ns_files(report, layout, ns):
    """(directory, file names) holding one namespace's commands in this layout."""
    if layout == "namespaces":
        where = "%s/namespaces/%s" % (_NET, ns)
        return where, report.listdir(where)
    prefix = "ip_netns_exec_%s_" % ns
    names = report.listdir(_NET)   # sorted: the namespace's files are one run of it
    start = bisect.bisect_left(names, prefix)
    end = start
    while end < len(names) and names[end].startswith(prefix):
        end += 1
    return _NET, names[start:end]


def _pick(where, files, ns, commands):
    for command in commands:
        name = _flat_name(ns, command) if ns is not None else command
        if name in files:
            return "%s/%s" % (where, name)
    return None


def _read_namespace(report, host, layout, ns, is_root, errors, gaps):
    """One namespace's facts from its files; sections the text lacks are absent and listed in ``gaps``."""
    label = "root/" if is_root else ns
    facts = {"id": _ns_id(host, None if is_root else ns), "name": None if is_root else ns, "root": is_root,
             "holder_pids": [], "state": "ok", "entered": 0, "source": SOURCE}
    if is_root:
        where, files = _NET, report.listdir(_NET)
        prefix = None
        address_cmds = ("ip_-d_address", "ip_-d_address_show", "ip_address")
        route_cmds = ("ip_route_show_table_all",)
        neigh_cmds = ("ip_-s_-s_neigh_show", "ip_neigh_show")
        sysctl_cmds = ()
    else:
        where, files = _ns_files(report, layout, ns)
        prefix = ns
        address_cmds = ("ip_-d_address_show", "ip_address_show")
        route_cmds = ("ip_route_show_table_all",)
        neigh_cmds = ("ip_-s_-s_neigh_show",)
        sysctl_cmds = ("sysctl_-a",)
    used = []

    def text_of(commands, section):
        rel = _pick(where, files, prefix, commands)
        if rel is None:
            return None, None
        text = report.read(rel)
        used.append(rel)
        if text is None:
            problem = next((message for file, message in reversed(report.problems) if file == rel), "not readable")
            errors.append({"namespace": label, "section": section, "message": "%s: %s" % (rel, problem)})
        return rel, text

    rel, text = text_of(address_cmds, "links")
    if text is not None:
        links, addresses = parse_addresses(text)
        detailed = "_-d_" in os.path.basename(rel) + "_"
        facts["links"], facts["addresses"] = links, addresses
        if not detailed:
            gaps.append(("link kinds", label, "%s has no details (no -d): link kinds and VXLAN facts" % rel))
    _rel, text = text_of(route_cmds, "routes")
    if text is not None:
        routes = parse_routes(text)
        if is_root:
            _rel6, text6 = text_of(("ip_-6_route_show_table_all",), "routes")
            routes.extend(parse_routes(text6, family=6))
        facts["routes"] = _unique(routes, ("family", "table", "dst", "metric", "type", "dev", "gateway"))
    _rel, text = text_of(neigh_cmds, "neighbours")
    if text is not None:
        rows = parse_neighbours(text)
        if is_root:
            _reln, noarp = text_of(("ip_neigh_show_nud_noarp",), "neighbours")
            rows.extend(parse_neighbours(noarp))
        facts["neighbours"] = _unique(rows, ("dev", "address"))
    if is_root:
        rel = _pick(where, files, None, ("bridge_-s_-s_-d_-t_fdb_show", "bridge_fdb_show"))
        if rel is not None:
            text = report.read(rel)
            used.append(rel)
            if text is not None:
                facts["fdb"] = parse_fdb(text)
        tc_files = [name for name in files if name.startswith("tc_-s_filter_show_dev_")]
        if tc_files:
            rows = []
            for name in tc_files:
                rest = name[len("tc_-s_filter_show_dev_"):]
                direction = "ingress" if rest.endswith("_ingress") else "egress"
                dev = rest[:-len("_ingress")] if direction == "ingress" else rest
                text = report.read("%s/%s" % (where, name))
                rows.extend(parse_tc_filters(text, dev, direction))
            facts["tc"] = rows
        sysctls = None
        for rel in ("sos_commands/kernel/sysctl_-a", "sos_commands/networking/sysctl_-a"):
            if report.exists(rel):
                sysctls = parse_sysctls(report.read(rel))
                if sysctls is not None:
                    break
        if sysctls is None:
            sysctls = _proc_sysctls(report)
        if sysctls is not None:
            facts["sysctls"] = sysctls
        raw = report.first(("sos_commands/firewall_tables/iptables-save", _NET + "/iptables-save"))[1]
        nft = report.first(("sos_commands/firewall_tables/nft_list_ruleset", _NET + "/nft_list_ruleset"))[1]
    else:
        rel, text = text_of(sysctl_cmds, "sysctls")
        if text is not None:
            sysctls = parse_sysctls(text)
            if sysctls is not None:
                facts["sysctls"] = sysctls
        raw = None
        rel = _pick(where, files, prefix, ("iptables-save",))
        if rel is not None:
            raw = report.read(rel)
        nft = None
    # Firewall rules are kept as text: no rule reads them yet, an operator reads them in the fleet file.
    firewall = dict((key, value[:_RAW_CAP]) for key, value in (("iptables", raw), ("nftables", nft)) if value)
    if firewall:
        facts["firewall"] = firewall
    return facts


def _proc_sysctls(report):
    base = "proc/sys/net/"
    wanted = {"net.ipv4.ip_forward": "ipv4/ip_forward", "net.ipv4.conf.all.rp_filter": "ipv4/conf/all/rp_filter",
              "net.ipv4.conf.default.rp_filter": "ipv4/conf/default/rp_filter",
              "net.ipv6.conf.all.forwarding": "ipv6/conf/all/forwarding"}
    lines = []
    for name, rel in wanted.items():
        if report.exists(base + rel):
            value = report.read(base + rel, cap=1 << 10)
            if value is not None:
                lines.append("%s = %s" % (name, value.strip()))
    return parse_sysctls("\n".join(lines)) if lines else None


def _unique(rows, keys=None):
    seen, kept = set(), []
    for row in rows:
        key = tuple(row.get(field) for field in keys) if keys else json.dumps(row, sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def _pair(host, spaces, nsids, errors, gaps):
    """Veth peers, VXLAN socket namespaces and underlays across the namespaces read, from names and ifindexes."""
    by_name = dict((space.name, space) for space in spaces)
    root = next((space for space in spaces if space.facts["root"]), None)
    by_nsid = dict((nsid, by_name[name]) for name, nsid in nsids.items() if name in by_name)
    for space in spaces:
        for link in space.links:
            at = link.get("_at")
            kind = link["kind"]
            if at is None or kind not in (None, "veth"):
                continue
            other = index = None
            if not re.match(r"^if\d+$", at):
                peer = space.by_name.get(at)
                if peer is not None and kind == "veth":
                    link["peer"] = {"ns": space.facts["id"], "ns_name": space.facts["name"], "ifindex": peer["ifindex"],
                                    "name": peer["name"]}
                continue
            index = int(at[2:])
            if link.get("_link_netns") is not None and link["_link_netns"] in by_name:
                other = by_name[link["_link_netns"]]
            elif space is root and link["link_netnsid"] in by_nsid:
                other = by_nsid[link["link_netnsid"]]
            else:
                # The other end names this one back: its '@ifN' is this link's ifindex in this namespace.
                for candidate in spaces:
                    if candidate is space:
                        continue
                    back = candidate.by_index.get(index)
                    if back is not None and back.get("_at") == "if%d" % link["ifindex"] and back["kind"] in (None, "veth") \
                            and ((space.name is not None and back.get("_link_netns") == space.name)
                                 or (back.get("_link_netns") is None and back["link_netnsid"] is not None)):
                        other = candidate
                        break
            target = other.by_index.get(index) if other is not None else None
            if target is not None and (kind == "veth" or target["kind"] == "veth"):
                link["kind"] = "veth"
                link["peer"] = {"ns": other.facts["id"], "ns_name": other.facts["name"], "ifindex": index,
                                "name": target["name"]}
            elif kind == "veth":
                link["peer"] = {"ns": None, "ns_name": None, "ifindex": index, "name": None}
    for space in spaces:
        for link in space.links:
            if link["kind"] == "veth" and link["peer"] is None:
                link["peer"] = {"ns": None, "ns_name": None, "ifindex": None, "name": None}
            tunnel = link.get("vxlan")
            if tunnel is None:
                continue
            home = None
            if link["link_netnsid"] is None:
                home = space
            elif space is root and link["link_netnsid"] in by_nsid:
                home = by_nsid[link["link_netnsid"]]
            elif tunnel.get("underlay"):
                found = [other for other in spaces if other is not space and tunnel["underlay"] in other.by_name]
                home = found[0] if len(found) == 1 else None
            if home is None:
                errors.append({"namespace": space.facts["name"] or "root/", "section": "vxlan",
                               "message": "%s: socket namespace (link-netnsid %s) not in the text" % (
                                   link["name"], link["link_netnsid"])})
                gaps.append(("netns ids", space.facts["name"] or "root/",
                             "the socket namespace of %s (link-netnsid %s): the text has no nsid table of this namespace"
                             % (link["name"], link["link_netnsid"])))
                continue
            tunnel["socket_ns"] = home.facts["id"]
            tunnel["socket_ns_name"] = None if home.facts["root"] else home.facts["name"]
            underlay = home.by_name.get(tunnel.get("underlay")) if tunnel.get("underlay") else None
            tunnel["underlay_ifindex"] = underlay["ifindex"] if underlay is not None else None
            if underlay is None:
                tunnel["underlay"] = None
    for space in spaces:
        for link in space.links:
            link.pop("_at", None)
            link.pop("_link_netns", None)
            if link["kind"] == "vxlan" and link["vxlan"] is not None and link["vxlan"].get("port") is None:
                link["vxlan"]["port"] = 8472
        names = dict((link["name"], link["ifindex"]) for link in space.links)
        for row in space.facts.get("neighbours") or ():
            row["ifindex"] = names.get(row["dev"])
        kinds = dict((link["name"], link["kind"]) for link in space.links)
        if "fdb" in space.facts:
            if not _FDB_KINDS.intersection(kinds.values()):
                space.facts["fdb"] = []
            else:
                # As the live reader: a device's own multicast `self` rows are kept only for VXLAN devices.
                space.facts["fdb"] = [row for row in space.facts["fdb"] if row["dev"] in names and not (
                    kinds.get(row["dev"]) != "vxlan" and row["master"] is None and "self" in row["flags"]
                    and int(row["mac"][:2], 16) & 1)]
        for section, field in (("addresses", "dev"), ("routes", "dev"), ("neighbours", "dev"), ("fdb", "dev")):
            rows = space.facts.get(section)
            if rows:
                # A row naming a device the link table does not hold (text of two moments) is dropped, and said.
                kept = [row for row in rows if row.get(field) is None or row[field] in names]
                if len(kept) != len(rows):
                    errors.append({"namespace": space.facts["name"] or "root/", "section": section,
                                   "message": "%d row(s) name devices the link table does not list" % (len(rows) - len(kept))})
                space.facts[section] = kept
        for row in space.facts.get("tc") or ():
            row["target_ifindex"] = names.get(row["target"]) if row["target"] else None
        if space.facts.get("tc"):
            space.facts["tc"] = [row for row in space.facts["tc"] if row["dev"] in names and (
                row["target"] is None or row["target"] in names)]
        for row in space.facts.get("routes") or ():
            for hop in row.get("nexthops") or ():
                hop["ifindex"] = names.get(hop.get("dev"))


def _ovs(report, host):
    """ovs/1 facts from `ovs-vsctl -t 5 show`, the Interface and Port tables (`ovsdb-client dump` or
    `ovs-vsctl list`) and `ovs-ofctl dump-flows` per bridge."""
    rel, show = report.first((_OVS + "/ovs-vsctl_-t_5_show", _OVS + "/ovs-vsctl_show"))
    if rel is None:
        return _unavailable(host, "OVS not available: the report holds no ovs-vsctl show output (%s)" % _OVS), None
    if show is None:
        problem = next((message for file, message in reversed(report.problems) if file == rel), "not readable")
        return _unavailable(host, "OVS not running: %s: %s" % (rel, problem)), None
    bridges, version = parse_ovs_show(show)
    tables = {}
    dump = report.read(_OVS + "/ovsdb-client_-f_list_dump") if report.exists(_OVS + "/ovsdb-client_-f_list_dump") else None
    if dump:
        tables = parse_ovsdb_list(dump)
    for table, name in (("Interface", "interface"), ("Port", "port"), ("Open_vSwitch", "Open_vSwitch")):
        if not tables.get(table):
            for rel_list in ("%s/ovs-vsctl_-t_5_list_%s" % (_OVS, name), "%s/ovs-vsctl_list_%s" % (_OVS, name)):
                if report.exists(rel_list):
                    found = parse_ovsdb_list(report.read(rel_list))
                    tables[table] = found.get(None) or []
                    break
    interfaces = dict((row.get("name"), row) for row in tables.get("Interface") or [] if isinstance(row, dict))
    ports = dict((row.get("name"), row) for row in tables.get("Port") or [] if isinstance(row, dict))
    uuid_names = dict((row.get("_uuid"), row.get("name")) for row in tables.get("Interface") or [] if isinstance(row, dict))
    if version is None and tables.get("Open_vSwitch"):
        version = _one(tables["Open_vSwitch"][0].get("ovs_version"))
    facts_bridges, owners = [], {}
    for bridge in sorted(bridges, key=lambda item: item["name"]):
        bridge_ports = []
        for port in bridge["ports"]:
            row = ports.get(port["name"]) or {}
            members = []
            for interface in port["interfaces"]:
                members.append(_interface(interface, interfaces.get(interface["name"]) or {}))
            members.sort(key=lambda item: item["name"])
            bond = len(members) > 1
            active = _one(row.get("bond_active_slave"))
            active_name = uuid_names.get(active) if active in uuid_names else None
            if bond and not active:
                active_name = _bond_active(report, port["name"])
            bridge_ports.append({
                "name": port["name"],
                "type": "bond" if bond else (members[0]["type"] if members else None),
                "ofport": None if bond or not members else members[0]["ofport"],
                "tag": port["tag"] if isinstance(port["tag"], int) else None,
                "trunks": port["trunks"],
                "vlan_mode": _one(row.get("vlan_mode")),
                "bond_mode": _one(row.get("bond_mode")) if bond else None,
                "bond_members": [{"name": member["name"], "link_state": member["link_state"],
                                  "admin_state": member["admin_state"],
                                  "active": bool(active or active_name) and (
                                      member["mac_in_use"] == active or member["name"] == active_name)}
                                 for member in members] if bond else [],
                "interfaces": members,
                "external_ids": _strings(row.get("external_ids")),
            })
            for name in [port["name"]] + [member["name"] for member in members]:
                owners[name] = bridge["name"]
        bridge_ports.sort(key=lambda item: item["name"])
        flows_rel = "%s/ovs-ofctl_dump-flows_%s" % (_OVS, bridge["name"])
        flows = report.read(flows_rel) if report.exists(flows_rel) else None
        facts_bridges.append({
            "name": bridge["name"],
            "datapath_type": bridge["datapath_type"] or "system",
            "fail_mode": bridge["fail_mode"] if isinstance(bridge["fail_mode"], str) else None,
            "external_ids": {},
            "ports": bridge_ports,
            # The flows as text, one line each (no rule reads them yet; kept for the operator and the fleet file).
            "flows": [line.strip() for line in flows.splitlines() if "actions=" in line][:5000] if flows else None,
        })
    return {"schema": OVS_SCHEMA, "host": host, "available": True, "reason": None, "ovs_version": version,
            "bridges": facts_bridges, "owners": owners, "absent": [], "source": SOURCE}, rel


def _bond_active(report, port):
    text = report.read("%s/ovs-appctl_bond.show_%s" % (_OVS, port)) if report.exists(
        "%s/ovs-appctl_bond.show_%s" % (_OVS, port)) else None
    found = re.search(r"active (?:member|slave) mac: \S+?\((\S+)\)", text or "")
    return found.group(1) if found else None


def _one(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _strings(value):
    return dict((str(key), str(item)) for key, item in value.items()) if isinstance(value, dict) else {}


def _interface(shown, row):
    statistics = row.get("statistics") if isinstance(row.get("statistics"), dict) else {}
    ofport = _one(row.get("ofport"))
    link_state = _one(row.get("link_state"))
    mac = _one(row.get("mac_in_use"))
    error = shown.get("error") if shown.get("error") is not None else _one(row.get("error"))
    return {
        "name": shown["name"],
        "type": shown.get("type") or _one(row.get("type")) or "system",
        "ofport": ofport if isinstance(ofport, int) else None,
        "mac_in_use": mac.lower() if isinstance(mac, str) and len(mac) == 17 else None,
        "link_state": link_state if link_state in ("up", "down") else None,
        "admin_state": _one(row.get("admin_state")),
        "mtu": _one(row.get("mtu")) if isinstance(_one(row.get("mtu")), int) else None,
        "error": str(error) if error else None,
        "external_ids": _strings(row.get("external_ids")),
        "options": _strings(shown.get("options") or row.get("options")),
        "statistics": dict((key, statistics[key]) for key in _STATISTICS if isinstance(statistics.get(key), int)),
    }


def _unavailable(host, reason):
    return {"schema": OVS_SCHEMA, "host": host, "available": False, "reason": reason, "ovs_version": None,
            "bridges": [], "owners": {}, "absent": [], "source": SOURCE}


def _platform_files(report):
    found = {}
    for base in _PLATFORM_DIRS:
        top = report.path(base)
        if not os.path.isdir(top):
            continue
        for folder, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                rel = os.path.relpath(os.path.join(folder, name), report.root).replace(os.sep, "/")
                if len(found) >= 200:
                    return found
                text = report.read(rel, cap=_PLATFORM_CAP)
                if text is not None:
                    found[rel] = text
    return found


def read_report(root, name=None):
    """host/1 facts of the unpacked report at ``root`` (marked ``source: sos``), with ``offline``: {report, version,
    layout, hostname_file, problems, not_checked}. Raises ReportError when the report gives no host facts."""
    started = time.monotonic()
    report = _Report(root, name or os.path.basename(os.path.normpath(root)))
    if not is_report(report.root):
        raise ReportError("report %s: not a sos report (no sos_commands directory)" % report.name)
    version, major = _version(report)
    problems = []
    if version is None:
        problems.append("version.txt: no sos version found; read as sos 4")
    elif major not in KNOWN_MAJOR:
        problems.append("version.txt: unknown sos version %s; read as the closest known layout (sos 4)" % version)
    host, host_file = _hostname(report)
    if host is None:
        raise ReportError("report %s: sos_commands/host/hostname: no hostname in the report" % report.name)
    if not os.path.isdir(report.path(_NET)):
        raise ReportError("report %s: %s: no networking data (was sos run with the networking plugin?)" % (report.name, _NET))
    layout = "namespaces" if os.path.isdir(report.path(_NET + "/namespaces")) else "flat"
    errors, gaps = [], []
    root_facts = _read_namespace(report, host, layout, None, True, errors, gaps)
    if "links" not in root_facts:
        why = "; ".join("%s: %s" % item for item in report.problems) or "%s/ip_-d_address: missing" % _NET
        raise ReportError("report %s: no link table of the host's own namespace (%s)" % (report.name, why))
    names, nsids = _namespace_names(report, layout)
    spaces = [_Namespace(None, root_facts)]
    for ns in names:
        spaces.append(_Namespace(ns, _read_namespace(report, host, layout, ns, False, errors, gaps)))
    # Sections the host's own namespace gave are the read's sections; a namespace whose text lacks one gets an
    # empty list (the host's other namespaces still count) and the gap is said as "not checked (offline)".
    sections = [section for section in ("links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls")
                if section in root_facts]
    for space in spaces[1:]:
        for section in sections:
            if section == "sysctls" or section in space.facts:
                continue
            if section == "links" or any(error["namespace"] == space.name and error["section"] == section for error in errors):
                continue   # said in errors: the gap is the live reader's (a section not read in that namespace)
            space.facts[section] = []
            gaps.append((section, space.name, "sos saves no %s for namespaces in the %s layout (version %s)" % (
                section, layout, version or "unknown")))
        space.links = space.facts.get("links") or []
        space.by_name = dict((link["name"], link) for link in space.links)
        space.by_index = dict((link["ifindex"], link) for link in space.links)
    _pair(host, spaces, nsids, errors, gaps)
    ovs, ovs_file = _ovs(report, host)
    not_checked = _not_checked(gaps, sections, version, layout, ovs)
    problems.extend("%s: %s" % (file, message) for file, message in report.problems)
    facts = {
        "schema": HOST_SCHEMA,
        "host": host,
        "source": SOURCE,
        "sections": sections,
        "namespaces": [space.facts for space in spaces],
        "errors": errors,
        "ovs": ovs,
        "reader": {"seconds": round(time.monotonic() - started, 4), "namespaces": len(spaces), "entered": 0},
        "offline": {"report": report.name, "version": version, "layout": layout, "hostname_file": host_file,
                    "ovs_file": ovs_file, "files_read": report.read_count,
                    "problems": ["report %s: %s" % (report.name, text) for text in problems],
                    "not_checked": not_checked},
    }
    platform = _platform_files(report)
    if platform:
        facts["platform_files"] = platform
    return facts


# What text never gives, whatever the version: said once per host.
_ALWAYS = (
    ("netns ids", "namespace inodes and nsid tables are not in the text: namespace ids are stand-ins, peers are "
                  "paired by name and ifindex"),
    ("probes", "a sos report holds no probe results: traffic was not sent"),
)


def _not_checked(gaps, sections, version, layout, ovs):
    """[{section, namespaces, reason}]: what this report cannot show, grouped by section and reason."""
    grouped, order = {}, []
    for section, namespace, reason in gaps:
        key = (section, reason if section not in sections else re.sub(r" \(version .*\)$", "", reason))
        if key not in grouped:
            grouped[key] = []
            order.append(key)
        if namespace not in grouped[key]:
            grouped[key].append(namespace)
    items = [{"section": section, "namespaces": grouped[(section, reason)], "reason": reason}
             for section, reason in order]
    # A section the host's own namespace lacks is not in ``sections``: the engine says so for every rule that needs it.
    for section, reason in _ALWAYS:
        items.append({"section": section, "namespaces": [], "reason": reason})
    if ovs.get("available"):
        items.append({"section": "counters", "namespaces": [],
                      "reason": "interface counters are one reading: counters that grow need two live reads"})
    return items
