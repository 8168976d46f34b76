package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/intake"
)

// TestReplayOfAPartitionedDeadLetter: a dead letter of a partitioned
// intake is listed with its partition in its id, and that id, one path
// segment, replays it through the API.
func TestReplayOfAPartitionedDeadLetter(t *testing.T) {
	rdb, prefix := redistest.New(t)
	in := intake.New(rdb, intake.Options{Prefix: prefix, Consumer: "t", Partitions: 3, Block: 50 * time.Millisecond, Logger: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- in.Run(ctx, func(_ context.Context, evs []connectors.Event) []error {
			errs := make([]error, len(evs))
			for i := range evs {
				errs[i] = intake.Refuse("never")
			}
			return errs
		})
	}()
	if err := in.Put(ctx, []connectors.Event{{Kind: connectors.EventOrderChanged, Channel: "shop", OrderID: "42"}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) { // a hang guard
		if dl, _ := in.DeadLetters(ctx, 10); len(dl) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no dead letter")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h := New(Deps{DeadLetters: in}, "tok", zerolog.Nop())
	w := do(h, "GET", "/api/v1/deadletters", "tok", "")
	var list []intake.DeadLetter
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list) != 1 {
		t.Fatalf("listing: %d %s (%v)", w.Code, w.Body, err)
	}
	w = do(h, "POST", "/api/v1/deadletters/"+url.PathEscape(list[0].ID)+"/replay", "tok", "")
	if w.Code != http.StatusAccepted {
		t.Fatalf("replay of %s: %d %s", list[0].ID, w.Code, w.Body)
	}
	if n, err := in.Backlog(context.Background()); err != nil || n != 1 {
		t.Fatalf("backlog after the replay %d (%v), want 1", n, err)
	}
}
