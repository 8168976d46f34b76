package shopify

import (
	"context"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// TestNewRejects: a channel the connector could not work with is refused
// with the setting named, by validation (config.Load's) before New.
func TestNewRejects(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	tests := []struct {
		name string
		mod  func(ch *config.Channel)
		want string
	}{
		{"no shop and no api_url", func(ch *config.Channel) { ch.APIURL, settingsOf(ch).Shop = "", "" }, "shopify.shop"},
		{"api_url not http", func(ch *config.Channel) { ch.APIURL = "ftp://x" }, "api_url"},
		{"no token", func(ch *config.Channel) { ch.Credentials.AccessToken = config.Secret{} }, "credentials.access_token"},
		{"no webhook secret", func(ch *config.Channel) { ch.Webhook.Secrets = nil }, "webhook.secrets"},
		{"first location unmapped", func(ch *config.Channel) { ch.Locations = []string{"paris"} }, `shopify.location_ids: no Shopify location id for location "paris"`},
		{"location id not an id", func(ch *config.Channel) { settingsOf(ch).LocationIDs["main"] = "warehouse-1" }, "shopify.location_ids.main"},
		{"per_location: two locations on one Shopify location", func(ch *config.Channel) {
			ch.Locations, ch.StockMode = []string{"main", "pos"}, config.StockPerLocation
			settingsOf(ch).LocationIDs["pos"] = "1"
		}, `shopify.location_ids.pos: maps to the same Shopify location as "main"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := channelFor(s)
			tt.mod(&ch)
			ch, err := connectors.CheckChannel(ch)
			if err == nil {
				_, err = connectors.New(connectors.TestDeps(ch))
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error naming %q", err, tt.want)
			}
			if strings.Contains(err.Error(), s.Options().AccessToken) {
				t.Errorf("error %q holds the token", err)
			}
		})
	}
}

// TestRegistered: the kind is in the registry and builds a connector that
// plays every Shopify role; webhooks may be disabled without secrets.
func TestRegistered(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	ch := channelFor(s)
	ch.Webhook = config.Webhook{Disabled: true}
	settingsOf(&ch).LocationIDs["main"] = "905684977" // a bare number works too
	c, err := connectors.New(connectors.TestDeps(ch))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind() != "shopify" {
		t.Errorf("Kind = %q", c.Kind())
	}
	if c.(connectors.Checker).Ready() != nil {
		t.Error("not ready with a push location")
	}
	if got := c.(*Connector).pushLocation; got != "gid://shopify/Location/905684977" {
		t.Errorf("push location = %q", got)
	}
	if _, ok := c.(connectors.WebhookChallenger); ok {
		t.Error("Shopify has no endpoint challenge")
	}
}

// TestGraphQLErrors: an error Shopify answers with (here a query over the
// cost limit) is returned with its code, not retried as throttling.
func TestGraphQLErrors(t *testing.T) {
	s := newFake(t, shopifytest.Options{BucketSize: 20})
	c := newTestConnector(t, s, nil)
	_, err := c.ResolveSKU(context.Background(), "A")
	if err == nil || !strings.Contains(err.Error(), "MAX_COST_EXCEEDED") {
		t.Fatalf("ResolveSKU = %v, want MAX_COST_EXCEEDED", err)
	}
	if n := s.Calls()["ShelfsyncVariants"]; n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestUserErrorMapping(t *testing.T) {
	idx := []struct {
		field []string
		want  int
		ok    bool
	}{
		{[]string{"input", "quantities", "3", "changeFromQuantity"}, 3, true},
		{[]string{"input", "quantities", "0"}, 0, true},
		{[]string{"input", "name"}, 0, false},
		{[]string{"input", "quantities"}, 0, false},
		{[]string{"input", "quantities", "x"}, 0, false},
		{[]string{"input", "quantities", "-1"}, 0, false},
		{nil, 0, false},
	}
	for _, tt := range idx {
		if got, ok := quantityIndex(tt.field); got != tt.want || ok != tt.ok {
			t.Errorf("quantityIndex(%v) = %d %v, want %d %v", tt.field, got, ok, tt.want, tt.ok)
		}
	}
	for code, want := range map[string]connectors.PushStatus{
		"IDEMPOTENCY_CONCURRENT_REQUEST":      connectors.PushRetry,
		"IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED": connectors.PushRetry,
		"INVALID_NAME":                        connectors.PushFailed,
	} {
		if got := batchStatus(userError{Code: code}); got != want {
			t.Errorf("batchStatus(%s) = %s, want %s", code, got, want)
		}
	}
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	for code, want := range map[string]connectors.PushStatus{
		"CHANGE_FROM_QUANTITY_STALE":     connectors.PushStale,
		"INVALID_INVENTORY_ITEM":         connectors.PushUnknownSKU,
		"IDEMPOTENCY_CONCURRENT_REQUEST": connectors.PushRetry,
		"NON_MUTABLE_INVENTORY_ITEM":     connectors.PushFailed,
	} {
		r := c.itemResult(context.Background(), "A", userError{Code: code, Message: "m"})
		if r.Status != want || r.Reason != code+": m" {
			t.Errorf("itemResult(%s) = %+v, want %s", code, r, want)
		}
	}
}
