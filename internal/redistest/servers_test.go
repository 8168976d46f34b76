package redistest

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestStartCluster: the cluster has three primaries, each with a replica,
// serves keys of every slot, and is gone (processes and files) after the
// test's cleanup.
func TestStartCluster(t *testing.T) {
	var c *Cluster
	var dirs []string
	t.Run("up", func(t *testing.T) {
		c = StartCluster(t)
		cc := c.Client(t)
		ctx := context.Background()
		for _, k := range []string{"a", "b", "c", "d", "{x}1", "{x}2"} {
			if err := cc.Set(ctx, k, "v", 0).Err(); err != nil {
				t.Fatalf("set %s: %v", k, err)
			}
		}
		var masters atomic.Int32
		replicas := 0
		_ = cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error { masters.Add(1); return nil })
		for _, n := range c.Nodes {
			if strings.Contains(n.Client(t).Info(ctx, "replication").Val(), "role:slave") {
				replicas++
			}
		}
		if masters.Load() != 3 || replicas != 3 {
			t.Fatalf("%d primaries, %d replicas; want 3 and 3", masters.Load(), replicas)
		}
		for _, n := range c.Nodes {
			dirs = append(dirs, n.log)
		}
	})
	for _, n := range c.Nodes {
		if !n.exited() {
			t.Errorf("node %s still running after the test", n.Addr)
		}
	}
	for _, l := range dirs {
		if _, err := os.Stat(l); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", l, err)
		}
	}
}

// TestStartSentinelFailsOver: writes through the sentinels reach the
// primary and its replica; after the primary is killed the sentinels
// promote the replica and the same client writes there.
func TestStartSentinelFailsOver(t *testing.T) {
	r := StartSentinel(t)
	c := r.FailoverClient(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Wait(ctx, 1, time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1: %d %v", n, err)
	}
	if v := r.Replica.Client(t).Get(ctx, "k").Val(); v != "1" {
		t.Fatalf("the replica holds %q", v)
	}
	r.Primary.Kill()
	r.WaitPrimary(t, r.Replica.Addr, 30*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.Set(ctx, "k", "2", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write after the failover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v := r.Replica.Client(t).Get(ctx, "k").Val(); v != "2" {
		t.Fatalf("the promoted replica holds %q", v)
	}
}
