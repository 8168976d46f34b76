package amazon

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

func TestParseWebhook(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	c := newTestConnector(t, srv, clk, nil)
	order := readFixture(t, "notification_ORDER_CHANGE.example.json")
	mfn := readFixture(t, "notification_LISTINGS_ITEM_MFN_QUANTITY_CHANGE.example.json")
	feed := readFixture(t, "notification_FEED_PROCESSING_FINISHED.example.json")
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
		body   []byte
		status int // 0: accepted
		kind   connectors.EventKind
		ignore bool
	}{
		{"current secret, bare ORDER_CHANGE", "POST", http.Header{testRelayHeader: {testSecretNew}}, order, 0, connectors.EventOrder, false},
		{"old secret during rotation", "POST", http.Header{testRelayHeader: {testSecretOld}}, order, 0, connectors.EventOrder, false},
		{"header name in another case", "POST", hdr("x-relay-secret", testSecretNew), order, 0, connectors.EventOrder, false},
		{"EventBridge MFN quantity", "POST", http.Header{testRelayHeader: {testSecretNew}}, eventBridge(t, mfn, TypeMFNQuantityChange), 0, connectors.EventStockChanged, false},
		{"feed finished is ignored", "POST", http.Header{testRelayHeader: {testSecretNew}}, feed, 0, "", true},
		{"missing secret", "POST", http.Header{}, order, 401, "", false},
		{"wrong secret", "POST", http.Header{testRelayHeader: {"relay-secret-new-9876543211"}}, order, 401, "", false},
		{"secret prefix", "POST", http.Header{testRelayHeader: {testSecretNew[:10]}}, order, 401, "", false},
		{"secret in another header", "POST", http.Header{"Authorization": {testSecretNew}}, order, 401, "", false},
		{"bad secret beats bad body", "POST", http.Header{testRelayHeader: {"nope"}}, []byte("{"), 401, "", false},
		{"malformed body", "POST", http.Header{testRelayHeader: {testSecretNew}}, []byte(`{"NotificationType":`), 400, "", false},
		{"empty body", "POST", http.Header{testRelayHeader: {testSecretNew}}, nil, 400, "", false},
		{"GET", "GET", http.Header{testRelayHeader: {testSecretNew}}, order, 400, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			events, err := c.ParseWebhook(context.Background(), &connectors.WebhookRequest{Method: tc.method, Header: tc.header, Body: tc.body, ReceivedAt: at})
			switch {
			case tc.ignore:
				if !errors.Is(err, connectors.ErrIgnored) || len(events) != 0 {
					t.Fatalf("got %v, %v; want ErrIgnored", events, err)
				}
			case tc.status != 0:
				var we *connectors.WebhookError
				if !errors.As(err, &we) || we.Status != tc.status {
					t.Fatalf("got %v, %v; want a %d WebhookError", events, err, tc.status)
				}
				for _, s := range []string{testSecretNew, testSecretOld} {
					if strings.Contains(err.Error(), s) {
						t.Fatal("error message holds a secret")
					}
				}
			default:
				if err != nil || len(events) != 1 || events[0].Kind != tc.kind || !events[0].ReceivedAt.Equal(at) || events[0].Channel != "amazon-us" {
					t.Fatalf("got %+v, %v", events, err)
				}
			}
		})
	}
}

func TestWebhookNeedsSecrets(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	ch := testChannel(srv)
	ch.Locations = []string{"main"}
	ch.Webhook.Secrets = nil
	// Refused by validation, which config.Load runs before any connector is built.
	if _, err := connectors.CheckChannel(ch); err == nil || !strings.Contains(err.Error(), "webhook.secrets") {
		t.Fatalf("got %v, want an error naming webhook.secrets", err)
	}
	ch.Webhook = config.Webhook{Disabled: true}
	c, err := newConnector(connectors.TestDeps(ch))
	if err != nil {
		t.Fatal(err)
	}
	// Disabled: no secret is accepted, not even an empty one.
	if _, err := c.ParseWebhook(context.Background(), &connectors.WebhookRequest{Method: "POST", Header: http.Header{}, Body: []byte("{}")}); err == nil {
		t.Fatal("accepted a delivery with no secret configured")
	}
}

// hdr builds a header the way net/http reads one off the wire.
func hdr(k, v string) http.Header {
	h := http.Header{}
	h.Set(k, v)
	return h
}
