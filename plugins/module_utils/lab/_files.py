# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""A scenario's files:, written into directories the lab host owns privately, and nowhere else.

The lab writes as root from the machine's side, through ``/proc/<holder>/root``. Two things could
lead such a write out of the host's private view, and both are closed here, on top of validation
(``_policy``): a symlink on the way (an absolute one is resolved against the *machine's* root), and a
destination that is not on a tmpfs of the host. So every path is walked one directory at a time with
O_NOFOLLOW from the holder's root, the tmpfs goes only where ``_policy.mount_point_problem`` allows,
and a file is created only in a directory on the host's /run or on a tmpfs the lab mounted there.

/etc is the machine's and holds what every program needs, so no tmpfs goes there: files below the
configuration directories ``_policy.ETC_VIEW`` names are written into the upper layer of an overlay
(``/run/lab-etc/upper``, on the host's own /run), which is then mounted on /etc in the host's mount
namespace only. The host sees the machine's /etc with its files on top; the machine sees nothing. /root and
/usr/local get the same for the few CloudStack system VM files ``_policy.OVERLAYS`` names.
"""

from __future__ import annotations

import os
import stat

from ansible_collections.cloudnet.triage.plugins.module_utils.lab import _policy
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import LabError

__all__ = ["host_root", "place_files", "write_run_file"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def host_root(pid):
    """The holder's root directory as the machine reaches it: in the host's mount namespace."""
    return "/proc/%d/root" % pid


def _private_dir(root_fd, parts, private, where):
    """An open descriptor of the directory parts (created where missing), which must be on one of the
    file systems in private; LabError otherwise."""
    depth, fd, why = _policy.walk_existing(root_fd, parts)
    try:
        if why:
            raise LabError("%s: %s" % (where, why))
        for part in parts[depth:]:
            if os.fstat(fd).st_dev not in private:
                raise LabError("%s: /%s is not on a file system private to the host" % (where, "/".join(parts[:depth])))
            os.mkdir(part, 0o755, dir_fd=fd)
            below = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = below
        if os.fstat(fd).st_dev not in private:
            raise LabError("%s: /%s is not on a file system private to the host" % (where, "/".join(parts)))
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write(root_fd, path, entry, private, where):
    parts = path.strip("/").split("/")
    directory = _private_dir(root_fd, parts[:-1], private, where)
    try:
        # No O_TRUNC: nothing is changed before the file is known to be a regular file of the host.
        fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK,
                     0o600, dir_fd=directory)
    except OSError as exc:
        raise LabError("%s: cannot create %s: %s" % (where, path, exc.strerror)) from None
    finally:
        os.close(directory)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_dev not in private:
            raise LabError("%s: %s exists and is not a regular file of the host's own" % (where, path))
        os.ftruncate(fd, 0)
        data = (entry.get("content") or "").encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
        os.fchmod(fd, int(entry.get("mode", "0644"), 8))
    finally:
        os.close(fd)


def place_files(builder, name):
    """Mount a tmpfs (in the host only) on each destination's nearest existing directory outside /run,
    then write the files; files of /etc into the overlay's upper layer, which is mounted on /etc last."""
    files = builder.hosts[name].get("files") or []
    if not files:
        return
    entries = []
    overlays = []
    for entry in files:
        path, why = _policy.normal_file_path(entry["path"])
        why = why or _policy.file_path_problem(path)
        if why:  # validation refuses these; never build on a scenario that skipped it
            raise LabError("%s: files: %r: %s" % (name, entry["path"], why))
        overlay = _policy.overlay_of(path)
        if overlay is not None:
            # Written before the overlay is mounted (its layers must not change under a mounted overlay).
            path = overlay[3] + "/upper" + path[len(overlay[0]):]
            if overlay not in overlays:
                overlays.append(overlay)
        entries.append((path, entry))
    root_fd = os.open(host_root(builder.pids[name]), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        mounts = set()
        for path, dummy in entries:
            parts = path.strip("/").split("/")[:-1]
            if path.startswith(_policy.RUN_DIR + "/"):
                continue  # /run is already the host's own tmpfs
            depth, fd, why = _policy.walk_existing(root_fd, parts)
            os.close(fd)
            mount = "/" + "/".join(parts[:depth])
            why = why or _policy.mount_point_problem(mount)
            if why:
                raise LabError("%s: files: %s: %s" % (name, path, why))
            mounts.add(mount)
        # A destination below another's mount point is on that tmpfs too.
        mounts = sorted(m for m in mounts if not any(m.startswith(other + "/") for other in mounts))
        for mount in mounts:
            builder.run(name, ["mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs", mount])
        private = set()
        for top in [_policy.RUN_DIR] + mounts:
            depth, fd, why = _policy.walk_existing(root_fd, top.strip("/").split("/"))
            try:
                if why or depth != len(top.strip("/").split("/")):
                    raise LabError("%s: files: %s: %s" % (name, top, why or "is missing after the mount"))
                private.add(os.fstat(fd).st_dev)
            finally:
                os.close(fd)
        for path, entry in entries:
            _write(root_fd, path, entry, private, "%s: files: %s" % (name, path))
        for lower, _dirs, _names, layers in overlays:
            # The upper layer exists once a file is in it; an overlay also needs its (empty) work directory.
            upper = _private_dir(root_fd, (layers + "/upper").strip("/").split("/"), private, "%s: files: %s" % (name, lower))
            try:
                # The overlay's top directory takes the upper layer's mode: keep the machine's (/root is 0700).
                os.fchmod(upper, stat.S_IMODE(os.stat(lower).st_mode))
            finally:
                os.close(upper)
            os.close(_private_dir(root_fd, (layers + "/work").strip("/").split("/"), private, "%s: files: %s" % (name, lower)))
    finally:
        os.close(root_fd)
    for lower, _dirs, _names, layers in overlays:
        builder.run(name, ["mount", "-t", "overlay", "-o", "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (lower, layers, layers),
                           "overlay", lower], what="mount the overlay of %s" % lower)


def write_run_file(builder, name, path, content, mode="0600"):
    """Write a file the lab itself gives a host's service (a TLS listener's certificate and key) on the host's own
    /run, walked and created the same careful way as a scenario's files."""
    root_fd = os.open(host_root(builder.pids[name]), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        depth, fd, why = _policy.walk_existing(root_fd, [_policy.RUN_DIR.strip("/")])
        try:
            if why or depth != 1:
                raise LabError("%s: %s: %s" % (name, _policy.RUN_DIR, why or "is missing"))
            private = {os.fstat(fd).st_dev}
        finally:
            os.close(fd)
        _write(root_fd, path, {"content": content, "mode": mode}, private, "%s: %s" % (name, path))
    finally:
        os.close(root_fd)
