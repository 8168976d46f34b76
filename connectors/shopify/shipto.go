package shopify

import (
	"context"
	"errors"
	"strings"
)

// orderQuery runs an order read (a poll page, a fetch), with the shipping
// address unless the setting or an earlier refusal left it out
// (c.shipTo, a connectors.OptionalPart). An address is level 2 protected
// customer data: an app not approved for it gets "errors or redacted
// data" (shopify.dev, protected customer data). If the answer has errors
// on the address (shipToRefused), the same read is made without it; if
// that succeeds, the address is not asked for again in this process. A
// redacted (null) address is no destination.
func (c *Connector) orderQuery(ctx context.Context, ops orderOps, vars map[string]any, out any) error {
	return c.shipTo.Read(func(withShipTo bool) error {
		if withShipTo {
			return c.graphql(ctx, ops.withShipTo, vars, out)
		}
		return c.graphql(ctx, ops.withoutShipTo, vars, out)
	})
}

// droppedShipTo is c.shipTo's hook: Shopify refused the address once.
func (c *Connector) droppedShipTo(err error) {
	c.metrics.shipToRefused.Inc()
	c.log.Warn().Err(err).Msg("Shopify refused the orders' shippingAddress (level 2 protected customer data): orders are read without their destination until restart, so routing's region rule sees none; shopify.read_ship_to: false stops asking")
}

// shipToRefused is an answer whose errors refuse the shipping address: an
// error on a path through shippingAddress, or ACCESS_DENIED naming it.
func shipToRefused(err error) bool {
	var ge *graphqlError
	if !errors.As(err, &ge) {
		return false
	}
	for _, e := range ge.errs {
		for _, p := range e.Path {
			if p == "shippingAddress" {
				return true
			}
		}
		if e.Extensions.Code == "ACCESS_DENIED" && strings.Contains(strings.ToLower(e.Message), "shippingaddress") {
			return true
		}
	}
	return false
}
