package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the test sentinels monitor their primary by.
const MasterName = "shelfsync-test"

// Replicated is a primary and one replica a test started on ports in
// 7100-7199, and, for a Sentinel setup, three sentinels watching them.
// Everything is killed, and its files removed, when the test ends.
type Replicated struct {
	Primary   *Server
	Replica   *Server
	Sentinels []*Server
}

// SentinelAddrs are the sentinels' addresses.
func (r *Replicated) SentinelAddrs() []string {
	out := make([]string, len(r.Sentinels))
	for i, s := range r.Sentinels {
		out[i] = s.Addr
	}
	return out
}

// FailoverClient is a client that finds the primary through the sentinels.
func (r *Replicated) FailoverClient(t testing.TB) *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: MasterName, SentinelAddrs: r.SentinelAddrs(), PoolSize: 64})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// StartReplicated starts a primary and a replica of it, and waits until the
// replica is in sync. It skips the test only when redis-server is not
// installed.
func StartReplicated(t testing.TB) *Replicated {
	t.Helper()
	return startReplicated(t, false)
}

// StartSentinel is StartReplicated plus three sentinels (quorum 2, the
// primary deemed down after 1 s), and waits until every sentinel knows
// the replica and the other sentinels.
func StartSentinel(t testing.TB) *Replicated {
	t.Helper()
	return startReplicated(t, true)
}

func startReplicated(t testing.TB, sentinels bool) *Replicated {
	t.Helper()
	NeedServer(t)
	dir := t.TempDir()
	r := &Replicated{}
	withRetries(t, func(g *group) error {
		*r = Replicated{}
		base, err := pickBase(sentinelPorts, 5, false)
		if err != nil {
			return err
		}
		if r.Primary, err = g.start(dir, base, baseArgs(base)...); err != nil {
			return err
		}
		args := append(baseArgs(base+1), "--replicaof", "127.0.0.1", r.Primary.port())
		if r.Replica, err = g.start(dir, base+1, args...); err != nil {
			return err
		}
		if err := r.waitInSync(10 * time.Second); err != nil {
			return err
		}
		if !sentinels {
			return nil
		}
		for p := base + 2; p < base+5; p++ {
			s, err := startSentinel(g, dir, p, r.Primary.port())
			if err != nil {
				return err
			}
			r.Sentinels = append(r.Sentinels, s)
		}
		return r.waitSentinels(20 * time.Second)
	})
	return r
}

// startSentinel starts a sentinel on port watching the primary at
// 127.0.0.1:primaryPort; its config file is its own (sentinels rewrite it).
func startSentinel(g *group, dir string, port int, primaryPort string) (*Server, error) {
	conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", port))
	body := fmt.Sprintf(`port %d
bind 127.0.0.1
protected-mode no
dir %s
sentinel monitor %s 127.0.0.1 %s 2
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 5000
sentinel parallel-syncs %s 1
`, port, dir, MasterName, primaryPort, MasterName, MasterName, MasterName)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, fmt.Errorf("writing sentinel config: %w", err)
	}
	return g.start(dir, port, conf, "--sentinel", "--daemonize", "no")
}

// waitInSync waits until the replica's link is up and the primary counts
// it as connected.
func (r *Replicated) waitInSync(bound time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	p := redis.NewClient(&redis.Options{Addr: r.Primary.Addr})
	defer p.Close()
	rep := redis.NewClient(&redis.Options{Addr: r.Replica.Addr})
	defer rep.Close()
	if err := poll(ctx, func() bool {
		a, err1 := rep.Info(ctx, "replication").Result()
		b, err2 := p.Info(ctx, "replication").Result()
		return err1 == nil && err2 == nil && strings.Contains(a, "master_link_status:up") && strings.Contains(b, "connected_slaves:1")
	}); err != nil {
		return fmt.Errorf("replica %s never in sync: %w", r.Replica.Addr, err)
	}
	return nil
}

// waitSentinels waits until every sentinel sees the replica and the two
// other sentinels, so a failover can be agreed on.
func (r *Replicated) waitSentinels(bound time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for _, s := range r.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr})
		err := poll(ctx, func() bool {
			m, err := sc.Master(ctx, MasterName).Result()
			return err == nil && m["num-slaves"] == "1" && m["num-other-sentinels"] == "2"
		})
		_ = sc.Close()
		if err != nil {
			return fmt.Errorf("sentinel %s never saw the replica and its peers: %w", s.Addr, err)
		}
	}
	return nil
}

// WaitPrimary waits until the sentinels name addr as the primary.
func (r *Replicated) WaitPrimary(t testing.TB, addr string, bound time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: r.Sentinels[0].Addr})
	defer sc.Close()
	if err := poll(ctx, func() bool {
		a, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
		return err == nil && len(a) == 2 && a[0]+":"+a[1] == addr
	}); err != nil {
		t.Fatalf("the sentinels never named %s the primary", addr)
	}
}
