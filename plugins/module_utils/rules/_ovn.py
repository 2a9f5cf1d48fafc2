# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What the OVN rules share: a host's chassis facts, whether its controller is up, and which logical port's
Southbound record announces an address with a MAC (OVN's ARP responder answers from it)."""

from __future__ import annotations

import weakref

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command

__all__ = ["chassis", "controller_up", "nb_fix", "responder"]

_RESPONDERS = weakref.WeakKeyDictionary()


def chassis(state):
    """(ovn facts, None) of a chassis; (None, why not checked) of a chassis without them; (None, None): no chassis."""
    ovn = state.ovn
    if isinstance(ovn, dict):
        return (ovn, None) if ovn.get("chassis") else (None, None)
    ids = (state.ovs or {}).get("external_ids") or {}
    if ids.get("ovn-remote"):
        return None, "this chassis's OVN facts were not read (host_snapshot reads them with read_ovs)"
    return None, None


def controller_up(ovn):
    """True when ovn-controller runs and says it is connected (or could not say)."""
    controller = ovn.get("controller") or {}
    return bool(controller.get("running")) and controller.get("connected") is not False


def _announced(model):
    """{(ip, mac): [(host, logical_port, chassis)]} from every chassis's Port_Binding rows, built once per model."""
    index = _RESPONDERS.get(model)
    if index is not None:
        return index
    index = {}
    for state in model.hosts.values():
        ovn = state.ovn
        if not isinstance(ovn, dict) or not isinstance(ovn.get("bindings"), dict):
            continue
        for iface_id, binding in sorted((ovn["bindings"].get("ports") or {}).items()):
            for entry in (binding or {}).get("mac") or ():
                words = entry.split()
                if len(words) < 2:
                    continue    # "unknown", "router", "dynamic": no fixed address for the responder
                for ip in words[1:]:
                    ip = ip.split("/")[0]
                    index.setdefault((ip, words[0].lower()), []).append(
                        (state.name, binding.get("logical_port") or iface_id, binding.get("chassis")))
    _RESPONDERS[model] = index
    return index


def responder(model, ip, mac):
    """[(host, logical_port, chassis)] whose Southbound record answers ARP for ``ip`` with ``mac``."""
    try:
        return _announced(model).get((ip, (mac or "").lower()), [])
    except TypeError:
        return []   # a model that cannot be weakly referenced: no cache, no answer


def nb_fix(logical_port, right_mac, ip):
    """The Northbound record to correct (its owner, the CMS, would write it again if it is wrong there)."""
    return command(None, "ovn-nbctl", "lsp-set-addresses", logical_port, "%s %s" % (right_mac, ip))
