#!/usr/bin/env bash
# rss.sh measures the daemon's memory with 100,000 SKUs on three channels
# (issue #6: <= 200 MB RSS), the daemon alone in its process as in
# production (`shelfsync run --config FILE`), the fake marketplaces and the
# order stream in another (`shelfsync fakes`):
#
#   1. a private redis-server on 127.0.0.1:$RSS_PORT (no persistence), so
#      other users of the shared Redis neither disturb nor see the load;
#   2. `shelfsync fakes`: the three fakes, the catalogue of $RSS_SKUS SKUs
#      seeded into them and the ledger, the daemon's config written; then,
#      once the daemon is ready, $RSS_RATE orders/s;
#   3. `shelfsync run --config` on that config (the built binary);
#   4. the daemon's VmRSS from /proc/PID/status every 5 s (the fakes' too,
#      for context) until the orders have flowed $RSS_SECONDS, its VmHWM
#      then, and how many reconciles of every channel completed (each
#      reads all the channel's listings);
#   5. SIGTERM to the fakes (the orders stop, deliveries under way finish),
#      then to the daemon, then Redis stops.
#
# Usage: sync/e2e/rss.sh
# Env: RSS_PORT (6393), RSS_SKUS (100000), RSS_RATE (100), RSS_SECONDS (90),
#      RSS_POLL (15s), RSS_RECONCILE (30s), RSS_LISTEN (127.0.0.1:18120),
#      RSS_BIN (a built shelfsync; default: built from this tree).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
port="${RSS_PORT:-6393}"
skus="${RSS_SKUS:-100000}"
rate="${RSS_RATE:-100}"
seconds="${RSS_SECONDS:-90}"
poll="${RSS_POLL:-15s}"
reconcile="${RSS_RECONCILE:-30s}"
listen="${RSS_LISTEN:-127.0.0.1:18120}"
work="$(mktemp -d)"
bin="${RSS_BIN:-}"
if [[ -z "$bin" ]]; then
  bin="$work/shelfsync"
  (cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/shelfsync)
fi

server="" fakes="" daemon=""
stop() {
  for p in $daemon $fakes $server; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stop EXIT

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --logfile "" --loglevel warning >/dev/null &
server=$!
for _ in $(seq 50); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done

echo "# $(date -u +%FT%TZ) $skus SKUs, $rate orders/s for ${seconds}s, poll $poll, reconcile $reconcile;" \
  "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

t0=$(date +%s)
"$bin" fakes --redis "127.0.0.1:$port" --key-prefix shelfsync: --skus "$skus" --rate "$rate" \
  --poll "$poll" --reconcile "$reconcile" --listen "$listen" \
  --write-config "$work/shelfsync.yaml" >"$work/fakes.out" 2>"$work/fakes.err" &
fakes=$!
until [[ -f "$work/shelfsync.yaml" ]]; do
  if ! kill -0 "$fakes" 2>/dev/null; then
    cat "$work/fakes.out" "$work/fakes.err" >&2
    exit 1
  fi
  sleep 0.5
done
echo "# seeded in $(($(date +%s) - t0))s; fakes VmRSS $(awk '/^VmRSS/ {print $2}' "/proc/$fakes/status") kB"

"$bin" run --config "$work/shelfsync.yaml" >"$work/daemon.out" 2>"$work/daemon.err" &
daemon=$!
start=$(date +%s)

kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$2/status" 2>/dev/null || echo 0; }
printf '%6s  %-8s  %12s  %12s\n' t phase "daemon kB" "fakes kB"
samples="$work/samples"
: >"$samples"
ordering=""
while kill -0 "$daemon" 2>/dev/null && kill -0 "$fakes" 2>/dev/null; do
  phase=start
  if grep -q 'the daemon is ready' "$work/fakes.out"; then
    phase=orders
    ordering="${ordering:-$(date +%s)}"
  fi
  t=$(($(date +%s) - start))
  d=$(kb VmRSS "$daemon")
  printf '%6s  %-8s  %12s  %12s\n' "${t}s" "$phase" "$d" "$(kb VmRSS "$fakes")"
  echo "$phase $d" >>"$samples"
  [[ -n "$ordering" && $(($(date +%s) - ordering)) -ge "$seconds" ]] && break
  sleep 5
done
for p in "$daemon" "$fakes"; do
  if ! kill -0 "$p" 2>/dev/null; then
    echo "a process stopped by itself:" >&2
    tail -20 "$work/daemon.err" "$work/fakes.err" >&2
    exit 1
  fi
done

hwm=$(kb VmHWM "$daemon")
metrics="$(curl -s "http://$listen/metrics")"
kill -TERM "$fakes"
wait "$fakes" && fcode=0 || fcode=$?
fakes=""
kill -TERM "$daemon"
wait "$daemon" && code=0 || code=$?
daemon=""

echo
echo "## the daemon's VmRSS by phase (MiB = 2^20 bytes)"
printf '| %-46s | %15s |\n' phase "daemon VmRSS"
printf '| %-46s | %15s |\n' --- ---:
for p in start orders; do
  awk -v p="$p" '$1 == p {n++; if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2}
    END {if (n) printf "%.1f–%.1f MiB (%d samples)\n", min/1024, max/1024, n}' "$samples" |
    while read -r range; do
      case $p in
        start) what="daemon started, before the orders" ;;
        orders) what="orders flowing ($rate/s)" ;;
      esac
      printf '| %-46s | %15s |\n' "$what" "$range"
    done
done
# The kernel's RSS counters are approximate (per-thread caches), so a
# sample can exceed VmHWM by a few pages: the peak is the larger.
peak=$(awk -v h="$hwm" '{if ($2 > h) h = $2} END {print h}' "$samples")
printf '| %-46s | %15s |\n' "peak (VmHWM, or the highest sample if higher)" "$(awk -v k="$peak" 'BEGIN {printf "%.1f MiB", k/1024}')"
echo
echo "## the daemon's Go runtime at the end (from /metrics, MiB)"
awk '$1 == "go_memstats_heap_inuse_bytes" || $1 == "go_memstats_heap_sys_bytes" || $1 == "go_memstats_stack_inuse_bytes" ||
  $1 == "go_memstats_sys_bytes" {printf "%s %.1f  ", substr($1, 13), $2/1048576} $1 == "go_goroutines" {printf "goroutines %d  ", $2}
  END {print ""}' <<<"$metrics"
echo
echo "## completed reconciles (shelfsync_job_runs_total, each reads all $skus listings of the channel)"
grep '^shelfsync_job_runs_total{.*reconcile' <<<"$metrics" || echo "none"
grep '^shelfsync_job_duration_seconds_\(sum\|count\){.*reconcile' <<<"$metrics" || true
grep 'job=reconcile' "$work/daemon.err" | cut -c1-400 | tail -6 || true
echo "## API requests per channel (reconcile reads are most of them):" \
  "$(grep '^shelfsync_channel_api_requests_total' <<<"$metrics" |
    sed 's/.*channel="\([a-z]*\)".* \([0-9.e+]*\)$/\1 \2/' |
    awk '{n[$1] += $2} END {for (c in n) printf "%s %d  ", c, n[c]}')"
echo "## events applied: $(grep '^shelfsync_events_applied_total' <<<"$metrics" | awk '{s += $NF} END {print s + 0}')"
echo "## fakes (exit $fcode):"
tail -3 "$work/fakes.out"
echo "## daemon exit $code after SIGTERM; its warnings and errors: $(grep -c . "$work/daemon.err" || true) lines"
tail -3 "$work/daemon.err"
