//go:build !nosim

package main

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/demo"
)

// TestDemoConvergesOnEmbeddedRedis runs the demo as a newcomer would, on
// a port that is taken: it moves, runs five seconds of orders and ends
// with every channel converged.
func TestDemoConvergesOnEmbeddedRedis(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var stdout, stderr syncBuffer
	code := dispatch(context.Background(), []string{"demo", "--duration", "5s", "--rate", "20", "--skus", "50",
		"--listen", busy.Addr().String(), "--log-level", "error"}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, want := range []string{"is taken; listening on", "/metrics", "Authorization: Bearer ", "| pushes shopify ",
		"converged: 50/50 SKUs match the ledger's ATS"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The default ships 30% of the orders 2 s after the sale.
	m := regexp.MustCompile(`(?s)shipments: (\d+) shipped 2s after the sale .*?(\d+)/(\d+) confirmed on the fakes`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" || m[2] != m[1] || m[3] != m[1] {
		t.Errorf("no shipments, or not all confirmed on the fakes:\n%s", out)
	}
}

// TestDemoEmbeddedPollsRepeat drops every Shopify and eBay notification,
// so those orders, and eBay's cancels (eBay notifies none), reach the
// ledger only through the scheduled polls, which must keep running on the
// embedded Redis: each claims its period with a key that has to expire
// for the next poll to run (miniredis moves TTLs only when told to).
func TestDemoEmbeddedPollsRepeat(t *testing.T) {
	var stdout, stderr syncBuffer
	code := dispatch(context.Background(), []string{"demo", "--duration", "4s", "--rate", "20", "--skus", "50",
		"--drop", "1", "--poll", "1s", "--listen", "127.0.0.1:0", "--json", "--log-level", "error"}, &stdout, &stderr)
	var sum demo.Summary
	if err := json.Unmarshal([]byte(stdout.String()), &sum); err != nil {
		t.Fatalf("exit %d, summary is not JSON: %v\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
	}
	if code != 0 || !sum.Orders.OK() || sum.Orders.Orders == 0 {
		t.Fatalf("exit %d, orders %+v: want every order in the ledger as placed\nstderr:\n%s", code, sum.Orders, stderr.String())
	}
}

// TestEmbeddedRedisExpiresKeys: a key set with a TTL on the demo's store
// is gone once its TTL has passed on the wall clock.
func TestEmbeddedRedisExpiresKeys(t *testing.T) {
	m := miniredis.RunT(t)
	stop := expireInRealTime(m, 10*time.Millisecond)
	defer stop()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "claim", "x", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n, err := rdb.Exists(ctx, "claim").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a key with a 50ms TTL still exists 10s later")
		}
	}
}

// TestDemoOnRealRedis runs the demo against the real Redis under a test
// prefix, with the JSON summary.
func TestDemoOnRealRedis(t *testing.T) {
	rdb, prefix := redistest.New(t)
	var stdout, stderr syncBuffer
	code := dispatch(context.Background(), []string{"demo", "--duration", "5s", "--rate", "20", "--skus", "50",
		"--listen", "127.0.0.1:0", "--redis", redistest.Addr(), "--key-prefix", prefix, "--json", "--log-level", "error",
		"--ship-share", "1", "--ship-after", "1s"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	var sum demo.Summary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	if !sum.Converged || sum.Convergence.SKUs != 50 || sum.Convergence.Matching != 50 {
		t.Fatalf("summary %+v: not converged", sum.Convergence)
	}
	var placed int64
	var applied float64
	for _, c := range sum.Channels {
		placed += c.OrdersPlaced
		applied += c.OrdersApplied
	}
	if placed == 0 || applied == 0 {
		t.Fatalf("no orders went through: placed %d, applied %.0f", placed, applied)
	}
	checkDemoShipments(t, sum)
	// The ledger lives in the real Redis, under the given prefix.
	keys, err := rdb.Keys(context.Background(), prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("no keys under %s in the real Redis (%v)", prefix, err)
	}
}

// checkDemoShipments: every channel whose connector confirms shipped
// orders, and each shipment is confirmed by the daemon and held by the
// fake, once, under its tracking number.
func checkDemoShipments(t *testing.T, sum demo.Summary) {
	t.Helper()
	sc := sum.Shipments
	if sc.Shipped == 0 || !sc.OK() || sc.Share != 1 {
		t.Fatalf("shipments %+v: want some, all confirmed on the fakes", sc)
	}
	ships := 0
	for _, c := range sum.Channels {
		if !c.Ships {
			if c.Shipped != 0 {
				t.Errorf("%s does not confirm shipments, but %d were shipped", c.Name, c.Shipped)
			}
			continue
		}
		ships++
		if c.Shipped == 0 || c.ShipConfirmed != float64(c.Shipped) || c.ShipOnFake != int(c.Shipped) || c.ShipPending != 0 || c.ShipParked != 0 {
			t.Errorf("%s: shipped %d, confirmed %.0f, on the fake %d, pending %.0f, parked %.0f: want all confirmed",
				c.Name, c.Shipped, c.ShipConfirmed, c.ShipOnFake, c.ShipPending, c.ShipParked)
		}
	}
	if ships < 3 {
		t.Errorf("%d channels confirm shipments, want at least Shopify, eBay and Amazon", ships)
	}
}

func TestDemoRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no SKUs", []string{"--skus", "0"}},
		{"negative rate", []string{"--rate", "-1"}},
		{"negative duration", []string{"--duration", "-1s"}},
		{"ship share over 1", []string{"--ship-share", "1.5"}},
		{"negative ship delay", []string{"--ship-after", "-1s"}},
		{"unknown flag", []string{"--nope"}},
		{"stray argument", []string{"extra"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			if code := dispatch(context.Background(), append([]string{"demo"}, tc.args...), &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr.String())
			}
		})
	}
}
