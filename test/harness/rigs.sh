#!/usr/bin/env bash
# Integration-test rigs for rigsweep: one network namespace + one OpenSSH sshd per rig.
#
#   rigs.sh up      STATE_DIR COUNT   build COUNT rigs (tears down leftovers first), prints JSON (last line)
#   rigs.sh down    STATE_DIR         kill the rigs' processes, delete namespaces, links, bridge
#   rigs.sh cut     STATE_DIR I       rig I's link goes down on the host side (looks like a frozen rig)
#   rigs.sh restore STATE_DIR I       link up again
#
# Layout (this machine): bridge rswbr0 10.231.0.1/24; rig i = netns rsw-rig<i>, veth rswh<i> (host,
# bridge port) <-> eth0 (in the netns) 10.231.0.(10+i). Each sshd runs in its own mount + UTS
# namespace with STATE_DIR/rig<i>/disk bind-mounted over /srv/rigsweep-rig, STATE_DIR/rig<i>/node-state
# over /tmp/rigsweep-node, and hostname rig<i>.
# Namespace names are global: only one harness instance can be up at a time on this machine.
# Needs root.
set -euo pipefail

readonly RIG_USER=rigsweep-rig
readonly RIG_MOUNT=/srv/rigsweep-rig
readonly SUBNET_PREFIX=10.231.0
readonly HOST_ADDR=10.231.0.1
readonly BRIDGE=rswbr0
readonly BRIDGE_MAC=02:72:73:77:00:01
readonly NS_PREFIX=rsw-rig
readonly OPT_DIR=/opt/rigsweep-test
readonly STANDIN_DIR=$OPT_DIR/bin
readonly ROCM_PY=$OPT_DIR/rocm_env/bin/python
readonly NVIDIA_PY=$OPT_DIR/torch_env/bin/python
readonly HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=netns-lib.sh
source "$HERE/netns-lib.sh"
readonly FIXTURES="$(cd "$HERE/../fixtures" && pwd)"
readonly LOCK_FILE=/run/rigsweep-test-rigs.lock
# rigsweep's per-node lock folder (src/rigs/node-permits.ts): every rig gets its own, as real rigs
# would, although the rigs share this machine's /tmp.
readonly NODE_STATE_DIR=/tmp/rigsweep-node

log() { echo "rigs.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Everything of ours: processes in rsw-rig* namespaces, sshds from STATE_DIR pid files, the
# namespaces, host-side veths, the bridge. Other runs (crashed ones) included: names are global.
teardown() {
  local state="$1" pids=() p pf
  for p in $(netns_pids "$NS_PREFIX"); do pids+=("$p"); done
  for pf in "$state"/rig*/sshd.pid; do
    [[ -f "$pf" ]] || continue
    p="$(cat "$pf" 2>/dev/null || true)"
    # only if it still is an sshd started with this state dir's config
    if [[ "$p" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$(dirname "$pf")/sshd_config"; then
      pids+=("$p")
    fi
    rm -f "$pf"
  done
  kill_pids "${pids[@]+"${pids[@]}"}"
  delete_netns_and_links "$NS_PREFIX" '^rsw(h|r)[0-9]+$'
  ip link del "$BRIDGE" 2>/dev/null || true
}

ensure_user() {
  if ! id "$RIG_USER" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$RIG_USER"
  fi
  usermod -s /bin/bash -p '*' "$RIG_USER"
  local home; home="$(getent passwd "$RIG_USER" | cut -d: -f6)"
  # Login shells (bash -l) read /etc/profile, which resets PATH: put the stand-ins back in front.
  local line="case \":\$PATH:\" in *:$STANDIN_DIR:*) ;; *) PATH=\"$STANDIN_DIR:\$PATH\"; export PATH ;; esac # rigsweep-test"
  touch "$home/.profile"
  if ! grep -qF '# rigsweep-test' "$home/.profile"; then
    echo "$line" >>"$home/.profile"
    chown "$RIG_USER:" "$home/.profile"
  fi
}

install_shared() {
  mkdir -p "$STANDIN_DIR" "$(dirname "$ROCM_PY")" "$(dirname "$NVIDIA_PY")" "$RIG_MOUNT" /run/sshd
  mkdir -p -m 1777 "$NODE_STATE_DIR" # the mount point; localhost uses it as it is
  install -m 0755 "$FIXTURES/standins/sudo" "$STANDIN_DIR/sudo"
  install -m 0755 "$FIXTURES/standins/rocm-smi" "$STANDIN_DIR/rocm-smi"
  ln -sfn /usr/bin/python3 "$ROCM_PY"
  ln -sfn /usr/bin/python3 "$NVIDIA_PY"
}

# The JSON description (one line). /usr/bin/python3: root's python3 is a slow pyenv shim.
describe() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
(state, count, user, mount, rocm, nvidia, standins, prefix, ns_prefix) = sys.argv[1:]
home = f"{state}/home"
rigs = [{"index": i, "name": f"rig{i}", "address": f"{prefix}.{10 + i}", "netns": f"{ns_prefix}{i}",
         "hostDev": f"rswh{i}", "diskDir": f"{state}/rig{i}/disk", "workDir": f"{state}/rig{i}/disk/work",
         "scriptPath": f"{mount}/work", "callsLog": f"{state}/rig{i}/disk/calls.log"}
        for i in range(1, int(count) + 1)]
print(json.dumps({"stateDir": state, "home": home, "user": user, "localWorkDir": f"{state}/local/work",
                  "rocmPython": rocm, "nvidiaPython": nvidia, "identityFile": f"{home}/.ssh/id_ed25519",
                  "knownHostsFile": f"{home}/.ssh/known_hosts", "standinDir": standins, "rigs": rigs},
                 separators=(",", ":")))
PY
}

# Wait until rig I accepts a real OpenSSH login (host key checked against the hashed known_hosts).
wait_rig() {
  local state="$1" i="$2" addr="$SUBNET_PREFIX.$(($2 + 10))" deadline=$((SECONDS + 30))
  local home="$state/home"
  until ssh -F none -i "$home/.ssh/id_ed25519" -o UserKnownHostsFile="$home/.ssh/known_hosts" \
      -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=2 -o IdentitiesOnly=yes \
      "$RIG_USER@$addr" true 2>/dev/null; do
    if ! kill -0 "$(cat "$state/rig$i/sshd.launcher.pid")" 2>/dev/null || ((SECONDS > deadline)); then
      log "rig$i ($addr) does not accept ssh logins; sshd.log:"
      cat "$state/rig$i/sshd.log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

cmd_up() {
  local state count i
  state="$(state_dir_arg "${1:-}" 1)"
  count="${2:-}"
  [[ "$count" =~ ^[0-9]+$ ]] && ((count >= 1 && count <= 200)) || die "COUNT must be 1..200"
  local t0=$SECONDS

  teardown "$state"
  UP_STATE="$state"
  trap 'log "up failed, tearing down"; teardown "$UP_STATE"' EXIT
  # Fresh state (only our own sub-paths; never rm the state dir itself).
  rm -rf "$state"/rig[0-9]* "$state/home" "$state/local" "$state/authorized_keys" "$state/rigs.json"
  # sshd reads authorized_keys as the rig user: the state dir must be traversable (mkdtemp is 0700).
  chmod 0755 "$state"

  ensure_user
  install_shared

  # Client side.
  local home="$state/home"
  mkdir -p "$home/.ssh"
  chmod 0700 "$home/.ssh"
  ssh-keygen -q -t ed25519 -N '' -C rigsweep-test-client -f "$home/.ssh/id_ed25519"
  : >"$home/.ssh/config"
  install -m 0644 "$home/.ssh/id_ed25519.pub" "$state/authorized_keys"
  : >"$home/.ssh/known_hosts"

  mkdir -p "$state/local/work"
  cp "$FIXTURES/fake_trial.py" "$state/local/work/fake_trial.py"

  # Network: bridge on the host side.
  ip link add "$BRIDGE" type bridge forward_delay 0 stp_state 0
  ip link set "$BRIDGE" address "$BRIDGE_MAC"
  ip addr add "$HOST_ADDR/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up

  local ns addr dev dir disk
  for ((i = 1; i <= count; i++)); do
    ns="$NS_PREFIX$i"; addr="$SUBNET_PREFIX.$((10 + i))"; dev="rswh$i"; dir="$state/rig$i"; disk="$dir/disk"
    mkdir -p "$disk/work" "$dir/node-state"
    chmod 1777 "$dir/node-state"
    cp "$FIXTURES/fake_trial.py" "$disk/work/fake_trial.py"
    chown -R "$RIG_USER:" "$disk"

    add_netns_on_bridge "$ns" "$dev" "rswr$i" "$addr" "$BRIDGE"

    ssh-keygen -q -t ed25519 -N '' -C "rigsweep-test-rig$i" -f "$dir/ssh_host_ed25519_key"
    echo "$addr $(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >>"$home/.ssh/known_hosts"
    cat >"$dir/sshd_config" <<EOF
ListenAddress $addr:22
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $state/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $RIG_USER
UseDNS no
MaxSessions 10
LogLevel ERROR
SetEnv PATH=$STANDIN_DIR:/usr/local/bin:/usr/bin:/bin
Subsystem sftp internal-sftp
EOF
    # ip netns exec and unshare exec (no fork): $! is the sshd.
    nohup ip netns exec "$ns" unshare -m -u --propagation private \
      sh -c 'mount --bind "$1" "$2" && mount --bind "$5" "$6" && hostname "$3" && exec /usr/sbin/sshd -D -e -f "$4"' \
      sh "$disk" "$RIG_MOUNT" "rig$i" "$dir/sshd_config" "$dir/node-state" "$NODE_STATE_DIR" \
      </dev/null >>"$dir/sshd.log" 2>&1 9>&- &
    echo "$!" >"$dir/sshd.launcher.pid"

  done

  ssh-keygen -q -H -f "$home/.ssh/known_hosts" >/dev/null 2>&1
  rm -f "$home/.ssh/known_hosts.old"

  # Wait (in parallel) until every sshd accepts a real login.
  local waiters=() failed=0 w
  for ((i = 1; i <= count; i++)); do
    wait_rig "$state" "$i" &
    waiters+=("$!")
  done
  for w in "${waiters[@]}"; do wait "$w" || failed=1; done
  ((failed == 0)) || exit 1

  local json
  json="$(describe "$state" "$count" "$RIG_USER" "$RIG_MOUNT" "$ROCM_PY" "$NVIDIA_PY" "$STANDIN_DIR" "$SUBNET_PREFIX" "$NS_PREFIX")"
  trap - EXIT
  echo "$json" >"$state/rigs.json"
  log "$count rig(s) up in $((SECONDS - t0)) s"
  echo "$json"
}

cmd_down() {
  local state; state="$(state_dir_arg "${1:-}")"
  teardown "$state"
  rm -f "$state"/rig*/sshd.launcher.pid
}

link_cmd() {
  local state; state="$(state_dir_arg "${1:-}")"
  set_link rig rswh "${2:-}" "$3"
}

main() {
  local cmd="${1:-}"; shift || true
  [[ $EUID -eq 0 ]] || die "must run as root"
  # Serialise concurrent invocations of this script.
  exec 9>"$LOCK_FILE"
  flock 9
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    cut) link_cmd "${1:-}" "${2:-}" down ;;
    restore) link_cmd "${1:-}" "${2:-}" up ;;
    *) die "usage: rigs.sh up STATE_DIR COUNT | down STATE_DIR | cut STATE_DIR I | restore STATE_DIR I" ;;
  esac
}

main "$@"
