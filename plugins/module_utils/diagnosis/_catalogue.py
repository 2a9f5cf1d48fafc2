# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The fault catalogue, in one place: finding code, tier, default severity, one-line meaning.

Codes are a public interface (diagnosis.json, scenario ``expect:``, pipelines that branch on them):
keep them stable. The docs table, the lab's ``expect:`` validation, the rule registry and the tests
all read this table.
"""

from __future__ import annotations

__all__ = ["CATALOGUE", "CODES", "CONFIDENCES", "FAMILIES", "FAMILY_OF", "SEVERITIES", "TIERS", "Code", "Family", "tier_of"]

# Orders used by the ranking rule, most urgent / most local first.
SEVERITIES = ("critical", "warning", "info")
CONFIDENCES = ("certain", "likely", "possible")
TIERS = ("instance", "host", "network_node", "fleet", "fabric", "path")


class Code(object):
    """One catalogue entry."""

    __slots__ = ("code", "tier", "severity", "meaning")

    def __init__(self, code, tier, severity, meaning):
        self.code = code
        self.tier = tier
        self.severity = severity
        self.meaning = meaning

    @property
    def family(self):
        return FAMILY_OF[self.code]


class Family(object):
    """A check family: the codes it reports, and the hosts it applies to.

    ``platforms``/``tiers`` None: every host. A family applies to a host when both match; the verdict
    counts a family that applies but did not run as a gap (docs/diagnosis.md, "Verdicts")."""

    __slots__ = ("name", "codes", "platforms", "tiers", "meaning")

    def __init__(self, name, codes, meaning, platforms=None, tiers=None):
        self.name = name
        self.codes = tuple(codes)
        self.meaning = meaning
        self.platforms = None if platforms is None else tuple(platforms)
        self.tiers = None if tiers is None else tuple(tiers)

    def applies(self, platform, tier):
        # A host whose tier nobody said (a saved fleet, a filter's input) is not excused from any family.
        return (self.platforms is None or platform in self.platforms) and (
            self.tiers is None or tier is None or tier in self.tiers)


CATALOGUE = dict((entry.code, entry) for entry in (
    Code("instance_addressing", "instance", "critical",
         "address, netmask or gateway wrong; default route missing or via an address outside the subnet"),
    Code("instance_firewall", "instance", "critical",
         "default DROP policy or rules dropping ICMP/DHCP inside the guest"),
    Code("instance_link_down", "instance", "critical",
         "interface down, no carrier, no address, or the NIC the config expects does not exist"),
    Code("cloud_init_failed", "instance", "warning", "errors recorded by cloud-init"),
    Code("security_group_drop", "host", "critical",
         "a host firewall (iptables, nftables, ebtables) drops the instance's traffic"),
    Code("ovs_port_misplaced", "host", "critical",
         "port missing from OVS, on the wrong bridge, wrong VLAN tag or iface-id, or growing drop counters"),
    Code("ovn_controller_down", "host", "critical",
         "ovn-controller not running, not connected to the Southbound database, or leaving a secure br-int without flows"),
    Code("tc_redirect_broken", "host", "critical",
         "a tc mirred redirect missing, one-way, or pointing at a device that does not exist"),
    Code("vxlan_peer_mismatch", "host", "critical",
         "the two ends of a VXLAN disagree, a remote no host owns, no route to the remote, FDB missing"),
    Code("mtu_overhead", "host", "critical",
         "overlay MTU plus encapsulation overhead above the underlay MTU, or MTUs differ along a path"),
    Code("arp_mac_mismatch", "host", "critical",
         "a neighbour entry maps an address to a MAC that the frame's path does not end on"),
    Code("duplicate_ip", "fleet", "critical", "one address owned by two interfaces with different MACs"),
    Code("stale_neighbour", "host", "warning", "FAILED/INCOMPLETE neighbour entries for gateways or tunnel peers"),
    Code("dhcp_server_down", "network_node", "critical",
         "qdhcp- namespace missing, no DHCP server listening in it, or requests without offers"),
    Code("router_missing", "network_node", "critical", "a private network whose gateway address nobody owns"),
    Code("vlan_inconsistent", "fleet", "critical",
         "a VLAN / segmentation id present on some hosts and missing or different on others"),
    Code("fabric_vlan_blocked", "fabric", "critical",
         "tagged frames leave host A and never reach host B though both hosts are configured right"),
    Code("required_port_blocked", "fleet", "critical", "a required management port does not answer between roles"),
    Code("vr_service_down", "network_node", "critical", "a virtual router service is not listening or not running"),
    Code("traffic_label_missing", "fleet", "critical",
         "a bridge that a physical network's traffic label names is missing on some hypervisors"),
    Code("bond_degraded", "host", "warning", "a bond with a member down or no active member"),
    Code("cpvm_certificate_mismatch", "network_node", "warning",
         "the console proxy certificate does not cover the names of its public addresses"),
    Code("traffic_stops_at", "path", "critical",
         "no configuration cause found: captures show where an exchange goes one-sided"),
))

CODES = tuple(CATALOGUE)

_CLOUDS = ("openstack", "cloudstack")
_HOSTS = ("hypervisor", "network_node")
FAMILIES = dict((family.name, family) for family in (
    Family("arp_consistency", ("arp_mac_mismatch", "duplicate_ip", "stale_neighbour"),
           "neighbour entries against the owners of their addresses"),
    Family("vxlan_peer", ("vxlan_peer_mismatch",), "tunnel ends paired across hosts"),
    Family("vxlan_mtu", ("mtu_overhead",), "overlay MTU plus encapsulation against the underlay"),
    Family("ovs_ports", ("ovs_port_misplaced",), "OVS ports, bridges, tags and iface-ids", tiers=_HOSTS),
    Family("ovs_bonds", ("bond_degraded",), "bond members", tiers=_HOSTS),
    Family("ovn_chassis", ("ovn_controller_down",), "an OVN chassis's controller and integration bridge", tiers=_HOSTS),
    Family("tc_redirects", ("tc_redirect_broken",), "tc mirred redirects in both directions"),
    Family("firewall", ("security_group_drop",), "host firewall rules and their counters", tiers=_HOSTS),
    Family("instance", ("instance_addressing", "instance_firewall", "instance_link_down", "cloud_init_failed"),
           "the guest's own addressing, firewall, links and cloud-init", tiers=("instance",)),
    Family("dhcp", ("dhcp_server_down",), "DHCP servers of the networks", platforms=_CLOUDS, tiers=("network_node",)),
    Family("routers", ("router_missing",), "gateways and virtual routers", platforms=_CLOUDS, tiers=("network_node",)),
    Family("vlans", ("vlan_inconsistent",), "segmentation ids across hosts", platforms=_CLOUDS, tiers=_HOSTS),
    Family("fabric", ("fabric_vlan_blocked",), "tagged frames between hosts across the switch fabric",
           platforms=_CLOUDS, tiers=_HOSTS),
    Family("ports", ("required_port_blocked",), "the port matrix between roles", platforms=("cloudstack",)),
    Family("virtual_router", ("vr_service_down",), "the virtual router's services", platforms=("cloudstack",),
           tiers=("network_node",)),
    Family("traffic_labels", ("traffic_label_missing",), "bridges the traffic labels name", platforms=("cloudstack",),
           tiers=("hypervisor",)),
    Family("certificates", ("cpvm_certificate_mismatch",), "the console proxy certificate", platforms=("cloudstack",),
           tiers=("network_node",)),
    Family("traffic", ("traffic_stops_at",), "probed traffic along the paths"),
))
FAMILY_OF = dict((code, family.name) for family in FAMILIES.values() for code in family.codes)


def tier_of(code):
    """The tier of a catalogue code; KeyError for an unknown one."""
    return CATALOGUE[code].tier
