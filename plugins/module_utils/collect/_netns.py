# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Network namespace enumeration and in-process entry (setns), always returning to the original one.

Only the standard library: os.setns on Python 3.12+, libc's setns through ctypes before that.
"""

from __future__ import annotations

import errno
import fnmatch
import os

from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import display_label, glob_names

__all__ = [
    "DEFAULT_DIRS",
    "Namespace",
    "NamespaceError",
    "Walker",
    "enumerate_namespaces",
    "select_namespaces",
    "setns",
]

CLONE_NEWNET = 0x40000000
DEFAULT_DIRS = ("/run/netns", "/var/run/netns")
MAX_HOLDERS = 5


class NamespaceError(Exception):
    """A namespace could not be entered: state is 'vanished' or 'denied'."""

    def __init__(self, state, message):
        super().__init__(message)
        self.state = state


def _libc_setns():
    import ctypes  # only on Python < 3.12, where os.setns does not exist

    libc = ctypes.CDLL(None, use_errno=True)
    call = libc.setns
    call.argtypes = [ctypes.c_int, ctypes.c_int]
    call.restype = ctypes.c_int

    def _setns(fd):
        if call(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    return _setns


if hasattr(os, "setns"):
    def setns(fd):
        """Move the calling thread into the network namespace open at fd."""
        os.setns(fd, CLONE_NEWNET)
else:
    setns = _libc_setns()


class Namespace:
    """One network namespace as enumerated: id (nsfs inode), name, paths that open it."""

    __slots__ = ("id", "name", "root", "holder_pids", "paths", "current", "fd")

    def __init__(self, ns_id, name=None, root=False):
        self.id = ns_id
        self.name = name
        self.root = root
        self.holder_pids = []
        self.paths = []
        self.current = False
        self.fd = None

    def _facts(self):
        return {"id": self.id, "name": self.name, "root": self.root, "holder_pids": self.holder_pids}

    @property
    def label(self):
        """How messages name it (model._identity): 'root/', its name, 'pid/<first holder>', 'inode/<inode>'."""
        return display_label(self._facts())

    def match_names(self):
        """Every name a glob may match (model._identity.glob_names)."""
        return glob_names(self._facts())

    def open(self):
        """An O_RDONLY fd for the namespace; NamespaceError when every path is gone or refused."""
        if self.fd is not None:
            return os.dup(self.fd)
        denied = None
        for path in self.paths:
            try:
                # O_NONBLOCK: a path swapped for a FIFO since listing must not hang the probe.
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EPERM):
                    denied = exc
                continue
            try:
                if os.fstat(fd).st_ino == self.id:
                    return fd
            except OSError:
                pass
            # The path now names another namespace (name reused, PID recycled).
            os.close(fd)
        if denied is not None:
            raise NamespaceError("denied", "cannot open %s: %s" % (self.label, denied.strerror))
        raise NamespaceError("vanished", "namespace %s (id %d) is gone" % (self.label, self.id))


def _nsfs_device():
    return os.stat("/proc/self/ns/net").st_dev


def enumerate_namespaces(extra_dirs=(), include_unnamed=True, proc="/proc", errors=None, default_dirs=DEFAULT_DIRS):
    """Every network namespace visible here: the current one (as root) first, then named, then unnamed.

    Named: files under /run/netns, /var/run/netns and extra_dirs that are nsfs mounts.
    Unnamed: held by processes only (from /proc/<pid>/ns/net, deduplicated by inode). When the probe runs
    in another mount namespace than PID 1 (a container, a lab host sharing the machine's /proc), only
    processes of its own mount namespace count, so it never reports the machine's other namespaces.
    errors (a list) receives {namespace, section, message} for entries that could not be read.
    """
    if errors is None:
        errors = []
    self_path = os.path.join(proc, "thread-self", "ns", "net")
    if not os.path.exists(self_path):
        self_path = os.path.join(proc, "self", "ns", "net")
    own = os.stat(self_path)
    nsfs_dev = own.st_dev
    by_id = {}
    root = Namespace(own.st_ino, root=True)
    root.current = True
    root.paths.append(self_path)
    by_id[root.id] = root
    seen_dirs = set()
    for directory in list(default_dirs) + list(extra_dirs):
        try:
            dir_stat = os.stat(directory)
        except OSError:
            continue
        key = (dir_stat.st_dev, dir_stat.st_ino)
        if key in seen_dirs:
            continue  # /var/run is usually a link to /run
        seen_dirs.add(key)
        try:
            entries = sorted(os.listdir(directory))
        except OSError as exc:
            errors.append({"namespace": None, "section": "namespaces",
                           "message": "cannot list %s: %s" % (directory, exc.strerror)})
            continue
        for entry in entries:
            path = os.path.join(directory, entry)
            try:
                st = os.stat(path)
            except OSError as exc:
                errors.append({"namespace": entry, "section": "namespaces",
                               "message": "cannot stat %s: %s" % (path, exc.strerror)})
                continue
            if st.st_dev != nsfs_dev:
                # A leftover file whose namespace mount is gone (failed `ip netns del`).
                errors.append({"namespace": entry, "section": "namespaces",
                               "message": "%s is not a network namespace mount" % path})
                continue
            ns = by_id.get(st.st_ino)
            if ns is None:
                ns = by_id[st.st_ino] = Namespace(st.st_ino, name=entry)
            elif ns.name is None:
                ns.name = entry
            ns.paths.append(path)
    if include_unnamed:
        _scan_processes(proc, nsfs_dev, by_id)
    named = sorted((ns for ns in by_id.values() if not ns.root and ns.name is not None), key=lambda ns: ns.name)
    unnamed = sorted((ns for ns in by_id.values() if not ns.root and ns.name is None), key=lambda ns: ns.id)
    return [root] + named + unnamed


def _inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _scan_processes(proc, nsfs_dev, by_id):
    try:
        pids = [int(entry) for entry in os.listdir(proc) if entry.isdigit()]
    except OSError:
        return
    pids.sort()
    own_mnt = _inode(os.path.join(proc, "self", "ns", "mnt"))
    scoped = own_mnt != _inode(os.path.join(proc, "1", "ns", "mnt"))
    for pid in pids:
        path = "%s/%d/ns/net" % (proc, pid)
        try:
            st = os.stat(path)
        except OSError:
            continue  # exited, or not ours to look at (no privilege)
        if st.st_dev != nsfs_dev:
            continue
        ns = by_id.get(st.st_ino)
        if ns is None:
            if scoped and _inode("%s/%d/ns/mnt" % (proc, pid)) != own_mnt:
                continue  # another container's or lab host's namespace, seen through a shared /proc
            ns = by_id[st.st_ino] = Namespace(st.st_ino)
        if len(ns.holder_pids) < MAX_HOLDERS:
            ns.holder_pids.append(pid)
            if not ns.current:
                ns.paths.append(path)


def select_namespaces(namespaces, patterns):
    """The namespaces whose name, 'root' (or 'root/') or 'pid:<PID>' (or 'pid/<PID>') matches one of the
    shell globs (a named namespace called 'root' or 'pid:1' matches those globs too: selection only)."""
    if not patterns or "*" in patterns:
        return list(namespaces)
    return [ns for ns in namespaces
            if any(fnmatch.fnmatchcase(name, pattern) for name in ns.match_names() for pattern in patterns)]


class Walker:
    """Enters namespaces one after the other and always returns to the original one on exit.

    entered counts, per namespace id, how often this walker moved the thread into it (setns); going
    back home is not counted, so the probe's own namespace stays at 0.
    """

    def __init__(self):
        path = "/proc/thread-self/ns/net"
        if not os.path.exists(path):
            path = "/proc/self/ns/net"
        self.home = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self.home_id = os.fstat(self.home).st_ino
        self.away = False
        self.entered = {}

    def enter(self, namespace):
        """Enter namespace (no-op for the current one); NamespaceError when it cannot be entered."""
        if namespace.id == self.home_id:
            self.go_home()
            return
        fd = namespace.open()
        try:
            setns(fd)
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise NamespaceError("denied", "cannot enter %s: %s (needs root / CAP_SYS_ADMIN)"
                                     % (namespace.label, exc.strerror))
            raise NamespaceError("vanished", "cannot enter %s: %s" % (namespace.label, exc.strerror))
        finally:
            os.close(fd)
        self.away = True
        self.entered[namespace.id] = self.entered.get(namespace.id, 0) + 1

    def go_home(self):
        if self.away:
            setns(self.home)
            self.away = False

    def close(self):
        try:
            self.go_home()
        finally:
            os.close(self.home)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
