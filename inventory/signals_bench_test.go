package inventory

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkApplyLineSignals: the ledger's apply (one new order line per
// call, 20 callers; and batches of 100 from 4 callers) over 10,000 SKUs
// with stock signals off (Options.NoSignals), on with no reorder points
// set (what every SKU without one costs: one HMGET of a missing key), and
// on with a reorder point on every SKU (HVALS of the SKU's figures each
// run; no crossing: the points are far below the stock), and on with no
// point of their own but a default reorder point for every location
// (reorder_defaults.go: the defaults argument parsed and HGETALL of the
// SKU's figures each run; no crossing).
func BenchmarkApplyLineSignals(b *testing.B) {
	for _, mode := range []string{"off", "on-no-points", "on-points", "on-defaults"} {
		for _, batch := range []int{1, 100} {
			callers := 20
			if batch > 1 {
				callers = 4
			}
			b.Run(fmt.Sprintf("signals=%s/batch=%d", mode, batch), func(b *testing.B) {
				e := realRedis(b)
				l := e.ledger(Options{NoIntents: true, NoSignals: mode == "off"})
				skus := benchSKUs(b, l, 10_000)
				if mode == "on-points" {
					for _, s := range skus {
						if _, err := l.SetReorder(context.Background(), Reorder{SKU: s, Location: "A", Point: 10}, "bench"); err != nil {
							b.Fatal(err)
						}
					}
				}
				if mode == "on-defaults" {
					if _, err := l.SetReorderDefault(context.Background(), ReorderDefault{Location: AllLocations, Point: 10}, "bench"); err != nil {
						b.Fatal(err)
					}
				}
				runCallers(b, l, skus, callers, batch)
			})
		}
	}
}

// BenchmarkDefaultsArg: what a call pays in Go for the default reorder
// points argument (reorder_defaults.go) once the ledger's copy is loaded:
// an atomic load and a clock read (a refresh, when due, runs in the
// background).
func BenchmarkDefaultsArg(b *testing.B) {
	e := realRedis(b)
	l := e.ledger(Options{NoIntents: true})
	if _, err := l.SetReorderDefault(context.Background(), ReorderDefault{Location: AllLocations, Point: 10}, "bench"); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if l.defsArg(ctx) == "" {
				b.Fatal("no defaults argument")
			}
		}
	})
}
