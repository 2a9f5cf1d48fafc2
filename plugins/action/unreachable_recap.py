# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.modules.unreachable_recap import DOCUMENTATION
from ansible_collections.cloudnet.triage.plugins.plugin_utils._action import ControllerAction, action_spec


class ActionModule(ControllerAction):
    """Gives the host its unreachable result back: no connection, nothing sent."""

    NAME = "cloudnet.triage.unreachable_recap"
    SPEC = action_spec(DOCUMENTATION)

    def act(self, args):
        return dict(unreachable=True, msg=args["msg"])
