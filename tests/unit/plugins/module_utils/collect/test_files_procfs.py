# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The files section and procfs: /proc/net/bonding/* below the kernel's /proc/net link, and files whose st_size is 0."""

from __future__ import annotations

import os

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _files
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._files import DEFAULT_FILES, ROOTS, read_files

BOND = "Ethernet Channel Bonding Driver: v6.1.0\n\nBonding Mode: fault-tolerance (active-backup)\n"


def proc_tree(tmp_path, link="self/net"):
    """A tree laid out as procfs is: /proc/net a link to self/net, the thread's own view under thread-self/net."""
    for where in ("thread-self", "self"):
        bonding = tmp_path / "proc" / where / "net" / "bonding"
        bonding.mkdir(parents=True)
        (bonding / "bond0").write_text(BOND if where == "thread-self" else "not this one\n")
    os.symlink(link, str(tmp_path / "proc" / "net"))
    return str(tmp_path)


def test_bonding_is_read_by_default():
    assert "/proc/net/bonding" in ROOTS and "/proc/net/bonding/*" in DEFAULT_FILES


def test_proc_net_is_read_through_the_thread_s_own_view(tmp_path):
    facts = read_files(["/proc/net/bonding/*"], root=proc_tree(tmp_path))
    assert facts["refused"] == []
    assert [(row["path"], row["content"]) for row in facts["read"]] == [("/proc/net/bonding/bond0", BOND)]


def test_another_link_at_proc_net_is_still_refused(tmp_path):
    facts = read_files(["/proc/net/bonding/*"], root=proc_tree(tmp_path, link="/etc"))
    assert facts["read"] == [] and facts["refused"] == [{"path": "/proc/net", "reason": "is a symlink: not followed"}]


def test_a_link_below_proc_net_is_refused(tmp_path):
    root = proc_tree(tmp_path)
    os.symlink("/etc/passwd", str(tmp_path / "proc" / "thread-self" / "net" / "bonding" / "bond1"))
    facts = read_files(["/proc/net/bonding/*"], root=root)
    assert [row["path"] for row in facts["read"]] == ["/proc/net/bonding/bond0"]
    assert facts["refused"] == [{"path": "/proc/net/bonding/bond1", "reason": "is a symlink: not followed"}]


def test_procfs_files_of_size_zero_are_read_up_to_the_cap(monkeypatch):
    # /proc/net/dev stands in for /proc/net/bonding/<bond> (no bonding driver here): st_size 0, text read all the same
    monkeypatch.setattr(_files, "ROOTS", ROOTS + ("/proc/net/dev",))
    whole = read_files(["/proc/net/dev"])["read"][0]
    assert whole["size"] == 0 and whole["content"].startswith("Inter-") and whole["truncated"] is False
    cut = read_files(["/proc/net/dev"], max_size=16)["read"][0]
    assert len(cut["content"]) == 16 and cut["truncated"] is True
