package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/internal/redistest"
)

// TestDaemonContinuesThroughFrozenPrimary is the flow on a primary with
// two replicas behind Sentinel, min_replicas_acked 1, with the primary
// frozen (SIGSTOP: alive but silent, as in a long stall) a second into the
// orders: the sentinels promote a replica and the daemon goes on against
// it; then the old primary is thawed, finds itself demoted and rejoins as
// the new primary's replica. runFlow checks the end state: every placed
// order in the ledger as placed (nothing acknowledged lost, nothing
// doubled), every channel converged, no dead letters, Verify clean.
func TestDaemonContinuesThroughFrozenPrimary(t *testing.T) {
	t.Parallel()
	r := redistest.StartSentinelReplicas(t, 2)
	prefix := redistest.Prefix()
	old := r.Primary
	t.Cleanup(old.Thaw) // before the servers' own cleanup kills it
	var promoted *redistest.Server
	runFlow(t, func(rc *config.Redis) {
		rc.Mode, rc.Addr, rc.MasterName, rc.SentinelAddrs, rc.KeyPrefix = config.RedisSentinel, "", redistest.MasterName, r.SentinelAddrs(), prefix
		rc.MinReplicasAcked = 2 // every replica: Sentinel may promote either
	}, func() {
		frozen := time.Now()
		old.Freeze()
		promoted = r.WaitNewPrimary(t, old, 30*time.Second)
		t.Logf("primary frozen; %s promoted after %s", promoted.Addr, time.Since(frozen).Round(10*time.Millisecond))
		old.Thaw()
	})
	if promoted == nil {
		t.Fatal("no failover happened")
	}
	port := promoted.Addr[strings.LastIndexByte(promoted.Addr, ':')+1:]
	c := old.Client(t)
	thawed := time.Now()
	var info string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		info = c.Info(context.Background(), "replication").Val()
		if strings.Contains(info, "role:slave") && strings.Contains(info, "master_port:"+port+"\r") &&
			strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the thawed primary did not rejoin as %s's replica:\n%s", promoted.Addr, info)
		}
	}
	t.Logf("the thawed primary replicates %s (%s after the flow's checks ended)", promoted.Addr, time.Since(thawed).Round(10*time.Millisecond))
}
