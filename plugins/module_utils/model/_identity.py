# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""How a namespace and a device are named across the controller: one convention for digests, model,
findings, remedies and the picture, and the one place that decides what kind of namespace a fact is.

A namespace's identity (``NamespaceIdentity``) is data: its kind (``root``, ``named``, ``process``,
``unnamed``), its name, the first PID that holds it and its inode, taken from the facts here and nowhere
else. Its label is the one string that names it in digests, model keys and evidence:

- ``""`` for the host's own (root) namespace (evidence and diagnosis.json carry ``None``);
- its name for a named one;
- ``pid/<PID>`` for one only processes hold;
- ``inode/<inode>`` for one nothing names.

A netns name may hold any character but ``/`` and NUL, and is never ``""``, ``.`` or ``..`` (iproute2's
``is_valid_netns_name``; a name comes from a directory entry), so every label that is not a name carries
a ``/``: a namespace named ``pid:1``, ``root`` or ``-all`` is a named one and can pass for nothing else.
Messages, globs and pictures call the root namespace ``root/`` (``display_label``).
"""

from __future__ import annotations

from collections import namedtuple

__all__ = [
    "KINDS",
    "NAMED",
    "NamespaceIdentity",
    "PROCESS",
    "ROOT",
    "ROOT_DISPLAY",
    "UNNAMED",
    "display_label",
    "end_identity",
    "glob_names",
    "identity",
    "label_identity",
    "namespace_identity",
    "namespace_label",
    "ns_field",
    "socket_identity",
    "valid_name",
    "where",
]

ROOT, NAMED, PROCESS, UNNAMED = "root", "named", "process", "unnamed"
KINDS = (ROOT, NAMED, PROCESS, UNNAMED)
ROOT_DISPLAY = "root/"


class NamespaceIdentity(namedtuple("NamespaceIdentity", ("kind", "name", "pid", "inode"))):
    """What a namespace is, as data: kind, name (named), first holder PID (process), inode."""

    __slots__ = ()

    @property
    def label(self):
        if self.kind == ROOT:
            return ""
        if self.kind == NAMED:
            return self.name
        if self.kind == PROCESS:
            return "pid/%d" % self.pid
        return "inode/%s" % ("?" if self.inode is None else self.inode)

    @property
    def display(self):
        return self.label or ROOT_DISPLAY


def valid_name(name):
    """Whether ``name`` can be a network namespace's name (a file name under /run/netns)."""
    return (isinstance(name, str) and name not in ("", ".", "..")
            and "/" not in name and "\0" not in name)


def _pid(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _inode(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def namespace_identity(root=False, name=None, holder_pids=(), inode=None):
    """The identity of one namespace from what the reader saw of it: the one place its kind is decided.

    A name that no namespace can have (facts that were not read from a directory) names nothing: the
    namespace is then known by its holder or its inode, never by a label that passes for another kind."""
    inode = _inode(inode)
    if root:
        return NamespaceIdentity(ROOT, name if valid_name(name) else None, None, inode)
    if valid_name(name):
        return NamespaceIdentity(NAMED, name, None, inode)
    for pid in holder_pids or ():
        if _pid(pid) is not None:
            return NamespaceIdentity(PROCESS, None, pid, inode)
    return NamespaceIdentity(UNNAMED, None, None, inode)


def identity(namespace):
    """The identity of one namespace of the host facts (a dict with root, name, holder_pids, id)."""
    pids = namespace.get("holder_pids")
    return namespace_identity(namespace.get("root"), namespace.get("name"),
                              pids if isinstance(pids, (list, tuple)) else (), namespace.get("id"))


def label_identity(label):
    """The identity a label stands for, where only the label crossed (an arp/1 digest, a vxlan/1 tunnel).

    Unambiguous by construction: a label without ``/`` is a name; ``root/`` is the display of ``""``. A
    label of no known form is a namespace nothing names, so its remedy stays a placeholder."""
    if not label or label == ROOT_DISPLAY:
        return NamespaceIdentity(ROOT, None, None, None)
    if not isinstance(label, str):
        return NamespaceIdentity(UNNAMED, None, None, None)
    if valid_name(label):
        return NamespaceIdentity(NAMED, label, None, None)
    kind, _sep, value = label.partition("/")
    number = int(value) if value and all("0" <= char <= "9" for char in value) else None
    if kind == "pid" and _pid(number) is not None:
        return NamespaceIdentity(PROCESS, None, number, None)
    return NamespaceIdentity(UNNAMED, None, None, number if kind == "inode" else None)


def _by_inode(namespaces, inode):
    if inode is None:
        return None
    for namespace in namespaces or ():
        if isinstance(namespace, dict) and namespace.get("id") == inode:
            return namespace
    return None


def end_identity(tunnel, namespaces=()):
    """The identity of a tunnel end's namespace (a vxlan/1 tunnel, or a model end): from the host's
    namespace facts when it has them (``ns_id``), else from the end's own label."""
    namespace = _by_inode(namespaces, tunnel.get("ns_id"))
    return identity(namespace) if namespace is not None else label_identity(tunnel.get("ns_label") or "")


def socket_identity(tunnel, namespaces=()):
    """The identity of the namespace a tunnel's UDP socket lives in (vxlan/1 ``socket_*`` fields); its
    holders come from the host's namespace facts when they list that inode."""
    if not tunnel.get("socket_elsewhere"):
        return end_identity(tunnel, namespaces)
    namespace = _by_inode(namespaces, tunnel.get("socket_ns"))
    if namespace is not None:
        return identity(namespace)
    return namespace_identity(tunnel.get("socket_ns_root"), tunnel.get("socket_ns_name"), (), tunnel.get("socket_ns"))


def namespace_label(namespace):
    """The label of one namespace of the host facts (a dict with root, name, holder_pids, id)."""
    return identity(namespace).label


def display_label(namespace):
    """How messages, globs and pictures name a namespace: its label, ``root/`` for the host's own."""
    return identity(namespace).display


def glob_names(namespace):
    """Every name a ``namespaces`` glob may match: the label as displayed, the name (of the probe's own
    namespace too), ``root`` for the probe's own and ``pid:<PID>`` per holder (the documented forms), and
    ``pid/<PID>`` per holder. A named namespace called ``root`` or ``pid:1`` matches those globs as well:
    selection only, never identity."""
    ident = identity(namespace)
    names = [ident.display]
    if ident.name is not None and ident.name not in names:
        names.append(ident.name)
    if ident.kind == ROOT:
        names.append("root")
    pids = namespace.get("holder_pids")
    for pid in pids if isinstance(pids, (list, tuple)) else ():
        if _pid(pid) is not None:
            names.extend(("pid:%d" % pid, "pid/%d" % pid))
    return names


def ns_field(label):
    """The namespace as evidence names it: None for the root namespace."""
    return label or None


def where(label, device):
    """A device as a sentence names it."""
    return "%s in namespace %s" % (device, label) if label else "%s" % device
