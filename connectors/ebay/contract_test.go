package ebay

import (
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/connectortest"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

// TestContract runs the pusher and reader contract every connector keeps
// against a fresh fake eBay behind a connectortest.Proxy (the token
// endpoint included).
func TestContract(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) *connectortest.Channel {
		var proxy *connectortest.Proxy
		e := newEnv(t, envConfig{channel: func(ch *config.Channel) {
			proxy = connectortest.NewProxy(t, ch.APIURL)
			ch.APIURL = proxy.URL
			ch.MaxRetries = 1
		}})
		return &connectortest.Channel{
			Pusher: e.conn,
			Reader: e.conn,
			List:   func(sku string, qty int64) { e.fake.AddListing(sku, qty, 1) },
			Listed: e.fake.Quantity,
			Refuse: func(sku string) {
				e.fake.FailItem(sku, ebaytest.ItemFailure{Status: 400, ErrorID: 25604, Message: "The quantity must be a valid number greater than or equal to 0."})
			},
			Proxy: proxy,
		}
	})
}
