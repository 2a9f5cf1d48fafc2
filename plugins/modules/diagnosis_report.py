#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: diagnosis_report
short_description: Correlate what every host gave, once, on the controller, and write the reports
version_added: 0.2.0
description:
  - Builds the fleet facts from what the R(cloudnet.triage.collect,ansible_collections.cloudnet.triage.collect_role)
    role gathered on every host of the play (P(cloudnet.triage.report_fleet#filter)), diagnoses them once with refused
    facts set aside (P(cloudnet.triage.report_diagnosis#filter)), and writes the report files (text, JSON, HTML, JUnit,
    fleet) in O(report_dir) on the controller.
  - An action that runs on the controller only, in the controller's process; no module is sent to any host and no host
    is changed. The report files are the run's output; they are written in check mode too.
  - Every file asked for is written whatever the facts hold; one that could not be rendered says why (RV(render_errors)).
  - Sets the facts C(report_fleet), C(report_diagnosis) and C(report_path), and publishes the verdict with set_stats
    data (as M(ansible.builtin.set_stats) would) unless O(set_stats=false).
  - The R(cloudnet.triage.report,ansible_collections.cloudnet.triage.report_role) role calls it once per run.
author:
  - cloudnet.triage contributors (@cloudnet)
extends_documentation_fragment:
  - cloudnet.triage.collected
  - cloudnet.triage.report_files
options:
  outside:
    description:
      - Inventory hosts outside this run's limit, each with the address the inventory gives it (C(ansible_host), else its
        name). A tunnel remote that none of the run's hosts owns is then "outside this run's limit", not a typo.
    type: dict
    default: {}
  plan:
    description: The run's probe plan, C(probe_plan) of M(cloudnet.triage.probe_plan); null when no probe ran.
    type: dict
  probe_results:
    description: The C(probe_results) fact of each host in O(hosts), in the same order (what its rounds saw).
    type: list
    elements: raw
    default: []
  neutron:
    description:
      - Neutron's records, optional (docs/openstack.md, "Neutron's records"), C(networks) as
        M(openstack.cloud.networks_info) returns them and C(ports) as M(openstack.cloud.port_info) does.
      - The rules then reconcile the hosts with them; a value of another shape fails the task, naming the field.
    type: dict
  facts_dir:
    description:
      - Directory on the controller where each host's facts are saved, as this action got them (one C(<host>.json),
        schema C(cloudnet.triage.saved/1), the host snapshot's own schema inside), to diagnose them later and
        elsewhere with the C(cloudnet.triage.diagnose_offline) playbook (docs/offline.md). Not saved when omitted.
    type: path
  set_stats:
    description: Publish the verdict, the first finding's code and the counts as set_stats data for AWX workflows.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Nothing on any host is changed; the report files are written on the controller in check mode too.
  action:
    support: full
    description: An action plugin that runs on the controller.
seealso:
  - name: docs/reports.md
    description: The report files and the set_stats data.
    link: https://github.com/cloudnet/triage/blob/main/docs/reports.md
"""

EXAMPLES = r"""
- name: Correlate and report once, on the controller
  cloudnet.triage.diagnosis_report:
    hosts: "{{ ansible_play_hosts_all }}"
    collected: "{{ ansible_play_hosts_all | map('extract', hostvars) | map(attribute='collect_facts', default=none) | list }}"
    active_hosts: "{{ ansible_play_hosts }}"
    report_dir: cloudnet-report
  run_once: true
  register: report
"""

RETURN = r"""
diagnosis:
  description: The diagnosis, schema C(cloudnet.triage.diagnosis/2) (docs/diagnosis.md).
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
  description: Report files that could not be rendered, with the reason; such a file holds the reason instead.
  returned: always
  type: list
  elements: str
lines:
  description: The terminal summary, one line per item (P(cloudnet.triage.report_text#filter)).
  returned: always
  type: list
  elements: str
gate:
  description: Whether the verdict reaches O(fail_on).
  returned: always
  type: bool
facts_files:
  description: The saved facts files, one per host.
  returned: when O(facts_dir) is set
  type: list
  elements: str
ansible_facts:
  description: The facts C(report_fleet) (the fleet facts), C(report_diagnosis) (the diagnosis) and C(report_path)
    (RV(report_dir)), set on every host of the play.
  returned: always
  type: dict
ansible_stats:
  description: The set_stats data (C(cloudnet_verdict), C(cloudnet_top_finding), C(cloudnet_counts), C(cloudnet_diagnosis)),
    not per host, as M(ansible.builtin.set_stats) publishes it for AWX workflows.
  returned: when O(set_stats=true)
  type: dict
"""
