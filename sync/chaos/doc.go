// Package chaos holds the chaos suite (issue 17): the daemon binary
// (`shelfsync run`, its own process) against the demo's fake marketplaces
// behind fault proxies (demo.FaultProxy) and a Redis the test starts
// itself, with one fault per round — the daemon killed with SIGKILL at
// random moments and restarted, Redis restarted (AOF), frozen for 10 s,
// killed with SIGKILL and restarted from its AOF, a Sentinel failover of
// the primary, channels answering 500/503/429 in bursts, channels timing
// out — while orders flow. After each round it checks every placed order
// against the ledger (lost, doubled, wrong), every SKU's on-hand and
// reservations, every channel's listings against the ledger's ATS, the
// dead letters and `Verify`, and prints a table of the rounds. It has no
// code of its own: see chaos_test.go and README.md.
package chaos
