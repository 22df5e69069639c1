# shellcheck shell=bash
# Helpers shared by scripts/services and scripts/cluster: logging, the
# KEY=VALUE state file, loopback port probing and process checks. Sourced,
# never run; the sourcing script sets LOG_TAG (its name in log lines) and
# STATE (its state directory) first.

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
die() {
  printf '[%s] error: %s\n' "$LOG_TAG" "$*" >&2
  exit 1
}

# show_log FILE: the tail of a process's log, printed when it fails.
show_log() {
  [ -f "$1" ] || return 0
  printf '[%s] ---- last lines of %s ----\n' "$LOG_TAG" "$1" >&2
  tail -n 40 "$1" >&2
  printf '[%s] ----\n' "$LOG_TAG" >&2
}

is_root() { [ "$(id -u)" -eq 0 ]; }
as_root() { if is_root; then "$@"; else sudo "$@"; fi; }

# Remembered values (the chosen ports, the Kafka cluster's size) live in
# $STATE/ports as KEY=VALUE lines, so a second run finds what is running.
state_get() {
  if [ -f "$STATE/ports" ]; then sed -n "s/^$1=//p" "$STATE/ports" | tail -n 1; fi
}
state_set() {
  { if [ -f "$STATE/ports" ]; then grep -v "^$1=" "$STATE/ports" || true; fi
    [ -z "$2" ] || echo "$1=$2"; } >"$STATE/ports.tmp"
  mv "$STATE/ports.tmp" "$STATE/ports"
}

# port_free PORT: nothing listens on 127.0.0.1:PORT. Bound with SO_REUSEADDR,
# as the servers bind, so a connection in TIME_WAIT does not count as taken.
port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# pick_port BASE: sets PORT to the first free port from BASE up that is
# neither handed out earlier in this run nor remembered in $STATE/ports for
# another of our processes (which may be stopped for now).
RESERVED=" "
pick_port() {
  local p=$1 remembered
  remembered=" $(if [ -f "$STATE/ports" ]; then sed -n 's/^[A-Z_0-9]*PORT[_0-9]*=//p' "$STATE/ports"; fi | tr '\n' ' ') "
  while [ "$p" -lt $(($1 + 1000)) ]; do
    if [[ "$RESERVED" != *" $p "* && "$remembered" != *" $p "* ]] && port_free "$p"; then
      RESERVED+="$p "
      # shellcheck disable=SC2034 # the answer, read by the caller
      PORT=$p
      return 0
    fi
    p=$((p + 1))
  done
  die "no free port on 127.0.0.1 in $1..$(($1 + 999))"
}

# alive PID: the process exists and is not a zombie.
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# pid_running PIDFILE PATTERN: the pid in PIDFILE is alive and its command
# line contains PATTERN (a pid file can outlive its process, and the pid be
# reused by something else).
pid_running() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# wait_gone PID SECONDS: wait until the process has exited; 1 if it has not.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
