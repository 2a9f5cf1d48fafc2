# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: concise
type: stdout
short_description: The diagnosis summary as the last output, without Ansible's per-task noise
version_added: 0.1.0
author: cloudnet.triage developers (@cloudnet)
description:
  - A stdout callback for the C(cloudnet.triage.diagnose) play (and any other). Tasks that went as planned print
    nothing. A failed or unreachable host prints its task banner and the error as the default callback does; a failure
    or an unreachable host the play tolerates (C(ignore_errors), C(ignore_unreachable)) prints one line.
  - The summary of every C(cloudnet.triage.diagnosis_report) task (verdict and why, the first finding with evidence and
    remedy, the other findings one line each, what was not checked grouped by reason, where the reports are) is printed
    after the recap, as the run's last output. The C(debug) task that shows the same lines is not printed again.
  - Other C(debug) messages (the lab's "Scenario ... is up") are printed as plain lines.
  - The recap has one line per host for up to 20 hosts. On a larger fleet only hosts that changed, failed or were
    unreachable get a line, the others are counted.
  - Enable it with C(stdout_callback = cloudnet.triage.concise) in C(ansible.cfg) (the repository's does) or with
    C(ANSIBLE_STDOUT_CALLBACK=cloudnet.triage.concise). AWX and ansible-runner use their own stdout callback, so job
    output there keeps the default display, where the task C(Show the ranked findings) prints the same lines.
extends_documentation_fragment:
  - ansible.builtin.default_callback
  - ansible.builtin.result_format_callback
requirements:
  - set as the stdout callback (see above)
"""

import json

from ansible import constants as C
from ansible.plugins.callback.default import CallbackModule as DefaultCallback
from ansible.utils.color import colorize, hostcolor

# Up to this many hosts the recap has a line for each; beyond, only for those that need attention.
RECAP_EVERY_HOST = 20
REPORT_ACTIONS = ("cloudnet.triage.diagnosis_report", "diagnosis_report")
DEBUG_ACTIONS = ("ansible.builtin.debug", "debug", "ansible.legacy.debug")


def _part(result, name):
    """result.task / .host / .result on ansible-core 2.19+, result._task ... before."""
    value = getattr(result, name, None)
    return value if value is not None else getattr(result, "_" + name, None)


def _action(task):
    return getattr(task, "resolved_action", None) or getattr(task, "action", None)


def _message_lines(value):
    if isinstance(value, str):
        return value.splitlines() or [""]
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    return json.dumps(value, indent=2, sort_keys=True, default=str).splitlines()


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "cloudnet.triage.concise"

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._summaries = []

    # Banners: a task's banner is printed only when one of its results is (a failure), never up front.
    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_type_cache[task._uuid] = "TASK"
        self._last_task_name = task.get_name().strip()

    def v2_playbook_on_handler_task_start(self, task):
        self._task_type_cache[task._uuid] = "RUNNING HANDLER"
        self._last_task_name = task.get_name().strip()

    def v2_playbook_on_play_start(self, play):
        self._play = play
        # Said before the play's first line of output: a play that shows nothing (or matches no host) stays silent.
        self._play_banner = "PLAY [%s]%s" % (play.get_name().strip(), " [CHECK MODE]" if play.check_mode else "")

    def v2_playbook_on_no_hosts_matched(self):
        pass

    def _play_line(self):
        if getattr(self, "_play_banner", None):
            self._display.display(self._play_banner, color=C.COLOR_INCLUDED)
            self._play_banner = None

    def _show(self, text, color=None):
        self._play_line()
        self._display.display(text, color=color)

    def _print_task_banner(self, task):
        self._play_line()
        super(CallbackModule, self)._print_task_banner(task)

    def v2_playbook_on_include(self, included_file):
        pass

    def v2_runner_on_start(self, host, task):
        pass

    def _one_line(self, result, what, color):
        task, host = _part(result, "task"), _part(result, "host")
        values = _part(result, "result") or {}
        message = values.get("msg") or values.get("stderr") or ""
        message = " ".join(str(message).split())
        self._show("%s: [%s] %s%s" % (what, host.get_name(), task.get_name().strip(),
                                      (": " + message[:300]) if message else ""), color=color)

    def v2_runner_on_ok(self, result):
        task, values = _part(result, "task"), _part(result, "result") or {}
        action = _action(task)
        if action in REPORT_ACTIONS and isinstance(values.get("lines"), list):
            self._summaries.append([str(line) for line in values["lines"]])
            return
        if action in DEBUG_ACTIONS:
            shown = values.get("msg", None)
            if shown is None:
                shown = dict((key, value) for key, value in values.items() if not key.startswith("_") and key not in ("changed", "failed"))
            if self._summaries and _message_lines(shown) == self._summaries[-1]:
                return  # the report role's own display of the summary: printed at the end
            for line in _message_lines(shown):
                self._show(line)
            return
        if values.get("changed"):
            self._one_line(result, "changed", C.COLOR_CHANGED)

    def v2_runner_item_on_ok(self, result):
        pass

    def v2_runner_on_skipped(self, result):
        pass

    def v2_runner_item_on_skipped(self, result):
        pass

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            self._one_line(result, "failed (tolerated)", C.COLOR_WARN)
            return
        super(CallbackModule, self).v2_runner_on_failed(result, ignore_errors=ignore_errors)

    def v2_runner_on_unreachable(self, result):
        if _part(result, "task").ignore_unreachable:
            self._one_line(result, "unreachable (tolerated)", C.COLOR_UNREACHABLE)
            return
        super(CallbackModule, self).v2_runner_on_unreachable(result)

    def v2_on_file_diff(self, result):
        pass

    def v2_playbook_on_stats(self, stats):
        self._display.display("")
        self._display.display("PLAY RECAP")
        hosts = sorted(stats.processed.keys())
        quiet = 0
        for host in hosts:
            totals = stats.summarize(host)
            if len(hosts) > RECAP_EVERY_HOST and not (totals["changed"] or totals["failures"] or totals["unreachable"]):
                quiet += 1
                continue
            self._display.display("%s : %s %s %s %s %s %s %s" % (
                hostcolor(host, totals), colorize("ok", totals["ok"], C.COLOR_OK),
                colorize("changed", totals["changed"], C.COLOR_CHANGED),
                colorize("unreachable", totals["unreachable"], C.COLOR_UNREACHABLE),
                colorize("failed", totals["failures"], C.COLOR_ERROR), colorize("skipped", totals["skipped"], C.COLOR_SKIP),
                colorize("rescued", totals["rescued"], C.COLOR_OK), colorize("ignored", totals["ignored"], C.COLOR_WARN)))
        if quiet:
            self._display.display("%d other host%s: no change, no failure" % (quiet, "" if quiet == 1 else "s"))
        for lines in self._summaries:
            self._display.display("")
            for number, line in enumerate(lines):
                self._display.display(line, color=_verdict_color(line) if number == 0 else None)


def _verdict_color(line):
    verdict = line.split("verdict:", 1)[-1].split()[0].lower() if "verdict:" in line else ""
    if verdict in ("critical", "unexplained"):
        return C.COLOR_ERROR
    if verdict in ("warning", "not_verified"):
        return C.COLOR_WARN
    return C.COLOR_OK if verdict in ("healthy", "info") else None
