package amazon

import (
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/connectortest"
)

// TestContract runs the pusher and reader contract every connector keeps
// against a fresh fake Amazon behind a connectortest.Proxy (the token
// endpoint included).
func TestContract(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) *connectortest.Channel {
		clk := newClock()
		srv := newFake(t, clk, nil)
		proxy := connectortest.NewProxy(t, srv.URL)
		c := newTestConnector(t, srv, clk, func(ch *config.Channel) {
			ch.APIURL = proxy.URL
			ch.MaxRetries = 1
			settingsOf(ch).AuthURL = proxy.URL + "/auth/o2/token"
		})
		return &connectortest.Channel{
			Pusher: c,
			Reader: c,
			List:   srv.SetListing,
			Listed: srv.Quantity,
			Refuse: func(sku string) { srv.FailSKU(sku, "The attributes are invalid.") },
			Proxy:  proxy,
		}
	})
}
