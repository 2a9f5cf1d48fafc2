# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Options every probe module takes, merged into each argument_spec (doc fragment: cloudnet.triage.probe)."""

from __future__ import annotations

__all__ = ["PROBE_ARGUMENT_SPEC", "probe_argument_spec"]

PROBE_ARGUMENT_SPEC = {
    "namespaces": {"type": "list", "elements": "str", "default": ["*"]},
    "netns_dirs": {"type": "list", "elements": "path", "default": []},
    "include_unnamed": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 10.0},
}


def probe_argument_spec(**specific):
    """The shared probe options plus a module's own."""
    spec = {key: dict(value) for key, value in PROBE_ARGUMENT_SPEC.items()}
    spec.update(specific)
    return spec
