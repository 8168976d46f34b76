package demo

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/shelfsync/shelfsync/connectors/sim"
)

// notification is one marketplace notification of a channel, ready to
// (re)deliver. Delivering it twice is what a marketplace's retry does:
// same body, same delivery id.
type notification struct {
	channel string
	n       sim.Notification // nil: the marketplace sends none
}

// deliver hands n to the daemon as its marketplace would (the channel's
// sim.Notification: a signed webhook POSTed to /webhooks/{channel},
// retrying a refusal a few times as marketplaces do, or a message on the
// fake's queue, status 0, never retried).
func (g *Generator) deliver(ctx context.Context, n notification) (int, error) {
	var (
		code int
		err  error
	)
	for attempt := range 3 {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * 200 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return code, ctx.Err()
			case <-t.C:
			}
		}
		code, err = n.n.Deliver(ctx, g.o.Client, g.o.Target)
		if err == nil && code < 500 && code != http.StatusTooManyRequests {
			return code, nil
		}
	}
	return code, err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
