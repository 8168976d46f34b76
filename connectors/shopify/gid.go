package shopify

import (
	"strconv"
	"strings"
)

// Shopify names one object two ways: REST and webhook bodies use the
// numeric id (450789469), GraphQL a GID (gid://shopify/Order/450789469).
// The canonical model always carries the numeric id, so an order seen by a
// webhook and by the poller is the same order to the ledger.

// numericID returns the numeric id of a GID or of a bare number, "" if s
// is neither. A GID may carry a query (InventoryLevel/1?inventory_item_id=2).
func numericID(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		if !strings.HasPrefix(s, "gid://") {
			return ""
		}
		s = s[i+1:]
	}
	if s == "" {
		return ""
	}
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return ""
	}
	return s
}

// gid builds the GID of a Shopify object from its numeric id.
func gid(typ, id string) string {
	return "gid://shopify/" + typ + "/" + id
}
