# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""cpvm_certificate_mismatch: the console proxy's certificate does not let browsers open the console.

CloudStack hands out console URLs ``https://a-b-c-d.<consoleproxy.url.domain>/`` for each public address
a.b.c.d of a console proxy VM (``v-<id>-VM``), so its certificate must be a wildcard ``*.<domain>`` or name each
of them; it must be valid now; the file must carry the leaf's issuer (the browser has only the roots); and
``realhostip.com``, the default CloudStack shipped until 2014, has long been retired.

The PEM text is read on the target by the files section (``/usr/local/cloud/systemvm/conf/*.crt`` and ``*.pem``
by default, where keystore-cert-import leaves a system VM's certificates; any other path below the files ROOTS
through ``cloudnet_files``); a file whose name says CA (``cloud.ca.crt``) holds issuers. It is parsed here, on the
controller, with ``cryptography``. The domain is the inventory's ``cloudnet_cloudstack.consoleproxy_url_domain``
when the fleet carries it; otherwise the rule takes the domains the certificate's own names imply, and says so.
"""

from __future__ import annotations

import datetime
import ipaddress
import posixpath
import re

from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._findings import evidence, finding
from ansible_collections.cloudnet.triage.plugins.module_utils.diagnosis._remedy import command, comment
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._cloudstack import roles_of
from ansible_collections.cloudnet.triage.plugins.module_utils.rules._rule import Rule

try:
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    CRYPTOGRAPHY_ERROR = None
except ImportError as exc:  # pragma: no cover - the controller's venv has it (requirements-dev.txt)
    x509 = NameOID = None
    CRYPTOGRAPHY_ERROR = str(exc)

__all__ = ["RULE", "certificate_problems", "console_names", "evaluate", "is_console_proxy", "public_addresses"]

FAMILY = "certificates"
_CERT_FILE = re.compile(r"\.(crt|pem)$")
_CA_FILE = re.compile(r"(^|[._-])ca([._-]|$)", re.IGNORECASE)
_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\s+([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----")
_RETIRED = "realhostip.com"
# The CPVM's NICs: eth0 link-local (control), eth1 private (management), eth2 public.
_PUBLIC_DEVICE = "eth2"


def _note(host, reason, kind="not_collected"):
    return {"check": FAMILY, "host": host, "reason": reason, "kind": kind}


def is_console_proxy(state):
    return getattr(state, "role", None) == "console_proxy" or "console_proxies" in roles_of(state)


def public_addresses(state):
    """The CPVM's public IPv4 addresses: eth2's, else every global one outside eth0/eth1 and 169.254.0.0/16."""
    rows = []
    for namespace in state.namespaces or ():
        if namespace.get("root"):
            rows = [row for row in namespace.get("addresses") or () if isinstance(row, dict)]
    found, fallback = [], []
    for row in rows:
        try:
            address = ipaddress.ip_address(row.get("address"))
        except (TypeError, ValueError):
            continue
        if address.version != 4 or address.is_loopback or address.is_link_local or row.get("scope") in ("host", "link"):
            continue
        if row.get("dev") == _PUBLIC_DEVICE:
            found.append(str(address))
        elif row.get("dev") not in ("eth0", "eth1"):
            fallback.append(str(address))
    return found or fallback


def console_names(addresses, domain):
    """The names console URLs use: a-b-c-d.<domain> for each address."""
    return [str(address).replace(".", "-") + "." + domain for address in addresses]


def _configured_domain(model, state):
    """consoleproxy.url.domain as the inventory gives it (cloudnet_cloudstack, carried by the collect role)."""
    entry = (getattr(model, "source", None) or {}).get(state.name) or {}
    for holder in (entry.get("cloudstack"),):
        if isinstance(holder, dict) and isinstance(holder.get("consoleproxy_url_domain"), str):
            domain = holder["consoleproxy_url_domain"].strip().strip(".").lower()
            if domain.startswith("*."):
                domain = domain[2:]
            if domain:
                return domain
    return None


def _names_of(cert):
    names = []
    try:
        names = [name.lower() for name in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                 .value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    if not names:
        # No subjectAltName: only legacy clients still read the CN, but it is all the certificate says.
        names = [str(attr.value).lower() for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return names


def _covers(pattern, name):
    if pattern == name:
        return True
    # A wildcard covers exactly one label (RFC 6125): *.example.org covers a-b-c-d.example.org only.
    return pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]


def _time(cert, which):
    value = getattr(cert, which + "_utc", None)
    if value is None:
        value = getattr(cert, which).replace(tzinfo=datetime.timezone.utc)
    return value


def _load(text):
    """[certificate] of the PEM blocks of a text; ValueError when there is none or one does not parse."""
    blocks = list(_PEM_BLOCK.finditer(text or ""))
    if not blocks:
        raise ValueError("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    found = []
    for index, block in enumerate(blocks):
        try:
            found.append(x509.load_pem_x509_certificate(block.group(0).encode("ascii")))
        except ValueError as exc:
            raise ValueError("PEM block %d is not a certificate X.509 can read (%s)" % (index + 1, exc)) from None
    return found


def _subject(cert):
    return cert.subject.rfc4514_string() or "(empty subject)"


def _issued_by(cert, issuer):
    if cert.issuer != issuer.subject:
        return False
    verify = getattr(cert, "verify_directly_issued_by", None)
    if verify is None:
        return True
    try:
        verify(issuer)
    except Exception:  # pylint: disable=broad-except  # InvalidSignature, or a key type it cannot check
        return False
    return True


def certificate_problems(chain, issuers, addresses, domain, now=None):
    """[(severity, kind, fact)] of a leaf certificate (chain[0], the rest of its file after it) for these public
    addresses. ``domain`` None: the domains the certificate's own names imply are tried."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    leaf = chain[0]
    problems = []
    names = _names_of(leaf)
    before, after = _time(leaf, "not_valid_before"), _time(leaf, "not_valid_after")
    if after < now:
        problems.append(("critical", "expired", "expired on %s (%s)" % (after.strftime("%Y-%m-%d %H:%M UTC"), _subject(leaf))))
    elif before > now:
        when = before.strftime("%Y-%m-%d %H:%M UTC")
        problems.append(("critical", "not_yet_valid", "not valid before %s (%s)" % (when, _subject(leaf))))
    retired = [name for name in names if name == _RETIRED or name.endswith("." + _RETIRED)]
    if retired:
        problems.append(("warning", "retired", "names %s: realhostip.com, CloudStack's old default, was retired in 2014 "
                                               "and no longer resolves" % ", ".join(retired)))
    if addresses:
        if domain is not None:
            wanted = console_names(addresses, domain)
            uncovered = [name for name in wanted if not any(_covers(pattern, name) for pattern in names)]
            if uncovered:
                problems.append(("warning", "names", "names %s and covers none of %s (consoleproxy.url.domain %s)" % (
                    ", ".join(names) or "nothing", ", ".join(uncovered), domain)))
        elif not retired:
            domains = sorted(set(name[2:] if name.startswith("*.") else name.split(".", 1)[1]
                                 for name in names if "." in name))
            if not any(all(any(_covers(pattern, name) for pattern in names) for name in console_names(addresses, candidate))
                       for candidate in domains):
                problems.append(("warning", "names_guessed", "names %s: for no domain they imply (%s) do they cover every "
                                 "console URL name (%s)" % (", ".join(names) or "nothing", ", ".join(domains) or "none",
                                                            ", ".join(console_names(addresses, domains[0] if domains else
                                                                                    "<consoleproxy.url.domain>")))))
    if leaf.issuer != leaf.subject:
        known = list(chain[1:]) + list(issuers)
        if not any(_issued_by(leaf, other) for other in known):
            problems.append(("warning", "chain", "issued by %s, which is not in the file (nor in a CA file beside it): "
                                                 "the chain is incomplete, browsers cannot build it" % leaf.issuer.rfc4514_string()))
    return problems


def _ssl_listeners(state):
    ports = set()
    for namespace in state.namespaces or ():
        for row in namespace.get("sockets") or ():
            if isinstance(row, dict) and row.get("protocol") == "tcp" and row.get("port") in (443, 8443):
                ports.add(str(row["port"]))
    return sorted(ports)


def _files(state):
    leaves, issuers = [], []
    for row in (state.files or {}).get("read") or ():
        if not isinstance(row, dict) or not _CERT_FILE.search(str(row.get("path") or "")):
            continue
        (issuers if _CA_FILE.search(posixpath.basename(row["path"])) else leaves).append(row)
    return leaves, issuers


def _check(model, state, notes):
    leaves, ca_rows = _files(state)
    if not leaves:
        ssl = _ssl_listeners(state)
        # Without a listener on 443/8443 the console is served in the clear (consoleproxy.sslEnabled false): there is
        # no certificate to check. With one, the certificate exists and was not read: that is a gap.
        notes.append(_note(state.name, "no console proxy certificate was read (files below /usr/local/cloud/systemvm/conf "
                                       "ending .crt or .pem, or a path given with cloudnet_files)%s" % (
                                           ", although tcp %s listens: not checked" % "/".join(ssl) if ssl else
                                           " and nothing listens on tcp 443 or 8443: the console is not served over TLS"),
                           "not_collected" if ssl else "absent"))
        return []
    issuers = []
    for row in ca_rows:
        try:
            issuers.extend(_load(row.get("content")))
        except Exception as exc:  # pylint: disable=broad-except  # ValueError, or another parse error
            notes.append(_note(state.name, "%s %s: its issuers not used" % (row["path"], exc)))
    addresses = public_addresses(state)
    domain = _configured_domain(model, state)
    if not addresses:
        notes.append(_note(state.name, "no public address (eth2) in the facts: the names the certificate must cover not checked"))
    found = []
    for row in leaves:
        try:
            chain = _load(row.get("content"))
        except Exception as exc:  # pylint: disable=broad-except  # ValueError, or another parse error
            notes.append(_note(state.name, "%s %s: the console proxy certificate not checked" % (row["path"], exc)))
            continue
        if row.get("truncated"):
            notes.append(_note(state.name, "%s was cut off at the read cap: only its first certificates checked" % row["path"]))
        try:
            problems = certificate_problems(chain, issuers, addresses, domain)
        except Exception as exc:  # pylint: disable=broad-except
            # cryptography parses extensions lazily and raises more than ValueError on malformed ones
            # (DuplicateExtension, UnsupportedGeneralNameType, TypeError): one bad file must not stop the others.
            notes.append(_note(state.name, "%s could not be parsed (%s: %s): the console proxy certificate not checked" % (
                row["path"], type(exc).__name__, exc)))
            continue
        if not problems:
            continue
        items = [evidence(state.name, "%s: %s" % (row["path"], fact)) for _severity, _kind, fact in problems]
        if addresses:
            plural = "es" if len(addresses) > 1 else ""
            items.append(evidence(state.name, "public address%s %s (%s)" % (plural, ", ".join(addresses), _PUBLIC_DEVICE),
                                  None, _PUBLIC_DEVICE))
        severity = "critical" if any(item[0] == "critical" for item in problems) else "warning"
        kinds = [kind for _severity, kind, _fact in problems]
        what = {"expired": "has expired", "not_yet_valid": "is not valid yet", "retired": "names the retired realhostip.com",
                "names": "does not cover the console URL names", "names_guessed": "does not cover the console URL names",
                "chain": "comes without its issuer (incomplete chain)"}
        summary = "The console proxy certificate of %s %s: browsers refuse the console's %s. %s" % (
            state.name, " and ".join(what[kind] for kind in kinds),
            "https://%s/" % console_names(addresses, domain or "<consoleproxy.url.domain>")[0] if addresses else "URLs",
            "consoleproxy.url.domain was not given (cloudnet_cloudstack.consoleproxy_url_domain): the domains the certificate "
            "implies were tried." if "names_guessed" in kinds else "")
        remedy = [command(None, "openssl", "x509", "-noout", "-subject", "-issuer", "-dates", "-ext", "subjectAltName",
                          "-in", row["path"]),
                  comment("upload a wildcard certificate for *.<consoleproxy.url.domain> with its intermediates: "
                          "API uploadCustomCertificate (id=1 the certificate, id=2.. the chain), then restart the console proxy VM")]
        found.append(finding("cpvm_certificate_mismatch", severity, summary.strip(), items, remedy=remedy,
                             confidence="likely" if kinds == ["names_guessed"] else "certain", check=FAMILY,
                             remedy_host=state.name))
    return found


def evaluate(model):
    """Every console proxy VM whose certificate the files section read: names, validity, chain, realhostip.com."""
    findings, notes = [], []
    for state in model.with_sections(("files",)):
        if not is_console_proxy(state):
            continue
        if CRYPTOGRAPHY_ERROR is not None:
            notes.append(_note(state.name, "the Python library cryptography is not installed on the controller (%s): "
                                           "the console proxy certificate not checked" % CRYPTOGRAPHY_ERROR, "not_evaluated"))
            continue
        findings.extend(_check(model, state, notes))
    return findings, notes


RULE = Rule("cpvm_certificate_mismatch", FAMILY, needs=("files",), evaluate=evaluate, platforms=("cloudstack",))
