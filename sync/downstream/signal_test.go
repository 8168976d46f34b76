package downstream

import (
	"testing"

	"github.com/shelfsync/shelfsync/sync/stream"
)

// TestDeliveryBody: the webhook posts an order entry as {delivery_id,
// order} and a stock signal entry as {delivery_id, event}.
func TestDeliveryBody(t *testing.T) {
	cases := []struct {
		name string
		m    stream.Message
		want string
	}{
		{"order", stream.Message{Values: map[string]any{"delivery_id": "shop:1:5:2", "order": `{"order_id":"1"}`}},
			`{"delivery_id":"shop:1:5:2","order":{"order_id":"1"}}`},
		{"signal", stream.Message{Values: map[string]any{"delivery_id": "SKU-1:3", "kind": "signal", "type": "stock.out", "event": `{"type":"stock.out"}`}},
			`{"delivery_id":"SKU-1:3","event":{"type":"stock.out"}}`},
	}
	for _, c := range cases {
		b, err := deliveryBody(c.m)
		if err != nil || string(b) != c.want {
			t.Errorf("%s: %s %v, want %s", c.name, b, err, c.want)
		}
	}
}
