# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Remedy commands: the one place that turns an argument list into text an operator pastes.

Every argument goes through ``shlex.quote``: names come from the system and are data, never shell.
"""

from __future__ import annotations

import shlex

__all__ = ["command", "namespace_prefix", "ovs_vsctl"]


def namespace_prefix(label):
    """The argument list that runs a command inside the namespace a label names (see model._identity)."""
    if not label:
        return []
    if label.startswith("pid:"):
        return ["nsenter", "-t", label[4:], "-n"]
    if label.startswith("id:"):
        # Nothing names it any more: the operator has to find a holder first.
        return ["nsenter", "--net=/proc/<PID>/ns/net"]
    return ["ip", "netns", "exec", label]


def command(label, *args):
    """One remedy line: ``args`` run in the namespace ``label``, every part quoted."""
    return " ".join(shlex.quote(str(part)) for part in namespace_prefix(label) + [str(arg) for arg in args])


def ovs_vsctl(*args):
    """An ovs-vsctl remedy line (OVS runs in the host's own namespace)."""
    return command("", "ovs-vsctl", *args)
