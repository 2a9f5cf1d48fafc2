# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Seed 001 on the lab (peer_pods_mac_mismatch): netns_probe answers the questions the field report asked.

The report's walk, host by host: where does the worker send traffic for the pod IP (`ip route get`),
and who holds the pod IP (`ip netns exec ... ip a`): on the worker the pod's eth0, on the pod VM vxlan0.
"""

from __future__ import annotations

POD_IP = "198.18.2.46"
POD_NS = "c16c7a01-1bc5-474a-9eb6-15474b5fbf04"


def test_seed001_questions(lab_factory, run_module):
    lab = lab_factory("peer_pods_mac_mismatch")

    worker = run_module(lab, "worker", "cloudnet.triage.netns_probe", {"find_ip": POD_IP, "route_get": POD_IP})
    assert not worker.get("failed"), worker
    assert worker["changed"] is False
    facts = worker["netns"]
    assert facts["schema"] == "cloudnet.triage.netns/1"
    assert [(hit["ns_name"], hit["dev"], hit["mac"]) for hit in facts["find_ip"]] == [(POD_NS, "eth0", "0a:58:c6:12:02:2e")]
    root = [answer for answer in facts["route_get"] if answer["ns_name"] is None and answer["namespace"] == facts["namespaces"][0]["id"]]
    assert facts["namespaces"][0]["root"] is True
    assert [(answer["dev"], answer["prefsrc"], answer["error"]) for answer in root] == [("ovn-k8s-mp0", "198.18.2.2", None)]

    podvm = run_module(lab, "podvm", "cloudnet.triage.netns_probe", {"find_ip": POD_IP})
    assert not podvm.get("failed"), podvm
    assert [(hit["ns_name"], hit["dev"], hit["mac"]) for hit in podvm["netns"]["find_ip"]] == [("podns", "vxlan0", "7e:e5:f7:e6:f5:1a")]


def test_seed001_full_facts(lab_factory, run_module):
    """The full inventory of the worker shows the pieces the diagnosis correlates."""
    lab = lab_factory("peer_pods_mac_mismatch")
    worker = run_module(lab, "worker", "cloudnet.triage.netns_probe", {"include_unnamed": False})
    assert not worker.get("failed"), worker
    by_name = dict((ns["name"], ns) for ns in worker["netns"]["namespaces"])
    root, pod = by_name[None], by_name[POD_NS]
    assert {"dev": "ovn-k8s-mp0", "address": POD_IP, "mac": "0a:58:c6:12:02:2e", "state": "permanent"} in [
        dict((key, neigh[key]) for key in ("dev", "address", "mac", "state")) for neigh in root["neighbours"]]
    eth0 = [link for link in pod["links"] if link["name"] == "eth0"][0]
    assert (eth0["peer"]["ns"], eth0["peer"]["name"]) == (root["id"], "8b7266486ea2861")
    vxlan1 = [link for link in pod["links"] if link["name"] == "vxlan1"][0]
    assert vxlan1["vxlan"]["vni"] == 555005 and vxlan1["vxlan"]["remote"] == "198.18.10.201"
    assert vxlan1["vxlan"]["socket_ns"] == root["id"] and vxlan1["vxlan"]["learning"] is False
    assert sorted((row["dev"], row["mirred"], row["target"]) for row in pod["tc"]) == [
        ("eth0", "egress_redirect", "vxlan1"), ("vxlan1", "egress_redirect", "eth0")]
    # ens3's peer is on the other lab host: a namespace this host cannot see, and the facts say so.
    assert [(error["namespace"], error["message"].split(":")[0]) for error in worker["netns"]["errors"]] == [("root/", "ens3")]
    ens3 = [link for link in root["links"] if link["name"] == "ens3"][0]
    assert ens3["peer"]["ns"] is None and ens3["link_netnsid"] is not None
