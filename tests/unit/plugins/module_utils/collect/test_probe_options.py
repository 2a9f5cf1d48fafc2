# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""traffic_probe's options, bounds and schedule, and that a refusal comes before any socket exists."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe import _round
from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._round import (
    BOUNDS,
    ProbeError,
    normalize_options,
    run_probe,
    schedule,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._send import ANSWER_WAIT

POD2 = "198.18.100.2"
TARGETS = ["198.18.100.1", POD2]


def refused(**kwargs):
    with pytest.raises(ProbeError) as caught:
        normalize_options(**kwargs)
    return str(caught.value)


def test_destination_not_in_targets_is_refused_naming_field_and_value():
    message = refused(send={"destination": "198.18.9.9"}, targets=TARGETS)
    assert message == ("send.destination: 198.18.9.9 is not an address the collected facts contain (targets); "
                       "no packet was sent")


def test_targets_are_compared_in_canonical_form():
    options = normalize_options(send={"destination": "2001:DB8::0:2"}, targets=["2001:db8::2"])
    assert options["flow"].destination == "2001:db8::2"
    assert refused(send={"destination": "2001:db8::3"}, targets=["2001:db8::2"]).startswith(
        "send.destination: 2001:db8::3 is not an address")


@pytest.mark.parametrize("kwargs, message", [
    ({"send": {"destination": POD2}}, "targets: required when send is set"),
    ({"send": {"destination": POD2}, "targets": POD2}, "targets: '198.18.100.2' is not a list of addresses"),
    ({"send": {"destination": POD2}, "targets": ["pod-b"]}, "targets[0]: 'pod-b' is not an IPv4 or IPv6 address"),
    ({"send": {"destination": "198.18.100.300"}, "targets": TARGETS},
     "send.destination: '198.18.100.300' is not an IPv4 or IPv6 address"),
    ({"send": {}, "targets": TARGETS}, "send.destination: required"),
    ({"send": {"destination": POD2, "count": 6}, "targets": TARGETS}, "send.count: 6 is out of bounds (1 to 5)"),
    ({"send": {"destination": POD2, "count": 0}, "targets": TARGETS}, "send.count: 0 is out of bounds (1 to 5)"),
    ({"send": {"destination": POD2, "count": 2.5}, "targets": TARGETS}, "send.count: 2.5 is not a whole number"),
    ({"send": {"destination": POD2, "interval": 0.1}, "targets": TARGETS},
     "send.interval: 0.1 is out of bounds (0.2 to 1.0)"),
    ({"send": {"destination": POD2, "protocol": "sctp"}, "targets": TARGETS},
     "send.protocol: 'sctp' is not one of icmp, arp, tcp, udp"),
    ({"send": {"destination": POD2, "protocol": "tcp"}, "targets": TARGETS}, "send.port: required for protocol tcp"),
    ({"send": {"destination": POD2, "protocol": "udp", "port": 70000}, "targets": TARGETS},
     "send.port: 70000 is out of bounds (1 to 65535)"),
    ({"send": {"destination": POD2, "port": 80}, "targets": TARGETS},
     "send.port: 80 given, but only tcp and udp take a port (protocol is icmp)"),
    ({"send": {"destination": "2001:db8::2", "protocol": "arp"}, "targets": ["2001:db8::2"]},
     "send.protocol: arp asks for an IPv4 address; 2001:db8::2 is IPv6"),
    ({"send": {"destination": POD2, "source": "2001:db8::1"}, "targets": TARGETS},
     "send.source: 2001:db8::1 is not of the destination's family"),
    ({"send": {"destination": POD2, "namespace": "../../proc/1/ns/net"}, "targets": TARGETS},
     "send.namespace: '../../proc/1/ns/net' is not a namespace label"),
    ({"send": {"destination": POD2, "namespace": "pid:x/1"}, "targets": TARGETS},
     "send.namespace: 'pid:x/1' is not a namespace label"),
    ({"send": {"destination": POD2, "device": "a-device-name-too-long"}, "targets": TARGETS},
     "send.device: 'a-device-name-too-long' is not a device name (1 to 15 characters)"),
    ({"window": 6}, "window: 6 is out of bounds (0.1 to 5.0)"),
    ({"window": True}, "window: True is not a number of seconds"),
    ({"start_after": -1}, "start_after: -1 is out of bounds (0.0 to 1.8)"),
    ({"max_frames": 5000}, "max_frames: 5000 is out of bounds (1 to 1000)"),
    ({}, "send: nothing to probe; give send, or flow and captures"),
    ({"captures": [{"device": "eth0"}]}, "captures: a capture filters to the probe's flow"),
    ({"flow": {"destination": POD2}, "captures": [{"device": "eth0"}, {"namespace": "root/", "device": "eth0"}]},
     "captures[1]: eth0 in namespace root/ is listed twice"),
    ({"flow": {"destination": POD2}, "captures": [{"namespace": "pod1"}]}, "captures[0].device: None is not a device name"),
    ({"flow": {"destination": POD2}, "captures": ["eth0"]}, "captures[0]: 'eth0' is not a dict with namespace and device"),
    ({"send": {"destination": POD2, "protocol": "icmp"}, "flow": {"destination": POD2, "protocol": "udp", "port": 53},
      "targets": TARGETS}, "flow.protocol: 'udp' differs from send.protocol 'icmp'"),
])
def test_bad_options_are_refused_with_field_and_value(kwargs, message):
    assert refused(**kwargs).startswith(message)


def test_too_many_capture_points():
    points = [{"device": "eth%d" % number} for number in range(BOUNDS["captures"] + 1)]
    assert refused(flow={"destination": POD2}, captures=points) == "captures: 33 points, at most 32 per host"


def test_schedule_is_the_rate_limit_and_fits_the_window():
    assert schedule(3, 0.2, 0.5, 2.0) == [0.5, 0.7, 0.9]
    assert schedule(1, 0.2, 0.0, 1.0) == [0.0]
    assert schedule(5, 0.2, 0.5, 2.5) == [0.5, 0.7, 0.9, 1.1, 1.3]
    with pytest.raises(ProbeError) as caught:
        schedule(5, 1.0, 0.5, 5.0)
    assert str(caught.value) == ("window: 5.0 s is too short for count 5 at interval 1.0 s after start_after 0.5 s: "
                                 "the last packet leaves at 4.50 s and its answer may take 0.9 s more "
                                 "(needs window >= 5.40 s)")


def test_defaults_fit_their_own_window_and_the_benchmark_budget():
    options = normalize_options(send={"destination": POD2}, targets=TARGETS)
    flow = options["flow"]
    assert (flow.count, flow.interval, options["window"], options["start_after"]) == (3, 0.2, 1.8, 0.5)
    assert options["times"][-1] + ANSWER_WAIT == pytest.approx(options["window"])
    # The worst a host can be made to send in one round: five packets (TCP: each answered SYN adds two).
    assert BOUNDS["count"][1] * 3 <= 20
    # The answer wait stays under TCP's first SYN retransmission (1 s): one SYN per attempt.
    assert ANSWER_WAIT < 1.0


def test_the_shortest_interval_and_the_longest_window_bound_each_other():
    # Five packets at the top of the interval range only fit with a short start_after.
    options = normalize_options(flow={"destination": POD2, "count": 5, "interval": 1.0}, captures=[{"device": "eth0"}],
                                window=5.0, start_after=0.0)
    assert options["times"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert refused(flow={"destination": POD2, "count": 5, "interval": 1.0}, captures=[{"device": "eth0"}],
                   window=5.0, start_after=0.2).startswith("window: 5.0 s is too short")


def test_flow_on_a_capture_host_and_its_agreement_with_send():
    options = normalize_options(flow={"destination": POD2, "protocol": "tcp", "port": 80, "source": "198.18.100.1"},
                                captures=[{"namespace": "pod2", "device": "eth0"}])
    assert options["sender"] is None and options["flow"].port == 80 and options["flow"].source == "198.18.100.1"
    both = normalize_options(send={"destination": POD2}, flow={"destination": POD2, "source": "198.18.100.1"},
                             targets=TARGETS)
    assert both["flow"].source == "198.18.100.1"
    assert both["captures"] == []


def test_namespace_labels_are_the_facts_labels():
    options = normalize_options(flow={"destination": POD2}, captures=[
        {"device": "eth1"}, {"namespace": "", "device": "eth2"}, {"namespace": "root/", "device": "eth3"},
        {"namespace": "pod1", "device": "eth0"}, {"namespace": "pid/4242", "device": "eth0"},
        {"namespace": "inode/4026532463", "device": "eth0"},
        # Labels without a slash are names, whatever they look like.
        {"namespace": "root", "device": "eth0"}, {"namespace": "pid:1", "device": "eth0"}])
    assert [point["namespace"] for point in options["captures"]] == [
        "", "", "", "pod1", "pid/4242", "inode/4026532463", "root", "pid:1"]


def _refuse(what):
    def refuse(*_args, **_kwargs):
        raise AssertionError(what + " before the refusal")
    return refuse


def test_a_refusal_comes_before_any_socket(monkeypatch):
    made = []

    def no_socket(*args, **kwargs):
        made.append(args)
        raise AssertionError("a socket was made before the refusal")

    monkeypatch.setattr(socket, "socket", no_socket)
    monkeypatch.setattr(_round, "Walker", _refuse("a namespace was entered"))
    with pytest.raises(ProbeError) as caught:
        run_probe(send={"destination": "198.18.9.9", "namespace": "pod1"}, captures=[{"device": "eth0"}],
                  targets=TARGETS)
    assert str(caught.value).startswith("send.destination: 198.18.9.9 is not an address")
    assert made == []


def test_an_unknown_namespace_is_refused_before_any_socket(monkeypatch, tmp_path):
    monkeypatch.setattr(socket, "socket", _refuse("a socket was made"))
    monkeypatch.setattr(_round, "Walker", _refuse("a namespace was entered"))
    monkeypatch.setattr(_round, "enumerate_namespaces", lambda extra_dirs, include_unnamed: [_FakeNamespace()])
    with pytest.raises(ProbeError) as caught:
        run_probe(send={"destination": POD2, "namespace": "pod9"}, targets=TARGETS)
    assert str(caught.value) == "send.namespace: no network namespace 'pod9' on this host"
    with pytest.raises(ProbeError) as caught:
        run_probe(flow={"destination": POD2}, captures=[{"namespace": "pod9", "device": "eth0"}])
    assert str(caught.value) == "captures[0].namespace: no network namespace 'pod9' on this host"


class _FakeNamespace:
    id = 4026531840
    name = None
    root = True


class _FakeNetlink(object):
    def links(self):
        return [{"name": "eth0", "ifindex": 2, "mac": "02:00:00:00:00:01"}]

    def addresses(self):
        return [{"address": "198.18.0.10", "ifindex": 2, "family": 4}]


def test_an_arp_probe_never_announces_an_address_its_device_does_not_hold():
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._frames import Flow
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._send import SourceRefused, make_sender
    flow = Flow("arp", "198.18.0.20", None, None, 1, 0.2)
    spoofing = make_sender(flow, "eth0", "198.18.0.99")
    with pytest.raises(SourceRefused, match="198.18.0.99 is not an IPv4 address of eth0"):
        spoofing._link_address(_FakeNetlink())   # pylint: disable=protected-access
    own = make_sender(flow, "eth0", "198.18.0.10")
    own._link_address(_FakeNetlink())   # pylint: disable=protected-access
    assert own.source == "198.18.0.10" and own.mac == b"\x02\x00\x00\x00\x00\x01"
    chosen = make_sender(flow, "eth0", None)
    chosen._link_address(_FakeNetlink())   # pylint: disable=protected-access
    assert chosen.source == "198.18.0.10"
