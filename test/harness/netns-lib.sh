# Helpers shared by rigs.sh and hosts.sh (sourced; each script defines its own log and die).

# Absolute STATE_DIR; created only when asked (create=1).
state_dir_arg() {
  [[ -n "${1:-}" ]] || die "STATE_DIR missing"
  if [[ "${2:-0}" == 1 ]]; then mkdir -p "$1"; fi
  if [[ ! -d "$1" ]]; then echo "$1"; return; fi
  local d; d="$(cd "$1" && pwd -P)"
  [[ "$d" != "/" ]] || die "refusing STATE_DIR=/"
  [[ "$d" != *[[:space:]]* ]] || die "STATE_DIR must not contain whitespace (it goes into config files and sh -c arguments)"
  echo "$d"
}

# Running and not a zombie (processes reparented to an init that may reap late).
is_alive() {
  local st
  st="$(cut -d')' -f2- "/proc/$1/stat" 2>/dev/null | awk '{print $1}')" || return 1
  [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

# Kill every process whose pid is given: TERM, wait up to ~1 s, then KILL.
kill_pids() {
  local pids=("$@") p alive i
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 10; i++)); do
    alive=()
    for p in "${pids[@]}"; do is_alive "$p" && alive+=("$p"); done
    ((${#alive[@]})) || return 0
    sleep 0.1
  done
  kill -KILL "${alive[@]}" 2>/dev/null || true
}

# Pids of every process in the network namespaces whose names match ^PREFIX[0-9]+$.
netns_pids() {
  local ns
  for ns in $(netns_named "$1"); do ip netns pids "$ns" 2>/dev/null || true; done
}

# Network namespaces whose names match ^PREFIX[0-9]+$ (names are global: crashed runs' too).
netns_named() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$1[0-9]+\$" || true
}

# Deletes the network namespaces matching ^PREFIX[0-9]+$ and the links matching the regex LINKS.
delete_netns_and_links() {
  local ns dev
  for ns in $(netns_named "$1"); do ip netns del "$ns" 2>/dev/null || true; done
  for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "$2" || true); do
    ip link del "$dev" 2>/dev/null || true
  done
}

# Link <DEV_PREFIX><INDEX> goes up or down: a rig's or a host's cable, cut or restored.
set_link() {
  local what="$1" idx="$3" dev
  [[ "$idx" =~ ^[0-9]+$ ]] || die "$what index missing"
  dev="$2$idx"
  ip link show "$dev" >/dev/null 2>&1 || die "no such $what link $dev (is $what $idx up?)"
  ip link set "$dev" "$4"
}

# A network namespace NS on BRIDGE: veth HOST_DEV (bridge port) <-> PEER_DEV, renamed eth0 with ADDR/24 inside.
add_netns_on_bridge() {
  local ns="$1" dev="$2" peer="$3" addr="$4" bridge="$5"
  ip netns add "$ns"
  ip link add "$dev" type veth peer name "$peer"
  ip link set "$peer" netns "$ns"
  ip -n "$ns" link set "$peer" name eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip link set "$dev" master "$bridge"
  ip link set "$dev" up
}
