// Package all links every simulated channel into the demo: each blank
// import registers its fake with connectors/sim from init(), and the
// connectors themselves (connectors/all) register their kinds. Adding a
// kind's simulated channel is its fake's sim.go plus one line here.
package all

import (
	_ "github.com/shelfsync/shelfsync/connectors/all" // the kinds the fakes' settings decode into

	_ "github.com/shelfsync/shelfsync/connectors/amazon/amazontest"           // channel amazon
	_ "github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"               // channel ebay
	_ "github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"         // channel shopify
	_ "github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest" // channel woocommerce
)
