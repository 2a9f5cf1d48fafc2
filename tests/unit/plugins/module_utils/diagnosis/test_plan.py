# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The probe plan and the traffic summary: which rounds a run sends, and what their captures say."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import diagnose
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._plan import MAX_ROUNDS, probe_plan, traffic_of
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._question import QuestionError
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model

HOSTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "host")


def seed_fleet():
    fleet = {}
    for host in ("worker", "podvm"):
        with open(os.path.join(HOSTS, "seed001_%s.json" % host), encoding="utf-8") as handle:
            fleet[host] = {"reachable": True, "platform": "kubernetes", "host": json.load(handle)}
    return fleet


def question_plan():
    return probe_plan(build_model(seed_fleet()), "from=worker to=198.18.2.46")


def test_a_question_gives_one_round_to_the_one_address_it_names():
    plan = question_plan()
    assert plan["question"]["destination"]["address"] == "198.18.2.46"
    assert len(plan["rounds"]) == 1
    item = plan["rounds"][0]
    assert item["source"] == "worker" and item["targets"] == ["198.18.2.46"]
    assert item["send"]["destination"] == "198.18.2.46" and item["send"]["count"] <= 5
    assert item["order"] and all(point[0] in item["points"] for point in item["order"])


def test_a_bad_question_is_refused_before_any_round():
    with pytest.raises(QuestionError, match="198.18.9.9"):
        probe_plan(build_model(seed_fleet()), "from=worker to=198.18.9.9")


def test_no_packet_when_inactive_and_bounded_rounds():
    plan = probe_plan(build_model(seed_fleet()), active=False)
    assert plan["rounds"] == [] and "cloudnet_active is false" in plan["reason"]
    with pytest.raises(ValueError, match="cloudnet_probe_rounds"):
        probe_plan(build_model(seed_fleet()), rounds=MAX_ROUNDS + 1)
    implicit = probe_plan(build_model(seed_fleet()), rounds=2)
    assert len(implicit["rounds"]) <= 2
    # Only destinations a device of the facts owns are probed: an unanswered echo to nobody proves nothing.
    model = build_model(seed_fleet())
    owned = set(model.owners) | set(model.address_hosts)
    assert all(item["targets"][0] in owned for item in implicit["rounds"])


def result(number, outcome, points=(), drops=()):
    return {"round": number, "failed": False, "msg": "",
            "traffic": {"send": {"outcome": outcome, "sent": 3, "answered": 3 if outcome == "reached" else 0},
                        "points": list(points), "counters": [{"namespace": None, "drops": list(drops)}] if drops else []}}


def test_traffic_of_a_failed_round_says_where_it_stops():
    plan = question_plan()
    item = plan["rounds"][0]
    first, second = item["order"][0], item["order"][1]
    points = [{"namespace": first[1], "device": first[2], "seen": True, "requests": 3},
              {"namespace": second[1], "device": second[2], "seen": False}]
    results = {"worker": [result(0, "no_answer", points, ["rule ip filter INPUT #2 (udp dport 4789 drop) +3"])]}
    traffic = traffic_of(plan, results)
    path = traffic["paths"][0]
    assert path["result"] == "failed"
    assert path["stops_at"]["last_seen"]["device"] == first[2]
    assert path["stops_at"]["first_missing"]["device"] == second[2]
    assert path["stops_at"]["drops"][0]["counter"].startswith("rule ip filter INPUT")
    diagnosis = diagnose(seed_fleet(), traffic=traffic, plan=plan)
    stops = [item for item in diagnosis["findings"] if item["code"] == "traffic_stops_at"]
    assert stops and "between" in stops[0]["summary"] and "INPUT" in stops[0]["summary"]
    # seed 001's MAC mismatch is the cause the configuration checks know: it ranks first, the verdict is critical.
    assert diagnosis["findings"][0]["code"] == "arp_mac_mismatch" and diagnosis["verdict"] == "critical"
    # ... and the stop says so instead of "no known cause".
    assert "Other findings on these hosts may explain it: arp_mac_mismatch" in stops[0]["summary"]
    assert "No known cause" not in stops[0]["summary"] and stops[0]["confidence"] == "possible"


def test_traffic_of_a_passed_round_and_a_silent_sender():
    plan = question_plan()
    assert traffic_of(plan, {"worker": [result(0, "reached")]})["paths"][0]["result"] == "passed"
    silent = traffic_of(plan, {})["paths"][0]
    assert silent["result"] == "not_sent" and "no probe result" in silent["why"]
    # Nothing sent is not a pass: the claim stays unproven.
    assert diagnose(seed_fleet(), traffic=traffic_of(plan, {}), plan=plan)["verdict"] == "critical"


def test_a_reset_is_refused_not_passed_and_silence_is_not_proof():
    plan = probe_plan(build_model(seed_fleet()), "from=worker to=198.18.2.46 tcp/80")
    reset = result(0, "reached")
    reset["traffic"]["send"]["attempts"] = [{"answer": "rst", "from": "198.18.2.46"}]
    traffic = traffic_of(plan, {"worker": [reset]})
    assert traffic["paths"][0]["result"] == "refused" and traffic["paths"][0]["answered_by"] == "198.18.2.46"
    diagnosis = diagnose(seed_fleet(), traffic=traffic, plan=plan)
    assert diagnosis["traffic"]["passed"] == 0 and diagnosis["traffic"]["failed"] == 1
    refused = [item for item in diagnosis["findings"] if item["code"] == "traffic_stops_at"]
    assert refused and "is refused: a TCP reset came back from 198.18.2.46" in refused[0]["summary"]
    udp = probe_plan(build_model(seed_fleet()), "from=worker to=198.18.2.46 udp/53")
    quiet = result(0, "no_answer")
    quiet["traffic"]["send"]["reached"] = None
    traffic = traffic_of(udp, {"worker": [quiet]})
    assert traffic["paths"][0]["result"] == "silent"
    diagnosis = diagnose(seed_fleet(), traffic=traffic, plan=udp)
    assert not [item for item in diagnosis["findings"] if item["code"] == "traffic_stops_at"]
    assert any(item["check"] == "traffic" and item["kind"] == "not_evaluated" for item in diagnosis["not_checked"])


def test_a_round_not_sent_holds_the_verdict_back():
    healthy = dict(seed_fleet())
    plan = question_plan()
    traffic = traffic_of(plan, {"worker": [{"round": 0, "failed": True, "msg": "unreachable", "traffic": None}]})
    diagnosis = diagnose(healthy, traffic=traffic, plan=plan)
    assert any(item["check"] == "traffic" and item["kind"] == "failed" and "not sent" in item["reason"]
               for item in diagnosis["not_checked"])


def test_malformed_probe_results_do_not_stop_the_diagnosis():
    plan = question_plan()
    bad = result(0, "no_answer", [{"device": ["x"], "seen": True}, {"device": "eth0", "namespace": {"a": 1}, "vlans": 7},
                                  "junk"], drops="not a list")
    bad["traffic"]["counters"] = [{"namespace": ["x"], "drops": 5}, 3]
    traffic = traffic_of(plan, {"worker": [bad], "podvm": [{"round": 0, "traffic": {"points": 7, "counters": "x"}}]})
    assert traffic["paths"][0]["result"] == "failed"
