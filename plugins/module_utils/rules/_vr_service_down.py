# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""vr_service_down: a CloudStack virtual router that does not serve its guests.

What a VR serves on its guest address (CloudStack's systemvm/debian sources): the password server
``passwd_server_ip.py`` on tcp 8080 (a guest sends ``DomU_Request: send_my_password``), apache2 with the
user-data and meta-data on tcp 80, and dnsmasq, DHCP on udp 67 with a static lease for every VM in
``/etc/dhcphosts.txt`` (``mac,ip,name,infinite``) and DNS on udp and tcp 53. The VR checks itself too:
``/root/health_checks_data.json`` holds what the management server pushed (the VMs it should serve),
``/root/basic_monitor_results.json`` and ``/root/advance_monitor_results.json`` the results of
``monitorServices.py`` (``{check: {success: "true"|"false", message, lastUpdate}}``).

A VR is a host whose role (model._platform) is virtual_router, or that is named ``r-<id>-VM``, is in a
virtual router group, or runs passwd_server_ip. Its guest address is the one the password server was started
for (its first argument), else eth0's (the guest NIC of an isolated network's VR). Four findings, one cause each:
services not listening; dhcphosts lacking a VM that the management server's list or the fleet shows on the
guest network; failing health checks; and, where a probe ran to one of the VR's services (the question
``from=<guest> to=<guest address> tcp/8080``, planned by the probe role like any other), no answer.

On a redundant pair (keepalived runs) only the router holding the guest gateway (the VIP keepalived moves) is
judged for the password server and dnsmasq: CsRedundant.set_backup() stops both on the BACKUP, so there their
absence is a note.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._cloudstack import roles_of
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._host_files import file_covered, file_row
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["DHCP_HOSTS", "HEALTH_FILES", "RULE", "evaluate", "guest_addresses", "is_virtual_router", "parse_dhcphosts",
           "probe_targets"]

FAMILY = "virtual_router"
DHCP_HOSTS = "/etc/dhcphosts.txt"
HEALTH_DATA = "/root/health_checks_data.json"
HEALTH_FILES = ("/root/basic_monitor_results.json", "/root/advance_monitor_results.json")
KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
# What CsRedundant.set_backup() stops on the BACKUP of a redundant pair: the password server and dnsmasq.
_BACKUP_STOPPED = (8080, 67, 53)
_GUEST_NAME = re.compile(r"^i-\d+-\d+-VM$")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_WILDCARDS = ("0.0.0.0", "::")
# Health checks whose failure is resource pressure or a version, not a service the guests lose.
_RESOURCE_CHECKS = ("cpu_usage_check", "memory_usage_check", "disk_space_check", "router_version_check")
# (label, protocol, port, what the guests lose, the unit to restart): what a VR serves on its guest address.
SERVICES = (
    ("password server", "tcp", 8080, "password reset (a guest's cloud-set-guest-password asks it)", "cloud-password-server@{ip}"),
    ("user-data and meta-data (apache2)", "tcp", 80, "user-data, meta-data and SSH keys", "apache2"),
    ("DHCP (dnsmasq)", "udp", 67, "their addresses (DHCP leases)", "dnsmasq"),
    ("DNS (dnsmasq)", "udp", 53, "name resolution", "dnsmasq"),
    ("DNS over TCP (dnsmasq)", "tcp", 53, "name resolution of large answers", "dnsmasq"),
)


def _note(host, reason):
    return {"check": FAMILY, "host": host, "reason": reason, "kind": "not_collected"}


def _program(row):
    args = row.get("cmdline") if isinstance(row.get("cmdline"), list) else []
    return " ".join(str(arg) for arg in args[:8]) or str(row.get("comm") or "")


def _processes(state, needle):
    return [row for row in state.processes or () if isinstance(row, dict) and needle in _program(row)]


def is_virtual_router(state):
    """Whether the host is a CloudStack virtual router (role, name, group, or its password server)."""
    if getattr(state, "role", None) == "virtual_router" or "virtual_routers" in roles_of(state):
        return True
    if _processes(state, "passwd_server_ip") or _processes(state, DHCP_HOSTS):
        return True
    # The router's own DHCP hosts file: only CloudStack's systemvm writes /etc/dhcphosts.txt.
    return any(isinstance(row, dict) and row.get("path") == DHCP_HOSTS for row in (state.files or {}).get("read") or ())


def _global_v4(namespace, device=None):
    found = []
    for row in (namespace or {}).get("addresses") or ():
        if not isinstance(row, dict) or row.get("scope") in ("host", "link") or (device and row.get("dev") != device):
            continue
        try:
            address = ipaddress.ip_address(row.get("address"))
        except (TypeError, ValueError):
            continue
        if address.version == 4 and not address.is_loopback and not address.is_link_local:
            found.append((str(address), row.get("prefixlen"), row.get("dev")))
    return found


def guest_addresses(state):
    """[(address, prefixlen, device, how)] the VR serves its guests on: the password server's argument, else eth0's."""
    namespace = state.root_namespace()
    held = dict((address, (prefix, dev)) for address, prefix, dev in _global_v4(namespace))
    found = []
    for row in _processes(state, "passwd_server_ip"):
        args = [str(arg) for arg in row.get("cmdline") or ()]
        index = next((i for i, arg in enumerate(args) if arg.endswith("passwd_server_ip.py")), None)
        if index is None or index + 1 >= len(args):
            continue
        first = args[index + 1].split(",")[0]
        if first in held and first not in [item[0] for item in found]:
            found.append((first, held[first][0], held[first][1], "the address passwd_server_ip.py (PID %s) was started for"
                          % row.get("pid")))
    if found:
        return found
    return [(address, prefix, dev, "eth0's address (the guest NIC)") for address, prefix, dev in _global_v4(namespace, "eth0")]


def _listening(namespace, protocol, port, address):
    """The listener rows for protocol/port that serve address (bound to it or to a wildcard)."""
    return [row for row in (namespace or {}).get("sockets") or ()
            if isinstance(row, dict) and row.get("protocol") == protocol and row.get("port") == port
            and row.get("address") in (address,) + _WILDCARDS]


def _dns_off(state):
    """dnsmasq started with DNS off (--port=0 / -p 0): then 53 is not owed."""
    for row in _processes(state, "dnsmasq"):
        args = [str(arg) for arg in row.get("cmdline") or ()]
        for index, arg in enumerate(args):
            if arg in ("--port=0", "-p0") or (arg in ("-p", "--port") and args[index + 1:index + 2] == ["0"]):
                return True
    return False


def _services_down(state, guests, backup=None, notes=None):
    namespace = state.root_namespace()
    missing, items = [], []
    dns_off = _dns_off(state)
    for address, _prefix, dev, how in guests:
        for label, protocol, port, loses, unit in SERVICES:
            if port == 53 and dns_off:
                continue
            # dnsmasq's DHCP socket is bound to the wildcard: any udp 67 listener of the namespace serves.
            rows = [row for row in (namespace or {}).get("sockets") or () if isinstance(row, dict)
                    and row.get("protocol") == "udp" and row.get("port") == 67] if port == 67 \
                else _listening(namespace, protocol, port, address)
            if rows:
                continue
            if backup and port in _BACKUP_STOPPED:
                # The BACKUP of a redundant pair runs neither the password server nor dnsmasq, by design.
                if notes is not None and backup != "?":   # "?": the caller said why once
                    notes.append({"check": FAMILY, "host": state.name, "kind": "absent",
                                  "reason": "%s %s:%d (%s) not listening, as on the BACKUP of a redundant router pair (%s)"
                                            % (protocol, address, port, label, backup)})
                continue
            missing.append((label, protocol, port, loses, unit.format(ip=address), address))
            elsewhere = sorted(set(str(row.get("address")) for row in (namespace or {}).get("sockets") or ()
                                   if isinstance(row, dict) and row.get("protocol") == protocol and row.get("port") == port))
            # Bound to another address (a redundant router's other IP, 127.0.0.1): listening, but not for the guests.
            bound = "; %s/%d listens on %s only" % (protocol, port, ", ".join(elsewhere)) if elsewhere else ""
            items.append(evidence(state.name, "nothing listens on %s %s:%d (%s): no %s for the guests (guest address %s, %s)%s"
                                  % (protocol, address, port, label, loses, address, how, bound), None, dev))
    return missing, items


def _services_finding(state, guests, backup=None, notes=None):
    missing, items = _services_down(state, guests, backup, notes)
    if not missing:
        return None, set()
    others = sorted(set("%s/%d" % (row.get("protocol"), row.get("port")) for row in (state.root_namespace() or {}).get("sockets") or ()
                        if isinstance(row, dict) and row.get("address") in tuple(g[0] for g in guests) + _WILDCARDS))
    if others:
        items.append(evidence(state.name, "listening on the guest address or all addresses: %s" % ", ".join(others)))
    labels = []
    for label, _p, _port, _l, _u, _a in missing:
        if label not in labels:
            labels.append(label)
    losses = []
    for row in missing:
        if row[3] not in losses:
            losses.append(row[3])
    summary = ("Virtual router %s does not serve its guests: %s %s not listening on %s, so the guests lose %s." % (
        state.name, ", ".join(labels), "is" if len(labels) == 1 else "are", ", ".join(sorted(set(row[5] for row in missing))),
        "; ".join(losses)))
    remedy, units = [], []
    for label, protocol, port, _loses, unit, address in missing:
        if unit not in units:
            units.append(unit)
            remedy.append(command(None, "systemctl", "restart", unit))
        remedy.append(command(None, "ss", "-%sln" % ("t" if protocol == "tcp" else "u"), "sport = :%d" % port))
    if any(row[2] == 8080 for row in missing):
        address = next(row[5] for row in missing if row[2] == 8080)
        remedy.append(comment("then from a guest:"))
        remedy.append(command(None, "curl", "--header", "DomU_Request: send_my_password", "http://%s:8080/" % address))
    return (finding("vr_service_down", "critical", summary, items, remedy=remedy, check=FAMILY, remedy_host=state.name),
            set((row[5], row[1], row[2]) for row in missing))


def _file(state, path):
    """(row, why not) of a file the rule reads; (None, None) when the host has none or the file was not asked for
    (the callers that need to tell these apart ask file_covered)."""
    row, why = file_row(state, path)
    if row is None and why is not None and not file_covered(state, path) and state.files is not None:
        return None, None   # not among the patterns: not this rule's gap unless the caller says so
    return row, why


def parse_dhcphosts(text):
    """[(mac, ip, name, line number)] of a dnsmasq hosts file as CloudStack writes it: mac,ip,name,infinite or
    mac,set:<tag>,ip,name,infinite (CsDhcp.py); lines that name no MAC are left out."""
    entries = []
    for number, line in enumerate(str(text).splitlines(), 1):
        fields = [field.strip() for field in line.split(",")]
        if not fields or not _MAC.match(fields[0]):
            continue
        ip, name = None, None
        for index, field in enumerate(fields[1:], 1):
            try:
                ipaddress.ip_address(field)
            except ValueError:
                continue
            ip = field
            name = fields[index + 1] if index + 1 < len(fields) and fields[index + 1] != "infinite" else None
            break
        entries.append((fields[0].lower(), ip, name, number))
    return entries


def _management_vms(state, notes):
    """[(mac, ip, name, source)] the management server's health check data lists for this VR (dhcp not off)."""
    row, why = _file(state, HEALTH_DATA)
    if row is None:
        if why:
            notes.append(_note(state.name, why))
        return []
    try:
        data = json.loads(row.get("content") or "")
        config = data.get("health_checks_config") if isinstance(data, dict) else None
        text = (config.get("virtualMachines") or "") if isinstance(config, dict) else None
    except (ValueError, AttributeError):
        text = None
    if not isinstance(text, str):
        notes.append(_note(state.name, "%s is not the health check data CloudStack writes (JSON with health_checks_config): "
                                       "its VM list not checked" % HEALTH_DATA))
        return []
    found = []
    for part in text.split(";"):
        fields = dict(item.split("=", 1) for item in (piece.strip() for piece in part.split(",")) if item.count("=") == 1)
        mac, ip = (fields.get("macAddress") or "").lower(), fields.get("ip") or ""
        if _MAC.match(mac) and ip and fields.get("dhcp") != "false":
            found.append((mac, ip, fields.get("vmName") or "?", "%s (the management server's list)" % HEALTH_DATA))
    return found


def _fleet_vms(model, state, guests):
    """[(mac, ip, name, source)]: guests of the fleet with an address on the VR's guest networks."""
    networks = []
    for address, prefix, _dev, _how in guests:
        try:
            networks.append((address, ipaddress.ip_network("%s/%s" % (address, prefix), strict=False)))
        except (TypeError, ValueError):
            continue
    found = []
    for other in model.reachable_hosts():
        if other.name == state.name or is_virtual_router(other):
            continue
        if not (other.tier == "instance" or getattr(other, "role", None) == "guest" or _GUEST_NAME.match(other.name or "")):
            continue
        for namespace in other.namespaces or ():
            macs = dict((link.get("name"), str(link.get("mac") or "").lower()) for link in namespace.get("links") or ()
                        if isinstance(link, dict))
            for address, _prefix, dev in _global_v4(namespace):
                if any(address != own and ipaddress.ip_address(address) in network for own, network in networks) \
                        and _MAC.match(macs.get(dev) or ""):
                    found.append((macs[dev], address, other.name, "host %s, device %s" % (other.name, dev)))
    return found


def _dhcphosts_finding(model, state, guests, notes):
    expected = _management_vms(state, notes) + _fleet_vms(model, state, guests)
    if not expected:
        return None
    row, why = _file(state, DHCP_HOSTS)
    if row is None:
        if why:
            notes.append(_note(state.name, why))
        elif not file_covered(state, DHCP_HOSTS):
            notes.append(_note(state.name, "%s was not among the files read: the VMs' static leases not checked" % DHCP_HOSTS))
        else:
            return finding("vr_service_down", "critical",
                           "Virtual router %s has no %s: dnsmasq hands no static lease to %d VM(s) (%s)." % (
                               state.name, DHCP_HOSTS, len(expected), ", ".join(sorted(set(vm[2] for vm in expected)))),
                           [evidence(state.name, "%s is absent (the files read asked for it)" % DHCP_HOSTS)],
                           remedy=[comment("the management server rewrites it when the router's configuration is pushed again"),
                                   comment("CloudStack: restartNetwork (cleanup=false) for the router's network")],
                           check=FAMILY, remedy_host=state.name)
        return None
    if row.get("truncated"):
        notes.append(_note(state.name, "%s is larger than the read cap: not checked" % DHCP_HOSTS))
        return None
    entries = parse_dhcphosts(row.get("content") or "")
    by_mac = dict((mac, (ip, name, number)) for mac, ip, name, number in entries)
    items, missing, sources = [], [], {}
    for mac, ip, name, source in expected:
        sources.setdefault((mac, ip, name), []).append(source)
    for (mac, ip, name), where in sources.items():
        source = "; ".join(where)
        line = by_mac.get(mac)
        if line is not None and line[0] == ip:
            continue
        missing.append(name)
        if line is None:
            fact = "%s has no line for %s (%s, %s), seen in %s" % (DHCP_HOSTS, name, mac, ip, source)
        else:
            fact = "%s line %d gives %s address %s, not %s (seen in %s)" % (DHCP_HOSTS, line[2], mac, line[0], ip, source)
        items.append(evidence(state.name, fact))
    if not items:
        return None
    items.append(evidence(state.name, "%s holds %d entr%s" % (DHCP_HOSTS, len(entries), "y" if len(entries) == 1 else "ies")))
    one = len(missing) == 1
    summary = ("Virtual router %s's %s lacks %s: dnsmasq gives %s no lease (CloudStack serves static leases only), so "
               "%s without an address." % (state.name, DHCP_HOSTS, ", ".join(missing), "it" if one else "them",
                                           "it boots" if one else "they boot"))
    remedy = [command(None, "cat", DHCP_HOSTS),
              comment("the management server rewrites the file when it pushes the router's configuration again:"),
              comment("CloudStack: restartNetwork for the VM's network, or stop and start the VM")]
    return finding("vr_service_down", "critical", summary, items, remedy=remedy, check=FAMILY, remedy_host=state.name)


def _health_finding(state, notes):
    items, severity, failing, paths = [], "warning", [], []
    for path in HEALTH_FILES:
        row, why = _file(state, path)
        if row is None:
            if why:
                notes.append(_note(state.name, why))
            continue
        try:
            results = json.loads(row.get("content") or "")
        except ValueError as exc:
            notes.append(_note(state.name, "%s cannot be parsed as JSON (%s): the VR's health checks not read" % (path, exc)))
            continue
        if not isinstance(results, dict):
            notes.append(_note(state.name, "%s is not a JSON object of checks: the VR's health checks not read" % path))
            continue
        for name in sorted(results):
            result = results[name]
            if name == "lastRun":
                continue
            if not isinstance(result, dict):
                notes.append(_note(state.name, "%s: check %s is not a result object {success, message}: not read"
                                               % (path, json.dumps(name)[:80])))
                continue
            if str(result.get("success")).lower() != "false":
                continue
            message = " ".join(str(result.get("message") or "").split())[:300]
            failing.append("%s (%s)" % (name, message[:120] or "no message"))
            if path not in paths:
                paths.append(path)
            if not name.startswith(_RESOURCE_CHECKS):
                severity = "critical"
            items.append(evidence(state.name, "%s: %s failed: %s" % (path, name, message or "(no message)")))
    if not items:
        return None
    summary = "Virtual router %s fails its own health check%s: %s." % (state.name, "s" if len(failing) > 1 else "", "; ".join(failing))
    remedy = [command(None, "cat", *paths),
              comment("run them again on the router: python3 /root/monitorServices.py, or the API getRouterHealthCheckResults")]
    return finding("vr_service_down", severity, summary, items, remedy=remedy, check=FAMILY, remedy_host=state.name)


def _probe_findings(model, state, guests, notes, down=None, known=()):
    """Findings of probes to the router's services that were refused or not answered; a probe to a service
    already found not listening adds its evidence to that finding (``down``, for ``known`` services) instead."""
    traffic = getattr(model, "traffic", None) or {}
    addresses = set(item[0] for item in guests)
    found = []
    for item in traffic.get("paths") or ():
        if not isinstance(item, dict) or item.get("destination") not in addresses:
            continue
        service = next((s for s in SERVICES if s[1] == item.get("protocol") and s[2] == item.get("port")), None)
        if service is None:
            continue
        result = item.get("result")
        where = "%s/%s to %s from %s" % (item.get("protocol"), item.get("port"), item.get("destination"), item.get("source"))
        if result == "not_sent":
            notes.append({"check": FAMILY, "host": state.name, "kind": "not_evaluated",
                          "reason": "probe %s not sent: %s" % (where, item.get("why") or "no result")})
        elif result in ("refused", "failed"):
            answer = ("refused (%s from %s)" % (item.get("answer"), item.get("answered_by"))) if result == "refused" \
                else "unanswered within the probe's timeout"
            fact = evidence(item.get("source"), "probe %s: %d sent, %d answered, %s" % (
                where, item.get("sent") or 0, item.get("answered") or 0, answer), item.get("namespace"))
            if down is not None and (item.get("destination"), item.get("protocol"), item.get("port")) in known:
                down["evidence"].append(fact)
                continue
            summary = "Virtual router %s's %s did not answer a bounded probe: %s was %s." % (state.name, service[0], where, answer)
            found.append(finding("vr_service_down", "critical", summary, [fact], hosts=[state.name],
                                 remedy=[command(None, "ss", "-tulnp")], check=FAMILY, remedy_host=state.name))
    return found


def _networks(guests):
    found = []
    for address, prefix, _dev, _how in guests:
        try:
            found.append(ipaddress.ip_network("%s/%s" % (address, prefix), strict=False))
        except (TypeError, ValueError):
            continue
    return found


def _in(address, networks):
    try:
        address = ipaddress.ip_address(str(address).split("/", maxsplit=1)[0])
    except ValueError:
        return False
    return any(address.version == network.version and address in network for network in networks)


def _gateways(model, state, networks):
    """[(address, where seen)] of the guest gateway (the VIP keepalived moves between a redundant pair) on the
    router's guest networks: keepalived.conf's virtual_ipaddress, a peer router's password server argument
    (CsPasswdSvc is started for "gateway,own address"), or a guest's default route."""
    found = []
    row, _why = file_row(state, KEEPALIVED_CONF)
    if row is not None:
        block = False
        for number, line in enumerate(row["content"].splitlines(), 1):
            words = line.split()
            if words[:1] == ["virtual_ipaddress"]:
                block = True
            elif block and words[:1] == ["}"]:
                block = False
            elif block and words and _in(words[0], networks):
                found.append((words[0].split("/")[0], "%s line %d" % (KEEPALIVED_CONF, number)))
    for other in model.reachable_hosts():
        if other.name == state.name:
            continue
        for proc in _processes(other, "passwd_server_ip"):
            args = [str(arg) for arg in proc.get("cmdline") or ()]
            index = next((i for i, arg in enumerate(args) if arg.endswith("passwd_server_ip.py")), None)
            if index is not None and index + 1 < len(args) and _in(args[index + 1].split(",")[0], networks):
                found.append((args[index + 1].split(",")[0], "the password server of %s (PID %s)" % (other.name, proc.get("pid"))))
        root = other.root_namespace() or {}
        for route in root.get("routes") or ():
            if isinstance(route, dict) and route.get("dst") in ("0.0.0.0/0", "default") and _in(route.get("gateway"), networks):
                found.append((str(route["gateway"]), "the default route of %s" % other.name))
    return found


def _backup_reason(model, state, guests):
    """Why the router is the BACKUP of a redundant pair (keepalived runs, the guest gateway is elsewhere), None
    when it is no redundant router or holds the gateway (then it is judged), or "?" when it cannot be told."""
    keepalived = [row for row in state.processes or () if isinstance(row, dict)
                  and (row.get("comm") == "keepalived" or "keepalived" in _program(row).split(" ", maxsplit=1)[0])]
    if not keepalived:
        return None
    held = set(address for address, _prefix, _dev in _global_v4(state.root_namespace()))
    gateways = _gateways(model, state, _networks(guests))
    if any(address in held for address, _where in gateways):
        return None
    if not gateways:
        return "?"
    address, where = gateways[0]
    return "keepalived runs (PID %s) and the router does not hold the guest gateway %s (%s)" % (
        keepalived[0].get("pid"), address, where)


def _guests_on(model, network):
    """Guests (instance-tier hosts) holding an address of ``network`` in their own namespace, by name."""
    found = []
    for state in model.reachable_hosts():
        if state.tier != "instance" or state.platform != "cloudstack":
            continue
        root = state.root_namespace()
        if any(ipaddress.ip_address(address) in network for address, _prefix, _dev in _global_v4(root)):
            found.append(state.name)
    return sorted(found)


def probe_targets(model):
    """[(vr host, guest address, port, guest host)] a probe plan may take: from a guest of the router's guest
    network to its password server (tcp 8080), then to its user-data (tcp 80); the password server first for
    every router. Only addresses the router's own facts hold; no guest on the network, no probe."""
    first, then = [], []
    for state in model.reachable_hosts():
        if state.platform != "cloudstack" or not is_virtual_router(state):
            continue
        try:
            guests = guest_addresses(state)
        except (TypeError, ValueError, AttributeError):
            continue   # the rule says why; nothing to probe
        for address, prefix, _dev, _how in guests:
            sources = _guests_on(model, ipaddress.ip_network("%s/%s" % (address, prefix), strict=False))
            if sources:
                first.append((state.name, address, 8080, sources[0]))
                then.append((state.name, address, 80, sources[0]))
    return first + then


def evaluate(model):
    """Every virtual router: its services listen on its guest address, dhcphosts holds every VM, its health
    checks pass, and probes to it (where one ran) were answered."""
    findings, notes = [], []
    for state in model.with_sections(("addresses", "sockets")):
        if not is_virtual_router(state):
            continue
        try:
            guests = guest_addresses(state)
        except (TypeError, ValueError, AttributeError) as exc:
            notes.append(_note(state.name, "the guest address cannot be read from the facts (%s)" % exc))
            continue
        if not guests:
            notes.append(_note(state.name, "no guest address: neither a passwd_server_ip.py argument nor an IPv4 address "
                                           "on eth0, so the VR's services were not checked"))
            continue
        backup = _backup_reason(model, state, guests)
        if backup == "?":
            notes.append({"check": FAMILY, "host": state.name, "kind": "not_evaluated",
                          "reason": "keepalived runs (a redundant router) but no fact shows the guest gateway address, so "
                                    "the primary cannot be told from the backup: the password server and dnsmasq not judged"})
        down, known = _services_finding(state, guests, backup, notes)
        found = [down]
        if state.files is None:
            notes.append(_note(state.name, "no files read: %s and the VR's health checks not checked" % DHCP_HOSTS))
        else:
            found.append(_dhcphosts_finding(model, state, guests, notes))
            found.append(_health_finding(state, notes))
        findings.extend(item for item in found if item is not None)
        findings.extend(_probe_findings(model, state, guests, notes, down, known))
    return findings, notes


def _probes(model, rounds):
    """probe_targets as a plan takes them (rules/_rule.py ``probes``): a guest asks its router's password server
    right after the port matrix, the other services after the fleet's own paths."""
    return 1, [(guest, address, port, "vr_service", "%s to virtual router %s's %s tcp/%d" % (guest, router, address, port))
               for router, address, port, guest in probe_targets(model)[:rounds]]


RULE = Rule("vr_service_down", FAMILY, needs=("addresses", "sockets"), evaluate=evaluate, platforms=("cloudstack",),
            probes=_probes)
