# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""How a namespace and a device are named across the controller: one convention for digests, model,
findings, remedies and the picture.

A namespace label is ``""`` for the host's own (root) namespace, its name for a named one,
``pid:<PID>`` for one only processes hold, ``id:<inode>`` for one nothing names. Evidence and
diagnosis.json carry ``None`` for the root namespace.
"""

from __future__ import annotations

__all__ = ["display_label", "namespace_label", "ns_field", "where"]


def namespace_label(namespace):
    """The label of one namespace of the host facts (a dict with root, name, holder_pids, id)."""
    if namespace.get("root"):
        return ""
    if namespace.get("name"):
        return namespace["name"]
    pids = namespace.get("holder_pids") or []
    if pids:
        return "pid:%s" % pids[0]
    return "id:%s" % namespace.get("id")


def display_label(namespace):
    """How messages, globs and pictures name a namespace: its label, ``root`` for the host's own."""
    return namespace_label(namespace) or "root"


def ns_field(label):
    """The namespace as evidence names it: None for the root namespace."""
    return label or None


def where(label, device):
    """A device as a sentence names it."""
    return "%s in namespace %s" % (device, label) if label else "%s" % device
