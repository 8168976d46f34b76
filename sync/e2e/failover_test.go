package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/intake"
	"github.com/shelfsync/shelfsync/sync/store"
)

// TestFailoverKeepsAcknowledgedEvents writes events into the intake
// through Sentinel as fast as eight writers can (what a webhook answers 200
// for: Put returned nil), kills the primary with SIGKILL under that load,
// waits for the sentinels to promote the replica and the writes to go on,
// brings the dead server back (as the new primary's replica), and repeats
// FAILOVER_KILLS times (default 1). Then it counts the acknowledged events
// the stream no longer holds. With redis.min_replicas_acked 1 that count
// must be 0; with 0 (replication is asynchronous) it is reported, as are
// the events acknowledged and the time from each kill to the first
// acknowledged write after it (BENCHMARKS.md, "Redis topologies and
// failover").
func TestFailoverKeepsAcknowledgedEvents(t *testing.T) {
	t.Parallel()
	kills := 1
	if v := os.Getenv("FAILOVER_KILLS"); v != "" {
		kills, _ = strconv.Atoi(v)
	}
	for _, acked := range []int{0, 1} {
		t.Run(fmt.Sprintf("min_replicas_acked=%d", acked), func(t *testing.T) {
			res := failoverRun(t, acked, kills)
			t.Logf("min_replicas_acked=%d: %d kills, %d events acknowledged, %d lost, %d refused (not replicated), first acknowledged write after a kill: %v",
				acked, kills, res.acked, res.lost, res.notReplicated, res.recover)
			if acked > 0 && res.lost != 0 {
				t.Fatalf("%d acknowledged events lost with min_replicas_acked %d", res.lost, acked)
			}
			if res.acked == 0 || len(res.recover) != kills {
				t.Fatalf("no writes acknowledged (%d), or not after every kill (%v)", res.acked, res.recover)
			}
		})
	}
}

type failoverResult struct {
	acked, lost, notReplicated int
	recover                    []time.Duration // kill to the first acknowledged write after it
}

func failoverRun(t *testing.T, minAcked, kills int) failoverResult {
	r := redistest.StartSentinel(t)
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.MasterName, SentinelAddrs: r.SentinelAddrs(),
		PoolSize: 32, DialTimeout: 300 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	in := intake.New(rdb, intake.Options{Prefix: redistest.Prefix(),
		Durability: store.Durability{Replicas: minAcked, Timeout: 300 * time.Millisecond}})

	w := &writers{in: in}
	ctx, stop := context.WithCancel(context.Background())
	var wg gosync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() { defer wg.Done(); w.write(ctx, g) }()
	}
	var res failoverResult
	primary, replica := r.Primary, r.Replica
	for k := 0; k < kills; k++ {
		w.waitAcked(t, w.count()+200, 30*time.Second)
		killed := time.Now()
		primary.Kill()
		r.WaitPrimary(t, replica.Addr, 30*time.Second)
		// The dead server comes back empty, as the new primary's replica
		// (never as an empty primary). (With min_replicas_acked 1 and one
		// replica, no write is acknowledged until then.)
		primary.RestartAsReplicaOf(t, replica)
		// Usually the promoted replica stays the primary and the restarted
		// server becomes its replica; on a loaded machine the sentinels
		// may fail over once more (the promoted server stalls while it
		// serves the full resync). Either way the next kill is of the
		// primary the sentinels name once a replica is in sync with it.
		primary, replica = waitSettled(t, r, primary, replica)
		res.recover = append(res.recover, w.waitAckAfter(t, killed, 30*time.Second).Sub(killed).Round(10*time.Millisecond))
	}
	w.waitAcked(t, w.count()+200, 30*time.Second)
	stop()
	wg.Wait()

	have := streamIDs(t, r, in.Stream())
	res.acked, res.notReplicated = len(w.acked), int(w.notReplicated.Load())
	for id := range w.acked {
		if !have[id] {
			res.lost++
		}
	}
	return res
}

// writers put events with unique ids and remember which were acknowledged.
type writers struct {
	in            *intake.Intake
	mu            gosync.Mutex
	acked         map[string]ack
	notReplicated atomic.Int64
}

func (w *writers) write(ctx context.Context, g int) {
	for i := 0; ctx.Err() == nil; i++ {
		id := fmt.Sprintf("w%d-%d", g, i)
		start := time.Now()
		err := w.in.Put(ctx, []connectors.Event{{Kind: connectors.EventOrderChanged, Channel: "shop", ID: id, OrderID: id}})
		switch {
		case err == nil:
			w.mu.Lock()
			if w.acked == nil {
				w.acked = map[string]ack{}
			}
			w.acked[id] = ack{start, time.Now()}
			w.mu.Unlock()
		case errorsIsNotReplicated(err):
			w.notReplicated.Add(1)
			time.Sleep(5 * time.Millisecond)
		default:
			time.Sleep(5 * time.Millisecond) // the primary is gone: the channel would retry
		}
	}
}

func (w *writers) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *writers) waitAcked(t *testing.T, n int, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for w.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d events acknowledged, waiting for %d", w.count(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ack is when an acknowledged write was sent and when it was answered.
type ack struct{ sent, answered time.Time }

// waitAckAfter waits until a write sent after at is acknowledged, and
// returns when the first such write was.
func (w *writers) waitAckAfter(t *testing.T, at time.Time, bound time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		if first := w.firstAckAfter(at); !first.IsZero() {
			return first
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write sent after %s acknowledged within %s", at.Format(time.TimeOnly), bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// firstAckAfter is when the first write sent after at was acknowledged.
func (w *writers) firstAckAfter(at time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, a := range w.acked {
		if a.sent.After(at) && (first.IsZero() || a.answered.Before(first)) {
			first = a.answered
		}
	}
	return first
}

func errorsIsNotReplicated(err error) bool { return errors.Is(err, store.ErrNotReplicated) }

// waitSettled waits until the sentinels name one of a and b the primary
// and the other replicates it with its link up, and returns them as
// (primary, replica).
func waitSettled(t *testing.T, r *redistest.Replicated, a, b *redistest.Server) (primary, replica *redistest.Server) {
	t.Helper()
	sc := redis.NewSentinelClient(&redis.Options{Addr: r.Sentinels[0].Addr})
	defer sc.Close()
	ctx := context.Background()
	clients := map[*redistest.Server]*redis.Client{a: a.Client(t), b: b.Client(t)}
	var info string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if addr, err := sc.GetMasterAddrByName(ctx, redistest.MasterName).Result(); err == nil && len(addr) == 2 {
			primary, replica = a, b
			if b.Addr == addr[0]+":"+addr[1] {
				primary, replica = b, a
			}
			if primary.Addr == addr[0]+":"+addr[1] {
				info = clients[replica].Info(ctx, "replication").Val()
				if containsAll(info, "role:slave", "master_port:"+strconv.Itoa(primary.Port), "master_link_status:up") {
					return primary, replica
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sentinels never settled on %s or %s as the primary with the other its replica: %s", a.Addr, b.Addr, info)
		}
	}
}

// streamIDs are the event ids the stream holds on the primary now, read
// in pages.
func streamIDs(t *testing.T, r *redistest.Replicated, key string) map[string]bool {
	t.Helper()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.MasterName, SentinelAddrs: r.SentinelAddrs(), ReadTimeout: 30 * time.Second})
	defer rdb.Close()
	out := map[string]bool{}
	for from := "-"; ; {
		msgs, err := rdb.XRangeN(context.Background(), key, from, "+", 10000).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var e connectors.Event
			if s, ok := m.Values[intake.EventField].(string); ok && json.Unmarshal([]byte(s), &e) == nil {
				out[e.ID] = true
			}
		}
		if len(msgs) < 10000 {
			return out
		}
		from = "(" + msgs[len(msgs)-1].ID
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
