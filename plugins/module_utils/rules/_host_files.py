# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The files section of a host (collect/_files.py) as the rules read it: one lookup that tells a file read, refused
(a symlink, too large), absent (covered by the patterns, not there) and not asked for (outside the patterns) apart."""

from __future__ import annotations

import fnmatch

__all__ = ["file_covered", "file_row", "host_files"]


def host_files(state):
    """(read {path: row}, refused {path: reason}, patterns) of the files section; read is None when it was not taken."""
    files = state.files if isinstance(state.files, dict) else None
    if files is None:
        return None, {}, []
    read = dict((row["path"], row) for row in files.get("read") or () if isinstance(row, dict) and isinstance(row.get("path"), str))
    refused = dict((row["path"], row.get("reason")) for row in files.get("refused") or ()
                   if isinstance(row, dict) and isinstance(row.get("path"), str))
    patterns = [item for item in files.get("patterns") or () if isinstance(item, str)]
    return read, refused, patterns


def file_covered(state, path):
    """Whether the files section's patterns take ``path`` (so a file absent from it does not exist)."""
    _read, _refused, patterns = host_files(state)
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def file_row(state, path):
    """(row, reason): the read file, or None and why not (not read at all, refused, not among the patterns)."""
    read, refused, patterns = host_files(state)
    if read is None:
        return None, "no files read on this host (extra_sections: [files])"
    if path in read:
        row = read[path]
        if not isinstance(row.get("content"), str):
            return None, "%s was read without its content" % path
        return row, None
    for refused_path, why in refused.items():
        if path == refused_path or path.startswith(str(refused_path).rstrip("/") + "/"):
            return None, "%s could not be read: %s" % (path, why)
    if not any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns):
        return None, "%s is not among the files read (cloudnet_files)" % path
    return None, None   # covered and absent: the file does not exist
