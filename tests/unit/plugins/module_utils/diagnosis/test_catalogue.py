# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The catalogue is the one list of finding codes: the docs table and the rules read it."""

from __future__ import annotations

import os
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._catalogue import CATALOGUE, SEVERITIES, TIERS
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _registry

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "docs", "diagnosis.md")


def test_the_docs_table_is_the_catalogue():
    with open(DOCS, encoding="utf-8") as handle:
        text = handle.read()
    table = text.split("<!-- catalogue:start -->")[1].split("<!-- catalogue:end -->")[0]
    rows = [re.findall(r"\| `?([^|`]+)`? ", line + " ") for line in table.strip().splitlines()[2:]]
    documented = [(row[0].strip(), row[1].strip(), row[2].strip()) for row in rows]
    assert documented == [(c.code, c.tier, c.severity) for c in CATALOGUE.values()]


def test_entries_use_the_ranking_vocabularies():
    for entry in CATALOGUE.values():
        assert entry.tier in TIERS and entry.severity in SEVERITIES and entry.meaning


def test_every_rule_is_a_catalogue_code_with_the_catalogue_tier():
    for rule in _registry.registered_rules():
        assert rule.code in CATALOGUE and rule.tier == CATALOGUE[rule.code].tier
