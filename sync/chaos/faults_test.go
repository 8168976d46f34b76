package chaos

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// moments are n random offsets in [lo, hi), sorted.
func moments(rng *rand.Rand, n int, lo, hi time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = lo + time.Duration(rng.Int64N(int64(hi-lo)))
	}
	slices.Sort(out)
	return out
}

// sleepUntil sleeps until start+d.
func sleepUntil(start time.Time, d time.Duration) { time.Sleep(time.Until(start.Add(d))) }

// killDaemon kills the daemon with SIGKILL at r.kills random moments of
// the orders (while it starts up again too: a moment is a moment) and
// restarts it each time at once.
func killDaemon(h *harness, r round, rng *rand.Rand) int {
	start := time.Now()
	for _, at := range moments(rng, r.kills, 300*time.Millisecond, r.orders) {
		sleepUntil(start, at)
		h.killAndRestartDaemon()
	}
	return r.kills
}

// restartRedis stops Redis as an operator's restart does (SIGTERM: it
// fsyncs its AOF), leaves it down a second, and starts it again; it
// reloads its AOF.
func restartRedis(h *harness, r round, rng *rand.Rand) int {
	sleepUntil(time.Now(), moments(rng, 1, 500*time.Millisecond, r.orders/2)[0])
	if err := h.server.Stop(30 * time.Second); err != nil {
		h.t.Error(err)
		return 0
	}
	time.Sleep(time.Second)
	h.server.Restart(h.t)
	return 1
}

// freezeRedis stops Redis (SIGSTOP) for 10 s: alive, its connections
// open, answering nothing.
func freezeRedis(h *harness, r round, rng *rand.Rand) int {
	sleepUntil(time.Now(), moments(rng, 1, 500*time.Millisecond, max(r.orders-10*time.Second, time.Second))[0])
	h.server.Freeze()
	time.Sleep(10 * time.Second)
	h.server.Thaw()
	return 1
}

// killRedis kills Redis with SIGKILL, leaves it down a second, and starts
// it again from its AOF (appendfsync everysec: the kernel holds every
// acknowledged write, docs/redis.md).
func killRedis(h *harness, r round, rng *rand.Rand) int {
	sleepUntil(time.Now(), moments(rng, 1, 500*time.Millisecond, r.orders/2)[0])
	h.server.Kill()
	time.Sleep(time.Second)
	h.server.Restart(h.t)
	return 1
}

// failover kills the Sentinel setup's primary with SIGKILL; the sentinels
// promote a replica and the daemon follows. The dead server comes back
// (empty) and rejoins as a replica.
func failover(h *harness, r round, rng *rand.Rand) int {
	sleepUntil(time.Now(), moments(rng, 1, 500*time.Millisecond, r.orders/2)[0])
	old := h.repl.Primary
	old.Kill()
	promoted := h.repl.WaitNewPrimary(h.t, old, 60*time.Second)
	old.Restart(h.t)
	h.t.Logf("primary %s killed; %s promoted", old.Addr, promoted.Addr)
	return 1
}

// errorBursts makes every channel answer bursts of 500, 503 or 429 (3 to 8
// requests each) every second or so while the orders flow.
func errorBursts(h *harness, r round, rng *rand.Rand) int {
	statuses := []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusTooManyRequests}
	n := 0
	for start := time.Now(); time.Since(start) < r.orders-time.Second; time.Sleep(time.Duration(700+rng.IntN(600)) * time.Millisecond) {
		for _, p := range h.proxies {
			p.Burst(statuses[rng.IntN(len(statuses))], 3+rng.IntN(6))
			n++
		}
	}
	return n
}

// timeouts makes two requests of every channel time out, once per 10 s of
// orders (at least once): each reaches the fake (which applies it) and is answered only
// after 15 s, later than the connectors' 10 s per attempt.
func timeouts(h *harness, r round, rng *rand.Rand) int {
	n := 0
	start := time.Now()
	for _, at := range moments(rng, max(1, int(r.orders/(10*time.Second))), 300*time.Millisecond, r.orders) {
		sleepUntil(start, at)
		for _, p := range h.proxies {
			p.Timeouts(2, 15*time.Second)
			n += 2
		}
	}
	return n
}
