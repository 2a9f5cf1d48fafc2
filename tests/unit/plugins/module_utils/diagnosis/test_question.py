# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cloudnet_question: parsed from a dict or a survey string, then checked against the fleet model."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._question import (
    QuestionError,
    parse_question,
    resolve_question,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.arp_facts import (
    POD_IP,
    POD_NS,
    fleet_of,
    local_pair_facts,
    seed_fleet,
)


def source(host=None, namespace=None, interface=None, address=None):
    return {"host": host, "namespace": namespace, "interface": interface, "address": address}


def destination(address, protocol="icmp", port=None):
    return {"address": address, "protocol": protocol, "port": port}


# -- parsing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("from=worker to=198.18.2.46 tcp/80", (source("worker"), destination("198.18.2.46", "tcp", 80))),
    ("from=worker/ns-a to=198.18.2.46", (source("worker", "ns-a"), destination("198.18.2.46"))),
    ("from=198.18.2.10 to=198.18.2.46 udp/53", (source(address="198.18.2.10"), destination("198.18.2.46", "udp", 53))),
    ("from=worker/ns-a/eth0 to=198.18.2.46 icmp", (source("worker", "ns-a", "eth0"), destination("198.18.2.46"))),
    ("from=worker/pid/4242 to=198.18.2.46", (source("worker", "pid/4242"), destination("198.18.2.46"))),
    ("from=worker/root//eth1 to=198.18.2.46", (source("worker", "root/", "eth1"), destination("198.18.2.46"))),
    ("  TO=2001:db8::1   FROM=worker  TCP/443 ", (source("worker"), destination("2001:db8::1", "tcp", 443))),
    ("from=worker to=2001:0db8:0:0::0001", (source("worker"), destination("2001:db8::1"))),
])
def test_survey_strings(text, expected):
    assert parse_question(text) == {"source": expected[0], "destination": expected[1]}


def test_dicts_are_normalised_and_parsing_is_idempotent():
    asked = {"source": {"host": "worker", "namespace": "ns-a"},
             "destination": {"address": "198.18.2.46", "protocol": "TCP", "port": "80"}}
    normal = parse_question(asked)
    assert normal == {"source": source("worker", "ns-a"), "destination": destination("198.18.2.46", "tcp", 80)}
    assert parse_question(normal) == normal
    short = parse_question({"source": "worker/ns-a", "destination": "198.18.2.46"})
    assert short == {"source": source("worker", "ns-a"), "destination": destination("198.18.2.46")}


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_no_question(empty):
    assert parse_question(empty) is None


@pytest.mark.parametrize("value, message", [
    ("from=worker", "cloudnet_question.destination.address: missing in 'from=worker': say to=ADDRESS"),
    ("to=198.18.2.46", "cloudnet_question.source: missing in 'to=198.18.2.46': say from=HOST"),
    ("from=worker to=198.18.2.46 sctp/9", "cloudnet_question: sctp/9 is not understood"),
    ("from=worker to=198.18.2.46 tcp", "cloudnet_question.destination.port: missing: tcp needs a port (tcp/PORT)"),
    ("from=worker to=198.18.2.46 icmp/5", "cloudnet_question.destination.port: 5 is given for icmp"),
    ("from=worker to=198.18.2.46 udp/70000", "cloudnet_question.destination.port: 70000 is not a port (1-65535)"),
    ("from=worker to=198.18.2.46 tcp/http", "cloudnet_question.destination.port: http is not a port"),
    ("from=worker to=worker2", "cloudnet_question.destination.address: worker2 is not an IP address"),
    ("from=worker from=podvm to=198.18.2.46", "cloudnet_question: from=podvm repeats from="),
    ("from=worker to=198.18.2.46 tcp/80 udp/53", "cloudnet_question: udp/53 is a second protocol"),
    ("from=a/b/c/d to=198.18.2.46", "cloudnet_question.source: a/b/c/d is not HOST, HOST/NAMESPACE"),
    ("from=worker/ to=198.18.2.46", "cloudnet_question.source: worker/ is not HOST"),
    ("from= to=198.18.2.46", "cloudnet_question.source: '' is empty"),
    (42, "cloudnet_question: 42 is neither a dict (source, destination) nor a string"),
    ({"source": {"host": "worker"}}, "cloudnet_question.destination: missing"),
    ({"source": {"host": "worker"}, "destination": {"address": "198.18.2.46"}, "via": "x"},
     "cloudnet_question.via: x is an unknown key; expected one of source, destination"),
    ({"source": {"host": "worker", "pod": "x"}, "destination": "198.18.2.46"},
     "cloudnet_question.source.pod: x is an unknown key"),
    ({"source": {"namespace": "ns-a"}, "destination": "198.18.2.46"}, "cloudnet_question.source.host: missing: a namespace or interface needs its host"),
    ({"source": {}, "destination": "198.18.2.46"}, "cloudnet_question.source.host: missing: name the source host or give its address"),
    ({"source": {"host": "wor ker"}, "destination": "198.18.2.46"}, "cloudnet_question.source.host: 'wor ker' is not a name"),
    ({"source": {"host": "worker", "interface": "a/b"}, "destination": "198.18.2.46"},
     "cloudnet_question.source.interface: a/b is not a name"),
    ({"source": {"host": "worker"}, "destination": {"address": "198.18.2.46", "port": True, "protocol": "udp"}},
     "cloudnet_question.destination.port: True is not a port"),
    ({"source": {"host": "worker"}, "destination": {"address": "198.18.2.46", "protocol": 6}},
     "cloudnet_question.destination.protocol: 6 is not one of icmp, tcp, udp"),
])
def test_bad_questions_say_the_field_and_the_value(value, message):
    with pytest.raises(QuestionError) as raised:
        parse_question(value)
    assert str(raised.value).startswith(message), str(raised.value)
    assert raised.value.field.startswith("cloudnet_question")


# -- against the facts ----------------------------------------------------------------------------

def seed():
    return build_model(seed_fleet())


def test_resolve_a_host_question_lists_the_destination_owners():
    found = resolve_question("from=worker to=%s tcp/80" % POD_IP, seed())
    assert found["source"] == source("worker")
    assert found["destination"]["port"] == 80 and found["destination"]["protocol"] == "tcp"
    assert sorted((item["host"], item["namespace"], item["device"]) for item in found["destination"]["owners"]) == [
        ("podvm", "podns", "vxlan0"), ("worker", POD_NS, "eth0")]


def test_a_source_address_finds_its_host_and_namespace():
    found = resolve_question({"source": {"address": "198.18.5.1"}, "destination": "198.18.5.2"},
                             build_model(fleet_of(local_pair_facts())))
    assert found["source"] == source("host1", "ns-a", address="198.18.5.1")
    # A root namespace is written root/, or root when no namespace is named so.
    for name in ("root", "root/"):
        assert resolve_question("from=worker/%s to=%s" % (name, POD_IP), seed())["source"]["namespace"] is None


def test_the_destination_may_be_any_address_a_fact_contains():
    # 198.18.2.1 is only a gateway in the pod's routes: still in the facts, so a probe may target it.
    assert resolve_question("from=worker/%s to=198.18.2.1" % POD_NS, seed())["destination"]["owners"] == []


@pytest.mark.parametrize("asked, message", [
    ("from=worker to=198.18.9.9",
     "cloudnet_question.destination.address: 198.18.9.9 is an address no collected fact contains"),
    ("from=nosuch to=%s" % POD_IP, "cloudnet_question.source.host: nosuch is no host of this run (hosts: podvm, worker)"),
    ("from=worker/ns-x to=%s" % POD_IP, "cloudnet_question.source.namespace: ns-x is no namespace of worker (namespaces: root/, %s)" % POD_NS),
    ("from=worker/root/eth9 to=%s" % POD_IP, "cloudnet_question.source.interface: eth9 is no device of worker namespace root/"),
    ("from=198.18.9.8 to=%s" % POD_IP, "cloudnet_question.source.address: 198.18.9.8 is an address no collected fact contains"),
    ("from=%s to=198.18.2.2" % POD_IP, "cloudnet_question.source.address: %s is owned on several hosts" % POD_IP),
    ({"source": {"host": "podvm", "address": "198.18.2.2"}, "destination": POD_IP},
     "cloudnet_question.source.address: 198.18.2.2 is not an address of podvm (it is on ovn-k8s-mp0 on worker)"),
    ({"source": {"host": "worker", "namespace": POD_NS, "address": "198.18.2.2"}, "destination": POD_IP},
     "cloudnet_question.source.address: 198.18.2.2 is not an address of worker namespace %s" % POD_NS),
])
def test_resolution_errors_name_the_field_and_the_value(asked, message):
    with pytest.raises(QuestionError) as raised:
        resolve_question(asked, seed())
    assert str(raised.value).startswith(message), str(raised.value)


def test_an_unreachable_source_host_is_said():
    fleet = seed_fleet()
    fleet["podvm"]["reachable"] = False
    with pytest.raises(QuestionError, match="source.host: podvm is not reachable in this run"):
        resolve_question("from=podvm to=198.18.2.2", build_model(fleet))


def test_an_empty_question_cannot_be_resolved():
    with pytest.raises(QuestionError, match="cloudnet_question: empty: there is no question"):
        resolve_question("", seed())
