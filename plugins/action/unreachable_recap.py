# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.cloudnet.triage.plugins.modules.unreachable_recap import DOCUMENTATION
from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import filter_interface

_SPEC = filter_interface(DOCUMENTATION).spec


class ActionModule(ActionBase):
    """Gives the host its unreachable result back: no connection, nothing sent."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        validation = ArgumentSpecValidator(_SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail("cloudnet.triage.unreachable_recap: %s" % "; ".join(validation.error_messages))
        result.update(changed=False, unreachable=True, msg=validation.validated_parameters["msg"])
        return result
