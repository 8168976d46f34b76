#!/usr/bin/env bash
# line-ab.sh compares the Redis-side cost of the order-line script
# (lib.lua + line.lua) of two versions of this repository, alternated on
# one private redis-server pinned to CPU 1 (redis-benchmark on CPU 0), so
# a machine that drifts weighs on both alike. A version is a commit, or
# "work" for the work tree.
#
# Usage: inventory/bench/line-ab.sh REF_A REF_B [ROUNDS]   (default 7)
# Env: BENCH_PORT (6482), BENCH_N (calls per round, 50000), SIGKEYS
#   (1: the routed shape carries the signal keys when the version has
#   signals, as a ledger with a reorder point set sends them; 0: without,
#   as since 33b3ab5 a ledger where none was ever set sends it), FCALL
#   (1, the default: a version whose line.lua ends in the entry function
#   line() runs as the ledger runs it on Redis 7, a Function library
#   called by FCALL; 0: as a script by EVALSHA, the ledger's fallback;
#   older versions are scripts either way).
#
# Two shapes, each call a new one-line order of one SKU, 50 clients:
#   given:  the location given, 4 keys (signals off): the ledger baseline
#           of redis-benchmark.sh;
#   routed: no location, two candidates and no routing rules (the demo's
#           webhooks), with the signal keys when the version has signals
#           (and SIGKEYS is 1, the default).
# Prints, per version and shape, µs of Redis per call (INFO commandstats
# usec_per_call of EVALSHA or FCALL): each round's, the median and the
# minimum.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${BENCH_PORT:-6482}"
n="${BENCH_N:-50000}"
rounds="${3:-7}"
work="$(mktemp -d)"
taskset -c 1 redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --logfile "" --loglevel warning >/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cli() { redis-cli -p "$port" "$@"; }
for _ in $(seq 50); do cli ping >/dev/null 2>&1 && break; sleep 0.1; done

src() { # src REF FILE: a file of inventory/lua at REF
  if [[ $1 == work ]]; then cat "$repo/inventory/lua/$2"; else git -C "$repo" show "$1:inventory/lua/$2"; fi
}
# The code as inventory/function.go (newFunction) wraps it: a library
# registering line(), or a script running line()'s body with KEYS and ARGV.
for v in "$1" "$2"; do
  { src "$v" lib.lua; src "$v" line.lua; } >"$work/$v.lua"
  if grep -q '^local function line(' "$work/$v.lua"; then
    if [[ ${FCALL:-1} == 1 ]]; then
      { echo "#!lua name=bench_$v"; cat "$work/$v.lua"; echo "redis.register_function('bench_$v', line)"; } >"$work/$v.lib"
    else
      sed -i 's/^local function line(keys, args)$/do local keys, args = KEYS, ARGV/' "$work/$v.lua"
    fi
  fi
done

sep=$'\x1f'
result="$work/result"
for r in $(seq "$rounds"); do
  for v in "$1" "$2"; do
    if [[ -f $work/$v.lib ]]; then
      cli -x FUNCTION LOAD REPLACE <"$work/$v.lib" >/dev/null
      call=(FCALL "bench_$v") stat=fcall
    else
      call=(EVALSHA "$(cli -x SCRIPT LOAD <"$work/$v.lua")") stat=evalsha
    fi
    for shape in given routed; do
      cli FLUSHALL >/dev/null
      cli HSET 'b:s:{B}' A '1000000000,0' warehouse '1000000000,0' store '1000000000,0' >/dev/null
      cli CONFIG RESETSTAT >/dev/null
      now="$(date +%s%3N)"
      keys=('b:s:{B}' 'b:l:{B}' 'b:x:{B}' 'b:j:{B}')
      head=("$now" "$((now - 604800000))" 10000)
      line=("shop${sep}__rand_int__${sep}1")
      if grep -q 'sigdefs' "$work/$v.lua"; then
        # Since signals: the reorder defaults argument, and routing's
        # argument count includes the candidate count.
        head+=('')
        if [[ $shape == given ]]; then line+=(A 3 0 0 0 1 0); else
          if [[ ${SIGKEYS:-1} == 1 ]]; then keys+=('b:r:{B}' 'b:e:{B}'); fi
          line+=('' 1 0 0 0 1 0 3 2 warehouse store)
        fi
      elif [[ $shape == given ]]; then line+=(A 3 0 0 0 1 0)
      else line+=('' 1 0 0 0 1 0 2 warehouse store)
      fi
      taskset -c 0 redis-benchmark -p "$port" -c 50 -n "$n" -r 1000000000 -q \
        "${call[@]}" "${#keys[@]}" "${keys[@]}" "${head[@]}" "${line[@]}" >/dev/null
      got="$(cli HLEN 'b:l:{B}')"
      if ((got < n * 99 / 100)); then
        echo "line-ab: $v $shape recorded $got lines of $n calls: arguments not understood" >&2
        exit 1
      fi
      us="$(cli INFO commandstats | tr -d '\r' | sed -n "s/^cmdstat_$stat:.*usec_per_call=\([0-9.]*\).*/\1/p")"
      echo "$v $shape $us" >>"$result"
    done
  done
done

echo "# $(date -u +%FT%TZ) $(redis-server --version | cut -d' ' -f3), $rounds rounds of $n calls, µs of Redis per call (FCALL=${FCALL:-1})"
python3 - "$result" "$1" "$2" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for v in sys.argv[2:]:
    for shape in ("given", "routed"):
        xs = [float(u) for w, s, u in rows if w == v and s == shape]
        print(f"{v:>12s} {shape:6s} median {statistics.median(xs):6.2f} min {min(xs):6.2f}  rounds {' '.join(f'{x:.2f}' for x in xs)}")
PY
