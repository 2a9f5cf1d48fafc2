# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Services inside a lab host: dnsmasq (DHCP, and DNS when asked), a tiny TCP listener, CloudStack's password
server and a TLS listener, started as children of the host's holder so they end with it, and recorded with their
start times in state.json."""

from __future__ import annotations

import os
import posixpath
import sys
import time

from ansible_collections.cloudnet.triage.plugins.module_utils.lab._files import write_run_file
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import LabError, alive, children, run_detached

__all__ = ["DEFAULT_PORTS", "start_services"]

# The accept loop both plain and TLS listeners run (address and port set before it; each connection's handling after).
_ACCEPT = r"""
family = socket.AF_INET6 if ":" in address else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((address, port))
server.listen(16)
while True:
    conn, peer = server.accept()
"""

_LISTENER = r"""
import socket, sys
address, port, reply = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
""" + _ACCEPT + r"""    try:
        conn.sendall(reply)
    except OSError:
        pass
    conn.close()
"""

# CloudStack's password server as systemvm/debian/opt/cloud/bin/passwd_server_ip.py answers a guest: the header
# "DomU_Request: send_my_password" gets the password saved for the client's address (from
# /var/cache/cloud/passwords-<address>, lines ip=password, as the VR keeps it) or "saved_password";
# "saved_password" acknowledges (the lab forgets it until the service restarts); anything else is bad_request.
# Saving passwords (POST) is refused: nothing in a lab host writes files through this service.
# The file is read only when the scenario's files: wrote it (its path is then the third argument): otherwise the
# host's /var/cache is the machine's own. O_NOFOLLOW, and a regular file only: no link leads the read elsewhere.
_PASSWORD_SERVER = r"""
import http.server, os, socketserver, stat, sys
address, port = sys.argv[1], int(sys.argv[2])
passwords = {}
if len(sys.argv) > 3:
    try:
        fd = os.open(sys.argv[3], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        fd = None
    if fd is not None:
        try:
            text = os.read(fd, 65536) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        except OSError:
            text = b""
        finally:
            os.close(fd)
        for line in text.decode("utf-8", "replace").splitlines():
            if "=" in line:
                key, value = line.strip().split("=", 1)
                passwords[key] = value

class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "CloudStack Password Server"
    sys_version = ""
    timeout = 5

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body.encode())

    def do_GET(self):
        request = self.headers.get("DomU_Request")
        client = self.client_address[0]
        if request == "send_my_password":
            self.answer(200, passwords.get(client) or "saved_password")
        elif request == "saved_password":
            passwords.pop(client, None)
            self.answer(200, "saved_password")
        else:
            self.answer(400, "bad_request")

    def do_POST(self):
        self.answer(403, "")

    def log_message(self, *args):
        pass

class Server(socketserver.TCPServer):
    allow_reuse_address = True
    address_family = __import__("socket").AF_INET6 if ":" in address else __import__("socket").AF_INET

Server((address, port), Handler).serve_forever()
"""

# A TLS server with the scenario's certificate and key (PEM text, which the lab writes to the host's own /run
# before: never on a command line, which the host's process facts would carry) or one openssl generates there for
# the given names and days; every client that completes the handshake gets ``reply`` and is closed.
_TLS_LISTENER = r"""
import os, socket, ssl, subprocess, sys
address, port, directory, reply = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].encode()
cert, key = directory + "/cert.pem", directory + "/key.pem"
if len(sys.argv) > 5:
    names, days = sys.argv[5].split(","), sys.argv[6]
    os.mkdir(directory, 0o700)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", days, "-subj", "/CN=" + names[0],
                    "-addext", "subjectAltName=" + ",".join("DNS:" + name for name in names)],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
""" + _ACCEPT + r"""    conn.settimeout(5)
    try:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(reply)
    except (OSError, ssl.SSLError):
        conn.close()
"""

# The port each listening kind takes when the scenario names none.
DEFAULT_PORTS = {"tcp_listener": None, "password_server": 8080, "tls_listener": 443}


def tls_dir(label):
    """Where a TLS listener's certificate and key live: the host's own /run, in the lab's part of it."""
    return "/run/lab-tls-%s" % label


def password_file(address):
    return "/var/cache/cloud/passwords-%s" % address


def _argv(svc, label, files=()):
    """The command line of one service (as the host runs it; every value validated by _scenario). ``files``: the
    paths the host's files: wrote."""
    if svc["kind"] == "dnsmasq":
        argv = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
                "--interface=%s" % svc["interface"], "--except-interface=lo",
                # DNS only when asked (a CloudStack virtual router's dnsmasq answers on 53 too); it knows no
                # upstream (--no-resolv) and no hosts file, so it answers only what DHCP taught it.
                "--port=53" if svc.get("dns") else "--port=0",
                "--pid-file=/run/lab-%s.pid" % label, "--dhcp-leasefile=/run/lab-%s.leases" % label,
                "--log-facility=/run/lab-%s.log" % label]
        if svc.get("dhcp_range"):
            argv.append("--dhcp-range=%s" % svc["dhcp_range"])
        if svc.get("hostsfile"):
            # Neutron's shape: a host file the scenario's files: wrote below /var/lib/neutron/dhcp (the host's
            # private tmpfs, validated in _scenario), never a file of the machine.
            argv.append("--dhcp-hostsfile=%s" % svc["hostsfile"])
        return argv + list(svc.get("options") or [])
    address, port = svc.get("address", "0.0.0.0"), str(svc.get("port") or DEFAULT_PORTS[svc["kind"]])
    if svc["kind"] == "password_server":
        argv = [sys.executable, "-c", _PASSWORD_SERVER, address, port]
        wanted = password_file(address)
        if any(isinstance(path, str) and posixpath.normpath("/" + path.lstrip("/")) == wanted for path in files):
            argv.append(wanted)
        return argv
    if svc["kind"] == "tls_listener":
        argv = [sys.executable, "-c", _TLS_LISTENER, address, port, tls_dir(label), svc.get("reply", "")]
        generate = svc["certificate"].get("generate")
        if generate:
            argv += [",".join(generate["names"]), str(generate.get("days", 365))]
        return argv
    return [sys.executable, "-c", _LISTENER, address, port, svc.get("reply", "")]


def start_services(builder, name):
    """Start the host's services, each an orphan of the holder, and wait until listeners listen."""
    for index, svc in enumerate(builder.hosts[name].get("services") or []):
        label = svc.get("name") or "%s-%d" % (svc["kind"], index)
        netns = svc.get("netns")
        argv = _argv(svc, label, [item.get("path") for item in builder.hosts[name].get("files") or ()
                                  if isinstance(item, dict)])
        certificate = svc.get("certificate") or {}
        if svc["kind"] == "tls_listener" and certificate.get("pem"):
            write_run_file(builder, name, tls_dir(label) + "/cert.pem", certificate["pem"], "0644")
            write_run_file(builder, name, tls_dir(label) + "/key.pem", certificate["key"], "0600")
        holder = builder.pids[name]
        known = set(children(holder))
        log = open(os.path.join(builder.lab_dir, "service-%s-%s.log" % (name, label)), "ab")  # pylint: disable=consider-using-with
        try:
            # setsid --fork leaves the service an orphan inside the host, so the holder (PID 1 there)
            # becomes its parent and reaper: a parent outside the host would keep the host's PID
            # namespace from ending until someone reaped its zombies.
            run_detached(builder.host_argv(name, ["setsid", "--fork"] + builder.in_ns(netns, argv)), log)
        finally:
            log.close()
        started = None
        deadline = time.time() + 3
        while started is None and time.time() < deadline:
            new = set(children(holder)) - known
            if new:
                started = min(new)
            else:
                time.sleep(0.01)
        if started is None:
            raise LabError("%s: service %s did not start; see %s" % (name, label, log.name))
        builder.state.process(started, "service:%s" % label, name)
        time.sleep(0.05)
        if not alive(started):
            raise LabError("%s: service %s exited at once; see %s" % (name, label, log.name))
    # Give listeners a moment to bind so the lab is usable as soon as build() returns.
    # A generated certificate takes openssl a moment more.
    deadline = time.time() + (8 if any(svc["kind"] == "tls_listener" for svc in builder.hosts[name].get("services") or []) else 3)
    for svc in builder.hosts[name].get("services") or []:
        if svc["kind"] not in DEFAULT_PORTS:
            continue
        port = svc.get("port") or DEFAULT_PORTS[svc["kind"]]
        while time.time() < deadline:
            out = builder.run(name, builder.in_ns(svc.get("netns"), ["ss", "-Htln", "sport", "= :%d" % port]), check=False)
            if out.stdout.strip():
                break
            time.sleep(0.05)
