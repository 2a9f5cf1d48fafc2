# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The path of a diagnosis in the HTML report: the hops of the request and of the reply, in order, with the
hop where the path breaks marked (CSS class ``hop-broken``) and its reason.

``path_view(diagnosis["path"])`` prepares what ``templates/path.html.j2`` shows (a path of
model._path.path, or a list of them: the fleet's implicit paths); every text from the facts is made
printable here and escaped by the template (autoescape). ``render_path`` renders that fragment alone. A
path of the wrong shape is shown as such, never an exception: the report is written whatever it holds.
"""

from __future__ import annotations

import functools
import os

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import ROOT_DISPLAY
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import printable

__all__ = ["PATH_TEMPLATE", "TEMPLATES", "path_view", "render_path", "template"]

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
PATH_TEMPLATE = "path.html.j2"
VERDICT_TEXT = {"ok": "the facts show no stop", "unknown": "the facts cannot tell everywhere",
                "broken": "the path breaks"}
DIRECTIONS = (("forward", "request"), ("reply", "reply"))
MAX_PATHS = 50


@functools.lru_cache(maxsize=1)
def _environment():
    # auto_reload off: each template is read once per process, as the files ship with the collection.
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, auto_reload=False)


def template(name):
    """A template of ``templates/`` from the reports' one environment (autoescaped, strict, loaded once)."""
    return _environment().get_template(name)


def _text(value):
    return printable(value) if value not in (None, "") else ""


def _where(hop):
    parts = [_text(hop.get("host")) or "?"]
    namespace = hop.get("namespace")
    parts.append("netns %s" % (_text(namespace) if namespace not in (None, "") else ROOT_DISPLAY))
    if hop.get("device"):
        parts.append(_text(hop["device"]))
    return " / ".join(parts)


def _verdict(value):
    return value if value in VERDICT_TEXT else "unknown"


def _hop(number, hop):
    verdict = _verdict(hop.get("verdict"))
    css = ["hop", "hop-%s" % verdict]
    if hop.get("underlay"):
        css.append("hop-underlay")
    index = hop.get("index")
    return {
        "number": (index + 1) if isinstance(index, int) and not isinstance(index, bool) else number,
        "kind": _text(hop.get("kind")) or "?",
        "where": _where(hop),
        "detail": _text(hop.get("detail")),
        "verdict": verdict,
        "reason": _text(hop.get("reason")),
        "underlay": bool(hop.get("underlay")),
        "css": " ".join(css),
    }


def _title(item):
    question = item.get("question") if isinstance(item.get("question"), dict) else {}
    source = question.get("source") if isinstance(question.get("source"), dict) else {}
    destination = question.get("destination") if isinstance(question.get("destination"), dict) else {}
    place = [_text(source.get("host")) or "?"]
    if source.get("namespace"):
        place.append(_text(source["namespace"]))
    if source.get("interface"):
        place.append(_text(source["interface"]))
    protocol = _text(destination.get("protocol")) or "icmp"
    if destination.get("port") is not None:
        protocol += "/%s" % _text(destination["port"])
    title = "from %s%s to %s %s" % ("/".join(place), " (%s)" % _text(source["address"]) if source.get("address") else "",
                                    _text(destination.get("address")) or "?", protocol)
    origin = item.get("origin") if isinstance(item.get("origin"), dict) else None
    return title, _text(origin.get("fact")) if origin else ""


def _one(item):
    if not isinstance(item, dict) or not isinstance(item.get("hops"), list):
        return {"title": "a path of the wrong shape", "origin": "", "verdict": "unknown", "verdict_text": VERDICT_TEXT["unknown"],
                "breaks_at": None, "directions": [], "error": printable(repr(item)[:200])}
    hops = [hop for hop in item["hops"] if isinstance(hop, dict)]
    directions = []
    for key, name in DIRECTIONS:
        shown = [_hop(number + 1, hop) for number, hop in enumerate(hops) if hop.get("direction", "forward") == key]
        if shown:
            directions.append({"name": name, "hops": shown})
    broken = [hop for direction in directions for hop in direction["hops"] if hop["verdict"] == "broken"]
    verdict = _verdict(item.get("verdict"))
    title, origin = _title(item)
    return {"title": title, "origin": origin, "verdict": verdict, "verdict_text": VERDICT_TEXT[verdict],
            "breaks_at": broken[0] if broken else None, "directions": directions, "error": ""}


def path_view(value):
    """What the template shows of a path, or of a list of paths: [{title, origin, verdict, verdict_text,
    breaks_at, directions: [{name, hops: [{number, kind, where, detail, verdict, reason, css}]}], error}]."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [_one(item) for item in items[:MAX_PATHS]]


def render_path(value):
    """The HTML fragment of a path (or a list of paths): the section the report includes."""
    return Markup(template(PATH_TEMPLATE).render(path=path_view(value)))
