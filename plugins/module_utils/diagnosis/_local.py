# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What one host shows on its own: the neighbour rules over a one-host model (the arp_consistency module).

The rules are imported by name here, not through the registry, so a module that runs on a target ships
exactly the code it needs.
"""

from __future__ import annotations

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import (
    _arp_mac_mismatch,
    _duplicate_ip,
    _stale_neighbour,
)

__all__ = ["local_findings"]

_RULES = (_arp_mac_mismatch.RULE, _duplicate_ip.RULE, _stale_neighbour.RULE)


def local_findings(digest):
    """Ranked mismatches between a host's namespaces, duplicates and stale gateway/peer entries."""
    findings, _not_checked = evaluate({digest.get("host") or "localhost": digest}, rules=_RULES)
    return findings
