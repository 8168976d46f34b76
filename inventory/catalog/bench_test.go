package catalog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// BenchmarkResolve: what translating an intake batch of 100 order lines
// costs ingest (the catalog's round trip before the ledger's), for a
// catalog that maps none of them, and one where every line is a mapped
// listing of a kit (the second round trip).
//
//	go test -run '^$' -bench BenchmarkResolve ./inventory/catalog/
func BenchmarkResolve(b *testing.B) {
	rdb, prefix := redistest.New(b)
	ctx := context.Background()
	c := catalog.New(rdb, prefix)
	var plan catalog.Plan
	plain := make([]catalog.Ref, 100)
	mapped := make([]catalog.Ref, 100)
	for i := range plain {
		plain[i] = catalog.Ref{Channel: "shop", SKU: fmt.Sprintf("SKU-%d", i)}
		mapped[i] = catalog.Ref{Channel: "shop", SKU: fmt.Sprintf("L-%d", i)}
		plan.Mappings = append(plan.Mappings, catalog.Mapping{Channel: "shop", Listing: mapped[i].SKU, SKU: fmt.Sprintf("KIT-%d", i%10), Multiplier: 2})
	}
	for k := 0; k < 10; k++ {
		plan.Kits = append(plan.Kits, catalog.Kit{SKU: fmt.Sprintf("KIT-%d", k), Components: []catalog.Component{{SKU: "A", Quantity: 1}, {SKU: fmt.Sprintf("SKU-%d", k), Quantity: 2}}})
	}
	if _, err := c.Apply(ctx, plan, "bench"); err != nil {
		b.Fatal(err)
	}
	for name, refs := range map[string][]catalog.Ref{"unmapped": plain, "mapped-kits": mapped} {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				res, _, err := c.Resolve(ctx, refs)
				if err != nil || len(res) != 100 {
					b.Fatal(len(res), err)
				}
			}
		})
	}
}
