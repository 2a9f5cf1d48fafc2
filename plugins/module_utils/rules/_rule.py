# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What a rule is: one finding code, its tier and default severity (from the catalogue), the check family
it reports under, the platforms it applies to, the fact sections it needs, and a function over the
fleet model that returns findings (with evidence and remedy) and notes of what it could not evaluate.

The engine derives "not checked" from ``needs``: a reachable host that lacks a section a rule needs
is listed with the reason, never silently skipped. A rule reads only hosts that have its sections.
"""

from __future__ import annotations

import functools
import gc

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import CATALOGUE

__all__ = ["Rule", "paused_gc"]


class Rule(object):
    """One rule per finding code."""

    __slots__ = ("code", "family", "tier", "severity", "meaning", "needs", "platforms", "evaluate")

    def __init__(self, code, family, needs, evaluate, platforms=None):
        entry = CATALOGUE[code]   # KeyError: a rule for a code the catalogue does not know
        self.code = code
        self.family = family
        self.tier = entry.tier
        self.severity = entry.severity
        self.meaning = entry.meaning
        self.needs = tuple(needs)
        self.platforms = None if platforms is None else tuple(platforms)
        self.evaluate = evaluate

    def applies_to(self, state):
        return self.platforms is None or state.platform in self.platforms

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
