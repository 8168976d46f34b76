package e2e

import (
	"fmt"
	"math"
	"testing"

	"github.com/shelfsync/shelfsync/config"
)

// BenchmarkBurstCallsPerSKU changes the quantity of many SKUs at once (the
// catalogue's first listing: one stock receipt per SKU, picked up by the
// ledger's push intents) and reports, per channel, the push calls it took
// against the minimum the channel's batch size allows: ceil(SKUs / batch)
// (Shopify 250 per inventorySetQuantities, eBay 25 per
// bulk_update_price_quantity, Amazon one JSON_LISTINGS_FEED of up to
// 25,000). The ratio is the figure the issue bounds at 1.1. It runs with
// each channel's outbox in one partition and in 12 (redis.outbox_partitions
// in cluster mode): the pusher shares its batch across partitions.
//
//	go test -run '^$' -bench BurstCallsPerSKU -benchtime 1x ./sync/e2e/
func BenchmarkBurstCallsPerSKU(b *testing.B) {
	const skus = 1000
	batch := map[string]int{"shop": 250, "bay": 25, "amz": 25000}
	for _, parts := range []int{1, 12} {
		b.Run(fmt.Sprintf("outbox_partitions=%d", parts), func(b *testing.B) {
			for b.Loop() {
				w := newWorldWith(b, skus, func(c *config.Config) { c.Redis.OutboxPartitions = parts })
				w.eventually("every channel lists the catalogue", w.converged)
				for ch, size := range batch {
					calls := w.pushCalls(ch)
					minimum := math.Ceil(float64(skus) / float64(size))
					b.ReportMetric(calls, ch+"-calls")
					b.ReportMetric(calls/minimum, ch+"-calls/min")
				}
			}
		})
	}
}

// pushCalls reads shelfsync_push_batches_total of channel ch.
func (w *world) pushCalls(ch string) float64 {
	mfs, err := w.reg.Gather()
	if err != nil {
		w.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "shelfsync_push_batches_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "channel" && l.GetValue() == ch {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	w.t.Fatalf("no push batches counted for %s", ch)
	return 0
}
