# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._plan import probe_plan
from ansible_collections.cloudnet.triage.plugins.module_utils.model._collected import build_fleet
from ansible_collections.cloudnet.triage.plugins.module_utils.model._fleet import build_model
from ansible_collections.cloudnet.triage.plugins.modules.probe_plan import DOCUMENTATION
from ansible_collections.cloudnet.triage.plugins.plugin_utils._action import ControllerAction, action_spec


class ActionModule(ControllerAction):
    NAME = "cloudnet.triage.probe_plan"
    SPEC = action_spec(DOCUMENTATION)

    def act(self, args):
        # A question's error names the field and the value; nothing has been sent yet.
        fleet = build_fleet(list(args["hosts"]), list(args["collected"]), list(args["active_hosts"]))
        plan = probe_plan(build_model(fleet, strict=False), args["question"], active=args["active"],
                          rounds=args["rounds"], bound=args["bound"])
        return dict(plan=plan, ansible_facts={"probe_plan": plan})
