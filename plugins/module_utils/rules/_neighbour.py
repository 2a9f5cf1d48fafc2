# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Sentences and severities the neighbour rules (arp_mac_mismatch, duplicate_ip, stale_neighbour) share."""

from __future__ import annotations

__all__ = ["SAMPLE", "SELF_HEALING", "UNRESOLVED", "entry_fact", "owner_fact", "severity_of"]

SAMPLE = 5
UNRESOLVED = ("failed", "incomplete")
# Entries the kernel will verify again soon: a wrong MAC there heals itself more often than not.
SELF_HEALING = ("stale", "delay", "probe")


def entry_fact(ip, mac, state):
    return "neighbour %s lladdr %s (%s)" % (ip, mac or "none", state)


def owner_fact(device, ip, mac):
    return "%s owns %s with MAC %s" % (device, ip, mac or "none")


def severity_of(state):
    return "warning" if state in SELF_HEALING else "critical"
