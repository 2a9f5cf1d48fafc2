# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The body of the lab_scenario module: present/absent with idempotence and check mode."""

from __future__ import annotations

import os

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import (
    LabError,
    ScenarioError,
    build,
    destroy,
    load_scenario,
    open_lab,
    scenario_digest,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._state import INVENTORY_FILE, STATE_FILE

__all__ = ["run_lab_scenario"]


def _describe(lab, scenario):
    return {"inventory": lab.inventory, "scenario": scenario["name"], "source": scenario.get("source"),
            "fault": scenario.get("fault"), "expect": scenario.get("expect"), "hosts": lab.hosts}


def run_lab_scenario(module):
    params = module.params
    lab_dir = os.path.abspath(params["lab_dir"])
    result = {"changed": False, "lab_dir": lab_dir}
    try:
        if params["state"] == "absent":
            present = os.path.exists(os.path.join(lab_dir, STATE_FILE))
            if module.check_mode:
                result.update(changed=present, removed={"present": present, "stopped": [], "killed": []})
            else:
                result["removed"] = destroy(lab_dir)
                result["changed"] = result["removed"]["present"]
            module.exit_json(**result)

        scenario = load_scenario(params["scenario"], params["scenario_dirs"])
        current = open_lab(lab_dir)
        unchanged = current is not None and not params["force"] and current.alive()
        if unchanged and current.state.get("digest") == scenario_digest(scenario):
            result.update(_describe(current, scenario))
            module.exit_json(**result)
        if module.check_mode:
            result.update(changed=True, scenario=scenario["name"], source=scenario.get("source"),
                          fault=scenario.get("fault"), expect=scenario.get("expect"), hosts={},
                          inventory=os.path.join(lab_dir, INVENTORY_FILE))
            module.exit_json(**result)
        if os.path.exists(os.path.join(lab_dir, STATE_FILE)):
            result["removed"] = destroy(lab_dir)
        lab = build(scenario, lab_dir)
        result.update(changed=True, **_describe(lab, scenario))
    except ScenarioError as exc:
        module.fail_json(msg=str(exc), problems=[{"file": exc.source, "location": loc, "why": why} for loc, why in exc.problems], **result)
    except LabError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)
