package stockimport

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// BenchmarkImport parses and applies a 50,000-row opening-stock CSV (new
// SKUs, one location each, versioned) into the real Redis on
// 127.0.0.1:6379: the whole `stock import` path but the file read.
// rows/s is the figure in BENCHMARKS.md.
func BenchmarkImport(b *testing.B) {
	const rows = 50_000
	rdb, prefix := redistest.New(b)
	ctx := context.Background()
	var sb strings.Builder
	sb.WriteString("sku,location,on_hand,version\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&sb, "SKU-%06d,main,%d,1\n", i, i%100)
	}
	file := sb.String()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A fresh prefix per run: every row is a new SKU, as on day one.
		l := inventory.New(rdb, inventory.Options{Prefix: fmt.Sprintf("%sb%d:", prefix, i)})
		counts, err := ParseCSV(strings.NewReader(file), Options{Locations: locs})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := Apply(ctx, l, counts, 0, 0, nil)
		if err != nil || sum.Applied != rows {
			b.Fatalf("%+v, %v", sum, err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
