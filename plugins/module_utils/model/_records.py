# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Neutron's own records, optional: what ``openstack.cloud.networks_info`` and ``openstack.cloud.port_info``
return, passed by the user as ``cloudnet_neutron: {networks: [...], ports: [...]}`` (docs/openstack.md,
"Neutron's records").

Both spellings of the extension attributes are read: the API's (``provider:segmentation_id``,
``binding:host_id``, what openstacksdk before 1.0 and the ``openstack`` CLI's JSON show) and openstacksdk's
resource attributes (``provider_segmentation_id``, ``binding_host_id``, what openstack.cloud 2.x returns).
A value of the wrong shape is refused with the field and the value named; the rules then compare host state
with the records (rules/_vlan_inconsistent.py, rules/_ovs_port_misplaced.py).
"""

from __future__ import annotations

import re

__all__ = ["NeutronRecords", "RecordsError", "neutron_records", "same_host"]

VARIABLE = "cloudnet_neutron"
_SEGMENT_MAX = 16777215   # a VXLAN/Geneve VNI; a VLAN id is 1 to 4094
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RecordsError(ValueError):
    """Neutron's records as the user passed them do not have the shape openstack.cloud returns."""

    def __init__(self, field, value, why):
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super(RecordsError, self).__init__("%s: %s, got %s" % (field, why, shown))
        self.field = field
        self.value = value


def _get(row, *names):
    """(the spelling found, its value) of the first of ``names`` the row has; (names[0], None) when none."""
    for name in names:
        if name in row:
            return name, row[name]
    return names[0], None


def _text(where, value, required=False):
    if value is None or (value == "" and not required):
        if required:
            raise RecordsError(where, value, "missing; expected a non-empty string")
        return None
    if not isinstance(value, str) or not value:
        raise RecordsError(where, value, "expected a non-empty string")
    if _CONTROL.search(value):
        raise RecordsError(where, value, "expected a printable string (no control characters)")
    return value


def _segment(where, value):
    if value is None or value == "":
        return None
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 0 <= number <= _SEGMENT_MAX:
        raise RecordsError(where, value, "expected a segmentation id (an integer from 0 to %d) or null" % _SEGMENT_MAX)
    return number


def _rows(records, key):
    rows = records.get(key)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise RecordsError("%s.%s" % (VARIABLE, key), rows, "expected a list (the %s that openstack.cloud returns)" % key)
    for pos, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RecordsError("%s.%s[%d]" % (VARIABLE, key, pos), row, "expected a dict")
    return rows


def _network(pos, row):
    where = "%s.networks[%d]" % (VARIABLE, pos)
    network = {"id": _text(where + ".id", row.get("id"), required=True),
               "name": _text(where + ".name", row.get("name")) if isinstance(row.get("name"), str) else None}
    for field, names in (("segmentation_id", ("provider:segmentation_id", "provider_segmentation_id")),
                         ("network_type", ("provider:network_type", "provider_network_type")),
                         ("physical_network", ("provider:physical_network", "provider_physical_network"))):
        name, value = _get(row, *names)
        network[field] = _segment("%s.%s" % (where, name), value) if field == "segmentation_id" \
            else _text("%s.%s" % (where, name), value)
    return network


def _port(pos, row):
    where = "%s.ports[%d]" % (VARIABLE, pos)
    port = {"id": _text(where + ".id", row.get("id"), required=True)}
    mac = _text(where + ".mac_address", row.get("mac_address"))
    if mac is not None and not _MAC.match(mac):
        raise RecordsError(where + ".mac_address", mac, "expected a MAC address (aa:bb:cc:dd:ee:ff)")
    port["mac_address"] = mac.lower() if mac else None
    name, host = _get(row, "binding:host_id", "binding_host_id")
    port["host_id"] = _text("%s.%s" % (where, name), host)
    name, vif = _get(row, "binding:vif_type", "binding_vif_type")
    port["vif_type"] = _text("%s.%s" % (where, name), vif)
    port["device_owner"] = _text(where + ".device_owner", row.get("device_owner"))
    port["network_id"] = _text(where + ".network_id", row.get("network_id"))
    fixed = row.get("fixed_ips")
    if fixed is not None and not isinstance(fixed, list):
        raise RecordsError(where + ".fixed_ips", fixed, "expected a list of {subnet_id, ip_address}")
    addresses = []
    for index, item in enumerate(fixed or ()):
        if not isinstance(item, dict):
            raise RecordsError("%s.fixed_ips[%d]" % (where, index), item, "expected a dict {subnet_id, ip_address}")
        address = _text("%s.fixed_ips[%d].ip_address" % (where, index), item.get("ip_address"))
        if address:
            addresses.append(address)
    port["fixed_ips"] = addresses
    return port


class NeutronRecords(object):
    """The networks and ports of Neutron's records, by id."""

    __slots__ = ("networks", "ports")

    def __init__(self, networks, ports):
        self.networks = networks
        self.ports = ports

    def network(self, network_id):
        return self.networks.get(network_id)

    def port(self, port_id):
        return self.ports.get(port_id)


def neutron_records(records):
    """``cloudnet_neutron`` validated: NeutronRecords, or None when the user gave none (None or {})."""
    if records is None or records == {}:
        return None
    if isinstance(records, NeutronRecords):
        return records
    if not isinstance(records, dict):
        raise RecordsError(VARIABLE, records, "expected a dict with the lists networks and ports")
    unknown = sorted(str(key) for key in records if key not in ("networks", "ports"))
    if unknown:
        raise RecordsError(VARIABLE, unknown, "unknown keys; expected networks and ports")
    networks, ports = {}, {}
    for pos, row in enumerate(_rows(records, "networks")):
        network = _network(pos, row)
        if network["id"] in networks:
            raise RecordsError("%s.networks[%d].id" % (VARIABLE, pos), network["id"], "network listed twice")
        networks[network["id"]] = network
    for pos, row in enumerate(_rows(records, "ports")):
        port = _port(pos, row)
        if port["id"] in ports:
            raise RecordsError("%s.ports[%d].id" % (VARIABLE, pos), port["id"], "port listed twice")
        ports[port["id"]] = port
    return NeutronRecords(networks, ports)


def same_host(binding, names):
    """Whether Neutron's ``binding:host_id`` names one of ``names`` (the inventory name, the host's own name):
    Nova may register a host by its FQDN where the inventory uses the short name, or the other way round."""
    if not binding:
        return False
    wanted = binding.lower()
    for name in names:
        if not isinstance(name, str) or not name:
            continue
        name = name.lower()
        if name == wanted or name.split(".")[0] == wanted.split(".")[0]:
            return True
    return False
