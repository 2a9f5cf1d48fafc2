# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.cloudnet.triage.plugins.modules.diagnosis_report import DOCUMENTATION
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import filter_interface
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._run import run_report

# The options are the ones DOCUMENTATION declares, read from it: one definition, no copy to drift.
_SPEC = filter_interface(DOCUMENTATION).spec


class ActionModule(ActionBase):
    """Runs on the controller only: no connection, no module shipped to a host."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        validation = ArgumentSpecValidator(_SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail("cloudnet.triage.diagnosis_report: %s" % "; ".join(validation.error_messages))
        args = validation.validated_parameters
        try:
            report = run_report(args["hosts"], args["collected"], args["active_hosts"], args["report_dir"], args["formats"],
                                graphviz=args["graphviz"], junit_fail_on=args["junit_fail_on"], fail_on=args["fail_on"],
                                outside=dict((str(name), str(address or name)) for name, address in args["outside"].items()),
                                plan=args["plan"], probe_results=args["probe_results"])
        except (ValueError, TypeError, OSError) as exc:
            raise AnsibleActionFail("cloudnet.triage.diagnosis_report: %s" % exc)
        result.update(
            changed=False,
            diagnosis=report["diagnosis"],
            report_dir=report["report_dir"],
            files=report["files"],
            render_errors=report["errors"],
            lines=report["lines"],
            gate=report["gate"],
            ansible_facts={"report_fleet": report["fleet"], "report_diagnosis": report["diagnosis"],
                           "report_path": report["report_dir"]},
        )
        if args["set_stats"]:
            # What set_stats would publish, for AWX workflows (the strategy reads ansible_stats from any result).
            result["ansible_stats"] = {"data": report["stats"], "per_host": False, "aggregate": True}
        return result
