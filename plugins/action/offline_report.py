# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.modules.offline_report import DOCUMENTATION
from ansible_collections.cloudnet.triage.plugins.plugin_utils._action import ControllerAction, action_spec
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._offline import run_offline


class ActionModule(ControllerAction):
    NAME = "cloudnet.triage.offline_report"
    SPEC = action_spec(DOCUMENTATION)

    def act(self, args):
        report = run_offline(args["report_dir"], args["formats"], facts_dir=args["facts_dir"], sos_dir=args["sos_dir"],
                             expect_ovs=args["expect_ovs"], graphviz=args["graphviz"],
                             junit_fail_on=args["junit_fail_on"], fail_on=args["fail_on"])
        return dict(diagnosis=report["diagnosis"], report_dir=report["report_dir"], files=report["files"],
                    render_errors=report["errors"], lines=report["lines"], gate=report["gate"], reports=report["reports"])
