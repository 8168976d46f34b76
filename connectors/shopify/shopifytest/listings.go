package shopifytest

import (
	"sort"
	"strconv"
)

// ShelfsyncListVariants (connectors/shopify ListListings): every variant,
// by cursor, first ≤ 250 (Shopify's connection maximum).
func init() {
	handlers["ShelfsyncListVariants"] = operation{
		cost: func(s *Server, req *gqlRequest) float64 {
			return 2 + float64(s.firstArg(req.Query, "productVariants", 250))/50
		},
		serve: (*Server).serveListVariants,
	}
}

func (s *Server) serveListVariants(req *gqlRequest) (any, []gqlError) {
	first := s.firstArg(req.Query, "productVariants", 250)
	if first < 1 || first > 250 {
		return nil, []gqlError{{Message: "The page size must be between 1 and 250"}}
	}
	list := make([]*item, 0, len(s.items))
	for _, it := range s.items {
		list = append(list, it)
	}
	list = append(list, s.shared...)
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	start := min(cursorOffset(strVar(req, "after")), len(list))
	end := min(start+first, len(list))
	nodes := []any{}
	for _, it := range list[start:end] {
		nodes = append(nodes, map[string]any{
			"id":  "gid://shopify/ProductVariant/" + strconv.FormatInt(it.id, 10),
			"sku": it.sku, "inventoryItem": map[string]any{"id": itemGID(it.id)},
		})
	}
	return map[string]any{"productVariants": map[string]any{"pageInfo": pageInfo(end, len(list)), "nodes": nodes}}, nil
}
