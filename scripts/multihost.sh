#!/usr/bin/env bash
# Emulates several hosts on one machine with network namespaces, so that the
# distributed cascade (one client, N `dnoscope serve` reference servers) can be
# tested with real addresses, delay, loss and dying servers. Needs root.
#
# Topology (everything lives in namespaces named <prefix>-*; NOTHING in the
# root namespace changes: no bridge, no route, no iptables rule, no link):
#
#   <prefix>-client  eth0 10.213.0.1/24  ─┐
#   <prefix>-s1      eth0 10.213.0.11/24 ─┤  <prefix>-net: the "switch"
#   <prefix>-sN      eth0 10.213.0.(10+N) ┘
#
# The switch is a Linux bridge in <prefix>-net with one veth pair per host;
# --delay-ms / --loss-pct are applied with `tc qdisc ... netem` on each
# server's eth0, egress only, so the delay is added once per round trip
# (server -> client). Applying it on both ends would double the RTT.
#
# Kernels without sch_netem (CONFIG_NET_SCH_NETEM unset, as on this project's
# CI VM, whose kernel also lacks fq/etf, so no in-kernel delay is possible)
# get the userspace link emulator instead (--link userspace, or auto): each
# host's eth0 is a TAP device whose frames a small Python hub, running in
# <prefix>-net, forwards after the same per-server egress delay and loss.
#
# State (pid files, server logs) goes to $DNS_NETNS_STATE_DIR, default
# ${TMPDIR:-/tmp}/dnoscope-multihost-<prefix> (removed by `down`; a directory
# given explicitly is left to its owner, with the logs in it).
set -euo pipefail

PREFIX="${DNS_NETNS_PREFIX:-dnsmh}"
SUBNET="10.213.0"
CLIENT_ADDR="$SUBNET.1"
DEFAULT_STATE=""
STATE=""
set_prefix() {  # prefix; the state directory follows it
  PREFIX="$1"
  DEFAULT_STATE="${TMPDIR:-/tmp}/dnoscope-multihost-$PREFIX"
  STATE="${DNS_NETNS_STATE_DIR:-$DEFAULT_STATE}"
}
set_prefix "$PREFIX"
SERVE_TIMEOUT_S="${DNS_NETNS_SERVE_TIMEOUT_S:-60}"

usage() {
  cat <<EOF
usage: [DNS_NETNS_PREFIX=<prefix>] $0 [--prefix <prefix>] <command> [args]

Emulates a client and N servers in network namespaces <prefix>-client,
<prefix>-s1..sN (prefix default: dnsmh; letters, digits, '_' and '-').

commands:
  check                       exit 0 if namespaces can be created here (root,
                              'ip netns add' works), else say why and exit 2;
                              also reports whether netem is available
  up --servers N [--delay-ms D] [--loss-pct P] [--link auto|kernel|userspace]
                              create the topology (client $CLIENT_ADDR, server i
                              $SUBNET.(10+i)); D ms delay and P% loss on each
                              server's egress (one delay per round trip).
                              --link kernel: bridge, veths and netem; userspace:
                              TAPs and the Python hub; auto (default): kernel
                              unless delay/loss is asked for and the kernel
                              lacks netem; prints
                              'export' lines with the addresses
  serve <i> <dnoscope> <repo> <port> [extra serve args]
                              start 'dnoscope serve' in <prefix>-s<i> on
                              $SUBNET.(10+i):<port> in the background (log
                              \$STATE/s<i>.log); returns once /v2/health/ready
                              answers 200 from the client namespace
  kill <i> [signal]           send signal (default TERM) to server i and wait
                              until it has exited
  exec-client <cmd...>        run a command in the client namespace
  down                        stop the servers and delete the namespaces
                              (idempotent; safe after a partial 'up')

environment:
  DNS_NETNS_PREFIX            namespace prefix (default dnsmh)
  DNS_NETNS_LINK              default for up --link (auto)
  DNS_NETNS_STATE_DIR         pid files and logs (default
                              \${TMPDIR:-/tmp}/dnoscope-multihost-<prefix>)
  DNS_NETNS_SERVE_TIMEOUT_S   how long 'serve' waits for readiness (default 60)
EOF
}

die() {
  echo "multihost: $*" >&2
  exit 1
}

check_prefix() {
  [[ "$PREFIX" =~ ^[A-Za-z0-9_][A-Za-z0-9_-]{0,29}$ ]] ||
    die "bad DNS_NETNS_PREFIX '$PREFIX' (1-30 of [A-Za-z0-9_-])"
}

require_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
  command -v ip >/dev/null || die "'ip' (iproute2) not found"
}

client_ns() { echo "$PREFIX-client"; }
net_ns() { echo "$PREFIX-net"; }
server_ns() { echo "$PREFIX-s$1"; }
server_addr() { echo "$SUBNET.$((10 + $1))"; }

ns_exists() { [ -e "/run/netns/$1" ]; }

# Our namespaces, from `ip netns list` ("name" or "name (id: N)").
our_namespaces() {
  ip netns list 2>/dev/null | awk '{print $1}' |
    grep -E "^$PREFIX-(client|net|s[0-9]+)\$" || true
}

# True while `pid` runs (a zombie counts as exited: servers are orphans that
# an init without reaping may leave as zombies).
alive() {
  local pid="$1" state
  [ -r "/proc/$pid/stat" ] || return 1
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

wait_exit() {  # pid timeout_s -> 0 when exited in time
  local pid="$1" deadline=$((SECONDS + $2))
  while alive "$pid"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

netem_available() {  # namespace to probe in (its lo is borrowed briefly)
  if ip netns exec "$1" tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
    ip netns exec "$1" tc qdisc del dev lo root 2>/dev/null || true
    return 0
  fi
  return 1
}

cmd_check() {
  if [ "$(id -u)" != 0 ]; then
    echo "multihost: not root (uid $(id -u)); network namespaces need root" >&2
    exit 2
  fi
  if ! command -v ip >/dev/null; then
    echo "multihost: 'ip' (iproute2) not found" >&2
    exit 2
  fi
  local probe="$PREFIX-check$$" err
  if ! err="$(ip netns add "$probe" 2>&1)"; then
    echo "multihost: 'ip netns add' failed: $err" >&2
    exit 2
  fi
  # shellcheck disable=SC2064  # expand now: $probe is local
  trap "ip netns del '$probe' 2>/dev/null || true" EXIT
  if ! err="$(ip -n "$probe" link add name vc0 type veth peer name vc1 2>&1)"; then
    echo "multihost: cannot create veth pairs in a namespace: $err" >&2
    exit 2
  fi
  if netem_available "$probe"; then
    echo "netem: available"
  elif [ -c /dev/net/tun ] && command -v python3 >/dev/null; then
    echo "netem: not in this kernel; --delay-ms/--loss-pct use the userspace emulator"
  else
    echo "netem: not in this kernel, and no /dev/net/tun + python3 for the userspace" \
      "emulator; --delay-ms/--loss-pct unavailable"
  fi
  echo "ok: network namespaces work"
}

# The userspace link emulator: a learning switch over TAP devices that holds
# each frame from port i for delay_i and drops it with probability loss_i.
# Arguments: ready_file then one name:delay_ms:loss_pct per port.
write_hub() {
  cat >"$1" <<'PY'
import fcntl, heapq, os, random, select, struct, sys, time

TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000

def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd

ports = []
for spec in sys.argv[2:]:
    name, delay_ms, loss_pct = spec.split(":")
    ports.append((open_tap(name), float(delay_ms) / 1000.0, float(loss_pct) / 100.0))
with open(sys.argv[1], "w") as f:
    f.write("ready\n")
index = {fd: i for i, (fd, _, _) in enumerate(ports)}
poller = select.poll()
for fd, _, _ in ports:
    poller.register(fd, select.POLLIN)
mac_port, queue, seq = {}, [], 0
while True:
    timeout = None
    if queue:
        timeout = max(0, int((queue[0][0] - time.monotonic()) * 1000) + 1)
    for fd, _ in poller.poll(timeout):
        i = index[fd]
        _, delay, loss = ports[i]
        while True:
            try:
                frame = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                break
            if len(frame) < 14 or (loss > 0 and random.random() < loss):
                continue
            mac_port[frame[6:12]] = i
            heapq.heappush(queue, (time.monotonic() + delay, seq, i, frame))
            seq += 1
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        _, _, i, frame = heapq.heappop(queue)
        out = mac_port.get(frame[0:6])
        if frame[0] & 1 or out is None:
            targets = [j for j in range(len(ports)) if j != i]
        else:
            targets = [out] if out != i else []
        for j in targets:
            try:
                os.write(ports[j][0], frame)
            except OSError:
                pass  # link down or queue full: the frame is lost, as on a wire
PY
}

# Host namespace `ns` gets eth0 = the TAP device `tap` (created by the hub
# in the switch namespace), with address `addr`.
attach_tap() {
  local tap="$1" ns="$2" addr="$3"
  ip -n "$(net_ns)" link set "$tap" netns "$ns"
  ip -n "$ns" link set "$tap" name eth0
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
}

up_userspace() {
  local servers="$1" delay="$2" loss="$3" i specs=("c0:0:0")
  command -v python3 >/dev/null || die "the userspace emulator needs python3"
  [ -c /dev/net/tun ] || die "the userspace emulator needs /dev/net/tun"
  for ((i = 1; i <= servers; i++)); do specs+=("s$i:$delay:$loss"); done
  write_hub "$STATE/hub.py"
  rm -f "$STATE/hub.ready"
  ip netns exec "$(net_ns)" python3 "$STATE/hub.py" "$STATE/hub.ready" "${specs[@]}" \
    </dev/null >"$STATE/hub.log" 2>&1 &
  echo $! >"$STATE/hub.pid"
  local deadline=$((SECONDS + 20))
  until [ -e "$STATE/hub.ready" ]; do
    alive "$(cat "$STATE/hub.pid")" || die "link emulator failed: $(tail -5 "$STATE/hub.log")"
    [ "$SECONDS" -lt "$deadline" ] || die "link emulator not ready after 20 s"
    sleep 0.05
  done
  attach_tap c0 "$(client_ns)" "$CLIENT_ADDR"
  for ((i = 1; i <= servers; i++)); do
    attach_tap "s$i" "$(server_ns "$i")" "$(server_addr "$i")"
  done
}

# Host namespace `ns` gets eth0, the far end of veth `port` on the bridge.
attach_veth() {
  local port="$1" ns="$2" addr="$3" net
  net="$(net_ns)"
  ip -n "$net" link add name "$port" type veth peer name eth0 netns "$ns"
  ip -n "$net" link set "$port" master br0
  ip -n "$net" link set "$port" up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
}

up_bridge() {
  local servers="$1" delay="$2" loss="$3" i ns netem
  ip -n "$(net_ns)" link add name br0 type bridge
  ip -n "$(net_ns)" link set br0 up
  attach_veth c0 "$(client_ns)" "$CLIENT_ADDR"
  for ((i = 1; i <= servers; i++)); do
    ns="$(server_ns "$i")"
    attach_veth "s$i" "$ns" "$(server_addr "$i")"
    if [ "$delay" != 0 ] || [ "$loss" != 0 ]; then
      # Egress of the server only: +delay once per round trip.
      netem=(netem delay "${delay}ms")
      [ "$loss" = 0 ] || netem+=(loss "${loss}%")
      ip netns exec "$ns" tc qdisc add dev eth0 root "${netem[@]}"
    fi
  done
}

cmd_up() {
  local servers="" delay=0 loss=0 link="${DNS_NETNS_LINK:-auto}" i
  while [ $# -gt 0 ]; do
    case "$1" in
      --servers) servers="${2:?--servers needs a value}"; shift 2 ;;
      --delay-ms) delay="${2:?--delay-ms needs a value}"; shift 2 ;;
      --loss-pct) loss="${2:?--loss-pct needs a value}"; shift 2 ;;
      --link) link="${2:?--link needs a value}"; shift 2 ;;
      --prefix) set_prefix "${2:?--prefix needs a value}"; shift 2 ;;
      -h | --help) usage; exit 0 ;;
      *) die "up: unknown argument '$1' (see --help)" ;;
    esac
  done
  check_prefix
  if ! [[ "$servers" =~ ^[0-9]+$ ]] || [ "$servers" -lt 1 ] || [ "$servers" -gt 200 ]; then
    die "up: --servers N with 1 <= N <= 200 is required"
  fi
  [[ "$delay" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "up: --delay-ms must be a number >= 0"
  [[ "$loss" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "up: --loss-pct must be a number >= 0"
  case "$link" in auto | kernel | userspace) ;; *) die "up: --link auto|kernel|userspace" ;; esac
  [ -z "$(our_namespaces)" ] || die "namespaces with prefix '$PREFIX' exist; run 'down' first"
  mkdir -p "$STATE"
  # A failed 'up' leaves nothing behind.
  trap 'echo "multihost: up failed; cleaning up" >&2; cmd_down >/dev/null 2>&1 || true' EXIT

  ip netns add "$(net_ns)"
  ip netns add "$(client_ns)"
  for ((i = 1; i <= servers; i++)); do ip netns add "$(server_ns "$i")"; done
  for ns in $(our_namespaces); do ip -n "$ns" link set lo up; done

  local shaped=0
  if [ "$delay" != 0 ] || [ "$loss" != 0 ]; then shaped=1; fi
  if [ "$link" != userspace ] && [ "$shaped" = 1 ] && ! netem_available "$(net_ns)"; then
    [ "$link" = auto ] ||
      die "up: this kernel has no netem (CONFIG_NET_SCH_NETEM); use --link userspace or auto"
    link=userspace
  fi
  [ "$link" != auto ] || link=kernel
  if [ "$link" = kernel ]; then
    up_bridge "$servers" "$delay" "$loss"
  else
    up_userspace "$servers" "$delay" "$loss"
  fi
  trap - EXIT
  echo "$link" >"$STATE/link"

  local list=""
  echo "# multihost '$PREFIX': $servers servers, delay ${delay} ms, loss ${loss}%, link $link"
  echo "export DNS_NETNS_PREFIX=$PREFIX"
  echo "export DNS_MH_LINK=$link"
  echo "export DNS_MH_CLIENT=$CLIENT_ADDR"
  for ((i = 1; i <= servers; i++)); do
    echo "export DNS_MH_S$i=$(server_addr "$i")"
    list="${list:+$list,}$(server_addr "$i")"
  done
  echo "export DNS_MH_SERVERS=$list"
}

cmd_serve() {
  [ $# -ge 4 ] || die "usage: serve <i> <dnoscope> <repo> <port> [extra serve args]"
  local i="$1" bin="$2" repo="$3" port="$4"
  shift 4
  [[ "$i" =~ ^[0-9]+$ ]] || die "serve: bad server index '$i'"
  [[ "$port" =~ ^[0-9]+$ ]] || die "serve: bad port '$port'"
  local ns addr pidf log
  ns="$(server_ns "$i")"
  addr="$(server_addr "$i")"
  pidf="$STATE/s$i.pid"
  log="$STATE/s$i.log"
  ns_exists "$ns" || die "serve: namespace $ns does not exist (run 'up' first)"
  [ -x "$bin" ] || die "serve: '$bin' is not an executable"
  if [ -e "$pidf" ] && alive "$(cat "$pidf")"; then
    die "serve: server $i already runs (pid $(cat "$pidf"))"
  fi
  mkdir -p "$STATE"
  # `ip netns exec` execs the server, so $! is the server's pid.
  ip netns exec "$ns" "$bin" serve --model-repository "$repo" --host "$addr" \
    --http-port "$port" "$@" </dev/null >"$log" 2>&1 &
  local pid=$!
  echo "$pid" >"$pidf"
  local url="http://$addr:$port/v2/health/ready" code deadline=$((SECONDS + SERVE_TIMEOUT_S))
  while true; do
    alive "$pid" || die "serve: server $i exited during startup; log $log:
$(tail -20 "$log")"
    code="$(ip netns exec "$(client_ns)" curl -s -o /dev/null -w '%{http_code}' \
      --max-time 2 "$url" 2>/dev/null || true)"
    [ "$code" = 200 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      die "serve: $url not ready after ${SERVE_TIMEOUT_S} s (last status '$code'); log $log:
$(tail -20 "$log")"
    fi
    sleep 0.1
  done
  echo "server $i ready at http://$addr:$port (pid $pid, log $log)"
}

cmd_kill() {
  [ $# -ge 1 ] || die "usage: kill <i> [signal]"
  local i="$1" sig="${2:-TERM}" pidf pid
  pidf="$STATE/s$i.pid"
  [ -e "$pidf" ] || die "kill: no server $i (no $pidf)"
  pid="$(cat "$pidf")"
  if alive "$pid"; then
    kill -s "$sig" "$pid" || die "kill: could not signal pid $pid"
    # SIGTERM drains requests in flight; allow for that.
    wait_exit "$pid" 30 || die "kill: server $i (pid $pid) still runs 30 s after SIG$sig"
  fi
  rm -f "$pidf"
  echo "server $i (pid $pid) stopped"
}

cmd_exec_client() {
  [ $# -ge 1 ] || die "usage: exec-client <cmd...>"
  ns_exists "$(client_ns)" || die "exec-client: namespace $(client_ns) does not exist"
  exec ip netns exec "$(client_ns)" "$@"
}

# Stops every process in our namespaces (servers, the link emulator, and
# anything started with exec-client), then deletes the namespaces.
cmd_down() {
  check_prefix
  local ns pids pid
  local all=()
  for ns in $(our_namespaces); do
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    for pid in $pids; do
      kill -TERM "$pid" 2>/dev/null || true
      all+=("$pid")
    done
  done
  for pid in "${all[@]}"; do
    wait_exit "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${all[@]}"; do wait_exit "$pid" 5 || true; done
  for ns in $(our_namespaces); do
    ip netns del "$ns" 2>/dev/null || echo "multihost: could not delete $ns" >&2
  done
  rm -f "$STATE"/*.pid "$STATE/hub.ready" 2>/dev/null || true
  if [ "$STATE" = "$DEFAULT_STATE" ]; then rm -rf "$STATE"; fi
  local left
  left="$(our_namespaces)"
  [ -z "$left" ] || die "down: namespaces left: $left"
  echo "multihost '$PREFIX' down"
}

main() {
  if [ "${1:-}" = --prefix ]; then
    set_prefix "${2:?--prefix needs a value}"
    shift 2
  fi
  [ $# -ge 1 ] || { usage >&2; exit 1; }
  local cmd="$1"
  shift
  case "$cmd" in
    -h | --help | help) usage ;;
    check) cmd_check ;;
    up) require_root; cmd_up "$@" ;;
    serve) require_root; check_prefix; cmd_serve "$@" ;;
    kill) check_prefix; cmd_kill "$@" ;;
    exec-client) require_root; check_prefix; cmd_exec_client "$@" ;;
    down) require_root; cmd_down ;;
    *) echo "multihost: unknown command '$cmd'" >&2; usage >&2; exit 1 ;;
  esac
}

main "$@"
