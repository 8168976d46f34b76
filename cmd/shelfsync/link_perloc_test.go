package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
	"github.com/shelfsync/shelfsync/connectors/shopify"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// TestLinkReportPerLocation: on per_location channels (Shopify, eBay) the
// link report has a row per linked listing and location of the channel,
// what the channel shows there against what shelfsync would push there,
// a row per channel location no shelfsync location maps to that holds
// the listing (would push 0 only with zero_unmapped_locations, never at a
// disabled location), and the missing SKUs per location; each eBay row
// with the state of its inventory location (a disabled one marked in the
// table).
func TestLinkReportPerLocation(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	for _, d := range []inventory.Delta{
		{Key: "s1", SKU: "A", Location: "main", Quantity: 5, Reason: "seed"},
		{Key: "s2", SKU: "A", Location: "pos", Quantity: 3, Reason: "seed"},
		{Key: "s3", SKU: "B", Location: "main", Quantity: 2, Reason: "seed"},
	} {
		if _, err := l.Receive(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	const l1, l2, l3 = "gid://shopify/Location/1", "gid://shopify/Location/2", "gid://shopify/Location/3"
	shop := shopifytest.New(shopifytest.Options{LocationID: l1, Locations: []string{l2, l3}})
	t.Cleanup(shop.Close)
	shop.SetLevelAt("A", l1, 4)
	shop.SetLevelAt("A", l3, 6) // no shelfsync location maps to location 3
	bay := ebaytest.New(ebaytest.Options{})
	t.Cleanup(bay.Close)
	for _, k := range []string{"WH-MAIN", "STORE-1", "OLD-WH"} {
		bay.AddLocation(k)
	}
	bay.AddListing("A", 9, 1)
	bay.SetDistributions("A", map[string]int64{"WH-MAIN": 5, "OLD-WH": 2}) // and 2 undistributed
	bay.AddListing("STRAY", 1, 1)
	bay.AddLocation("SHUT")
	bay.AddListing("B", 4, 1)
	bay.SetDistributions("B", map[string]int64{"SHUT": 4})
	bay.DisableLocation("SHUT")    // eBay sells B's 4 there, refuses changes
	bay.DisableLocation("STORE-1") // pos's pushes will be refused

	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Locations = []config.Location{{ID: "main", Priority: 1}, {ID: "pos", Priority: 2}}
	so := shop.Options()
	cfg.Channels = []config.Channel{
		{Name: "shop", Kind: shopify.Kind, APIURL: shop.URL(), Locations: []string{"main", "pos"}, StockMode: config.StockPerLocation,
			Credentials: config.Credentials{AccessToken: config.NewSecret(so.AccessToken)},
			Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret("s")}},
			Settings:    &shopify.Settings{Shop: so.Shop, LocationIDs: map[string]string{"main": l1, "pos": l2}}},
		{Name: "bay", Kind: ebay.Kind, APIURL: bay.URL(), Locations: []string{"main", "pos"}, StockMode: config.StockPerLocation,
			ZeroUnmappedLocations: true, Poll: "@every 1h",
			Credentials: config.Credentials{ClientID: config.NewSecret(ebaytest.DefaultClientID),
				ClientSecret: config.NewSecret(ebaytest.DefaultClientSecret), RefreshToken: config.NewSecret(ebaytest.DefaultRefreshToken)},
			Webhook:  config.Webhook{Disabled: true},
			Settings: &ebay.Settings{LocationKeys: map[string]string{"main": "WH-MAIN", "pos": "STORE-1"}}},
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	text, err := config.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := linkCmd(ctx, []string{"--config", path, "--json"}, &out, &errb, connectors.New); code != 0 {
		t.Fatalf("exit %d\nstderr %s", code, errb.String())
	}
	var rows []linkRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		key := fmt.Sprintf("%s %s %s%s %s", r.Channel, r.Listing, r.Location, r.ChannelLocation, r.SKU)
		got[key] = fmt.Sprintf("%s %s %s %s", r.Status, optInt(r.Shows, "-"), optInt(r.WouldPush, "-"), orDash(r.LocationState))
	}
	want := map[string]string{
		"shop A main A":                         "linked 4 5 -",
		"shop A pos A":                          "linked - 3 -", // not stocked at location 2
		"shop A " + l3 + " A":                   "unmapped_location 6 - -",
		"shop  main B":                          "missing - 2 -",
		"shop  pos B":                           "missing - 0 -",
		"bay A main A":                          "linked 5 5 enabled",
		"bay A pos A":                           "linked 0 3 disabled",
		"bay A OLD-WH A":                        "unmapped_location 2 0 enabled",
		"bay A " + ebay.UndistributedKey + " A": "unmapped_location 2 0 -",
		"bay STRAY " + ebay.UndistributedKey + " ": "unmapped_location 1 0 -", // never distributed
		"bay STRAY  ":  "unknown 1 - -",
		"bay B main B": "linked 0 2 enabled",
		"bay B pos B":  "linked 0 0 disabled",
		"bay B SHUT B": "unmapped_location 4 - disabled", // not zeroed: eBay refuses changes there
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d: %v", len(got), len(want), got)
	}
	out.Reset()
	if code := linkCmd(ctx, []string{"--config", path, "--channel", "shop"}, &out, &errb, connectors.New); code != 0 ||
		!strings.Contains(out.String(), "LOCATION") || !strings.Contains(out.String(), "1 levels at channel locations no shelfsync location maps to") {
		t.Errorf("table: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := linkCmd(ctx, []string{"--config", path, "--channel", "bay"}, &out, &errb, connectors.New); code != 0 ||
		!strings.Contains(out.String(), "SHUT (disabled)") || !strings.Contains(out.String(), "pos (disabled)") ||
		!strings.Contains(out.String(), "3 rows at channel locations disabled or missing on the channel") {
		t.Errorf("eBay table: exit %d\n%s", code, out.String())
	}
}
