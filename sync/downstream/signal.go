package downstream

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/stream"
)

// Stock signals (stock.low, stock.out, stock.back) share the stream with
// orders: an entry with kind "signal", type, sku, delivery_id (the event's
// id, SKU:seq) and event (its JSON). A SKU's event is published once: the
// SKU's last published sequence number is kept beside the stream, so the
// signal sweeper moving it again after a crash publishes nothing, and a
// consumer that saw a delivery id already (the stream is at least once as
// a whole) skips it.

// signalScript: KEYS = stream, the SKU's last published seq; ARGV = seq,
// ttl_ms, maxlen, delivery id, type, sku, event json.
var signalScript = redis.NewScript(`
local last = redis.call('GET', KEYS[2])
if last and tonumber(last) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local maxlen = tonumber(ARGV[3])
if maxlen > 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'delivery_id', ARGV[4], 'kind', 'signal', 'type', ARGV[5], 'sku', ARGV[6], 'event', ARGV[7])
else
  redis.call('XADD', KEYS[1], '*', 'delivery_id', ARGV[4], 'kind', 'signal', 'type', ARGV[5], 'sku', ARGV[6], 'event', ARGV[7])
end
return 1`)

// PublishSignal appends a stock signal event unless the SKU's event with
// this or a later sequence number was published already; it reports
// whether it published.
func (p *Publisher) PublishSignal(ctx context.Context, ev inventory.SignalEvent) (bool, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("encoding signal %s: %w", ev.ID, err)
	}
	st := p.streams[stream.PartitionOf("sku\x00"+ev.SKU, len(p.streams))]
	keys := []string{st, st + ":sig:" + ev.SKU}
	n, err := signalScript.Run(ctx, p.rdb, keys, ev.Seq, p.ttl.Milliseconds(), p.maxLen, ev.ID, ev.Type, ev.SKU, b).Int()
	if err != nil {
		return false, fmt.Errorf("publishing signal %s downstream: %w", ev.ID, err)
	}
	return n == 1, nil
}
