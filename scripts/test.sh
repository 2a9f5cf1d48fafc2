#!/usr/bin/env bash
# The whole test suite: set-up, then every quality gate, then the root integration tests on the lab.
# Runs every stage even when one fails, so one run shows all that is wrong; exits non-zero if any failed.
#   bash scripts/test.sh            all stages
#   bash scripts/test.sh units lab  only the named stages (sanity units lint changelog build importer lab molecule clean)
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1

bash scripts/setup.sh || { echo "setup failed"; exit 1; }
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$repo/ansible.cfg"
export PYTHONDONTWRITEBYTECODE=1

all_stages=(sanity units lint changelog build importer lab molecule clean)
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=("${all_stages[@]}")

work=$(mktemp -d /tmp/cloudnet-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
out="$repo/tests/output"
mkdir -p "$out"

# ansible-test wants the collection at .../ansible_collections/<ns>/<name>/ as a real directory, and
# scans every file there: give it exactly the files git knows (tracked, or new and not ignored).
copy_collection() {
  local dest="$work/ansible_collections/cloudnet/triage"
  if [ ! -d "$dest" ]; then
    mkdir -p "$dest"
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
      [ -e "$f" ] && printf '%s\0' "$f"
    done | rsync -a --from0 --files-from=- ./ "$dest/"
    (cd "$dest" && git init -q && git add -A >/dev/null 2>&1)
  fi
  echo "$dest"
}

root_before="$work/root-before.txt"
snapshot_root() {
  {
    echo "## netns"; ip netns list 2>/dev/null | sort
    echo "## links"; ip -o link show | awk -F': ' '{print $2}' | sort
    echo "## ovs"; ls /run/openvswitch /var/run/openvswitch 2>/dev/null
    echo "## mounts"; awk '{print $5}' /proc/self/mountinfo | grep -E '^/(run|var/run)/netns' | sort
  }
}
snapshot_root > "$root_before"

stage_sanity() {
  local dest; dest=$(copy_collection)
  (cd "$dest" && ansible-test sanity --venv --python 3.11 --color no)
}
stage_units() {
  local dest; dest=$(copy_collection)
  (cd "$dest" && ansible-test units --venv --python 3.11 --color no --requirements)
}
stage_lint() {
  ansible-lint --profile production --offline --nocolor
}
stage_changelog() {
  antsibull-changelog lint
}
stage_build() {
  rm -f "$work"/cloudnet-triage-*.tar.gz
  ansible-galaxy collection build --force --output-path "$work" . && ls -la "$work"/cloudnet-triage-*.tar.gz
}
stage_importer() {
  ls "$work"/cloudnet-triage-*.tar.gz >/dev/null 2>&1 || stage_build >/dev/null || return 1
  # Run from the work dir: the importer writes importer_result.json into its current directory.
  (cd "$work" && GALAXY_IMPORTER_CONFIG="$repo/tests/galaxy-importer.cfg" \
    python -m galaxy_importer.main "$work"/cloudnet-triage-*.tar.gz > "$out/galaxy-importer.log" 2>&1)
  local rc=$?
  tail -n 25 "$out/galaxy-importer.log"
  # The importer exits 0 on some failed checks: an ERROR line, or no line saying it completed, fails too.
  if grep -q -E '^ERROR' "$out/galaxy-importer.log" \
     || ! grep -q 'Importer processing completed successfully' "$out/galaxy-importer.log"; then
    echo "galaxy-importer reported errors (full log: tests/output/galaxy-importer.log)"
    return 1
  fi
  if grep -E '^WARNING' "$out/galaxy-importer.log"; then
    echo "galaxy-importer warned (above); the import itself succeeded"
  fi
  return $rc
}
stage_lab() {
  if [ "$(id -u)" != 0 ]; then echo "lab tests need root"; return 1; fi
  # Run from outside the collection so pytest's rootdir logic never symlinks into it.
  (cd "$work" && PYTHONPATH="$repo/.venv/collections" python -m pytest -p no:cacheprovider -q -rs --junitxml="$out/lab-junit.xml" \
    --rootdir "$repo/tests/lab" "$repo/tests/lab")
}
stage_molecule() {
  if [ ! -d extensions/molecule ]; then echo "no molecule scenarios"; return 0; fi
  local rc=0 scenario
  for scenario in extensions/molecule/*/; do
    scenario=$(basename "$scenario")
    [ -f "extensions/molecule/$scenario/molecule.yml" ] || continue
    (cd extensions && molecule test -s "$scenario") || rc=1
  done
  return $rc
}
stage_clean() {
  # Tests and the lab must leave the machine's root namespace as they found it.
  local after="$work/root-after.txt"
  snapshot_root > "$after"
  if ! diff -u "$root_before" "$after"; then
    echo "the root namespace changed during the run (above)"
    return 1
  fi
  echo "root namespace unchanged"
}

passed=0; failed=0; failed_names=()
for stage in "${stages[@]}"; do
  echo
  echo "======== stage: $stage ========"
  start=$(date +%s)
  if "stage_$stage"; then
    passed=$((passed + 1)); result=ok
  else
    failed=$((failed + 1)); failed_names+=("$stage"); result=FAILED
  fi
  echo "======== stage $stage: $result ($(( $(date +%s) - start )) s) ========"
done
echo
[ $failed -eq 0 ] || echo "failed stages: ${failed_names[*]}"
echo "stages: $passed passed, $failed failed"
[ $failed -eq 0 ]
