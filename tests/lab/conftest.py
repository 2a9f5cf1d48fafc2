# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for root integration tests that run against lab scenarios built in namespaces.

    def test_something(lab_factory, run_module):
        lab = lab_factory("peer_pods_mac_mismatch")          # shipped name, path, or a dict
        result = run_module(lab, "worker", "cloudnet.triage.netns_probe", {"namespaces": ["*"]})

Every lab built through lab_factory is destroyed when the test ends, also when it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(REPO, ".venv", "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import (  # noqa: E402 pylint: disable=wrong-import-position
    build,
    destroy,
    load_scenario,
)

ANSIBLE = os.path.join(REPO, ".venv", "bin", "ansible")


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="lab tests need root (namespaces)")
        for item in items:
            item.add_marker(skip)


@pytest.fixture
def lab_factory(tmp_path):
    """Build a scenario (name, path or dict) into a fresh lab_dir; every lab is destroyed at teardown."""
    built = []

    def factory(scenario, lab_dir=None):
        if isinstance(scenario, str):
            scenario = load_scenario(scenario)
        lab_dir = lab_dir or str(tmp_path / ("lab%d" % len(built)))
        built.append(lab_dir)
        return build(scenario, lab_dir)

    yield factory
    for lab_dir in built:
        destroy(lab_dir)


def _run_module(lab, host, module, args=None, timeout=300):
    """Run one module on one lab host through `ansible` with the lab's inventory; returns its result dict."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0")
    argv = [ANSIBLE, host, "-i", lab.inventory, "-m", module, "-a", json.dumps(args or {})]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env, check=False)
    try:
        output = json.loads(proc.stdout)
        return output["plays"][0]["tasks"][0]["hosts"][host]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("ansible %s -m %s gave no result (exit %d):\n%s\n%s" % (host, module, proc.returncode, proc.stdout, proc.stderr)) from None


@pytest.fixture
def run_module():
    """run_module(lab, host, module, args) -> the module's result dict (has 'failed' when it failed)."""
    return _run_module
