package woocommerce

import (
	"errors"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
)

// TestNormalize: the shapes a user may save, without a signature or I/O.
func TestNormalize(t *testing.T) {
	ev, err := Normalize("woo", []byte(`{"id":7}`))
	if err != nil || len(ev) != 1 || ev[0].Kind != connectors.EventOrderChanged || ev[0].OrderID != "7" || ev[0].Topic != topicDeleted {
		t.Fatalf("deleted body: %+v %v", ev, err)
	}
	draft := `{"id":8,"status":"checkout-draft","date_modified_gmt":"2026-04-01T00:00:00","line_items":[]}`
	if _, err := Normalize("woo", []byte(draft)); !errors.Is(err, connectors.ErrIgnored) {
		t.Fatalf("a draft: %v", err)
	}
	ev, err = Normalize("woo", []byte(`[`+draft+`,{"id":9,"status":"processing","date_modified_gmt":"2026-04-01T00:00:00","line_items":[{"id":1,"sku":"A","quantity":1}]}]`))
	if err != nil || len(ev) != 1 || ev[0].Order.OrderID != "9" || ev[0].Channel != "woo" {
		t.Fatalf("a list with a draft: %+v %v", ev, err)
	}
	for _, bad := range []string{``, `"x"`, `{"id":1,"status":"processing"}`, `[{"id":1,"refunded_by":1,"line_items":[]}]`, `{"id":0}`, `[1]`} {
		if _, err := Normalize("woo", []byte(bad)); err == nil {
			t.Errorf("%q normalized", bad)
		}
	}
}
