package woocommerce

import (
	"context"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest"
)

// TestCheck: the access check reads one product with the REST key; a
// refused key fails it with WooCommerce's 401, the secret never in the
// error.
func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		secret    string
		wantErr   string
		wantCalls int
	}{
		{"accepted", "", "", 1},
		{"refused key", "cs_wrong_secret", "HTTP 401", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, woocommercetest.Options{})
			f := newTestConnector(t, s, func(_ *Settings, cr *Credentials, _ *connectors.Deps) {
				if tt.secret != "" {
					cr.ConsumerSecret = config.NewSecret(tt.secret)
				}
			})
			err := f.c.Check(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Check: %v, want an error with %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("the error holds the secret: %v", err)
			}
			if got := s.Calls()["GET /products"]; got != tt.wantCalls {
				t.Errorf("GET /products calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}
