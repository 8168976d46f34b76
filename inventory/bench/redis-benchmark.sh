#!/usr/bin/env bash
# redis-benchmark.sh measures the stock ledger, in one run, on a private
# redis-server on loopback (so other users of the shared Redis neither
# disturb the figures nor see the load):
#
#   1. the baseline: the order-line code (lib.lua + line.lua, as the ledger
#      loads it on Redis 7: a Function library, inventory/function.go)
#      through redis-benchmark, FCALL, 50 clients, each call a new line (a
#      reservation) of one SKU;
#   2. the ledger's Go API: BenchmarkApplyLine (1, 20, 100 callers) and
#      BenchmarkApplyLinesBatched (pipelined);
#   3. TestMemory: 100,000 SKUs x 2 locations, 200,000 open order lines.
#
# Usage: inventory/bench/redis-benchmark.sh [baseline|go|memory|all]  (default all)
# Env: BENCH_PORT (6390), BENCH_N (redis-benchmark requests, 300000),
#      BENCH_TIME (go -benchtime, 3s).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${BENCH_PORT:-6390}"
n="${BENCH_N:-300000}"
what="${1:-all}"

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --logfile "" --loglevel warning >/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
cli() { redis-cli -p "$port" "$@"; }

echo "# $(date -u +%FT%TZ) $(redis-server --version | cut -d' ' -f3) on $(nproc) cores, port $port"

{ echo '#!lua name=bench_line'; cat "$here/../lua/lib.lua" "$here/../lua/line.lua"
  echo "redis.register_function('bench_line', line)"; } | cli -x FUNCTION LOAD REPLACE >/dev/null
now="$(date +%s%3N)"
sep=$'\x1f'
# ARGV: now, prune cutoff, journal maxlen, reorder defaults ('': none;
# signals are off, as only four keys are given), then the line: field
# (also the journal's reference), location, ordered, shipped, cancelled,
# returned, version, flags (restock 1 + strict 2); the location is given,
# so no candidates follow.
baseline() {
  cli FLUSHALL >/dev/null
  cli HSET 'bench:s:{BENCH}' A '1000000000,0' >/dev/null
  cli CONFIG RESETSTAT >/dev/null
  redis-benchmark -p "$port" -c 50 "$@" -n "$n" -r 1000000000 -q \
    FCALL bench_line 4 'bench:s:{BENCH}' 'bench:l:{BENCH}' 'bench:x:{BENCH}' 'bench:j:{BENCH}' \
    "$now" "$((now - 604800000))" 10000 '' \
    "shop${sep}__rand_int__${sep}1" A 3 0 0 0 1 0 \
    | tr '\r' '\n' | tail -1 | sed 's/.*: \([0-9.]* requests\)/\1/'
  echo "  lines recorded: $(cli HLEN 'bench:l:{BENCH}') of $n calls; Redis $(cli INFO commandstats | grep '^cmdstat_fcall' | cut -d, -f3)"
  cli FLUSHALL >/dev/null
}

if [[ "$what" == all || "$what" == baseline ]]; then
  echo "## baseline: redis-benchmark -c 50 -n $n -r 1000000000 FCALL <line.lua> (a new line of one SKU per call)"
  baseline
  echo "## ceiling: the same, pipelined (-P 20): what Redis alone can do with this script"
  baseline -P 20
  echo "## reference: redis-benchmark -c 50 -n $n EVAL 'return 1' 0 (this machine's per-call floor)"
  redis-benchmark -p "$port" -c 50 -n "$n" -q EVAL 'return 1' 0 | tr '\r' '\n' | tail -1
  cli FLUSHALL >/dev/null
fi

cd "$repo"
if [[ "$what" == all || "$what" == go ]]; then
  echo "## Go API: go test -run '^\$' -bench ApplyLine -benchtime ${BENCH_TIME:-3s} ./inventory/"
  REDIS_ADDR="127.0.0.1:$port" go test -run '^$' -bench 'ApplyLine' -benchtime "${BENCH_TIME:-3s}" ./inventory/
  cli FLUSHALL >/dev/null
  # The machine is shared: the baseline again, to show how much it moved
  # while the Go benchmarks ran.
  echo "## baseline again, after the Go benchmarks"
  baseline
fi
if [[ "$what" == all || "$what" == memory ]]; then
  echo "## memory: INVENTORY_MEMORY=1 go test -run TestMemory -v ./inventory/"
  REDIS_ADDR="127.0.0.1:$port" INVENTORY_MEMORY=1 go test -count=1 -run TestMemory -v ./inventory/ | grep -E 'bytes|ok|FAIL'
  echo "used_memory of the private Redis after the memory test cleaned up: $(cli INFO memory | grep '^used_memory:' | tr -d '\r')"
fi
