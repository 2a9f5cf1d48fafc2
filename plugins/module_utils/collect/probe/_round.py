# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""One bounded probe-and-capture round on this host: facts ``cloudnet.triage.traffic/1``.

The order is fixed, and every check that can refuse comes before any socket is made:

1. options are validated (``normalize_options``): bounds, addresses, and the destination against the
   addresses the controller's facts contain (``targets``); a refusal names the field and the value;
2. namespaces and devices are resolved: an unknown one is refused, still before any packet;
3. one ``AF_PACKET`` socket per capture point is made inside its namespace and bound to the device;
   the sender's sockets are made inside the source namespace (a socket keeps its namespace, so the
   rest runs in the module's own namespace, in one thread);
4. counters are read in every namespace involved;
5. one ``select`` loop sends on schedule (``start_after`` + seq * ``interval``), reads the answers and
   every capture point until the sender has every answer or gave up, until every point has seen the whole
   exchange on a host that only captures, or at the latest at ``window``;
6. everything is closed, counters are read again, and only what changed is returned.

A hard deadline (``window`` plus a grace for the counter reads) is also armed as an interval timer: the
round ends by itself even if nothing else does (the controller may be gone). Nothing runs afterwards: no
thread, no child process. Plain Python, no Ansible import.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import socket
import struct
import time

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import canonical_ip
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netns import (
    Namespace,
    NamespaceError,
    Walker,
    enumerate_namespaces,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._counters import changes, read_counters
from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._frames import (
    ETH_P_ALL,
    PKTTYPES,
    PROTOCOLS,
    Flow,
    decode,
    summary,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._send import ANSWER_WAIT, make_sender
from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import (
    PROCESS,
    ROOT,
    ROOT_DISPLAY,
    UNNAMED,
    label_identity,
)

__all__ = [
    "BOUNDS",
    "ProbeError",
    "TRAFFIC_SCHEMA",
    "normalize_options",
    "run_probe",
    "schedule",
]

TRAFFIC_SCHEMA = "cloudnet.triage.traffic/1"
BOUNDS = {
    "count": (1, 5),            # packets per probe
    "interval": (0.2, 1.0),     # seconds between them: the rate limit
    "window": (0.1, 5.0),       # seconds the whole round may take
    "max_frames": (1, 1000),    # frames of the flow kept per capture point
    "captures": 32,             # capture points per host
}
# The default window is the default schedule's own length: 0.5 + 2 x 0.2 + 0.9 s.
DEFAULTS = {"count": 3, "interval": 0.2, "window": 1.8, "start_after": 0.5, "max_frames": 50}
# Seconds beyond the window the timer backstop allows (the counter reads after the loop).
GRACE = 3.0
MAX_SUMMARIES = 5
# Frames read from one point in all (matching or not): past it the point stops reading, so a busy
# device costs bounded CPU; the kernel counts what was left unread (`dropped`).
MAX_READ = 50000
SNAPLEN = 640
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_STATISTICS = 6
SO_TIMESTAMPNS = 35
TP_STATUS_VLAN_VALID = 0x10
_AUX = struct.Struct("=IIIHHHH")
_TIMESPEC = struct.Struct("@ll")
_STATS = struct.Struct("=II")
_ANCBUF = socket.CMSG_SPACE(_AUX.size) + socket.CMSG_SPACE(_TIMESPEC.size)
_REACHED = frozenset(("echo_reply", "syn_ack", "rst", "arp_reply", "reply", "port_unreachable"))


class ProbeError(Exception):
    """Refused options or names: the message names the field and the value; nothing was sent."""


class _Overrun(Exception):
    """The timer backstop fired."""


# ---------------------------------------------------------------------------------------------------
# Options

def _address(field, value):
    found = canonical_ip(value) if value is not None else None
    if found is None:
        raise ProbeError("%s: %r is not an IPv4 or IPv6 address" % (field, value))
    return found


def _number(field, value, kind, low=None, high=None):
    try:
        number = kind(value)
        if kind is int and isinstance(value, float) and value != number:
            raise ValueError
    except (TypeError, ValueError):
        raise ProbeError("%s: %r is not %s" % (field, value, "a whole number" if kind is int else "a number of seconds")) from None
    if isinstance(value, bool):
        raise ProbeError("%s: %r is not %s" % (field, value, "a whole number" if kind is int else "a number of seconds"))
    if (low is not None and number < low) or (high is not None and number > high):
        raise ProbeError("%s: %r is out of bounds (%s to %s)" % (field, value, low, high))
    return number


def _namespace(field, value):
    """The namespace's label as the collection's facts write it (model._identity): "" for the host's own."""
    if value is None or value == "" or value == ROOT_DISPLAY:
        return ""
    wrong = ProbeError("%s: %r is not a namespace label (a name under /run/netns; root/ or nothing for the host's "
                       "own; pid/<PID>; inode/<inode>)" % (field, value))
    if not isinstance(value, str) or "\0" in value:
        raise wrong
    found = label_identity(value)
    if found.kind == UNNAMED and found.inode is None:
        raise wrong
    return found.label


def _display(label):
    return label or ROOT_DISPLAY


def _device(field, value, required=True):
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 0 < len(value) < 16 or "/" in value or "\0" in value or value.strip() != value:
        raise ProbeError("%s: %r is not a device name (1 to 15 characters)" % (field, value))
    return value


def _flow_fields(field, spec):
    if not isinstance(spec, dict):
        raise ProbeError("%s: %r is not a dict" % (field, spec))
    protocol = spec.get("protocol") or "icmp"
    if protocol not in PROTOCOLS:
        raise ProbeError("%s.protocol: %r is not one of %s" % (field, protocol, ", ".join(PROTOCOLS)))
    if spec.get("destination") is None:
        raise ProbeError("%s.destination: required" % field)
    destination = _address("%s.destination" % field, spec["destination"])
    source = _address("%s.source" % field, spec["source"]) if spec.get("source") is not None else None
    six = ":" in destination
    if source is not None and (":" in source) != six:
        raise ProbeError("%s.source: %s is not of the destination's family (%s)" % (field, source, destination))
    if protocol == "arp" and six:
        raise ProbeError("%s.protocol: arp asks for an IPv4 address; %s is IPv6 (probe it with icmp)" % (field, destination))
    port = spec.get("port")
    if protocol in ("tcp", "udp"):
        if port is None:
            raise ProbeError("%s.port: required for protocol %s" % (field, protocol))
        port = _number("%s.port" % field, port, int, 1, 65535)
    elif port is not None:
        raise ProbeError("%s.port: %r given, but only tcp and udp take a port (protocol is %s)" % (field, port, protocol))
    count = _number("%s.count" % field, spec.get("count", DEFAULTS["count"]) if spec.get("count") is not None
                    else DEFAULTS["count"], int, *BOUNDS["count"])
    interval = _number("%s.interval" % field, spec.get("interval") if spec.get("interval") is not None
                       else DEFAULTS["interval"], float, *BOUNDS["interval"])
    return Flow(protocol, destination, source, port, count, interval)


def schedule(count, interval, start_after, window):
    """Seconds after the start at which each packet leaves; ProbeError when the last one's answer would
    not fit in the window (each attempt waits ANSWER_WAIT for it)."""
    times = [round(start_after + seq * interval, 6) for seq in range(count)]
    needed = times[-1] + ANSWER_WAIT
    if needed > window + 1e-9:
        raise ProbeError("window: %s s is too short for count %d at interval %s s after start_after %s s: the last "
                         "packet leaves at %.2f s and its answer may take %.1f s more (needs window >= %.2f s)"
                         % (window, count, interval, start_after, times[-1], ANSWER_WAIT, needed))
    return times


def normalize_options(send=None, flow=None, captures=None, counters=True, targets=None, window=None,
                      start_after=None, max_frames=None):
    """Validated options, or ProbeError naming the field and the value: before any socket exists."""
    window = _number("window", DEFAULTS["window"] if window is None else window, float, *BOUNDS["window"])
    start_after = _number("start_after", DEFAULTS["start_after"] if start_after is None else start_after, float, 0.0, window)
    max_frames = _number("max_frames", DEFAULTS["max_frames"] if max_frames is None else max_frames, int, *BOUNDS["max_frames"])
    sender = None
    probe_flow = None
    if send is not None:
        probe_flow = _flow_fields("send", send)
        sender = {"namespace": _namespace("send.namespace", send.get("namespace")),
                  "device": _device("send.device", send.get("device"), required=False)}
        if targets is None:
            raise ProbeError("targets: required when send is set (the addresses the controller's facts contain); "
                             "no packet was sent")
        if not isinstance(targets, (list, tuple)):
            raise ProbeError("targets: %r is not a list of addresses" % (targets,))
        known = set(_address("targets[%d]" % pos, value) for pos, value in enumerate(targets))
        if probe_flow.destination not in known:
            raise ProbeError("send.destination: %s is not an address the collected facts contain (targets); "
                             "no packet was sent" % probe_flow.destination)
    if flow is not None:
        described = _flow_fields("flow", flow)
        if probe_flow is None:
            probe_flow = described
        else:
            for key in ("protocol", "destination", "port", "count", "interval"):
                if getattr(described, key) != getattr(probe_flow, key):
                    raise ProbeError("flow.%s: %r differs from send.%s %r (give flow only where nothing is sent, "
                                     "or the same values)" % (key, getattr(described, key), key, getattr(probe_flow, key)))
            if described.source is not None and probe_flow.source is None:
                probe_flow.source = described.source
    points = []
    for pos, point in enumerate(captures or []):
        field = "captures[%d]" % pos
        if not isinstance(point, dict):
            raise ProbeError("%s: %r is not a dict with namespace and device" % (field, point))
        entry = {"namespace": _namespace(field + ".namespace", point.get("namespace")),
                 "device": _device(field + ".device", point.get("device"))}
        if any(other["namespace"] == entry["namespace"] and other["device"] == entry["device"] for other in points):
            raise ProbeError("%s: %s in namespace %s is listed twice" % (field, entry["device"], _display(entry["namespace"])))
        points.append(entry)
    if len(points) > BOUNDS["captures"]:
        raise ProbeError("captures: %d points, at most %d per host" % (len(points), BOUNDS["captures"]))
    if probe_flow is None:
        if points:
            raise ProbeError("captures: a capture filters to the probe's flow; give send (on the host that sends) "
                             "or flow (on the others)")
        raise ProbeError("send: nothing to probe; give send, or flow and captures")
    times = schedule(probe_flow.count, probe_flow.interval, start_after, window)
    return {"flow": probe_flow, "sender": sender, "captures": points, "counters": bool(counters), "window": window,
            "start_after": start_after, "max_frames": max_frames, "times": times}


# ---------------------------------------------------------------------------------------------------
# Namespaces

class _Namespaces:
    """Labels -> Namespace, listed once (unnamed ones only when an inode/ label asks for them)."""

    def __init__(self, labels, netns_dirs):
        unnamed = any(label_identity(label).kind == UNNAMED for label in labels)
        self.listed = enumerate_namespaces(extra_dirs=netns_dirs, include_unnamed=unnamed)

    def find(self, field, label):
        wanted = label_identity(label)
        if wanted.kind == ROOT:
            return self.listed[0]
        if wanted.kind == PROCESS:
            path = "/proc/%d/ns/net" % wanted.pid
            try:
                inode = os.stat(path).st_ino
            except OSError:
                raise ProbeError("%s: %s: no process %d on this host" % (field, label, wanted.pid)) from None
            namespace = Namespace(inode)
            namespace.holder_pids.append(wanted.pid)
            namespace.paths.append(path)
            return namespace
        for namespace in self.listed:
            if (wanted.kind == UNNAMED and namespace.id == wanted.inode) or (
                    wanted.kind != UNNAMED and namespace.name == wanted.name):
                return namespace
        raise ProbeError("%s: no network namespace %r on this host" % (field, label))


# ---------------------------------------------------------------------------------------------------
# Capture points

class _Point:
    """One AF_PACKET socket bound to one device of one namespace, and what it saw of the flow."""

    def __init__(self, spec, namespace):
        self.spec = spec
        self.namespace = namespace
        self.sock = None
        self.ifindex = None
        self.state = "ok"
        self.error = None
        self.stopped = None
        self.counts = {"request": 0, "reply": 0, "error": 0, "neighbour": 0}
        self.directions = {}
        self.encapsulated = 0
        self.vlans = set()
        self.first = self.last = None
        self.summaries = []
        self.matched = 0
        self.read = 0
        self.dropped = None

    def open(self):
        """Inside the point's namespace. Protocol 0 at creation: nothing is queued before the bind."""
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.bind((self.spec["device"], ETH_P_ALL))
            sock.setblocking(False)
            self.ifindex = socket.if_nametoindex(self.spec["device"])
        except OSError:
            sock.close()
            raise
        self.sock = sock

    def complete(self, flow):
        """Every request and its answer passed here: nothing more to wait for."""
        return self.counts["request"] >= flow.count and self.counts["reply"] + self.counts["error"] >= flow.count

    def drain(self, flow, wall_start, max_frames, limit=64):
        """Read what is queued (at most limit frames), keep what belongs to the flow."""
        sock = self.sock
        if sock is None:
            return
        for _frame in range(limit):
            try:
                data, ancdata, _flags, address = sock.recvmsg(SNAPLEN, _ANCBUF)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.state, self.error = "error", "capture: %s" % exc.strerror
                self.close("error")
                return
            self.read += 1
            stamp, vlan = _ancillary(ancdata)
            packet = decode(data, address[3], address[1])
            if packet is not None:
                if vlan is not None:
                    packet["vlans"].insert(0, vlan)  # the tag the kernel took off into metadata
                role, layer = flow.classify(packet)
                if role is not None:
                    self._keep(packet, role, layer, address[2], stamp or time.time(), wall_start)
                    if self.matched >= max_frames:
                        self.close("max_frames")
                        return
            if self.read >= MAX_READ:
                self.close("read_limit")
                return

    def _keep(self, packet, role, layer, pkttype, stamp, wall_start):
        self.matched += 1
        self.counts[role] += 1
        direction = PKTTYPES[pkttype] if pkttype < len(PKTTYPES) else str(pkttype)
        self.directions[direction] = self.directions.get(direction, 0) + 1
        if layer is not packet:
            self.encapsulated += 1
        self.vlans.update(packet["vlans"])
        self.first = stamp if self.first is None else self.first
        self.last = stamp
        # Neighbour resolution may come first and often: it gets two lines, the probe's own frames the rest.
        if len(self.summaries) < MAX_SUMMARIES and (role != "neighbour" or self.counts[role] <= 2):
            self.summaries.append("%s %s" % (role, summary(packet, direction, stamp - wall_start)))

    def close(self, reason):
        if self.sock is None:
            return
        try:
            self.dropped = _STATS.unpack(self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size))[1]
        except OSError:
            self.dropped = None
        self.sock.close()
        self.sock = None
        self.stopped = self.stopped or reason

    def as_dict(self, wall_start):
        return {
            "namespace": self.spec["namespace"] or None,
            "ns_id": self.namespace.id if self.namespace is not None else None,
            "device": self.spec["device"],
            "ifindex": self.ifindex,
            "state": self.state,
            "error": self.error,
            "seen": self.counts["request"] > 0,
            "answered": self.counts["reply"] + self.counts["error"] > 0,
            "requests": self.counts["request"],
            "replies": self.counts["reply"],
            "errors": self.counts["error"],
            "neighbour": self.counts["neighbour"],
            "frames": self.matched,
            "encapsulated": self.encapsulated,
            "vlans": sorted(self.vlans),
            "directions": dict(sorted(self.directions.items())),
            "first": None if self.first is None else round(self.first, 6),
            "last": None if self.last is None else round(self.last, 6),
            "first_offset": None if self.first is None else round(self.first - wall_start, 4),
            "last_offset": None if self.last is None else round(self.last - wall_start, 4),
            "summaries": self.summaries,
            "read": self.read,
            "dropped": self.dropped,
            "stopped": self.stopped,
        }


def _ancillary(ancdata):
    stamp = vlan = None
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            stamp = seconds + nanoseconds / 1e9
        elif level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= _AUX.size:
            status, _len, _snap, _mac, _net, tci, _tpid = _AUX.unpack_from(data)
            if status & TP_STATUS_VLAN_VALID:
                vlan = tci & 0x0FFF
    return stamp, vlan


# ---------------------------------------------------------------------------------------------------
# The round

class _Timer:
    """The backstop: an interval timer whose signal ends the round; restored on exit."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.previous = None
        self.armed = False

    def __enter__(self):
        def fire(_signum, _frame):
            raise _Overrun()
        try:
            self.previous = signal.signal(signal.SIGALRM, fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.armed = True
        except (ValueError, OSError):
            self.armed = False  # not the main thread (a test harness): the loop's own deadline still holds
        return self

    def __exit__(self, *exc):
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous if self.previous is not None else signal.SIG_DFL)


def _namespace_devices(options, sender, points):
    """{label: (Namespace, [devices])} of every namespace involved, in first-seen order."""
    involved = {}
    order = []
    for point in points:
        label = point.spec["namespace"]
        if label not in involved:
            involved[label] = (point.namespace, [])
            order.append(label)
        involved[label][1].append(point.spec["device"])
    if sender is not None:
        label = options["sender"]["namespace"]
        device = sender["sender"].device or (sender["sender"].route or {}).get("dev")
        if label not in involved:
            involved[label] = (sender["namespace"], [])
            order.append(label)
        if device and device not in involved[label][1]:
            involved[label][1].append(device)
    return [(label, involved[label][0], involved[label][1]) for label in order]


def _read_all(walker, involved, rules, errors):
    snapshots = {}
    for label, namespace, devices in involved:
        try:
            walker.enter(namespace)
            snapshots[label] = read_counters(devices, rules=rules)
        except NamespaceError as exc:
            errors.append({"namespace": label or None, "section": "counters", "message": str(exc)})
        finally:
            walker.go_home()
    return snapshots


def run_probe(send=None, flow=None, captures=None, counters=True, targets=None, window=None, start_after=None,
              max_frames=None, netns_dirs=(), check_mode=False):
    """One round; returns the traffic facts. ProbeError (nothing sent) for refused options or names."""
    options = normalize_options(send, flow, captures, counters, targets, window, start_after, max_frames)
    probe_flow = options["flow"]
    start = time.monotonic()
    wall_start = time.time()
    errors = []
    labels = [point["namespace"] for point in options["captures"]]
    if options["sender"] is not None:
        labels.append(options["sender"]["namespace"])
    listed = _Namespaces(labels, list(netns_dirs or ()))
    points = [_Point(spec, listed.find("captures[%d].namespace" % pos, spec["namespace"]))
              for pos, spec in enumerate(options["captures"])]
    sender = None
    if options["sender"] is not None:
        sender = {"namespace": listed.find("send.namespace", options["sender"]["namespace"]), "sender": None}
    walker = Walker()
    stopped = None
    before = after = None
    involved = []
    try:
        with _Timer(options["window"] + GRACE):
            try:
                _open_points(walker, points)
                if sender is not None and not check_mode:
                    sender["sender"] = _open_sender(walker, sender["namespace"], probe_flow, options)
                elif sender is not None:
                    sender["sender"] = make_sender(probe_flow, options["sender"]["device"])
                involved = _namespace_devices(options, sender, points)
                if options["counters"]:
                    before = _read_all(walker, involved, True, errors)
                stopped = _loop(points, sender["sender"] if sender is not None and not check_mode else None,
                                probe_flow, options, start, wall_start)
            except _Overrun:
                stopped = "timer"
                errors.append({"namespace": None, "section": "probe",
                               "message": "the hard deadline (window + %.0f s) ended the round" % GRACE})
            finally:
                for point in points:
                    point.close(stopped or "error")
                if sender is not None and sender["sender"] is not None:
                    sender["sender"].close()
            if options["counters"] and before is not None:
                try:
                    after = _read_all(walker, involved, True, errors)
                except _Overrun:
                    errors.append({"namespace": None, "section": "counters",
                                   "message": "the hard deadline ended the second counter read"})
    finally:
        walker.away = True  # always go home, even if the timer fired between a setns and its bookkeeping
        walker.close()
    return _facts(options, probe_flow, sender, points, before, after, errors, start, wall_start, stopped, check_mode)


def _open_points(walker, points):
    opened = []
    try:
        for pos, point in enumerate(points):
            try:
                walker.enter(point.namespace)
                point.open()
            except NamespaceError as exc:
                raise ProbeError("captures[%d].namespace: %s" % (pos, exc)) from None
            except OSError as exc:
                if exc.errno == errno.ENODEV:
                    raise ProbeError("captures[%d].device: no device %r in namespace %s"
                                     % (pos, point.spec["device"], _display(point.spec["namespace"]))) from None
                raise ProbeError("captures[%d]: cannot capture on %s in namespace %s: %s"
                                 % (pos, point.spec["device"], _display(point.spec["namespace"]), exc.strerror)) from None
            finally:
                walker.go_home()
            opened.append(point)
    except ProbeError:
        for point in opened:
            point.close("refused")
        raise


def _open_sender(walker, namespace, probe_flow, options):
    sender = make_sender(probe_flow, options["sender"]["device"], probe_flow.source)
    try:
        walker.enter(namespace)
        sender.prepare()
    except NamespaceError as exc:
        sender.close()
        raise ProbeError("send.namespace: %s" % exc) from None
    except OSError as exc:
        sender.close()
        where = _display(options["sender"]["namespace"])
        if exc.errno in (errno.ENODEV, errno.ENXIO) and options["sender"]["device"] is not None:
            raise ProbeError("send.device: no device %r in namespace %s (%s)"
                             % (options["sender"]["device"], where, exc.strerror or exc)) from None
        raise ProbeError("send: cannot send to %s from namespace %s: %s"
                         % (probe_flow.destination, where, exc.strerror or exc)) from None
    finally:
        walker.go_home()
    return sender


def _loop(points, sender, probe_flow, options, start, wall_start):
    """The one select loop; returns why it stopped."""
    max_frames = options["max_frames"]
    hard_end = start + options["window"]
    due = [start + offset for offset in options["times"]]
    attempts = sender.attempts if sender is not None else []
    next_send = 0
    while True:
        now = time.monotonic()
        if now >= hard_end:
            return "window"
        while sender is not None and next_send < len(due) and due[next_send] <= now:
            sender.send(attempts[next_send], now)
            next_send += 1
        if sender is not None:
            sender.expire(now)
            if next_send >= len(due) and sender.settled():
                for point in points:
                    point.drain(probe_flow, wall_start, max_frames, limit=MAX_READ)
                return "answered" if all(attempt.answer for attempt in attempts) else "no_answer"
        open_points = [point for point in points if point.sock is not None]
        if sender is None:
            if not open_points:
                return "complete" if points else "nothing_to_watch"
            if all(point.complete(probe_flow) for point in open_points):
                for point in open_points:
                    point.drain(probe_flow, wall_start, max_frames, limit=MAX_READ)
                    point.close("complete")
                return "complete"
        wake = [hard_end]
        if sender is not None:
            if next_send < len(due):
                wake.append(due[next_send])
            pending = sender.next_deadline()
            if pending is not None:
                wake.append(pending)
        readers = [point.sock for point in open_points]
        writers = []
        if sender is not None:
            readers += sender.readers()
            writers = sender.writers()
        timeout = max(0.0, min(wake) - time.monotonic())
        if not readers and not writers:
            time.sleep(timeout)
            continue
        try:
            readable, writable, _failed = select.select(readers, writers, [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        by_sock = dict((point.sock, point) for point in open_points)
        for sock in readable:
            point = by_sock.get(sock)
            if point is not None:
                point.drain(probe_flow, wall_start, max_frames)
            elif sender is not None:
                sender.readable(sock, now)
        for sock in writable:
            sender.writable(sock, now)


def _outcome(sender, check_mode):
    if check_mode:
        return "not_sent", None
    if sender is None or not any(attempt.sent_at is not None for attempt in sender.attempts):
        return "not_sent", False
    answers = [attempt.answer for attempt in sender.attempts if attempt.answer]
    if any(answer in _REACHED for answer in answers):
        return "reached", True
    if answers:
        return "unreachable", False
    if sender.protocol == "udp":
        # A UDP service may take a datagram and say nothing: silence is not failure; the captures tell.
        return "no_answer", None
    return "no_answer", False


def _facts(options, probe_flow, sender, points, before, after, errors, start, wall_start, stopped, check_mode):
    send_facts = None
    if sender is not None:
        active = sender["sender"]
        outcome, reached = _outcome(active if not check_mode else None, check_mode)
        attempts = active.attempts if active is not None else []
        send_facts = {
            "namespace": options["sender"]["namespace"] or None,
            "ns_id": sender["namespace"].id,
            "device": active.device if active is not None else options["sender"]["device"],
            "source": active.source if active is not None else probe_flow.source,
            "route": active.route if active is not None else None,
            "sent": 0 if check_mode else sum(1 for attempt in attempts if attempt.sent_at is not None),
            "packets": 0 if check_mode or active is None else active.packets,
            "answered": 0 if check_mode else sum(1 for attempt in attempts if attempt.answer),
            "outcome": outcome,
            "reached": reached,
            "attempts": [] if check_mode else [attempt.as_dict(start) for attempt in attempts],
        }
    counter_facts = []
    if before is not None and after is not None:
        for label in before:
            if label in after:
                moved = changes(before[label], after[label])
                moved["namespace"] = label or None
                counter_facts.append(moved)
    return {
        "schema": TRAFFIC_SCHEMA,
        "host": os.uname()[1],
        "check_mode": bool(check_mode),
        "flow": probe_flow.as_dict(),
        "send": send_facts,
        "points": [point.as_dict(wall_start) for point in points],
        "counters": counter_facts,
        "timing": {"started": round(wall_start, 6), "window": options["window"], "start_after": options["start_after"],
                   "schedule": options["times"], "elapsed": round(time.monotonic() - start, 4), "stopped": stopped},
        "errors": errors,
    }
