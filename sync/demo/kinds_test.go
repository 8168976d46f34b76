package demo

// The demo's tests run every kind and its simulated channel, as the
// command links them (a connector's sim.go registers its fake).
import _ "github.com/shelfsync/shelfsync/connectors/all"
