# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Which bounded probes a run sends, and what their captures say: from the paths to the traffic summary.

``probe_plan`` turns the question's path (or the fleet's implicit paths) into rounds: one sender, the
capture points of every host on the path, and the one destination the facts contain. ``traffic_of``
reads back what every host's ``traffic_probe`` saw into the ``traffic`` summary the verdict and the
``traffic_stops_at`` rule read: per path, passed or failed, the last point that saw the probe and the
first that did not, and the counters that grew there.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._question import parse_question, resolve_question
from ansible_collections.cloudnet.triage.plugins.module_utils.model._path import implicit_paths, path
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._registry import registered_rules

__all__ = ["MAX_ROUNDS", "probe_plan", "traffic_of"]

MAX_ROUNDS = 5          # a run sends at most this many rounds of at most 5 packets
_COUNT = 3


def probe_plan(model, question=None, active=True, rounds=3, bound=20):
    """{question, paths, rounds, reason}: the question's path, or the implicit ones, and the rounds to probe.

    A question that does not fit the facts raises QuestionError here, before any packet is sent."""
    if not isinstance(rounds, int) or isinstance(rounds, bool) or not 0 <= rounds <= MAX_ROUNDS:
        raise ValueError("cloudnet_probe_rounds: %r is not a number of rounds from 0 to %d" % (rounds, MAX_ROUNDS))
    asked = parse_question(question)
    if asked is not None:
        paths = [path(model, resolve_question(asked, model))]
    else:
        # Through each tunnel first (what an overlay fault loses), then the fleet's other implicit paths; the
        # connects the rules declare (a CloudStack fleet's port matrix, a guest to its virtual router) take the
        # rounds each rule asks to lead with, and what the others leave.
        lead, late = [], []
        for rule in registered_rules():
            if rule.probes is not None:
                first, targets = rule.probes(model, rounds)
                traced = _connects(model, targets, rounds)
                lead.extend(traced[:first])
                late.extend(traced[first:])
        paths = lead + _through_tunnels(model, rounds) + implicit_paths(model, bound) + late
    plan = {"question": paths[0]["question"] if asked is not None else None, "paths": paths, "rounds": [],
            "reason": None}
    if not active:
        plan["reason"] = "cloudnet_active is false: no packet was sent, the paths were not verified"
        return plan
    if not paths:
        plan["reason"] = "no path to probe: the facts show no neighbour, gateway or tunnel end to follow"
        return plan
    flows = set()
    for found in paths:
        if len(plan["rounds"]) >= rounds:
            break
        item = _round(model, len(plan["rounds"]), found)
        if item is None:
            continue
        flow = (item["source"], item["send"].get("namespace"), item["flow"]["destination"], item["flow"]["protocol"],
                item["flow"].get("port"))
        if flow not in flows:   # two paths may ask the same thing (a tunnel and a neighbour entry behind it)
            flows.add(flow)
            plan["rounds"].append(item)
    if not plan["rounds"]:
        plan["reason"] = "no path could be probed: every source host is unreachable or outside the run"
    return plan


def _overlay_address(state, label, device):
    namespace = state.namespace(label) if state.namespaces is not None else None
    for addr in (namespace or {}).get("addresses") or ():
        if isinstance(addr, dict) and addr.get("dev") == device and addr.get("scope") not in ("host", "link") \
                and addr.get("family", 4) in (4, "inet") and addr.get("address"):
            return addr["address"]
    return None


def _through_tunnels(model, limit):
    """The path from each tunnel end to an address its paired far end holds: an echo that crosses the tunnel."""
    found = []
    for pair in model.tunnel_pairs():
        a, b = pair.get("a"), pair.get("b")
        if len(found) >= limit or not (a and b and pair.get("consistent")):
            continue
        near, far = model.hosts.get(a["host"]), model.hosts.get(b["host"])
        if near is None or far is None or not (near.reachable and far.reachable):
            continue
        address = _overlay_address(far, b.get("namespace") or "", b["device"])
        source = _overlay_address(near, a.get("namespace") or "", a["device"])
        if address is None or source is None:
            continue
        try:
            traced = path(model, {"source": {"host": a["host"], "namespace": a.get("namespace") or None,
                                             "interface": None, "address": source},
                                  "destination": {"address": address, "protocol": "icmp", "port": None}})
        except ValueError:
            continue   # the facts do not resolve it (the far address is nobody's after all): nothing to probe
        traced["origin"] = {"kind": "overlay", "fact": "tunnel %s on %s to %s on %s" % (
            a["device"], a["host"], b["device"], b["host"])}
        found.append(traced)
    return found


def _connects(model, targets, limit):
    """The paths of a rule's TCP connects (rules/_rule.py ``probes``), at most ``limit``: those the facts resolve."""
    found = []
    for source, address, port, kind, fact in targets:
        if len(found) >= limit:
            break
        traced = _connect(model, source, address, port, kind, fact)
        if traced is not None:
            found.append(traced)
    return found


def _connect(model, source, address, port, kind, fact):
    """The path of a TCP connect from a host's own namespace to an address, with its origin; None when the facts
    do not resolve it (nothing to probe then)."""
    try:
        traced = path(model, {"source": {"host": source, "namespace": None, "interface": None, "address": None},
                              "destination": {"address": address, "protocol": "tcp", "port": port}})
    except ValueError:
        return None
    traced["origin"] = {"kind": kind, "fact": fact}
    return traced


def _round(model, number, found):
    source = found["question"]["source"]
    destination = found["question"]["destination"]
    state = model.hosts.get(source["host"])
    if state is None or not state.reachable:
        return None
    if not destination.get("owners"):
        # Nothing in the facts answers for it (a gateway outside the fleet, OVN's logical router): an echo
        # that goes unanswered would prove nothing about the path.
        return None
    # A tunnel end is probed with ICMP to its remote: a bare datagram to the VXLAN port proves nothing.
    protocol = destination.get("protocol") or "icmp"
    port = destination.get("port")
    if (found.get("origin") or {}).get("kind") == "tunnel":
        protocol, port = "icmp", None
    flow = {"destination": destination["address"], "protocol": protocol, "count": _COUNT}
    if port is not None:
        flow["port"] = port
    if source.get("address"):
        flow["source"] = source["address"]
    send = dict(flow, namespace=source.get("namespace") or "")
    if source.get("interface"):
        send["device"] = source["interface"]
    points = dict((host, list(items)) for host, items in (found.get("points") or {}).items()
                  if host in model.hosts and model.hosts[host].reachable)
    order = []
    for hop in found.get("hops") or ():
        if hop.get("direction") != "forward":
            continue   # the request's way: where it stops is read along it
        point = (hop.get("host"), hop.get("namespace"), hop.get("device"))
        if hop.get("device") and point not in order and any(
                item == {"namespace": hop.get("namespace"), "device": hop.get("device")} for item in points.get(hop.get("host"), ())):
            order.append(point)
    hosts = sorted(set(points) | {source["host"]})
    return {"id": number, "source": source["host"], "send": send, "flow": flow, "points": points,
            "order": [list(point) for point in order], "hosts": hosts, "targets": [destination["address"]],
            "origin": (found.get("origin") or {}).get("kind") or "question",
            "breaks_at": found.get("breaks_at")}


def _sender_result(results, host, number):
    for item in results.get(host) or ():
        if isinstance(item, dict) and item.get("round") == number:
            return item
    return None


def traffic_of(plan, results):
    """The traffic summary (diagnosis/2 ``traffic``) of a plan and each host's round results.

    ``results``: host -> [{round, traffic (the module's return), failed, msg}]."""
    results = results or {}
    summary = {"active": bool(plan.get("rounds")) or plan.get("reason") is None, "paths": [],
               "reason": plan.get("reason")}
    for item in plan.get("rounds") or ():
        number = item["id"]
        sent = _sender_result(results, item["source"], number) or {}
        traffic = sent.get("traffic") if isinstance(sent.get("traffic"), dict) else {}
        send = traffic.get("send") if isinstance(traffic.get("send"), dict) else {}
        outcome = send.get("outcome")
        entry = {"id": number, "source": item["source"], "namespace": item["send"].get("namespace") or None,
                 "destination": item["flow"]["destination"], "protocol": item["flow"]["protocol"],
                 "port": item["flow"].get("port"), "origin": item.get("origin"), "sent": _count(send.get("sent")),
                 "packets": _count(send.get("packets")), "answered": _count(send.get("answered")), "outcome": outcome,
                 "breaks_at": item.get("breaks_at"), "hosts": list(item.get("hosts") or [])}
        attempts = send.get("attempts") if isinstance(send.get("attempts"), list) else []
        answers = [attempt.get("answer") for attempt in attempts if isinstance(attempt, dict)]
        refused = [answer for answer in answers if answer in _REFUSALS]
        if sent.get("failed") or not traffic:
            entry["result"] = "not_sent"
            entry["why"] = str(sent.get("msg") or "the sending host returned no probe result")
        elif outcome == "reached" and refused and len(refused) == len([answer for answer in answers if answer]):
            # A reset or a port unreachable is an answer, not a pass: nothing listens there, or a firewall
            # rejects it (iptables REJECT looks the same from the sender).
            entry["result"] = "refused"
            entry["answer"] = refused[0]
            entry["answered_by"] = next((str(attempt.get("from")) for attempt in attempts
                                         if isinstance(attempt, dict) and attempt.get("answer") in _REFUSALS), None)
            entry["stops_at"] = _stops_at(item, results)
        elif outcome == "reached":
            entry["result"] = "passed"
        elif outcome == "no_answer" and entry["protocol"] == "udp" and send.get("reached") is None:
            # A service may take a datagram and say nothing: silence proves neither way.
            entry["result"] = "silent"
            entry["why"] = "no answer to a UDP datagram: a service may take it and say nothing"
        elif outcome in ("no_answer", "unreachable"):
            entry["result"] = "failed"
            entry["stops_at"] = _stops_at(item, results)
        else:
            entry["result"] = "not_sent"
            entry["why"] = "nothing was sent (%s)" % (outcome or "check mode")
        summary["paths"].append(entry)
    return summary


_REFUSALS = ("rst", "port_unreachable")


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _points_seen(item, results):
    """{(host, namespace, device): point result} of one round, from every host's result."""
    seen = {}
    for host in item["hosts"]:
        result = _sender_result(results, host, item["id"]) or {}
        traffic = result.get("traffic") if isinstance(result.get("traffic"), dict) else {}
        for point in traffic.get("points") if isinstance(traffic.get("points"), list) else ():
            if not isinstance(point, dict) or not isinstance(point.get("device"), str):
                continue   # a malformed point says nothing (and must not stop the report)
            namespace = point.get("namespace")
            namespace = None if namespace in ("", "root/") or not isinstance(namespace, str) else namespace
            seen[(host, namespace, point["device"])] = point
        for counters in traffic.get("counters") if isinstance(traffic.get("counters"), list) else ():
            if isinstance(counters, dict) and isinstance(counters.get("drops"), list) and counters["drops"]:
                namespace = counters.get("namespace") if isinstance(counters.get("namespace"), str) else None
                seen.setdefault(("drops", host, namespace), dict(counters, namespace=namespace))
    return seen


def _stops_at(item, results):
    """The last point of the path that saw the probe, the first that did not, and the counters that grew."""
    seen = _points_seen(item, results)
    last, first_missing = None, None
    for host, namespace, device in item.get("order") or ():
        point = seen.get((host, namespace, device))
        if point is None or point.get("state") == "error":
            continue
        if point.get("seen") or point.get("neighbour"):
            # The address resolution for it counts: without an answer the request itself never leaves.
            last = {"host": host, "namespace": namespace, "device": device, "requests": point.get("requests", 0),
                    "resolution_only": not point.get("seen"),
                    "vlans": [tag for tag in (point.get("vlans") if isinstance(point.get("vlans"), list) else ())
                              if isinstance(tag, int) and not isinstance(tag, bool)]}
            first_missing = None
        elif first_missing is None:
            first_missing = {"host": host, "namespace": namespace, "device": device}
    drops = []
    for key, counters in seen.items():
        if key[0] == "drops":
            for line in counters.get("drops") or ():
                drops.append({"host": key[1], "namespace": counters.get("namespace"), "counter": str(line)})
    return {"last_seen": last, "first_missing": first_missing, "drops": drops[:10]}
