package shopify

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

const (
	locMain  = "gid://shopify/Location/1"
	locPOS   = "gid://shopify/Location/905684977"
	locOther = "gid://shopify/Location/777"
)

// perLocationConnector is a per_location channel selling from main and
// pos, on a store that also has a location no shelfsync location maps to.
func perLocationConnector(t *testing.T) (*shopifytest.Server, *Connector) {
	t.Helper()
	s := newFake(t, shopifytest.Options{Locations: []string{locPOS, locOther}})
	c := newTestConnector(t, s, func(ch *config.Channel) {
		ch.Locations = []string{"main", "pos"}
		ch.StockMode = config.StockPerLocation
	})
	return s, c
}

// TestPushPerLocation: updates naming shelfsync locations are set at the
// Shopify locations they map to, in one mutation, each compared against
// its own figure; an update naming an unmapped channel location zeroes
// it; an unknown location fails that item alone.
func TestPushPerLocation(t *testing.T) {
	s, c := perLocationConnector(t)
	s.SetLevelAt("A", locMain, 4)
	s.SetLevelAt("A", locPOS, 9)
	s.SetLevelAt("A", locOther, 5)
	s.SetLevelAt("B", locPOS, 2)
	updates := []connectors.QuantityUpdate{
		{SKU: "A", Location: "main", Quantity: 3, Previous: i64(4), Attempt: "a1"},
		{SKU: "A", Location: "pos", Quantity: 7, Previous: i64(9), Attempt: "a2"},
		{SKU: "B", Location: "pos", Quantity: 1, Attempt: "a3"}, // compared against the level read now
		{SKU: "A", ChannelLocation: locOther, Quantity: 0, Attempt: "a4"},
		{SKU: "A", Location: "warehouse", Quantity: 1, Attempt: "a5"},
	}
	before := s.Calls()["ShelfsyncSetQuantities"]
	res, err := c.PushQuantities(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	want := []connectors.PushStatus{connectors.PushAccepted, connectors.PushAccepted, connectors.PushAccepted, connectors.PushAccepted, connectors.PushFailed}
	for i, r := range res {
		if r.Status != want[i] {
			t.Errorf("result %d = %+v, want %s", i, r, want[i])
		}
	}
	if n := s.Calls()["ShelfsyncSetQuantities"] - before; n != 1 {
		t.Errorf("%d mutations, want 1 carrying every (item, location)", n)
	}
	for _, tt := range []struct {
		sku, loc string
		want     int64
	}{{"A", locMain, 3}, {"A", locPOS, 7}, {"B", locPOS, 1}, {"A", locOther, 0}} {
		if got, _ := s.LevelAt(tt.sku, tt.loc); got != tt.want {
			t.Errorf("%s at %s = %d, want %d", tt.sku, tt.loc, got, tt.want)
		}
	}
	if got := s.Sellable("A"); got != 10 {
		t.Errorf("Shopify sells %d of A, want 10 (3 + 7 + 0)", got)
	}
}

// TestPushPerLocationStale: a sale at one location makes only that
// location's compare stale, and its result carries that location's level.
func TestPushPerLocationStale(t *testing.T) {
	s, c := perLocationConnector(t)
	s.SetLevelAt("A", locMain, 4)
	s.SetLevelAt("A", locPOS, 9)
	s.SellAt("A", locPOS, 2)
	res, err := c.PushQuantities(context.Background(), []connectors.QuantityUpdate{
		{SKU: "A", Location: "main", Quantity: 5, Previous: i64(4)},
		{SKU: "A", Location: "pos", Quantity: 8, Previous: i64(9)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != connectors.PushAccepted || res[1].Status != connectors.PushStale {
		t.Fatalf("results = %+v, want accepted, stale", res)
	}
	if res[1].ChannelQuantity == nil || *res[1].ChannelQuantity != 7 {
		t.Errorf("stale result's channel quantity = %v, want 7 (pos's level)", res[1].ChannelQuantity)
	}
	if got, _ := s.LevelAt("A", locPOS); got != 7 {
		t.Errorf("pos = %d, want 7 (untouched)", got)
	}
}

// TestReadQuantitiesPerLocation: a per_location channel reads every
// location's level: mapped ones by shelfsync location, the others by
// Shopify location.
func TestReadQuantitiesPerLocation(t *testing.T) {
	s, c := perLocationConnector(t)
	s.SetLevelAt("A", locMain, 4)
	s.SetLevelAt("A", locPOS, 9)
	s.SetLevelAt("A", locOther, 5)
	s.SetLevelAt("B", locPOS, 0)
	got, err := c.ReadQuantities(context.Background(), []string{"A", "B", "NOPE"})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, q := range got {
		lines = append(lines, fmt.Sprintf("%s@%s%s=%d", q.SKU, q.Location, q.ChannelLocation, q.Quantity))
	}
	sort.Strings(lines)
	want := fmt.Sprint([]string{"A@" + locOther + "=5", "A@main=4", "A@pos=9", "B@pos=0"})
	if fmt.Sprint(lines) != want {
		t.Errorf("ReadQuantities = %v, want %v", lines, want)
	}
}
