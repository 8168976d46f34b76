package connectors

import (
	"context"

	"github.com/rs/zerolog"
)

// CachedSKUs reads the channel's cached lookups of skus (each SKU once,
// empty SKUs left out): found holds the cached values, missing the SKUs
// the connector must ask the channel for. A SKU cached with an empty value
// is one the channel is known not to list: in neither. A cache that fails
// only costs lookups: its SKUs go to missing, and the failure is logged at
// debug level (handled here).
func CachedSKUs(ctx context.Context, cache Cache, skus []string, key func(sku string) string, log zerolog.Logger) (found map[string]string, missing []string) {
	found = make(map[string]string, len(skus))
	seen := make(map[string]bool, len(skus))
	for _, sku := range skus {
		if sku == "" || seen[sku] {
			continue
		}
		seen[sku] = true
		v, ok, err := cache.Get(ctx, key(sku))
		switch {
		case err != nil:
			log.Debug().Err(err).Str("sku", sku).Msg("SKU cache unavailable: asking the channel")
			missing = append(missing, sku)
		case !ok:
			missing = append(missing, sku)
		case v != "":
			found[sku] = v
		}
	}
	return found, missing
}
