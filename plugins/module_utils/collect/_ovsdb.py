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
    "parse_socket_path",
    "transact",
]

DEFAULT_DB_SOCKET = "unix:/run/openvswitch/db.sock"

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


def _recv_reply(sock, request_id, deadline, db_socket):
    """Read JSON-RPC messages until the reply to ``request_id``; answer the server's echo probes."""
    decoder = json.JSONDecoder()
    buffer = ""
    raw = bytearray()  # grows in place: a 2,000-port reply arrives in many chunks
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OvsdbError("no answer from the OVS database at %s within the timeout" % db_socket)
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            raise OvsdbError("no answer from the OVS database at %s within the timeout" % db_socket)
        if not chunk:
            raise OvsdbError("the OVS database at %s closed the connection before answering" % db_socket)
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
                raise OvsdbError("the OVS database at %s sent a non-object message" % db_socket)
            if message.get("method") == "echo":
                # The server probes idle clients; answering keeps a slow read alive.
                sock.sendall(json.dumps({"result": message.get("params", []), "error": None,
                                         "id": message.get("id")}).encode("utf-8"))
                continue
            if message.get("id") == request_id:
                return message


def transact(db_socket, operations, database="Open_vSwitch", timeout=10.0, connector=None):
    """Run one ``transact`` and return its list of operation results.

    Raises OvsdbUnavailable when no database listens at the socket, OvsdbError for a database that
    answers with an error or not at all within ``timeout`` seconds.
    ``connector`` (tests) replaces the socket: a callable returning an object with sendall/recv/settimeout/close.
    """
    path = parse_socket_path(db_socket)
    deadline = time.monotonic() + float(timeout)
    if connector is None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(max(float(timeout), 0.001))
        try:
            sock.connect(path)
        except socket.timeout:
            sock.close()
            raise OvsdbError("no answer from the OVS database at %s within the timeout" % db_socket)
        except OSError as exc:
            sock.close()
            if exc.errno in _UNAVAILABLE_ERRNOS:
                raise OvsdbUnavailable("OVS not running: cannot connect to the database socket %s (%s)"
                                       % (db_socket, exc.strerror or exc))
            if exc.errno in _DENIED_ERRNOS:
                raise OvsdbUnavailable("OVS database not readable: %s refused the connection (%s; reading it "
                                       "usually needs root)" % (db_socket, exc.strerror or exc))
            raise OvsdbError("cannot connect to the OVS database socket %s: %s" % (db_socket, exc))
    else:
        sock = connector(path)
    request_id = 1
    try:
        request = {"method": "transact", "params": [database] + list(operations), "id": request_id}
        sock.sendall(json.dumps(request).encode("utf-8"))
        reply = _recv_reply(sock, request_id, deadline, db_socket)
    except OSError as exc:
        if isinstance(exc, socket.timeout):
            raise OvsdbError("no answer from the OVS database at %s within the timeout" % db_socket)
        raise OvsdbError("reading the OVS database at %s failed: %s" % (db_socket, exc))
    finally:
        sock.close()
    if reply.get("error") is not None:
        raise OvsdbError("the OVS database at %s refused the query: %s" % (db_socket, reply["error"]))
    results = reply.get("result")
    if not isinstance(results, list):
        raise OvsdbError("the OVS database at %s sent a reply without results" % db_socket)
    for result in results:
        if isinstance(result, dict) and result.get("error"):
            raise OvsdbError("the OVS database at %s refused the query: %s: %s"
                             % (db_socket, result.get("error"), result.get("details", "")))
    return results
