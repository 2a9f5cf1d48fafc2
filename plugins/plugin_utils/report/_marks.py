# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What of a finding's evidence is the fault, and what is only the way to it.

An evidence item (``{host, namespace, device, fact}``) names a device; its ``fact`` says what about it
the finding rests on. ``marks(code, fact)`` reads the fact sentences the rules write
(plugins/module_utils/rules) and returns what the picture marks red on that device: the neighbour entry,
the MAC that differs, the MTU and the budget, the bond member that is down, the VLAN tag. Facts that only
show the way (an owner, a tc redirect, a tunnel pairing) are context: the device is drawn on the
finding's path, not red. A fact no pattern knows marks the whole device, as before.
"""

from __future__ import annotations

import re

__all__ = ["CONTEXT", "FAULT", "marks"]

FAULT = "fault"
CONTEXT = "context"

_MAC = r"(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}"
_NEIGHBOUR = re.compile(r"^neighbour (?P<ip>\S+) lladdr (?P<mac>\S+) \((?P<state>[^)]*)\)")
_MAC_DIFFERS = re.compile(r" has MAC (?P<mac>%s), not (?P<want>%s)" % (_MAC, _MAC))
_MAC_NOT_OWNER = re.compile(r" has MAC (?P<mac>\S+) but does not own (?P<ip>\S+)")
_OWNS = re.compile(r"^.+ owns (?P<ip>\S+) with MAC (?P<mac>\S+)$")
_BOND = re.compile(r"^bond (?P<bond>.+?) on (?P<bridge>.+?) \((?P<mode>[^)]*)\): (?P<members>.*)$")
_MEMBER = re.compile(r"^(?P<name>.+?) link_state=(?P<state>\S+)(?P<active> \(active\))?$")
_BUDGET = re.compile(r"^mtu (?P<mtu>\d+) \+ (?P<overhead>\d+) bytes VXLAN overhead = (?P<total>\d+) > "
                     r"underlay (?P<underlay>.+?) mtu (?P<underlay_mtu>\d+)")
_EFFECTIVE = re.compile(r"^effective mtu (?P<mtu>\d+)")
_DF_PING = re.compile(r"^ping -M do -s (?P<size>\d+) ")
_PORT_TAG = re.compile(r"^port (?P<port>.+?) tag=(?P<tag>\S+)(?: trunks=(?P<trunks>.*?))?(?: \(expected (?P<want>[^)]*)\))?$")
_PORT_TRUNKS = re.compile(r"^port (?P<port>.+?) trunks=(?P<trunks>.*)$")
_PORT_TO_BR = re.compile(r"^ovs-vsctl port-to-br (?P<port>.+?) -> (?P<bridge>\S+) \(expected (?P<want>[^)]*)\)")
_TARGET_STATE = re.compile(r"^(?P<dev>.+?) is (?P<state>down|absent|missing|not up.*)$")
_TUNNEL_END = re.compile(r"^vxlan id ")
# Facts that show the way to the fault, never the fault itself.
_CONTEXT = (re.compile(r"^tc mirred on "), re.compile(r"^VXLAN .+ pairs with "), re.compile(r"^veth .+ is paired with "),
            re.compile(r"^routes in this namespace go via "), re.compile(r"^VXLAN .+ sends to "), re.compile(r"^sent \d+ "))


def _mark(field, text, **extra):
    extra.update(role=FAULT, field=field, text=text)
    return extra


def marks(code, fact):
    """What an evidence fact marks on its device: a list of {role, field, text, ...}.

    ``role`` is FAULT (red) or CONTEXT (on the finding's path); ``field`` the part of the device it is
    about: neighbour, mac, address, mtu, bond, state, vlan, bridge, tunnel, device."""
    fact = fact if isinstance(fact, str) else ""
    found = _NEIGHBOUR.match(fact)
    if found:
        text = "neigh %s lladdr %s (%s)" % (found.group("ip"), found.group("mac"), found.group("state"))
        if code == "duplicate_ip":
            # Who resolved the duplicated address: the way to the fault, not the fault.
            return [{"role": CONTEXT, "field": "neighbour", "text": text}]
        return [_mark("neighbour", text, ip=found.group("ip"), mac=found.group("mac"))]
    found = _MAC_DIFFERS.search(fact)
    if found:
        return [_mark("mac", "MAC %s, not %s" % (found.group("mac"), found.group("want")), mac=found.group("mac"))]
    found = _MAC_NOT_OWNER.search(fact)
    if found:
        return [_mark("mac", "MAC %s does not own %s" % (found.group("mac"), found.group("ip")), mac=found.group("mac"))]
    found = _OWNS.match(fact)
    if found:
        if code == "duplicate_ip":
            return [_mark("address", "owns %s with MAC %s" % (found.group("ip"), found.group("mac")), ip=found.group("ip"))]
        return [{"role": CONTEXT, "field": "address", "text": fact}]
    found = _BOND.match(fact)
    if found:
        members = []
        for part in found.group("members").split("; "):
            member = _MEMBER.match(part)
            if member:
                members.append({"name": member.group("name"), "state": member.group("state"),
                                "active": bool(member.group("active"))})
        down = [member["name"] for member in members if member["state"] != "up"]
        text = "bond %s: %s" % (found.group("mode"), ", ".join(down) + " down" if down else "no active member")
        return [_mark("bond", text, bond=found.group("bond"), bridge=found.group("bridge"), members=members, down=down)]
    found = _BUDGET.match(fact)
    if found:
        values = dict((key, int(found.group(key))) for key in ("mtu", "overhead", "total", "underlay_mtu"))
        budget = "%(mtu)d + %(overhead)d = %(total)d > %(underlay_mtu)d" % values
        return [_mark("mtu", "mtu %(mtu)d: %(mtu)d + %(overhead)d bytes overhead = %(total)d" % values,
                      budget=budget, underlay=found.group("underlay"), **values)]
    found = _EFFECTIVE.match(fact)
    if found:
        return [_mark("mtu", "effective mtu %s (the ends differ)" % found.group("mtu"), mtu=int(found.group("mtu")))]
    found = _DF_PING.match(fact)
    if found:
        return [_mark("mtu", "DF ping of %s bytes refused as too big" % found.group("size"))]
    found = _PORT_TO_BR.match(fact)
    if found:
        return [_mark("bridge", "on %s, expected %s" % (found.group("bridge"), found.group("want")))]
    found = _PORT_TAG.match(fact)
    if found:
        text = "tag %s" % found.group("tag") + (" (expected %s)" % found.group("want") if found.group("want") else "")
        return [_mark("vlan", text)]
    found = _PORT_TRUNKS.match(fact)
    if found:
        return [_mark("vlan", "trunks %s" % found.group("trunks"))]
    if code == "tc_redirect_broken":
        found = _TARGET_STATE.match(fact)
        if found:
            return [_mark("state", "link %s" % found.group("state"))]
    if _TUNNEL_END.match(fact):
        return [_mark("tunnel", fact)]
    if any(pattern.match(fact) for pattern in _CONTEXT):
        return [{"role": CONTEXT, "field": "device", "text": fact}]
    return [_mark("device", fact)]
