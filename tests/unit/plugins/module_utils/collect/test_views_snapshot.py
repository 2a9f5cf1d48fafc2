# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""host_snapshot's transport form (encode_snapshot / decode_snapshot) and the netns/1 view, on recorded host facts."""

from __future__ import annotations

import base64
import copy
import json
import os
import zlib

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._views import (
    decode_snapshot,
    encode_snapshot,
    netns_view,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "host")


def facts(name="seed001_worker"):
    with open(os.path.join(FIXTURES, name + ".json")) as handle:
        return json.load(handle)


@pytest.mark.parametrize("encoding", ["json", "zlib"])
def test_round_trip(encoding):
    original = facts()
    snapshot = encode_snapshot(original, encoding)
    assert set(snapshot) == {"schema", "host", "encoding", "size", "data", "reader"}
    assert (snapshot["schema"], snapshot["host"], snapshot["encoding"]) == ("cloudnet.triage.host/1", "worker", encoding)
    assert snapshot["size"] == len(json.dumps(original, separators=(",", ":")))
    assert snapshot["reader"] == original["reader"]
    assert isinstance(snapshot["data"], str)
    # what Ansible moves is JSON: the snapshot survives it unchanged
    assert decode_snapshot(json.loads(json.dumps(snapshot)), "worker") == original


def test_zlib_is_much_smaller():
    original = facts()
    assert len(encode_snapshot(original, "zlib")["data"]) * 3 < len(encode_snapshot(original, "json")["data"])


def _zlib(text):
    return base64.b64encode(zlib.compress(text.encode("ascii"))).decode("ascii")


def _bad(**changes):
    snapshot = encode_snapshot(facts(), "zlib")
    snapshot.update(changes)
    return snapshot


@pytest.mark.parametrize("value, words", [
    ("not a dict", ["worker-1", "snapshot", "'not a dict'", "is not a dict"]),
    (_bad(schema="cloudnet.triage.netns/1"), ["worker-1", "snapshot.schema", "'cloudnet.triage.netns/1'"]),
    (_bad(encoding="gzip"), ["worker-1", "snapshot.encoding", "'gzip'", "json, zlib"]),
    (_bad(size=-1), ["snapshot.size", "-1"]),
    (_bad(size="12"), ["snapshot.size", "'12'"]),
    (_bad(data=None), ["snapshot.data", "None", "not a string"]),
    (_bad(data="%%% not base64 %%%"), ["snapshot.data", "not base64"]),
    (_bad(data=base64.b64encode(b"not zlib").decode("ascii")), ["snapshot.data", "not zlib"]),
    (_bad(data=_zlib("{not json"), size=9), ["snapshot.data", "not JSON"]),
    (_bad(size=100), ["snapshot.size", "100", "does not match"]),
    (dict(encode_snapshot(facts(), "json"), size=3), ["snapshot.size", "3", "does not match"]),
    (_bad(data=_zlib("[1, 2]"), size=6), ["snapshot.data", "[1, 2]", "not a dict"]),
    (_bad(data=_zlib('{"schema": "x"}'), size=15), ["snapshot.data.schema", "'x'"]),
])
def test_malformed_snapshots_name_host_field_and_value(value, words):
    with pytest.raises(ValueError) as caught:
        decode_snapshot(value, "worker-1")
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize("change, field", [
    (lambda f: f.update(namespaces={}), "snapshot.data.namespaces"),
    (lambda f: f.update(reader=None), "snapshot.data.reader"),
    (lambda f: f["namespaces"][1].update(id="4026532760"), "snapshot.data.namespaces[1].id"),
    (lambda f: f["namespaces"][0].update(state=None), "snapshot.data.namespaces[0].state"),
    (lambda f: f.update(ovs=[]), "snapshot.data.ovs"),
])
def test_facts_that_are_not_host_facts_are_refused(change, field):
    bad = facts()
    change(bad)
    with pytest.raises(ValueError, match=r"^worker-1: %s: " % field.replace("[", r"\[").replace("]", r"\]")):
        decode_snapshot(encode_snapshot(bad, "json"), "worker-1")


def test_the_announced_size_bounds_the_inflation():
    # A few hundred bytes that inflate to 50 MB are refused once the announced size is passed.
    bomb = base64.b64encode(zlib.compress(b"[" + b"0," * 25000000 + b"0]", 9)).decode("ascii")
    with pytest.raises(ValueError, match="does not match"):
        decode_snapshot(_bad(data=bomb, size=1000), "worker-1")


def test_netns_view_is_netns_1():
    host = facts()
    host["namespaces"][1]["tc"].append(dict(host["namespaces"][1]["tc"][0], direction="egress"))
    before = copy.deepcopy(host)
    view = netns_view(host)
    assert host == before
    assert view["schema"] == "cloudnet.triage.netns/1" and view["host"] == "worker"
    assert view["sections"] == ["links", "addresses", "routes", "neighbours", "tc", "sysctls"]
    for ns in view["namespaces"]:
        assert "entered" not in ns and "fdb" not in ns
        assert all(row["direction"] == "ingress" for row in ns.get("tc", ()))
    assert [error["section"] for error in view["errors"]] == ["links"]
    assert view["errors"][0]["message"].startswith("ens3: the other end lives in a namespace not visible here")
    assert "ovs" not in view and "reader" not in view
