# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A lab dnsmasq reads Neutron's host file (services[].hostsfile) only when it is a file the same host's files:
write below /var/lib/neutron/dhcp/<network>/; Neutron's static dhcp_range form is accepted."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.lab import _services
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import ScenarioError, load_scenario, validate_scenario

NET = "6d1a2c4e-93b1-4c55-9f0e-8a7b3c2d1e40"
HOSTFILE = "/var/lib/neutron/dhcp/%s/host" % NET


def scenario(hostsfile=HOSTFILE, files=(HOSTFILE,), dhcp_range="198.18.40.0,static,255.255.255.0,12h"):
    service = {"kind": "dnsmasq", "name": "dhcp", "netns": "qdhcp-" + NET, "interface": "ns-d1", "dhcp_range": dhcp_range}
    if hostsfile is not None:
        service["hostsfile"] = hostsfile
    return {"name": "hostsfile", "fault": "none", "expect": {"healthy": True}, "hosts": [{
        "name": "network1", "namespaces": [{"name": "qdhcp-" + NET}],
        "interfaces": [{"name": "tapd1", "kind": "veth", "peer": {"name": "ns-d1", "netns": "qdhcp-" + NET}}],
        "services": [service], "files": [{"path": path, "content": "fa:16:3e:00:00:01,h,198.18.40.10\n"} for path in files]}]}


def problems(value):
    with pytest.raises(ScenarioError) as raised:
        validate_scenario(value)
    return str(raised.value)


def test_a_host_file_the_host_writes_is_accepted_and_passed_to_dnsmasq():
    assert validate_scenario(scenario())
    argv = _services._argv(scenario()["hosts"][0]["services"][0], "dhcp")
    assert "--dhcp-hostsfile=%s" % HOSTFILE in argv and "--dhcp-range=198.18.40.0,static,255.255.255.0,12h" in argv


@pytest.mark.parametrize("path, why", [
    ("/etc/shadow", "is not a file below /var/lib/neutron/dhcp/<network>/"),
    ("/var/lib/neutron/dhcp/host", "is not a file below"),
    ("/var/lib/neutron/dhcp/a/b/host", "is not a file below"),
    ("/var/lib/neutron/dhcp/%s/../../../../etc/shadow" % NET, "hostsfile"),
    ("/var/lib/neutron/dhcp/%s/other" % NET, "is not a file this host's files: writes"),
])
def test_any_other_host_file_is_refused(path, why):
    assert why in problems(scenario(hostsfile=path))


def test_hostsfile_is_for_dnsmasq_only():
    value = scenario()
    value["hosts"][0]["services"].append({"kind": "tcp_listener", "port": 8080, "hostsfile": HOSTFILE})
    assert "does not apply to a tcp_listener" in problems(value)


def test_a_static_range_needs_its_address():
    assert "does not start with two addresses" in problems(scenario(dhcp_range="nonsense,static"))


def test_the_shipped_neutron_scenarios_load():
    for name in ("openstack_dhcp_host_missing", "openstack_router_missing", "openstack_dhcp_no_server",
                 "openstack_ha_router_two_masters"):
        assert load_scenario(name)["name"] == name


def test_a_scenario_without_hostsfile_is_unchanged():
    value = copy.deepcopy(scenario(hostsfile=None))
    argv = _services._argv(value["hosts"][0]["services"][0], "dhcp")
    assert not any(word.startswith("--dhcp-hostsfile") for word in argv)
