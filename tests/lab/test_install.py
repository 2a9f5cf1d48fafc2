# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a user who only has the built tarball gets: install it outside the repository, use it by FQCN; and the
execution environment of this checkout (ansible-builder create over the same tarball).

No namespace is touched; the tests live with the lab tests because they run ansible-galaxy and ansible-builder
from the repository's venv (the lab stage of scripts/test.sh), not inside ansible-test's units venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)


def tool(name):
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        pytest.skip("%s is not installed in this venv (requirements-dev.txt)" % name)
    return path


def version():
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["version"]


def clean_env(**extra):
    """No ansible.cfg of the repository, no collection path into it: only what the test installs."""
    env = dict((key, value) for key, value in os.environ.items() if not key.startswith("ANSIBLE_"))
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0", **extra)
    return env


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    subprocess.run([tool("ansible-galaxy"), "collection", "build", REPO, "--output-path", str(out), "--force"],
                   check=True, capture_output=True, text=True, cwd=str(out), env=clean_env(), timeout=300)
    path = out / ("cloudnet-triage-%s.tar.gz" % version())
    assert path.exists(), sorted(os.listdir(str(out)))
    return path


def test_the_tarball_ships_what_installers_read(tarball):
    with tarfile.open(str(tarball)) as archive:
        names = set(archive.getnames())
        manifest = yaml.safe_load(archive.extractfile("MANIFEST.json"))
    for name in ("meta/execution-environment.yml", "meta/runtime.yml", "bindep.txt", "requirements.yml",
                 "docs/schemas/diagnosis-2.schema.json", "docs/schemas/host-1.schema.json", "plugins/callback/concise.py",
                 "playbooks/remediate.yml", "playbooks/tasks/remedy_step.yml"):
        assert name in names, name
    assert "community.docker" in manifest["collection_info"]["dependencies"]


def test_installed_tarball_runs_by_fqcn_outside_the_repository(tarball, tmp_path):
    target = tmp_path / "collections"
    work = tmp_path / "project"
    work.mkdir()
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(target))
    # --offline: community.docker (the dependency galaxy.yml declares) comes from the installed ansible package.
    # --force: a copy found on another collection path (the venv's) must not make the installer skip this one.
    install = subprocess.run([tool("ansible-galaxy"), "collection", "install", str(tarball), "-p", str(target), "--offline",
                              "--force"],
                             capture_output=True, text=True, cwd=str(work), env=env, timeout=300, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    installed = target / "ansible_collections" / "cloudnet" / "triage"
    assert (installed / "MANIFEST.json").exists() and not os.path.islink(str(installed)), install.stdout + install.stderr
    assert os.path.realpath(str(installed)).startswith(str(tmp_path))

    doc = subprocess.run([tool("ansible-doc"), "cloudnet.triage.diagnosis_report"], capture_output=True, text=True,
                         cwd=str(work), env=env, timeout=300, check=False)
    assert doc.returncode == 0 and "cloudnet.triage.diagnosis_report" in doc.stdout, doc.stderr
    assert str(installed) in doc.stdout                     # this copy, not the repository's
    callback = subprocess.run([tool("ansible-doc"), "-t", "callback", "cloudnet.triage.concise"], capture_output=True,
                              text=True, cwd=str(work), env=env, timeout=300, check=False)
    assert callback.returncode == 0, callback.stderr

    inventory = work / "inventory.yml"
    inventory.write_text("all:\n  hosts:\n    worker: {ansible_connection: local}\n")
    for playbook in ("cloudnet.triage.diagnose", "cloudnet.triage.lab", "cloudnet.triage.remediate"):
        check = subprocess.run([tool("ansible-playbook"), "-i", str(inventory), "--syntax-check", playbook],
                               capture_output=True, text=True, cwd=str(work), env=env, timeout=300, check=False)
        assert check.returncode == 0, "%s: %s%s" % (playbook, check.stdout, check.stderr)

    # ansible-builder's introspection, run the way an EE build runs it over the installed collection.
    from ansible_builder._target_scripts.introspect import process_collection
    python, system = process_collection(str(installed))
    assert python == [] and "graphviz [platform:dpkg platform:rpm]" in system


def test_execution_environment_builds_its_context_from_the_tarball(tarball, tmp_path):
    with open(os.path.join(REPO, "execution-environment.yml"), encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    name = "cloudnet-triage-%s.tar.gz" % version()
    # The definition names the tarball of this checkout's version, never a git URL.
    assert [item["src"] for item in definition["additional_build_files"]] == [name]
    collections = definition["dependencies"]["galaxy"]["collections"]
    assert {"name": "collections/" + name, "type": "file"} in collections
    assert not any("git" in str(item.get("type", "")) or "://" in str(item["name"]) for item in collections)

    shutil.copy(os.path.join(REPO, "execution-environment.yml"), str(tmp_path / "execution-environment.yml"))
    shutil.copy(str(tarball), str(tmp_path / name))
    create = subprocess.run([tool("ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context",
                             "--output-filename", "Containerfile"], capture_output=True, text=True, cwd=str(tmp_path),
                            env=clean_env(), timeout=300, check=False)
    assert create.returncode == 0, create.stdout + create.stderr
    context = tmp_path / "context"
    with open(str(context / "_build" / "requirements.yml"), encoding="utf-8") as handle:
        assert {"name": "collections/" + name, "type": "file"} in yaml.safe_load(handle)["collections"]
    # The same bytes as the tarball that was tested.
    assert (context / "_build" / "collections" / name).read_bytes() == tarball.read_bytes()
    containerfile = (context / "Containerfile").read_text()
    assert "quay.io/ansible/awx-ee:24.6.1" in containerfile
    assert "ansible-galaxy collection install" in containerfile and "introspect" in containerfile
    assert "install-from-bindep" in containerfile
