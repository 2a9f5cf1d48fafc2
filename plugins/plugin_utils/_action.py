# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The controller-side actions' common part: no connection, options checked against their own DOCUMENTATION.

Each action's module file holds only documentation; the options it declares, with those of the doc
fragments it extends, are the argument spec. One definition, no copy to drift.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import filter_interface

__all__ = ["ControllerAction", "action_spec"]


def action_spec(documentation):
    """The argument spec of a module DOCUMENTATION, with the options of its cloudnet.triage doc fragments."""
    return dict(filter_interface(documentation).spec)


class ControllerAction(ActionBase):
    """Runs on the controller only: no connection, no module shipped to a host."""

    TRANSFERS_FILES = False
    _requires_connection = False
    NAME = None     # cloudnet.triage.<module>: named in every error
    SPEC = None     # action_spec(DOCUMENTATION) of the module

    def validated(self):
        """The task's arguments checked against SPEC, defaults filled in; AnsibleActionFail naming the problem."""
        validation = ArgumentSpecValidator(self.SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail("%s: %s" % (self.NAME, "; ".join(validation.error_messages)))
        return validation.validated_parameters

    def error(self, exc):
        """The AnsibleActionFail to raise for ``exc``, named after the action."""
        return AnsibleActionFail("%s: %s" % (self.NAME, exc))

    def run(self, tmp=None, task_vars=None):
        result = super(ControllerAction, self).run(tmp, task_vars)
        args = self.validated()
        try:
            outcome = self.act(args)
        except (ValueError, TypeError, OSError) as exc:
            # Arguments the module's checks refused, or a report directory that cannot be written.
            raise self.error(exc)
        result.update(outcome)
        result["changed"] = False
        return result

    def act(self, args):
        """What the action returns, from its validated arguments; ValueError, TypeError or OSError for what it
        cannot do (raised as the action's failure, named after it)."""
        raise NotImplementedError
