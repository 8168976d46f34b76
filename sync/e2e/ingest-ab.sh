#!/usr/bin/env bash
# ingest-ab.sh measures the webhook path of two shelfsync binaries at a
# fixed offered rate, alternated, so a machine that drifts during the runs
# weighs on both alike. Each run: a private redis-server (no persistence),
# `shelfsync demo --rate 0 --skus 1000 --duration 45s` on it, and after
# 12 s `shelfsync loadgen --rate R --duration 20s --skus 1000 --drain 10s`
# (signed Shopify webhooks) against its webhook endpoint. Over the loadgen
# window it reads the daemon's and redis-server's CPU time (/proc), Redis's
# INFO commandstats and stats (reset at its start), and loadgen's report.
#
# Usage: sync/e2e/ingest-ab.sh A_BIN B_BIN [ORDER] [RATE]
#   ORDER: letters A and B, run in that order (default ABBAABBA);
#   RATE: webhooks/s (default 2500).
# Env: A_FLAGS, B_FLAGS (extra demo flags of each binary; a binary built
#   from 527e1ee runs its defaults, which match B_FLAGS' default),
#   AB_PORT (redis, 6481), AB_LISTEN (daemon, 127.0.0.1:18481),
#   AB_OUT (run files, a new temp dir), LOADGEN (default B_BIN: one load
#   generator for both).
#
# Per webhook it prints, per run and as medians per binary: applied/s,
# loadgen's p50/p99 (ms), daemon CPU µs, redis-server CPU µs, Redis
# commands (script-inner ones included, as Redis 7 counts them) and
# Redis reads (round trips the server read).
set -euo pipefail

a_bin=$1 b_bin=$2 order=${3:-ABBAABBA} rate=${4:-2500}
a_flags=${A_FLAGS:-}
b_flags=${B_FLAGS:---channels shopify,ebay,amazon --amazon-plan raised}
port=${AB_PORT:-6481}
listen=${AB_LISTEN:-127.0.0.1:18481}
out=${AB_OUT:-$(mktemp -d)}
loadgen=${LOADGEN:-$b_bin}
cli() { redis-cli -p "$port" "$@"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# A run that fails (set -e) leaves no demo or redis-server behind to hold
# the ports of the next.
dpid=""
trap 'if [[ -n $dpid ]]; then kill "$dpid" 2>/dev/null || true; fi; cli shutdown nosave >/dev/null 2>&1 || true' EXIT

run() { # run LABEL BIN FLAGS
  local label=$1 bin=$2 flags=$3 rpid t0 r0
  cli shutdown nosave >/dev/null 2>&1 || true
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --logfile "" --loglevel warning --daemonize yes >/dev/null
  for _ in $(seq 50); do cli ping >/dev/null 2>&1 && break; sleep 0.1; done
  # shellcheck disable=SC2086 # flags are words
  "$bin" demo --rate 0 --skus 1000 --duration 45s --listen "$listen" \
    --redis "127.0.0.1:$port" --quiet $flags >"$out/demo-$label.out" 2>&1 &
  dpid=$!
  sleep 12
  if ! kill -0 "$dpid" 2>/dev/null; then
    echo "ingest-ab: $bin demo exited early; see $out/demo-$label.out" >&2
    exit 1
  fi
  cli config resetstat >/dev/null
  rpid=$(cli info server | tr -d '\r' | awk -F: '$1 == "process_id" {print $2}')
  t0=$(ticks "$dpid") r0=$(ticks "$rpid")
  "$loadgen" loadgen --url "http://$listen/webhooks/shopify" --rate "$rate" \
    --duration 20s --skus 1000 --metrics "http://$listen/metrics" --drain 10s \
    >"$out/lg-$label.out" 2>&1
  echo "ticks=$(($(ticks "$dpid") - t0)) rticks=$(($(ticks "$rpid") - r0)) hz=$(getconf CLK_TCK)" >"$out/cpu-$label.txt"
  cli info commandstats | tr -d '\r' >"$out/cs-$label.txt"
  cli info stats | tr -d '\r' >"$out/st-$label.txt"
  wait "$dpid" || true
  dpid=""
  cli shutdown nosave >/dev/null 2>&1 || true
}

i=0
labels=()
for x in $(echo "$order" | grep -o .); do
  i=$((i + 1))
  case $x in
  A) run "A-$i" "$a_bin" "$a_flags" ;;
  B) run "B-$i" "$b_bin" "$b_flags" ;;
  *) echo "ingest-ab: ORDER holds only A and B" >&2; exit 2 ;;
  esac
  labels+=("$x-$i")
  echo "# $(date -u +%T) $x-$i done, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done

python3 - "$out" "${labels[@]}" <<'PY'
import re, statistics, sys
out, labels = sys.argv[1], sys.argv[2:]
def read(label):
    lg = open(f"{out}/lg-{label}.out").read()
    m = re.search(r"sent (\d+) webhooks.*latency p50 ([\d.]+)ms p99 ([\d.]+)ms", lg)
    sent = int(m.group(1))
    a = re.search(r"from the first webhook: (\d+)/s", lg)
    cpu = dict(kv.split("=") for kv in open(f"{out}/cpu-{label}.txt").read().split())
    us = 1e6 / int(cpu["hz"]) / sent
    calls = sum(int(c) for c in re.findall(r"calls=(\d+)", open(f"{out}/cs-{label}.txt").read()))
    reads = re.search(r"total_reads_processed:(\d+)", open(f"{out}/st-{label}.txt").read())
    return {"applied/s": int(a.group(1)) if a else 0, "p50 ms": float(m.group(2)), "p99 ms": float(m.group(3)),
            "daemon µs": int(cpu["ticks"]) * us, "redis µs": int(cpu["rticks"]) * us,
            "commands": calls / sent, "reads": int(reads.group(1)) / sent if reads else float("nan")}
rows = {l: read(l) for l in labels}
keys = list(next(iter(rows.values())))
print("run    " + "".join(f"{k:>12s}" for k in keys))
for l, r in rows.items():
    print(f"{l:7s}" + "".join(f"{r[k]:12.1f}" for k in keys))
for g in "AB":
    rs = [r for l, r in rows.items() if l.startswith(g + "-")]
    if rs:
        print(f"{g} med  " + "".join(f"{statistics.median(r[k] for r in rs):12.1f}" for k in keys))
print(f"(run files in {out})")
PY
