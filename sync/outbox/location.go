package outbox

import "strings"

// An outbox item of a channel pushed per location (stock_mode
// per_location) is one listing at one location: its key is
// "<sku>@<location>", a shelfsync location, or "<sku>@!<channel
// location>", a channel location no shelfsync location maps to (a level
// reconcile zeroes). Config keeps "@" out of such a channel's location
// ids and "!" off their start, so the last "@" splits the key. Everything
// else the outbox does (latest value wins, coalescing, attempts,
// compare-from figures, parking, Pending) is per key, so per (SKU,
// location) on such a channel.

// LocationKey is the item key of sku at shelfsync location loc.
func LocationKey(sku, loc string) string { return sku + "@" + loc }

// UnmappedKey is the item key of sku at a channel location no shelfsync
// location maps to.
func UnmappedKey(sku, channelLoc string) string { return sku + "@!" + channelLoc }

// SplitLocationKey splits an item key of a per-location channel into its
// SKU and either its shelfsync location or its unmapped channel
// location. A key without "@" is a SKU alone.
func SplitLocationKey(key string) (sku, loc, channelLoc string) {
	i := strings.LastIndexByte(key, '@')
	if i < 0 {
		return key, "", ""
	}
	sku, loc = key[:i], key[i+1:]
	if rest, ok := strings.CutPrefix(loc, "!"); ok {
		return sku, "", rest
	}
	return sku, loc, ""
}
