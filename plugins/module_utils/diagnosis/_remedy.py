# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Remedy commands: the one place that turns an argument list into text an operator pastes.

Every argument goes through ``shlex.quote``: names come from the system and are data, never shell.
Where a command runs is a namespace identity (``model._identity``), never guessed from a label or a
name: a named namespace gets ``ip netns exec NAME``, one only processes hold ``nsenter --target PID
--net --``, one nothing names a placeholder the operator fills in (as pasted it fails; it never runs
in another namespace).

Names that begin with ``-`` are protected here, the way each tool reads its line (checked against
iproute2 6.1, Open vSwitch 3.1, util-linux nsenter and arping):

- ``ip netns exec`` takes the next word as the name whatever it is (``--`` there would be a name);
- ip, tc and bridge read a device after its keyword (``dev NAME``, ``name NAME``), which the rules always
  write: a bare ``ip link show help`` prints the usage, ``ip link show up`` lists the devices that are up;
- the OVS tools stop reading options at ``--`` (ovs-ofctl reads ``-h`` anywhere on its line otherwise),
  so ``command`` puts one right after them, and one before arping's target.
"""

from __future__ import annotations

import shlex

from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import (
    NAMED,
    PROCESS,
    ROOT,
    NamespaceIdentity,
)

__all__ = ["comment", "command", "namespace_prefix", "netns_argument", "ovs_vsctl"]

# Tools whose options end at "--": right after the program, or before the one operand that follows them.
_OPTIONS_END_AFTER_PROGRAM = ("ovs-vsctl", "ovs-appctl", "ovs-ofctl")
_OPTIONS_END_BEFORE_OPERAND = ("arping",)
_ROOT = NamespaceIdentity(ROOT, None, None, None)


def _identity(namespace):
    if namespace is None or namespace == "":
        return _ROOT
    if isinstance(namespace, NamespaceIdentity):
        return namespace
    # A label is not an identity: "pid:1" or "root" may be a namespace's name (model._identity).
    raise TypeError("a remedy runs in a namespace identity (model._identity), not in %r" % (namespace,))


def _placeholder(ident):
    return "/proc/<PID in net:[%s]>/ns/net" % ("?" if ident.inode is None else ident.inode)


def namespace_prefix(namespace):
    """The argument list that runs a command inside ``namespace`` (a NamespaceIdentity; None: the root one)."""
    ident = _identity(namespace)
    if ident.kind == ROOT:
        return []
    if ident.kind == NAMED:
        return ["ip", "netns", "exec", ident.name]
    if ident.kind == PROCESS:
        return ["nsenter", "--target", str(ident.pid), "--net", "--"]
    # Nothing names it any more: the operator has to find a process that holds it first.
    return ["nsenter", "--net=" + _placeholder(ident), "--"]


def netns_argument(namespace):
    """What ``ip link set dev DEV netns ...`` moves a device into: a path, so that no name is read as a PID
    and no PID as a name (``ip`` opens a value with ``/`` as a file)."""
    ident = _identity(namespace)
    if ident.kind == ROOT:
        return "/proc/1/ns/net"
    if ident.kind == NAMED:
        return "/run/netns/" + ident.name
    if ident.kind == PROCESS:
        return "/proc/%d/ns/net" % ident.pid
    return _placeholder(ident)


def _options_ended(args):
    if args and args[0] in _OPTIONS_END_AFTER_PROGRAM and args[1:2] != ["--"]:
        return [args[0], "--"] + args[1:]
    if len(args) > 1 and args[0] in _OPTIONS_END_BEFORE_OPERAND and args[-2] != "--":
        return args[:-1] + ["--", args[-1]]
    return args


def command(namespace, *args):
    """One remedy line: ``args`` run in ``namespace`` (a NamespaceIdentity; None: the root one), every
    part quoted, options of the tool ended before any name."""
    argv = namespace_prefix(namespace) + _options_ended([str(arg) for arg in args])
    return " ".join(shlex.quote(part) for part in argv)


def ovs_vsctl(*args):
    """An ovs-vsctl remedy line (OVS runs in the host's own namespace)."""
    return command(None, "ovs-vsctl", *args)


def _inert(char):
    if char.isprintable():
        return char
    return "\\x%02x" % ord(char) if ord(char) < 0x100 else "\\u%04x" % ord(char)


def comment(text):
    """A remedy line that only says something: no character of a name in it can end the comment early
    (a newline would start a command when the lines are pasted)."""
    return "# " + "".join(_inert(char) for char in str(text))
