package shopify

import (
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/connectortest"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// TestContract runs the pusher and reader contract every connector keeps
// against a fresh fake store behind a connectortest.Proxy.
func TestContract(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) *connectortest.Channel {
		s := newFake(t, shopifytest.Options{})
		proxy := connectortest.NewProxy(t, s.URL())
		c := newTestConnector(t, s, func(ch *config.Channel) {
			ch.APIURL = proxy.URL
			ch.MaxRetries = 1
		})
		return &connectortest.Channel{
			Pusher: c,
			Reader: c,
			List:   s.SetLevel,
			Listed: s.LevelOK,
			Refuse: func(sku string) {
				s.FailItem(sku, "INVALID_QUANTITY_TOO_HIGH", "The quantity can't be higher than 1,000,000,000.")
			},
			Proxy: proxy,
		}
	})
}
