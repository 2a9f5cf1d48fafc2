# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Unpack a sos archive (.tar.xz, .tar.gz, .tgz, .tar) safely into a directory the caller owns and removes.

Only regular files and directories are written, each below the target (no absolute path, no '..', never through a
link); links, devices, FIFOs and sockets are skipped and counted; the total size and the member count are capped.
A truncated or corrupt archive is an ArchiveError naming the archive and the last member read.
"""

from __future__ import annotations

import os
import tarfile

__all__ = ["ARCHIVE_SUFFIXES", "ArchiveError", "MAX_BYTES", "MAX_MEMBERS", "is_archive", "unpack"]

ARCHIVE_SUFFIXES = (".tar.xz", ".tar.gz", ".tgz", ".tar")
MAX_BYTES = 1 << 30          # a sos report of the plugins read here is kilobytes to a few hundred megabytes
MAX_MEMBERS = 200000
_CHUNK = 1 << 20


class ArchiveError(ValueError):
    """An archive that cannot be unpacked safely or completely: names the archive and what was wrong."""


def is_archive(path):
    return os.path.isfile(path) and path.endswith(ARCHIVE_SUFFIXES)


def _safe_parts(name):
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if name.startswith("/") or any(part == ".." for part in parts):
        return None
    return parts


def unpack(archive, target, max_bytes=MAX_BYTES, max_members=MAX_MEMBERS):
    """Unpack ``archive`` into the existing directory ``target``; returns {files, bytes, skipped}."""
    label = os.path.basename(archive)
    target = os.path.realpath(target)
    written = total = members = 0
    skipped = {}
    last = None
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                members += 1
                last = member.name
                if members > max_members:
                    raise ArchiveError("report %s: more than %d members: not unpacked" % (label, max_members))
                parts = _safe_parts(member.name)
                if parts is None:
                    raise ArchiveError("report %s: %s: a path outside the report: not unpacked" % (label, member.name))
                if not parts:
                    continue
                if member.isdir():
                    _mkdirs(target, parts)
                    continue
                if not member.isreg():
                    kind = "link" if member.issym() or member.islnk() else "device or fifo"
                    skipped[kind] = skipped.get(kind, 0) + 1
                    continue
                total += member.size
                if total > max_bytes:
                    raise ArchiveError("report %s: larger than %d bytes unpacked: not unpacked" % (label, max_bytes))
                folder = _mkdirs(target, parts[:-1])
                path = os.path.join(folder, parts[-1])
                source = tar.extractfile(member)
                # O_EXCL|O_NOFOLLOW: a name met twice or a link planted under it is never written through.
                handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
                with os.fdopen(handle, "wb") as out:
                    left = member.size
                    while left > 0:
                        chunk = source.read(min(_CHUNK, left))
                        if not chunk:
                            raise ArchiveError("report %s: %s: truncated" % (label, member.name))
                        out.write(chunk)
                        left -= len(chunk)
                written += 1
    except ArchiveError:
        raise
    except FileExistsError:
        raise ArchiveError("report %s: %s: listed twice: not unpacked" % (label, last)) from None
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        where = " after %s" % last if last else ""
        raise ArchiveError("report %s: truncated or corrupt archive%s (%s: %s)" % (label, where, type(exc).__name__, exc)) from None
    if not written:
        raise ArchiveError("report %s: an empty archive" % label)
    return {"files": written, "bytes": total, "skipped": skipped}


def _mkdirs(target, parts):
    path = target
    for part in parts:
        path = os.path.join(path, part)
        if os.path.islink(path):
            raise ArchiveError("a link in the way of %s" % path)
        if not os.path.isdir(path):
            os.mkdir(path, 0o700)
    return path
