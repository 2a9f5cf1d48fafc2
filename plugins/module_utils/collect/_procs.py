# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Processes of the host: PID, network namespace (inode of ``/proc/<pid>/ns/net``), name and command line,
to find dnsmasq, haproxy, keepalived and the agents and tell which namespace each serves; and which
process holds a socket (``/proc/<pid>/fd`` links ``socket:[inode]``), for the listeners ``_sockets`` reads.

Bounded: at most ``max_processes`` processes, ``max_cmdline`` bytes of each command line, ``max_fds``
descriptors looked at in all. What the bounds cut is said. Plain Python, no Ansible import.
"""

from __future__ import annotations

import os
import re

__all__ = ["MAX_CMDLINE", "MAX_FDS", "MAX_PROCESSES", "read_processes", "socket_owners"]

MAX_PROCESSES = 4096
MAX_CMDLINE = 4096
MAX_FDS = 200000


def _pids(proc):
    try:
        return sorted(int(entry) for entry in os.listdir(proc) if entry.isdigit())
    except OSError:
        return []


def _read(path, limit):
    """Up to limit bytes of a /proc file, and whether there was more; (None, False) when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None, False
    try:
        data = os.read(fd, limit + 1)
    except OSError:
        return None, False
    finally:
        os.close(fd)
    return data[:limit], len(data) > limit


def read_processes(proc="/proc", max_processes=MAX_PROCESSES, max_cmdline=MAX_CMDLINE):
    """(rows, notes): one row per process {pid, ns, comm, cmdline, truncated}; ns is None where the namespace
    cannot be looked at (another user's process without privilege), cmdline [] for kernel threads."""
    rows, notes = [], []
    pids = _pids(proc)
    if not pids:
        notes.append("no process listed under %s" % proc)
    if len(pids) > max_processes:
        notes.append("%d processes, only the first %d by PID read" % (len(pids), max_processes))
        pids = pids[:max_processes]
    for pid in pids:
        base = "%s/%d" % (proc, pid)
        comm, _more = _read(base + "/comm", 64)
        if comm is None:
            continue  # exited since the listing
        raw, truncated = _read(base + "/cmdline", max_cmdline)
        try:
            ns = os.stat(base + "/ns/net").st_ino
        except OSError:
            ns = None
        args = [] if not raw else [part.decode("utf-8", "replace") for part in raw.rstrip(b"\0").split(b"\0")]
        args = redact_args(args)
        rows.append({"pid": pid, "ns": ns, "comm": comm.decode("utf-8", "replace").rstrip("\n"), "cmdline": args,
                     "truncated": truncated})
    return rows, notes


# An option whose name says it carries a secret: its value never leaves the host (as _files.redact for files).
_SECRET_OPTION = re.compile(r"^-{1,2}[\w.\-]*(?:pass|secret|token|credential|key|auth)[\w.\-]*$", re.IGNORECASE)
_SECRET_INLINE = re.compile(r"^(-{1,2}[\w.\-]*(?:pass|secret|token|credential|key|auth)[\w.\-]*=).+$", re.IGNORECASE)
_SECRET_URL = re.compile(r"(://[^/@:\s]*:)[^/@\s]+@")


def redact_args(args):
    """A command line with the values of secret-looking options (--password=x, --token x, -pSECRET for mysql-like
    tools is left: it names no key) and URL passwords replaced by <redacted>."""
    out, hide_next = [], False
    for arg in args:
        if hide_next:
            out.append("<redacted>")
            hide_next = False
            continue
        inline = _SECRET_INLINE.match(arg)
        if inline:
            out.append(inline.group(1) + "<redacted>")
            continue
        if _SECRET_OPTION.match(arg):
            hide_next = True
        out.append(_SECRET_URL.sub(lambda found: found.group(1) + "<redacted>@", arg))
    return out


def socket_owners(pids, proc="/proc", max_fds=MAX_FDS):
    """({socket inode: pid}, notes) from the descriptors of pids (the lowest PID wins a shared socket)."""
    owners, notes = {}, []
    budget = max_fds
    for pid in sorted(pids):
        directory = "%s/%d/fd" % (proc, pid)
        try:
            fds = os.listdir(directory)
        except OSError:
            continue  # gone, or not ours to look at
        if len(fds) > budget:
            notes.append("socket owners: descriptor budget of %d reached at PID %d; later processes not looked at"
                         % (max_fds, pid))
            break
        budget -= len(fds)
        for fd in fds:
            try:
                target = os.readlink("%s/%s" % (directory, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target.endswith("]"):
                inode = target[8:-1]
                if inode.isdigit():
                    owners.setdefault(int(inode), pid)
    return owners, notes
