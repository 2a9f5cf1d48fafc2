# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""What a scenario may ask of the machine it is built on.

The lab runs as root, and a lab host shares the machine's file system, kernel and Ansible controller:
only its network, mount, uts and PID namespaces are its own. A scenario file may come from anywhere, so
everything in it that reaches beyond a namespace is limited here, and the validator (``_scenario``) and
the builder (``_files``) both apply these rules. Each ``*_problem`` function returns why a value is
refused, or None. docs/lab.md (*What a scenario may not do*) lists the same rules for users.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import stat

__all__ = [
    "DNSMASQ_OPTIONS",
    "ETC_VIEW",
    "ETC_VIEW_FILES",
    "ETC_UPPER",
    "MACHINE_ROOT",
    "MACHINE_WIDE_NET_SYSCTLS",
    "MAGIC_VARS",
    "OVERLAYS",
    "ROOT_VIEW_FILES",
    "RESERVED_VAR_PREFIXES",
    "RUN_DIR",
    "RUN_LAB_DIRS",
    "RUN_LAB_PREFIX",
    "SYSCTL_KEY",
    "TMPFS_ROOTS",
    "USR_LOCAL_VIEW",
    "VAR_NAME",
    "dnsmasq_option_problem",
    "etc_view_path",
    "file_path_problem",
    "firewall_argument_problem",
    "join_location",
    "machine_mount_problem",
    "mount_point_problem",
    "nftables_problem",
    "normal_file_path",
    "overlay_of",
    "scenario_problems",
    "sysctl_key_problem",
    "sysctl_value_problem",
    "var_name_problem",
    "vars_problems",
    "walk_existing",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.:@+/-]{1,128}")


def join_location(location, key):
    """The location of key below location: hosts[0], hosts[0].vars.platform, or sysctls['odd\\nkey']
    for a key that is not plain (a location never carries a newline or a control character)."""
    if isinstance(key, int):
        return "%s[%d]" % (location, key)
    if not _PLAIN_KEY.fullmatch(key):
        return "%s[%s]" % (location, repr(key)[:80])
    return "%s.%s" % (location, key) if location else key


# --- vars: ----------------------------------------------------------------------------------------
# The lab writes a host's vars into the inventory that Ansible then reads as root. Every ansible_*
# variable is a setting of a connection, become, shell or interpreter plugin (ansible_connection,
# ansible_host, ansible_port, ansible_user, ansible_nsenter_pid, ansible_python_interpreter,
# ansible_become*, ansible_ssh_*, ansible_shell_executable, ansible_remote_tmp, ...), so one of them
# could point a lab host at the machine itself: none is allowed, in any letter case. Nor are the
# variables the lab sets itself, nor Ansible's magic variables.
RESERVED_VAR_PREFIXES = ("ansible_", "cloudnet_lab_")
MAGIC_VARS = frozenset((
    "environment", "group_names", "groups", "hostvars", "inventory_dir", "inventory_file", "inventory_hostname",
    "inventory_hostname_short", "omit", "play_hosts", "playbook_dir", "role_name", "role_names", "role_path", "vars",
))
VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# Ansible renders these in inventory values (as root, on the controller: lookup('pipe', ...) runs commands).
_TEMPLATE = re.compile(r"\{\{|\{%|\{#")


def var_name_problem(name):
    """Why a well-formed name (VAR_NAME) cannot be an inventory variable of a lab host, or None."""
    if name.lower().startswith(RESERVED_VAR_PREFIXES):
        return ("%r is refused: ansible_* variables decide where and how Ansible connects (connection, host, "
                "nsenter PID, interpreter, become, ...), and cloudnet_lab_* are the lab's own" % name)
    if name in MAGIC_VARS:
        return "%r is refused: it is one of Ansible's magic variables" % name
    return None


def vars_problems(value, location):
    """(location, why) for everything in a vars value that JSON cannot carry or Ansible would template."""
    problems = []
    todo = [(value, location)]
    while todo:
        item, where = todo.pop()
        if isinstance(item, str):
            if _TEMPLATE.search(item):
                problems.append((where, "%r holds a Jinja2 template marker ({{, {%% or {#): Ansible would render it on "
                                        "the controller; lab vars are plain data" % item[:60]))
        elif isinstance(item, bool) or item is None or isinstance(item, int):
            pass
        elif isinstance(item, float):
            if not math.isfinite(item):
                problems.append((where, "%r is not a finite number" % item))
        elif isinstance(item, list):
            todo.extend((entry, join_location(where, i)) for i, entry in enumerate(item))
        elif isinstance(item, dict):
            for key, entry in item.items():
                if not isinstance(key, str):
                    problems.append((where, "key %r is not a string" % (key,)))
                    continue
                if _TEMPLATE.search(key):
                    problems.append((join_location(where, key), "the key holds a Jinja2 template marker"))
                todo.append((entry, join_location(where, key)))
        else:
            problems.append((where, "%r (%s) is not plain data (string, number, true/false, null, list, mapping); "
                                    "quote dates and times" % (item, type(item).__name__)))
    return sorted(problems)


# --- sysctls: --------------------------------------------------------------------------------------
# A lab host writes sysctls inside its own network namespaces, so only net.* keys, which the kernel
# keeps per network namespace, are allowed. A few net.* keys are visible in a namespace but set (or
# on some kernels set) something shared by the whole machine; they are refused too.
SYSCTL_KEY = re.compile(r"net(\.[A-Za-z0-9_:@+-]{1,64}){1,8}")
MACHINE_WIDE_NET_SYSCTLS = (
    # socket buffer limits of every namespace (read-only inside one on recent kernels)
    re.compile(r"net\.core\.(rmem|wmem)_(default|max)"),
    # BPF JIT, backlog, budget and flow-limit knobs are the machine's
    re.compile(r"net\.core\.(bpf_jit\w*|netdev_\w+|dev_weight\w*|flow_limit_\w+|rps_sock_flow_entries|message_\w+)"),
    # the connection tracking table is one for the machine
    re.compile(r"net\.(netfilter\.)?nf_conntrack_(max|buckets|expect_max)"),
    # a one-way switch: once on, netfilter hooks run for lightweight tunnels everywhere
    re.compile(r"net\.netfilter\.nf_hooks_lwtunnel"),
    # the neighbour tables' garbage collection is shared by every namespace
    re.compile(r"net\.ipv[46]\.neigh\.default\.gc_\w+"),
    # global TCP/UDP memory pressure limits
    re.compile(r"net\.ipv4\.(tcp_mem|udp_mem|tcp_max_orphans)"),
)


def sysctl_key_problem(key):
    """Why a well-formed net.* key (SYSCTL_KEY) cannot be set in a lab host's namespace, or None."""
    for pattern in MACHINE_WIDE_NET_SYSCTLS:
        if pattern.fullmatch(key):
            return "%r is refused: although under net., it sets something the whole machine shares" % key
    return None


def sysctl_value_problem(value):
    if isinstance(value, str) and (_CONTROL.search(value) or len(value) > 256):
        return "%r is not a one-line sysctl value (no control characters, at most 256)" % value[:60]
    return None


# --- files: ----------------------------------------------------------------------------------------
# A lab host owns two kinds of directory privately: its /run (a tmpfs the holder mounts; the lab's own
# entries in it excepted) and the tmpfs the lab mounts, in the host's mount namespace only, on the
# nearest existing directory of a file's destination. That directory must lie in one of TMPFS_ROOTS:
# never /, never a system directory. A destination is normalised first (// and /./ collapse), '..' is
# refused, and no part of it that exists may be a symlink (an absolute symlink followed from outside
# the host would lead to the machine's own file system).
RUN_DIR = "/run"
RUN_LAB_DIRS = ("netns", "openvswitch")  # /run/<these> and /run/lab-* are the lab's own
RUN_LAB_PREFIX = "lab-"
TMPFS_ROOTS = ("/opt", "/srv", "/tmp", "/var/cache", "/var/lib", "/var/log", "/var/spool", "/var/tmp")
# /etc of a lab host is the machine's, so nothing of it is a tmpfs root: the lab gives a host that needs
# files there an overlay of /etc in its own mount namespace, whose upper layer lives on the host's /run
# (ETC_UPPER). Only the directories (and files) the platforms' configuration lives in may be written:
# the rest of /etc decides how root programs in the host run (ld.so.preload, sudoers, PAM, nsswitch).
ETC_VIEW = ("/etc/cloud", "/etc/cloudstack", "/etc/netplan", "/etc/network", "/etc/neutron",
            "/etc/NetworkManager/system-connections", "/etc/sysconfig/network-scripts")
ETC_VIEW_FILES = ("/etc/dhcphosts.txt",)
ETC_UPPER = "/run/lab-etc"
# /root (root's home, where Ansible keeps its remote_tmp) and /usr/local are the machine's too: the same kind of
# overlay carries exactly the files CloudStack's system VMs keep there, a virtual router's health check data and
# results (systemvm/debian/root/monitorServices.py) and the certificates keystore-cert-import writes.
ROOT_VIEW_FILES = ("/root/health_checks_data.json", "/root/basic_monitor_results.json", "/root/advance_monitor_results.json")
USR_LOCAL_VIEW = ("/usr/local/cloud/systemvm/conf",)
# (directory the overlay is mounted on, its directories and files a scenario may write, the lab's /run directory
# holding the upper and work layers), one per overlay.
OVERLAYS = (("/etc", ETC_VIEW, ETC_VIEW_FILES, ETC_UPPER), ("/root", (), ROOT_VIEW_FILES, "/run/lab-root"),
            ("/usr/local", USR_LOCAL_VIEW, (), "/run/lab-usrlocal"))
# The file system that validation looks at: the machine's, which a lab host shares (tests point it elsewhere).
MACHINE_ROOT = "/"
_PATH_PART = re.compile(r"[^\x00-\x1f\x7f/]{1,255}")


def normal_file_path(path):
    """(normalised path, why not): '//etc/x' and '/./etc/x' are '/etc/x'; '..', relative paths, control
    characters and a trailing '/' are refused."""
    if not isinstance(path, str) or not path.startswith("/"):
        return None, "is not an absolute path"
    if path.endswith("/"):
        return None, "ends in '/': name the file"
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        return None, "holds '..': write the path without it"
    if not parts or len(path) > 4096 or not all(_PATH_PART.fullmatch(part) for part in parts):
        return None, "is not a file path (no control characters, parts of at most 255 bytes)"
    return "/" + "/".join(parts), None


def _under(path, root):
    return path == root or path.startswith(root + "/")


def etc_view_path(path):
    """Whether a (normalised) destination goes into the host's private overlay of /etc."""
    return path in ETC_VIEW_FILES or any(path.startswith(root + "/") for root in ETC_VIEW)


def overlay_of(path):
    """The overlay (an OVERLAYS entry) a (normalised) destination is written into, or None."""
    for entry in OVERLAYS:
        if path in entry[2] or any(path.startswith(root + "/") for root in entry[1]):
            return entry
    return None


def file_path_problem(path):
    """Why a (normalised) destination is not in a directory the lab host owns privately, or None."""
    if overlay_of(path) is not None:
        return None
    parent = os.path.dirname(path)
    if _under(parent, RUN_DIR):
        first = path[len(RUN_DIR) + 1:].split("/")[0]
        if first in RUN_LAB_DIRS or first.startswith(RUN_LAB_PREFIX):
            return "%r is the lab's own (its namespaces, OVS daemons and services live there)" % path
        return None
    if not any(_under(parent, root) for root in TMPFS_ROOTS):
        return ("%r is not in a directory a lab host owns privately: files go under /run or under one of %s "
                "(a tmpfs is mounted there, in the host only), or into the host's overlay of /etc below %s, "
                "of /root (%s) or of /usr/local below %s"
                % (path, ", ".join(TMPFS_ROOTS), ", ".join(ETC_VIEW + ETC_VIEW_FILES), ", ".join(ROOT_VIEW_FILES),
                   ", ".join(USR_LOCAL_VIEW)))
    return None


def mount_point_problem(directory):
    """Why a tmpfs may not be mounted on directory (a file's nearest existing directory), or None."""
    if any(_under(directory, root) for root in TMPFS_ROOTS):
        return None
    return ("its nearest existing directory is %r: a tmpfs there would cover %s; the lab mounts one only in or "
            "below %s" % (directory, "the machine's root" if directory == "/" else "a directory the host needs",
                          ", ".join(TMPFS_ROOTS)))


def walk_existing(root_fd, parts):
    """Follow the directory names parts down from root_fd without following any symlink.

    Returns (depth, fd, why): how many of parts exist as real directories, an open descriptor of the
    deepest one (the caller closes it), and why the walk stopped before a missing part, if it did.
    """
    fd = os.dup(root_fd)
    for depth, part in enumerate(parts):
        try:
            info = os.stat(part, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return depth, fd, None
        except OSError as exc:
            return depth, fd, "/%s cannot be read: %s" % ("/".join(parts[:depth + 1]), exc.strerror)
        if stat.S_ISLNK(info.st_mode):
            return depth, fd, "/%s is a symlink: the lab writes files only through real directories" % "/".join(parts[:depth + 1])
        if not stat.S_ISDIR(info.st_mode):
            return depth, fd, "/%s is not a directory" % "/".join(parts[:depth + 1])
        try:
            below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError as exc:
            return depth, fd, "/%s cannot be opened: %s" % ("/".join(parts[:depth + 1]), exc.strerror)
        os.close(fd)
        fd = below
    return len(parts), fd, None


def machine_mount_problem(path):
    """For a (normalised, confined) destination outside /run: why the directory the lab would mount a
    tmpfs on, as the machine's file system shows it now, is not acceptable, or None."""
    parts = path.strip("/").split("/")[:-1]
    root_fd = os.open(MACHINE_ROOT, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        depth, fd, why = walk_existing(root_fd, parts)
        os.close(fd)
    finally:
        os.close(root_fd)
    return why or mount_point_problem("/" + "/".join(parts[:depth]))


# --- services: and firewall: -------------------------------------------------------------------------
# dnsmasq runs as root with the machine's file system: options that run programs (--dhcp-script),
# read or write files (--conf-file, --dhcp-hostsfile, --pid-file, --log-facility, --tftp-root, ...) or
# change users are refused. Only these, which shape the DHCP answers, are allowed, in long form.
DNSMASQ_OPTIONS = frozenset((
    "--bootp-dynamic", "--dhcp-authoritative", "--dhcp-boot", "--dhcp-broadcast", "--dhcp-circuitid", "--dhcp-client-update",
    "--dhcp-fqdn", "--dhcp-generate-names", "--dhcp-host", "--dhcp-ignore", "--dhcp-ignore-names", "--dhcp-lease-max",
    "--dhcp-mac", "--dhcp-match", "--dhcp-no-override", "--dhcp-option", "--dhcp-option-force", "--dhcp-rapid-commit",
    "--dhcp-remoteid", "--dhcp-reply-delay", "--dhcp-sequential-ip", "--dhcp-subscrid", "--dhcp-userclass",
    "--dhcp-vendorclass", "--domain", "--enable-ra", "--log-dhcp", "--no-ping", "--quiet-dhcp", "--quiet-dhcp6",
    "--quiet-ra", "--ra-param", "--tag-if",
))


def dnsmasq_option_problem(option):
    if _CONTROL.search(option):
        return "%r holds a control character" % option
    name = option.split("=", 1)[0]
    if name not in DNSMASQ_OPTIONS:
        return ("%r is refused: dnsmasq runs as root on this machine; only long options that shape the DHCP answers "
                "are allowed (--dhcp-option, --dhcp-host, ...; docs/lab.md lists them)" % option)
    return None


def firewall_argument_problem(argument):
    """iptables, ip6tables and ebtables take --modprobe=<program> (also abbreviated, or as -M) and run it as root."""
    if _CONTROL.search(argument):
        return "%r holds a control character" % argument
    if argument.startswith("--"):
        name = argument[2:].split("=", 1)[0]
        if len(name) >= 2 and "modprobe".startswith(name):
            return "%r is refused: --modprobe runs a program as root on this machine" % argument
    elif argument.startswith("-") and "M" in argument[1:]:
        return "%r is refused: -M (--modprobe) runs a program as root on this machine" % argument
    return None


_NFT_INCLUDE = re.compile(r"(^|[;{}])\s*include\b", re.MULTILINE)


def nftables_problem(ruleset):
    if _NFT_INCLUDE.search(ruleset):
        return "an include statement is refused: nft would read files of this machine as root; give the rules inline"
    return None


# --- a whole scenario --------------------------------------------------------------------------------

def scenario_problems(scenario):
    """(location, why) for every well-formed value of a scenario (one that passed the schema and its
    references) that asks too much of the machine: the rules above, applied with locations."""
    problems = []
    for hi, host in enumerate(scenario["hosts"]):
        loc = "hosts[%d]" % hi
        for key, value in (host.get("vars") or {}).items():
            why = var_name_problem(key)
            if why:
                problems.append((join_location(loc + ".vars", key), why))
            problems.extend(vars_problems(value, join_location(loc + ".vars", key)))
        sysctls = [(loc + ".sysctls", host.get("sysctls"))]
        sysctls += [("%s.namespaces[%d].sysctls" % (loc, ni), ns.get("sysctls")) for ni, ns in enumerate(host.get("namespaces") or [])]
        for where, values in sysctls:
            for key, value in (values or {}).items():
                why = sysctl_key_problem(key) or sysctl_value_problem(value)
                if why:
                    problems.append((join_location(where, key), why))
        for fi, entry in enumerate(host.get("files") or []):
            path = normal_file_path(entry["path"])[0]
            why = file_path_problem(path)
            if why is None and not path.startswith(RUN_DIR + "/") and overlay_of(path) is None:
                why = machine_mount_problem(path)
                why = why and "%r: %s" % (path, why)
            if why:
                problems.append(("%s.files[%d].path" % (loc, fi), why))
        for ri, rules in enumerate(host.get("firewall") or []):
            for tool in ("iptables", "ip6tables", "ebtables"):
                for ei, rule in enumerate(rules.get(tool) or []):
                    where = "%s.firewall[%d].%s[%d]" % (loc, ri, tool, ei)
                    try:
                        argv = shlex.split(rule) if isinstance(rule, str) else rule
                    except ValueError as exc:
                        problems.append((where, "%r cannot be split into arguments: %s" % (rule, exc)))
                        continue
                    problems.extend((where, why) for why in map(firewall_argument_problem, argv) if why)
            why = rules.get("nftables") and nftables_problem(rules["nftables"])
            if why:
                problems.append(("%s.firewall[%d].nftables" % (loc, ri), why))
        for si, service in enumerate(host.get("services") or []):
            for oi, option in enumerate(service.get("options") or []):
                why = dnsmasq_option_problem(option)
                if why:
                    problems.append(("%s.services[%d].options[%d]" % (loc, si, oi), why))
    return problems
