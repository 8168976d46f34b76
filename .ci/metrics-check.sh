#!/usr/bin/env bash
# CI: `promtool check metrics` on a live scrape. Builds the daemon, starts
# `shelfsync demo` (the daemon against the simulated marketplaces, with an
# embedded Redis: no accounts, no network), waits until orders have flowed
# and quantities were pushed, scrapes /metrics once and fails on any
# problem promtool reports (naming, units, counters' _total, help text...).
# promtool comes from Debian's prometheus package (installed when missing,
# as .ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
	sudo=""
	if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >/dev/null
	$sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

tmp="$(mktemp -d)"
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/shelfsync" ./cmd/shelfsync
# The demo takes another free port when this one is busy; its banner names
# the /metrics URL it serves.
"$tmp/shelfsync" demo --duration 60s --rate 20 --poll 5s --reconcile 5s \
	--listen "${SHELFSYNC_METRICS_LISTEN:-127.0.0.1:18990}" >"$tmp/demo.out" 2>"$tmp/demo.err" &
pid=$!

url=""
scrape="$tmp/metrics.txt"
# Up to 45 s for the daemon to start and push its first quantities.
for _ in $(seq 1 90); do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "metrics-check: the demo exited early:" >&2
		cat "$tmp/demo.out" "$tmp/demo.err" >&2
		exit 1
	fi
	if [ -z "$url" ]; then
		url="$(grep -oE 'http://[^ ]+/metrics' "$tmp/demo.out" | head -n1 || true)"
	fi
	if [ -n "$url" ] && curl -fsS "$url" -o "$scrape" 2>/dev/null &&
		grep -qE '^shelfsync_push_items_total\{[^}]*outcome="accepted"[^}]*\} [1-9]' "$scrape"; then
		break
	fi
	sleep 0.5
done
if [ ! -s "$scrape" ] || ! grep -qE '^shelfsync_push_items_total\{[^}]*outcome="accepted"[^}]*\} [1-9]' "$scrape"; then
	echo "metrics-check: no scrape with pushed quantities from ${url:-the demo (no /metrics URL in its banner)}" >&2
	cat "$tmp/demo.out" "$tmp/demo.err" >&2
	exit 1
fi

# One scrape with traffic: every problem promtool names fails the check.
curl -fsS "$url" -o "$scrape"
set +e
problems="$(promtool check metrics <"$scrape" 2>&1)"
rc=$?
set -e
if [ "$rc" -ne 0 ] || [ -n "$problems" ]; then
	echo "metrics-check: promtool check metrics on $url (exit $rc):" >&2
	echo "$problems" >&2
	exit 1
fi
echo "metrics-check: $(grep -c '^shelfsync_' "$scrape") shelfsync samples, $(grep -c '^# TYPE' "$scrape") metrics from $url: promtool check metrics found no problem"
