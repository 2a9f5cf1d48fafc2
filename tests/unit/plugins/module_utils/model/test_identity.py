# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One namespace identity from the facts: the kind comes from what the reader saw, never from a name."""

from __future__ import annotations

import fnmatch

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.model import _identity
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import (
    NAMED,
    PROCESS,
    ROOT,
    ROOT_DISPLAY,
    UNNAMED,
    display_label,
    end_identity,
    glob_names,
    identity,
    label_identity,
    namespace_label,
    socket_identity,
)

# Names a netns may have (anything but "/" and NUL; not "", "." or ".."), chosen to look like something else.
HOSTILE = ["pid:1", "pid:4242", "id:4026531840", "root", "inode:7", "-all", "--help", "-h", "$(touch x)", "`id`",
           "a;b", "it's", 'say "hi"', "ünïcødé-名前", "n" * 255, "tab\there", "line\nbreak", "\x1b[31mred", "*", "4242"]


def facts(ns_id=7, name=None, root=False, holder_pids=()):
    return {"id": ns_id, "name": name, "root": root, "holder_pids": list(holder_pids)}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_named_namespace_is_named_whatever_its_name(name):
    ident = identity(facts(name=name, holder_pids=[1]))
    assert (ident.kind, ident.name, ident.pid) == (NAMED, name, None)
    assert namespace_label(facts(name=name, holder_pids=[1])) == name
    assert display_label(facts(name=name)) == name
    # The label alone says the same: a name never contains "/", every other label does.
    assert label_identity(name) == (NAMED, name, None, None)


def test_the_kinds_and_their_labels_never_collide():
    root = identity(facts(ns_id=1, root=True, holder_pids=[1]))
    held = identity(facts(ns_id=2, holder_pids=[4242, 4243]))
    unnamed = identity(facts(ns_id=3))
    assert (root.kind, root.label, root.display) == (ROOT, "", ROOT_DISPLAY)
    assert (held.kind, held.pid, held.label) == (PROCESS, 4242, "pid/4242")
    assert (unnamed.kind, unnamed.inode, unnamed.label) == (UNNAMED, 3, "inode/3")
    labels = [root.display, held.label, unnamed.label]
    assert all("/" in label for label in labels)
    assert not any(label in HOSTILE for label in labels)
    for ident in (root, held, unnamed):
        back = label_identity(ident.label)
        assert (back.kind, back.pid) == (ident.kind, ident.pid)
    assert label_identity(ROOT_DISPLAY).kind == ROOT


def test_the_root_namespace_is_root_even_when_it_has_a_name():
    ident = identity(facts(ns_id=1, name="lab-host", root=True))
    assert ident.kind == ROOT and ident.label == "" and ident.name == "lab-host"


@pytest.mark.parametrize("name", ["pid/1", "inode/7", "a/b", ".", "..", "", "nul\0byte", 42, None])
def test_a_name_no_namespace_can_have_names_nothing(name):
    # Facts that were not read from a directory: the namespace is known by its holder, or by nothing.
    assert identity(facts(name=name, holder_pids=[4242])) == (PROCESS, None, 4242, 7)
    assert identity(facts(name=name)) == (UNNAMED, None, None, 7)


@pytest.mark.parametrize("label", ["pid/", "pid/x", "pid/-1", "pid/0", "pid/\u0663", "inode/x", "other/1", "pid//1"])
def test_a_label_of_no_known_form_stays_unnamed(label):
    ident = label_identity(label)
    assert ident.kind == UNNAMED and ident.pid is None


@pytest.mark.parametrize("pids", [[True], [0], [-5], ["4242"], [None]])
def test_holders_that_are_no_pid_do_not_make_a_process_namespace(pids):
    assert identity(facts(holder_pids=pids)).kind == UNNAMED


def selected(namespace, pattern):
    return any(fnmatch.fnmatchcase(name, pattern) for name in glob_names(namespace))


def test_globs_keep_the_documented_forms_and_accept_the_new_ones():
    root = facts(ns_id=1, root=True, holder_pids=[1])
    held = facts(ns_id=2, holder_pids=[4242])
    named_root = facts(ns_id=3, name="root")
    named_pid = facts(ns_id=4, name="pid:1")
    for pattern in ("root", "root/"):
        assert selected(root, pattern)
    assert selected(named_root, "root") and not selected(named_root, "root/")
    for pattern in ("pid:4242", "pid/4242", "pid/*"):
        assert selected(held, pattern)
    # Selection only: "pid:1" also picks the namespace named so, whose identity stays named.
    assert selected(named_pid, "pid:1") and selected(root, "pid:1")
    assert identity(named_pid).kind == NAMED and not selected(named_pid, "pid/1")


def test_tunnel_ends_take_their_identity_from_the_host_facts():
    spaces = [facts(ns_id=1, root=True, holder_pids=[1]), facts(ns_id=9, holder_pids=[777]), facts(ns_id=5, name="pid:1")]
    tunnel = {"ns_label": "pid:1", "ns_id": 5, "socket_elsewhere": True, "socket_ns": 9, "socket_ns_root": False,
              "socket_ns_name": None}
    assert end_identity(tunnel, spaces) == (NAMED, "pid:1", None, 5)
    # The socket namespace is held by PID 777: the facts say so, the tunnel alone does not.
    assert socket_identity(tunnel, spaces) == (PROCESS, None, 777, 9)
    assert socket_identity(tunnel).kind == UNNAMED and socket_identity(tunnel).inode == 9
    assert socket_identity(dict(tunnel, socket_ns_root=True)).kind == ROOT
    assert socket_identity(dict(tunnel, socket_ns_name="root")) == (NAMED, "root", None, 9)
    assert end_identity({"ns_label": ROOT_DISPLAY}).kind == ROOT
    assert end_identity({"ns_label": "root"}).kind == NAMED


def test_the_module_lists_what_it_exports():
    assert all(hasattr(_identity, name) for name in _identity.__all__)
