package shopify

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// costBucket mirrors Shopify's GraphQL leaky bucket from what every
// response reports (extensions.cost.throttleStatus), so calls wait here
// instead of being refused there. Before a call it reserves the cost that
// operation asked for last time; until Shopify has reported once, calls
// go straight through. It uses the real monotonic clock, not Deps.Now:
// it paces real waits.
type costBucket struct {
	mu        sync.Mutex
	known     bool
	available float64
	maximum   float64
	restore   float64 // points per second
	at        time.Time
	lastCost  map[string]float64 // operation → requestedQueryCost
}

type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

type queryCost struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     throttleStatus `json:"throttleStatus"`
}

func newCostBucket() *costBucket {
	return &costBucket{lastCost: map[string]float64{}}
}

// level is the bucket's content now, restored since the last report.
// Call with mu held.
func (b *costBucket) level(now time.Time) float64 {
	return math.Min(b.maximum, b.available+b.restore*now.Sub(b.at).Seconds())
}

// estimate is the gauge's value.
func (b *costBucket) estimate() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known {
		return 0
	}
	return b.level(time.Now())
}

// backgroundReserve is the share of the bucket a background operation
// leaves untouched for the operations a sale waits on.
const backgroundReserve = 0.5

// wait blocks until the bucket holds what op cost last time, then takes
// it. A background op also waits until backgroundReserve of the bucket
// would be left after it.
func (b *costBucket) wait(ctx context.Context, op string, background bool) error {
	for {
		b.mu.Lock()
		need := b.lastCost[op]
		if !b.known || need <= 0 || b.restore <= 0 {
			b.mu.Unlock()
			return ctx.Err()
		}
		need = math.Min(need, b.maximum)
		want := need
		if background {
			want = math.Min(need+backgroundReserve*b.maximum, b.maximum)
		}
		now := time.Now()
		lvl := b.level(now)
		if lvl >= want {
			b.available, b.at = lvl-need, now
			b.mu.Unlock()
			return ctx.Err()
		}
		d := time.Duration((want - lvl) / b.restore * float64(time.Second))
		b.mu.Unlock()
		if err := connectors.WaitContext(ctx, d); err != nil {
			return err
		}
	}
}

// observe takes what Shopify reported after a call of op.
func (b *costBucket) observe(op string, c *queryCost) {
	if c == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.RequestedQueryCost > 0 {
		b.lastCost[op] = c.RequestedQueryCost
	}
	ts := c.ThrottleStatus
	if ts.MaximumAvailable <= 0 {
		return
	}
	b.known = true
	b.maximum, b.available, b.restore, b.at = ts.MaximumAvailable, ts.CurrentlyAvailable, ts.RestoreRate, time.Now()
}

// throttledWait is how long to wait after a THROTTLED answer: until
// the bucket has restored the requested cost.
func (b *costBucket) throttledWait(c *queryCost) time.Duration {
	const fallback = time.Second // Shopify said THROTTLED without numbers
	if c == nil || c.ThrottleStatus.RestoreRate <= 0 {
		return fallback
	}
	need := c.RequestedQueryCost - c.ThrottleStatus.CurrentlyAvailable
	if need <= 0 {
		need = 1
	}
	return time.Duration(need / c.ThrottleStatus.RestoreRate * float64(time.Second))
}
