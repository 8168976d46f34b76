package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// round is one round of the suite: a fault, the Redis it needs, and how
// long the orders flow while it happens.
type round struct {
	fault  string
	redis  redisKind
	orders time.Duration
	// inject applies the fault during the orders (h.window is how long
	// they flow) and returns how many faults it injected.
	inject func(h *harness, r round, rng *rand.Rand) int
	kills  int // daemon kills, for the daemon's round
}

type redisKind int

const (
	redisAOF      redisKind = iota // one server, appendonly yes, appendfsync everysec
	redisSentinel                  // a primary, two replicas, three sentinels
)

// suite is the rounds to run and the load of each.
type suite struct {
	name   string
	rate   float64 // orders per second
	skus   int
	rounds []round
	// parallel runs the rounds at once (the short form, for CI's wall
	// time); the long form runs them one after the other, so that each
	// round's time to converge is its own.
	parallel bool
}

// chaosSuite is the short form (the default, what `make test` and CI run)
// or, with CHAOS=long, the long form (`make chaos`, BENCHMARKS.md).
//
// The short form runs every fault kind once, with short order windows: the
// daemon killed twice, Redis restarted, frozen 10 s, killed, failed over,
// the channels' 500/503/429 bursts and their timeouts; the rounds run in
// parallel (each with its own Redis, fakes and daemon), about a minute.
// The long form runs each kind several times with longer windows: ten
// daemon kills in all (five rounds of two), and two rounds of every other
// fault.
func chaosSuite() suite {
	if os.Getenv("CHAOS") == "long" {
		return suite{name: "long", rate: 40, skus: 80, rounds: rounds(20*time.Second, 5, 2, 2)}
	}
	return suite{name: "short", rate: 25, skus: 40, rounds: rounds(5*time.Second, 1, 2, 1), parallel: true}
}

// rounds lists killRounds daemon rounds of kills kills each, then each
// other fault repeat times, every round with orders flowing for window
// (the freeze's round at least 13 s: it freezes Redis 10 s).
func rounds(window time.Duration, killRounds, kills, repeat int) []round {
	var out []round
	for range killRounds {
		out = append(out, round{fault: "daemon kill -9", redis: redisAOF, orders: window, kills: kills, inject: killDaemon})
	}
	others := []round{
		{fault: "redis restart (AOF)", redis: redisAOF, orders: window, inject: restartRedis},
		{fault: "redis freeze 10s", redis: redisAOF, orders: max(window, 13*time.Second), inject: freezeRedis},
		{fault: "redis kill -9", redis: redisAOF, orders: window, inject: killRedis},
		{fault: "primary failover", redis: redisSentinel, orders: window, inject: failover},
		{fault: "channels 500/503/429 bursts", redis: redisAOF, orders: window, inject: errorBursts},
		{fault: "channels time out", redis: redisAOF, orders: window, inject: timeouts},
	}
	for range repeat {
		out = append(out, others...)
	}
	return out
}

// TestChaos runs the suite (see chaosSuite) and prints its table; it fails
// on any lost, doubled or otherwise wrong order, any SKU whose on-hand or
// reservations differ from what the orders placed make them, any channel
// that did not converge, any dead letter or any inconsistency Verify
// finds.
func TestChaos(t *testing.T) {
	s := chaosSuite()
	bin := daemonBinary
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		_, _ = fmt.Sscan(v, &seed)
	}
	t.Logf("chaos suite, %s form: %d rounds, %.0f orders/s on %d SKUs, CHAOS_SEED=%d", s.name, len(s.rounds), s.rate, s.skus, seed)
	results := make([]result, len(s.rounds))
	t.Run("rounds", func(t *testing.T) {
		for i, r := range s.rounds {
			t.Run(fmt.Sprintf("%02d %s", i+1, r.fault), func(t *testing.T) {
				if s.parallel {
					t.Parallel()
				}
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				res := runRound(t, bin, s, r, rng, seed+uint64(i))
				res.round, res.fault, res.failed = i+1, r.fault, t.Failed()
				if res.failed && res.problem == "" {
					res.problem = "round failed (see its log)"
				}
				results[i] = res
			})
		}
	})
	t.Log("\n" + table(results))
}

// result is one round's line of the table.
type result struct {
	round                int
	fault                string
	injected             int
	placed, inLedger     int
	lost, doubled, wrong int
	converge             time.Duration
	deadLetters          int
	problem              string
	failed               bool
}

// table prints the results, with the totals and the p99 (and max) of the
// time from the end of the orders to every order in the ledger and every
// channel converged.
func table(rs []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-5s %-28s %8s %7s %9s %5s %7s %5s %11s %6s %s\n",
		"round", "fault", "injected", "orders", "in ledger", "lost", "doubled", "wrong", "converge", "dead", "verdict")
	var tot result
	var conv []time.Duration
	for _, r := range rs {
		verdict := "ok"
		if r.failed {
			verdict = "FAIL " + r.problem
		}
		fmt.Fprintf(&b, "%-5d %-28s %8d %7d %9d %5d %7d %5d %11s %6d %s\n", r.round, r.fault, r.injected, r.placed, r.inLedger,
			r.lost, r.doubled, r.wrong, r.converge.Round(100*time.Millisecond), r.deadLetters, verdict)
		tot.injected += r.injected
		tot.placed += r.placed
		tot.inLedger += r.inLedger
		tot.lost += r.lost
		tot.doubled += r.doubled
		tot.wrong += r.wrong
		tot.deadLetters += r.deadLetters
		if !r.failed {
			conv = append(conv, r.converge)
		}
	}
	fmt.Fprintf(&b, "%-5s %-28s %8d %7d %9d %5d %7d %5d %11s %6d\n", "all", fmt.Sprintf("%d rounds", len(rs)), tot.injected, tot.placed,
		tot.inLedger, tot.lost, tot.doubled, tot.wrong, "", tot.deadLetters)
	if len(conv) > 0 {
		slices.Sort(conv)
		p99 := conv[min(len(conv)-1, (len(conv)*99+99)/100-1)]
		fmt.Fprintf(&b, "time to converge after the orders stop: p50 %s, p99 %s, max %s (%d rounds)\n",
			conv[(len(conv)-1)/2].Round(100*time.Millisecond), p99.Round(100*time.Millisecond),
			conv[len(conv)-1].Round(100*time.Millisecond), len(conv))
	}
	return b.String()
}
