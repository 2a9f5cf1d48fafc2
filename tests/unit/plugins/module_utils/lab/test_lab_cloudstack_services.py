# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's CloudStack pieces without root: the password server and TLS listener services (validation and the
command lines they run), dnsmasq with DNS, and the private overlays of /root and /usr/local for exactly the
files a virtual router and a system VM keep there. tests/lab/test_cloudstack_services.py runs them (root)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.lab import _files, _policy, _services
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._build import _Builder
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import ScenarioError, validate_scenario

CERT = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUYmFzZTY0IG9ubHk=\n-----END CERTIFICATE-----\n")
KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"


def scenario(services=(), files=()):
    return {"name": "cloudstack_lab", "fault": "none", "expect": {"healthy": True},
            "hosts": [{"name": "r-4-VM",
                       "interfaces": [{"name": "eth0", "kind": "veth", "peer": {"name": "vnet0"}, "addresses": ["198.18.4.1/24"]}],
                       "services": list(services), "files": list(files)}]}


def problems(services=(), files=()):
    try:
        validate_scenario(scenario(services, files))
    except ScenarioError as exc:
        return exc.problems
    return []


def test_the_cloudstack_services_validate():
    assert problems([{"kind": "password_server", "address": "198.18.4.1"},
                     {"kind": "tls_listener", "name": "cpvm", "port": 8443, "certificate": {"pem": CERT + CERT, "key": KEY}},
                     {"kind": "tls_listener", "certificate": {"generate": {"names": ["*.cloud.example.org", "v-2-VM.local"],
                                                                           "days": 30}}, "reply": "HTTP/1.0 200 OK"},
                     {"kind": "dnsmasq", "interface": "eth0", "dns": True, "dhcp_range": "198.18.4.100,198.18.4.150,static"}]) == []


@pytest.mark.parametrize("service, where, why", [
    ({"kind": "tls_listener"}, "certificate", "is required for a tls_listener"),
    ({"kind": "tls_listener", "certificate": {"pem": CERT}}, "certificate", "needs both pem and key"),
    ({"kind": "tls_listener", "certificate": {"pem": CERT, "key": KEY, "generate": {"names": ["a"]}}}, "certificate",
     "either generate or pem and key"),
    ({"kind": "tls_listener", "certificate": {"pem": "x", "key": KEY}}, "certificate.pem", "is not PEM text"),
    ({"kind": "tls_listener", "certificate": {"pem": CERT, "key": CERT}}, "certificate.key", "private key"),
    ({"kind": "tls_listener", "certificate": {"pem": CERT + "\n$(reboot)\n", "key": KEY}}, "certificate.pem", "is not PEM"),
    ({"kind": "tls_listener", "certificate": {"generate": {"names": ["-subj"]}}}, "certificate.generate.names[0]", "DNS name"),
    ({"kind": "tls_listener", "certificate": {"generate": {"names": ["a,DNS:b"]}}}, "certificate.generate.names[0]", "DNS name"),
    ({"kind": "tls_listener", "certificate": {"generate": {"names": []}}}, "certificate.generate.names", "at least 1"),
    ({"kind": "tls_listener", "certificate": {"generate": {"names": ["a"], "days": 0}}}, "certificate.generate.days", "range"),
    ({"kind": "password_server", "reply": "x"}, "reply", "does not apply to a password_server"),
    ({"kind": "password_server", "certificate": {"generate": {"names": ["a"]}}}, "certificate", "does not apply"),
    ({"kind": "tcp_listener", "port": 80, "dns": True}, "dns", "does not apply to a tcp_listener"),
    ({"kind": "password_server", "address": "198.18.4.1/24"}, "address", "is not an IP address"),
])
def test_the_cloudstack_services_refuse(service, where, why):
    found = problems([service])
    assert any(location == "hosts[0].services[0].%s" % where and why in reason for location, reason in found), found


def test_the_command_lines_carry_no_certificate_or_key():
    argv = _services._argv({"kind": "tls_listener", "certificate": {"pem": CERT, "key": KEY}}, "cpvm")
    assert argv[:2] == [sys.executable, "-c"] and argv[3:] == ["0.0.0.0", "443", "/run/lab-tls-cpvm", ""]
    assert not any("BEGIN" in arg for arg in argv[3:])
    argv = _services._argv({"kind": "tls_listener", "port": 8443,
                            "certificate": {"generate": {"names": ["*.cloud.example.org"]}}}, "t")
    assert argv[3:] == ["0.0.0.0", "8443", "/run/lab-tls-t", "", "*.cloud.example.org", "365"]
    assert _services._argv({"kind": "password_server", "address": "198.18.4.1"}, "p")[3:] == ["198.18.4.1", "8080"]
    dns = _services._argv({"kind": "dnsmasq", "interface": "eth0", "dns": True}, "d")
    assert "--port=53" in dns and "--port=0" not in dns
    assert "--port=0" in _services._argv({"kind": "dnsmasq", "interface": "eth0"}, "d")


def test_the_password_server_reads_only_the_file_the_scenario_wrote(tmp_path):
    svc = {"kind": "password_server", "address": "198.18.4.1"}
    assert _services._argv(svc, "p", ["/etc/dhcphosts.txt"])[3:] == ["198.18.4.1", "8080"]
    assert _services._argv(svc, "p", ["//var/cache/cloud/passwords-198.18.4.1"])[3:] == [
        "198.18.4.1", "8080", "/var/cache/cloud/passwords-198.18.4.1"]
    # The script itself: O_NOFOLLOW (a link is not read), no argument no read, a plain file read.
    script = _services._PASSWORD_SERVER.split("\nclass Handler", maxsplit=1)[0] + "\nprint(sorted(passwords.items()))\n"
    real = tmp_path / "passwords"
    real.write_text("198.18.4.50=Lab-reset-0815\n")
    (tmp_path / "link").symlink_to(real)

    def loaded(*args):
        out = subprocess.run([sys.executable, "-c", script, "198.18.4.1", "8080"] + list(args), check=True,
                             capture_output=True, text=True)
        return out.stdout.strip()
    assert loaded(str(real)) == "[('198.18.4.50', 'Lab-reset-0815')]"
    assert loaded(str(tmp_path / "link")) == "[]"
    assert loaded() == "[]" and loaded(str(tmp_path / "absent")) == "[]" and loaded(str(tmp_path)) == "[]"
    assert "open(" not in _services._PASSWORD_SERVER.replace("os.open(", "")


@pytest.mark.parametrize("path, allowed", [
    ("/root/health_checks_data.json", True),
    ("/root/basic_monitor_results.json", True),
    ("/root/advance_monitor_results.json", True),
    ("/root/.ssh/authorized_keys", False),
    ("/root/.bashrc", False),
    ("/root", False),
    ("/usr/local/cloud/systemvm/conf/cloud.crt", True),
    ("/usr/local/cloud/systemvm/conf/sub/x.pem", True),
    ("/usr/local/cloud/systemvm/conf", False),
    ("/usr/local/bin/python3", False),
    ("/usr/local/cloud/systemvm/confx/a", False),
])
def test_only_the_system_vm_files_of_root_and_usr_local(path, allowed):
    assert (_policy.overlay_of(path) is not None) is allowed
    assert (_policy.file_path_problem(path) is None) is allowed


class Recorder(object):
    def __init__(self):
        self.commands = []

    def run(self, host, argv, stdin_text=None, what=None, check=True):
        self.commands.append((host, list(argv)))


def test_root_and_usr_local_files_go_to_their_own_overlays(tmp_path, monkeypatch):
    root = tmp_path / "holder-root"
    for directory in ("run", "etc", "root", "usr/local"):
        (root / directory).mkdir(parents=True)
    monkeypatch.setattr(_files, "host_root", lambda pid: str(root))
    files = [{"path": "/root/basic_monitor_results.json", "content": "{}"},
             {"path": "/usr/local/cloud/systemvm/conf/cloud.crt", "content": CERT},
             {"path": "/etc/dhcphosts.txt", "content": "02:00:4c:5e:00:75,198.18.4.50,i-2-117-VM,infinite\n"}]
    builder = _Builder(scenario(files=files), str(tmp_path), None)
    builder.pids = {"r-4-VM": 4242}
    rec = Recorder()
    builder.run = rec.run
    _files.place_files(builder, "r-4-VM")
    assert (root / "run/lab-root/upper/basic_monitor_results.json").read_text() == "{}"
    assert (root / "run/lab-usrlocal/upper/cloud/systemvm/conf/cloud.crt").read_text() == CERT
    assert (root / "run/lab-etc/upper/dhcphosts.txt").exists()
    assert oct((root / "run/lab-root/upper").stat().st_mode & 0o777) == oct(os.stat("/root").st_mode & 0o777)
    assert not (root / "root/basic_monitor_results.json").exists() and not (root / "usr/local/cloud").exists()
    mounts = [argv for _host, argv in rec.commands]
    assert ["mount", "-t", "overlay", "-o", "lowerdir=/root,upperdir=/run/lab-root/upper,workdir=/run/lab-root/work",
            "overlay", "/root"] in mounts
    assert ["mount", "-t", "overlay", "-o",
            "lowerdir=/usr/local,upperdir=/run/lab-usrlocal/upper,workdir=/run/lab-usrlocal/work", "overlay", "/usr/local"] in mounts
    assert len(mounts) == 3


def test_a_tls_certificate_is_written_on_the_hosts_run_only(tmp_path, monkeypatch):
    root = tmp_path / "holder-root"
    (root / "run").mkdir(parents=True)
    monkeypatch.setattr(_files, "host_root", lambda pid: str(root))
    builder = _Builder(scenario(), str(tmp_path), None)
    builder.pids = {"r-4-VM": 4242}
    _files.write_run_file(builder, "r-4-VM", "/run/lab-tls-cpvm/key.pem", KEY)
    assert (root / "run/lab-tls-cpvm/key.pem").read_text() == KEY
    assert (root / "run/lab-tls-cpvm/key.pem").stat().st_mode & 0o777 == 0o600
