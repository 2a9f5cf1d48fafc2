# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""docs/examples/cloudstack-inventory.yml: valid YAML that ansible-inventory parses, with the role groups the CloudStack
rules know and system VMs reached on 3922 through their KVM host."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.cloudnet.triage.plugins.module_utils.rules._cloudstack import LINK_LOCAL, ROLE_GROUPS

TIERS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "collect", "vars", "main.yml")
with open(TIERS, encoding="utf-8") as _handle:
    TIER_GROUPS = yaml.safe_load(_handle)["collect_tier_groups"]
EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "docs", "examples", "cloudstack-inventory.yml")


def ansible_inventory():
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    return beside if os.access(beside, os.X_OK) else shutil.which("ansible-inventory")


def test_the_example_is_yaml():
    with open(EXAMPLE, encoding="utf-8") as handle:
        assert isinstance(yaml.safe_load(handle), dict)


@pytest.mark.skipif(ansible_inventory() is None, reason="ansible-inventory is not installed")
def test_ansible_inventory_parses_the_example(tmp_path):
    done = subprocess.run([ansible_inventory(), "-i", os.path.abspath(EXAMPLE), "--list"], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_NOCOLOR="1"))
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    for role in ROLE_GROUPS:
        assert listing[role]["hosts"], role
    hostvars = listing["_meta"]["hostvars"]
    for role in ("virtual_routers", "console_proxies", "secondary_storage"):
        for name in listing[role]["hosts"]:
            system_vm = hostvars[name]
            assert system_vm["ansible_port"] == 3922 and system_vm["ansible_user"] == "root"
            assert "-o ProxyJump=root@" in system_vm["ansible_ssh_common_args"]
            assert system_vm["ansible_ssh_private_key_file"].endswith("id_rsa.cloud")
            # The collect role places the group in the network node tier, whose checks are the system VMs'.
            assert role in TIER_GROUPS["network_node"] and "cloudnet_tier" not in system_vm
            assert ipaddress.ip_address(system_vm["ansible_host"]) in LINK_LOCAL
            jump = system_vm["ansible_ssh_common_args"].split("ProxyJump=root@", 1)[1].split()[0]
            assert jump in [hostvars[kvm]["ansible_host"] for kvm in listing["kvm_hosts"]["hosts"]]
    assert all(hostvars[name]["cloudnet_platform"] == "cloudstack" for name in hostvars)
