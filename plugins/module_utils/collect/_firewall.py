# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Firewall rules of one network namespace, with their counters.

- nftables, over NETLINK_NETFILTER in the pass (no binary): the rules with the parser of
  ``probe/_counters.py`` (iptables-nft and ebtables-nft rules are nftables rules and always carry a
  counter; a native rule without one is listed with ``packets: null``), and the base chains with their
  hook, priority and policy;
- legacy iptables / ip6tables: ``iptables-legacy-save -c`` run inside the namespace, only where
  ``/proc/net/ip_tables_names`` lists tables there; legacy ebtables (not read: ``ebtables-legacy-save``, which leaves
  no trace in /proc) in those namespaces too. Each run bounded in time and output; without a runner or a
  binary: a not-read reason.

Plain Python, no Ansible import.
"""

from __future__ import annotations

import os
import shlex
import signal
import struct
import subprocess

from ansible_collections.cloudnet.triage.plugins.module_utils.collect._netlink import NetlinkError, _attr_list, _attrs, _scalar, _str
from ansible_collections.cloudnet.triage.plugins.module_utils.collect.probe._counters import (
    NftSocket,
    NFNL_SUBSYS_NFTABLES,
    NLM_F_DUMP,
    _FAMILIES,
    _NFGEN,
    _expression,
    _verdict,
    parse_rule,
)

__all__ = ["LEGACY_TOOLS", "MAX_OUTPUT", "find_tools", "parse_chain", "parse_legacy_save", "parse_rule_any", "read_firewall", "run_tool"]

NFT_MSG_GETCHAIN = 4
NFT_MSG_GETRULE = 7
MAX_OUTPUT = 1 << 20
_BE32 = struct.Struct("!I")
_BE32S = struct.Struct("!i")
_HOOKS = {"arp": ("input", "output", "forward"), "netdev": ("ingress", "egress")}
_INET_HOOKS = ("prerouting", "input", "forward", "output", "postrouting")
_POLICIES = {0: "drop", 1: "accept"}
_PROC_NET = ("/proc/thread-self/net", "/proc/self/net")


def parse_chain(buf, off, end):
    """NFT_MSG_NEWCHAIN payload -> {family, table, chain, hook, priority, policy, type} (hook None: a regular chain)."""
    if end - off < _NFGEN.size:
        return None
    family = _FAMILIES.get(buf[off], str(buf[off]))
    attrs = _attrs(buf, off + _NFGEN.size, end, strict=False)
    hook = priority = None
    span = attrs.get(4)
    if span is not None:
        nest = _attrs(buf, span[0], span[1], strict=False)
        number = _scalar(buf, nest.get(1), _BE32)
        names = _HOOKS.get(family, _INET_HOOKS)
        hook = names[number] if number is not None and number < len(names) else (None if number is None else str(number))
        priority = _scalar(buf, nest.get(2), _BE32S)
    policy = _scalar(buf, attrs.get(5), _BE32)
    return {"family": family, "table": _str(buf, attrs.get(1)), "chain": _str(buf, attrs.get(3)), "hook": hook,
            "priority": priority, "policy": _POLICIES.get(policy, None if policy is None else str(policy)),
            "type": _str(buf, attrs.get(7))}


def parse_rule_any(buf, off, end):
    """A rule row as ``_counters.parse_rule`` reads it; a rule without a counter still gives its place and
    verdict (packets and bytes null, rule text null: the summary is the counter reader's)."""
    row = parse_rule(buf, off, end)
    if row is not None or end - off < _NFGEN.size:
        return row
    attrs = _attrs(buf, off + _NFGEN.size, end, strict=False)
    verdict = None
    expressions = attrs.get(4)
    if expressions is not None:
        for _kind, start, stop in _attr_list(buf, expressions[0], expressions[1], strict=False):
            name, fields = _expression(buf, start, stop)
            if name == "immediate":
                verdict = _verdict(buf, fields.get(2)) or verdict
            elif name == "reject":
                verdict = "reject"
    handle = attrs.get(3)
    return {"family": _FAMILIES.get(buf[off], str(buf[off])), "table": _str(buf, attrs.get(1)),
            "chain": _str(buf, attrs.get(2)),
            "handle": struct.unpack_from("!Q", buf, handle[0])[0] if handle and handle[1] - handle[0] >= 8 else None,
            "rule": None, "verdict": verdict, "packets": None, "bytes": None}


def _verdict_of(words):
    """The target of an iptables-save rule: -j DROP -> drop, -j neutron-openvswi-sg-chain -> jump <chain>."""
    for flag in ("-j", "--jump", "-g", "--goto"):
        if flag in words:
            index = words.index(flag)
            if index + 1 < len(words):
                target = words[index + 1]
                if target.upper() in ("ACCEPT", "DROP", "REJECT", "RETURN", "QUEUE", "CONTINUE"):
                    return target.lower()
                return "%s %s" % ("goto" if flag in ("-g", "--goto") else "jump", target)
    return None


def parse_legacy_save(text, family, source):
    """iptables-save -c / ebtables-save text -> (rules, chains). Rules {family, table, chain, handle (line),
    rule, verdict, packets, bytes, source}; chains {family, table, chain, hook, priority, policy, type, source}."""
    rules, chains = [], []
    table = None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line[1:]
            continue
        if line.startswith(":"):
            fields = line[1:].split()
            policy = fields[1].lower() if len(fields) > 1 and fields[1] != "-" else None
            chains.append({"family": family, "table": table, "chain": fields[0] if fields else None,
                           "hook": fields[0].lower() if policy else None, "priority": None, "policy": policy,
                           "type": None, "source": source})
            continue
        packets = octets = None
        if line.startswith("["):
            counters, _sep, line = line.partition("]")
            try:
                packets, octets = [int(value) for value in counters[1:].split(":")]
            except ValueError:
                packets = octets = None
            line = line.strip()
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        if "-c" in words:  # ebtables-save writes its counters as `-c <packets> <bytes>` at the end
            index = words.index("-c")
            try:
                packets, octets = int(words[index + 1]), int(words[index + 2])
                words = words[:index] + words[index + 3:]
            except (IndexError, ValueError):
                pass
        if len(words) < 2 or words[0] not in ("-A", "--append"):
            continue
        rules.append({"family": family, "table": table, "chain": words[1], "handle": number,
                      "rule": " ".join(words[2:]), "verdict": _verdict_of(words), "packets": packets,
                      "bytes": octets, "source": source})
    return rules, chains


def _legacy_tables(name):
    for base in _PROC_NET:
        try:
            with open(os.path.join(base, name)) as handle:
                return handle.read().split()
        except OSError:
            continue
    return []


def _run_save(run, argv, timeout, env=None):
    """(text, why not): the tool's output, bounded in size; run(argv, timeout, env) -> (rc, out, err)."""
    try:
        rc, out, err = run(argv, timeout, env)
    except (OSError, ValueError) as exc:
        return None, "%s: %s" % (argv[0], exc)
    if rc is None:
        return None, "%s: %s" % (argv[0], err or "did not finish in time")
    if rc != 0:
        return None, "%s exited %s: %s" % (argv[0], rc, (err or out or "").strip()[:200])
    if len(out) > MAX_OUTPUT:
        return None, "%s printed more than %d bytes: not read" % (argv[0], MAX_OUTPUT)
    return out, None


LEGACY_TOOLS = ("iptables-legacy-save", "ip6tables-legacy-save")
_BIN_DIRS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")


def find_tools(names=LEGACY_TOOLS, dirs=_BIN_DIRS):
    """{name: path or None} of the save tools, looked up once per read in the system's binary directories."""
    found = {}
    for name in names:
        found[name] = next((os.path.join(d, name) for d in dirs if os.access(os.path.join(d, name), os.X_OK)), None)
    return found


def run_tool(argv, timeout, env=None):
    """Run argv (an argument list, never a shell) with a time bound: (rc, out, err); rc None on a timeout.

    The child is forked from the calling thread, so it runs in the network namespace that thread entered."""
    environ = dict(os.environ, LC_ALL="C")
    environ.update(env or {})
    try:
        # Its own process group: on a timeout the whole group goes, grandchildren holding the pipes included.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=environ, close_fds=True, start_new_session=True)
    except OSError as exc:
        return None, "", "%s: %s" % (argv[0], exc.strerror)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.communicate()
        return None, "", "no answer within %.1f s" % timeout
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def read_firewall(bins=None, run=None, timeout=1.0):
    """Every firewall rule of the namespace the thread is in: {rules, chains, not_read}.

    bins: {"iptables-legacy-save", "ip6tables-legacy-save": path or None};
    run(argv, timeout, env) -> (rc, out, err) runs a tool in this namespace (a child inherits the thread's);
    ``run_tool`` is one.
    """
    bins = bins or {}
    facts = {"rules": [], "chains": [], "not_read": []}
    try:
        with NftSocket(timeout=timeout) as sock:
            for row in sock._exchange((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, NLM_F_DUMP,
                                      _NFGEN.pack(0, 0, 0), parse_rule_any):
                row["source"] = "nftables"
                facts["rules"].append(row)
            for row in sock._exchange((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN, NLM_F_DUMP,
                                      _NFGEN.pack(0, 0, 0), parse_chain):
                row["source"] = "nftables"
                facts["chains"].append(row)
    except (OSError, NetlinkError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        facts["not_read"].append({"what": "nftables", "reason": "nftables rules cannot be read: %s" % reason})
    legacy = False
    for tables, tool, family in (("ip_tables_names", "iptables-legacy-save", "ip"),
                                 ("ip6_tables_names", "ip6tables-legacy-save", "ip6")):
        loaded = _legacy_tables(tables)
        if not loaded:
            continue  # no legacy table in this namespace: nothing there to read
        legacy = True
        why = None
        if run is None:
            why = "no command runner given"
        elif not bins.get(tool):
            why = "%s not found" % tool
        else:
            text, why = _run_save(run, [bins[tool], "-c"], timeout)
            if text is not None:
                rules, chains = parse_legacy_save(text, family, "iptables-legacy")
                facts["rules"].extend(rules)
                facts["chains"].extend(chains)
        if why:
            reason = "legacy tables %s loaded, not read: %s" % (", ".join(sorted(loaded)), why)
            facts["not_read"].append({"what": tool, "reason": reason})
    # Legacy ebtables are not read: their save tool is a script that runs a shell pipeline (and on Debian 12 its
    # ebtables is the nft one, whose bridge rules are read above). Said, never guessed.
    if legacy:
        facts["not_read"].append({"what": "ebtables-legacy", "reason": "legacy ebtables rules are not read (the only "
                                  "reader, ebtables-legacy-save, runs a shell pipeline); nftables bridge rules are"})
    return facts
