package ingest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/inventory"
)

// Parking holds order lines whose SKU the ledger does not know yet, per
// SKU, newest version of each line only. Nothing is dropped: the lines
// apply when the SKU appears (Ingester.Unpark). All keys share one hash
// tag, so each operation is one atomic script on Redis Cluster too.
type Parking struct {
	rdb   redis.UniversalClient
	skus  string // set of SKUs with parked lines
	lines string // prefix of per-SKU hashes: field channel|order|line → LineState JSON
}

// NewParking returns the parking under prefix. No I/O.
func NewParking(rdb redis.UniversalClient, prefix string) *Parking {
	return &Parking{rdb: rdb, skus: prefix + "{parked}:skus", lines: prefix + "{parked}:lines:"}
}

func lineKey(s inventory.LineState) string { return s.Channel + "|" + s.OrderID + "|" + s.LineID }

// parkScript: KEYS[1] = skus set, KEYS[n+1] = line n's hash; ARGV = per
// line: field, version, json, sku.
var parkScript = redis.NewScript(`
for n = 1, #KEYS - 1 do
  local i = 4 * (n - 1) + 1
  local key, field, ver, js, sku = KEYS[n+1], ARGV[i], tonumber(ARGV[i+1]), ARGV[i+2], ARGV[i+3]
  local cur = redis.call('HGET', key, field)
  local keep = true
  if cur then
    local c = cjson.decode(cur)
    if tonumber(c['Version']) >= ver then keep = false end
  end
  if keep then redis.call('HSET', key, field, js) end
  redis.call('SADD', KEYS[1], sku)
end
return 1`)

// Park stores lines, keeping the newest version of each.
func (p *Parking) Park(ctx context.Context, lines []inventory.LineState) error {
	keys := make([]string, 0, 1+len(lines))
	keys = append(keys, p.skus)
	args := make([]any, 0, 4*len(lines))
	for _, s := range lines {
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encoding parked line: %w", err)
		}
		keys = append(keys, p.lines+s.SKU)
		args = append(args, lineKey(s), s.Version, b, s.SKU)
	}
	if err := parkScript.Run(ctx, p.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("parking lines: %w", err)
	}
	return nil
}

// Lines returns the lines parked for skus: one SMISMEMBER of the parked
// set (the sweeper asks for every SKU that changed, and almost none has
// parked lines), then the lines of those that have some.
func (p *Parking) Lines(ctx context.Context, skus []string) ([]inventory.LineState, error) {
	if len(skus) == 0 {
		return nil, nil
	}
	members := make([]any, len(skus))
	for i, s := range skus {
		members[i] = s
	}
	has, err := p.rdb.SMIsMember(ctx, p.skus, members...).Result()
	if err != nil {
		return nil, fmt.Errorf("reading parked SKUs: %w", err)
	}
	pipe := p.rdb.Pipeline()
	var cmds []*redis.MapStringStringCmd
	for i, s := range skus {
		if has[i] {
			cmds = append(cmds, pipe.HGetAll(ctx, p.lines+s))
		}
	}
	if len(cmds) == 0 {
		return nil, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("reading parked lines: %w", err)
	}
	var out []inventory.LineState
	for _, c := range cmds {
		for _, v := range c.Val() {
			var s inventory.LineState
			if err := json.Unmarshal([]byte(v), &s); err != nil {
				return nil, fmt.Errorf("decoding parked line: %w", err)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// removeScript deletes a parked line only if it is still the version that
// was applied (a newer one parked meanwhile stays).
var removeScript = redis.NewScript(`
for n = 1, #KEYS - 1 do
  local i = 3 * (n - 1) + 1
  local key, field, ver, sku = KEYS[n+1], ARGV[i], tonumber(ARGV[i+1]), ARGV[i+2]
  local cur = redis.call('HGET', key, field)
  if cur and tonumber(cjson.decode(cur)['Version']) <= ver then redis.call('HDEL', key, field) end
  if redis.call('EXISTS', key) == 0 then redis.call('SREM', KEYS[1], sku) end
end
return 1`)

// Remove drops lines that were applied.
func (p *Parking) Remove(ctx context.Context, lines []inventory.LineState) error {
	if len(lines) == 0 {
		return nil
	}
	keys := make([]string, 0, 1+len(lines))
	keys = append(keys, p.skus)
	args := make([]any, 0, 3*len(lines))
	for _, s := range lines {
		keys = append(keys, p.lines+s.SKU)
		args = append(args, lineKey(s), s.Version, s.SKU)
	}
	if err := removeScript.Run(ctx, p.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("removing parked lines: %w", err)
	}
	return nil
}

// SKUs lists the SKUs that have parked lines.
func (p *Parking) SKUs(ctx context.Context) ([]string, error) {
	s, err := p.rdb.SMembers(ctx, p.skus).Result()
	if err != nil {
		return nil, fmt.Errorf("reading parked SKUs: %w", err)
	}
	return s, nil
}

// Count is the number of SKUs with parked lines.
func (p *Parking) Count(ctx context.Context) (int64, error) {
	n, err := p.rdb.SCard(ctx, p.skus).Result()
	if err != nil {
		return 0, fmt.Errorf("counting parked SKUs: %w", err)
	}
	return n, nil
}
