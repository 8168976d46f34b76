// Package shadow records what a channel in shadow mode (sync.mode: shadow)
// would have been pushed: per channel and listing, the last quantity the
// pusher would have written and when. The record is bounded (the oldest
// listings are dropped past a maximum) and lives under the channel's own
// hash tag, so it runs unchanged on Redis Cluster.
//
// Report joins the record with what the channel lists now, read through
// the connector's read role (connectors.QuantityReader, as reconcile does).
package shadow

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
)

// DefaultMax bounds the listings recorded per channel.
const DefaultMax = 100_000

// Recorder writes and reads one prefix's shadow records.
type Recorder struct {
	rdb    redis.UniversalClient
	prefix string
	max    int64
}

// New returns a Recorder under prefix keeping at most max listings per
// channel (0: DefaultMax). No I/O.
func New(rdb redis.UniversalClient, prefix string, max int64) *Recorder {
	if max <= 0 {
		max = DefaultMax
	}
	return &Recorder{rdb: rdb, prefix: prefix, max: max}
}

func (r *Recorder) keys(channel string) []string {
	tag := r.prefix + "{shadow:" + channel + "}:"
	return []string{tag + "want", tag + "at"}
}

// Entry is one would-be push.
type Entry struct {
	SKU      string    `json:"sku"`
	Quantity int64     `json:"would_push"`
	At       time.Time `json:"at"`
}

// recordScript: ARGV = max, then per entry sku, qty, at_ms. The newest
// value per listing wins; past max listings the oldest are dropped.
var recordScript = redis.NewScript(`
local max = tonumber(ARGV[1])
for i = 2, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1])
  redis.call('ZADD', KEYS[2], ARGV[i+2], ARGV[i])
end
local over = redis.call('ZCARD', KEYS[2]) - max
if over > 0 then
  for _, sku in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do
    redis.call('HDEL', KEYS[1], sku)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
end
return 0`)

// Record stores entries for channel.
func (r *Recorder) Record(ctx context.Context, channel string, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	args := make([]any, 0, 1+3*len(entries))
	args = append(args, r.max)
	for _, e := range entries {
		args = append(args, e.SKU, e.Quantity, e.At.UnixMilli())
	}
	if err := recordScript.Run(ctx, r.rdb, r.keys(channel), args...).Err(); err != nil {
		return fmt.Errorf("shadow %s record: %w", channel, err)
	}
	return nil
}

// Entries returns channel's record, sorted by listing.
func (r *Recorder) Entries(ctx context.Context, channel string) ([]Entry, error) {
	k := r.keys(channel)
	pipe := r.rdb.Pipeline()
	wants := pipe.HGetAll(ctx, k[0])
	ats := pipe.ZRangeWithScores(ctx, k[1], 0, -1)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("shadow %s entries: %w", channel, err)
	}
	out := make([]Entry, 0, len(ats.Val()))
	for _, z := range ats.Val() {
		sku, _ := z.Member.(string)
		q, err := strconv.ParseInt(wants.Val()[sku], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, Entry{SKU: sku, Quantity: q, At: time.UnixMilli(int64(z.Score)).UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out, nil
}

// Line is one listing of a report.
type Line struct {
	Entry
	// Channel is what the channel lists now; nil when it was not read
	// (ReadError) or the channel does not know the listing.
	Channel *int64 `json:"channel_shows"`
	// Differs: the channel lists something else than would be pushed.
	Differs bool `json:"differs"`
}

// Report is a channel's shadow report.
type Report struct {
	Channel string `json:"channel"`
	// Mode is the channel's sync mode now (live or shadow).
	Mode  string `json:"mode,omitempty"`
	Lines []Line `json:"listings"`
	// Differing counts the lines whose channel figure differs (or is
	// unknown to the channel).
	Differing int `json:"differing"`
	// ReadError says why the channel's figures could not be read (its
	// connector has no read role, or the read failed).
	ReadError string `json:"read_error,omitempty"`
}

// readChunk is how many listings one read asks the channel for (as
// reconcile does).
const readChunk = 100

// Report joins channel's record with what reader says it lists now;
// reader nil reports the record alone.
func (r *Recorder) Report(ctx context.Context, channel string, reader connectors.QuantityReader) (Report, error) {
	entries, err := r.Entries(ctx, channel)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Channel: channel, Lines: make([]Line, len(entries))}
	live := map[string]int64{}
	if reader == nil {
		rep.ReadError = "the connector has no read role"
	} else if err := readAll(ctx, reader, entries, live); err != nil {
		rep.ReadError = err.Error()
	}
	for i, e := range entries {
		rep.Lines[i].Entry = e
		if q, ok := live[e.SKU]; ok {
			rep.Lines[i].Channel = &q
		}
		if rep.ReadError == "" && (rep.Lines[i].Channel == nil || *rep.Lines[i].Channel != e.Quantity) {
			rep.Lines[i].Differs = true
			rep.Differing++
		}
	}
	return rep, nil
}

func readAll(ctx context.Context, reader connectors.QuantityReader, entries []Entry, into map[string]int64) error {
	for start := 0; start < len(entries); start += readChunk {
		chunk := entries[start:min(start+readChunk, len(entries))]
		skus := make([]string, len(chunk))
		for i, e := range chunk {
			skus[i] = e.SKU
		}
		got, err := reader.ReadQuantities(ctx, skus)
		if err != nil {
			return fmt.Errorf("reading the channel's quantities: %w", err)
		}
		for _, q := range got {
			into[q.SKU] = q.Quantity
		}
	}
	return nil
}

// Text writes rep as aligned lines (the CLI's report).
func (rep Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "channel %s (%s): %d listings recorded, %d differ from what the channel shows\n", rep.Channel, rep.Mode, len(rep.Lines), rep.Differing)
	if rep.ReadError != "" {
		fmt.Fprintf(&b, "  channel not read: %s\n", rep.ReadError)
	}
	for _, l := range rep.Lines {
		shows := "?"
		if l.Channel != nil {
			shows = strconv.FormatInt(*l.Channel, 10)
		}
		mark := ""
		if l.Differs {
			mark = "  *"
		}
		fmt.Fprintf(&b, "  %-30s would push %6d  channel shows %6s  at %s%s\n", l.SKU, l.Quantity, shows, l.At.Format(time.RFC3339), mark)
	}
	return b.String()
}
