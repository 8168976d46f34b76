//go:build !nosim

package ebay

// The connector brings its fake into `shelfsync demo`: ebaytest registers
// the simulated channel with connectors/sim from init(), so linking the
// connector (connectors/all) links its fake too. A production build
// (-tags nosim) leaves this file, and with it the fake, out.
import _ "github.com/shelfsync/shelfsync/connectors/ebay/ebaytest" // the simulated channel ebay
