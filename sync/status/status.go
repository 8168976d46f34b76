// Package status keeps each channel's operational status in Redis (last
// poll, push and reconcile, their errors, drift), so the admin API of any
// replica shows what every replica did. It is a record for people; nothing
// decides anything from it, except readiness: Health is this process's
// own view of each channel (credentials accepted, poll and push not
// failing too long), fed by the Board, for /readyz.
package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/sync/outbox"
)

// ErrUnknownChannel: no channel of that name.
var ErrUnknownChannel = errors.New("unknown channel")

// ChannelStatus is what the admin API shows of a channel.
type ChannelStatus struct {
	Name    string              `json:"name"`
	Kind    string              `json:"kind"`
	Outbox  outbox.Stats        `json:"outbox"`
	Parked  []outbox.ParkedItem `json:"parked"`
	Leases  map[string]string   `json:"leases"` // job → holder ("" when free)
	Records map[string]string   `json:"status"` // last poll/push/reconcile, errors, drift
}

// Board records channel status.
type Board struct {
	rdb    redis.UniversalClient
	prefix string
	health *Health
}

// New returns a Board under prefix. No I/O.
func New(rdb redis.UniversalClient, prefix string) *Board {
	return &Board{rdb: rdb, prefix: prefix + "status:"}
}

// Feed makes the board hand every outcome it records to h (readiness)
// too, before it writes Redis: a Redis failure must not hide a channel's
// failing. h may be nil. It returns b.
func (b *Board) Feed(h *Health) *Board {
	b.health = h
	return b
}

// Record stores the outcome of a job ("poll", "push", "reconcile") now:
// <job>_at, and <job>_error (cleared on success). Extra fields are stored
// as given. Recording is best effort: a failure is returned for the caller
// to log, and never stops the job.
func (b *Board) Record(ctx context.Context, channel, job string, jobErr error, extra map[string]any) error {
	b.health.Observe(channel, job, jobErr)
	f := map[string]any{job + "_at": time.Now().UTC().Format(time.RFC3339Nano)}
	if jobErr != nil {
		f[job+"_error"] = jobErr.Error()
		f[job+"_error_at"] = f[job+"_at"]
	} else {
		f[job+"_error"] = ""
	}
	for k, v := range extra {
		f[k] = v
	}
	if err := b.rdb.HSet(ctx, b.prefix+channel, f).Err(); err != nil {
		return fmt.Errorf("recording %s status of %s: %w", job, channel, err)
	}
	return nil
}

// Get returns every recorded field of channel.
func (b *Board) Get(ctx context.Context, channel string) (map[string]string, error) {
	m, err := b.rdb.HGetAll(ctx, b.prefix+channel).Result()
	if err != nil {
		return nil, fmt.Errorf("reading status of %s: %w", channel, err)
	}
	return m, nil
}
