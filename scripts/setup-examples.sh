#!/usr/bin/env bash
# Creates the Python venv of the WATCHER example (examples/watcher/.venv) and installs its one
# dependency, the Temporal Python SDK, pinned in examples/watcher/requirements.txt.
# Idempotent: a venv that works and already has these exact requirements is left alone.
# Prints one line on success; on failure, what went wrong (pip's output included).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=examples/watcher
venv=$dir/.venv
requirements=$dir/requirements.txt
stamp=$venv/.requirements.installed # a copy of the requirements the venv was last built with

installed_version() { "$venv/bin/python" -c 'from importlib.metadata import version; print(version("temporalio"))'; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The system interpreter first: a pyenv shim can change under the venv and break it.
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3) || { echo "setup-examples: python3 not found" >&2; exit 1; }

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' 2>/dev/null && cmp -s "$requirements" "$stamp"; then
  echo "setup-examples: $venv is up to date (temporalio $(installed_version))"
  exit 0
fi

make_venv() { rm -rf "$venv" && "$python" -m venv "$venv" >/dev/null 2>&1; }
if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip --version >/dev/null 2>&1; }; then
  if ! make_venv; then
    # Debian/Ubuntu ship `venv` without ensurepip unless python3-venv is installed.
    echo "setup-examples: installing python3-venv" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    make_venv || { rm -rf "$venv"; "$python" -m venv "$venv"; } # second failure: show why
  fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-examples: pip install -r $requirements failed" >&2
  exit 1
fi
cp "$requirements" "$stamp"
echo "setup-examples: $venv ready (temporalio $(installed_version))"
