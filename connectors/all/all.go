// Package all links every connector into the binary: each blank import
// registers its kind (settings, factory and payload normalizer) from
// init(), and, unless built with -tags nosim, its fake with connectors/sim
// (the connector's sim.go). Adding a kind is its folder plus one line here
// (see connectors/README.md). Import it from cmd (and tests) only; library
// code names the connectors it needs.
package all

import (
	_ "github.com/shelfsync/shelfsync/connectors/amazon"  // kind amazon
	_ "github.com/shelfsync/shelfsync/connectors/ebay"    // kind ebay
	_ "github.com/shelfsync/shelfsync/connectors/shopify" // kind shopify

	_ "github.com/shelfsync/shelfsync/connectors/woocommerce" // kind woocommerce
)
