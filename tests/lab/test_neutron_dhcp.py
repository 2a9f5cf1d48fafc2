# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""openstack_dhcp_host_missing does what its fault says, with a real DHCP client: the lab's dnsmasq runs as
Neutron's does (--dhcp-hostsfile on the config dir's host file, a static range), so vm1, whose MAC the host
file lacks, gets no offer through br-int and the trunk; with its line added, it gets its fixed address."""

from __future__ import annotations

import re
import shutil

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import load_scenario

UDHCPC = shutil.which("udhcpc") or shutil.which("busybox")
NET = "6d1a2c4e-93b1-4c55-9f0e-8a7b3c2d1e40"
VM_LINE = "fa:16:3e:5c:4b:3a,set:port-5c4b3a29-1807-4f6e-9d5c-4b3a29180716,host-198-18-40-10.openstacklocal.,198.18.40.10\n"


def udhcpc(lab, tries=3):
    argv = [UDHCPC] + (["udhcpc"] if UDHCPC.endswith("busybox") else [])
    # -s /bin/true: the lease is printed, nothing is configured by a script
    return lab.run("vm1", argv + ["-f", "-q", "-n", "-i", "eth0", "-t", str(tries), "-T", "1", "-s", "/bin/true"],
                   check=False, timeout=60)


def scenario(fixed):
    found = load_scenario("openstack_dhcp_host_missing")
    if fixed:
        for entry in found["hosts"][0]["files"]:
            if entry["path"] == "/var/lib/neutron/dhcp/%s/host" % NET:
                entry["content"] += VM_LINE
    return found


@pytest.mark.parametrize("fixed", [False, True])
def test_neutrons_dnsmasq_answers_only_the_host_file(lab_factory, fixed):
    if UDHCPC is None or shutil.which("ethtool") is None:
        pytest.skip("needs udhcpc (busybox) and ethtool: scripts/setup.sh installs them")
    lab = lab_factory(scenario(fixed))
    content = lab.run("network1", ["cat", "/var/lib/neutron/dhcp/%s/host" % NET]).stdout
    assert ("fa:16:3e:5c:4b:3a" in content) == fixed
    proc = udhcpc(lab)
    output = proc.stdout + proc.stderr
    lease = re.search(r"lease of (198\.18\.40\.\d+) obtained from 198\.18\.40\.2", output)
    if fixed:
        assert proc.returncode == 0 and lease and lease.group(1) == "198.18.40.10", output
    else:
        assert proc.returncode != 0 and not lease, output
