# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What an offline diagnosis reads: a directory of sos reports (one host each) or of saved facts (what the
report action got per host in a live run, ``cloudnet_facts_dir``). Plain Python, controller side.

A report that cannot be read costs that host only: it is an entry whose facts are refused, with the message
naming the report and the file; the rest of the fleet is still diagnosed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

from ansible_collections.cloudnet.triage.plugins.module_utils.model._collected import detect_platform
from ansible_collections.cloudnet.triage.plugins.module_utils.offline._archive import ArchiveError, is_archive, unpack
from ansible_collections.cloudnet.triage.plugins.module_utils.offline._sos import ReportError, is_report, read_report

__all__ = ["SAVED_SCHEMA", "SAVED_SCHEMAS_READ", "SavedError", "find_reports", "load_saved", "sos_fleet", "write_saved"]

# One host's saved facts: what the diagnosis_report action got for it (collect_facts, with the snapshot's own
# schema inside), so a later run replays the live path exactly.
SAVED_SCHEMA = "cloudnet.triage.saved/1"
SAVED_SCHEMAS_READ = (SAVED_SCHEMA,)
_MAX_DEPTH = 3
_SAVED_CAP = 512 << 20


class SavedError(ValueError):
    """A facts directory that cannot be diagnosed at all (missing, empty): names the directory."""


def find_reports(directory):
    """[(label, path)] of the sos reports under ``directory``: unpacked report directories and archives, a few
    levels deep (a ticket's attachments folder), sorted by label."""
    if not os.path.isdir(directory):
        raise SavedError("cloudnet_sos_dir: %s is not a directory" % directory)
    found = []

    def walk(path, depth):
        try:
            names = sorted(os.listdir(path))
        except OSError:
            return
        for name in names:
            full = os.path.join(path, name)
            if os.path.islink(full):
                continue   # a link may point anywhere: only what lies in the directory is read
            if is_archive(full):
                found.append((os.path.relpath(full, directory), full))
            elif os.path.isdir(full):
                if is_report(full):
                    found.append((os.path.relpath(full, directory), full))
                elif depth < _MAX_DEPTH:
                    walk(full, depth + 1)

    if is_report(directory):
        return [(os.path.basename(os.path.normpath(directory)), directory)]
    walk(directory, 1)
    return found


def _host_of_name(label):
    found = re.match(r"^(?:sosreport|sos)-(.+?)-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}\d{2}\d{2})", os.path.basename(label))
    return found.group(1) if found else os.path.basename(label).split(".")[0]


def _read_one(label, path, scratch):
    """(facts, None) or (None, message) for one report; an archive is unpacked below ``scratch`` and removed."""
    if not is_archive(path):
        try:
            return read_report(path, label), None
        except (ReportError, OSError, ValueError) as exc:
            return None, str(exc)
    target = tempfile.mkdtemp(prefix="sos-", dir=scratch)
    try:
        try:
            unpack(path, target)
        except ArchiveError as exc:
            return None, str(exc)
        roots = [os.path.join(target, name) for name in sorted(os.listdir(target))]
        roots = [root for root in roots if os.path.isdir(root) and is_report(root)]
        if not roots and is_report(target):
            roots = [target]
        if len(roots) != 1:
            return None, "report %s: expected one sos report directory in the archive, found %d" % (label, len(roots))
        try:
            return read_report(roots[0], label), None
        except (ReportError, OSError, ValueError) as exc:
            return None, str(exc)
    finally:
        shutil.rmtree(target, ignore_errors=True)


def sos_fleet(directory, scratch=None):
    """(fleet dict, [report summary]) of a directory of sos reports: one host per report, keyed by the hostname
    the report gives. Two reports of one host: the later one is kept and both are named. Archives are unpacked
    into a temporary directory (below ``scratch`` when given) that is removed before this returns."""
    reports = find_reports(directory)
    if not reports:
        raise SavedError("cloudnet_sos_dir: %s holds no sos report (a sosreport-*.tar.xz archive or an unpacked report "
                         "directory)" % directory)
    own = scratch is None
    scratch = tempfile.mkdtemp(prefix="cloudnet-offline-") if own else scratch
    read = []
    try:
        for label, path in reports:
            facts, message = _read_one(label, path, scratch)
            try:
                mtime = os.path.getmtime(path)
            except OSError:
                mtime = 0
            host = facts["host"] if facts is not None else _host_of_name(label)
            read.append({"label": label, "host": host, "facts": facts, "message": message, "mtime": mtime})
    finally:
        if own:
            shutil.rmtree(scratch, ignore_errors=True)
    by_host = {}
    for item in read:
        by_host.setdefault(item["host"], []).append(item)
    fleet, summary = {}, []
    for host in sorted(by_host):
        items = by_host[host]
        # Readable first, then the later one (mtime, then the name sos gives: it carries the date).
        items.sort(key=lambda item: (item["facts"] is not None, item["mtime"], item["label"]))
        kept, others = items[-1], items[:-1]
        entry = {"groups": [], "platform": None, "reachable": True, "errors": []}
        if others:
            entry["errors"].append("reports %s are all of host %s: %s kept (the later), the others set aside" % (
                ", ".join(item["label"] for item in items), host, kept["label"]))
        if kept["facts"] is None:
            entry["errors"].append(kept["message"])
            entry["refused"] = [{"check": "sos_report", "reason": "facts refused: %s" % kept["message"]}]
        else:
            entry["host"] = kept["facts"]
            entry["errors"].extend(kept["facts"]["offline"]["problems"])
            entry["platform"] = _platform_of(kept["facts"])
        fleet[host] = entry
        for item in items:
            summary.append({"report": item["label"], "host": host, "used": item is kept,
                            "error": item["message"],
                            "version": (item["facts"] or {}).get("offline", {}).get("version"),
                            "layout": (item["facts"] or {}).get("offline", {}).get("layout")})
    detected = set(entry["platform"] for entry in fleet.values() if entry["platform"] not in (None, "generic"))
    inherited = next(iter(detected)) if len(detected) == 1 else "generic"
    for entry in fleet.values():
        entry["platform"] = entry["platform"] or inherited
    return fleet, summary


def _platform_of(facts):
    files = facts.get("platform_files") or {}
    if any(path.startswith(("var/lib/neutron", "etc/neutron")) for path in files):
        return "openstack"
    if any(path.startswith("etc/cloudstack") for path in files):
        return "cloudstack"
    return detect_platform([], facts)


# -- saved facts -----------------------------------------------------------------------------------------

def _file_name(host):
    # Host names are data: the file name is a safe spelling of it, the name itself is inside.
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", host)[:100] or "_"
    return "%s.json" % (safe if not safe.startswith(".") else "_" + safe)


def write_saved(directory, hosts, collected, active_hosts):
    """One JSON file per host in ``directory``: {schema, host, active, collected}; returns the paths written."""
    os.makedirs(directory, exist_ok=True)
    active = set(active_hosts or [])
    written, used = [], set()
    for host, facts in zip(hosts, collected):
        host = str(host)
        name = _file_name(host)
        while name in used:
            name = "_" + name
        used.add(name)
        path = os.path.join(directory, name)
        record = {"schema": SAVED_SCHEMA, "host": host, "active": host in active, "collected": facts}
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(record, handle, separators=(",", ":"), ensure_ascii=False)
            handle.write("\n")
        os.replace(path + ".tmp", path)
        written.append(path)
    return written


def load_saved(directory):
    """(hosts, collected, active_hosts, problems) from a directory of saved facts, in the order of the host names.
    A file of another or unknown schema, or not JSON, is a problem naming the file (that host is then diagnosed
    as one whose facts were refused)."""
    if not os.path.isdir(directory):
        raise SavedError("cloudnet_facts_dir: %s is not a directory" % directory)
    records, problems = {}, []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.endswith(".json") or not os.path.isfile(path) or os.path.islink(path):
            continue
        try:
            if os.path.getsize(path) > _SAVED_CAP:
                raise ValueError("larger than %d bytes" % _SAVED_CAP)
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError) as exc:
            problems.append({"host": name[:-5], "file": name, "message": "%s: not readable saved facts (%s)" % (name, exc)})
            continue
        schema = record.get("schema") if isinstance(record, dict) else None
        host = record.get("host") if isinstance(record, dict) else None
        if schema not in SAVED_SCHEMAS_READ or not isinstance(host, str) or not host:
            if isinstance(schema, str) and schema.startswith(SAVED_SCHEMA.rsplit("/", 1)[0] + "/"):
                why = "schema %s is not one this collection reads (%s): save them again with this version" % (
                    schema, ", ".join(SAVED_SCHEMAS_READ))
            else:
                why = "not saved facts (expected schema %s and a host name)" % SAVED_SCHEMA
            problems.append({"host": host if isinstance(host, str) and host else name[:-5], "file": name,
                             "message": "%s: %s" % (name, why)})
            continue
        if host in records:
            problems.append({"host": host, "file": name, "message": "%s: host %s saved twice (also %s): set aside" % (
                name, host, records[host][0])})
            continue
        records[host] = (name, record)
    if not records and not problems:
        raise SavedError("cloudnet_facts_dir: %s holds no saved facts (*.json written with cloudnet_facts_dir)" % directory)
    hosts = sorted(records)
    collected = [records[host][1].get("collected") for host in hosts]
    active = [host for host in hosts if records[host][1].get("active", True) is not False]
    for problem in problems:
        if problem["host"] not in records:
            # The host is still in the report: its facts are refused there with the file named.
            hosts.append(problem["host"])
            collected.append({"groups": [], "platform": "auto", "results": {}})
            active.append(problem["host"])
    return hosts, collected, active, problems
