# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The user's question, ``cloudnet_question``: "why can't X reach Y".

Two front doors, one normalised form (docs/diagnosis.md, "The question")::

    {source: {host, namespace, interface, address}, destination: {address, protocol, port}}

- a dict of that shape (``source`` and ``destination`` may also be the strings of the string form);
- a survey-friendly string: ``from=worker to=198.18.2.46 tcp/80``, ``from=worker/ns-a to=198.18.2.46``,
  ``from=worker/ns-a/eth0 to=...``, ``from=198.18.2.10 to=198.18.2.46 udp/53``; ``icmp`` by default.

``parse_question`` checks the shape only; ``resolve_question`` checks it against the fleet model (the
host, the namespace, the interface, every address must be in the collected facts) and finds the owner of
a source given as an address. Every problem is one QuestionError naming the field and the value, raised
before anything is sent. Plain Python.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudnet.triage.plugins.module_utils.model._identity import ROOT_DISPLAY, namespace_label, where

__all__ = ["PROTOCOLS", "QUESTION", "QuestionError", "known_addresses", "owned_addresses", "parse_question",
           "resolve_question"]

QUESTION = "cloudnet_question"
PROTOCOLS = ("icmp", "tcp", "udp")
SOURCE_KEYS = ("host", "namespace", "interface", "address")
DESTINATION_KEYS = ("address", "protocol", "port")
# How the root namespace may be written in a question: ``root/`` (model._identity.display_label), or ``root``
# when the host has no namespace of that name.
ROOT = "root"
_LISTED = 8


MISSING = object()   # the value of a field the question leaves out


class QuestionError(ValueError):
    """A question that cannot be asked of these facts: names the field and the value."""

    def __init__(self, field, value, why):
        self.field = QUESTION + ("." + field if field else "")
        self.value = None if value is MISSING else value
        self.why = why
        text = why if value is MISSING else "%s %s" % (_shown(value), why)
        super(QuestionError, self).__init__("%s: %s" % (self.field, text))


def _shown(value):
    """A value as the message shows it: a plain name as it is, anything else as Python writes it."""
    if isinstance(value, str) and value and value.isprintable() and not any(char.isspace() for char in value):
        return value if len(value) <= 120 else value[:120] + "..."
    text = repr(value)
    return text if len(text) <= 120 else text[:120] + "..."


def _listed(names):
    names = list(names)
    shown = ", ".join(names[:_LISTED])
    return shown + (", ..." if len(names) > _LISTED else "") if names else "none"


def _address(field, value):
    if not isinstance(value, str) or not value:
        raise QuestionError(field, value, "is not an IP address")
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise QuestionError(field, value, "is not an IP address")


def _name(field, value, label=False):
    """A host or device name: a non-empty string without whitespace or '/'; a namespace label may hold a '/'
    (``pid/<PID>``, ``inode/<inode>``, ``root/``: model._identity)."""
    if not isinstance(value, str) or not value or any(char.isspace() for char in value) or ("/" in value and not label):
        raise QuestionError(field, value, "is not a %s (a non-empty string without spaces%s)" % (
            "namespace label" if label else "name", "" if label else " or '/'"))
    return value


def _is_address(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _endpoint(text):
    """``from=`` of the string form: ADDRESS, HOST, HOST/NAMESPACE or HOST/NAMESPACE/INTERFACE, where NAMESPACE
    is a name, ``root/`` (the host's own), ``pid/<PID>`` or ``inode/<inode>`` (model._identity)."""
    wrong = "is not HOST, HOST/NAMESPACE, HOST/NAMESPACE/INTERFACE or an address"
    if not isinstance(text, str) or not text:
        raise QuestionError("source", text, "is empty; expected HOST, HOST/NAMESPACE, HOST/NAMESPACE/INTERFACE or an address")
    if _is_address(text):
        return {"address": text}
    parts = text.split("/")
    found = {"host": parts[0]}
    rest = parts[1:]
    if len(rest) >= 2 and rest[0] in ("pid", "inode") and rest[1]:
        found["namespace"], rest = "%s/%s" % (rest[0], rest[1]), rest[2:]
    elif len(rest) >= 2 and rest[0] == ROOT and rest[1] == "":
        found["namespace"], rest = ROOT_DISPLAY, rest[2:]
    elif rest:
        found["namespace"], rest = rest[0], rest[1:]
    if rest:
        found["interface"], rest = rest[0], rest[1:]
    if rest or not all(found.values()):
        raise QuestionError("source", text, wrong)
    return found


def _protocol(token):
    """``icmp``, ``tcp/80``, ``udp/53`` -> (protocol, port)."""
    name, _sep, port = token.partition("/")
    return name.lower(), (port if _sep else None)


def _from_string(text):
    question = {"source": None, "destination": {}}
    seen = set()
    for token in text.split():
        key, sep, value = token.partition("=")
        key = key.lower()
        if sep and key in ("from", "to"):
            if key in seen:
                raise QuestionError("", token, "repeats %s=; a question has one source and one destination" % key)
            seen.add(key)
            if key == "from":
                question["source"] = _endpoint(value)
            else:
                question["destination"]["address"] = value
        elif not sep and _protocol(token)[0] in PROTOCOLS:
            if "protocol" in seen:
                raise QuestionError("", token, "is a second protocol; a question asks one")
            seen.add("protocol")
            question["destination"]["protocol"], question["destination"]["port"] = _protocol(token)
        else:
            raise QuestionError("", token, "is not understood; expected from=HOST[/NAMESPACE[/INTERFACE]] or "
                                           "from=ADDRESS, to=ADDRESS and icmp, tcp/PORT or udp/PORT")
    if question["source"] is None:
        raise QuestionError("source", MISSING, "missing in %r: say from=HOST, from=HOST/NAMESPACE or from=ADDRESS" % (text,))
    if "address" not in question["destination"]:
        raise QuestionError("destination.address", MISSING, "missing in %r: say to=ADDRESS" % (text,))
    return question


def _port(value, protocol):
    if protocol == "icmp":
        if value not in (None, ""):
            raise QuestionError("destination.port", value, "is given for icmp, which has no ports")
        return None
    if value in (None, ""):
        raise QuestionError("destination.port", MISSING, "missing: %s needs a port (%s/PORT)" % (protocol, protocol))
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise QuestionError("destination.port", value, "is not a port (1-65535)")
    return value


def _keys(field, value, allowed):
    if not isinstance(value, dict):
        raise QuestionError(field, value, "is not a dict")
    unknown = sorted((key for key in value if key not in allowed), key=str)
    if unknown:
        name = str(unknown[0])
        raise QuestionError("%s.%s" % (field, name) if field else name, value[unknown[0]],
                            "is an unknown key; expected one of %s" % ", ".join(allowed))


def parse_question(value):
    """The normalised question of a dict or a string; None when there is no question (None or empty).

    Idempotent: a normalised question parses to itself."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        value = _from_string(value)
    if not isinstance(value, dict):
        raise QuestionError("", value, "is neither a dict (source, destination) nor a string such as "
                                       "'from=worker to=198.18.2.46 tcp/80'")
    _keys("", value, ("source", "destination"))
    source = value.get("source")
    if isinstance(source, str):
        source = _endpoint(source)
    if source is None:
        raise QuestionError("source", MISSING, "missing: a question needs a source host or address")
    _keys("source", source, SOURCE_KEYS)
    destination = value.get("destination")
    if isinstance(destination, str):
        destination = {"address": destination}
    if destination is None:
        raise QuestionError("destination", MISSING, "missing: a question needs a destination address")
    _keys("destination", destination, DESTINATION_KEYS)

    normal_source = {}
    for key in ("host", "namespace", "interface"):
        given = source.get(key)
        normal_source[key] = None if given in (None, "") else _name("source.%s" % key, given, key == "namespace")
    given = source.get("address")
    normal_source["address"] = None if given in (None, "") else _address("source.address", given)
    if normal_source["host"] is None and (normal_source["namespace"] or normal_source["interface"]):
        raise QuestionError("source.host", MISSING, "missing: a namespace or interface needs its host")
    if normal_source["host"] is None and normal_source["address"] is None:
        raise QuestionError("source.host", MISSING, "missing: name the source host or give its address")

    protocol = destination.get("protocol")
    protocol = "icmp" if protocol in (None, "") else protocol
    if not isinstance(protocol, str) or protocol.lower() not in PROTOCOLS:
        raise QuestionError("destination.protocol", protocol, "is not one of %s" % ", ".join(PROTOCOLS))
    protocol = protocol.lower()
    return {
        "source": normal_source,
        "destination": {
            "address": _address("destination.address", destination.get("address")),
            "protocol": protocol,
            "port": _port(destination.get("port"), protocol),
        },
    }


# -- against the facts ------------------------------------------------------------------------------

def _scoped(address):
    """Addresses a question may name: not loopback, link-local or multicast (they mean a place per host)."""
    try:
        found = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (found.is_loopback or found.is_link_local or found.is_multicast or found.is_unspecified)


def owned_addresses(model):
    """address -> [(host, namespace label, device)] from the namespace facts of reachable hosts, then the
    owners the digests name (a fleet of digests only has no namespace facts)."""
    owned = {}
    for state in model.reachable_hosts():
        for namespace in state.namespaces or ():
            if not isinstance(namespace, dict) or namespace.get("state", "ok") != "ok":
                continue
            label = namespace_label(namespace)
            for row in namespace.get("addresses") or ():
                address = row.get("address") if isinstance(row, dict) else None
                if address and row.get("scope") != "link" and _scoped(address):
                    place = (state.name, label, row.get("dev"))
                    places = owned.setdefault(str(ipaddress.ip_address(address)), [])
                    if place not in places:
                        places.append(place)
    for address, owners in model.owners.items():
        for owner in owners:
            state = model.hosts.get(owner[0])
            if state is not None and state.namespaces is None:
                places = owned.setdefault(address, [])
                if owner[:3] not in places:
                    places.append(owner[:3])
    return owned


def known_addresses(model, owned=None):
    """Every address a collected fact contains: owned, in a neighbour entry, a route's gateway, a tunnel end."""
    known = set(owned if owned is not None else owned_addresses(model))
    known.update(model.owners)
    known.update(model.address_hosts)
    for state in model.reachable_hosts():
        for namespace in state.namespaces or ():
            if not isinstance(namespace, dict):
                continue
            for row in namespace.get("neighbours") or ():
                if isinstance(row, dict) and row.get("address"):
                    known.add(row["address"])
            for row in namespace.get("routes") or ():
                if isinstance(row, dict) and row.get("gateway"):
                    known.add(row["gateway"])
    for _host, tunnel in model.ends:
        for key in ("remote", "local"):
            if tunnel.get(key):
                known.add(tunnel[key])
    return known


def _namespace_of(state, wanted):
    """The label of namespace ``wanted`` on the host: its label, ``root/`` for the host's own (``root`` too
    unless a namespace is named so), ``pid:<PID>`` as the older form of ``pid/<PID>``."""
    labels = [namespace_label(ns) for ns in state.namespaces or () if isinstance(ns, dict)]
    if wanted in (None, "", ROOT_DISPLAY):
        return ""
    if wanted in labels:
        return wanted
    if wanted == ROOT and "" in labels:
        return ""
    if wanted.startswith("pid:") and "pid/" + wanted[4:] in labels:
        return "pid/" + wanted[4:]
    raise QuestionError("source.namespace", wanted, "is no namespace of %s (namespaces: %s)" % (
        state.name, _listed(label or ROOT_DISPLAY for label in labels)))


def _place(place):
    host, label, device = place
    return "%s on %s" % (where(label, device), host)


def resolve_question(question, model):
    """The question checked against the model, with the source's host and namespace found.

    Returns ``{source: {host, namespace, interface, address}, destination: {address, protocol, port,
    owners: [{host, namespace, device}]}}`` (namespace None for the root namespace); raises QuestionError."""
    question = parse_question(question)
    if question is None:
        raise QuestionError("", MISSING, "empty: there is no question to resolve")
    source = dict(question["source"])
    destination = dict(question["destination"])
    owned = owned_addresses(model)

    host = source["host"]
    address = source["address"]
    if host is not None and host not in model.hosts and address is None and _is_address(host):
        address, host = host, None   # an inventory named by addresses: a bare address is an address first
    if host is not None:
        state = model.hosts.get(host)
        if state is None:
            raise QuestionError("source.host", host, "is no host of this run (hosts: %s)" % _listed(sorted(model.hosts)))
        if not state.reachable:
            raise QuestionError("source.host", host, "is not reachable in this run: its facts were not collected")
        if state.namespaces is None:
            raise QuestionError("source.host", host, "has no namespace facts (host_snapshot or netns_probe) to ask from")
    places = None
    if address is not None:
        places = owned.get(address) or []
        if host is not None:
            places = [place for place in places if place[0] == host]
        if not places:
            if host is not None:
                elsewhere = [_place(place) for place in owned.get(address) or ()]
                raise QuestionError("source.address", address, "is not an address of %s%s" % (
                    host, " (it is on %s)" % _listed(elsewhere) if elsewhere else ""))
            if host is None and source["host"] is not None:
                raise QuestionError("source.host", source["host"], "is neither a host of this run nor an address a collected fact contains")
            raise QuestionError("source.address", address, "is an address no collected fact contains")
    if host is None:
        hosts = sorted(set(place[0] for place in places))
        if len(hosts) > 1:
            raise QuestionError("source.address", address, "is owned on several hosts (%s): name the host, "
                                "from=HOST/NAMESPACE" % _listed(_place(place) for place in places))
        host = hosts[0]
        state = model.hosts[host]
        if state.namespaces is None:
            raise QuestionError("source.address", address, "is on %s, which has no namespace facts to ask from" % host)
    label = _namespace_of(state, source["namespace"]) if source["namespace"] is not None else None
    if places is not None:
        if label is not None:
            places = [place for place in places if place[1] == label]
            if not places:
                raise QuestionError("source.address", address, "is not an address of %s namespace %s" % (
                    host, label or ROOT_DISPLAY))
        labels = sorted(set(place[1] for place in places))
        if len(labels) > 1:
            raise QuestionError("source.address", address, "is owned in several namespaces of %s (%s): name one, "
                                "from=%s/NAMESPACE" % (host, _listed(label or ROOT_DISPLAY for label in labels), host))
        label = labels[0]
    if label is None:
        label = ""
    interface = source["interface"]
    if interface is not None:
        namespace = state.namespace(label)
        devices = [link.get("name") for link in (namespace or {}).get("links") or () if isinstance(link, dict)]
        if interface not in devices:
            raise QuestionError("source.interface", interface, "is no device of %s namespace %s (devices: %s)" % (
                host, label or ROOT_DISPLAY, _listed(devices)))
        if places is not None and interface not in [place[2] for place in places]:
            raise QuestionError("source.address", address, "is not an address of %s" % _place((host, label, interface)))

    target = destination["address"]
    if target not in known_addresses(model, owned):
        raise QuestionError("destination.address", target, "is an address no collected fact contains")
    destination["owners"] = [{"host": h, "namespace": ns or None, "device": dev} for h, ns, dev in owned.get(target) or ()]
    return {
        "source": {"host": host, "namespace": label or None, "interface": interface, "address": address},
        "destination": destination,
    }
