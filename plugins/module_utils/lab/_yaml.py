# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Reading a scenario file that may come from anywhere: bounded, safe YAML.

The file is read only if it is a regular file of at most MAX_FILE_BYTES. Before anything is
constructed, one pass over the parser's events measures the document as it would be once every alias
is expanded (an alias counts as much as what its anchor holds, so an anchor "bomb" is refused while it
is still a few lines of text) and how deeply it nests (so that neither PyYAML's recursive composer nor
anything after it can hit Python's recursion limit). Only then is it loaded with a SafeLoader that also
refuses a key given twice. Every refusal says where: ``line L column C``.
"""

from __future__ import annotations

import os
import stat

try:
    import yaml
except ImportError:  # the lab runs where ansible-core runs, which has PyYAML; say so clearly if not
    yaml = None

__all__ = ["MAX_DEPTH", "MAX_EXPANDED", "MAX_FILE_BYTES", "YamlProblem", "load_yaml", "read_text"]

MAX_FILE_BYTES = 1024 * 1024
# Nodes plus characters of scalars, with aliases expanded: a document may not grow beyond its file cap.
MAX_EXPANDED = MAX_FILE_BYTES
# Nested mappings and sequences; the deepest shipped scenario nests 8.
MAX_DEPTH = 64


class YamlProblem(ValueError):
    """A file that is not read: ``location`` (``line L column C``, or empty) and ``why``."""

    def __init__(self, location, why):
        super().__init__("%s: %s" % (location or "(top)", why))
        self.location = location
        self.why = why


def _where(mark):
    return "line %d column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""


def read_text(path):
    """The text of a regular file of at most MAX_FILE_BYTES (never blocks on a FIFO or a device)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise YamlProblem("", "cannot read: %s" % exc.strerror) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise YamlProblem("", "is not a regular file")
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise YamlProblem("", "cannot read: %s" % exc.strerror) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        raise YamlProblem("line %d" % (data[:MAX_FILE_BYTES].count(b"\n") + 1),
                          "the file is larger than %d bytes, the most a scenario may be" % MAX_FILE_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = int(exc.start)
        raise YamlProblem("line %d" % (data[:bad].count(b"\n") + 1), "is not UTF-8 text") from None


if yaml is not None:
    class _StrictLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def _mapping(loader, node, deep=False):
        seen = {}
        for key_node, dummy in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<: *defaults': keys it brings in may be overridden, that is what it is for
            key = loader.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(None, None, "a key must be a plain value", key_node.start_mark) from None
            if first is not None:
                raise yaml.constructor.ConstructorError(None, None, "duplicate key %r (first at line %d)" % (key, first + 1),
                                                        key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return loader.construct_mapping(node, deep=deep)

    _StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _measure(text):
    """One pass over the parser's events: refuse a document too large once aliases are expanded, or
    too deep, before the composer or the constructor sees it."""
    loader = _StrictLoader(text)
    # Per open collection: [anchor, expanded size when it started, its depth, deepest depth inside it].
    stack = []
    anchors = {}   # anchor -> (expanded size, depth below it)
    expanded = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            depth = len(stack)
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if depth + 1 > MAX_DEPTH:
                    raise YamlProblem(_where(event.start_mark), "nested more than %d levels deep" % MAX_DEPTH)
                stack.append([event.anchor, expanded, depth + 1, depth + 1])
                expanded += 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                anchor, started, own, deepest = stack.pop()
                if anchor is not None:
                    anchors[anchor] = (expanded - started, deepest - own + 1)
                if stack:
                    stack[-1][3] = max(stack[-1][3], deepest)
            elif isinstance(event, yaml.ScalarEvent):
                expanded += 1 + len(event.value)
                if event.anchor is not None:
                    anchors[event.anchor] = (1 + len(event.value), 0)
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    open_anchor = any(entry[0] == event.anchor for entry in stack)
                    raise YamlProblem(_where(event.start_mark), "alias *%s %s" % (
                        event.anchor, "refers to the collection it is in" if open_anchor else "has no anchor before it"))
                size, below = anchors[event.anchor]
                expanded += size
                if depth + below > MAX_DEPTH:
                    raise YamlProblem(_where(event.start_mark), "alias *%s nests the document more than %d levels deep"
                                      % (event.anchor, MAX_DEPTH))
                if stack:
                    stack[-1][3] = max(stack[-1][3], depth + below)
            else:
                continue
            if expanded > MAX_EXPANDED:
                raise YamlProblem(_where(event.start_mark), "the document grows beyond %d nodes and characters once its "
                                  "aliases are expanded (aliases count as what they repeat)" % MAX_EXPANDED)
    finally:
        loader.dispose()


def load_yaml(text):
    """The document in text, measured, then loaded with the strict SafeLoader; YamlProblem if refused."""
    if yaml is None:
        raise YamlProblem("", "PyYAML is needed to read scenario files (python3-yaml)")
    try:
        _measure(text)
        loader = _StrictLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise YamlProblem(_where(mark), "not valid YAML: %s" % (getattr(exc, "problem", None) or exc)) from None
