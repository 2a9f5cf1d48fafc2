# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""Named files of the host, read-only and size-capped: what the platform rules read besides the kernel
(Neutron's DHCP host files and HA router state, agent ``*.ini`` mappings, CloudStack's
``agent.properties``, cloud-init's ``result.json``/``status.json``, a guest's network configuration).

Only below ``ROOTS``. Every path is walked one directory at a time from ``/`` with ``O_NOFOLLOW``
(``openat``): a symlink anywhere on the way, or as the file itself, is refused and said, never followed,
so no link leads a read out of those directories. The one exception is the kernel's own ``/proc/net`` (a link
to ``self/net``), opened as ``/proc/thread-self/net``: the reading thread's network namespace. procfs files
say ``st_size`` 0, so every file is read up to the cap, never to its stated size. Values of keys that name
secrets (passwords, tokens, connection URLs) are replaced before the text leaves the host. Plain Python, no Ansible import.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat

__all__ = ["DEFAULT_FILES", "MAX_FILES", "MAX_SIZE", "MAX_TOTAL", "ROOTS", "file_pattern_problem", "read_files",
           "redact"]

# The directories the platform rules name; nothing else is ever read.
ROOTS = (
    "/etc/cloudstack", "/etc/neutron", "/etc/netplan", "/etc/network", "/etc/sysconfig/network-scripts",
    "/run/cloud-init", "/var/lib/cloud", "/var/lib/neutron", "/var/log/cloud-init.log",
    "/etc/NetworkManager/system-connections",
    "/proc/net/bonding",
    # A CloudStack virtual router's DHCP hosts and health checks; a system VM's certificates (keystore-cert-import).
    "/etc/dhcphosts.txt", "/root/health_checks_data.json", "/root/basic_monitor_results.json",
    "/root/advance_monitor_results.json", "/usr/local/cloud/systemvm/conf",
    # A redundant virtual router's VRRP: which router holds the guest gateway (its auth_pass is redacted).
    "/etc/keepalived/keepalived.conf",
)
DEFAULT_FILES = (
    "/var/lib/neutron/dhcp/*/host", "/var/lib/neutron/dhcp/*/opts", "/var/lib/neutron/dhcp/*/interface",
    "/var/lib/neutron/dhcp/*/leases", "/var/lib/neutron/dhcp/*/pid", "/var/lib/neutron/ha_confs/*/state",
    "/etc/neutron/*.ini", "/etc/neutron/plugins/*/*.ini",
    "/etc/cloudstack/agent/agent.properties",
    # This boot's cloud-init files first: the /var/lib ones are usually symlinks to them (refused, never followed).
    "/run/cloud-init/result.json", "/run/cloud-init/status.json",
    "/var/lib/cloud/data/result.json", "/var/lib/cloud/data/status.json", "/var/log/cloud-init.log",
    # A guest's network configuration (rules/_guest_config.py): which NIC names it expects.
    "/etc/network/interfaces", "/etc/network/interfaces.d/*", "/etc/netplan/*.yaml",
    "/etc/sysconfig/network-scripts/ifcfg-*", "/etc/NetworkManager/system-connections/*",
    "/proc/net/bonding/*",
    # A CloudStack virtual router (rules/_vr_service_down.py) and a console proxy (rules/_cpvm_certificate_mismatch.py).
    "/etc/dhcphosts.txt", "/root/health_checks_data.json", "/root/basic_monitor_results.json",
    "/root/advance_monitor_results.json",
    "/usr/local/cloud/systemvm/conf/*.crt", "/usr/local/cloud/systemvm/conf/*.pem",
    "/etc/keepalived/keepalived.conf",
)
MAX_SIZE = 64 * 1024
MAX_TOTAL = 1024 * 1024
MAX_FILES = 256
_GLOB = re.compile(r"[*?\[]")
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
# key = value / key: value lines whose key names a secret (oslo.config, Java properties, netplan YAML,
# NetworkManager keyfiles: psk=, password=, wep-key0=, pin= the SIM PIN). "private" only as a key's: agent.properties'
# private.network.device names a bridge, which the traffic label rule reads. "pin" only as the whole key or its
# last -part (pin=, sim-pin=): bridge_mappings, spin... are not secrets. ifupdown's wpa-psk, wpa-passphrase and
# wireless-key take their value after a space (/etc/network/interfaces is read by default).
_SECRET = re.compile(r"^(\s*(?:(?:[\w.\-]*(?:pass|secret|token|credential|transport_url|connection|private[_.\-]?key|psk|"
                     r"auth_key|wep-key|keystore)[\w.\-]*|(?:[\w.\-]*-)?pin)\s*[=:]\s*"
                     r"|(?:wpa-[\w.\-]*(?:pass|psk|secret)[\w.\-]*|wireless-key\d*|auth_pass)[ \t]+))(\S.*)$",
                     re.IGNORECASE | re.MULTILINE)


def file_pattern_problem(pattern):
    """Why a pattern may not be read, or None: absolute, no '..', globs only within one name, below ROOTS."""
    if not isinstance(pattern, str) or not pattern.startswith("/") or "\0" in pattern:
        return "%r is not an absolute path" % (pattern,)
    parts = [part for part in pattern.split("/") if part not in ("", ".")]
    if ".." in parts or not parts or "**" in pattern:
        return "%r holds '..' or '**'" % pattern
    normal = "/" + "/".join(parts)
    for root in ROOTS:
        if normal == root or normal.startswith(root + "/"):
            return None
    return "%r is not below the directories the platform rules read (%s)" % (pattern, ", ".join(ROOTS))


# A PEM private key (a system VM's conf directory holds its certificates and may hold their keys): never leaves
# the host, whatever the file's name; an unterminated block is redacted to the end.
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL)


def redact(text):
    """(text, count): private keys and the values of secret-looking keys replaced by <redacted>."""
    text, keys = _PRIVATE_KEY.subn("<redacted private key>", text)
    text, values = _SECRET.subn(lambda found: found.group(1) + "<redacted>", text)
    return text, keys + values


class _Budget(object):
    __slots__ = ("files", "bytes")

    def __init__(self):
        self.files = 0
        self.bytes = 0


def _read_file(dir_fd, name, path, facts, budget, max_size):
    try:
        fd = os.open(name, _FILE, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            facts["refused"].append({"path": path, "reason": "is a symlink: not followed"})
        elif exc.errno != errno.ENOENT:
            facts["refused"].append({"path": path, "reason": exc.strerror})
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            facts["refused"].append({"path": path, "reason": "is not a regular file"})
            return
        room = min(max_size, MAX_TOTAL - budget.bytes)
        if name.endswith(".log") and info.st_size > room:
            # A log grows at its end (cloud-init's over every boot): the newest part is the one that counts.
            os.lseek(fd, info.st_size - room, os.SEEK_SET)
        chunks, size = [], 0
        while size < room:
            chunk = os.read(fd, room - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        # procfs files say st_size 0: whether text was left over is known only by reading one byte more.
        more = size >= room and bool(os.read(fd, 1))
    except OSError as exc:
        facts["refused"].append({"path": path, "reason": exc.strerror})
        return
    finally:
        os.close(fd)
    budget.files += 1
    budget.bytes += size
    text, count = redact(b"".join(chunks).decode("utf-8", "replace"))
    facts["read"].append({"path": path, "size": info.st_size, "mtime": int(info.st_mtime),
                          "truncated": more or info.st_size > size, "redacted": count, "content": text})


def _open_dir(dir_fd, name, path):
    """The directory ``name`` below dir_fd, never through a symlink, but for /proc/net: the kernel's own link
    (to self/net) is read as /proc/thread-self/net, the network namespace of the reading thread."""
    try:
        return os.open(name, _DIR, dir_fd=dir_fd)
    except OSError as exc:
        if path != "/proc/net" or exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        try:
            target = os.readlink(name, dir_fd=dir_fd)
        except OSError:
            target = None
        if target != "self/net":
            raise
        # thread-self is procfs's magic link to this thread's task directory: it stays inside /proc.
        for inside in ("thread-self/net", "self/net"):
            try:
                return os.open(inside, _DIR & ~os.O_NOFOLLOW, dir_fd=dir_fd)
            except OSError:
                continue
        raise


def _walk(dir_fd, prefix, parts, facts, budget, max_size):
    """Match parts below the open directory dir_fd (named prefix); every step O_NOFOLLOW."""
    part, rest = parts[0], parts[1:]
    if _GLOB.search(part):
        try:
            names = sorted(name for name in os.listdir(dir_fd) if fnmatch.fnmatchcase(name, part))
        except OSError as exc:
            facts["refused"].append({"path": prefix or "/", "reason": exc.strerror})
            return
    else:
        names = [part]
    for name in names:
        path = "%s/%s" % (prefix, name)
        if budget.files >= MAX_FILES or budget.bytes >= MAX_TOTAL:
            facts["refused"].append({"path": path, "reason": "read budget reached (%d files, %d bytes)"
                                                             % (MAX_FILES, MAX_TOTAL)})
            return
        if not rest:
            _read_file(dir_fd, name, path, facts, budget, max_size)
            continue
        try:
            below = _open_dir(dir_fd, name, path)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                try:
                    link = stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
                except OSError:
                    link = False
                if link:
                    facts["refused"].append({"path": path, "reason": "is a symlink: not followed"})
            elif exc.errno != errno.ENOENT:
                facts["refused"].append({"path": path, "reason": exc.strerror})
            continue
        try:
            _walk(below, path, rest, facts, budget, max_size)
        finally:
            os.close(below)


def read_files(patterns=DEFAULT_FILES, root="/", max_size=MAX_SIZE):
    """{patterns, read: [{path, size, mtime, truncated, redacted, content}], refused: [{path, reason}]}.

    A pattern that matches nothing reads nothing (the file is absent); root is "/" on a host (tests give a
    tree of their own, walked the same way)."""
    facts = {"patterns": list(patterns), "read": [], "refused": []}
    budget = _Budget()
    root_fd = os.open(root, _DIR & ~os.O_NOFOLLOW)
    try:
        for pattern in patterns:
            why = file_pattern_problem(pattern)
            if why:
                facts["refused"].append({"path": pattern, "reason": why})
                continue
            parts = [part for part in pattern.split("/") if part not in ("", ".")]
            _walk(root_fd, "", parts, facts, budget, max_size)
    finally:
        os.close(root_fd)
    return facts
