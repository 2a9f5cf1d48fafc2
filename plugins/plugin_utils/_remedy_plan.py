# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What the remediate playbook would run: the chosen findings' remedies as argument lists, per host.

A remedy line is text the remedy helper (``diagnosis/_remedy.py``) wrote with ``shlex.quote`` around every
argument, so ``shlex.split`` gives back exactly the argument list it quoted; the playbook hands that list to
``ansible.builtin.command`` (``argv``), never to a shell. Comment lines (``#``) are skipped. A finding whose
remedy has no single host to run on, or a placeholder the operator must fill in, is refused: it needs a
person, not a playbook.
"""

from __future__ import annotations

import json
import re
import shlex

from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._text import printable

__all__ = ["RemedyError", "remedy_plan"]

# diagnosis/_remedy.py writes this where a namespace has no name and no process to enter it by.
_PLACEHOLDER = "/proc/<PID in net:["
_FILL_IN = re.compile(r"<[^<>]+>")     # <MAC>, <logical port>, <underlay-device>: for an operator to fill in
# Shell syntax the remedy helper never leaves unquoted (shlex.quote quotes it): a line that holds one of these
# outside quotes was not written by it, and is refused rather than run as arguments that mean something else.
_SHELL_CHARS = frozenset("|&;<>()$`\n")
# Inside double quotes (shlex.quote uses them only around a single quote) a shell still expands these.
_DOUBLE_QUOTED_SHELL_CHARS = frozenset("$`\\")


def _unquoted_shell(line):
    """The first shell metacharacter of ``line`` outside single quotes, or None."""
    quote = None
    escaped = False
    for char in line:
        if escaped:
            escaped = False
        elif quote == "'":
            quote = None if char == "'" else quote
        elif quote == '"':
            if char == '"':
                quote = None
            elif char in _DOUBLE_QUOTED_SHELL_CHARS:
                return char
        elif char in "'\"":
            quote = char
        elif char == "\\":
            escaped = True
        elif char in _SHELL_CHARS:
            return char
    return None


class RemedyError(ValueError):
    """A choice or a remedy that cannot become a plan; the message names the finding and the line."""


def _chosen(findings, select):
    """(1-based index, finding) for each item of ``select``: a finding code (every finding with it) or an index."""
    chosen = []
    for item in select:
        text = str(item).strip()
        if text.isdigit():
            number = int(text)
            if not 1 <= number <= len(findings):
                raise RemedyError("finding %d: the diagnosis has %d finding(s)" % (number, len(findings)))
            matches = [(number, findings[number - 1])]
        else:
            matches = [(number, item_) for number, item_ in enumerate(findings, start=1) if item_.get("code") == text]
            if not matches:
                raise RemedyError("finding %s: not in the diagnosis (its codes: %s)" % (
                    text, ", ".join(sorted({str(f.get("code")) for f in findings})) or "none"))
        for match in matches:
            if match[0] not in [number for number, _finding in chosen]:
                chosen.append(match)
    return chosen


def _argv(number, code, line):
    try:
        # A remark after the command ("  # on hv1") is no argument: shlex.quote always quotes a name's "#".
        argv = shlex.split(line, comments=True, posix=True)
    except ValueError as exc:
        raise RemedyError("finding %d (%s): remedy line %r cannot be read as arguments: %s" % (number, code, line, exc))
    shell = _unquoted_shell(line)
    if shell is not None:
        raise RemedyError("finding %d (%s): remedy line %r holds shell syntax (%r outside quotes); it is not run" % (
            number, code, line, shell))
    if any(_PLACEHOLDER in word for word in argv) or any(_FILL_IN.search(word) for word in argv):
        raise RemedyError("finding %d (%s): remedy line %r has a placeholder to fill in by hand (<...>); it is not run"
                          % (number, code, line))
    if argv and argv[0] == "nsenter" and any(word == "--target" or word.startswith("--target=") for word in argv):
        # A PID from a diagnosis of any age may have been reused by a process of another namespace.
        raise RemedyError("finding %d (%s): remedy line %r enters a namespace by a process ID, which may name another "
                          "namespace by now; check the PID and run it by hand" % (number, code, line))
    return argv


def remedy_plan(diagnosis, select=None):
    """[{number, code, host, hosts, summary, steps: [argv, ...], shown}] for the chosen findings, in diagnosis order.

    ``shown``: the lines an operator reads before anything runs (each step as the JSON argument list).

    ``select``: finding codes or 1-based indexes (as strings or numbers); at least one."""
    if not isinstance(diagnosis, dict) or not isinstance(diagnosis.get("findings"), list):
        raise RemedyError("expected a diagnosis with a findings list (diagnosis.json)")
    if not select:
        raise RemedyError("choose the findings to fix, by code or number (cloudnet_remediate_findings)")
    plan = []
    for number, item in _chosen(diagnosis["findings"], list(select)):
        code = str(item.get("code"))
        lines = [line for line in item.get("remedy") or [] if isinstance(line, str) and line.strip()]
        commands = [line for line in lines if not line.lstrip().startswith("#")]
        if not commands:
            raise RemedyError("finding %d (%s): no remedy command to run (%d comment line(s) only)" % (number, code, len(lines)))
        host = item.get("remedy_host")
        if not isinstance(host, str) or not host:
            raise RemedyError("finding %d (%s): its remedy spans hosts (no remedy_host); run it by hand" % (number, code))
        steps = [_argv(number, code, line) for line in commands]
        plan.append({"number": number, "code": code, "host": host, "hosts": list(item.get("hosts") or [host]),
                     "summary": str(item.get("summary", "")), "steps": steps,
                     "shown": ["finding %d %s, on %s: %s" % (number, printable(code), printable(host), printable(item.get("summary", "")))]
                     + ["  %s: %s" % (printable(host), printable(json.dumps(step))) for step in steps]})
    return plan
