# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's CloudStack services in lab hosts (root): the password server answers a guest as passwd_server_ip.py
does, the TLS listener serves the scenario's certificate or one it generated, and the /root and /usr/local
files of a system VM are the host's own, never the machine's."""

from __future__ import annotations

import os
import subprocess

ASK = r"""
import sys, urllib.error, urllib.request
for header in sys.argv[1:]:
    request = urllib.request.Request("http://198.18.4.1:8080/", headers={"DomU_Request": header} if header != "-" else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            print(answer.status, answer.read().decode())
    except urllib.error.HTTPError as exc:
        print(exc.code, exc.read().decode())
"""


def scenario(cert, key):
    return {"name": "cloudstack_services", "fault": "none", "expect": {"healthy": True}, "hosts": [
        {"name": "r-4-VM",
         "interfaces": [{"name": "eth0", "kind": "veth", "addresses": ["198.18.4.1/24"],
                         "peer": {"name": "eth0", "host": "i-2-117-VM", "addresses": ["198.18.4.50/24"]}}],
         "services": [{"kind": "password_server", "address": "198.18.4.1"},
                      {"kind": "tls_listener", "name": "given", "address": "198.18.4.1", "certificate": {"pem": cert, "key": key}},
                      {"kind": "tls_listener", "name": "made", "address": "198.18.4.1", "port": 8443,
                       "certificate": {"generate": {"names": ["*.console.example.org"], "days": 3}}}],
         "files": [{"path": "/var/cache/cloud/passwords-198.18.4.1", "content": "198.18.4.50=Lab-reset-0815\n"},
                   {"path": "/root/health_checks_data.json", "content": "{}"},
                   {"path": "/usr/local/cloud/systemvm/conf/cloud.crt", "content": cert}]},
        {"name": "i-2-117-VM"},
    ]}


def subject(lab, port):
    out = lab.run("i-2-117-VM", ["sh", "-c", "openssl s_client -connect 198.18.4.1:%d </dev/null 2>/dev/null | "
                                             "openssl x509 -noout -subject -ext subjectAltName" % port], check=False)
    return out.stdout


def test_password_server_tls_listeners_and_private_files(lab_factory, tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(tmp_path / "c.pem"), "-days", "2", "-subj", "/CN=cpvm.example.org",
                    "-addext", "subjectAltName=DNS:cpvm.example.org"], check=True, capture_output=True)
    lab = lab_factory(scenario((tmp_path / "c.pem").read_text(), (tmp_path / "k.pem").read_text()))
    answers = lab.run("i-2-117-VM", ["/usr/bin/python3", "-c", ASK, "send_my_password", "saved_password",
                                     "send_my_password", "-"]).stdout.splitlines()
    assert answers == ["200 Lab-reset-0815", "200 saved_password", "200 saved_password", "400 bad_request"]
    assert "CN = cpvm.example.org" in subject(lab, 443)
    assert "DNS:*.console.example.org" in subject(lab, 8443)
    # The key is on the router's own /run, readable by root only, and on no command line of the host.
    listing = lab.run("r-4-VM", ["stat", "-c", "%a %n", "/run/lab-tls-given/key.pem"]).stdout
    assert listing.startswith("600 ")
    assert "PRIVATE KEY" not in lab.run("r-4-VM", ["ps", "-eo", "args"]).stdout
    # The router sees its files in /root and /usr/local; the machine does not.
    assert lab.run("r-4-VM", ["cat", "/root/health_checks_data.json"]).stdout == "{}"
    assert "BEGIN CERTIFICATE" in lab.run("r-4-VM", ["cat", "/usr/local/cloud/systemvm/conf/cloud.crt"]).stdout
    assert not os.path.exists("/root/health_checks_data.json") and not os.path.exists("/usr/local/cloud")
    assert lab.run("r-4-VM", ["stat", "-c", "%a", "/root"]).stdout.strip() == "%o" % (os.stat("/root").st_mode & 0o777)
