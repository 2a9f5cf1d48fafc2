# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sos report reader over real reports (tests/unit/fixtures/sos/, sos 4.0 run inside lab hosts, pruned to the
files the reader opens), synthesised per-namespace (sos >= 4.3) reports, and the bad inputs of issue 14."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._claim import KINDS
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose
from ansible_collections.cloudnet.triage.plugins.module_utils.model._facts import validate_section
from ansible_collections.cloudnet.triage.plugins.module_utils.offline import _text
from ansible_collections.cloudnet.triage.plugins.module_utils.offline._archive import ArchiveError, unpack
from ansible_collections.cloudnet.triage.plugins.module_utils.offline._inputs import load_saved, sos_fleet, write_saved
from ansible_collections.cloudnet.triage.plugins.module_utils.offline._sos import ReportError, read_report
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._offline import run_offline

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "sos")


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


def namespace(facts, name):
    return next(ns for ns in facts["namespaces"] if ns["name"] == name)


def link(ns, name):
    return next(item for item in ns["links"] if item["name"] == name)


def test_flat_report_gives_valid_host_facts_marked_sos():
    facts = read_report(fixture("peer_pods_mac_mismatch", "worker"))
    validate_section("worker", "host", facts)
    assert facts["host"] == "worker" and facts["source"] == "sos"
    assert facts["offline"]["version"] == "4.0" and facts["offline"]["layout"] == "flat"
    root = next(ns for ns in facts["namespaces"] if ns["root"])
    pod = namespace(facts, "c16c7a01-1bc5-474a-9eb6-15474b5fbf04")
    assert all(ns["source"] == "sos" for ns in facts["namespaces"])
    # The veth pair across namespaces, from '@if2 link-netns <name>' on one side and '@if3 link-netnsid 0' on the other.
    assert link(root, "8b7266486ea2861")["peer"] == {"ns": pod["id"], "ns_name": pod["name"], "ifindex": 2, "name": "eth0"}
    assert link(pod, "eth0")["peer"]["name"] == "8b7266486ea2861" and link(pod, "eth0")["kind"] == "veth"
    # The peer of ens3 is on another host: known by ifindex only, never paired with a device of this one.
    assert link(root, "ens3")["peer"] == {"ns": None, "ns_name": None, "ifindex": 2, "name": None}
    assert {"dev": "ovn-k8s-mp0", "address": "198.18.2.46", "mac": "0a:58:c6:12:02:2e", "state": "permanent",
            "family": 4, "ifindex": 7} in root["neighbours"]
    assert {"dst": "198.18.0.0/15", "gateway": "198.18.2.1", "dev": "ovn-k8s-mp0", "table": "main"}.items() <= \
        next(route for route in root["routes"] if route["dst"] == "198.18.0.0/15").items()
    assert any(route["table"] == "local" and route["type"] == "local" for route in root["routes"])
    # sos 4.0 saves no neighbours per namespace: an empty list there, and said as not checked (offline).
    assert pod["neighbours"] == []
    reasons = [item["reason"] for item in facts["offline"]["not_checked"]]
    assert any("neighbours" in reason and "flat layout" in reason for reason in reasons)
    assert "tc" not in facts["sections"]
    ports = facts["ovs"]["bridges"][0]["ports"]
    owner = next(port for port in ports if port["name"] == "8b7266486ea2861")
    assert owner["interfaces"][0]["external_ids"]["iface-id"] == "default_nginx-priv"
    assert facts["ovs"]["bridges"][0]["flows"]


def test_vxlan_from_ip_d_address():
    facts = read_report(fixture("vxlan_vni_mismatch", "hv2"))
    root = next(ns for ns in facts["namespaces"] if ns["root"])
    tunnel = link(root, "vxlan100")
    assert tunnel["kind"] == "vxlan"
    assert tunnel["vxlan"]["vni"] == 101 and tunnel["vxlan"]["remote"] == "198.18.20.1" and tunnel["vxlan"]["port"] == 4789
    assert tunnel["vxlan"]["socket_ns"] == root["id"] and tunnel["vxlan"]["underlay"] == "eth1"
    assert facts["ovs"]["available"] is False and "database connection failed" in facts["ovs"]["reason"]


def test_offline_diagnosis_ranks_the_live_first_finding():
    fleet, _summary = sos_fleet(fixture("vxlan_vni_mismatch"))
    diagnosis = diagnose(fleet, strict=True)
    assert diagnosis["findings"][0]["code"] == "vxlan_peer_mismatch"
    assert sorted(diagnosis["findings"][0]["hosts"]) == ["hv1", "hv2"]
    fleet, _summary = sos_fleet(fixture("ovs_bond_member_down"))
    first = diagnose(fleet, strict=True)["findings"][0]
    assert first["code"] == "bond_degraded" and first["hosts"] == ["hv1"]


def test_run_offline_marks_what_text_cannot_give(tmp_path):
    result = run_offline(str(tmp_path / "report"), ["text", "json", "junit"], sos_dir=fixture("peer_pods_mac_mismatch"))
    diagnosis = result["diagnosis"]
    assert "offline" in KINDS
    offline = [item for item in diagnosis["not_checked"] if item["kind"] == "offline"]
    assert any(item["check"] == "traffic" for item in offline)
    assert any(item["check"] == "tc_redirects" and item["reason"].startswith("not checked (offline): ") for item in offline)
    # A gap costs only the families of rules that concern the host: a Kubernetes worker has no Neutron DHCP
    # agent, router or CloudStack port matrix to miss.
    from ansible_collections.cloudnet.triage.plugins.module_utils.rules._registry import registered_rules

    for code in ("dhcp_server_down", "router_missing", "required_port_blocked"):
        family = next(rule.family for rule in registered_rules() if rule.code == code)
        assert not any(item["check"] == family for item in offline), family
    assert not any(item["kind"] == "not_collected" for item in diagnosis["not_checked"])
    assert diagnosis["source"]["kind"] == "sos" and {item["host"] for item in diagnosis["source"]["reports"]} == {"podvm", "worker"}
    assert diagnosis["verdict"] == "not_verified"
    assert (tmp_path / "report" / "junit.xml").exists() and "not checked (offline)" in (tmp_path / "report" / "report.txt").read_text()


def _per_namespace_report(tmp_path):
    """The flat worker report rewritten in the sos >= 4.3 layout, with `ip -d address show` and neighbours per namespace."""
    root = tmp_path / "sosreport-worker-2026-01-01-abcdefg"
    shutil.copytree(fixture("peer_pods_mac_mismatch", "worker"), str(root))
    net = root / "sos_commands" / "networking"
    ns = "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"
    target = net / "namespaces" / ns
    target.mkdir(parents=True)
    for name in os.listdir(str(net)):
        if name.startswith("ip_netns_exec_"):
            os.remove(str(net / name))
    prefix = "ip_netns_exec_%s_" % ns
    (target / (prefix + "ip_-d_address_show")).write_text(
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n"
        "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 promiscuity 0 minmtu 0 maxmtu 0\n"
        "2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc noqueue state UP group default qlen 1000\n"
        "    link/ether 0a:58:c6:12:02:2e brd ff:ff:ff:ff:ff:ff link-netnsid 0 promiscuity 0 minmtu 68 maxmtu 65535\n"
        "    veth numtxqueues 2 numrxqueues 2 gso_max_size 65536\n"
        "    inet 198.18.2.46/23 scope global eth0\n"
        "       valid_lft forever preferred_lft forever\n"
        "4: vxlan1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN group default qlen 1000\n"
        "    link/ether ca:40:81:86:fa:73 brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 68 maxmtu 65535\n"
        "    vxlan id 555005 remote 198.18.10.201 dev eth0 srcport 0 0 dstport 4789 nolearning ttl auto ageing 300\n")
    (target / (prefix + "ip_route_show_table_all")).write_text("default via 198.18.2.1 dev eth0\n"
                                                               "198.18.2.0/23 dev eth0 proto kernel scope link src 198.18.2.46\n")
    (target / (prefix + "ip_-s_-s_neigh_show")).write_text("198.18.2.1 dev eth0 lladdr ee:cb:ed:8e:f9:e0 ref 1 used 1/1/1 probes 1 REACHABLE\n")
    (target / (prefix + "sysctl_-a")).write_text("net.ipv4.ip_forward = 0\nnet.ipv4.conf.all.rp_filter = 2\n")
    (net / "ip_netns").write_text("%s (id: 1)\n" % ns)
    return root, ns


def test_per_namespace_layout(tmp_path):
    root, ns = _per_namespace_report(tmp_path)
    facts = read_report(str(root))
    validate_section("worker", "host", facts)
    assert facts["offline"]["layout"] == "namespaces"
    pod = namespace(facts, ns)
    assert link(pod, "eth0")["kind"] == "veth" and link(pod, "eth0")["peer"]["name"] == "8b7266486ea2861"
    tunnel = link(pod, "vxlan1")
    assert tunnel["vxlan"]["vni"] == 555005 and tunnel["vxlan"]["learning"] is False
    assert tunnel["vxlan"]["socket_ns"] == pod["id"] and tunnel["vxlan"]["underlay_ifindex"] == 2
    assert pod["neighbours"][0]["state"] == "reachable" and pod["sysctls"]["rp_filter"]["all"] == 2
    assert not any("flat layout" in item["reason"] for item in facts["offline"]["not_checked"])


def _archive(source, path, extra=None, cut=None):
    with tarfile.open(str(path), "w:xz") as tar:
        tar.add(source, arcname="sosreport-%s-2026-01-01-aaaaaaa" % os.path.basename(source))
        for name, data, kind in extra or ():
            info = tarfile.TarInfo(name)
            info.type = kind
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    if cut:
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // cut])


def test_archives_are_unpacked_safely(tmp_path):
    good = tmp_path / "good.tar.xz"
    _archive(fixture("vxlan_vni_mismatch", "hv1"), good,
             extra=[("sosreport-hv1-2026-01-01-aaaaaaa/dev/sda", b"", tarfile.CHRTYPE),
                    ("sosreport-hv1-2026-01-01-aaaaaaa/etc/shadow", b"", tarfile.SYMTYPE)])
    target = tmp_path / "out"
    target.mkdir()
    found = unpack(str(good), str(target))
    assert found["skipped"] == {"device or fifo": 1, "link": 1}
    assert not os.path.lexists(str(target / "sosreport-hv1-2026-01-01-aaaaaaa" / "etc" / "shadow"))
    evil = tmp_path / "evil.tar.xz"
    _archive(fixture("vxlan_vni_mismatch", "hv1"), evil, extra=[("../outside", b"x", tarfile.REGTYPE)])
    (tmp_path / "out2").mkdir()
    with pytest.raises(ArchiveError, match="outside the report"):
        unpack(str(evil), str(tmp_path / "out2"))
    assert not (tmp_path / "outside").exists()
    (tmp_path / "out3").mkdir()
    with pytest.raises(ArchiveError, match="larger than"):
        unpack(str(good), str(tmp_path / "out3"), max_bytes=1000)


def test_bad_reports_cost_their_host_only(tmp_path):
    tickets = tmp_path / "ticket"
    tickets.mkdir()
    _archive(fixture("vxlan_vni_mismatch", "hv1"), tickets / "sosreport-hv1-2026-01-01-aaaaaaa.tar.xz")
    _archive(fixture("vxlan_vni_mismatch", "hv2"), tickets / "sosreport-hv2-2026-01-01-bbbbbbb.tar.xz", cut=2)
    # A report without networking data, one with an unknown version and sos error text, and a second one of hv1.
    bare = tickets / "sosreport-bare-2026-01-01-ccccccc"
    (bare / "sos_commands" / "host").mkdir(parents=True)
    (bare / "sos_commands" / "host" / "hostname").write_text("bare\n")
    odd = tickets / "sosreport-odd-2026-01-01-ddddddd"
    shutil.copytree(fixture("ovs_bond_member_down", "hv1"), str(odd))
    (odd / "sos_commands" / "host" / "hostname").write_text("odd\n")
    (odd / "version.txt").write_text("sosreport: 9.1\n")
    (odd / "sos_commands" / "networking" / "ip_-s_-s_neigh_show").write_text('exec of "ip" failed: No such file or directory\n')
    again = tickets / "older-hv1"
    shutil.copytree(fixture("vxlan_vni_mismatch", "hv1"), str(again))
    os.utime(str(again / "version.txt"))
    os.utime(str(again), (1, 1))
    fleet, summary = sos_fleet(str(tickets))
    assert sorted(fleet) == ["bare", "hv1", "hv2", "odd"]
    assert "truncated or corrupt archive" in fleet["hv2"]["refused"][0]["reason"] and "sosreport-hv2" in fleet["hv2"]["refused"][0]["reason"]
    assert "no networking data" in fleet["bare"]["errors"][0] and "sos_commands/networking" in fleet["bare"]["errors"][0]
    assert any("unknown sos version 9.1" in text and "version.txt" in text for text in fleet["odd"]["errors"])
    assert any("ip_-s_-s_neigh_show" in text and "error instead of the output" in text for text in fleet["odd"]["errors"])
    assert any("are all of host hv1" in text and "older-hv1" in text for text in fleet["hv1"]["errors"])
    assert [item["used"] for item in summary if item["host"] == "hv1"].count(True) == 1
    diagnosis = diagnose(fleet, strict=False)
    # hv1 and odd are still diagnosed; hv2 is refused, named, and its tunnel partner cannot be judged.
    assert "hv1" in diagnosis["hosts_seen"] and "odd" in diagnosis["hosts_seen"]
    assert any(item["host"] == "hv2" and item["kind"] == "refused" for item in diagnosis["not_checked"])
    assert any(item["code"] == "bond_degraded" and item["hosts"] == ["odd"] for item in diagnosis["findings"])
    with pytest.raises(ReportError, match="not a sos report"):
        read_report(str(tmp_path))


def test_saved_facts_round_trip_and_refusal(tmp_path):
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import encode_snapshot
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "host", "seed001_worker.json")) as handle:
        worker = json.load(handle)
    collected = [{"groups": ["workers"], "platform": "auto", "results": {"snapshot": {"snapshot": encode_snapshot(worker)}}}]
    saved = tmp_path / "facts"
    write_saved(str(saved), ["worker"], collected, ["worker"])
    (saved / "old.json").write_text(json.dumps({"schema": "cloudnet.triage.saved/0", "host": "old", "collected": {}}))
    (saved / "junk.json").write_text("{not json")
    hosts, again, active, problems = load_saved(str(saved))
    assert again[hosts.index("worker")] == collected[0] and "worker" in active
    assert any("saved/0" in item["message"] and "old.json" in item["message"] for item in problems)
    assert any("junk.json" in item["message"] for item in problems)
    result = run_offline(str(tmp_path / "report"), ["json"], facts_dir=str(saved))
    assert result["diagnosis"]["source"]["kind"] == "saved"
    assert any(item["host"] == "old" and item["kind"] == "refused" for item in result["diagnosis"]["not_checked"])
    assert "worker" in result["diagnosis"]["hosts_seen"]


@pytest.mark.parametrize("text, expected", [
    ('exec of "ethtool" failed: No such file or directory\n', 'exec of "ethtool" failed: No such file or directory'),
    ("ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)\n",
     "ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)"),
    ("1: lo: <LOOPBACK,UP> mtu 65536\n", None),
])
def test_error_text(text, expected):
    assert _text.error_text(text) == expected


def test_text_parsers():
    routes = _text.parse_routes("default via 198.18.0.1 dev eth0 proto dhcp metric 100\n"
                                "198.18.4.0/24 proto static metric 20\n\tnexthop via 198.18.0.2 dev eth0 weight 1\n"
                                "\tnexthop via 198.18.0.3 dev eth1 weight 2\n"
                                "unreachable 198.18.9.0/24 table 100\n")
    assert routes[0]["dst"] == "0.0.0.0/0" and routes[0]["protocol"] == "dhcp" and routes[0]["metric"] == 100
    assert [hop["gateway"] for hop in routes[1]["nexthops"]] == ["198.18.0.2", "198.18.0.3"]
    assert routes[2]["type"] == "unreachable" and routes[2]["table"] == "100"
    fdb = _text.parse_fdb("02:00:00:00:00:01 dev vxlan0 dst 198.18.20.2 vni 100 port 4789 self permanent\n"
                          "02:00:00:00:00:02 dev tap0 master br0 vlan 10\n")
    assert fdb[0]["dst"] == "198.18.20.2" and fdb[0]["vni"] == 100 and fdb[0]["flags"] == ["self"]
    assert fdb[1]["master"] == "br0" and fdb[1]["vlan"] == 10 and fdb[1]["flags"] == [] and fdb[1]["state"] is None
    tc = _text.parse_tc_filters("filter parent ffff: protocol all pref 49152 u32 chain 0 fh 800::800 order 2048 key ht 800\n"
                                "  match 00000000/00000000 at 0\n"
                                "\taction order 1: mirred (Egress Redirect to device vxlan1) stolen\n", "eth0", "ingress")
    assert tc == [{"dev": "eth0", "direction": "ingress", "kind": "u32", "priority": 49152, "action": "mirred",
                   "mirred": "egress_redirect", "target": "vxlan1", "target_ifindex": None, "verdict": "stolen"}]
    neighbours = _text.parse_neighbours("fe80::1 dev eth0 lladdr 02:00:00:00:00:01 router STALE\n198.18.0.9 dev eth0 FAILED\n")
    assert neighbours[0]["state"] == "stale" and neighbours[0]["family"] == 6
    assert neighbours[1] == {"dev": "eth0", "address": "198.18.0.9", "mac": None, "state": "failed", "family": 4}
    assert _text.parse_ovsdb_value('{key="100", remote_ip="198.18.20.2"}') == {"key": "100", "remote_ip": "198.18.20.2"}
    bridges, _version = _text.parse_ovs_show("    Bridge br-tun\n        Port vx1\n            Interface vx1\n"
                                             '                type: vxlan\n                options: {key="100", remote_ip="198.18.20.2"}\n'
                                             '                error: "could not open network device vx1"\n')
    interface = bridges[0]["ports"][0]["interfaces"][0]
    assert interface["type"] == "vxlan" and interface["options"]["remote_ip"] == "198.18.20.2"
    assert interface["error"] == "could not open network device vx1"
