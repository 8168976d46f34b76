package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/inventory"
)

// LinePart is one ledger line a channel's order line was translated into,
// and how many of its units one unit of the channel's line takes.
type LinePart struct {
	LineID string `json:"line"`
	SKU    string `json:"sku"`
	Per    int64  `json:"per"`
}

// LineMap is how a channel's order line was translated into ledger lines
// (ExpandLine) the last time a state of it was applied: the listing the
// channel named and the ledger lines with their units per unit of the
// channel's line. A shipment or a return that names the channel's line
// (its line id, its listing and its quantity) is turned into ledger units
// with it, and the channel's line is what is confirmed back.
type LineMap struct {
	Channel string     `json:"-"`
	OrderID string     `json:"-"`
	LineID  string     `json:"-"`
	Listing string     `json:"listing"`
	Parts   []LinePart `json:"parts"`
}

// Translation is the LineMap of the channel's line state st under r, and
// whether it is a translation at all: false when the line is its own
// ledger line (same line id and SKU, one unit per unit), which needs no
// map.
func Translation(st inventory.LineState, r Resolution) (LineMap, bool) {
	if Unchanged(st, r) {
		return LineMap{}, false
	}
	m := LineMap{Channel: st.Channel, OrderID: st.OrderID, LineID: st.LineID, Listing: st.SKU}
	for _, p := range r.Parts {
		id := st.LineID
		if r.Kit != "" {
			id = KitLineID(st.LineID, p.SKU)
		}
		m.Parts = append(m.Parts, LinePart{LineID: id, SKU: p.SKU, Per: p.Per})
	}
	if len(m.Parts) == 1 && m.Parts[0].LineID == st.LineID && m.Parts[0].SKU == st.SKU && m.Parts[0].Per == 1 {
		return LineMap{}, false
	}
	return m, true
}

// lineMapKey is the hash of an order's translated lines: channel line id →
// LineMap JSON.
func (c *Catalog) lineMapKey(channel, orderID string) string {
	return c.prefix + "lmap:{" + tagOf(channel+sep+orderID) + "}"
}

// RecordLines stores the translations of order lines (one round trip;
// none when maps is empty); each order's map expires ttl after its last
// write (the ledger's line_ttl: as long as the ledger keeps the lines).
func (c *Catalog) RecordLines(ctx context.Context, maps []LineMap, ttl time.Duration) error {
	if len(maps) == 0 {
		return nil
	}
	if ttl <= 0 {
		return fmt.Errorf("recording order line translations: ttl %s is not positive", ttl)
	}
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		seen := map[string]bool{}
		for _, m := range maps {
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			k := c.lineMapKey(m.Channel, m.OrderID)
			p.HSet(ctx, k, m.LineID, b)
			if !seen[k] {
				seen[k] = true
				p.PExpire(ctx, k, ttl)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording %d order line translations: %w", len(maps), err)
	}
	return nil
}

// LineMaps reads the translated lines of an order: channel line id → its
// map (empty when no line of the order was translated).
func (c *Catalog) LineMaps(ctx context.Context, channel, orderID string) (map[string]LineMap, error) {
	raw, err := c.rdb.HGetAll(ctx, c.lineMapKey(channel, orderID)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the translated lines of %s/%s: %w", channel, orderID, err)
	}
	out := make(map[string]LineMap, len(raw))
	for line, v := range raw {
		var m LineMap
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("translated line %s of %s/%s: %w", line, channel, orderID, err)
		}
		m.Channel, m.OrderID, m.LineID = channel, orderID, line
		out[line] = m
	}
	return out, nil
}
