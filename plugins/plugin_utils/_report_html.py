# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The self-contained HTML report: verdict, topology picture, ranked findings with evidence and
remedy, what could not be checked, and the hosts. No external asset: styles and SVG are inline, so
the file can be mailed, attached to a ticket or archived by AWX as it is.
"""

from __future__ import annotations

from html import escape

from ansible_collections.cloudnet.triage.plugins.plugin_utils._report import validate_diagnosis
from ansible_collections.cloudnet.triage.plugins.plugin_utils._report_topology import build_topology, render_svg

__all__ = ["html_report"]

COLORS = {"critical": "#d62728", "warning": "#e08a00", "info": "#1f77b4", "healthy": "#2ca02c"}

STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;color:#fff;font-weight:bold;font-size:15px}
.meta{color:#555;font-size:13px;margin:6px 0}
.sev{display:inline-block;min-width:64px;text-align:center;padding:1px 6px;border-radius:3px;color:#fff;font-size:12px}
table{border-collapse:collapse;font-size:13px;width:100%}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}code,pre{font-family:Menlo,Consolas,monospace;font-size:12px}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:8px;white-space:pre-wrap}
.finding{border:1px solid #ddd;border-radius:6px;margin:8px 0;padding:8px 12px}
.finding.top{border:2px solid #d62728;background:#fffafa}
.finding summary{cursor:pointer;font-size:14px}
.topology{border:1px solid #ddd;border-radius:6px;padding:8px;overflow:auto;background:#fff}
.topology svg{max-width:100%;height:auto}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.muted{color:#777}
"""


def _severity(severity):
    return '<span class="sev" style="background:%s">%s</span>' % (COLORS.get(severity, "#777"), escape(severity))


def _finding_block(number, item, top):
    rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
        escape(str(ev.get("host") or "")), escape(str(ev.get("namespace") if ev.get("namespace") is not None else "root")),
        escape(str(ev.get("device") or "")), escape(str(ev.get("fact") or ""))) for ev in item.get("evidence", []))
    remedy = "\n".join(item.get("remedy", []))
    return (
        '<details class="finding%s"%s><summary><b>%d.</b> %s <code>%s</code> <span class="muted">[%s, %s tier]</span> '
        "on <b>%s</b>: %s</summary>"
        "<p><b>Evidence</b></p><table><tr><th>host</th><th>namespace</th><th>device</th><th>fact</th></tr>%s</table>"
        "%s<p class=\"muted\">check: %s</p></details>" % (
            " top" if top else "", " open" if top else "", number, _severity(item["severity"]), escape(item["code"]),
            escape(str(item.get("confidence", "?"))), escape(str(item.get("tier", "?"))),
            escape(", ".join(item.get("hosts", []))), escape(item["summary"]), rows or '<tr><td colspan="4">none</td></tr>',
            "<p><b>Remedy</b>%s</p><pre>%s</pre>" % (
                " (on %s)" % escape(item["remedy_host"]) if item.get("remedy_host") else "", escape(remedy)) if remedy else "",
            escape(str(item.get("check") or item["code"]))))


def _hosts_table(fleet, diagnosis):
    rows = []
    unreachable = set(diagnosis.get("hosts_unreachable", []))
    for host in sorted(set(fleet or {}) | set(diagnosis.get("hosts_seen", [])) | unreachable):
        entry = (fleet or {}).get(host) or {}
        netns = entry.get("netns") if isinstance(entry.get("netns"), dict) else {}
        collected = [key for key in ("netns", "ovs", "vxlan", "arp") if isinstance(entry.get(key), dict)]
        reachable = entry.get("reachable", host not in unreachable) and host not in unreachable
        rows.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            escape(host), escape(str(entry.get("platform") or "")), "yes" if reachable else "<b>no</b>",
            len(netns.get("namespaces", []) or []), escape(", ".join(collected) or "none"),
            escape("; ".join(str(err) for err in entry.get("errors", []) or []))))
    return ("<table><tr><th>host</th><th>platform</th><th>reachable</th><th>namespaces</th><th>facts</th><th>collection errors</th></tr>"
            "%s</table>" % "".join(rows))


def html_report(diagnosis, fleet=None, graphviz="auto", title="cloudnet.triage diagnosis"):
    """The whole report as one HTML string; ``graphviz``: auto (dot when installed) or never."""
    validate_diagnosis(diagnosis)
    findings = diagnosis.get("findings", [])
    graph = build_topology(fleet or {}, diagnosis)
    svg, renderer = render_svg(graph, graphviz=graphviz)
    counts = {severity: sum(1 for item in findings if item["severity"] == severity) for severity in ("critical", "warning", "info")}
    verdict = diagnosis["verdict"]
    meta = ["hosts seen: <b>%s</b>" % escape(", ".join(diagnosis.get("hosts_seen", [])) or "none")]
    if diagnosis.get("hosts_unreachable"):
        meta.append("unreachable: <b>%s</b>" % escape(", ".join(diagnosis["hosts_unreachable"])))
    if diagnosis.get("peers_outside_limit"):
        meta.append("peers outside the run: %s" % escape(", ".join(str(peer) for peer in diagnosis["peers_outside_limit"])))
    not_checked = "".join("<tr><td>%s</td><td>%s</td><td>%s</td></tr>" % (
        escape(str(item.get("check", ""))), escape(str(item.get("host", ""))), escape(str(item.get("reason", ""))))
        for item in diagnosis.get("not_checked", []))
    top = findings[0] if findings else None
    legend = "".join('<span style="color:%s">&#9472;&#9472; %s</span>' % (color, label) for color, label in (
        ("#4a4a4a", "veth"), ("#1f77b4", "OVS port"), ("#9467bd", "tc mirred"), ("#2ca02c", "VXLAN tunnel"),
        ("#8c564b", "underlay"), ("#7f7f7f", "master"), ("#d62728", "path of the first finding")))
    return "".join([
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title><style>%s</style></head><body>" % (escape(title), STYLE),
        "<h1>%s</h1>" % escape(title),
        '<div><span class="verdict" style="background:%s">%s</span> &nbsp; %d critical, %d warning, %d info</div>' % (
            COLORS.get(verdict, "#777"), escape(verdict.upper()), counts["critical"], counts["warning"], counts["info"]),
        '<p class="meta">%s</p>' % " &middot; ".join(meta),
        "<p><b>First finding:</b> <code>%s</code>: %s</p>" % (escape(top["code"]), escape(top["summary"])) if top
        else "<p><b>No finding at info level or above.</b></p>",
        "<h2>Topology</h2>",
        '<div class="topology" id="topology">%s</div>' % svg,
        '<p class="legend">%s</p><p class="muted">layout: %s</p>' % (legend, escape(renderer)),
        "<h2>Findings (ranked)</h2>",
        "".join(_finding_block(number, item, number == 1) for number, item in enumerate(findings, start=1)) or "<p>None.</p>",
        "<h2>Not checked</h2>",
        "<table><tr><th>check</th><th>host</th><th>reason</th></tr>%s</table>" % not_checked if not_checked else "<p>Every check ran on every host.</p>",
        "<h2>Hosts</h2>", _hosts_table(fleet, diagnosis),
        '<p class="muted">schema %s &middot; cloudnet.triage</p>' % escape(str(diagnosis.get("schema"))),
        "</body></html>\n",
    ])
