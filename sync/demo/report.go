package demo

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// LiveLine renders the one-second status line from the current and the
// previous reading: orders applied (and their rate), units sold, push
// batches per channel, API calls, outbox backlog, oversold units, and the
// propagation p50/p99 of the last window (since window).
func LiveLine(elapsed time.Duration, now, prev, window Figures, units int64) string {
	var b strings.Builder
	orders := now.Total(func(c *ChannelFigures) float64 { return c.Orders })
	prevOrders := prev.Total(func(c *ChannelFigures) float64 { return c.Orders })
	rate := 0.0
	if dt := now.At.Sub(prev.At).Seconds(); dt > 0 {
		rate = (orders - prevOrders) / dt
	}
	fmt.Fprintf(&b, "t=%ds orders %.0f (+%.0f/s) units %d | pushes", int(elapsed.Round(time.Second).Seconds()), orders, rate, units)
	for _, ch := range ChannelNames() {
		fmt.Fprintf(&b, " %s %.0f", ch, now.Channel(ch).Pushes)
	}
	h := now.Propagation.Sub(window.Propagation)
	fmt.Fprintf(&b, " | api calls %.0f | backlog %.0f | oversold %.0f | p50 %s p99 %s",
		now.Total(func(c *ChannelFigures) float64 { return c.APICalls }),
		now.Total(func(c *ChannelFigures) float64 { return c.Backlog }),
		now.OversoldUnits, formatSeconds(h.Quantile(0.5)), formatSeconds(h.Quantile(0.99)))
	return b.String()
}

// ChannelSummary is one channel's line of the summary.
type ChannelSummary struct {
	Name           string  `json:"name"`
	OrdersPlaced   int64   `json:"orders_placed"`
	OrdersApplied  float64 `json:"orders_applied"`
	Cancels        int64   `json:"cancels"`
	Refunds        int64   `json:"refunds"`
	Pushes         float64 `json:"pushes"`
	Items          float64 `json:"items"`
	Accepted       float64 `json:"items_accepted"`
	APICalls       float64 `json:"api_calls"`
	CallsPerSKU    float64 `json:"api_calls_per_changed_sku"`
	ItemsPerPush   float64 `json:"items_per_push"`
	Parked         float64 `json:"parked"`
	P50Seconds     float64 `json:"propagation_p50_seconds"`
	P99Seconds     float64 `json:"propagation_p99_seconds"`
	FailedDelivery int64   `json:"failed_deliveries"`
	Immediate      int64   `json:"immediate_cancels"`
	Dropped        int64   `json:"dropped_notifications"`
	Catalogue      int64   `json:"catalogue_orders"`
	// Shipments of the channel's orders: stored by the daemon (Shipped),
	// refused or not posted (ShipFailed), accepted by the channel
	// (ShipConfirmed, the daemon's count), held by the fake
	// (ShipOnFake), parked, and pending (stored, neither confirmed nor
	// parked). Ships: the channel's connector confirms shipments.
	Ships         bool    `json:"ships"`
	Shipped       int64   `json:"shipments"`
	ShipFailed    int64   `json:"failed_shipments"`
	ShipConfirmed float64 `json:"shipments_confirmed"`
	ShipOnFake    int     `json:"shipments_on_fake"`
	ShipPending   float64 `json:"shipments_pending"`
	ShipParked    float64 `json:"shipments_parked"`
}

// Summary is what the demo prints at the end.
type Summary struct {
	Duration      float64          `json:"duration_seconds"`
	Rate          float64          `json:"rate"`
	SKUs          int              `json:"skus"`
	LatencyMS     int64            `json:"latency_ms"`
	Units         int64            `json:"units"`
	OversoldUnits float64          `json:"oversold_units"`
	P50Seconds    float64          `json:"propagation_p50_seconds"`
	P99Seconds    float64          `json:"propagation_p99_seconds"`
	Propagations  float64          `json:"propagations"`
	Channels      []ChannelSummary `json:"channels"`
	Convergence   Convergence      `json:"convergence"`
	// Orders compares every placed order with the ledger (nothing lost,
	// nothing doubled, every cancel applied).
	Orders OrderCheck `json:"orders"`
	// Shipments compares every shipment with the fakes (each confirmed
	// exactly once under its tracking number).
	Shipments ShipCheck `json:"shipments"`
	Converged bool      `json:"converged"`
}

// WithShipments records the shipment check: the run converged only if
// every shipment is confirmed on its fake, too.
func (s Summary) WithShipments(c ShipCheck) Summary {
	s.Shipments = c
	s.Converged = s.Converged && c.OK()
	for i := range s.Channels {
		cs := &s.Channels[i]
		cs.Ships = slices.Contains(c.Channels, cs.Name)
		cs.ShipOnFake = c.OnFake[cs.Name]
	}
	return s
}

// WithOrders records the order check: the run converged only if every
// placed order is in the ledger as placed, too.
func (s Summary) WithOrders(c OrderCheck) Summary {
	s.Orders = c
	s.Converged = s.Converged && c.OK()
	return s
}

// Summarize builds the summary from the last reading, the generator's
// counts and the convergence check.
func Summarize(elapsed time.Duration, rate float64, latency time.Duration, f Figures, counts map[string]ChannelCounts, conv Convergence) Summary {
	s := Summary{
		Duration: elapsed.Seconds(), Rate: rate, SKUs: conv.SKUs, LatencyMS: latency.Milliseconds(),
		OversoldUnits: f.OversoldUnits, P50Seconds: nanToZero(f.Propagation.Quantile(0.5)),
		P99Seconds: nanToZero(f.Propagation.Quantile(0.99)), Propagations: f.Propagation.Total,
		Convergence: conv, Converged: conv.Converged(),
	}
	for _, name := range ChannelNames() {
		c := f.Channel(name)
		g := counts[name]
		s.Units += g.Units
		cs := ChannelSummary{
			Name: name, OrdersPlaced: g.Orders, OrdersApplied: c.Orders, Cancels: g.Cancels, Refunds: g.Refunds,
			Pushes: c.Pushes, Items: c.Items, Accepted: c.Accepted, APICalls: c.APICalls, Parked: c.Parked,
			FailedDelivery: g.Failed, Immediate: g.Immediate, Dropped: g.Dropped, Catalogue: g.Catalogue,
			P50Seconds: nanToZero(c.Propagation.Quantile(0.5)), P99Seconds: nanToZero(c.Propagation.Quantile(0.99)),
			Shipped: g.Shipped, ShipFailed: g.ShipFailed, ShipConfirmed: c.ShipConfirmed, ShipParked: c.ShipParked,
			ShipPending: max(float64(g.Shipped)-c.ShipConfirmed-c.ShipParked, 0),
		}
		if c.Accepted > 0 {
			cs.CallsPerSKU = c.APICalls / c.Accepted
		}
		if c.Pushes > 0 {
			cs.ItemsPerPush = c.Items / c.Pushes
		}
		s.Channels = append(s.Channels, cs)
	}
	return s
}

func nanToZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// Print writes the summary for a person.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "\nsummary: %.0fs at %.0f orders/s, %d SKUs, fake API latency %dms\n", s.Duration, s.Rate, s.SKUs, s.LatencyMS)
	fmt.Fprintf(w, "  %-11s %7s %7s %7s %7s %7s %7s %8s %9s %10s %6s %7s %7s\n",
		"channel", "orders", "applied", "cancels", "refunds", "pushes", "items", "api", "calls/SKU", "items/push", "parked", "p50", "p99")
	for _, c := range s.Channels {
		fmt.Fprintf(w, "  %-11s %7d %7.0f %7d %7d %7.0f %7.0f %8.0f %9.2f %10.1f %6.0f %7s %7s\n",
			c.Name, c.OrdersPlaced, c.OrdersApplied, c.Cancels, c.Refunds, c.Pushes, c.Items, c.APICalls, c.CallsPerSKU,
			c.ItemsPerPush, c.Parked, formatSeconds(c.P50Seconds), formatSeconds(c.P99Seconds))
	}
	fmt.Fprintf(w, "  (orders: placed on the fake; applied: order line versions that changed the ledger: new orders, cancels, refunds)\n")
	fmt.Fprintf(w, "  units sold %d, oversold units %.0f, propagation p50 %s p99 %s over %.0f pushes accepted\n",
		s.Units, s.OversoldUnits, formatSeconds(s.P50Seconds), formatSeconds(s.P99Seconds), s.Propagations)
	fmt.Fprintf(w, "  (calls/SKU: every API call the channel got — order fetches, polls, reconciles, tokens, pushes — per pushed SKU change it accepted)\n")
	word := "converged"
	if !s.Converged {
		word = "NOT converged"
	}
	var immediate, dropped, catalogue int64
	for _, c := range s.Channels {
		immediate += c.Immediate
		dropped += c.Dropped
		catalogue += c.Catalogue
	}
	fmt.Fprintf(w, "  (%d cancels within the sale's second; %d webhook notifications dropped, found by polls; %d orders of mapped listings and kits)\n",
		immediate, dropped, catalogue)
	fmt.Fprintf(w, "%s: %d/%d SKUs match the ledger's ATS on every channel; %d/%d orders are in the ledger as placed (lost %d, doubled %d, wrong %d)\n",
		word, s.Convergence.Matching, s.Convergence.SKUs, s.Orders.Matching, s.Orders.Orders, s.Orders.Lost, s.Orders.Doubled, s.Orders.Wrong)
	for _, m := range s.Convergence.Sample {
		fmt.Fprintf(w, "  %s %s lists %d, ATS %d\n", m.Channel, m.SKU, m.Listed, m.ATS)
	}
	s.printShipments(w)
	s.printCatalog(w)
	for _, m := range s.Orders.Sample {
		fmt.Fprintf(w, "  order %s/%s (%s ×%d, open %d): ledger has %d lines, ordered %d, reserved %d\n",
			m.Order.Channel, m.Order.OrderID, m.Order.SKU, m.Order.Units, m.Order.Open, m.Lines, m.Ordered, m.Reserved)
	}
}

// printCatalog writes the catalogue's mapped listings and kits: what each
// channel lists against what the propagator says.
func (s Summary) printCatalog(w io.Writer) {
	ls := s.Convergence.Listings
	if len(ls) == 0 {
		return
	}
	fmt.Fprintf(w, "%d/%d mapped listings and kits list what the propagator says:", s.Convergence.ListingsMatching(), len(ls))
	for i, l := range ls {
		if i%4 == 0 {
			fmt.Fprint(w, "\n ")
		}
		mark := ""
		if !l.Matches() {
			mark = " (!)"
		}
		fmt.Fprintf(w, " %s %s %d/%d%s;", l.Channel, l.Listing, l.Listed, l.Want, mark)
	}
	fmt.Fprintln(w, "\n  (listed on the channel / the propagator's quantity)")
}

// printShipments writes the shipments' check and each channel's
// confirmations.
func (s Summary) printShipments(w io.Writer) {
	c := s.Shipments
	if len(c.Channels) == 0 || c.Share <= 0 {
		return
	}
	after := time.Duration(c.AfterSeconds * float64(time.Second)).String()
	fmt.Fprintf(w, "shipments: %d shipped %s after the sale (%.0f%% of the orders of plain SKUs neither cancelled nor refunded, sold %s or more before the orders stopped);\n",
		c.Shipped, after, c.Share*100, after)
	fmt.Fprintf(w, "  %d/%d confirmed on the fakes exactly once with their tracking (missing %d, doubled %d, wrong %d, failed %d)\n",
		c.Confirmed, c.Shipped, c.Missing, c.Doubled, c.Wrong, c.Failed)
	fmt.Fprintf(w, "  %-11s %7s %9s %7s %7s %6s %6s\n", "channel", "shipped", "confirmed", "on fake", "pending", "parked", "failed")
	for _, ch := range s.Channels {
		if !ch.Ships {
			fmt.Fprintf(w, "  %-11s %7s (its connector does not confirm shipments)\n", ch.Name, "-")
			continue
		}
		fmt.Fprintf(w, "  %-11s %7d %9.0f %7d %7.0f %6.0f %6d\n",
			ch.Name, ch.Shipped, ch.ShipConfirmed, ch.ShipOnFake, ch.ShipPending, ch.ShipParked, ch.ShipFailed)
	}
	fmt.Fprintf(w, "  (shipped: stored by POST /api/v1/shipments; confirmed: accepted by the channel, the daemon's count; on fake: held by the fake marketplace)\n")
}
