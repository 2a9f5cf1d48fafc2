# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""traffic_stops_at: a probe that got no answer, located by its captures, when no configuration rule knows why.

It ranks after every configuration finding (tier ``path``, the widest): when one of those explains the loss,
that one comes first. Alone, it makes the verdict ``unexplained`` and says plainly where the probe was last
seen, where it was not, which counter grew there, and what the fleet model shows at that place.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import where
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._fabric_vlan_blocked import explains as fabric_explains
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate"]

FAMILY = "traffic"


def _place(point):
    return "%s on %s" % (where(point.get("namespace") or "", point.get("device")), point.get("host"))


def _flow(item):
    port = "/%s" % item["port"] if item.get("port") else ""
    namespace = " namespace %s" % item["namespace"] if item.get("namespace") else ""
    return "%s%s to %s from %s%s" % (item.get("protocol", "icmp"), port, item.get("destination"), item.get("source"), namespace)


def _one(model, item, breaks_at):
    stops = item.get("stops_at") or {}
    last, missing = stops.get("last_seen"), stops.get("first_missing")
    items = [evidence(item["source"], "sent %d %s probe(s) (%s): %d answered, outcome %s" % (
        item.get("sent", 0), item.get("protocol"), _flow(item), item.get("answered", 0), item.get("outcome")),
        item.get("namespace"))]
    if last:
        seen = ("only its address resolution (ARP or neighbour discovery) was captured here: no answer came back"
                if last.get("resolution_only") else "the probe was captured here (%s request(s))" % last.get("requests", "?"))
        items.append(evidence(last["host"], seen, last.get("namespace"), last.get("device")))
    if missing:
        items.append(evidence(missing["host"], "the probe was not seen here", missing.get("namespace"), missing.get("device")))
    for drop in stops.get("drops") or ():
        items.append(evidence(drop["host"], "counter grew during the probe: %s" % drop["counter"], drop.get("namespace")))
    if last and missing:
        where_text = "between %s and %s" % (_place(last), _place(missing))
    elif last:
        where_text = "after %s, the last point captured" % _place(last)
    elif missing:
        where_text = "before %s: no capture point saw it" % _place(missing)
    else:
        where_text = "somewhere on the path: no capture point could be read"
    summary = "Traffic %s stops %s" % (_flow(item), where_text)
    drops = list(stops.get("drops") or ())
    if drops:
        summary += "; during the probe %s" % "; ".join("%s grew on %s" % (drop["counter"], drop["host"]) for drop in drops[:3])
    model_says = ""
    if breaks_at:
        model_says = " The facts show the path break at %s on %s: %s." % (
            where(breaks_at.get("namespace") or "", breaks_at.get("device") or breaks_at.get("kind")),
            breaks_at.get("host"), breaks_at.get("reason"))
        items.append(evidence(breaks_at.get("host"), "path hop %s %s: %s" % (
            breaks_at.get("index"), breaks_at.get("kind"), breaks_at.get("reason")),
            breaks_at.get("namespace"), breaks_at.get("device")))
    summary += ". No known cause was found by the configuration checks.%s" % model_says
    # Look first where a drop counter moved, else where the probe was last seen.
    place = drops[0] if drops else (missing or last or {})
    host = place.get("host") or item["source"]
    namespace = model.identity(host, place.get("namespace") or "")
    remedy = [comment("look at what drops it on %s: firewall rules and their counters, then the device's drops" % host),
              command(namespace, "nft", "list", "ruleset"),
              command(namespace, "ip", "-s", "link", "show")]
    return finding("traffic_stops_at", "critical", summary, items, remedy=remedy, confidence="likely", check=FAMILY,
                   remedy_host=host)


def _refused(model, item):
    """A reset or a port unreachable answered the probe: the path carries it, the destination turns it away."""
    answer = "a TCP reset" if item.get("answer") == "rst" else "an ICMP port unreachable"
    by = item.get("answered_by") or item.get("destination")
    items = [evidence(item["source"], "sent %d %s probe(s) (%s): answered by %s from %s" % (
        item.get("sent", 0), item.get("protocol"), _flow(item), answer, by), item.get("namespace"))]
    summary = ("Traffic %s is refused: %s came back from %s. Nothing listens on port %s there, or a firewall on the way "
               "rejects it (iptables REJECT answers the same way)." % (_flow(item), answer, by, item.get("port")))
    host = item["source"]
    remedy = [comment("on the host that owns %s: is anything listening on %s/%s, and does a firewall reject it?" % (
        item.get("destination"), item.get("protocol"), item.get("port"))),
        command(model.identity(host, item.get("namespace") or ""), "nft", "list", "ruleset")]
    return finding("traffic_stops_at", "critical", summary, items, remedy=remedy, confidence="likely", check=FAMILY,
                   remedy_host=host)


def evaluate(model):
    traffic = getattr(model, "traffic", None) or {}
    breaks = dict((item.get("id"), item.get("breaks_at")) for item in traffic.get("rounds") or () if isinstance(item, dict))
    findings = []
    for item in traffic.get("paths") or ():
        # A round fabric_vlan_blocked explains is said once, by that finding.
        if isinstance(item, dict) and item.get("result") == "failed" and fabric_explains(model, item) is None:
            findings.append(_one(model, item, item.get("breaks_at") or breaks.get(item.get("id"))))
        elif isinstance(item, dict) and item.get("result") == "refused":
            findings.append(_refused(model, item))
    return findings, []


RULE = Rule("traffic_stops_at", FAMILY, needs=(), evaluate=evaluate)
