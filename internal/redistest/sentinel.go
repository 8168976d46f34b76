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

// Replicated is a primary and its replicas a test started on ports in
// 7100-7199, and, for a Sentinel setup, three sentinels watching them.
// Everything is killed, and its files removed, when the test ends.
type Replicated struct {
	Primary   *Server
	Replica   *Server // the first of Replicas
	Replicas  []*Server
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
	return startReplicated(t, 1, false)
}

// StartSentinel is StartReplicated plus three sentinels (quorum 2, the
// primary deemed down after 1 s), and waits until every sentinel knows
// the replica and the other sentinels.
func StartSentinel(t testing.TB) *Replicated {
	t.Helper()
	return startReplicated(t, 1, true)
}

// StartSentinelReplicas is StartSentinel with n replicas (1 or 2).
func StartSentinelReplicas(t testing.TB, n int) *Replicated {
	t.Helper()
	return startReplicated(t, n, true)
}

func startReplicated(t testing.TB, replicas int, sentinels bool) *Replicated {
	t.Helper()
	NeedServer(t)
	dir := t.TempDir()
	r := &Replicated{}
	withRetries(t, func(g *group) error {
		*r = Replicated{}
		base, err := pickBase(sentinelPorts, 1+replicas+3, false)
		if err != nil {
			return err
		}
		if r.Primary, err = g.start(dir, base, baseArgs(base)...); err != nil {
			return err
		}
		for p := base + 1; p <= base+replicas; p++ {
			args := append(baseArgs(p), "--replicaof", "127.0.0.1", r.Primary.port())
			s, err := g.start(dir, p, args...)
			if err != nil {
				return err
			}
			r.Replicas = append(r.Replicas, s)
		}
		r.Replica = r.Replicas[0]
		if err := r.waitInSync(10 * time.Second); err != nil {
			return err
		}
		if !sentinels {
			return nil
		}
		for p := base + 1 + replicas; p < base+4+replicas; p++ {
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

// waitInSync waits until every replica's link is up and the primary
// counts them all as connected.
func (r *Replicated) waitInSync(bound time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	p := redis.NewClient(&redis.Options{Addr: r.Primary.Addr})
	defer p.Close()
	want := fmt.Sprintf("connected_slaves:%d", len(r.Replicas))
	for _, s := range r.Replicas {
		rep := redis.NewClient(&redis.Options{Addr: s.Addr})
		err := poll(ctx, func() bool {
			a, err1 := rep.Info(ctx, "replication").Result()
			b, err2 := p.Info(ctx, "replication").Result()
			return err1 == nil && err2 == nil && strings.Contains(a, "master_link_status:up") && strings.Contains(b, want)
		})
		_ = rep.Close()
		if err != nil {
			return fmt.Errorf("replica %s never in sync: %w", s.Addr, err)
		}
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
			return err == nil && m["num-slaves"] == fmt.Sprint(len(r.Replicas)) && m["num-other-sentinels"] == "2"
		})
		_ = sc.Close()
		if err != nil {
			return fmt.Errorf("sentinel %s never saw the replica and its peers: %w", s.Addr, err)
		}
	}
	return nil
}

// WaitPrimary waits until every sentinel names addr as the primary. All of
// them, not one: a failover client asks the one sentinel it is attached to
// for the primary's address on each dial, and a sentinel learns a new
// configuration from the others' hello messages (a second or more on a
// loaded machine), so until then a client may still dial the old primary.
func (r *Replicated) WaitPrimary(t testing.TB, addr string, bound time.Duration) {
	t.Helper()
	if _, err := r.waitAgreed(bound, func(a string) bool { return a == addr }); err != nil {
		t.Fatalf("the sentinels never all named %s the primary: %v", addr, err)
	}
}

// WaitNewPrimary waits until every sentinel names one same primary other
// than old (see WaitPrimary), and returns it.
func (r *Replicated) WaitNewPrimary(t testing.TB, old *Server, bound time.Duration) *Server {
	t.Helper()
	now, err := r.waitAgreed(bound, func(a string) bool { return a != old.Addr })
	if err != nil {
		t.Fatalf("the sentinels never all replaced %s: %v", old.Addr, err)
	}
	for _, s := range r.Replicas {
		if s.Addr == now {
			return s
		}
	}
	t.Fatalf("the sentinels name %s, not one of the replicas", now)
	return nil
}

// waitAgreed polls, for up to bound, until every sentinel names the same
// primary and ok holds for it, and returns it.
func (r *Replicated) waitAgreed(bound time.Duration, ok func(addr string) bool) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	clients := make([]*redis.SentinelClient, len(r.Sentinels))
	for i, s := range r.Sentinels {
		clients[i] = redis.NewSentinelClient(&redis.Options{Addr: s.Addr})
		defer clients[i].Close()
	}
	var agreed string
	err := poll(ctx, func() bool {
		agreed = ""
		for i, sc := range clients {
			a, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
			if err != nil || len(a) != 2 || (i > 0 && a[0]+":"+a[1] != agreed) {
				return false
			}
			agreed = a[0] + ":" + a[1]
		}
		return ok(agreed)
	})
	return agreed, err
}
