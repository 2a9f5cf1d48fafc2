# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What a rule is: one finding code, its tier and default severity (from the catalogue), the check family
it reports under, the platforms it applies to, the hosts it concerns, the fact sections it needs, and a function
over the fleet model that returns findings (with evidence and remedy) and notes of what it could not evaluate.

The engine derives "not checked" from the declaration: a reachable host the rule concerns that lacks a section of
``needs`` (all of them), or every section of a group of ``needs_any`` (at least one of each group), is listed
with the reason, never silently skipped. ``hosts`` (``hosts(state, model) -> bool``, over the model or platform
view the rule reads) narrows the hosts the rule concerns at all: a rule about network nodes owes a compute node
nothing, so the compute node is not listed. A rule reads only hosts that have its sections; where a group lets
it read one part of a host without the other (a bond's links without its OVS facts), it says that part's gap
itself, as only it knows which part went unread.
"""

from __future__ import annotations

import functools
import gc

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import CATALOGUE

__all__ = ["Rule", "paused_gc"]


class Rule(object):
    """One rule per finding code.

    ``needs``: sections a host must have all of; ``needs_any``: groups of sections a host must have at least one
    of each; ``hosts``: ``hosts(state, model) -> bool``, whether the rule concerns that host at all (None: every
    host of its platforms). ``probes``: ``probes(model, rounds) -> (lead, [(source host, address, port, kind,
    fact)])``, the TCP connects that would show this rule's fault on the wire (only addresses the facts hold), for
    the probe plan (diagnosis/_plan.py): the first ``lead`` go before the fleet's own paths, the rest after them."""

    __slots__ = ("code", "family", "tier", "severity", "meaning", "needs", "needs_any", "hosts", "platforms", "evaluate",
                 "probes")

    def __init__(self, code, family, needs, evaluate, platforms=None, needs_any=None, hosts=None, probes=None):
        entry = CATALOGUE[code]   # KeyError: a rule for a code the catalogue does not know
        self.code = code
        self.family = family
        self.tier = entry.tier
        self.severity = entry.severity
        self.meaning = entry.meaning
        self.needs = tuple(needs)
        self.needs_any = tuple(tuple(group) for group in needs_any or ())
        for group in self.needs_any:
            if not group:
                raise ValueError("rule %s: an empty group in needs_any can never be met" % code)
        self.hosts = hosts
        self.probes = probes
        self.platforms = None if platforms is None else tuple(platforms)
        self.evaluate = evaluate

    def applies_to(self, state):
        return self.platforms is None or state.platform in self.platforms

    def concerns(self, state, model):
        """Whether the rule concerns ``state`` at all: its platforms, and its ``hosts`` over ``model`` (the model or
        the platform view the rule reads)."""
        return self.applies_to(state) and (self.hosts is None or bool(self.hosts(state, model)))

    def __repr__(self):
        return "Rule(%s)" % self.code


def paused_gc(function):
    """Run ``function`` with the cyclic GC paused.

    The model is 100,000s of small tuples that live until the end: the cyclic GC would rescan them
    again and again (quadratic on large fleets) and can free nothing."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper
