# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The JSON Schemas shipped in docs/schemas/ hold what the code writes, and refuse what it must not write."""

from __future__ import annotations

import copy
import json
import os
import xml.etree.ElementTree as ET

import pytest

jsonschema = pytest.importorskip("jsonschema")

from ansible_collections.cloudnet.triage.plugins.module_utils._schemas import HOST_SCHEMA  # noqa: E402
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import DIAGNOSIS_SCHEMA, diagnose  # noqa: E402
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report import _run  # noqa: E402

COLLECTION = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SCHEMAS = os.path.join(COLLECTION, "docs", "schemas")
HOSTS = os.path.join(COLLECTION, "tests", "unit", "fixtures", "host")


def schema(name):
    with open(os.path.join(SCHEMAS, name), encoding="utf-8") as handle:
        document = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def host_facts(name):
    with open(os.path.join(HOSTS, name), encoding="utf-8") as handle:
        return json.load(handle)


def seed_fleet():
    return {"worker": {"reachable": True, "platform": "kubernetes", "groups": ["kubernetes"], "host": host_facts("seed001_worker.json")},
            "podvm": {"reachable": True, "platform": "kubernetes", "groups": ["podvms"], "host": host_facts("seed001_podvm.json")}}


def errors(validator, document):
    return sorted("%s: %s" % ("/".join(str(part) for part in error.absolute_path), error.message)
                  for error in validator.iter_errors(document))


def test_the_schemas_name_the_versions_the_code_writes():
    assert schema("diagnosis-2.schema.json").schema["properties"]["schema"]["const"] == DIAGNOSIS_SCHEMA
    assert schema("host-1.schema.json").schema["properties"]["schema"]["const"] == HOST_SCHEMA


@pytest.mark.parametrize("name", ["seed001_worker.json", "seed001_podvm.json", "single_host_cross_ns.json"])
def test_recorded_host_facts_validate(name):
    assert errors(schema("host-1.schema.json"), host_facts(name)) == []


def test_host_schema_refuses_what_the_reader_never_writes():
    validator = schema("host-1.schema.json")
    facts = host_facts("seed001_worker.json")
    for path, value in ((("namespaces", 0, "state"), "sleeping"), (("namespaces", 0, "links", 0, "ifindex"), "6"),
                        (("schema",), "cloudnet.triage.host/2"), (("namespaces", 0, "addresses", 0, "family"), 5)):
        broken = copy.deepcopy(facts)
        target = broken
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        assert errors(validator, broken), path
    del facts["namespaces"]
    assert errors(validator, facts)


def test_the_engines_diagnosis_validates():
    diagnosis = diagnose(seed_fleet())
    assert diagnosis["findings"] and diagnosis["not_checked"]
    assert errors(schema("diagnosis-2.schema.json"), diagnosis) == []


def test_the_engines_diagnosis_validates_also_with_an_unreachable_host():
    validator = schema("diagnosis-2.schema.json")
    fleet = seed_fleet()
    fleet["podvm"] = {"reachable": False, "platform": "kubernetes", "groups": [], "errors": ["unreachable: ssh timeout"]}
    lost = diagnose(fleet, strict=False)
    assert lost["hosts_unreachable"] == ["podvm"] and errors(validator, lost) == []


def test_diagnosis_schema_refuses_a_verdict_or_kind_it_does_not_know():
    validator = schema("diagnosis-2.schema.json")
    diagnosis = diagnose(seed_fleet())
    for change in (lambda d: d.update(verdict="fine"),
                   lambda d: d["not_checked"][0].pop("kind"),
                   lambda d: d["findings"][0].update(severity="fatal"),
                   lambda d: d["findings"][0]["evidence"][0].pop("fact"),
                   lambda d: d.pop("not_checked_summary")):
        broken = copy.deepcopy(diagnosis)
        change(broken)
        assert errors(validator, broken)


def test_the_written_diagnosis_json_validates_and_junit_parses(tmp_path):
    """What the report step writes: diagnosis.json against its schema; junit.xml parsed and counted."""
    hosts = ["worker", "podvm"]
    collected = [{"groups": ["kubernetes"], "platform": "kubernetes", "tier": "hypervisor",
                  "results": {"snapshot": {"changed": False, "snapshot": _snapshot(name)}}} for name in hosts]
    report = _run.run_report(hosts, collected, hosts, str(tmp_path / "r"), ["json", "junit"], graphviz="never")
    assert report["errors"] == []
    with open(str(tmp_path / "r" / "diagnosis.json"), encoding="utf-8") as handle:
        written = json.load(handle)
    assert written["findings"][0]["code"] == "arp_mac_mismatch"
    assert errors(schema("diagnosis-2.schema.json"), written) == []
    root = ET.parse(str(tmp_path / "r" / "junit.xml")).getroot()
    cases = root.findall("testsuite/testcase")
    assert int(root.get("tests")) == len(cases) and float(root.get("time")) >= 0
    failed = {(case.get("classname"), case.get("name")) for case in cases if case.find("failure") is not None}
    assert failed == {("arp_consistency", "podvm"), ("arp_consistency", "worker")}
    # podvm runs no OVS: its OVS cases are skipped with the reason, never passed.
    ovs = [case for case in cases if case.get("classname") == "ovs_ports" and case.get("name") == "podvm"]
    assert ovs and ovs[0].find("skipped") is not None and "OVS" in ovs[0].find("skipped").get("message")


def _snapshot(name):
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import encode_snapshot
    return encode_snapshot(host_facts("seed001_%s.json" % name))


def junit_schema():
    import xmlschema  # pylint: disable=import-outside-toplevel  # in requirements-dev.txt and tests/unit/requirements.txt
    return xmlschema.XMLSchema(os.path.join(SCHEMAS, "junit.xsd"))


def test_junit_validates_against_its_schema_and_the_schema_refuses_what_ci_cannot_read(tmp_path):
    validator = junit_schema()
    hosts = ["worker", "podvm"]
    collected = [{"groups": ["kubernetes"], "platform": "kubernetes", "tier": "hypervisor",
                  "results": {"snapshot": {"changed": False, "snapshot": _snapshot(name)}}} for name in hosts]
    _run.run_report(hosts, collected, hosts, str(tmp_path / "r"), ["junit"], graphviz="never")
    path = str(tmp_path / "r" / "junit.xml")
    assert validator.is_valid(path), list(validator.iter_errors(path))[:3]
    # Hostile names and a not-checked host still give a valid document.
    fleet = seed_fleet()
    fleet["podvm"] = {"reachable": False, "platform": "kubernetes", "groups": [], "errors": ["unreachable \x1b[2J"]}
    from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._junit import junit_xml
    assert validator.is_valid(junit_xml(diagnose(fleet, strict=False)))
    root = ET.parse(path).getroot()
    for broken in (lambda r: r.find("testsuite").attrib.pop("tests"),
                   lambda r: r.find("testsuite/testcase").set("time", "-1"),
                   lambda r: r.find("testsuite/testcase").attrib.pop("classname")):
        copy_root = ET.fromstring(ET.tostring(root))
        broken(copy_root)
        assert not validator.is_valid(ET.tostring(copy_root).decode())
