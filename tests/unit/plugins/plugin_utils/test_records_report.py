# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Neutron's records (cloudnet_neutron) reach the rules through the report and the diagnosis_report action.

Here rather than beside the rule's tests: it imports the controller side (the action, ansible.errors), which
ansible-test keeps away from module_utils tests."""

from __future__ import annotations

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.model._records import RecordsError
from ansible_collections.cloudnet.triage.tests.unit.plugins.module_utils.rules.test_vlan_inconsistent import host, neutron_port, records


def test_records_reach_the_rules_through_the_report_and_the_action_declares_them(tmp_path):
    from ansible_collections.cloudnet.triage.plugins.action.diagnosis_report import ActionModule
    from ansible_collections.cloudnet.triage.plugins.plugin_utils.report import _run

    assert ActionModule.SPEC["neutron"]["type"] == "dict"
    entry = host("hv1", [neutron_port("tapa1", 1, segment="200")])
    fleet = {"hv1": entry}
    report = _run.run_report(None, None, None, str(tmp_path / "r"), ["json"], graphviz="never", fleet=fleet,
                             records=records())
    assert any(item["code"] == "vlan_inconsistent" and "Neutron's records give it segmentation id 100" in item["summary"]
               for item in report["diagnosis"]["findings"])
    with pytest.raises(RecordsError, match=r"cloudnet_neutron\.networks: expected a list"):
        _run.run_report(None, None, None, str(tmp_path / "s"), ["json"], graphviz="never", fleet=fleet,
                        records={"networks": "all of them"})
