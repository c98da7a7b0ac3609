#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions called indirectly (trap, launch STARTER)
# bench/run.sh: load_balancer vs nginx vs HAProxy as HTTP/1.1 reverse proxies, plus a direct
# baseline, with wrk on 127.0.0.1. Prints req/s, p99 latency and ratios (see bench/README.md).
#
# usage: bench/run.sh [--quick] [--duration D] [--warmup D] [--conns "1 50 256"]
#                     [--origin auto|backend1|nginx] [--out FILE] [--keep]
#   --duration D   length of each measured wrk run (default 10s; wrk syntax: 5s, 1m, 30)
#   --warmup D     wrk warm-up before each measured run, not counted (default 2s)
#   --quick        smoke run: --duration 2s --warmup 1s (an explicit --duration/--warmup wins)
#   --conns LIST   connection counts, space or comma separated (default "1 50 256")
#   --origin KIND  origin server: backend1 (build/run/backend1), nginx, or auto (default:
#                  measure both briefly and keep the faster one that answers without errors)
#   --out FILE     also write the results as key=value lines to FILE
#   --keep         keep the temp dir (configs, logs, raw wrk output) and print its path
# Environment: LB_BIN_DIR (default build/run) holds load_balancer and backend1.
# Exit status: 0 on success; 1 if a case could not run or got non-2xx answers; 2 bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/bench
BIN_DIR=${LB_BIN_DIR:-$ROOT/build/run}

DURATION="" WARMUP="" OUT="" ORIGIN_KIND=auto KEEP=0 QUICK=0
CONNS=(1 50 256)

usage() { sed -n '/^# usage:/,/^# Exit status/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() {
  echo "bench/run.sh: $*" >&2
  exit 1
}
bad_usage() {
  echo "bench/run.sh: $*" >&2
  usage >&2
  exit 2
}
need_arg() { if (($# < 2)) || [[ -z $2 ]]; then bad_usage "$1 needs a value"; fi; }

while (($#)); do
  case $1 in
    --duration) need_arg "$@"; DURATION=$2; shift 2 ;;
    --duration=*) DURATION=${1#*=}; shift ;;
    --warmup) need_arg "$@"; WARMUP=$2; shift 2 ;;
    --warmup=*) WARMUP=${1#*=}; shift ;;
    --quick) QUICK=1; shift ;;
    --conns) need_arg "$@"; read -ra CONNS <<<"${2//,/ }"; shift 2 ;;
    --conns=*) v=${1#*=}; read -ra CONNS <<<"${v//,/ }"; shift ;;
    --origin) need_arg "$@"; ORIGIN_KIND=$2; shift 2 ;;
    --origin=*) ORIGIN_KIND=${1#*=}; shift ;;
    --out) need_arg "$@"; OUT=$2; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) bad_usage "unknown argument '$1'" ;;
  esac
done
if ((QUICK)); then
  DURATION=${DURATION:-2s} WARMUP=${WARMUP:-1s}
fi
DURATION=${DURATION:-10s} WARMUP=${WARMUP:-2s}
for d in "$DURATION" "$WARMUP"; do
  [[ $d =~ ^[0-9]+[smh]?$ ]] || bad_usage "bad duration '$d' (expected e.g. 10s, 1m, 30)"
done
[[ $WARMUP =~ ^0+[smh]?$ ]] && WARMUP=""   # --warmup 0 disables the warm-up
((${#CONNS[@]})) || bad_usage "--conns needs at least one number"
for c in "${CONNS[@]}"; do
  [[ $c =~ ^[1-9][0-9]*$ ]] || bad_usage "bad connection count '$c'"
done
case $ORIGIN_KIND in auto | backend1 | nginx) ;; *) bad_usage "bad --origin '$ORIGIN_KIND'" ;; esac
[[ -z $OUT ]] || : >"$OUT" || die "cannot write $OUT"

for tool in wrk nginx haproxy curl python3 setsid; do
  command -v "$tool" >/dev/null ||
    die "$tool not found (./bootstrap bench installs wrk, nginx, haproxy and util-linux)"
done
[[ -x $BIN_DIR/load_balancer ]] ||
  die "$BIN_DIR/load_balancer not built (./bootstrap bench builds it)"

# --- CPU pinning: the proxy alone on one CPU, wrk and the origins on another. ---------------
mapfile -t CPUS < <(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)), sep="\n")')
PROXY_PIN=() LOAD_PIN=()
if ((${#CPUS[@]} >= 2)) && command -v taskset >/dev/null; then
  PROXY_PIN=(taskset -c "${CPUS[0]}")
  LOAD_PIN=(taskset -c "${CPUS[1]}")
  PIN_DESC="proxy under test on CPU ${CPUS[0]}; wrk and origins on CPU ${CPUS[1]}"
else
  PIN_DESC="NOT pinned (${#CPUS[@]} CPU usable or no taskset): proxy, wrk and origins share CPUs"
  echo "bench/run.sh: warning: $PIN_DESC; numbers are less meaningful" >&2
fi

# --- Processes and clean-up. Each process gets its own session (setsid execs in place, so the
# pid is the process group id) and is ended by that id with its children (nginx workers). ---
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lb-bench.XXXXXX")
chmod 755 "$WORK" # nginx workers may run as another user
PIDS=()

stop_pids() {
  local pid i alive
  for pid in "$@"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do # up to 5 s for a graceful exit
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# stop PID...: end these processes and forget them.
stop() {
  local pid keep=() p
  stop_pids "$@"
  for p in "${PIDS[@]}"; do
    for pid in "$@"; do [[ $p == "$pid" ]] && continue 2; done
    keep+=("$p")
  done
  PIDS=("${keep[@]}")
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  ((${#PIDS[@]} == 0)) || stop_pids "${PIDS[@]}"
  if ((KEEP)); then
    echo "bench/run.sh: configs, logs and raw wrk output kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_proc LOG CMD...: start CMD in the background in its own session; sets LAST_PID.
# LOG is $WORK/NAME.log for the NAME given to launch.
start_proc() {
  local log=$1
  shift
  setsid "$@" >"$log" 2>&1 </dev/null &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_ready URL PID NAME: poll URL until it answers 2xx: at most 100 tries, 0.1 s apart,
# and 10 s in all (a server that accepts but never answers costs 0.5 s per try).
wait_ready() {
  local url=$1 pid=$2 name=$3 i deadline=$((SECONDS + 10))
  for ((i = 0; i < 100 && SECONDS < deadline; i++)); do
    if curl -sf --noproxy '*' --max-time 0.5 -o /dev/null "$url"; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench/run.sh: $name exited during start-up" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "bench/run.sh: $name did not answer 2xx at $url within 10 s" >&2
  return 1
}

# launch NAME STARTER [ARGS...]: pick a free port, run "STARTER PORT ARGS..." (which calls
# start_proc) and wait until http://127.0.0.1:PORT/ answers; retries with a new port when the
# port was taken between picking and binding ("Address already in use" in the log).
# Sets LAUNCH_PORT and LAUNCH_PID.
launch() {
  local name=$1 starter=$2 attempt port
  shift 2
  for attempt in 1 2 3; do
    port=$(free_port)
    "$starter" "$port" "$@"
    if wait_ready "http://127.0.0.1:$port/" "$LAST_PID" "$name"; then
      LAUNCH_PORT=$port LAUNCH_PID=$LAST_PID
      return 0
    fi
    stop "$LAST_PID"
    if ((attempt < 3)) && grep -qi 'in use' "$WORK/$name.log" 2>/dev/null; then
      echo "bench/run.sh: $name: port $port was taken, trying another" >&2
      continue
    fi
    if [[ -s $WORK/$name.log ]]; then
      echo "bench/run.sh: $name: last lines of its log:" >&2
      tail -n 5 "$WORK/$name.log" | sed 's/^/    /' >&2
    fi
    return 1
  done
  return 1
}

# render TEMPLATE OUT KEY=VALUE...: copy bench/TEMPLATE to OUT, replacing each @KEY@.
render() {
  local tpl=$1 out=$2 kv
  shift 2
  local args=()
  for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${args[@]}" "$BENCH_DIR/$tpl" >"$out"
  ! grep -q '@[A-Z0-9_]*@' "$out" || die "$tpl: unreplaced placeholder in $out"
}

# --- Starters: STARTER PORT [INDEX]. --------------------------------------------------------
start_origin_backend1() {
  start_proc "$WORK/origin$2.log" "${LOAD_PIN[@]}" "$BIN_DIR/backend1" \
    --port "$1" --listen 127.0.0.1 --id "origin$2" -l warn
}
start_origin_nginx() {
  local dir=$WORK/nginx-origin$2
  mkdir -p "$dir"
  render nginx-origin.conf.in "$dir/nginx.conf" "DIR=$dir" "PORT=$1"
  start_proc "$WORK/origin$2.log" "${LOAD_PIN[@]}" nginx -p "$dir" -e "$dir/error.log" \
    -c "$dir/nginx.conf" -g 'daemon off;'
}
start_lb() {
  # One worker process, as nginx and HAProxy get one (mp is the default mode).
  start_proc "$WORK/lb.log" "${PROXY_PIN[@]}" "$BIN_DIR/load_balancer" -p "$1" -w 1 \
    --listen 127.0.0.1 -l warn -b "$ORIGIN1" -b "$ORIGIN2"
}
start_nginx() {
  local dir=$WORK/nginx-proxy
  mkdir -p "$dir"
  render nginx-proxy.conf.in "$dir/nginx.conf" "DIR=$dir" "PORT=$1" \
    "ORIGIN1=$ORIGIN1" "ORIGIN2=$ORIGIN2"
  start_proc "$WORK/nginx.log" "${PROXY_PIN[@]}" nginx -p "$dir" -e "$dir/error.log" \
    -c "$dir/nginx.conf" -g 'daemon off;'
}
start_haproxy() {
  render haproxy.cfg.in "$WORK/haproxy.cfg" "PORT=$1" "ORIGIN1=$ORIGIN1" "ORIGIN2=$ORIGIN2"
  start_proc "$WORK/haproxy.log" "${PROXY_PIN[@]}" haproxy -f "$WORK/haproxy.cfg" -db
}

# --- wrk. -------------------------------------------------------------------------------------
# run_wrk OUTFILE CONNS DURATION URL
run_wrk() {
  "${LOAD_PIN[@]}" wrk -t1 -c "$2" -d "$3" --latency "$4" >"$1" 2>&1
}

# parse_wrk FILE: prints "rps p99_ms requests non2xx connect read write timeout"
# (rps/p99 "NA" when missing). p99 comes from the --latency distribution, in ms.
parse_wrk() {
  awk '
    function ms(v,   n, u) {
      if (!match(v, /^[0-9.]+/)) return "NA"
      n = substr(v, 1, RLENGTH); u = substr(v, RLENGTH + 1)
      if (u == "us") return n / 1000
      if (u == "ms" || u == "") return n + 0
      if (u == "s") return n * 1000
      if (u == "m") return n * 60000
      if (u == "h") return n * 3600000
      return "NA"
    }
    /^Requests\/sec:/ { rps = $2 }
    /^[ \t]+99%/ { p99 = ms($2) }
    / requests in / { reqs = $1 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { gsub(",", ""); c = $4; r = $6; w = $8; t = $10 }
    END {
      printf "%s %s %s %d %d %d %d %d\n", (rps == "" ? "NA" : rps), (p99 == "" ? "NA" : p99),
        (reqs == "" ? 0 : reqs), non2xx, c, r, w, t
    }' "$1"
}

# ratio A B: A/B with 2 decimals; num V FORMAT: printf V; both pass "NA" through.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.2f\n", a / b }'; }
num() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "NA") print "NA"; else printf f "\n", v }'; }

FAILED=0
NOTES=()
declare -A RPS P99

# measure CASE URL CHECK_PIDS...: wrk at each connection count; CHECK_PIDS must stay alive.
measure() {
  local name=$1 url=$2 c f rc rps p99 reqs non2xx ce re we te note pid
  shift 2
  for c in "${CONNS[@]}"; do
    RPS[$name,$c]=NA P99[$name,$c]=NA
    f=$WORK/wrk-$name-c$c.txt
    if [[ -n $WARMUP ]]; then run_wrk "$f.warmup" "$c" "$WARMUP" "$url" || true; fi
    rc=0
    run_wrk "$f" "$c" "$DURATION" "$url" || rc=$?
    read -r rps p99 reqs non2xx ce re we te < <(parse_wrk "$f")
    note=""
    if ((rc != 0)) || [[ $rps == NA ]]; then
      note="wrk failed (exit $rc): $(tail -n 1 "$f")"
      FAILED=1
    else
      RPS[$name,$c]=$rps P99[$name,$c]=$p99
      if ((non2xx)); then
        note="$non2xx non-2xx/3xx of $reqs responses"
        FAILED=1
      fi
      if ((ce + re + we + te)); then
        note="${note:+$note; }socket errors: connect $ce, read $re, write $we, timeout $te"
      fi
    fi
    for pid in "$@"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        note="${note:+$note; }a process of this case died (see logs; --keep keeps them)"
        FAILED=1
      fi
    done
    printf '  %-8s c=%-4s %8s req/s  p99 %8s ms%s\n' "$name" "$c" "$(num "${RPS[$name,$c]}" %.0f)" \
      "$(num "${P99[$name,$c]}" %.2f)" "${note:+  ! $note}"
    RESULT_LINES+=("case=$name conns=$c rps=${RPS[$name,$c]} p99_ms=${P99[$name,$c]} requests=$reqs non2xx=$non2xx errors_connect=$ce errors_read=$re errors_write=$we errors_timeout=$te")
    if [[ -n $note ]]; then NOTES+=("$name c=$c: $note"); fi
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null || return 0; done
  done
}

# --- Origins. ---------------------------------------------------------------------------------
ORIGIN_PIDS=() ORIGIN1="" ORIGIN2=""

# start_origins KIND: two instances; sets ORIGIN_PIDS, ORIGIN1, ORIGIN2.
start_origins() {
  local kind=$1 i
  ORIGIN_PIDS=()
  for i in 1 2; do
    if [[ $kind == backend1 && ! -x $BIN_DIR/backend1 ]]; then
      echo "bench/run.sh: $BIN_DIR/backend1 not built" >&2
      return 1
    fi
    if ! launch "origin$i" "start_origin_$kind" "$i"; then
      ((${#ORIGIN_PIDS[@]} == 0)) || stop "${ORIGIN_PIDS[@]}"
      return 1
    fi
    ORIGIN_PIDS+=("$LAUNCH_PID")
    printf -v "ORIGIN$i" '127.0.0.1:%s' "$LAUNCH_PORT"
  done
}

# probe_origin KIND: start it, one short wrk run at 50 connections, stop it; sets PROBE_RPS
# (empty when it failed).
probe_origin() {
  local kind=$1 f=$WORK/probe-$1.txt rc=0 rps p99 reqs non2xx ce re we te pid
  PROBE_RPS=""
  start_origins "$kind" || return 0
  run_wrk "$f" 50 "$PROBE_DURATION" "http://$ORIGIN1/" || rc=$?
  read -r rps p99 reqs non2xx ce re we te < <(parse_wrk "$f")
  for pid in "${ORIGIN_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || rc=99; done
  stop "${ORIGIN_PIDS[@]}"
  if ((rc != 0)) || [[ $rps == NA ]] || ((non2xx + ce + re + we + te)); then
    echo "bench/run.sh: origin $kind failed its probe (exit $rc, non-2xx $non2xx," \
      "socket errors $((ce + re + we + te)))" >&2
    return 0
  fi
  PROBE_RPS=$rps
}

RESULT_LINES=()
echo "== load_balancer benchmark: $(date '+%F %T'), $(nproc) CPUs usable, $PIN_DESC"
echo "   load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the numbers)"
echo "   wrk -t1 -c N -d $DURATION --latency (warm-up ${WARMUP:-none}), connections: ${CONNS[*]}"
echo "   $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(haproxy -v | head -n 1 | awk '{print "HAProxy " $3}')," \
  "$(wrk -v 2>&1 | head -n 1 | awk '{print "wrk " $2}')"

PROBE_DURATION=2s
((QUICK)) && PROBE_DURATION=1s
ORIGIN_NOTE=""
if [[ $ORIGIN_KIND == auto ]]; then
  probe_origin backend1
  b_rps=$PROBE_RPS
  probe_origin nginx
  n_rps=$PROBE_RPS
  if [[ -z $b_rps && -z $n_rps ]]; then
    die "neither backend1 nor nginx works as an origin"
  elif [[ -z $n_rps ]] || { [[ -n $b_rps ]] && awk -v a="$b_rps" -v b="$n_rps" 'BEGIN { exit !(a > b) }'; }; then
    ORIGIN_KIND=backend1
  else
    ORIGIN_KIND=nginx
  fi
  ORIGIN_NOTE="probe at 50 connections: backend1 ${b_rps:-failed}, nginx ${n_rps:-failed} req/s"
fi
start_origins "$ORIGIN_KIND" || die "cannot start the $ORIGIN_KIND origins"
echo "== origin: 2 x $ORIGIN_KIND ($ORIGIN1, $ORIGIN2)${ORIGIN_NOTE:+; $ORIGIN_NOTE}"

CASES=(direct lb nginx haproxy)
echo "== direct (wrk -> origin1, no proxy)"
measure direct "http://$ORIGIN1/" "${ORIGIN_PIDS[@]}"
for name in lb nginx haproxy; do
  echo "== $name"
  if ! launch "$name" "start_$name"; then
    FAILED=1
    NOTES+=("$name: could not start (see $WORK/$name.log with --keep)")
    for c in "${CONNS[@]}"; do
      RPS[$name,$c]=NA P99[$name,$c]=NA
      RESULT_LINES+=("case=$name conns=$c rps=NA p99_ms=NA error=start_failed")
    done
    continue
  fi
  pid=$LAUNCH_PID
  measure "$name" "http://127.0.0.1:$LAUNCH_PORT/" "$pid" "${ORIGIN_PIDS[@]}"
  stop "$pid"
done

# --- Table and results file. ------------------------------------------------------------------

COLS=(conns direct_rps lb_rps nginx_rps haproxy_rps lb/nginx lb/haproxy
  direct_p99 lb_p99 nginx_p99 haproxy_p99 p99_lb/nginx p99_lb/haproxy)
FMT='%-6s %11s %9s %10s %12s %9s %11s %11s %8s %10s %12s %13s %15s\n'
echo
echo "== results (req/s: higher is better; p99 in ms: lower is better; ratios are lb / other)"
# shellcheck disable=SC2059
printf "$FMT" "${COLS[@]}"
for c in "${CONNS[@]}"; do
  row=("$c")
  for name in "${CASES[@]}"; do row+=("$(num "${RPS[$name,$c]}" %.0f)"); done
  row+=("$(ratio "${RPS[lb,$c]}" "${RPS[nginx,$c]}")" "$(ratio "${RPS[lb,$c]}" "${RPS[haproxy,$c]}")")
  for name in "${CASES[@]}"; do row+=("$(num "${P99[$name,$c]}" %.2f)"); done
  row+=("$(ratio "${P99[lb,$c]}" "${P99[nginx,$c]}")" "$(ratio "${P99[lb,$c]}" "${P99[haproxy,$c]}")")
  # shellcheck disable=SC2059
  printf "$FMT" "${row[@]}"
  line="summary"
  for i in "${!COLS[@]}"; do line+=" ${COLS[$i]}=${row[$i]}"; done
  RESULT_LINES+=("$line")
done
if ((${#NOTES[@]})); then
  echo
  echo "== problems"
  printf '  %s\n' "${NOTES[@]}"
else
  echo "(no non-2xx responses and no socket errors)"
fi
echo "Ratios from one run on a shared machine: compare them, not the absolute numbers."

if [[ -n $OUT ]]; then
  {
    echo "# load_balancer bench $(date '+%F %T') duration=$DURATION warmup=${WARMUP:-0}" \
      "origin=$ORIGIN_KIND pinning=$([[ ${#PROXY_PIN[@]} -gt 0 ]] && echo "proxy:${CPUS[0]},load:${CPUS[1]}" || echo none)"
    printf '%s\n' "${RESULT_LINES[@]}"
    for n in "${NOTES[@]}"; do echo "problem $n"; done
  } >"$OUT"
  echo "results written to $OUT"
fi
exit "$FAILED"
