# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The self-contained HTML report: verdict, topology picture, ranked findings with evidence and
remedy, what could not be checked, and the hosts. No external asset: styles and SVG are inline, so
the file can be mailed, attached to a ticket or archived by AWX as it is.

The page is the Jinja2 template ``templates/report.html.j2`` (autoescape on); this module prepares
its context, every text from the facts made printable. The page is written whatever the fleet facts
hold: when the picture cannot be drawn, the page says so and why, and shows everything else.
"""

from __future__ import annotations

from markupsafe import Markup

from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import ROOT_DISPLAY
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._path import TEMPLATES, path_view, template
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import joined, printable
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._topology import build_topology, render_svg
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._verdict import ReportError, _short, counts, validate_diagnosis

__all__ = ["TEMPLATES", "html_report"]

TEMPLATE = "report.html.j2"
GRAPHVIZ = ("auto", "never")
FACT_KEYS = ("host", "netns", "ovs", "vxlan", "arp")

COLORS = {"critical": "#d62728", "unexplained": "#b5179e", "warning": "#e08a00", "not_verified": "#6c757d",
          "info": "#1f77b4", "healthy": "#2ca02c"}

LEGEND = (("#4a4a4a", "veth"), ("#1f77b4", "OVS port / bond member"), ("#9467bd", "tc mirred"), ("#2ca02c", "VXLAN tunnel"),
          ("#8c564b", "underlay"), ("#7f7f7f", "master"), ("#9a9a9a", "link down (dashed)"),
          ("#d62728", "what is wrong"), ("#ff7f0e", "path of the first finding"), ("#0b7285", "the question's path, hop by hop"))


def _items(value):
    return value if isinstance(value, list) else []


def _finding(item):
    evidence = [{
        "host": printable(ev.get("host") or ""),
        # "root/" for the root namespace: a namespace may be named "root" (model._identity).
        "namespace": printable(ev.get("namespace") if ev.get("namespace") is not None else ROOT_DISPLAY),
        "device": printable(ev.get("device") or ""),
        "fact": printable(ev.get("fact") or ""),
    } for ev in item.get("evidence", [])]
    return {
        "severity": item["severity"], "code": printable(item["code"]), "summary": printable(item["summary"]),
        "confidence": printable(item.get("confidence", "?")), "tier": printable(item.get("tier", "?")),
        "hosts": joined(item.get("hosts", [])), "evidence": evidence,
        "remedy": [printable(step) for step in item.get("remedy", [])],
        "remedy_host": printable(item["remedy_host"]) if item.get("remedy_host") else "",
        "check": printable(item.get("check") or item["code"]),
    }


def _hosts(fleet, diagnosis):
    """One row per host of the fleet or the diagnosis; an entry of the wrong shape is shown, not fatal."""
    entries = {str(host): entry for host, entry in fleet.items()}
    # Platform, role and why: the diagnosis' hosts (model._platform), else what the fleet entry says.
    placed = {str(item.get("name")): item for item in diagnosis.get("hosts") or () if isinstance(item, dict)}
    unreachable = {str(host) for host in diagnosis.get("hosts_unreachable") or []}
    rows = []
    for host in sorted(set(entries) | {str(host) for host in diagnosis.get("hosts_seen", [])} | unreachable):
        entry = entries.get(host)
        if entry is not None and not isinstance(entry, dict):
            errors = ["fleet entry: expected a dict, got %s" % _short(entry)]
            entry = {}
        else:
            entry = entry or {}
            errors = entry.get("errors") if isinstance(entry.get("errors"), list) else [entry.get("errors")]
        netns = next((entry[key] for key in ("host", "netns") if isinstance(entry.get(key), dict)), {})
        place = placed.get(host) or entry
        evidence = place.get("evidence", place.get("platform_evidence"))
        rows.append({
            "name": printable(host), "platform": printable(place.get("platform") or entry.get("platform") or ""),
            "role": printable(place.get("role") or ""),
            "why": [printable(item) for item in evidence] if isinstance(evidence, list) else [],
            "reachable": bool(entry.get("reachable", True)) and host not in unreachable,
            "namespaces": len(_items(netns.get("namespaces"))),
            "facts": [key for key in FACT_KEYS if isinstance(entry.get(key), dict)],
            "errors": [printable(error) for error in errors if error not in (None, "")],
        })
    return rows


def _picture(fleet, diagnosis, graphviz, model=None):
    """(SVG markup or None, layout note, why there is no picture)."""
    try:
        svg, renderer = render_svg(build_topology(fleet, diagnosis, model=model), graphviz=graphviz)
    except Exception as exc:  # a picture must never cost the report: say why it is missing instead
        why = printable("%s: %s" % (type(exc).__name__, exc))
        return None, "none: the picture could not be drawn", why
    # The topology renderer made every name in it printable and escaped it: insert it as it is.
    return Markup(svg), printable(renderer), ""


def html_report(diagnosis, fleet=None, graphviz="auto", title="cloudnet.triage diagnosis", model=None):
    """The whole report as one HTML string; ``graphviz``: auto (dot when installed) or never.

    ``model``: the fleet model the diagnosis was made from (the report run passes it; else built from fleet)."""
    validate_diagnosis(diagnosis)
    if graphviz not in GRAPHVIZ:
        raise ReportError("graphviz: expected auto or never, got %s" % _short(graphviz))
    picture_error = ""
    if fleet is None:
        fleet = {}
    elif not isinstance(fleet, dict):
        picture_error = "fleet: expected a dict keyed by host, got %s" % printable(_short(fleet))
        fleet = {}
    picture, layout, why = _picture(fleet, diagnosis, graphviz, model) if not picture_error else (None, "none", "")
    return template(TEMPLATE).render(
        title=printable(title), colors=COLORS, verdict=diagnosis["verdict"], counts=counts(diagnosis),
        hosts_seen=joined(diagnosis.get("hosts_seen", [])), hosts_unreachable=joined(diagnosis.get("hosts_unreachable")),
        peers_outside_limit=joined(diagnosis.get("peers_outside_limit")),
        findings=[_finding(item) for item in diagnosis.get("findings", [])],
        picture=picture, picture_error=picture_error or why, layout=layout, legend=LEGEND,
        not_checked=[{key: printable(item.get(key, "")) for key in ("check", "host", "reason")}
                     for item in diagnosis.get("not_checked", [])],
        hosts=_hosts(fleet, diagnosis), schema=printable(diagnosis.get("schema")),
        verdict_reason=printable(diagnosis.get("verdict_reason") or ""), path=path_view(diagnosis.get("path") or diagnosis.get("paths") or None),
    )
