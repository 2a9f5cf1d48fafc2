# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The platform rules' host facts without a kernel: recorded sock_diag and nftables replies
(tests/unit/fixtures/host_facts/record.py), iptables-save texts, fake /proc trees and file trees."""

from __future__ import annotations

import json
import os
import struct

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.collect import _firewall, _procs
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._files import (
    DEFAULT_FILES,
    MAX_SIZE,
    file_pattern_problem,
    read_files,
    redact,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._firewall import (
    parse_chain,
    parse_legacy_save,
    parse_rule_any,
    read_firewall,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import NetlinkError, parse_stream
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._reader import (
    ALL_SECTIONS,
    HOST_SECTIONS,
    HostReader,
    ProbeError,
    normalize_options,
)
from ansible_collections.cloudnet.triage.plugins.module_utils.collect._sockets import (
    DiagSocket,
    listening,
    parse_inet_diag,
    read_sockets,
)

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "host_facts", "replies.json")


@pytest.fixture(scope="module")
def replies():
    with open(FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)


def chunks(hexes):
    return [bytearray.fromhex(text) for text in hexes]


def ss_form(row):
    """A listener as `ss -tuln` prints its local end: 0.0.0.0%lo:53, [::1]:8080."""
    address = "[%s]" % row["address"] if row["family"] == 6 else row["address"]
    return "%s %s%s:%d" % (row["protocol"], address, "%" + row["dev"] if row["dev"] else "", row["port"])


# -- sockets --------------------------------------------------------------------------------------

def test_recorded_sock_diag_replies_give_what_ss_saw(replies):
    rows = []
    for key, hexes in sorted(replies["sockets"].items()):
        for row in listening(parse_stream(chunks(hexes), parser=parse_inet_diag), key[:3]):
            row["dev"] = {1: "lo"}.get(row["ifindex"])
            rows.append(row)
    assert sorted(ss_form(row) for row in rows) == replies["ss"]
    # the UDP socket connected to 198.18.0.1:9 is no listener; every listener has its socket inode
    assert all(row["port"] != 9 and row["inode"] > 0 for row in rows)
    [dhcp] = [row for row in rows if row["port"] == 67]
    assert (dhcp["protocol"], dhcp["state"], dhcp["ifindex"]) == ("udp", "unconnected", None)


def test_a_truncated_inet_diag_message_is_a_netlink_error():
    with pytest.raises(NetlinkError):
        parse_inet_diag(bytearray(40), 0, 40)


class FakeDiag(object):
    """Replays recorded dumps; a protocol missing from them answers as a kernel without it would."""

    def __init__(self, dumps, timeout=1.0, buffer=None):
        self.dumps = dumps

    def inet(self, family, protocol, states):
        key = "%s%d" % ({6: "tcp", 17: "udp"}[protocol], 4 if family == 2 else 6)
        if key not in self.dumps:
            raise NetlinkError("No such file or directory", 2)
        return parse_stream(chunks(self.dumps[key]), parser=parse_inet_diag)

    def close(self):
        pass


def test_read_sockets_names_devices_and_says_what_the_kernel_refused(replies):
    dumps = dict((key, value) for key, value in replies["sockets"].items() if key != "udp6")
    rows, not_read = read_sockets({1: "lo"}, open_socket=lambda timeout, buffer: FakeDiag(dumps))
    assert [item["what"] for item in not_read] == ["udp6"]
    assert [(row["protocol"], row["port"], row["dev"]) for row in rows] == [
        ("tcp", 80, None), ("tcp", 8080, None), ("udp", 53, "lo"), ("udp", 67, None)]
    assert all(row["pid"] is None and row["process"] is None for row in rows)


# -- nftables and legacy tables --------------------------------------------------------------------

def test_recorded_nftables_rules_and_chains_match_nft_json(replies):
    rules = parse_stream(chunks(replies["nftables"]["rules"]), parser=parse_rule_any)
    chains = parse_stream(chunks(replies["nftables"]["chains"]), parser=parse_chain)
    expected = [item["rule"] for item in replies["nft"]["nftables"] if "rule" in item]
    assert [(row["table"], row["chain"], row["handle"]) for row in rules] == [
        (item["table"], item["chain"], item["handle"]) for item in expected]
    counted, uncounted = rules
    # the rule with a counter: its summary and counters (the counter reader's); the one without: its verdict
    assert (counted["verdict"], counted["packets"], "dport 67" in counted["rule"]) == ("accept", 0, True)
    assert (uncounted["verdict"], uncounted["packets"], uncounted["rule"]) == ("drop", None, None)
    [chain] = [item["chain"] for item in replies["nft"]["nftables"] if "chain" in item]
    assert [(row["family"], row["table"], row["chain"], row["hook"], row["priority"], row["policy"], row["type"])
            for row in chains] == [(chain["family"], chain["table"], chain["name"], chain["hook"], chain["prio"],
                                    chain["policy"], chain["type"])]


IPTABLES_SAVE = """# Generated by iptables-save v1.8.9
*filter
:INPUT ACCEPT [10:800]
:FORWARD DROP [0:0]
:neutron-openvswi-sg-chain - [0:0]
[4:320] -A INPUT -p udp -m udp --dport 67 -j ACCEPT
[7:588] -A FORWARD -m physdev --physdev-in qvbd7e2-7a --physdev-is-bridged -j neutron-openvswi-sg-chain
[2:168] -A neutron-openvswi-sg-chain -p icmp -m comment --comment "sg drop" -j DROP
COMMIT
"""


def test_iptables_save_counters_chains_and_verdicts():
    rules, chains = parse_legacy_save(IPTABLES_SAVE, "ip", "iptables-legacy")
    assert [(row["chain"], row["verdict"], row["packets"], row["bytes"]) for row in rules] == [
        ("INPUT", "accept", 4, 320), ("FORWARD", "jump neutron-openvswi-sg-chain", 7, 588),
        ("neutron-openvswi-sg-chain", "drop", 2, 168)]
    assert rules[2]["rule"] == "-p icmp -m comment --comment sg drop -j DROP"
    assert [(row["chain"], row["hook"], row["policy"]) for row in chains] == [
        ("INPUT", "input", "accept"), ("FORWARD", "forward", "drop"), ("neutron-openvswi-sg-chain", None, None)]
    assert all(row["table"] == "filter" and row["family"] == "ip" for row in rules + chains)


def test_ebtables_save_counters_at_the_end_of_the_rule():
    rules, chains = parse_legacy_save("*filter\n:FORWARD ACCEPT\n-A FORWARD -p IPv4 -j i-2-117-VM-in -c 12 960\n",
                                      "bridge", "ebtables-legacy")
    assert [(row["chain"], row["rule"], row["verdict"], row["packets"], row["bytes"]) for row in rules] == [
        ("FORWARD", "-p IPv4 -j i-2-117-VM-in", "jump i-2-117-VM-in", 12, 960)]
    assert chains[0]["policy"] == "accept"


class NoNft(object):
    def __init__(self, timeout=1.0):
        raise OSError(93, "Protocol not supported")


@pytest.mark.parametrize("run, bins, reason", [
    (None, {}, "no command runner given"),
    (lambda argv, timeout, env: (0, "", ""), {}, "iptables-legacy-save not found"),
    (lambda argv, timeout, env: (1, "", "iptables v1.8: can't initialize"), {"iptables-legacy-save": "/x"}, "exited 1"),
    (lambda argv, timeout, env: (None, "", "no answer within 1.0 s"), {"iptables-legacy-save": "/x"}, "no answer"),
])
def test_legacy_tables_not_read_say_why(monkeypatch, run, bins, reason):
    monkeypatch.setattr(_firewall, "NftSocket", NoNft)
    monkeypatch.setattr(_firewall, "_legacy_tables", lambda name: ["filter"] if name == "ip_tables_names" else [])
    facts = read_firewall(bins, run)
    assert facts["rules"] == [] and facts["not_read"][0]["what"] == "nftables"
    assert "Protocol not supported" in facts["not_read"][0]["reason"]
    [legacy] = [item for item in facts["not_read"] if item["what"] == "iptables-legacy-save"]
    assert "legacy tables filter loaded" in legacy["reason"] and reason in legacy["reason"]


def test_legacy_tables_read_with_the_save_tool_in_the_namespace(monkeypatch):
    monkeypatch.setattr(_firewall, "NftSocket", NoNft)
    monkeypatch.setattr(_firewall, "_legacy_tables", lambda name: ["filter"] if name == "ip_tables_names" else [])
    asked = []

    def run(argv, timeout, env):
        asked.append((argv, env))
        return 0, IPTABLES_SAVE if "iptables" in argv[0] else "", ""

    bins = {"iptables-legacy-save": "/sbin/iptables-legacy-save", "ebtables-legacy-save": "/sbin/ebtables-legacy-save"}
    facts = read_firewall(bins, run)
    # Legacy ebtables' only reader runs a shell pipeline: never run, said instead.
    assert [argv for argv, _env in asked] == [["/sbin/iptables-legacy-save", "-c"]]
    assert [row["source"] for row in facts["rules"]] == ["iptables-legacy"] * 3
    assert any(item["what"] == "ebtables-legacy" for item in facts["not_read"])


def test_run_tool_bounds_time_and_takes_an_argument_list():
    rc, out, err = _firewall.run_tool(["sleep", "5"], 0.2)
    assert rc is None and "0.2" in err
    # A grandchild that keeps the pipes open is killed with its group: the bound holds.
    import time
    start = time.monotonic()
    rc, out, err = _firewall.run_tool(["python3", "-c", "import subprocess, time; subprocess.Popen(['sleep', '4']); time.sleep(4)"], 0.3)
    assert rc is None and time.monotonic() - start < 2.0
    rc, out, err = _firewall.run_tool(["printf", "%s", "a b;c"], 2.0)
    assert (rc, out) == (0, "a b;c")


# -- processes -------------------------------------------------------------------------------------

def fake_proc(tmp_path):
    proc = tmp_path / "proc"
    netns = tmp_path / "nsfs"
    netns.mkdir()
    (netns / "qdhcp").write_text("")
    for pid, comm, argv, sockets in ((1, "init", [b"/sbin/init"], []),
                                     (2, "kthreadd", [], []),
                                     (4242, "dnsmasq", [b"dnsmasq", b"--dhcp-hostsfile=/var/lib/neutron/dhcp/n1/host",
                                                        b"--bind-dynamic"], [1886099, 77])):
        base = proc / str(pid)
        (base / "ns").mkdir(parents=True)
        (base / "fd").mkdir()
        (base / "comm").write_text(comm + "\n")
        (base / "cmdline").write_bytes(b"\0".join(argv) + (b"\0" if argv else b""))
        os.symlink(str(netns / "qdhcp"), str(base / "ns" / "net"))
        for fd, inode in enumerate(sockets, 3):
            os.symlink("socket:[%d]" % inode, str(base / "fd" / str(fd)))
        os.symlink("/dev/null", str(base / "fd" / "0"))
    (proc / "self").mkdir()
    return str(proc), os.stat(str(netns / "qdhcp")).st_ino


def test_processes_with_namespace_and_command_line(tmp_path):
    proc, inode = fake_proc(tmp_path)
    rows, notes = _procs.read_processes(proc)
    assert notes == []
    assert [(row["pid"], row["comm"], row["ns"]) for row in rows] == [
        (1, "init", inode), (2, "kthreadd", inode), (4242, "dnsmasq", inode)]
    assert rows[1]["cmdline"] == [] and rows[2]["cmdline"][1] == "--dhcp-hostsfile=/var/lib/neutron/dhcp/n1/host"
    rows, notes = _procs.read_processes(proc, max_processes=2, max_cmdline=10)
    assert [row["pid"] for row in rows] == [1, 2] and "only the first 2" in notes[0]
    assert rows[0]["cmdline"] == ["/sbin/init"] and rows[0]["truncated"] is True


def test_socket_owners_from_descriptor_links(tmp_path):
    proc, _inode = fake_proc(tmp_path)
    owners, notes = _procs.socket_owners([1, 4242, 99999], proc)
    assert (owners, notes) == ({1886099: 4242, 77: 4242}, [])
    owners, notes = _procs.socket_owners([1, 4242], proc, max_fds=2)
    assert owners == {} and "budget" in notes[0]


# -- files -----------------------------------------------------------------------------------------

def tree(tmp_path):
    root = tmp_path / "root"
    dhcp = root / "var/lib/neutron/dhcp"
    (dhcp / "net1").mkdir(parents=True)
    (dhcp / "net1" / "host").write_text("fa:16:3e:00:00:01,host-198-18-5-10,198.18.5.10,set:port-1\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "host").write_text("the machine's own\n")
    os.symlink(str(outside), str(dhcp / "net2"))                 # a directory link out
    (root / "etc/neutron").mkdir(parents=True)
    os.symlink(str(outside / "host"), str(root / "etc/neutron/evil.ini"))  # a file link out
    (root / "etc/neutron/dhcp_agent.ini").write_text(
        "[DEFAULT]\ninterface_driver = openvswitch\n[database]\nconnection = mysql://neutron:s3cret@db/neutron\n"
        "[ovs]\nbridge_mappings = physnet1:br-ex\nadmin_password: hunter2\n")
    (root / "etc/neutron/big.ini").write_bytes(b"x" * (MAX_SIZE + 10))
    os.mkfifo(str(root / "etc/neutron/fifo.ini"))
    return str(root)


def test_files_below_the_roots_are_read_and_links_out_refused(tmp_path):
    root = tree(tmp_path)
    facts = read_files(DEFAULT_FILES, root=root)
    read = dict((row["path"], row) for row in facts["read"])
    assert sorted(read) == ["/etc/neutron/big.ini", "/etc/neutron/dhcp_agent.ini", "/var/lib/neutron/dhcp/net1/host"]
    assert read["/var/lib/neutron/dhcp/net1/host"]["content"].startswith("fa:16:3e:00:00:01,")
    refused = dict((row["path"], row["reason"]) for row in facts["refused"])
    assert refused == {"/var/lib/neutron/dhcp/net2": "is a symlink: not followed",
                       "/etc/neutron/evil.ini": "is a symlink: not followed",
                       "/etc/neutron/fifo.ini": "is not a regular file"}
    assert "the machine's own" not in json.dumps(facts)
    big = read["/etc/neutron/big.ini"]
    assert (big["truncated"], big["size"], len(big["content"])) == (True, MAX_SIZE + 10, MAX_SIZE)


def test_secrets_are_redacted_and_mappings_kept(tmp_path):
    facts = read_files(["/etc/neutron/dhcp_agent.ini"], root=tree(tmp_path))
    [row] = facts["read"]
    assert "s3cret" not in row["content"] and "hunter2" not in row["content"] and row["redacted"] == 2
    assert "bridge_mappings = physnet1:br-ex" in row["content"] and "connection = <redacted>" in row["content"]
    assert redact("keystore.passphrase=abc\nhost=1\n") == ("keystore.passphrase=<redacted>\nhost=1\n", 1)
    # A system VM's conf directory: the certificate stays (the controller checks it), its private key never leaves.
    pem = ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
           "-----BEGIN RSA PRIVATE KEY-----\nMIIEsecret\n-----END RSA PRIVATE KEY-----\n"
           "-----BEGIN PRIVATE KEY-----\nMIIEcut")
    text, count = redact(pem)
    assert count == 2 and "MIIEsecret" not in text and "MIIEcut" not in text and "BEGIN CERTIFICATE-----\nMIIB" in text
    # keepalived.conf (a redundant router's VRRP) separates with a space.
    assert redact("    auth_type PASS\n    auth_pass s3cret\n") == ("    auth_type PASS\n    auth_pass <redacted>\n", 1)
    private = "private.network.device=cloudbr1\nprivate_key_file=/root/k\n"
    assert redact(private) == ("private.network.device=cloudbr1\nprivate_key_file=<redacted>\n", 1)


def test_ifupdown_wireless_secrets_and_sim_pins_are_redacted():
    # ifupdown separates key and value with a space; NetworkManager's [gsm] pin= is the SIM PIN.
    interfaces = ("iface wlan0 inet dhcp\n    wpa-ssid LabNet\n    wpa-psk hunter3\n    wpa-passphrase hunter4\n"
                  "    wireless-key s3\n    wireless-key1 s:abc\n    wpa-key-mgmt WPA-PSK\n")
    text, count = redact(interfaces)
    assert count == 4 and not any(word in text for word in ("hunter3", "hunter4", " s3", "s:abc"))
    assert "wpa-ssid LabNet" in text and "wpa-key-mgmt WPA-PSK" in text and "wpa-psk <redacted>" in text
    text, count = redact("[gsm]\napn=internet\npin=1234\nsim-pin = 9876\n")
    assert count == 2 and "1234" not in text and "9876" not in text and "apn=internet" in text
    kept = "bridge_mappings = physnet1:br-ex\nmapping=1\nspin=3\npinned=yes\ninterface_mappings = p:eth1\n"
    assert redact(kept) == (kept, 0)


@pytest.mark.parametrize("pattern", ["/etc/passwd", "/etc/neutron/../shadow", "relative/x", "/var/lib/neutron/**",
                                     "/etc/neutron*/x", "/var/lib/neutronx/host"])
def test_patterns_outside_the_roots_are_refused(pattern, tmp_path):
    assert file_pattern_problem(pattern) is not None
    facts = read_files([pattern], root=tree(tmp_path))
    assert facts["read"] == [] and facts["refused"][0]["path"] == pattern
    with pytest.raises(ProbeError, match="files:"):
        HostReader(files=[pattern], ovs=False)


# -- the reader's options --------------------------------------------------------------------------

def test_optional_sections_only_when_asked():
    assert normalize_options(every=ALL_SECTIONS)["sections"] == list(HOST_SECTIONS)
    asked = normalize_options(sections=["files", "links", "sockets"], every=ALL_SECTIONS)["sections"]
    assert asked == ["links", "sockets", "files"]
    with pytest.raises(ProbeError, match="unknown section 'sockets'"):
        normalize_options(sections=["sockets"], every=HOST_SECTIONS)


def test_inet_diag_request_is_a_v2_dump_of_one_family_and_protocol():
    sent = []

    class Recording(DiagSocket):
        def __init__(self):  # pylint: disable=super-init-not-called
            pass

        def _exchange(self, msg_type, flags, body, parser=None, select=None, retry=True):
            sent.append((msg_type, flags, body, parser))
            return []

    Recording().inet(10, 6, 1 << 10)
    [(msg_type, flags, body, parser)] = sent
    # SOCK_DIAG_BY_FAMILY, NLM_F_DUMP; inet_diag_req_v2: family, protocol, ext, pad, states, a zero sockid
    assert (msg_type, flags, parser) == (20, 0x300, parse_inet_diag)
    assert struct.unpack_from("=BBBxI", body) == (10, 6, 0, 1 << 10) and body[8:] == b"\0" * 48


def test_secrets_on_a_command_line_never_leave_the_host():
    from ansible_collections.cloudnet.triage.plugins.module_utils.collect._procs import redact_args
    args = ["neutron-server", "--db-password=hunter2", "--auth-token", "s3cr3t", "--config-file", "/etc/neutron.conf",
            "--transport", "rabbit://openstack:rabbitpw@198.18.0.5:5672/"]
    shown = redact_args(args)
    assert "hunter2" not in " ".join(shown) and "s3cr3t" not in " ".join(shown) and "rabbitpw" not in " ".join(shown)
    assert shown[:5] == ["neutron-server", "--db-password=<redacted>", "--auth-token", "<redacted>", "--config-file"]
    assert shown[5] == "/etc/neutron.conf" and shown[-1] == "rabbit://openstack:<redacted>@198.18.0.5:5672/"
