package inventory

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// TestMinReplicas: with Options.MinReplicas 1 a write is reported applied
// only once the replica confirmed it (and is then on the replica); while
// the replica is frozen the call fails with ErrNotReplicated, and the same
// call repeated after the replica is back succeeds without applying twice.
// On a Cluster the WAIT goes to the SKU's own primary.
func TestMinReplicas(t *testing.T) {
	type setup struct {
		rdb     redis.UniversalClient
		replica func(key string) *redistest.Server
	}
	tests := []struct {
		name  string
		start func(t *testing.T) setup
	}{
		{"primary and replica", func(t *testing.T) setup {
			r := redistest.StartReplicated(t)
			return setup{r.Primary.Client(t), func(string) *redistest.Server { return r.Replica }}
		}},
		{"cluster", func(t *testing.T) setup {
			c := redistest.StartCluster(t)
			return setup{c.Client(t), func(key string) *redistest.Server { return c.ReplicaOf(t, c.Primary(t, key)) }}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.start(t)
			ctx := context.Background()
			prefix := redistest.Prefix()
			l := New(s.rdb, Options{Prefix: prefix, MinReplicas: 1, ReplicaTimeout: 300 * time.Millisecond})
			receive := func(key string) error {
				_, err := l.Receive(ctx, Delta{Key: key, SKU: "R-1", Location: "A", Quantity: 5})
				return err
			}
			if err := receive("r1"); err != nil {
				t.Fatalf("with the replica up: %v", err)
			}
			rep := s.replica(l.keys("R-1").stock)
			if v := rep.ReplicaClient(t).HGet(ctx, l.keys("R-1").stock, "A").Val(); v == "" {
				t.Fatal("an applied write is not on the replica")
			}
			rep.Freeze()
			err := receive("r2")
			rep.Thaw()
			if !errors.Is(err, ErrNotReplicated) {
				t.Fatalf("with the replica frozen: %v, want ErrNotReplicated", err)
			}
			if err := receive("r2"); err != nil {
				t.Fatalf("the retry: %v", err)
			}
			st, err := l.Stock(ctx, "R-1")
			if err != nil || st.Locations["A"].OnHand != 10 {
				t.Fatalf("on hand %+v (%v), want 10: each receipt once", st.Locations["A"], err)
			}
		})
	}
}
