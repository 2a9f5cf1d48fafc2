# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: report_html
short_description: Self-contained HTML report of a diagnosis with a topology picture
version_added: 0.1.0
author: cloudnet.triage developers (@cloudnet)
description:
  - Renders a diagnosis as one HTML page without external assets (inline styles and SVG).
  - The topology picture shows hosts, namespaces, devices, veth pairs, OVS ports, tc mirred redirects and VXLAN tunnels
    from the fleet facts; the devices named by the first finding's evidence and the path joining them are red.
  - The picture is laid out by Graphviz C(dot) when it is installed on the controller, else by a built-in layout.
  - The page is written whatever the fleet facts hold; when the picture cannot be drawn from them, the page says so and why.
    Names from the hosts are escaped, and control characters in them written out as C(\xNN).
positional: _input, fleet, graphviz, title
options:
  _input:
    description: The diagnosis to draw the page of.
    type: dict
    required: true
  fleet:
    description: The fleet facts the diagnosis was made from (the input of P(cloudnet.triage.diagnose#filter)); without them
      the report has no picture.
    type: dict
    default: {}
  graphviz:
    description: V(auto) uses C(dot) when found on the controller; V(never) always uses the built-in layout.
    type: str
    default: auto
    choices: [auto, never]
  title:
    description: The page title.
    type: str
    default: cloudnet.triage diagnosis
"""

EXAMPLES = r"""
- name: Write the HTML report
  ansible.builtin.copy:
    content: "{{ cloudnet_diagnosis | cloudnet.triage.report_html(fleet=cloudnet_fleet) }}"
    dest: reports/report.html
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The HTML document.
  type: str
"""

from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import documented_filter, filter_module
from ansible_collections.cloudnet.triage.plugins.plugin_utils.report._html import html_report

report_html = documented_filter(DOCUMENTATION, html_report, input_name="diagnosis")


FilterModule = filter_module(report_html)
