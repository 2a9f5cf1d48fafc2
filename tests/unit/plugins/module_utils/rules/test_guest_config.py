# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The guest network configuration parsers: ifupdown, netplan, NetworkManager keyfiles, ifcfg; malformed input."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._files import DEFAULT_FILES, ROOTS, redact
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._guest_config import (
    guest_entries,
    parse_ifcfg,
    parse_ifupdown,
    parse_netplan,
    parse_nmconnection,
    unmatched,
)

IFUPDOWN = """# The loopback network interface
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
    hwaddress ether 1e:00:5f:00:00:75

auto br0
iface br0 inet static
    address 198.18.1.2/24
    bridge_ports eth1

iface eth0:1 inet static
    address 198.18.2.2/24
source /etc/network/interfaces.d/*
"""


def names(entries):
    return sorted((entry["name"], entry["virtual"]) for entry in entries)


def test_ifupdown_names_nics_and_skips_loopback():
    entries, problems = parse_ifupdown(IFUPDOWN, "/etc/network/interfaces")
    assert problems == []
    assert names(entries) == [("br0", True), ("eth0", False)]
    eth0 = [entry for entry in entries if entry["name"] == "eth0"][0]
    assert eth0["line"] == 6 and eth0["address"] is True and eth0["format"] == "ifupdown"


@pytest.mark.parametrize("text, line, words", [
    ("iface\n", 1, "names no interface"),
    ("    address 198.18.1.2\n", 1, "outside any iface"),
    ("auto\n", 1, "names no interface"),
    ("auto eth0\niface eth0 dhcp\n", 2, "expected 'iface NAME FAMILY METHOD'"),
])
def test_ifupdown_malformed_lines_are_problems_with_their_line(text, line, words):
    _entries, problems = parse_ifupdown(text, "/etc/network/interfaces")
    assert problems and problems[0]["line"] == line and words in problems[0]["reason"]
    assert problems[0]["file"] == "/etc/network/interfaces"


def test_ifupdown_continuation_and_patterns():
    entries, problems = parse_ifupdown("allow-hotplug /en*\niface ens3 \\\n inet dhcp\n", "/etc/network/interfaces")
    assert problems == []
    assert sorted(entry["name"] or entry["names"][0] for entry in entries) == ["en*", "ens3"]


NETPLAN = """network:
  version: 2
  ethernets:
    eth0:
      dhcp4: true
    lan:
      match:
        macaddress: "1E:00:5F:00:00:76"
      set-name: lan0
      addresses: [198.18.3.2/24]
    any:
      match:
        driver: virtio_net
  bridges:
    br0:
      interfaces: [eth0]
"""


def test_netplan_ids_matches_and_set_name():
    entries, problems = parse_netplan(NETPLAN, "/etc/netplan/50-cloud-init.yaml")
    assert problems == []
    by_line = dict((entry["line"], entry) for entry in entries)
    assert by_line[4]["name"] == "eth0" and by_line[4]["address"] is True
    assert by_line[6]["mac"] == "1e:00:5f:00:00:76" and by_line[6]["set_name"] == "lan0" and by_line[6]["name"] is None
    assert [entry["name"] for entry in entries if entry["virtual"]] == ["br0"]
    assert len(entries) == 3   # the driver-only match names nothing the facts can check


@pytest.mark.parametrize("text, line", [
    ("network:\n  ethernets:\n    eth0: [\n", 4),
    ("network:\n  ethernets: [eth0]\n", 2),
    ("network: 3\n", 1),
    ("just text\n", 1),
    ("network:\n  ethernets:\n    lan:\n      match:\n        macaddress: nope\n", 5),
])
def test_netplan_malformed_is_a_problem_with_a_line(text, line):
    _entries, problems = parse_netplan(text, "/etc/netplan/01.yaml")
    assert problems and problems[0]["line"] == line


def test_netplan_hostile_yaml_never_raises():
    deep = "network: " + "[" * 5000 + "]" * 5000 + "\n"
    _entries, problems = parse_netplan(deep, "/etc/netplan/01.yaml")
    assert problems
    _entries, problems = parse_netplan("!!python/object:os.system ls\n", "/etc/netplan/02.yaml")
    assert problems   # the tag is never constructed: only the nodes the parser walks are
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    assert parse_netplan(bomb, "/etc/netplan/03.yaml")[1][0]["reason"] == "no 'network' mapping"


NM = """[connection]
id=Wired connection 1
uuid=8a2c6c54-1d2a-4a3c-9b8e-2f0c1d2e3f40
type=ethernet
interface-name=eth0

[ethernet]
mac-address=1E:00:5F:00:00:75

[wifi-security]
psk=<redacted>

[ipv4]
method=auto
"""


def test_nmconnection_interface_name_and_mac():
    [entry], problems = parse_nmconnection(NM, "/etc/NetworkManager/system-connections/eth0.nmconnection")
    assert problems == []
    assert (entry["name"], entry["mac"], entry["line"], entry["address"]) == ("eth0", "1e:00:5f:00:00:75", 5, True)


def test_nmconnection_non_ethernet_is_virtual_and_any_device_profile_names_nothing():
    [entry], _problems = parse_nmconnection("[connection]\ntype=bridge\ninterface-name=br0\n", "/x/br0.nmconnection")
    assert entry["virtual"]
    assert parse_nmconnection("[connection]\ntype=ethernet\n", "/x/any.nmconnection") == ([], [])


@pytest.mark.parametrize("text, reason", [
    ("[connection\ntype=ethernet\n", "section header"),
    ("type=ethernet\n", "before any [section]"),
    ("[connection]\njunk\n", "not 'key=value'"),
    ("", "no [connection] section"),
])
def test_nmconnection_malformed(text, reason):
    _entries, problems = parse_nmconnection(text, "/etc/NetworkManager/system-connections/x")
    assert problems and reason in problems[0]["reason"]


def test_nm_secrets_are_redacted_on_the_host():
    text, count = redact("[wifi-security]\npsk=hunter2\n[802-1x]\npassword=s3cret\nwep-key0=abcdef\n")
    assert count == 3 and "hunter2" not in text and "s3cret" not in text and "abcdef" not in text


def test_ifcfg_device_hwaddr_and_type():
    [entry], problems = parse_ifcfg('DEVICE="eth0"\nHWADDR=1e:00:5f:00:00:75\nBOOTPROTO=dhcp\nONBOOT=yes\n',
                                    "/etc/sysconfig/network-scripts/ifcfg-eth0")
    assert problems == [] and (entry["name"], entry["mac"], entry["address"], entry["line"]) == (
        "eth0", "1e:00:5f:00:00:75", True, 1)
    [bridge], _problems = parse_ifcfg("TYPE=Bridge\nBOOTPROTO=none\n", "/etc/sysconfig/network-scripts/ifcfg-br0")
    assert bridge["name"] == "br0" and bridge["virtual"]


@pytest.mark.parametrize("text, line", [("DEVICE='eth0\n", 1), ("BOOTPROTO=dhcp\nthis is not ifcfg\n", 2)])
def test_ifcfg_malformed(text, line):
    _entries, problems = parse_ifcfg(text, "/etc/sysconfig/network-scripts/ifcfg-eth0")
    assert problems and problems[0]["line"] == line


def test_guest_entries_picks_config_files_and_survives_garbage():
    files = {"patterns": list(DEFAULT_FILES), "refused": [], "read": [
        {"path": "/etc/network/interfaces", "content": "auto eth0\niface eth0 inet dhcp\n", "size": 30,
         "truncated": False},
        {"path": "/etc/network/interfaces.d/50-cloud-init", "content": "\x00\xff garbage", "size": 9, "truncated": False},
        {"path": "/etc/sysconfig/network-scripts/ifcfg-eth0.bak", "content": "DEVICE=eth9\n", "size": 12,
         "truncated": False},
        {"path": "/var/lib/cloud/data/result.json", "content": "{}", "size": 2, "truncated": False},
        {"path": "/etc/netplan/01.yaml", "content": "network: {ethernets: {ens3: {}}}\n", "size": 40, "truncated": True},
        "not a row",
    ]}
    entries, problems, paths = guest_entries(files)
    assert sorted(entry["name"] for entry in entries) == ["ens3", "eth0"]
    assert "/etc/sysconfig/network-scripts/ifcfg-eth0.bak" not in paths and len(paths) == 3
    assert any(problem["file"] == "/etc/netplan/01.yaml" and "in part" in problem["reason"] for problem in problems)


def test_unmatched_template_case():
    entries, _problems = parse_ifupdown("auto eth0\niface eth0 inet dhcp\n", "/etc/network/interfaces")
    missing, unclaimed = unmatched(entries, [{"name": "ens3", "mac": "1e:00:5f:00:00:75"}])
    assert [entry["name"] for entry in missing] == ["eth0"] and [nic["name"] for nic in unclaimed] == ["ens3"]
    netplan, _problems = parse_netplan("network:\n  ethernets:\n    lan:\n      match: {macaddress: '1e:00:5f:00:00:75'}\n",
                                       "/etc/netplan/01.yaml")
    assert unmatched(netplan, [{"name": "ens3", "mac": "1E:00:5F:00:00:75"}]) == ([], [])


def test_the_files_read_cover_every_guest_format():
    for path in ("/etc/network/interfaces", "/etc/network/interfaces.d/*", "/etc/netplan/*.yaml",
                 "/etc/sysconfig/network-scripts/ifcfg-*", "/etc/NetworkManager/system-connections/*",
                 "/var/log/cloud-init.log"):
        assert path in DEFAULT_FILES
    assert "/etc/NetworkManager/system-connections" in ROOTS


def test_a_log_is_read_from_its_end(tmp_path):
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect._files import MAX_SIZE, read_files
    log = tmp_path / "var" / "log"
    log.mkdir(parents=True)
    lines = ["%06d - util.py[WARNING]: line\n" % number for number in range(8000)]
    lines.append("999999 - handlers.py[ERROR]: the newest boot\n")
    (log / "cloud-init.log").write_text("".join(lines))
    facts = read_files(["/var/log/cloud-init.log"], root=str(tmp_path))
    [row] = facts["read"]
    assert row["truncated"] and len(row["content"]) == MAX_SIZE
    assert row["content"].endswith("[ERROR]: the newest boot\n") and "000000 -" not in row["content"]
