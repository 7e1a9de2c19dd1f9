#!/usr/bin/env bash
# Worker hosts for rigsweep's real-stack tests: several machines on this one, each a network, mount
# and UTS namespace held open by one holder process, on the test rigs' bridge.
#
#   hosts.sh up      STATE_DIR SSH_DIR NAME...  build one host per NAME (tears down leftovers first), prints JSON (last line)
#   hosts.sh down    STATE_DIR                  kill every process in the hosts, delete namespaces and links
#   hosts.sh cut     STATE_DIR I                host I's link goes down on the bridge side (cut off from server and rigs)
#   hosts.sh restore STATE_DIR I                link up again
#
# Layout: host i (1-based, in the order named) = netns rsw-host<i>, veth rsxh<i> (a port of rigs.sh's
# bridge rswbr0) <-> eth0 (in the netns) 10.231.0.(230+i)/24, so it reaches the rigs and this
# machine's 10.231.0.1 directly. Its holder process (`sleep infinity`) runs in a mount + UTS
# namespace of its own with hostname NAME, STATE_DIR/host<i>/disk bind-mounted over
# /srv/rigsweep-host (home/ = its $HOME with a copy of SSH_DIR as .ssh, results/) and
# STATE_DIR/host<i>/node-state over /tmp/rigsweep-node (rigsweep's per-machine permit folder).
# Everything else (/tmp included) is this machine's. Commands enter a host with
# `nsenter -t <holderPid> -n -m -u`.
# The rigs must be up (rigs.sh up); namespace names are global, so this shares rigs.sh's lock.
# Needs root.
set -euo pipefail

readonly SUBNET_PREFIX=10.231.0
readonly FIRST_HOST_OCTET=230 # rigs.sh takes .11-.210
readonly MAX_HOSTS=20
readonly BRIDGE=rswbr0
readonly NS_PREFIX=rsw-host
readonly HOST_MOUNT=/srv/rigsweep-host
readonly NODE_STATE_DIR=/tmp/rigsweep-node
readonly LOCK_FILE=/run/rigsweep-test-rigs.lock
readonly HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=netns-lib.sh
source "$HERE/netns-lib.sh"

log() { echo "hosts.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Every process in an rsw-host* namespace (holders and whatever ran in them), the namespaces, the
# links. Other runs' (crashed ones) included: names are global.
teardown() {
  local pids=() p
  for p in $(netns_pids "$NS_PREFIX"); do pids+=("$p"); done
  kill_pids "${pids[@]+"${pids[@]}"}"
  delete_netns_and_links "$NS_PREFIX" '^rsx(h|r)[0-9]+$'
}

# The JSON description (one line). /usr/bin/python3: root's python3 is a slow pyenv shim.
describe() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
state, mount, prefix, first, ns_prefix, *names = sys.argv[1:]
hosts = []
for i, name in enumerate(names, start=1):
    with open(f"{state}/host{i}/holder.pid") as f:
        holder = int(f.read())
    hosts.append({"index": i, "name": name, "address": f"{prefix}.{int(first) + i}", "netns": f"{ns_prefix}{i}",
                  "hostDev": f"rsxh{i}", "holderPid": holder, "diskDir": f"{state}/host{i}/disk", "nodeStateDir": f"{state}/host{i}/node-state", "mount": mount,
                  "home": f"{mount}/home", "resultsDir": f"{mount}/results"})
print(json.dumps({"stateDir": state, "gateway": f"{prefix}.1", "hosts": hosts}, separators=(",", ":")))
PY
}

# Waits until host I's holder has made its mounts and set its hostname (it then execs sleep).
wait_holder() {
  local dir="$1" pid deadline=$((SECONDS + 10))
  pid="$(cat "$dir/holder.pid")"
  until [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == sleep ]]; do
    if ! is_alive "$pid" || ((SECONDS > deadline)); then
      log "the holder of $(basename "$dir") did not come up; holder.log:"
      cat "$dir/holder.log" >&2 || true
      return 1
    fi
    sleep 0.05
  done
}

cmd_up() {
  local state ssh_dir names=() i name
  state="$(state_dir_arg "${1:-}" 1)"
  ssh_dir="${2:-}"
  shift 2 || die "usage: hosts.sh up STATE_DIR SSH_DIR NAME..."
  names=("$@")
  [[ -d "$ssh_dir" ]] || die "SSH_DIR $ssh_dir is not a folder"
  ((${#names[@]} >= 1 && ${#names[@]} <= MAX_HOSTS)) || die "give 1..$MAX_HOSTS host names"
  for name in "${names[@]}"; do
    [[ "$name" =~ ^[A-Za-z][A-Za-z0-9-]{0,62}$ ]] || die "host name '$name' is not a hostname"
  done
  [[ "$(printf '%s\n' "${names[@]}" | sort | uniq -d)" == "" ]] || die "host names must differ"
  ip link show "$BRIDGE" >/dev/null 2>&1 || die "the rigs' bridge $BRIDGE is not there: start the rigs first"
  local t0=$SECONDS

  teardown
  trap 'log "up failed, tearing down"; teardown' EXIT
  rm -rf "$state"/host[0-9]* "$state/hosts.json"
  mkdir -p "$HOST_MOUNT" "$NODE_STATE_DIR"

  local ns addr dev dir disk
  for ((i = 1; i <= ${#names[@]}; i++)); do
    name="${names[i - 1]}"; ns="$NS_PREFIX$i"; addr="$SUBNET_PREFIX.$((FIRST_HOST_OCTET + i))"
    dev="rsxh$i"; dir="$state/host$i"; disk="$dir/disk"
    mkdir -p "$disk/home/.ssh" "$disk/results" "$dir/node-state"
    chmod 0700 "$disk/home/.ssh"
    chmod 1777 "$dir/node-state"
    cp -rp "$ssh_dir/." "$disk/home/.ssh/"

    add_netns_on_bridge "$ns" "$dev" "rsxr$i" "$addr" "$BRIDGE"

    # ip netns exec and unshare exec (no fork): $! is the holder.
    nohup ip netns exec "$ns" unshare -m -u --propagation private \
      sh -c 'mount --bind "$1" "$2" && mount --bind "$3" "$4" && hostname "$5" && exec sleep infinity' \
      sh "$disk" "$HOST_MOUNT" "$dir/node-state" "$NODE_STATE_DIR" "$name" \
      </dev/null >>"$dir/holder.log" 2>&1 9>&- &
    echo "$!" >"$dir/holder.pid"
  done
  for ((i = 1; i <= ${#names[@]}; i++)); do wait_holder "$state/host$i" || exit 1; done

  local json
  json="$(describe "$state" "$HOST_MOUNT" "$SUBNET_PREFIX" "$FIRST_HOST_OCTET" "$NS_PREFIX" "${names[@]}")"
  trap - EXIT
  echo "$json" >"$state/hosts.json"
  log "${#names[@]} host(s) up in $((SECONDS - t0)) s"
  echo "$json"
}

main() {
  local cmd="${1:-}"; shift || true
  [[ $EUID -eq 0 ]] || die "must run as root"
  # Serialise with rigs.sh: the hosts hang on its bridge.
  exec 9>"$LOCK_FILE"
  flock 9
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) teardown ;;
    cut) set_link host rsxh "${2:-}" down ;;
    restore) set_link host rsxh "${2:-}" up ;;
    *) die "usage: hosts.sh up STATE_DIR SSH_DIR NAME... | down STATE_DIR | cut STATE_DIR I | restore STATE_DIR I" ;;
  esac
}

main "$@"
