# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cpvm_certificate_mismatch over certificates made here with cryptography: wildcard, wrong names, expired, not
yet valid, incomplete chain, realhostip.com, not PEM."""

from __future__ import annotations

import datetime
import itertools
import shlex

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._engine import evaluate
from ansible_collections.cloudnet.triage.plugins.module_utils.rules import _cpvm_certificate_mismatch as cpvm

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

_IDS = itertools.count(4026533000)
NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
CERT = "/usr/local/cloud/systemvm/conf/cloud.crt"
CA_FILE = "/usr/local/cloud/systemvm/conf/cloud.ca.crt"
PUBLIC = "203.0.113.10"


def name(common):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make(common, names=(), issuer=None, before=NOW - DAY, after=NOW + 365 * DAY, ca=False):
    """(certificate, key): signed by issuer=(certificate, key), else self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(name(common))
               .issuer_name(issuer[0].subject if issuer else name(common))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(before).not_valid_after(after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256()), key


def pem(*certs):
    return "".join(cert.public_bytes(serialization.Encoding.PEM).decode() for cert in certs)


CA = make("Lab Root CA", ca=True)


def proxy(files, name_="v-2-VM", sockets=(443,), domain=None):
    ns = {"id": next(_IDS), "name": None, "root": True, "holder_pids": [1], "state": "ok", "entered": 0,
          "links": [{"ifindex": i + 1, "name": dev, "kind": None if dev == "lo" else "veth", "mac": "02:00:00:00:00:%02x" % i,
                     "mtu": 1500, "operstate": "up", "flags": ["up", "lower_up"], "master": None, "link_netnsid": None,
                     "peer": None, "vxlan": None} for i, dev in enumerate(("lo", "eth0", "eth1", "eth2"))],
          "addresses": [{"dev": dev, "address": address, "prefixlen": plen, "family": 4, "scope": scope, "ifindex": 2,
                         "flags": ["permanent"]}
                        for dev, address, plen, scope in (("lo", "127.0.0.1", 8, "host"), ("eth0", "169.254.3.7", 16, "link"),
                                                          ("eth1", "198.18.40.30", 24, "global"), ("eth2", PUBLIC, 24, "global"))],
          "routes": [], "neighbours": [], "fdb": [], "tc": [], "sysctls": {"ip_forward": 0},
          "sockets": [{"protocol": "tcp", "family": 4, "address": "0.0.0.0", "port": port, "state": "listen", "dev": None,
                       "inode": 9000 + port, "pid": 77, "process": "java", "uid": 0, "ifindex": None} for port in sockets],
          "firewall": {"rules": [], "chains": [], "not_read": []}}
    read = [{"path": path, "size": len(text), "mtime": 0, "truncated": False, "redacted": 0, "content": text}
            for path, text in files.items()]
    facts = {"schema": "cloudnet.triage.host/1", "host": name_, "errors": [], "reader": {"entered": 1, "namespaces": 1},
             "sections": ["links", "addresses", "routes", "neighbours", "fdb", "tc", "sysctls", "sockets", "firewall",
                          "processes", "files"], "namespaces": [ns], "processes": [],
             "files": {"patterns": ["/usr/local/cloud/systemvm/conf/*.crt"], "read": read, "refused": []}}
    entry = {"groups": ["console_proxies"], "platform": "cloudstack", "tier": "network_node", "reachable": True, "host": facts}
    if domain:
        entry["cloudstack"] = {"consoleproxy_url_domain": domain}
    return {name_: entry}


def run(fleet):
    return evaluate(fleet, families=("certificates",))


def leaf(names, **kwargs):
    return make(names[0] if names else "console", names, issuer=CA, **kwargs)[0]


def test_a_wildcard_with_its_issuer_is_silent_with_and_without_the_domain():
    text = pem(leaf(["*.cloud.example.org"]), CA[0])
    for domain in (None, "cloud.example.org", "*.cloud.example.org."):
        findings, notes = run(proxy({CERT: text}, domain=domain))
        assert findings == [] and notes == []


def test_naming_each_console_url_is_as_good_as_a_wildcard():
    text = pem(leaf(["203-0-113-10.cloud.example.org"]), CA[0])
    assert run(proxy({CERT: text}, domain="cloud.example.org")) == ([], [])
    assert run(proxy({CERT: text})) == ([], [])


def test_wrong_names_against_the_configured_domain_are_certain():
    text = pem(leaf(["console.example.net"]), CA[0])
    findings, _notes = run(proxy({CERT: text}, domain="cloud.example.org"))
    assert [item["code"] for item in findings] == ["cpvm_certificate_mismatch"]
    item = findings[0]
    assert item["severity"] == "warning" and item["confidence"] == "certain" and item["hosts"] == ["v-2-VM"]
    assert "203-0-113-10.cloud.example.org" in " ".join(ev["fact"] for ev in item["evidence"])
    assert "https://203-0-113-10.cloud.example.org/" in item["summary"]


def test_wrong_names_without_a_domain_are_likely():
    findings, _notes = run(proxy({CERT: pem(leaf(["console.example.net"]), CA[0])}))
    assert findings[0]["confidence"] == "likely" and "were tried" in findings[0]["summary"]
    assert "203-0-113-10.example.net" in " ".join(ev["fact"] for ev in findings[0]["evidence"])


def test_a_wildcard_covers_one_label_only():
    text = pem(leaf(["*.example.org"]), CA[0])
    findings, _notes = run(proxy({CERT: text}, domain="cloud.example.org"))
    assert findings and "covers none of 203-0-113-10.cloud.example.org" in findings[0]["evidence"][0]["fact"]


def test_expired_and_not_yet_valid_are_critical():
    expired = leaf(["*.cloud.example.org"], before=NOW - 400 * DAY, after=NOW - DAY)
    findings, _notes = run(proxy({CERT: pem(expired, CA[0])}))
    assert findings[0]["severity"] == "critical" and "has expired" in findings[0]["summary"]
    early = leaf(["*.cloud.example.org"], before=NOW + 10 * DAY, after=NOW + 400 * DAY)
    findings, _notes = run(proxy({CERT: pem(early, CA[0])}))
    assert findings[0]["severity"] == "critical" and "is not valid yet" in findings[0]["summary"]


def test_missing_chain_is_found_and_a_ca_file_beside_it_completes_it():
    text = pem(leaf(["*.cloud.example.org"]))
    findings, _notes = run(proxy({CERT: text}))
    assert "incomplete chain" in findings[0]["summary"]
    assert "CN=Lab Root CA" in findings[0]["evidence"][0]["fact"]
    assert run(proxy({CERT: text, CA_FILE: pem(CA[0])})) == ([], [])
    # An issuer of the same name that did not sign it does not complete the chain.
    impostor = make("Lab Root CA", ca=True)[0]
    findings, _notes = run(proxy({CERT: text + pem(impostor)}))
    assert findings and "incomplete chain" in findings[0]["summary"]


def test_a_self_signed_certificate_has_no_chain_to_miss():
    cert = make("*.cloud.example.org", ["*.cloud.example.org"])[0]
    assert run(proxy({CERT: pem(cert)})) == ([], [])


def test_realhostip_is_the_retired_default():
    findings, _notes = run(proxy({CERT: pem(leaf(["*.realhostip.com"]), CA[0])}))
    assert "realhostip.com" in findings[0]["summary"] and findings[0]["confidence"] == "certain"


@pytest.mark.parametrize("content", ["not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                     "", "\x00\xff", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"])
def test_a_file_that_is_not_pem_is_a_clear_reason(content):
    findings, notes = run(proxy({CERT: content}))
    assert findings == []
    assert [note["kind"] for note in notes] == ["not_collected"]
    assert CERT in notes[0]["reason"] and "not checked" in notes[0]["reason"]


def duplicate_san():
    """A certificate with two subjectAltName extensions: it loads, its extensions raise DuplicateExtension."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("console")).issuer_name(name("console"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY).not_valid_after(NOW + DAY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.example.org")]), critical=False)
            .add_extension(x509.IssuerAlternativeName([x509.DNSName("b.example.org")]), critical=False)
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER).replace(b"\x06\x03\x55\x1d\x12", b"\x06\x03\x55\x1d\x11")
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def test_a_malformed_extension_is_a_note_and_the_other_files_are_checked():
    other = "/usr/local/cloud/systemvm/conf/other.crt"
    fleet = proxy({CERT: duplicate_san(), other: pem(leaf(["*.realhostip.com"]), CA[0])})
    fleet.update(proxy({CERT: duplicate_san()}, name_="v-3-VM"))
    findings, notes = run(fleet)
    assert [item["hosts"] for item in findings] == [["v-2-VM"]] and "realhostip.com" in findings[0]["summary"]
    assert sorted((note["host"], note["kind"]) for note in notes) == [("v-2-VM", "not_collected"), ("v-3-VM", "not_collected")]
    assert all(CERT in note["reason"] and "DuplicateExtension" in note["reason"] for note in notes)


@pytest.mark.parametrize("error", [TypeError("bad general name"), x509.UnsupportedGeneralNameType("type 9")])
def test_any_parse_error_of_a_certificate_is_a_note(monkeypatch, error):
    def boom(*_args, **_kwargs):
        raise error
    monkeypatch.setattr(cpvm, "_names_of", boom)
    findings, notes = run(proxy({CERT: pem(leaf(["*.cloud.example.org"]), CA[0])}))
    assert findings == [] and [note["host"] for note in notes] == ["v-2-VM"]
    assert CERT in notes[0]["reason"] and type(error).__name__ in notes[0]["reason"]


def test_no_certificate_read_is_absent_without_tls_and_a_gap_with_it():
    _findings, notes = run(proxy({}, sockets=(8080,)))
    assert [note["kind"] for note in notes] == ["absent"]
    _findings, notes = run(proxy({}, sockets=(443,)))
    assert [note["kind"] for note in notes] == ["not_collected"] and "tcp 443 listens" in notes[0]["reason"]


def test_hostile_paths_and_names_are_quoted_in_the_remedy():
    path = "/usr/local/cloud/systemvm/conf/-x'$(reboot).crt"
    findings, _notes = run(proxy({path: pem(leaf(["console.example.net"]), CA[0])}, name_="v-2-VM"))
    command = findings[0]["remedy"][0]
    assert shlex.split(command)[-1] == path


def test_console_names_and_public_addresses():
    assert cpvm.console_names(["203.0.113.10"], "console.example.org") == ["203-0-113-10.console.example.org"]


def test_only_console_proxies_are_judged():
    fleet = proxy({CERT: pem(leaf(["console.example.net"]), CA[0])}, name_="s-1-VM")
    fleet["s-1-VM"]["groups"] = ["secondary_storage"]
    assert run(fleet) == ([], [])
