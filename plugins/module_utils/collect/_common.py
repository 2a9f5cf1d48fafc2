# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Options every probe module takes, merged into each argument_spec (doc fragments: cloudnet.triage.probe,
cloudnet.triage.probe.ovs)."""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._ovsdb import DEFAULT_DB_SOCKET

__all__ = ["OVS_ARGUMENT_SPEC", "PROBE_ARGUMENT_SPEC", "probe_argument_spec"]

PROBE_ARGUMENT_SPEC = {
    "namespaces": {"type": "list", "elements": "str", "default": ["*"]},
    "netns_dirs": {"type": "list", "elements": "path", "default": []},
    "include_unnamed": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 10.0},
}

# The OVS database a probe that reads the whole host also asks (one round trip).
OVS_ARGUMENT_SPEC = {
    "ovs_db_socket": {"type": "str", "default": DEFAULT_DB_SOCKET},
}


def probe_argument_spec(ovs=False, **specific):
    """The shared probe options (with ovs=True also the OVS socket) plus a module's own."""
    spec = {key: dict(value) for key, value in PROBE_ARGUMENT_SPEC.items()}
    if ovs:
        spec.update((key, dict(value)) for key, value in OVS_ARGUMENT_SPEC.items())
    spec.update(specific)
    return spec
