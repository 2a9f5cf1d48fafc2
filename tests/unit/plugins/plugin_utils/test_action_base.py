# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller-side actions' common run: arguments checked against the module's DOCUMENTATION, the action's
act() called with them, its failures named after the action."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.cloudnet.triage.plugins.plugin_utils._action import ControllerAction, action_spec

DOCUMENTATION = r"""
module: sample_action
short_description: An action to test the base with
options:
  rounds:
    description: How many.
    type: int
    default: 2
extends_documentation_fragment:
  - cloudnet.triage.collected
"""


class SampleAction(ControllerAction):
    NAME = "cloudnet.triage.sample_action"
    SPEC = action_spec(DOCUMENTATION)

    def act(self, args):
        if args["rounds"] < 0:
            raise ValueError("rounds: %r is below 0" % args["rounds"])
        if args["rounds"] == 99:
            raise OSError("report_dir: not writable")
        return {"rounds": args["rounds"], "hosts_seen": list(args["hosts"]), "changed": True}


def _run(args):
    task = mock.MagicMock(args=args, async_val=0, check_mode=False, diff=False)
    action = SampleAction(task, mock.MagicMock(), mock.MagicMock(check_mode=False), mock.MagicMock(),
                          mock.MagicMock(), mock.MagicMock())
    return action.run(task_vars={})


ARGS = {"hosts": ["hv1"], "collected": [None], "active_hosts": ["hv1"]}


def test_the_action_gets_its_validated_arguments_and_never_reports_a_change():
    result = _run(dict(ARGS))
    assert result["rounds"] == 2 and result["hosts_seen"] == ["hv1"]
    # changed is the base's to say: these actions read and write reports, they change no host.
    assert result["changed"] is False


@pytest.mark.parametrize("args, message", [
    (dict(ARGS, rounds=-1), r"^cloudnet\.triage\.sample_action: rounds: -1 is below 0$"),
    (dict(ARGS, rounds=99), r"^cloudnet\.triage\.sample_action: report_dir: not writable$"),
    (dict(ARGS, rounds="many"), r"^cloudnet\.triage\.sample_action: .*rounds.*int"),
    ({"hosts": ["hv1"]}, r"^cloudnet\.triage\.sample_action: missing required arguments: active_hosts, collected"),
])
def test_refused_arguments_and_failures_are_named_after_the_action(args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        _run(args)


def test_an_action_that_says_nothing_it_does_is_a_programming_error():
    class Silent(ControllerAction):
        NAME = "cloudnet.triage.silent"
        SPEC = {}

    with pytest.raises(NotImplementedError):
        Silent.act(None, {})
