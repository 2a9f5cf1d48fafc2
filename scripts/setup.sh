#!/usr/bin/env bash
# Installs everything cloudnet.triage needs on a fresh Debian 12 machine, as root:
# Debian packages, a virtual environment at .venv/, and a link that makes `cloudnet.triage`
# resolve from the repository root. Safe to run again.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1

apt_packages=(iproute2 openvswitch-switch dnsmasq-base iputils-ping arping tcpdump iptables nftables
  ebtables socat graphviz chromium shellcheck procps util-linux kmod python3 python3-venv git rsync sosreport
  ethtool udhcpc ovn-central ovn-host)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  # Package scripts must not start OVS, OVN (ovn-central, ovn-host) or dnsmasq in the machine's root
  # namespace: the lab starts its own daemons inside lab hosts only.
  policy=/usr/sbin/policy-rc.d
  created_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ -z "$created_policy" ] || rm -f "$policy"
fi

python=${CLOUDNET_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python requirements into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

# cloudnet.triage resolves through ansible.cfg's collections_path.
mkdir -p .venv/collections/ansible_collections/cloudnet
ln -sfn "$repo" .venv/collections/ansible_collections/cloudnet/triage

# ansible-test bootstraps pip with a script it downloads; offline, a stand-in does the same job.
getpip="$HOME/.ansible/test/cache/get_pip_24_2.py"
if [ ! -s "$getpip" ]; then
  mkdir -p "$(dirname "$getpip")"
  cat > "$getpip" <<'PY'
"""Offline stand-in for get-pip.py: ensurepip, then pip with the remaining arguments."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PY
fi
# The whole output first, then its first line: `| head -1` closed the pipe while ansible still wrote, and
# Python printed a BrokenPipeError traceback (about 3 runs in 10).
version=$(.venv/bin/ansible --version)
echo "setup: ready (${version%%$'\n'*})"
