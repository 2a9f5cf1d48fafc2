#!/usr/bin/env bash
# The product's main job on the built-in lab: set up, build a seed scenario in namespaces on this
# machine, diagnose it with diagnose.yml, show the finding, tear the lab down (also on failure).
#   bash scripts/demo.sh [scenario-name-or-path]     (default: peer_pods_mac_mismatch, seed 001)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
bash scripts/setup.sh
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$repo/ansible.cfg"

scenario=${1:-peer_pods_mac_mismatch}
name=$(basename "$scenario" .yml)
lab_dir="$repo/lab-runs/$name"
report_dir="$repo/reports/$name"

teardown() {
  ansible-playbook cloudnet.triage.lab -e "scenario=$scenario" -e state=absent -e "lab_dir=$lab_dir" >/dev/null \
    || echo "demo: tear-down reported a problem; run it again: ansible-playbook cloudnet.triage.lab -e scenario=$scenario -e state=absent -e lab_dir=$lab_dir"
}
trap teardown EXIT

echo "demo: building lab scenario $scenario"
ansible-playbook cloudnet.triage.lab -e "scenario=$scenario" -e state=present -e "lab_dir=$lab_dir"
echo "demo: diagnosing (inventory $lab_dir/inventory.yml)"
# The last output is the diagnosis summary (verdict, first finding, evidence, remedy, the report's path):
# ansible.cfg's stdout callback cloudnet.triage.concise prints it after the recap; the lab is torn down silently.
ansible-playbook -i "$lab_dir/inventory.yml" diagnose.yml -e "cloudnet_report_dir=$report_dir" -e cloudnet_fail_on=never
