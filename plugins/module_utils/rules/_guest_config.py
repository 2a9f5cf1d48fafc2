# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""A guest's network configuration, read from the files the one read brought back: which NICs it names.

One parser per format, each returning ``(entries, problems)``, never raising on what a guest holds:

- ifupdown: ``/etc/network/interfaces`` and ``interfaces.d/*`` (``auto``, ``allow-*``, ``iface NAME FAMILY METHOD``);
- netplan: ``/etc/netplan/*.yaml`` (YAML, safe loader, on the controller; ``ethernets`` with ``match`` and
  ``set-name``);
- NetworkManager keyfiles: ``/etc/NetworkManager/system-connections/*`` (``[connection] interface-name``,
  ``type``, ``[ethernet] mac-address``, ``[match] interface-name``);
- RHEL network-scripts: ``/etc/sysconfig/network-scripts/ifcfg-*`` (``DEVICE=``, ``HWADDR=``, ``TYPE=``).

An entry is ``{name, names (globs), mac, set_name, virtual, address (True/False/None: whether the config gives
the NIC an address), file, line, format}``; a problem ``{file, line, reason}``. ``unmatched`` says which entries
name a NIC the kernel does not have. Plain Python; PyYAML (Ansible's own dependency) only for netplan.
"""

from __future__ import annotations

import fnmatch
import re
import shlex

try:
    import yaml
    _YAML_ERROR = None
except ImportError as exc:  # pragma: no cover - Ansible ships PyYAML
    yaml = None
    _YAML_ERROR = str(exc)

__all__ = ["CONFIG_PATTERNS", "claims", "config_files", "guest_entries", "parse_ifcfg", "parse_ifupdown", "parse_netplan",
           "parse_nmconnection", "unmatched"]

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_GLOB = re.compile(r"[*?\[]")
# ifupdown stanza keywords; every other line belongs to the iface stanza before it.
_IFUPDOWN_NAMES = ("auto", "allow-auto", "allow-hotplug")
_IFUPDOWN_OTHER = ("mapping", "source", "source-directory", "no-auto-down", "no-scripts", "rename", "template")
# iface options that make the stanza a device ifupdown creates (a bridge, a bond, a VLAN), not a NIC.
_VIRTUAL_OPTIONS = ("bridge_ports", "bridge-ports", "bond-slaves", "bond_slaves", "bond-mode", "bond_mode",
                    "vlan-raw-device", "vlan_raw_device", "ovs_type", "ovs-type", "vxlan-id", "tunnel-mode")
# network-scripts skips these backup names (ifup's own list).
_IFCFG_SKIPPED = (".bak", ".orig", ".rpmnew", ".rpmorig", ".rpmsave", "~")
_NM_ETHERNET = ("ethernet", "802-3-ethernet")
_MAX_ENTRIES = 256


def _problem(path, line, reason):
    return {"file": path, "line": line, "reason": reason}


def _entry(fmt, path, line, name=None, names=(), mac=None, set_name=None, virtual=False, address=None):
    return {"format": fmt, "file": path, "line": line, "name": name, "names": list(names), "mac": mac,
            "set_name": set_name, "virtual": virtual, "address": address}


def _base(name):
    """The NIC a name stands on: eth0 for the alias eth0:1 and the VLAN eth0.100."""
    return re.split(r"[:.]", name, 1)[0] or name


def _mac(value):
    text = str(value or "").strip().lower().replace("-", ":")
    return text if _MAC.match(text) else None


def _lines(text):
    """(number, line) with ifupdown's continuation lines (a trailing backslash) joined."""
    pending, start = "", None
    for number, line in enumerate(text.splitlines(), 1):
        if start is None:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending, start = "", None
    if pending:
        yield start, pending


def parse_ifupdown(text, path):
    """ifupdown's interfaces(5): the names of ``auto``/``allow-*`` and ``iface`` stanzas."""
    entries, problems, stanzas = [], [], {}
    current = None
    for number, line in _lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        words = stripped.split()
        keyword = words[0]
        if keyword in _IFUPDOWN_NAMES or keyword.startswith("allow-"):
            current = None
            if len(words) < 2:
                problems.append(_problem(path, number, "%s names no interface" % keyword))
            for name in words[1:]:
                stanzas.setdefault(name, {"line": number, "options": set(), "method": None, "iface": False})
            continue
        if keyword == "iface":
            if len(words) < 2:
                problems.append(_problem(path, number, "iface names no interface"))
                current = None
                continue
            if len(words) < 4:
                # ifupdown refuses the file; ifupdown2 takes a bare "iface NAME": read it, and say so.
                problems.append(_problem(path, number, "iface %s: expected 'iface NAME FAMILY METHOD'" % words[1]))
            current = stanzas.setdefault(words[1], {"line": number, "options": set(), "method": None, "iface": False})
            current["iface"] = True
            current["line"] = number
            if len(words) >= 4:
                current["method"] = current["method"] if current["method"] in ("dhcp", "static") else words[3]
            continue
        if keyword in _IFUPDOWN_OTHER:
            current = None
            continue
        if current is None:
            problems.append(_problem(path, number, "option %r outside any iface stanza" % keyword))
            continue
        current["options"].add(keyword)
    for name, stanza in stanzas.items():
        if name == "lo" or name.startswith("lo:"):
            continue
        virtual = bool(stanza["options"].intersection(_VIRTUAL_OPTIONS))
        method = stanza["method"]
        address = None if method is None else method in ("dhcp", "static", "auto", "dhcp6", "v4tunnel")
        if name.startswith("/") or _GLOB.search(name):
            # ifupdown's patterns (allow-hotplug /en*): any NIC that matches
            entries.append(_entry("ifupdown", path, stanza["line"], names=[name.lstrip("/").split("/", 1)[0]],
                                  virtual=virtual, address=address))
            continue
        if any(entry["name"] == _base(name) for entry in entries):
            continue   # an alias (eth0:1) or VLAN (eth0.100) of a NIC already named
        entries.append(_entry("ifupdown", path, stanza["line"], name=_base(name), virtual=virtual, address=address))
    return entries, problems


def _node_value(loader, node):
    try:
        return loader.construct_object(node, deep=True)
    except Exception:  # pylint: disable=broad-except  # a value YAML cannot build is a problem, said by the caller
        return None


def _mapping_items(node):
    if yaml is None or not isinstance(node, yaml.MappingNode):
        return []
    return [(key, value) for key, value in node.value if isinstance(key, yaml.ScalarNode)]


def parse_netplan(text, path):
    """netplan(5): ``network.ethernets`` ids, their ``match`` (name glob, macaddress) and ``set-name``."""
    if yaml is None:
        return [], [_problem(path, None, "netplan not read: PyYAML is not available (%s)" % _YAML_ERROR)]
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            return [], [_problem(path, mark.line + 1 if mark is not None else None,
                                 "not YAML: %s" % (getattr(exc, "problem", None) or exc))]
        except RecursionError:
            return [], [_problem(path, None, "not read: YAML nested too deep")]
    finally:
        loader.dispose()
    if root is None:
        return [], []
    network = dict((key.value, value) for key, value in _mapping_items(root)).get("network")
    if network is None:
        return [], [_problem(path, root.start_mark.line + 1, "no 'network' mapping")]
    if not isinstance(network, yaml.MappingNode):
        return [], [_problem(path, network.start_mark.line + 1, "'network' is not a mapping")]
    entries, problems = [], []
    for key, value in _mapping_items(network):
        if key.value not in ("ethernets", "bridges", "bonds", "vlans"):
            continue
        if not isinstance(value, yaml.MappingNode):
            if not (isinstance(value, yaml.ScalarNode) and value.value in ("", "~", "null")):
                problems.append(_problem(path, value.start_mark.line + 1, "'%s' is not a mapping" % key.value))
            continue
        for ident, body in _mapping_items(value):
            line = ident.start_mark.line + 1
            if len(entries) >= _MAX_ENTRIES:
                problems.append(_problem(path, line, "more than %d interfaces: the rest not read" % _MAX_ENTRIES))
                return entries, problems
            settings = dict((k.value, v) for k, v in _mapping_items(body))
            address = bool(settings.get("addresses") is not None or any(
                str(_node_value(loader, settings[k])).lower() in ("true", "yes", "on")
                for k in ("dhcp4", "dhcp6") if k in settings)) if isinstance(body, yaml.MappingNode) else None
            if key.value != "ethernets":
                entries.append(_entry("netplan", path, line, name=str(ident.value), virtual=True, address=address))
                continue
            if body is not None and not isinstance(body, (yaml.MappingNode, yaml.ScalarNode)):
                problems.append(_problem(path, line, "ethernets.%s is not a mapping" % ident.value))
                continue
            match = settings.get("match")
            set_name = settings.get("set-name")
            set_name = str(_node_value(loader, set_name)) if isinstance(set_name, yaml.ScalarNode) else None
            if match is None:
                entries.append(_entry("netplan", path, line, name=str(ident.value), set_name=set_name, address=address))
                continue
            if not isinstance(match, yaml.MappingNode):
                problems.append(_problem(path, match.start_mark.line + 1, "ethernets.%s.match is not a mapping" % ident.value))
                continue
            rules = dict((k.value, v) for k, v in _mapping_items(match))
            glob = rules.get("name")
            glob = str(_node_value(loader, glob)) if isinstance(glob, yaml.ScalarNode) else None
            mac_node = rules.get("macaddress")
            mac = _mac(_node_value(loader, mac_node)) if isinstance(mac_node, yaml.ScalarNode) else None
            if mac_node is not None and mac is None:
                problems.append(_problem(path, mac_node.start_mark.line + 1,
                                         "ethernets.%s.match.macaddress is not a MAC address" % ident.value))
            if glob is None and mac is None:
                continue  # matched by driver only: the facts do not show drivers
            entries.append(_entry("netplan", path, line, names=[glob] if glob else [], mac=mac, set_name=set_name,
                                  address=address))
    return entries, problems


def _ini(text, path):
    """NetworkManager keyfile (GLib key file): {section: {key: (value, line)}}, problems."""
    sections, problems, current = {}, [], None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                problems.append(_problem(path, number, "section header without ']'"))
                current = None
                continue
            current = sections.setdefault(stripped[1:-1].strip(), {})
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            problems.append(_problem(path, number, "not 'key=value'"))
            continue
        if current is None:
            problems.append(_problem(path, number, "key %r before any [section]" % key.strip()))
            continue
        current[key.strip()] = (value.strip(), number)
    return sections, problems


def parse_nmconnection(text, path):
    """A NetworkManager keyfile: the NIC an ethernet profile is bound to (interface-name, mac-address)."""
    sections, problems = _ini(text, path)
    connection = sections.get("connection")
    if connection is None:
        if not problems:
            problems.append(_problem(path, None, "no [connection] section"))
        return [], problems
    kind = connection.get("type", ("", None))[0]
    name, line = connection.get("interface-name", (None, None))
    ethernet = sections.get("ethernet") or sections.get("802-3-ethernet") or {}
    mac_text, mac_line = ethernet.get("mac-address", (None, None))
    mac = _mac(mac_text)
    globs = [glob for glob in (sections.get("match") or {}).get("interface-name", ("", None))[0].split(";")
             if glob and not glob.startswith(("!", "~"))]
    first = line or mac_line or min([entry[1] for entry in connection.values()] or [1])
    ipv4 = (sections.get("ipv4") or {}).get("method", ("", None))[0]
    address = None if not ipv4 else ipv4 in ("auto", "manual")
    if kind not in _NM_ETHERNET:
        if name:
            return [_entry("networkmanager", path, first, name=name, virtual=True, address=address)], problems
        return [], problems
    if mac_text and mac is None:
        problems.append(_problem(path, mac_line, "mac-address %r is not a MAC address" % mac_text))
    if not name and mac is None and not globs:
        return [], problems  # a profile for any ethernet device: no name to check
    return [_entry("networkmanager", path, first, name=name or None, names=globs, mac=mac, address=address)], problems


def parse_ifcfg(text, path):
    """A network-scripts ifcfg file: DEVICE (else the file's suffix), HWADDR, and whether TYPE makes it virtual."""
    values, problems = {}, []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            problems.append(_problem(path, number, "not 'KEY=value'"))
            continue
        try:
            words = shlex.split(value, comments=True)
        except ValueError as exc:
            problems.append(_problem(path, number, "%s: %s" % (key, exc)))
            continue
        values[key.upper()] = (" ".join(words), number)
    suffix = path.rsplit("/", 1)[-1][len("ifcfg-"):]
    name, line = values.get("DEVICE", (suffix, 1))
    if not name or name == "lo":
        return [], problems
    kind = values.get("TYPE", ("Ethernet", None))[0].lower()
    virtual = kind in ("bridge", "bond", "vlan", "team", "ovsbridge", "ovsport", "ovsintport", "ovsbond") or \
        values.get("VLAN", ("", None))[0].lower() == "yes"
    proto = values.get("BOOTPROTO", ("", None))[0].lower()
    address = True if proto in ("dhcp", "bootp") or "IPADDR" in values or "IPADDR0" in values else (
        False if proto in ("none", "static") else None)
    mac = _mac(values.get("HWADDR", ("", None))[0])
    return [_entry("ifcfg", path, line, name=_base(name), mac=mac, virtual=virtual, address=address)], problems


# (pattern as the files section lists it, parser); fnmatch over the paths that were read.
CONFIG_PATTERNS = (
    ("/etc/network/interfaces", parse_ifupdown),
    ("/etc/network/interfaces.d/*", parse_ifupdown),
    ("/etc/netplan/*.yaml", parse_netplan),
    ("/etc/NetworkManager/system-connections/*", parse_nmconnection),
    ("/etc/sysconfig/network-scripts/ifcfg-*", parse_ifcfg),
)


def _parser(path):
    for pattern, parser in CONFIG_PATTERNS:
        if fnmatch.fnmatchcase(path, pattern) and "/" not in path[len(pattern.rsplit("/", 1)[0]) + 1:]:
            if parser is parse_ifcfg and path.endswith(_IFCFG_SKIPPED):
                return None
            return parser
    return None


def config_files(files):
    """The read files (rows of the files section) that are network configuration: [(row, parser)]."""
    found = []
    for row in (files or {}).get("read") or ():
        if isinstance(row, dict) and isinstance(row.get("path"), str) and isinstance(row.get("content"), str):
            parser = _parser(row["path"])
            if parser is not None:
                found.append((row, parser))
    return found


def guest_entries(files):
    """(entries, problems, paths) of every network configuration file a guest's files section holds."""
    entries, problems, paths = [], [], []
    for row, parser in config_files(files):
        paths.append(row["path"])
        try:
            found, said = parser(row["content"], row["path"])
        except Exception as exc:  # pylint: disable=broad-except  # a guest's file must never take the rule down
            found, said = [], [_problem(row["path"], None, "not read: %s: %s" % (type(exc).__name__, exc))]
        if row.get("truncated"):
            said.append(_problem(row["path"], None, "read only in part (size cap): what follows the cap not checked"))
        entries.extend(found)
        problems.extend(said)
    return entries, problems, paths


def claims(entry, nic):
    """Whether a config entry is about this kernel NIC ({name, mac})."""
    if entry["name"] is not None and entry["name"] == nic["name"]:
        return True
    if entry["set_name"] and entry["set_name"] == nic["name"]:
        return True
    if entry["mac"] is not None and entry["mac"] == (nic.get("mac") or "").lower():
        return True
    return any(fnmatch.fnmatchcase(nic["name"], glob) for glob in entry["names"])


def unmatched(entries, nics):
    """(missing entries, NICs no entry claims): the config names a NIC the kernel does not have, and which
    kernel NICs nothing configures. Virtual devices the config creates (bridges, bonds, VLANs) are no NIC."""
    physical = [entry for entry in entries if not entry["virtual"]]
    missing = [entry for entry in physical if not any(claims(entry, nic) for nic in nics)]
    unclaimed = [nic for nic in nics if not any(claims(entry, nic) for entry in physical)]
    return missing, unclaimed
