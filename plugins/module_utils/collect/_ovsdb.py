# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""A minimal OVSDB JSON-RPC client (RFC 7047) over the database's unix socket, stdlib only.

One ``transact`` with several ``select`` operations reads every table we need in one round trip,
instead of one ``ovs-vsctl`` process per port.
"""

from __future__ import annotations

import errno
import json
import socket
import time

__all__ = [
    "DEFAULT_DB_SOCKET",
    "OvsdbError",
    "OvsdbUnavailable",
    "decode_value",
    "decode_rows",
    "call",
    "parse_remote",
    "parse_socket_path",
    "transact",
]

DEFAULT_DB_SOCKET = "unix:/run/openvswitch/db.sock"
_OVS = "the OVS database"

# Connection failures that mean "OVS is not installed or not running here", not a broken probe.
_UNAVAILABLE_ERRNOS = (errno.ENOENT, errno.ECONNREFUSED, errno.ENOTDIR, errno.ENOTSOCK)
# A socket this user may not open: a fact about the host (the database needs root), not a failure.
_DENIED_ERRNOS = (errno.EACCES, errno.EPERM)


class OvsdbError(Exception):
    """The database answered wrongly, or did not answer within the timeout."""


class OvsdbUnavailable(OvsdbError):
    """No database to talk to (socket absent, connection refused, permission denied): a fact, not a failure."""


def parse_socket_path(db_socket):
    """``unix:/path`` or a bare absolute path -> the path; anything else is refused by name."""
    if not isinstance(db_socket, str) or not db_socket:
        raise ValueError("db_socket must be a non-empty string, got %r" % (db_socket,))
    if db_socket.startswith("unix:"):
        path = db_socket[len("unix:"):]
    else:
        path = db_socket
    if not path.startswith("/"):
        raise ValueError("db_socket %r is not a unix socket (expected unix:/path or /path)" % (db_socket,))
    return path


def parse_remote(remote):
    """An OVSDB remote as ovn-controller reads ``ovn-remote``: ``unix:/path`` (or a bare path) -> ("unix", path),
    ``tcp:IP:PORT`` / ``tcp:[IPv6]:PORT`` -> ("tcp", (ip, port)); ``ssl:`` and anything else is refused by name
    (reading an ssl remote needs the chassis's keys, which a read-only probe does not touch)."""
    if isinstance(remote, str) and remote.startswith("tcp:"):
        rest = remote[len("tcp:"):]
        address, _sep, port = rest.rpartition(":")
        if address.startswith("[") and address.endswith("]"):
            address = address[1:-1]
        try:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            socket.inet_pton(family, address)
            number = int(port)
        except (OSError, ValueError):
            raise ValueError("remote %r is not tcp:IP:PORT" % (remote,))
        if not 0 < number < 65536:
            raise ValueError("remote %r has no valid port" % (remote,))
        return "tcp", (address, number)
    if isinstance(remote, str) and remote.startswith(("ssl:", "pssl:", "ptcp:", "punix:")):
        raise ValueError("remote %r is not read: only unix: and tcp: remotes are (an ssl remote needs the chassis's "
                         "keys, a passive one is a listener)" % (remote,))
    return "unix", parse_socket_path(remote)


def decode_value(value):
    """OVSDB JSON notation -> plain Python: sets to lists, maps to dicts, uuids to strings."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        tag, body = value
        if tag == "set":
            return [decode_value(item) for item in body]
        if tag == "map":
            return dict((decode_value(key), decode_value(val)) for key, val in body)
        if tag in ("uuid", "named-uuid"):
            return body
    return value


def decode_rows(rows):
    """Decode every column of every row of a select result."""
    return [dict((column, decode_value(value)) for column, value in row.items()) for row in rows]


def _recv_reply(sock, request_id, deadline, db_socket, what=_OVS):
    """Read JSON-RPC messages until the reply to ``request_id``; answer the server's echo probes."""
    decoder = json.JSONDecoder()
    buffer = ""
    raw = bytearray()  # grows in place: a 2,000-port reply arrives in many chunks
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OvsdbError("no answer from %s at %s within the timeout" % (what, db_socket))
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            raise OvsdbError("no answer from %s at %s within the timeout" % (what, db_socket))
        if not chunk:
            raise OvsdbError("%s at %s closed the connection before answering" % (what, db_socket))
        raw += chunk
        tail = chunk.rstrip() or bytes(raw).rstrip()  # a chunk of only whitespace: look at what came before
        if not tail.endswith(b"}"):
            continue  # every message is an object: parsing before its closing brace is wasted work
        try:
            buffer = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue  # a multi-byte character split across reads: wait for the rest
        while buffer:
            buffer = buffer.lstrip()
            if not buffer:
                break
            try:
                message, end = decoder.raw_decode(buffer)
            except ValueError:
                break  # incomplete: read more
            buffer = buffer[end:]
            raw = bytearray(buffer.encode("utf-8"))
            if not isinstance(message, dict):
                raise OvsdbError("%s at %s sent a non-object message" % (what, db_socket))
            if message.get("method") == "echo":
                # The server probes idle clients; answering keeps a slow read alive.
                sock.sendall(json.dumps({"result": message.get("params", []), "error": None,
                                         "id": message.get("id")}).encode("utf-8"))
                continue
            if message.get("id") == request_id:
                return message


def _open(remote, timeout, what):
    kind, address = parse_remote(remote)
    family = socket.AF_UNIX if kind == "unix" else (socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(max(float(timeout), 0.001))
    try:
        sock.connect(address)
    except socket.timeout:
        sock.close()
        raise OvsdbError("no answer from %s at %s within the timeout" % (what, remote))
    except OSError as exc:
        sock.close()
        # The OVS database's wording is a documented sample (ovs_port_owner's RETURN): kept as it is.
        subject, target = ("OVS", "the database socket %s" % remote) if what == _OVS else (what, remote)
        if exc.errno in _UNAVAILABLE_ERRNOS:
            raise OvsdbUnavailable("%s not running: cannot connect to %s (%s)" % (subject, target, exc.strerror or exc))
        if exc.errno in _DENIED_ERRNOS:
            raise OvsdbUnavailable("%s not readable: %s refused the connection (%s; reading it usually needs root)"
                                   % ("OVS database" if what == _OVS else what, remote, exc.strerror or exc))
        raise OvsdbError("cannot connect to %s at %s: %s" % (what, remote, exc))
    return sock


def call(remote, method, params, timeout=10.0, connector=None, what=_OVS):
    """One JSON-RPC request over an OVSDB remote or a unixctl socket; the whole reply message.

    ``what`` names the other end in errors (e.g. "the Southbound database", "ovn-controller")."""
    deadline = time.monotonic() + float(timeout)
    if connector is None:
        sock = _open(remote, timeout, what)
    else:
        sock = connector(parse_remote(remote)[1])
    request_id = 1
    try:
        sock.sendall(json.dumps({"method": method, "params": list(params), "id": request_id}).encode("utf-8"))
        return _recv_reply(sock, request_id, deadline, remote, what)
    except OSError as exc:
        if isinstance(exc, socket.timeout):
            raise OvsdbError("no answer from %s at %s within the timeout" % (what, remote))
        raise OvsdbError("reading %s at %s failed: %s" % (what, remote, exc))
    finally:
        sock.close()


def transact(db_socket, operations, database="Open_vSwitch", timeout=10.0, connector=None, what=_OVS):
    """Run one ``transact`` and return its list of operation results.

    ``db_socket`` is a unix socket (``unix:/path``) or, for a database reached over the network as a
    chassis reaches its Southbound database, ``tcp:IP:PORT``.
    Raises OvsdbUnavailable when no database listens at the socket, OvsdbError for a database that
    answers with an error or not at all within ``timeout`` seconds.
    ``connector`` (tests) replaces the socket: a callable returning an object with sendall/recv/settimeout/close.
    """
    reply = call(db_socket, "transact", [database] + list(operations), timeout, connector, what)
    if reply.get("error") is not None:
        raise OvsdbError("%s at %s refused the query: %s" % (what, db_socket, reply["error"]))
    results = reply.get("result")
    if not isinstance(results, list):
        raise OvsdbError("%s at %s sent a reply without results" % (what, db_socket))
    for result in results:
        if isinstance(result, dict) and result.get("error"):
            raise OvsdbError("%s at %s refused the query: %s: %s"
                             % (what, db_socket, result.get("error"), result.get("details", "")))
    return results
