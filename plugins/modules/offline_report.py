#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: offline_report
short_description: Diagnose saved facts or sos reports on the controller and write the same reports
version_added: 0.3.0
description:
  - Reads a directory of saved facts (written by the diagnose play with C(cloudnet_facts_dir)) or a directory of sos
    reports (unpacked report directories, or C(.tar.xz)/C(.tar.gz) archives unpacked safely into a temporary
    directory that is removed afterwards), builds the fleet facts from them (one host per report, its hostname taken
    from the report), diagnoses them once and writes the report files (text, JSON, HTML, JUnit, fleet) as
    M(cloudnet.triage.diagnosis_report) does.
  - What text cannot give (namespace inodes, live counters, probes, and what the sos version did not save) is listed as
    "not checked (offline)"; a report that cannot be read is listed with the report and the file, and the rest of the
    fleet is still diagnosed.
  - An action that runs on the controller only; no host is contacted or changed. The
    C(cloudnet.triage.diagnose_offline) playbook calls it (docs/offline.md).
author:
  - cloudnet.triage contributors (@cloudnet)
extends_documentation_fragment:
  - cloudnet.triage.report_files
options:
  facts_dir:
    description: Directory of saved facts (one C(<host>.json) per host, schema C(cloudnet.triage.saved/1)).
      Exactly one of O(facts_dir) and O(sos_dir).
    type: path
  sos_dir:
    description: Directory of sos reports, a few levels deep (a ticket's attachments). Exactly one of O(facts_dir)
      and O(sos_dir).
    type: path
  expect_ovs:
    description:
      - What each host's OVS ports should look like, keyed by host name (the C(cloudnet_expect_ovs) a live inventory
        gives each host), since a sos report carries no inventory variables.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Nothing on any host is changed; the report files are written on the controller in check mode too.
  action:
    support: full
    description: An action plugin that runs on the controller.
seealso:
  - name: docs/offline.md
    description: Offline diagnosis, what it can and cannot check.
    link: https://github.com/cloudnet/triage/blob/main/docs/offline.md
"""

EXAMPLES = r"""
- name: Diagnose the sos reports attached to a ticket
  cloudnet.triage.offline_report:
    sos_dir: /srv/tickets/4711
    report_dir: cloudnet-report
  register: report
"""

RETURN = r"""
diagnosis:
  description: The diagnosis, schema C(cloudnet.triage.diagnosis/2) (docs/diagnosis.md), with C(source) naming the input.
  returned: always
  type: dict
report_dir:
  description: The absolute path of the report directory.
  returned: always
  type: str
files:
  description: The files written.
  returned: always
  type: list
  elements: str
render_errors:
  description: Report files that could not be rendered, with the reason.
  returned: always
  type: list
  elements: str
lines:
  description: The terminal summary, one line per item.
  returned: always
  type: list
  elements: str
gate:
  description: Whether the verdict reaches O(fail_on).
  returned: always
  type: bool
reports:
  description: One summary per input (C(report), C(host), C(used), C(error), C(version), C(layout)).
  returned: always
  type: list
  elements: dict
"""
