# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile scenario files (issue 16): the lab runs as root on the user's machine, so a scenario from
anywhere is refused, with its file and the location in it, before anything is built. No root, no
kernel: building is stubbed so that any attempt to start a process fails the test."""

from __future__ import annotations

import copy
import glob
import json
import os
import subprocess
import time
import tracemalloc

import pytest

from ansible_collections.cloudnet.triage.plugins.module_utils.lab import _build, _files, _policy, _run, _scenario, _yaml
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._proc import LabError
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._scenario import ScenarioError, load_scenario, validate_scenario
from ansible_collections.cloudnet.triage.plugins.module_utils.lab._state import State

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))
HOSTILE = sorted(glob.glob(os.path.join(REPO, "tests", "lab", "scenarios", "hostile", "*.yml")))

HEALTHY_HOST = "fault: none\nexpect: {healthy: true}\nhosts:\n  - name: a\n"

# Two hostile files are generated rather than shipped: other YAML readers in the tool chain (ansible-lint
# among them) expand the bomb until memory runs out, and hit the recursion limit on the nesting.
GENERATED = {
    "anchor_bomb.yml": ("# expect: line * :: once its aliases are expanded\n" + HEALTHY_HOST + "    vars:\n      l0: &l0 \"lol\"\n"
                        + "".join("      l%d: &l%d [%s]\n" % (i, i, ", ".join(["*l%d" % (i - 1)] * 10)) for i in range(1, 10))),
    "deep_nesting.yml": ("# expect: line * :: nested more than 64 levels deep\n" + HEALTHY_HOST
                         + "    vars:\n      deep: " + "[" * 5000 + "]" * 5000 + "\n"),
}


@pytest.fixture(params=HOSTILE + sorted(GENERATED), ids=[os.path.basename(p)[:-4] for p in HOSTILE + sorted(GENERATED)])
def hostile(request, tmp_path):
    """The path of one hostile scenario file: shipped, or generated into tmp_path."""
    if request.param in GENERATED:
        path = tmp_path / request.param
        path.write_text(GENERATED[request.param], encoding="utf-8")
        return str(path)
    return request.param


def expectations(path):
    """The '# expect: <location> :: <words>' lines of a hostile file; a location 'line *' is any line."""
    found = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("# expect: "):
                location, words = line[len("# expect: "):].rstrip("\n").split(" :: ", 1)
                found.append((location.strip(), words))
    assert found, "%s names no expectation" % path
    return found


def refused(path):
    started = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert time.monotonic() - started < 5, "refusing %s took too long" % path
    return info.value


def assert_names_file_and_location(error, path):
    assert error.source == path
    lines = str(error).splitlines()
    assert lines[0] == "scenario refused, nothing was built:"
    assert len(lines) == len(error.problems) + 1, "a location or a reason spans lines: %r" % str(error)
    for (location, why), line in zip(error.problems, lines[1:]):
        assert location and why, (location, why)
        assert line.startswith("%s: %s: " % (path, location)), line


@pytest.fixture
def no_processes(monkeypatch):
    """Make every way of starting a process fail the test; report whether one was tried."""
    tried = []

    def refuse(*args, **kwargs):
        tried.append(args[0] if args else kwargs.get("args"))
        raise AssertionError("the lab tried to start %r for a scenario it must refuse" % (args[0] if args else kwargs,))

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(os, "geteuid", lambda: 0)  # as root, so only validation can stop the build
    return tried


def write(tmp_path, text, name="hostile.yml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- the shipped hostile files -------------------------------------------------------------------------

def test_there_are_hostile_files():
    assert len(HOSTILE) >= 9


def test_hostile_file_is_refused_with_file_and_location(hostile):
    path = hostile
    error = refused(path)
    assert_names_file_and_location(error, path)
    for location, words in expectations(path):
        if location == "line *":
            matching = [why for loc, why in error.problems if loc.startswith("line ")]
        else:
            matching = [why for loc, why in error.problems if loc == location]
        assert matching, "no problem at %s in %s; got %s" % (location, path, error.problems)
        assert any(words in why for why in matching), (location, words, matching)


def test_hostile_file_builds_nothing(hostile, tmp_path, no_processes):
    lab_dir = tmp_path / "lab"
    with pytest.raises(ScenarioError):
        _build.build(hostile, str(lab_dir))
    assert no_processes == [] and not lab_dir.exists()


class FakeModule:
    """Enough of AnsibleModule for run_lab_scenario."""

    class Exit(Exception):
        pass

    def __init__(self, **params):
        self.params = dict({"state": "present", "scenario_dirs": [], "force": False}, **params)
        self.check_mode = False
        self.result = None

    def fail_json(self, **result):
        self.result = dict(result, failed=True)
        raise self.Exit()

    def exit_json(self, **result):
        self.result = result
        raise self.Exit()


@pytest.mark.parametrize("check_mode", [False, True])
def test_module_refuses_with_file_and_location(tmp_path, no_processes, check_mode):
    path = os.path.join(REPO, "tests", "lab", "scenarios", "hostile", "vars_connection.yml")
    module = FakeModule(scenario=path, lab_dir=str(tmp_path / "lab"))
    module.check_mode = check_mode
    with pytest.raises(FakeModule.Exit):
        _run.run_lab_scenario(module)
    assert module.result["failed"] and module.result["changed"] is False
    problems = module.result["problems"]
    assert {p["file"] for p in problems} == {path}
    assert {"hosts[0].vars.ansible_connection", "hosts[0].vars.ansible_host"} <= {p["location"] for p in problems}
    assert no_processes == [] and not (tmp_path / "lab").exists()


# --- YAML: size, depth, aliases --------------------------------------------------------------------------

def test_anchor_bomb_is_refused_before_it_grows(tmp_path):
    path = write(tmp_path, GENERATED["anchor_bomb.yml"])
    tracemalloc.start()
    try:
        error = refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, "refusing the bomb took %d bytes" % peak
    (location, why), = error.problems
    assert location.startswith("line ") and "column" in location and "aliases" in why


def test_alias_of_a_long_string_counts_its_characters(tmp_path):
    text = HEALTHY_HOST + "    vars:\n      s: &s %s\n      l: [%s]\n" % ("x" * 100000, ", ".join(["*s"] * 20))
    (location, why), = refused(write(tmp_path, text)).problems
    assert location.startswith("line 7 ") and "once its aliases are expanded" in why


def test_a_few_aliases_are_fine(tmp_path):
    text = HEALTHY_HOST + "    vars:\n      defaults: &d {platform: generic, zone: a}\n      copy: *d\n      merged: {<<: *d, zone: b}\n"
    scenario = load_scenario(write(tmp_path, text))
    assert scenario["hosts"][0]["vars"]["merged"] == {"platform": "generic", "zone": "b"}


def test_recursive_alias_is_refused(tmp_path):
    (location, why), = refused(write(tmp_path, HEALTHY_HOST + "    vars:\n      loop: &a [1, *a]\n")).problems
    assert location == "line 6 column 20" and "refers to the collection it is in" in why


@pytest.mark.parametrize("nesting", [
    "[" * 5000 + "]" * 5000,
    "{a: " * 5000 + "1" + "}" * 5000,
    "\n" + "".join("  " * 3 + "  " * i + "-\n" for i in range(70)),
])
def test_deep_nesting_is_refused_with_a_location(tmp_path, nesting):
    (location, why), = refused(write(tmp_path, HEALTHY_HOST + "    vars:\n      deep: " + nesting + "\n")).problems
    assert location.startswith("line ") and " column " in location
    assert "nested more than %d levels deep" % _yaml.MAX_DEPTH in why


def test_deep_nesting_at_the_top_is_refused(tmp_path):
    (location, why), = refused(write(tmp_path, "[" * 5000 + "]" * 5000)).problems
    assert location == "line 1 column %d" % (_yaml.MAX_DEPTH + 1) and "nested" in why


def test_file_size_cap(tmp_path):
    text = HEALTHY_HOST + "    vars:\n" + "".join("      v%07d: %s\n" % (i, "x" * 80) for i in range(_yaml.MAX_FILE_BYTES // 90 + 10))
    (location, why), = refused(write(tmp_path, text)).problems
    assert location.startswith("line ") and "larger than %d bytes" % _yaml.MAX_FILE_BYTES in why


def test_not_a_regular_file_is_refused_without_blocking(tmp_path):
    fifo = str(tmp_path / "scenario.yml")
    os.mkfifo(fifo)
    (location, why), = refused(fifo).problems
    assert location == "(file)" and "not a regular file" in why


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yml"
    path.write_bytes(HEALTHY_HOST.encode() + b"    vars: {name: caf\xe9}\n")
    (location, why), = refused(str(path)).problems
    assert location == "line 5" and "UTF-8" in why


def test_python_objects_are_refused(tmp_path):
    (location, why), = refused(write(tmp_path, HEALTHY_HOST + "    vars: {x: !!python/object/apply:os.system [id]}\n")).problems
    assert location.startswith("line 5 ") and "not valid YAML" in why


def test_data_given_directly_gets_the_same_caps():
    loop = []
    loop.append(loop)
    scenario = {"fault": "none", "expect": {"healthy": True}, "hosts": [{"name": "a", "vars": {"loop": loop}}]}
    with pytest.raises(ScenarioError) as info:
        validate_scenario(scenario, "given.yml")
    (location, why), = info.value.problems
    assert location.startswith("hosts[0].vars.loop[0]") and "nested more than" in why
    shared = ["lol"]
    for dummy in range(9):
        shared = [shared] * 10
    scenario["hosts"][0]["vars"] = {"bomb": shared}
    started = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        validate_scenario(scenario, "given.yml")
    assert time.monotonic() - started < 5
    assert "larger than" in info.value.problems[0][1]


# --- vars ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ansible_connection", "ansible_host", "ansible_port", "ansible_user", "ansible_nsenter_pid",
                                  "ansible_python_interpreter", "ansible_become", "ansible_become_user", "ansible_ssh_common_args",
                                  "ansible_shell_executable", "ansible_remote_tmp", "Ansible_Connection", "cloudnet_lab_scenario",
                                  "hostvars", "inventory_hostname", "groups"])
def test_connection_and_magic_variables_are_refused(name):
    assert _policy.var_name_problem(name)


@pytest.mark.parametrize("name", ["platform", "cloudnet_expect_ovs", "role_label", "ansiblex"])
def test_plain_variables_are_accepted(name):
    assert _policy.var_name_problem(name) is None


def test_inventory_keeps_the_lab_connection_whatever_vars_hold(tmp_path):
    """Validation refuses these names; even if it were skipped, the lab's own connection wins."""
    scenario = {"name": "x", "hosts": [{"name": "a", "vars": {"ansible_connection": "local", "platform": "generic"}}]}
    builder = _build._Builder(scenario, str(tmp_path), State(str(tmp_path)))
    builder.pids = {"a": 4242}
    builder.write_inventory()
    with open(str(tmp_path / "inventory.yml"), encoding="utf-8") as handle:
        first, rest = handle.read().split("\n", 1)
    assert first.startswith("# ")
    host = json.loads(rest)["all"]["hosts"]["a"]
    assert host["ansible_connection"] == "community.docker.nsenter" and host["ansible_nsenter_pid"] == 4242
    assert host["platform"] == "generic"


# --- sysctls ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv6.conf.all.disable_ipv6",
                                 "net.ipv4.conf.eth0.arp_ignore", "net.core.somaxconn", "net.ipv4.ip_local_port_range"])
def test_per_namespace_sysctls_are_accepted(key):
    assert _policy.SYSCTL_KEY.fullmatch(key) and _policy.sysctl_key_problem(key) is None


@pytest.mark.parametrize("key", ["kernel.core_pattern", "vm.overcommit_memory", "net", "net.", "net..ipv4", "net.ipv4.ip_forward\n",
                                 "net/ipv4/ip_forward", "net.ipv4/../../kernel/core_pattern", " net.ipv4.ip_forward"])
def test_other_sysctl_keys_do_not_pass_the_format(key):
    assert not _policy.SYSCTL_KEY.fullmatch(key)


@pytest.mark.parametrize("key", ["net.netfilter.nf_hooks_lwtunnel", "net.core.rmem_max", "net.core.wmem_default",
                                 "net.netfilter.nf_conntrack_max", "net.nf_conntrack_max", "net.ipv4.neigh.default.gc_thresh3",
                                 "net.ipv6.neigh.default.gc_interval", "net.core.bpf_jit_enable", "net.ipv4.tcp_mem"])
def test_machine_wide_net_sysctls_are_refused(key):
    assert "whole machine" in _policy.sysctl_key_problem(key)


# --- files --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, normal", [("//etc/x", "/etc/x"), ("/./etc/x", "/etc/x"), ("/var//lib/./cloud/x", "/var/lib/cloud/x"),
                                           ("/run/cloud-init/status.json", "/run/cloud-init/status.json")])
def test_destinations_are_normalised(given, normal):
    assert _policy.normal_file_path(given) == (normal, None)


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A stand-in for the machine's file system that validation looks at."""
    root = tmp_path / "machine"
    (root / "var" / "lib").mkdir(parents=True)
    (root / "var" / "log").mkdir()
    (root / "etc").mkdir()
    os.symlink("/etc", str(root / "var" / "lib" / "evil"))
    os.symlink("../../etc", str(root / "var" / "lib" / "relative"))
    monkeypatch.setattr(_policy, "MACHINE_ROOT", str(root))
    return root


def with_files(*paths):
    return {"fault": "none", "expect": {"healthy": True}, "hosts": [{"name": "a", "files": [{"path": p} for p in paths]}]}


def file_problems(*paths):
    with pytest.raises(ScenarioError) as info:
        validate_scenario(with_files(*paths), "files.yml")
    return dict(info.value.problems)


def test_nearest_existing_directory_slash_is_refused(machine):
    # /srv and /opt do not exist on this "machine": the tmpfs would go on / itself.
    problems = file_problems("/srv/lab/x", "/opt/y")
    assert "nearest existing directory is '/'" in problems["hosts[0].files[0].path"]
    assert "the machine's root" in problems["hosts[0].files[1].path"]


def test_symlinks_on_the_way_are_refused(machine):
    problems = file_problems("/var/lib/evil/cron.d/x", "/var/lib/relative/x")
    assert "/var/lib/evil is a symlink" in problems["hosts[0].files[0].path"]
    assert "/var/lib/relative is a symlink" in problems["hosts[0].files[1].path"]


def test_private_destinations_are_accepted(machine):
    assert validate_scenario(with_files("/var/lib/cloud/data/result.json", "/var/log/cloud-init.log", "/run/cloud-init/x"))


def test_duplicate_and_nested_destinations(machine):
    problems = file_problems("/var/lib/a", "/var//lib/a", "/var/lib/b", "/var/lib/b/c")
    assert "also hosts[0].files[0]" in problems["hosts[0].files[1].path"]
    assert "a directory of another file" in problems["hosts[0].files[2].path"]


class Recorder:
    def __init__(self):
        self.commands = []

    def run(self, host, argv, stdin_text=None, what=None, check=True):
        self.commands.append(list(argv))


def files_builder(tmp_path, monkeypatch, *entries):
    host_root = tmp_path / "host"
    (host_root / "run").mkdir(parents=True)
    (host_root / "var" / "lib").mkdir(parents=True)
    monkeypatch.setattr(_files, "host_root", lambda pid: str(host_root))
    scenario = {"name": "x", "hosts": [{"name": "a", "files": list(entries)}]}
    builder = _build._Builder(scenario, str(tmp_path), State(str(tmp_path)))
    builder.pids = {"a": 4242}
    recorder = Recorder()
    builder.run = recorder.run
    return builder, recorder, host_root


def test_place_files_mounts_and_writes_inside_the_host(tmp_path, monkeypatch):
    builder, recorder, host_root = files_builder(tmp_path, monkeypatch,
                                                 {"path": "/var/lib/cloud/data/result.json", "content": "{}", "mode": "0600"},
                                                 {"path": "/run/cloud-init/status.json", "content": "ok"})
    builder.place_files("a")
    assert recorder.commands == [["mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs", "/var/lib"]]
    written = host_root / "var" / "lib" / "cloud" / "data" / "result.json"
    assert written.read_text() == "{}" and oct(written.stat().st_mode & 0o777) == "0o600"
    assert (host_root / "run" / "cloud-init" / "status.json").read_text() == "ok"


def test_place_files_never_follows_a_symlink(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    builder, recorder, host_root = files_builder(tmp_path, monkeypatch, {"path": "/var/lib/evil/x", "content": "pwned"})
    os.symlink(str(outside), str(host_root / "var" / "lib" / "evil"))
    with pytest.raises(LabError) as info:
        builder.place_files("a")
    assert "/var/lib/evil is a symlink" in str(info.value)
    assert recorder.commands == [] and os.listdir(str(outside)) == []


def test_place_files_never_writes_through_a_symlinked_file(tmp_path, monkeypatch):
    target = tmp_path / "machine-file"
    target.write_text("precious")
    builder, dummy, host_root = files_builder(tmp_path, monkeypatch, {"path": "/run/x", "content": "pwned"})
    os.symlink(str(target), str(host_root / "run" / "x"))
    with pytest.raises(LabError):
        builder.place_files("a")
    assert target.read_text() == "precious"


def test_place_files_refuses_a_mount_on_slash(tmp_path, monkeypatch):
    builder, recorder, host_root = files_builder(tmp_path, monkeypatch, {"path": "/srv/lab/x"})
    with pytest.raises(LabError) as info:
        builder.place_files("a")
    assert "nearest existing directory is '/'" in str(info.value) and recorder.commands == []
    assert not (host_root / "srv").exists()


# --- services and firewall -------------------------------------------------------------------------------

@pytest.mark.parametrize("option", ["--dhcp-script=/bin/sh", "--dhcp-scr=/bin/sh", "--conf-file=/etc/shadow", "-C/etc/shadow",
                                    "--pid-file=/etc/x", "--log-facility=/etc/x", "--dhcp-hostsfile=/etc/shadow", "--tftp-root=/",
                                    "--enable-tftp", "--user=root", "--dhcp-option=3,198.18.0.1\n--dhcp-script=/bin/sh"])
def test_dnsmasq_options_that_reach_the_machine_are_refused(option):
    assert _policy.dnsmasq_option_problem(option)


@pytest.mark.parametrize("option", ["--dhcp-option=3,203.0.113.3", "--dhcp-host=02:00:00:00:00:01,198.18.0.9", "--dhcp-authoritative"])
def test_dnsmasq_dhcp_options_are_accepted(option):
    assert _policy.dnsmasq_option_problem(option) is None


@pytest.mark.parametrize("argument", ["--modprobe=/bin/sh", "--modprobe", "--mod=/bin/sh", "--mo=/bin/sh", "-M", "-M/bin/sh", "-nvM/x"])
def test_firewall_modprobe_is_refused(argument):
    assert "modprobe" in _policy.firewall_argument_problem(argument)


@pytest.mark.parametrize("argument", ["-A", "INPUT", "--match", "-m", "--dport", "MASQUERADE", "--log-prefix", "-j"])
def test_firewall_arguments_are_accepted(argument):
    assert _policy.firewall_argument_problem(argument) is None


def test_nftables_include_is_refused():
    assert _policy.nftables_problem('include "/etc/shadow"\n')
    assert _policy.nftables_problem('table inet x { include "/etc/nftables.d/*" }')
    assert _policy.nftables_problem("table inet lab { chain input { type filter hook input priority 0; } }") is None


# --- names: anchored patterns ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, good", [
    ("ifname", "eth0"), ("netns", "qdhcp-6d1a2c4e"), ("label", "dhcp"), ("hostname", "worker"), ("group", "workers"),
    ("mac", "02:00:00:00:00:01"), ("ip", "198.18.0.1"), ("ip", "2001:db8::1"), ("interface_address", "198.18.0.1/24"),
    ("route_dst", "198.18.0.0/24"), ("octal", "0644"), ("scenario_name", "peer_pods_mac_mismatch"), ("id_key", "iface-id"),
    ("var_name", "platform"), ("sysctl_key", "net.ipv4.ip_forward"), ("file_path", "/var/lib/x"), ("line", "one line"),
])
def test_every_format_matches_in_full(fmt, good):
    test = _scenario._FORMATS[fmt][0]
    assert test(good) is True
    for bad in (good + "\n", good + "\nlink add evil type dummy", "\n" + good, good + "\x00"):
        assert test(bad) is not True, (fmt, bad)


@pytest.mark.parametrize("fmt, bad", [("ifname", "-h"), ("netns", "--all"), ("label", "-x"), ("ip", "fe80::1%eth0"),
                                      ("interface_address", "fe80::1%eth0/64"), ("group", "all"), ("octal", "4755"),
                                      ("scenario_name", "{{ lookup('pipe', 'id') }}"), ("netns", ".."), ("ifname", ".")])
def test_formats_refuse_options_scopes_and_specials(fmt, bad):
    assert _scenario._FORMATS[fmt][0](bad) is not True


def test_shipped_scenarios_pass_every_rule():
    for path in glob.glob(os.path.join(_scenario.SCENARIO_DIR, "*.yml")):
        scenario = copy.deepcopy(load_scenario(path))
        assert scenario["name"]
