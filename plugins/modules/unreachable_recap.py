#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: unreachable_recap
short_description: Show a host the collection could not reach as unreachable in the play recap and exit status
version_added: 0.3.0
description:
  - The collect role keeps an unreachable host in the play so the diagnosis and every report are still written
    (the host is listed as not reachable and the checks that needed it as not evaluated). At the end of the run
    this action gives that host its unreachable result back, so C(PLAY RECAP) counts it as unreachable and
    C(ansible-playbook) exits with status 4, as for any unreachable host.
  - An action that runs on the controller only; it contacts no host and changes nothing.
author:
  - cloudnet.triage contributors (@cloudnet)
options:
  msg:
    description: Why the host was unreachable (the collection's own message).
    type: str
    default: host unreachable during collection
attributes:
  check_mode:
    support: full
    description: Reports the same in check mode.
  action:
    support: full
    description: An action plugin that runs on the controller.
"""

EXAMPLES = r"""
- name: Count the hosts the collection could not reach as unreachable
  cloudnet.triage.unreachable_recap:
    msg: "{{ collect_snapshot.msg | default('unreachable') }}"
  when: collect_snapshot.unreachable | default(false)
"""

RETURN = r"""
unreachable:
  description: Always true; the strategy counts the host as unreachable.
  returned: always
  type: bool
msg:
  description: O(msg).
  returned: always
  type: str
"""
