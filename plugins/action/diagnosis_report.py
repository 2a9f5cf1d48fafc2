# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.offline._inputs import write_saved
from ansible_collections.cloudnet.triage.plugins.modules.diagnosis_report import DOCUMENTATION
from ansible_collections.cloudnet.triage.plugins.plugin_utils._action import ControllerAction, action_spec
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._run import run_report


class ActionModule(ControllerAction):
    NAME = "cloudnet.triage.diagnosis_report"
    SPEC = action_spec(DOCUMENTATION)

    def act(self, args):
        report = run_report(args["hosts"], args["collected"], args["active_hosts"], args["report_dir"], args["formats"],
                            graphviz=args["graphviz"], junit_fail_on=args["junit_fail_on"], fail_on=args["fail_on"],
                            outside=dict((str(name), str(address or name)) for name, address in args["outside"].items()),
                            plan=args["plan"], probe_results=args["probe_results"], records=args.get("neutron"))
        result = dict(diagnosis=report["diagnosis"], report_dir=report["report_dir"], files=report["files"],
                      render_errors=report["errors"], lines=report["lines"], gate=report["gate"],
                      ansible_facts={"report_fleet": report["fleet"], "report_diagnosis": report["diagnosis"],
                                     "report_path": report["report_dir"]})
        if args.get("facts_dir"):
            # What this action got per host, saved as is: an offline run replays the same path.
            result["facts_files"] = write_saved(args["facts_dir"], args["hosts"], args["collected"], args["active_hosts"])
        if args["set_stats"]:
            # What set_stats would publish, for AWX workflows (the strategy reads ansible_stats from any result).
            result["ansible_stats"] = {"data": report["stats"], "per_host": False, "aggregate": True}
        return result
