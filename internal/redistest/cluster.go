package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a local Redis Cluster of three primaries and three replicas a
// test started on ports in 7000-7099; it is killed, and its files removed,
// when the test ends.
type Cluster struct {
	Nodes []*Server
}

// Addrs are the nodes' addresses (any of them seeds a client).
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// Client is a Cluster client of it.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), PoolSize: 64})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// StartCluster starts a Cluster (3 primaries, 1 replica each) and waits
// until every node reports cluster_state:ok and every replica is in sync.
// It skips the test only when redis-server is not installed.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	NeedServer(t)
	dir := t.TempDir()
	c := &Cluster{}
	withRetries(t, func(g *group) error {
		c.Nodes = nil
		base, err := pickBase(clusterPorts, 6, true)
		if err != nil {
			return err
		}
		for p := base; p < base+6; p++ {
			args := append(baseArgs(p), "--cluster-enabled", "yes",
				"--cluster-config-file", fmt.Sprintf("nodes-%d.conf", p), "--cluster-node-timeout", "2000")
			s, err := g.start(dir, p, args...)
			if err != nil {
				return err
			}
			c.Nodes = append(c.Nodes, s)
		}
		return c.create()
	})
	return c
}

// create joins the nodes with redis-cli --cluster create and waits for the
// cluster to be whole.
func (c *Cluster) create() error {
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("redis-cli --cluster create: %w: %s", err, tail(string(out)))
	}
	return c.waitReady(30 * time.Second)
}

// waitReady waits until every node says cluster_state:ok and knows all
// six nodes, and each replica's link to its primary is up.
func (c *Cluster) waitReady(bound time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for _, n := range c.Nodes {
		rc := redis.NewClient(&redis.Options{Addr: n.Addr})
		err := poll(ctx, func() bool {
			info, err := rc.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:6") {
				return false
			}
			repl, err := rc.Info(ctx, "replication").Result()
			return err == nil && (strings.Contains(repl, "role:master") || strings.Contains(repl, "master_link_status:up"))
		})
		_ = rc.Close()
		if err != nil {
			return fmt.Errorf("cluster node %s: %w", n.Addr, err)
		}
	}
	return nil
}

// poll calls ok every 50 ms until it is true or ctx ends.
func poll(ctx context.Context, ok func() bool) error {
	for !ok() {
		select {
		case <-ctx.Done():
			return errNotReady
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Primary is the node that serves key's slot now.
func (c *Cluster) Primary(t testing.TB, key string) *Server {
	t.Helper()
	cc := c.Client(t)
	m, err := cc.MasterForKey(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if n.Addr == m.Options().Addr {
			return n
		}
	}
	t.Fatalf("no node at %s", m.Options().Addr)
	return nil
}

// port is a Server's port as a string.
func (s *Server) port() string { return strconv.Itoa(s.Port) }

// ReplicaOf is the node that replicates primary now.
func (c *Cluster) ReplicaOf(t testing.TB, primary *Server) *Server {
	t.Helper()
	ctx := context.Background()
	for _, n := range c.Nodes {
		info, err := n.Client(t).Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, "master_port:"+primary.port()+"\r\n") {
			return n
		}
	}
	t.Fatalf("no replica of %s", primary.Addr)
	return nil
}
