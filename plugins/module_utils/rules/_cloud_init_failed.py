# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""cloud_init_failed: errors cloud-init recorded in the guest (it did not configure the network, keys, users).

- ``result.json`` (``/run/cloud-init/`` for this boot, ``/var/lib/cloud/data/`` the last boot's): ``v1.errors``;
- ``status.json`` (same places): ``v1.<stage>.errors`` of init-local, init, modules-config, modules-final;
- ``/var/log/cloud-init.log``: ``[ERROR]`` and ``Traceback`` lines (the tail the read keeps, at most a few shown),
  as evidence beside the JSON errors, and alone only as a possible finding: the log spans every boot.

A guest without any cloud-init file reads as "not a cloud-init guest", no finding. A file that is not JSON is said
not checked with host, file and line. Severity warning (the catalogue's): cloud-init failing explains a guest
without its network only when the network part failed; the network findings of the guest rank first.
"""

from __future__ import annotations

import json

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._guest import FAMILY, each_guest, not_collected
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

__all__ = ["RULE", "evaluate", "json_errors", "log_errors"]

CODE = "cloud_init_failed"
_NEEDS = ("files",)
RESULTS = ("/run/cloud-init/result.json", "/var/lib/cloud/data/result.json")
STATUSES = ("/run/cloud-init/status.json", "/var/lib/cloud/data/status.json")
LOG = "/var/log/cloud-init.log"
_STAGES = ("init-local", "init", "modules-config", "modules-final")
_MAX_SHOWN = 5
_MAX_TEXT = 300


def _short(text):
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT - 3] + "..."


def _error_texts(value):
    if value is None:
        return [], None
    if not isinstance(value, list):
        return [], "expected a list of errors, found %s" % type(value).__name__
    return [_short(item) for item in value if item not in (None, "")], None


def json_errors(path, content):
    """([(where, error text)], problem or None) of a result.json or status.json text."""
    try:
        document = json.loads(content)
    except ValueError as exc:
        return [], "%s line %s: not JSON (%s)" % (path, getattr(exc, "lineno", "?"), getattr(exc, "msg", exc))
    except RecursionError:
        return [], "%s: not read, nested too deep" % path
    v1 = document.get("v1") if isinstance(document, dict) else None
    if not isinstance(v1, dict):
        return [], "%s: no 'v1' object" % path
    found, problems = [], []
    if path.endswith("result.json"):
        texts, problem = _error_texts(v1.get("errors"))
        found.extend(("%s v1.errors" % path, text) for text in texts)
        if problem:
            problems.append("%s v1.errors: %s" % (path, problem))
    else:
        for stage in _STAGES:
            body = v1.get(stage)
            if body is None:
                continue
            if not isinstance(body, dict):
                problems.append("%s v1.%s: expected an object" % (path, stage))
                continue
            texts, problem = _error_texts(body.get("errors"))
            found.extend(("%s v1.%s.errors" % (path, stage), text) for text in texts)
            if problem:
                problems.append("%s v1.%s.errors: %s" % (path, stage, problem))
    return found, "; ".join(problems) or None


def log_errors(content, truncated=False):
    """[(line number, text)] of the log's ERROR and Traceback lines (the first line of a tail read dropped: it
    starts mid-line)."""
    lines = content.splitlines()
    offset = 1
    if truncated and lines:
        lines, offset = lines[1:], 2
    found = []
    for number, line in enumerate(lines, offset):
        if "[ERROR]" in line or " ERROR " in line or line.startswith("Traceback") or "] ERROR:" in line:
            found.append((number, _short(line)))
    return found


def _files(state):
    return dict((row["path"], row) for row in (state.files or {}).get("read") or ()
                if isinstance(row, dict) and isinstance(row.get("path"), str) and isinstance(row.get("content"), str))


def _check(state, findings, notes):
    host = state.name
    read = _files(state)
    patterns = set((state.files or {}).get("patterns") or ())
    # cloud-init makes /var/lib/cloud/data/*.json symlinks to /run/cloud-init/*.json (status_wrapper's sym_link),
    # which the reader refuses: with the /run copy read, nothing is missing.
    copies = {RESULTS[1]: RESULTS[0], STATUSES[1]: STATUSES[0]}
    for row in (state.files or {}).get("refused") or ():
        if isinstance(row, dict) and row.get("path") in RESULTS + STATUSES + (LOG,):
            if copies.get(row["path"]) in read:
                continue
            notes.append(not_collected(host, "cloud-init file %s not read: %s" % (row.get("path"), row.get("reason"))))
    wanted = RESULTS + STATUSES
    if not any(path in patterns for path in wanted):
        notes.append(not_collected(host, "cloud-init's result.json/status.json were not among the files read"))
        return
    errors, seen = [], []
    # this boot's files first; the last boot's only when this boot wrote none (a guest where /run was not read)
    for group in ((RESULTS[0], STATUSES[0]), (RESULTS[1], STATUSES[1])):
        present = [path for path in group if path in read]
        if not present:
            continue
        for path in present:
            seen.append(path)
            found, problem = json_errors(path, read[path]["content"])
            errors.extend(found)
            if problem:
                notes.append(not_collected(host, "cloud-init %s not checked: %s" % (path, problem)))
        break
    log = read.get(LOG)
    logged = log_errors(log["content"], log.get("truncated")) if log else []
    if not seen and not log:
        return   # no cloud-init here
    if not errors and not logged:
        return
    unique = []
    for where_, text in errors:
        if text not in [item[1] for item in unique]:
            unique.append((where_, text))
    items = [evidence(host, "%s: %s" % (where_, text)) for where_, text in unique[:_MAX_SHOWN]]
    if len(unique) > _MAX_SHOWN:
        items.append(evidence(host, "and %d more error(s)" % (len(unique) - _MAX_SHOWN)))
    items.extend(evidence(host, "%s line %d: %s" % (LOG, number, text)) for number, text in logged[-_MAX_SHOWN:])
    remedy = [command(None, "cloud-init", "status", "--long"),
              command(None, "grep", "-n", "-e", "ERROR", "-e", "Traceback", "--", LOG),
              comment("fix the cause (datasource, user-data), then: cloud-init clean --logs && reboot")]
    if unique:
        summary = "cloud-init recorded %d error(s) on the guest %s: %s" % (len(unique), host, unique[0][1])
        findings.append(finding(CODE, "warning", summary, items, remedy=remedy, check=FAMILY, remedy_host=host))
    else:
        # the log spans every boot: with this boot's status files clean, its errors are likely an older boot's
        summary = ("cloud-init's log on the guest %s holds %d ERROR/Traceback line(s)%s: %s" % (
            host, len(logged), ", though its status files record none" if seen else " (no status file was found)",
            logged[-1][1]))
        findings.append(finding(CODE, "info" if seen else "warning", summary, items, remedy=remedy,
                                confidence="possible", check=FAMILY, remedy_host=host))


evaluate = each_guest(_NEEDS, _check, "Every guest that runs cloud-init: no error in its result and status files, none in its log.")


RULE = Rule(CODE, FAMILY, needs=_NEEDS, evaluate=evaluate)
